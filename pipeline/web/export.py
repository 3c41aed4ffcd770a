"""An application's review as a document to file or print: HTML (print CSS) and PDF.

The export is what the reviewers concluded, not a screen of the app: applicant facts, the 附表
checklist, purchases and spend, the verdict with its rule table, every flag with its current
decision, and the full audit trail (every decision, oldest first). The PDF is the same HTML
printed by headless Chromium (Playwright, offline: the page is handed over as a string with its
CSS inlined, so nothing is fetched).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipeline.model import ScreeningResult
from pipeline.report import _fmt, verdict_text
from pipeline.web.db import Decision
from pipeline.web.results import checklist, flag_keys

HERE = Path(__file__).parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]
PDF_TIMEOUT_MS = 30_000


class PdfUnavailable(RuntimeError):
    """No PDF renderer (Playwright or the Chromium binary missing, or it failed)."""


def context(result: ScreeningResult, audit: Sequence[Decision], exported_by: str) -> dict[str, Any]:
    keys = flag_keys(result.flags)
    latest: dict[str, Decision] = {}
    for d in audit:  # oldest first: the last one per flag is the current decision
        latest[d.flag_key] = d
    code_of = dict(zip(keys, (f.code for f in result.flags)))
    flags = [{"n": n + 1, "key": k, "flag": f, "decision": latest.get(k)}
             for n, (k, f) in enumerate(zip(keys, result.flags))]
    extra = result.verdict.model_extra or {}
    rules = extra.get("rules") if isinstance(extra.get("rules"), list) else None
    return {
        "r": result, "flags": flags, "audit": list(audit), "code_of": code_of, "rules": rules,
        "blocked": extra.get("blocked"), "checklist": checklist(result), "fmt": _fmt,
        "verdict": verdict_text(result.verdict.meets_star_sought),
        "open_count": sum(1 for f in flags if f["decision"] is None),
        "exported_by": exported_by,
        "exported_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def render_html(env: Any, result: ScreeningResult, audit: Sequence[Decision], exported_by: str,
                *, inline_css: bool = False) -> str:
    """The printable page; ``inline_css`` embeds the stylesheet (for the PDF printer, which fetches nothing)."""
    css = (HERE / "static" / "export.css").read_text(encoding="utf-8") if inline_css else None
    return env.get_template("export.html.j2").render(css=css, **context(result, audit, exported_by))


def html_to_pdf(html: str, chromium: Path = CHROMIUM) -> bytes:
    """Print ``html`` to A4 PDF with headless Chromium; raises :class:`PdfUnavailable`."""
    if not Path(chromium).exists():
        raise PdfUnavailable(f"no browser at {chromium}")
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        raise PdfUnavailable("playwright is not installed") from exc
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
            try:
                page = browser.new_page()
                # Nothing to fetch: block every request so a stray URL cannot reach the network.
                page.route("**/*", lambda route: route.abort())
                page.set_content(html, wait_until="load", timeout=PDF_TIMEOUT_MS)
                return page.pdf(format="A4", print_background=True, prefer_css_page_size=True,
                                margin={"top": "14mm", "bottom": "14mm", "left": "12mm", "right": "12mm"})
            finally:
                browser.close()
    except PlaywrightError as exc:
        raise PdfUnavailable(str(exc).splitlines()[0]) from exc
