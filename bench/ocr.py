"""OCR bench: every available engine on the same page images, in one run.

Images: the 21 of ``shared/ocr-bench`` (``gt.json``: truth lines + key strings; variants clean,
rot3, blur, jpeg30, rot90) and, when they exist, the generated samples' OCR pages
(``samples/truth/*/truth.json``: ``page_text`` per file; image files and image-only PDF pages).

Each engine configuration runs in its own subprocess (so peak RSS is its own), loads its models
(timed), warms up on one image (not counted), then reads every image through
:func:`extractors.preprocess.ocr_page` — the path the pipeline uses, orientation included.

    .venv/bin/python bench/ocr.py                      # all available engines
    .venv/bin/python bench/ocr.py --configs rapidocr rapidocr-stock --rounds 3
    .venv/bin/python bench/ocr.py --json out/bench-ocr.json

Timings on a shared machine are noisy: compare configurations from the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_BENCH = ROOT.parent / "shared" / "ocr-bench"
DEFAULT_SAMPLES = ROOT / "samples"
DEGRADED = {"rot3", "blur", "jpeg30"}

# name -> (engine, settings overrides, engine keyword overrides: RapidTuning fields for rapidocr,
# det sizing for paddleocr; "suppress_seals" goes to ocr_page)
CONFIGS: dict[str, tuple[str, dict[str, Any], dict[str, Any]]] = {
    "rapidocr": ("rapidocr", {}, {}),
    "rapidocr-stock": ("rapidocr", {}, {"det_limit_side_len": 736, "det_limit_type": "min", "use_cls": True}),
    "rapidocr-det736min": ("rapidocr", {}, {"det_limit_side_len": 736, "det_limit_type": "min"}),
    "rapidocr-det1280": ("rapidocr", {}, {"det_limit_side_len": 1280}),
    "rapidocr-det640": ("rapidocr", {}, {"det_limit_side_len": 640}),
    "rapidocr-cls": ("rapidocr", {}, {"use_cls": True}),
    "rapidocr-rec1": ("rapidocr", {}, {"rec_batch_num": 1}),
    "rapidocr-rec12": ("rapidocr", {}, {"rec_batch_num": 12}),
    "rapidocr-1thread": ("rapidocr", {"ocr_threads": 1}, {}),
    "rapidocr-keepseals": ("rapidocr", {}, {"suppress_seals": False}),
    "paddleocr": ("paddleocr", {"paddle_inference": "onnxruntime"}, {}),
    "paddleocr-stock": ("paddleocr", {"paddle_inference": "onnxruntime"}, {"det_limit_side_len": 736, "det_limit_type": "min"}),
    "paddleocr-paddle": ("paddleocr", {"paddle_inference": "paddle"}, {}),
    "tesseract": ("tesseract", {}, {}),
}
DEFAULT_CONFIGS = ["rapidocr", "rapidocr-stock", "paddleocr", "paddleocr-paddle", "tesseract"]


@dataclass(frozen=True)
class Item:
    key: str
    path: str
    page: int
    """0 for an image file; the 1-based page of a PDF."""
    group: str
    """clean / degraded / rot90 / samples."""
    truth: list[str]
    keys: list[str]


def bench_items(bench_dir: Path) -> list[Item]:
    gt = json.loads((bench_dir / "gt.json").read_text(encoding="utf-8"))
    items = []
    for name, info in gt.items():
        variant = info["variant"]
        group = "degraded" if variant in DEGRADED else variant
        items.append(Item(name, str(bench_dir / name), 0, group, info["lines"], info.get("keys", [])))
    return items


def sample_items(samples_dir: Path) -> list[Item]:
    """OCR pages of the generated samples (image files and image-only PDF pages)."""
    items = []
    for truth_file in sorted((samples_dir / "truth").glob("*/truth.json")):
        app = truth_file.parent.name
        truth = json.loads(truth_file.read_text(encoding="utf-8"))
        for doc in truth.get("documents", []):
            if doc.get("text_layer") or not doc.get("page_text"):
                continue
            path = samples_dir / "applications" / app / doc["file"]
            if not path.exists():
                continue
            suffix = path.suffix.lower()
            if suffix in {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp"}:
                pages = [0]
            elif suffix == ".pdf":
                pages = list(range(1, len(doc["page_text"]) + 1))
            else:
                continue
            for p in pages:
                lines = doc["page_text"][max(p - 1, 0)]
                items.append(Item(f"{app}/{doc['file']}#{p or 1}", str(path), p, "samples", lines, []))
    return items


# --------------------------------------------------------------------------- worker


def load_image(item: Item, settings) -> Any:  # noqa: ANN001
    import numpy as np

    data = Path(item.path).read_bytes()
    if item.page == 0:
        from extractors.images import decode_image

        return decode_image(data, max_pixels=settings.max_image_pixels).pages[0]
    import cv2
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(data)
    bitmap = pdf[item.page - 1].render(scale=settings.render_dpi / 72.0)
    rgb = np.asarray(bitmap.to_pil().convert("RGB"))
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)


def worker(config: str, items: list[Item], repeat: int, out: Path) -> None:
    from extractors.ocr.base import EngineUnavailable
    from extractors.preprocess import ocr_page
    from pipeline.settings import Settings

    engine_name, overrides, tuning = CONFIGS[config]
    tuning = dict(tuning)
    suppress_seals = bool(tuning.pop("suppress_seals", True))
    settings = Settings(ocr_engine=engine_name, **overrides)
    t0 = time.perf_counter()
    try:
        if engine_name == "rapidocr":
            from extractors.ocr.rapid import RapidOcrEngine, RapidTuning

            engine = RapidOcrEngine(settings, RapidTuning(**tuning))
        elif engine_name == "paddleocr" and tuning:
            from extractors.ocr.paddle import PaddleOcrEngine

            engine = PaddleOcrEngine(settings, **tuning)
        else:
            from extractors.ocr import create_engine

            engine = create_engine(settings)
        # Models load lazily in some engines: the first page counts as loading.
        ocr_page(load_image(items[0], settings), engine, settings, suppress_seals)
    except EngineUnavailable as exc:
        out.write_text(json.dumps({"config": config, "unavailable": str(exc)}), encoding="utf-8")
        return
    load_s = time.perf_counter() - t0
    results = []
    for it in items:
        image = load_image(it, settings)  # decoded one at a time: RSS is the engine's, not ours
        best = best_cpu = None
        for _ in range(repeat):
            t, c = time.perf_counter(), time.process_time()
            res = ocr_page(image, engine, settings, suppress_seals)
            dt, dc = time.perf_counter() - t, time.process_time() - c
            best = dt if best is None else min(best, dt)
            best_cpu = dc if best_cpu is None else min(best_cpu, dc)
        results.append(
            {
                "key": it.key,
                "seconds": best,
                "cpu_seconds": best_cpu,
                "texts": [ln.text for ln in res.lines],
                "rotation": res.rotation,
                "passes": res.passes,
            }
        )
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    out.write_text(
        json.dumps(
            {"config": config, "version": engine.version, "load_s": load_s, "rss_mb": rss_mb, "results": results},
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )


# --------------------------------------------------------------------------- report


def summarise(raw: dict[str, Any], items: list[Item]) -> dict[str, Any]:
    from pipeline.metrics import cer_detail, key_hits

    by_key = {it.key: it for it in items}
    groups: dict[str, dict[str, list[float]]] = {}
    key_total = key_ok = 0
    rot_ok = rot_total = 0
    for r in raw["results"]:
        it = by_key[r["key"]]
        d = cer_detail(it.truth, r["texts"])
        g = groups.setdefault(it.group, {"seconds": [], "cpu": [], "errors": [], "chars": []})
        g["seconds"].append(r["seconds"])
        g["cpu"].append(r.get("cpu_seconds") or 0.0)
        g["errors"].append(d.errors)
        g["chars"].append(d.truth_chars)
        hits = key_hits(it.keys, r["texts"])
        key_total += len(hits)
        key_ok += sum(hits)
        if it.group == "rot90":
            rot_total += 1
            rot_ok += int(r["rotation"] in (90, 270))
    summary: dict[str, Any] = {
        "config": raw["config"],
        "version": raw["version"],
        "load_s": round(raw["load_s"], 2),
        "rss_mb": round(raw["rss_mb"]),
        "key_match": round(key_ok / key_total, 4) if key_total else None,
    }
    page_seconds = [s for name, g in groups.items() if name in ("clean", "degraded") for s in g["seconds"]]
    summary["median_s"] = round(statistics.median(page_seconds), 3) if page_seconds else None
    page_cpu = [s for name, g in groups.items() if name in ("clean", "degraded") for s in g["cpu"]]
    summary["median_cpu_s"] = round(statistics.median(page_cpu), 3) if page_cpu else None
    for name, g in groups.items():
        summary[f"{name}_median_s"] = round(statistics.median(g["seconds"]), 3)
        summary[f"{name}_mean_s"] = round(statistics.mean(g["seconds"]), 3)
        summary[f"{name}_cer"] = round(sum(g["errors"]) / max(sum(g["chars"]), 1), 4)
        summary[f"{name}_n"] = len(g["seconds"])
    return summary


COLUMNS = [
    ("config", "config"),
    ("load_s", "load s"),
    ("median_s", "median s (clean+degr.)"),
    ("median_cpu_s", "median CPU s"),
    ("clean_median_s", "clean med s"),
    ("clean_mean_s", "clean mean s"),
    ("degraded_median_s", "degr. med s"),
    ("degraded_mean_s", "degr. mean s"),
    ("clean_cer", "CER clean"),
    ("degraded_cer", "CER degr."),
    ("rot90_cer", "CER rot90"),
    ("samples_cer", "CER samples"),
    ("samples_median_s", "samples med s"),
    ("key_match", "keys exact"),
    ("rss_mb", "peak RSS MB"),
]


def _fmt(key: str, v: Any) -> str:
    if v is None:
        return "–"
    if key.endswith("_cer"):
        return f"{100 * v:.2f} %"
    if key == "key_match":
        return f"{100 * v:.1f} %"
    return str(v)


def markdown(rows: list[dict[str, Any]]) -> str:
    cols = [(k, h) for k, h in COLUMNS if any(k in r for r in rows)]
    lines = ["| " + " | ".join(h for _, h in cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        lines.append("| " + " | ".join(_fmt(k, r.get(k)) for k, _ in cols) + " |")
    return "\n".join(lines)


def _merge(acc: dict[str, Any] | None, raw: dict[str, Any]) -> dict[str, Any]:
    """Fold one round into the running result: fastest time per image, fastest load, max RSS."""
    if acc is None or "unavailable" in raw:
        return raw
    acc["load_s"] = min(acc["load_s"], raw["load_s"])
    acc["rss_mb"] = max(acc["rss_mb"], raw["rss_mb"])
    by_key = {r["key"]: r for r in raw["results"]}
    for r in acc["results"]:
        other = by_key[r["key"]]
        r["seconds"] = min(r["seconds"], other["seconds"])
        r["cpu_seconds"] = min(r["cpu_seconds"], other["cpu_seconds"])
    return acc


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="OCR engines side by side on the bench images")
    ap.add_argument("--bench", type=Path, default=DEFAULT_BENCH)
    ap.add_argument("--samples", type=Path, default=DEFAULT_SAMPLES)
    ap.add_argument("--no-samples", action="store_true")
    ap.add_argument("--configs", nargs="+", default=None, choices=sorted(CONFIGS))
    ap.add_argument("--repeat", type=int, default=1, help="runs per image inside one worker; the fastest counts")
    ap.add_argument(
        "--rounds", type=int, default=1,
        help="run every config this many times, interleaved (config A, B, …, A, B, …); per image the "
        "fastest round counts — spreads a shared machine's load evenly over the configs",
    )
    ap.add_argument("--json", type=Path, default=None, help="write raw results + summary here")
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--items", type=Path, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.worker:
        items = [Item(**d) for d in json.loads(args.items.read_text(encoding="utf-8"))]
        worker(args.worker, items, args.repeat, args.out)
        return 0

    items = bench_items(args.bench)
    if not args.no_samples and args.samples.exists():
        items += sample_items(args.samples)
    configs = args.configs or DEFAULT_CONFIGS
    print(f"{len(items)} images ({sum(i.group == 'samples' for i in items)} from samples); configs: {configs}")
    rows, raws = [], []
    merged: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        items_file = Path(tmp) / "items.json"
        items_file.write_text(json.dumps([it.__dict__ for it in items], ensure_ascii=False), encoding="utf-8")
        for rnd in range(args.rounds):
            for config in configs:
                if merged.get(config, {}).get("unavailable"):
                    continue
                out = Path(tmp) / f"{config}-{rnd}.json"
                cmd = [sys.executable, __file__, "--worker", config, "--items", str(items_file),
                       "--out", str(out), "--repeat", str(args.repeat)]
                proc = subprocess.run(cmd, cwd=ROOT, env=os.environ.copy(), capture_output=True, text=True)
                if proc.returncode != 0 or not out.exists():
                    print(f"  {config}: worker failed\n{proc.stderr[-2000:]}", file=sys.stderr)
                    continue
                raw = json.loads(out.read_text(encoding="utf-8"))
                if "unavailable" in raw:
                    print(f"  {config}: unavailable — {raw['unavailable']}")
                merged[config] = _merge(merged.get(config), raw)
    for config in configs:
        raw = merged.get(config)
        if not raw or raw.get("unavailable"):
            continue
        summary = summarise(raw, items)
        print(f"  {config}: {json.dumps(summary, ensure_ascii=False)}")
        rows.append(summary)
        raws.append(raw)
    print()
    print(markdown(rows))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"summary": rows, "raw": raws}, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
