"""Page-reading throughput on the samples: text-layer pages/s vs seconds per OCR'd page.

    .venv/bin/python bench/pages.py [--ocr-pages N]

Runs the real pipeline stage (``pipeline.pages.read_document``) with an empty OCR cache, so every
image page is OCR'd once; prints pages/s for text-layer pages, median/mean seconds per OCR'd page,
the whole-application time, and the process's peak RSS. Numbers go to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.ingest import load_application  # noqa: E402
from pipeline.pages import OcrRunner, read_document  # noqa: E402
from pipeline.settings import Settings  # noqa: E402

SAMPLES = ROOT / "samples" / "applications"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--ocr-pages", type=int, default=40, help="stop OCR timing after this many pages")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as store:
        settings = Settings(cache_dir=Path(store))
        runner = OcrRunner.from_settings(settings)
        t0 = time.perf_counter()
        runner.engine  # noqa: B018 - load the model once, timed apart
        load_s = time.perf_counter() - t0
        text_pages = 0
        text_s = 0.0
        ocr_times: list[float] = []
        for app in sorted(p for p in SAMPLES.iterdir() if p.is_dir()):
            for src in load_application(app, settings).files:
                if src.error:
                    continue
                before = runner.calls
                t = time.perf_counter()
                reading = read_document(src, settings, runner)
                dt = time.perf_counter() - t
                ocr = runner.calls - before
                if ocr == 0 and reading.pages:
                    text_pages += len(reading.pages)
                    text_s += dt
                elif ocr and len(ocr_times) < args.ocr_pages:
                    ocr_times.extend([dt / ocr] * ocr)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"engine              {settings.ocr_engine} (threads {settings.ocr_threads})")
    print(f"model load          {load_s:.2f} s")
    print(f"text-layer pages    {text_pages} in {text_s:.2f} s = {text_pages / max(text_s, 1e-9):.1f} pages/s")
    if ocr_times:
        print(
            f"OCR'd pages         {len(ocr_times)}: median {statistics.median(ocr_times):.2f} s/page, "
            f"mean {statistics.mean(ocr_times):.2f} s/page"
        )
    print(f"peak RSS            {rss_mb:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
