"""Measure the bad-input corpus: each case screened in its own process (outcome, seconds, peak RSS).

    .venv/bin/python bench/bad_inputs.py [--store DIR] [--markdown FILE] [--case NAME ...]

Each case is tests/bad_inputs/generate.py's bad input added to a copy of APP-01, screened by
tests/bad_inputs/harness.py in a fresh Python process (the same code the tests run). The OCR
cache starts empty (or ``--store``); APP-01 is screened first, twice, so every case finds APP-01's
pages cached and its time is APP-01's warm screening plus whatever the bad input costs (its own
pictures are OCR'd cold). Peak RSS is the child's ``ru_maxrss``: Python, the libraries, the OCR
model when it is loaded, and the case.
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from bad_inputs.generate import cases  # noqa: E402
from bad_inputs.harness import CLEAN, CaseOutcome, run_in_child  # noqa: E402


def _outcome_text(case_expect: str, o: CaseOutcome) -> tuple[str, str, str]:
    """(outcome, zh, en) for the table: the first bad file's error, or what was read."""
    if case_expect == "app_error":
        zh, _, en = (o.app_error or "").partition(" / ")
        return "BAD_ARCHIVE → FILE_UNREADABLE on the application (its zip)", zh, en
    errors = [b for b in o.bad if not b.read]
    if errors:
        codes = sorted({b.error_code or "?" for b in errors})
        flags = sorted({c for b in errors for c in b.flag_codes})
        first = errors[0]
        zh = (first.error or "").partition(" / ")[0]
        n = f" ({len(errors)} files)" if len(errors) > 1 else ""
        return f"{'/'.join(codes)} → {'/'.join(flags) or 'no flag'}{n}", zh, first.error_en or ""
    pages = sum(b.pages for b in o.bad)
    rot = {r for b in o.bad for r in b.rotations if r}
    rot_txt = f", turned upright ({'/'.join(map(str, sorted(rot)))}°)" if rot else ""
    chars = sum(len(b.text.replace("\n", "")) for b in o.bad)
    return f"read: {len(o.bad)} file(s), {pages} page(s), {chars} chars{rot_txt}, no flag", "", ""


def _good_intact(o: CaseOutcome, clean: CaseOutcome) -> str:
    if not o.documents:
        return "—"
    same = all(o.documents.get(k) == v for k, v in clean.documents.items()) and o.verdict == clean.verdict
    return "yes" if same else "NO"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--store", type=Path, default=None, help="OCR cache (default: a fresh temp dir)")
    parser.add_argument("--markdown", type=Path, default=None, help="also write the table here")
    parser.add_argument("--case", action="append", help="only this case (repeatable)")
    args = parser.parse_args(argv)
    store = args.store or Path(tempfile.mkdtemp(prefix="yunshen-bad-store-"))
    work = Path(tempfile.mkdtemp(prefix="yunshen-bad-inputs-"))
    chosen = [c for c in cases() if not args.case or c.name in args.case]

    cold = run_in_child(CLEAN, work, store)
    clean = run_in_child(CLEAN, work, store)
    print(f"APP-01 alone: cold {cold.seconds:.1f} s / {cold.peak_rss_mb:.0f} MB, "
          f"warm {clean.seconds:.1f} s / {clean.peak_rss_mb:.0f} MB", flush=True)
    rows = []
    for case in chosen:
        try:
            o = run_in_child(case.name, work, store)
        except Exception as exc:  # noqa: BLE001 - a crash is a result to report, not to hide
            rows.append((case, None, f"CRASH: {str(exc)[-300:]}", "", "", "", ""))
            print(f"{case.name:26s} CRASH {exc}", flush=True)
            continue
        outcome, zh, en = _outcome_text(case.expect, o)
        rows.append((case, o, outcome, zh, en, _good_intact(o, clean), ""))
        print(f"{case.name:26s} {o.seconds:7.2f} s {o.peak_rss_mb:7.0f} MB  {outcome}  {zh} / {en}", flush=True)

    import shutil

    shutil.rmtree(work, ignore_errors=True)  # generated cases: hundreds of MB of zips and copies
    if args.store is None:
        shutil.rmtree(store, ignore_errors=True)
    if args.markdown:
        lines = [
            f"Measured {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC on {platform.node() or 'host'}: "
            f"{platform.processor() or platform.machine()}, {_cpus()} CPUs, {_mem_gb():.1f} GB RAM, "
            f"Python {platform.python_version()}, {platform.system()} {platform.release()}. "
            f"Command: `.venv/bin/python bench/bad_inputs.py --markdown …`.",
            "",
            f"Baseline, APP-01 alone in a fresh process: cold cache {cold.seconds:.1f} s / "
            f"{cold.peak_rss_mb:.0f} MB peak RSS; warm cache {clean.seconds:.1f} s / {clean.peak_rss_mb:.0f} MB.",
            "",
            "| # | case | input | outcome (error code → flag) | error text (zh) | error text (en) | APP-01 intact | s | peak RSS MB |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for i, (case, o, outcome, zh, en, intact, _) in enumerate(rows, start=1):
            secs = f"{o.seconds:.1f}" if o else "—"
            rss = f"{o.peak_rss_mb:.0f}" if o else "—"
            lines.append(
                f"| {i} | `{case.name}` | {_md(case.title)} | {_md(outcome)} | {_md(zh)} | {_md(en)} | {intact} | {secs} | {rss} |"
            )
        args.markdown.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return 1 if any(r[1] is None for r in rows) else 0


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 0)


def _mem_gb() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return 0.0


if __name__ == "__main__":
    raise SystemExit(main())
