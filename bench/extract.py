"""Time per document of each pipeline stage, by document kind and by source, on the samples.

    .venv/bin/python bench/extract.py                  # fresh (empty) store: cold OCR, then warm
    .venv/bin/python bench/extract.py --store DIR      # reuse a store (its caches may be warm)
    .venv/bin/python bench/extract.py --app APP-01 --json /tmp/extract.json

Every file of ``samples/applications`` is read the way :func:`pipeline.screen.read_application`
reads it, calling the same functions, each timed on its own:

* **read** — :func:`pipeline.pages.read_document` (text layer, or rendering + OCR through the
  cache). The time spent inside :meth:`OcrRunner.read` (cache lookup + ``ocr_page``) is the
  **OCR** time. Each file is read twice with the same store: the first pass is *cold* (with the
  default fresh store every image page is OCR'd), the second *warm* (every page from the cache).
* **classify** — :func:`classifiers.kinds.classify`.
* **extract** — :func:`extractors.facts.extract_facts` (the kind's fields) and, reported apart,
  :func:`classifiers.subdomains.map_pages`.
* **seals** — :func:`pipeline.sealing.read_seals` (render, find, read the seal text with OCR),
  cold pass only: the second pass would take them from the store's seal cache.

The OCR model is loaded before timing (its load time is printed apart). Byte-identical copies
are read once, as the pipeline does. Groups are the kind the pipeline assigns and the source:
``text-pdf`` (every page from the text layer), ``scan-pdf`` (a PDF with OCR'd pages) and, for
image files, the sample's rendering from ``samples/truth`` (photo, scan-image, screenshot).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.machine import cpu_model  # noqa: E402
from classifiers.kinds import classify  # noqa: E402
from classifiers.subdomains import map_pages  # noqa: E402
from extractors.facts import ExtractionContext, extract_facts  # noqa: E402
from pipeline.ingest import SourceFile, load_application  # noqa: E402
from pipeline.pages import OcrRunner, read_document  # noqa: E402
from pipeline.sealing import read_seals  # noqa: E402
from pipeline.settings import Settings  # noqa: E402

SAMPLES = ROOT / "samples"


@dataclass
class DocTiming:
    """Seconds one file spent in each stage (``ocr_*`` is part of ``read_*``)."""

    app: str
    file: str
    kind: str
    source: str
    pages: int
    ocr_pages: int
    read_cold: float
    ocr_cold: float
    read_warm: float
    ocr_warm: float
    classify: float
    extract: float
    extract_cpu: float
    subdomains: float
    seals: float
    seals_found: int


class TimedRunner:
    """Adds up the wall time spent in an :class:`OcrRunner`'s ``read`` (the OCR stage)."""

    def __init__(self, runner: OcrRunner) -> None:
        self.seconds = 0.0
        inner = runner.read

        def read(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
            t = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - t

        runner.read = read  # type: ignore[method-assign]


def _renderings() -> dict[tuple[str, str], str]:
    """(application, file) → the sample's rendering (text-pdf, scan-pdf, photo, …)."""
    out = {}
    for path in sorted((SAMPLES / "truth").glob("*/truth.json")):
        truth = json.loads(path.read_text(encoding="utf-8"))
        app = truth.get("application_id") or path.parent.name
        for doc in truth.get("documents", []):
            out[(app, doc["file"])] = doc.get("rendering", "?")
    return out


def _source(src: SourceFile, pages, rendering: str | None) -> str:  # noqa: ANN001
    if src.media_type == "application/pdf":
        return "scan-pdf" if any(p.source == "ocr" for p in pages) else "text-pdf"
    return rendering or "image"


def _timed(fn, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
    t = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t


def run(settings: Settings, apps: list[str] | None) -> tuple[list[DocTiming], dict[str, float]]:
    runner = OcrRunner.from_settings(settings)
    timer = TimedRunner(runner)
    t = time.perf_counter()
    runner.engine  # noqa: B018 - load the model once, timed apart
    meta = {"model_load_s": round(time.perf_counter() - t, 2)}
    renderings = _renderings()
    rows: list[DocTiming] = []
    cold_calls = 0
    for app_dir in sorted(p for p in (SAMPLES / "applications").iterdir() if p.is_dir()):
        if apps and app_dir.name not in apps:
            continue
        seen: set[str] = set()
        for src in load_application(app_dir, settings).files:
            if src.error is not None or (src.sha256 and src.sha256 in seen):
                continue
            seen.add(src.sha256)
            # cold pass (as read_application does it)
            calls, o0 = runner.calls, timer.seconds
            reading, read_cold = _timed(read_document, src, settings, runner)
            ocr_cold = timer.seconds - o0
            cold_calls += runner.calls - calls
            if reading.error is not None:
                continue
            is_image = src.media_type != "application/pdf"
            decision, t_cls = _timed(classify, reading.pages, is_image_file=is_image, file=src.relpath)
            kind = decision.kind
            ctx = ExtractionContext(file=src.relpath, kind=kind, is_image=is_image)
            c0 = time.process_time()
            _, t_ext = _timed(extract_facts, kind, reading.pages, ctx)
            c_ext = time.process_time() - c0
            _, t_sub = _timed(map_pages, reading.pages, file=src.relpath, kind=kind)
            seals, t_seal = _timed(read_seals, src, kind, reading.pages, runner)
            # warm pass: the same file again, every OCR'd page from the cache
            o1 = timer.seconds
            _, read_warm = _timed(read_document, src, settings, runner)
            rows.append(DocTiming(
                app=app_dir.name, file=src.relpath, kind=kind,
                source=_source(src, reading.pages, renderings.get((app_dir.name, src.relpath))),
                pages=len(reading.pages), ocr_pages=sum(1 for p in reading.pages if p.source == "ocr"),
                read_cold=read_cold, ocr_cold=ocr_cold, read_warm=read_warm, ocr_warm=timer.seconds - o1,
                classify=t_cls, extract=t_ext, extract_cpu=c_ext, subdomains=t_sub, seals=t_seal, seals_found=len(seals),
            ))
            print(f"  {app_dir.name}/{src.relpath}: {kind}, {rows[-1].source}, {rows[-1].pages} p, "
                  f"read {read_cold:.2f}/{read_warm:.2f} s, extract {t_ext:.3f} s, seals {t_seal:.2f} s",
                  file=sys.stderr, flush=True)
    meta["ocr_calls_cold_pass"] = cold_calls
    meta["ocr_calls_total"] = runner.calls
    return rows, meta


def _stat(values: list[float]) -> str:
    if not values:
        return ""
    return f"{statistics.median(values):.3f} / {statistics.mean(values):.3f}"


COLUMNS = ("group", "docs", "pages", "OCR pages", "OCR cold s/doc (med / mean)", "read warm s/doc",
           "classify s/doc", "extract s/doc (med / mean)", "extract CPU s/doc", "subdomains s/doc",
           "seals s/doc (med / mean)")


def table(rows: list[DocTiming], key) -> list[list[str]]:  # noqa: ANN001
    groups: dict[str, list[DocTiming]] = defaultdict(list)
    for r in rows:
        groups[key(r)].append(r)
    out = []
    for name, rs in sorted(groups.items()) + [("ALL", rows)]:
        out.append([
            name, str(len(rs)), str(sum(r.pages for r in rs)), str(sum(r.ocr_pages for r in rs)),
            _stat([r.ocr_cold for r in rs]), _stat([r.read_warm for r in rs]),
            f"{statistics.mean(r.classify for r in rs):.4f}", _stat([r.extract for r in rs]),
            f"{statistics.mean(r.extract_cpu for r in rs):.3f}",
            f"{statistics.mean(r.subdomains for r in rs):.4f}", _stat([r.seals for r in rs]),
        ])
    return out


def _markdown(title: str, body: list[list[str]]) -> str:
    lines = [f"**{title}**", "", "| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(r) + " |" for r in body]
    return "\n".join(lines)


def _machine() -> dict[str, str]:
    return {"nproc": str(os.cpu_count()), "cpu": cpu_model(),
            "load": " ".join(f"{v:.2f}" for v in os.getloadavg())}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--store", type=Path, default=None,
                    help="store to use (default: a fresh temporary one, so the first pass is cold)")
    ap.add_argument("--app", action="append", help="only this application (repeatable)")
    ap.add_argument("--json", type=Path, default=None, help="also write every document's timings here")
    args = ap.parse_args(argv)

    before = _machine()
    started = datetime.now(timezone.utc)
    with tempfile.TemporaryDirectory(prefix="yunshen-extract-") as tmp:
        settings = Settings(cache_dir=args.store or Path(tmp))
        rows, meta = run(settings, args.app)
    after = _machine()
    print(f"date {started:%Y-%m-%d %H:%M} UTC; nproc {before['nproc']}; cpu {before['cpu']}; "
          f"load average before {before['load']}, after {after['load']}; engine {settings.ocr_engine}; "
          f"model load {meta['model_load_s']} s; OCR calls in the cold pass {meta['ocr_calls_cold_pass']}, "
          f"in all {meta['ocr_calls_total']}")
    print("seconds per document; OCR is part of read; 'seals' = render + find + read seal text (cold)\n")
    print(_markdown("By kind", table(rows, lambda r: r.kind)))
    print()
    print(_markdown("By source", table(rows, lambda r: r.source)))
    if args.json:
        args.json.write_text(json.dumps({"meta": meta, "machine": after, "documents": [asdict(r) for r in rows]},
                                        ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
