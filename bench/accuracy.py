"""Accuracy of the whole pipeline on the generated samples, against each application's truth.json.

    .venv/bin/python bench/accuracy.py [--kind invoice] [--app APP-01] [--errors] [--store DIR]

Prints kind accuracy, field accuracy (overall, photos+scans, per kind/rendering/field), subdomain
precision/recall/F1, spend exactness, verdict agreement and flag precision/recall. OCR goes through
the store's cache, so a second run takes seconds.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.evaluation import SampleReport, accuracy, score_application  # noqa: E402
from pipeline.screen import build_result, read_application  # noqa: E402
from pipeline.settings import Settings  # noqa: E402

SAMPLES = ROOT / "samples" / "applications"
TRUTH = ROOT / "samples" / "truth"


def run(settings: Settings, apps: list[str] | None = None) -> SampleReport:
    report = SampleReport()
    for app in sorted(p for p in SAMPLES.iterdir() if p.is_dir()):
        if apps and app.name not in apps:
            continue
        truth = json.loads((TRUTH / app.name / "truth.json").read_text(encoding="utf-8"))
        result = build_result(read_application(app, settings), settings)
        score_application(report, truth, result)
    return report


def _groups(items, key) -> dict[str, tuple[float, int, int]]:
    grouped = defaultdict(list)
    for row in items:
        grouped[key(row)].append(row[4])
    return {k: accuracy(v) for k, v in sorted(grouped.items())}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--kind")
    ap.add_argument("--app", action="append")
    ap.add_argument("--errors", action="store_true")
    ap.add_argument("--store", type=Path, default=ROOT / ".yunshen" / "bench-store")
    args = ap.parse_args()
    rep = run(Settings(cache_dir=args.store), args.app)
    items = [row for row in rep.field_items if not args.kind or row[2] == args.kind]
    print(f"applications        {rep.applications}")
    print(f"kind accuracy       {rep.kind_correct / max(rep.kind_total, 1):.4f} ({rep.kind_correct}/{rep.kind_total})")
    acc, ok, n = accuracy(row[4] for row in items)
    img = accuracy(row[4] for row in items if row[3] != "text-pdf")
    print(f"field accuracy      {acc:.4f} ({ok}/{n}); photos+scans {img[0]:.4f} ({img[1]}/{img[2]})")
    p, r, f1 = rep.subdomain_prf
    print(f"subdomains          P {p:.3f}  R {r:.3f}  F1 {f1:.3f}")
    print(f"spend exact (±¥1)   {rep.spend_exact}/{rep.applications}")
    print(f"verdict exact       {rep.verdict_exact}/{rep.applications}")
    p, r, f1 = rep.flag_prf
    print(f"flags               P {p:.3f}  R {r:.3f}  ({rep.flag_tp} tp, {rep.flag_fp} fp, {rep.flag_fn} fn)")
    p, r, _ = rep.seal_prf
    print(f"seals               P {p:.3f}  R {r:.3f}  ({rep.seal_found}/{rep.seal_true} found, {rep.seal_false} false); "
          f"party {rep.seal_party_accuracy:.3f} ({rep.seal_party_correct}/{rep.seal_found})")
    for title, key in (("by kind", lambda row: row[2]), ("by rendering", lambda row: row[3]),
                       ("by field", lambda row: f"{row[2]}.{row[4].field.split('[')[0].split('.')[0]}")):
        print(f"-- {title}")
        for k, (a, ok, n) in _groups(items, key).items():
            print(f"   {k:42s} {a:.3f} ({ok}/{n})")
    if args.errors:
        print("-- kind errors")
        for err in rep.kind_errors:
            print("  ", *err)
        print("-- application errors")
        for err in rep.app_errors:
            print("  ", *err)
        print("-- field errors")
        for app, file, _kind, _r, item in items:
            if not item.correct:
                print(f"   {app} {file} {item.field}: truth={item.truth!r} got={item.predicted!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
