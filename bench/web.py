"""Reviewer app: how fast does the first page of a 30-page application show?

    .venv/bin/python bench/web.py [--reps 3] [--cache DIR]

Builds one application whose single PDF is 30 real sample pages (the sample PDFs' pages in order:
text-layer pages and scanned, image-only pages), screens it with the real pipeline (the scanned
pages are OCR'd once; ``--cache`` keeps that OCR cache between runs), serves it with uvicorn in a
subprocess on 127.0.0.1, and drives Debian's Chromium (Playwright) to the application view. The
figure is in-page: ``performance.now()`` (ms since the navigation started) at the first animation
frame where the page image is decoded (``img.complete && naturalWidth > 0``).

* cold:        a fresh server (empty image cache) and a fresh browser context (empty HTTP cache)
* warm server: the server has rendered the image before; fresh browser context
* warm both:   a new tab of the same browser context (images from the browser cache)

Then every page's ``view.jpg`` and ``thumb.jpg`` is fetched once from a fresh server: sizes,
pixel dimensions, and the server's render time (request time on a cold cache).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SAMPLES = ROOT / "samples" / "applications"
CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run", "--disable-sync"]
APP_ID = "APP-BENCH30"
PASSWORD = "bench password 30"
PAGES = 30
LOAD_LISTENER = ("document.addEventListener('load', e => { if (e.target && e.target.id === 'page-img'"
                 " && window.__firstLoad === undefined) window.__firstLoad = performance.now(); }, true);")
"""Installed before any page script: the first page image's ``load`` event time, exactly."""
FIRST_IMAGE_JS = ("() => { const i = document.getElementById('page-img');"
                  " return i && i.complete && i.naturalWidth > 0 && i.getAttribute('src') ? performance.now() : false; }")


def build_application(root: Path) -> tuple[Path, int]:
    """``root/APP-BENCH30/合订本.pdf``: the first 30 pages of the sample PDFs, in sorted order.
    Returns the folder and how many of the pages have no text layer (scans)."""
    import pypdfium2 as pdfium

    out = pdfium.PdfDocument.new()
    scans = 0
    for f in sorted(SAMPLES.glob("*/**/*.pdf")):
        try:
            src = pdfium.PdfDocument(f)
        except pdfium.PdfiumError:
            continue  # the samples include deliberately broken files
        take = min(len(src), PAGES - len(out))
        for i in range(take):
            if src[i].get_textpage().count_chars() < 20:
                scans += 1
        out.import_pages(src, list(range(take)))
        src.close()
        if len(out) >= PAGES:
            break
    app = root / APP_ID
    app.mkdir(parents=True)
    buf = io.BytesIO()
    out.save(buf)
    (app / "合订本.pdf").write_bytes(buf.getvalue())
    return app, scans


def reuse_pdf(app: Path, cache: Path) -> None:
    """Keep the built PDF next to the OCR cache: PDFium writes new bytes on every save, and new
    bytes would be OCR'd again."""
    kept = cache / f"{APP_ID}.pdf"
    if kept.is_file():
        (app / "合订本.pdf").write_bytes(kept.read_bytes())
    else:
        cache.mkdir(parents=True, exist_ok=True)
        kept.write_bytes((app / "合订本.pdf").read_bytes())


def screen(app: Path, results: Path, cache: Path) -> float:
    from pipeline.screen import screen_application
    from pipeline.settings import Settings

    t0 = time.perf_counter()
    result = screen_application(app, Settings(cache_dir=cache))
    took = time.perf_counter() - t0
    results.mkdir(parents=True, exist_ok=True)
    (results / f"{APP_ID}.json").write_text(result.to_json(), encoding="utf-8")
    pages = sum(max(d.pages, len(d.page_info)) for d in result.documents)
    assert pages == PAGES, f"expected {PAGES} pages in the result, got {pages}"
    return took


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """uvicorn in a child process (its own process group), stopped by pid."""

    def __init__(self, results: Path, samples: Path, db_url: str) -> None:
        self.port = _free_port()
        code = ("import uvicorn; from pathlib import Path; from pipeline.web import create_app; "
                f"uvicorn.run(create_app(Path({str(results)!r}), Path({str(samples)!r}), {db_url!r}), "
                f"host='127.0.0.1', port={self.port}, log_level='warning')")
        self.proc = subprocess.Popen([sys.executable, "-c", code], cwd=str(ROOT), start_new_session=True,
                                     env={**os.environ, "PYTHONPATH": str(ROOT)})
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("uvicorn did not start") from None
                time.sleep(0.1)
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _login(context, url: str) -> None:
    page = context.new_page()
    page.goto(url + "/login")
    page.fill("input[name=username]", "bench")
    page.fill("input[name=password]", PASSWORD)
    page.click("#login-submit")
    page.wait_for_selector("table#queue")
    page.close()


def _first_image_ms(page, url: str) -> dict:
    page.goto(url + f"/applications/{APP_ID}", wait_until="commit")
    ms = page.wait_for_function(FIRST_IMAGE_JS, polling="raf", timeout=60000).json_value()
    loaded = page.evaluate("() => window.__firstLoad")
    entries = page.evaluate("() => performance.getEntriesByType('resource').map(e => "
                            "({name: e.name, end: e.responseEnd, size: e.transferSize}))")
    view = [e for e in entries if e["name"].endswith("/view.jpg")]
    thumbs = [e for e in entries if e["name"].endswith("/thumb.jpg") and e["end"] <= ms]
    nav = page.evaluate("() => performance.getEntriesByType('navigation')[0].responseEnd")
    return {"first_image_ms": ms, "load_event_ms": loaded, "html_ms": nav, "view_response_end_ms": view[0]["end"] if view else None,
            "view_transfer_bytes": view[0]["size"] if view else None, "thumbs_before": len(thumbs)}


def _context(browser):
    ctx = browser.new_context(viewport={"width": 1440, "height": 900})
    ctx.add_init_script(LOAD_LISTENER)
    return ctx


def measure_browser(results: Path, samples: Path, db_url: str, reps: int) -> dict[str, list[dict]]:
    from playwright.sync_api import sync_playwright

    out: dict[str, list[dict]] = {"cold": [], "warm server": [], "warm both": []}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            for _ in range(reps):
                server = Server(results, samples, db_url)
                try:
                    ctx = _context(browser)
                    _login(ctx, server.url)
                    out["cold"].append(_first_image_ms(ctx.new_page(), server.url))
                    ctx.close()
                    ctx = _context(browser)
                    _login(ctx, server.url)
                    out["warm server"].append(_first_image_ms(ctx.new_page(), server.url))
                    _first_image_ms(ctx.new_page(), server.url)
                    out["warm both"].append(_first_image_ms(ctx.new_page(), server.url))  # new tab, same cache
                    ctx.close()
                finally:
                    server.stop()
        finally:
            browser.close()
    return out


def measure_images(results: Path, samples: Path, db_url: str) -> list[dict]:
    import httpx
    from PIL import Image

    server = Server(results, samples, db_url)
    rows = []
    try:
        with httpx.Client(base_url=server.url, timeout=60) as c:
            form = c.get("/login").text
            token = form.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
            c.post("/login", data={"username": "bench", "password": PASSWORD, "csrf_token": token})
            for n in range(1, PAGES + 1):
                row = {"page": n}
                for size in ("view", "thumb"):
                    t0 = time.perf_counter()
                    r = c.get(f"/applications/{APP_ID}/documents/0/pages/{n}/{size}.jpg")
                    took = time.perf_counter() - t0
                    r.raise_for_status()
                    with Image.open(io.BytesIO(r.content)) as img:
                        dims = img.size
                    row[size] = {"bytes": len(r.content), "px": dims, "ms": took * 1000,
                                 "cache": r.headers.get("cache-control"), "etag": bool(r.headers.get("etag"))}
                    if size == "view":
                        t0 = time.perf_counter()
                        again = c.get(f"/applications/{APP_ID}/documents/0/pages/{n}/view.jpg")
                        row["view_cached_ms"] = (time.perf_counter() - t0) * 1000
                        t0 = time.perf_counter()
                        r304 = c.get(f"/applications/{APP_ID}/documents/0/pages/{n}/view.jpg",
                                     headers={"If-None-Match": again.headers["etag"]})
                        row["view_304"] = r304.status_code == 304
                        row["view_304_ms"] = (time.perf_counter() - t0) * 1000
                rows.append(row)
    finally:
        server.stop()
    return rows


def _stats(values: list[float]) -> str:
    return f"median {statistics.median(values):.0f} · min {min(values):.0f} · max {max(values):.0f}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--cache", type=Path, default=None, help="OCR cache dir kept between runs")
    ap.add_argument("--json", type=Path, default=None, help="also write the raw figures here")
    args = ap.parse_args()
    if not CHROMIUM.exists():
        print("needs /usr/bin/chromium", file=sys.stderr)
        return 2

    from pipeline.web import cli_users_add

    with tempfile.TemporaryDirectory(prefix="bench-web-") as tmp:
        root = Path(tmp)
        samples, results = root / "samples", root / "results"
        app, scans = build_application(samples)
        cache = args.cache or root / "cache"
        reuse_pdf(app, cache)
        screened_s = screen(app, results, cache)
        db_url = f"sqlite:///{root / 'web.db'}"
        cli_users_add(db_url, "bench", PASSWORD, "province")
        size_mb = (app / "合订本.pdf").stat().st_size / 1e6
        print(f"application: 1 PDF, {PAGES} pages ({scans} scanned), {size_mb:.1f} MB; screened in {screened_s:.1f} s")

        browser = measure_browser(results, samples, db_url, args.reps)
        images = measure_images(results, samples, db_url)

    load = os.getloadavg()[0]
    print(f"\nmachine: {platform.machine()}, {os.cpu_count()} cores, load average {load:.1f}; "
          f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC\n")
    print("first page image (ms after navigation start; load event, and first frame painted with it), reps =",
          args.reps)
    for name, runs in browser.items():
        print(f"  {name:12s} load event {_stats([r['load_event_ms'] for r in runs])}; "
              f"painted {_stats([r['first_image_ms'] for r in runs])}"
              f"   (HTML at {_stats([r['html_ms'] for r in runs])}; thumbnails loaded before it: "
              f"{max(r['thumbs_before'] for r in runs)})")
    view_b = [r["view"]["bytes"] / 1024 for r in images]
    thumb_b = [r["thumb"]["bytes"] / 1024 for r in images]
    print(f"\nview.jpg  (KB): {_stats(view_b)}; px {images[0]['view']['px']} (page 1), "
          f"longest side max {max(max(r['view']['px']) for r in images)}")
    print(f"thumb.jpg (KB): {_stats(thumb_b)}; longest side max {max(max(r['thumb']['px']) for r in images)}")
    print(f"render view.jpg cold (ms): {_stats([r['view']['ms'] for r in images])}")
    print(f"render thumb.jpg cold (ms): {_stats([r['thumb']['ms'] for r in images])}")
    print(f"view.jpg from the server cache (ms): {_stats([r['view_cached_ms'] for r in images])}")
    print(f"revalidation 304 (ms): {_stats([r['view_304_ms'] for r in images])}; "
          f"all 304: {all(r['view_304'] for r in images)}")
    print(f"Cache-Control: {images[0]['view']['cache']}; ETag on every image: "
          f"{all(r['view']['etag'] and r['thumb']['etag'] for r in images)}")
    if args.json:
        args.json.write_text(json.dumps({"browser": browser, "images": images}, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
