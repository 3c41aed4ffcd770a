"""Accuracy of the pipeline on the generated samples, against each application's truth.json.

    .venv/bin/python bench/accuracy.py [--kind invoice] [--errors] [--store DIR]

Prints kind accuracy and field accuracy (overall, per kind, per rendering, per field); with
``--errors`` every wrong field item. OCR goes through the store's cache, so a second run is fast.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.evaluation import ItemScore, accuracy, score_fields  # noqa: E402
from pipeline.screen import build_result, read_application  # noqa: E402
from pipeline.settings import Settings  # noqa: E402

SAMPLES = ROOT / "samples" / "applications"
TRUTH = ROOT / "samples" / "truth"


def evaluate(settings: Settings, only_kind: str | None = None, apps: list[str] | None = None) -> dict:
    kinds_total = kinds_ok = 0
    by_kind: dict[str, list[ItemScore]] = defaultdict(list)
    by_rendering: dict[str, list[ItemScore]] = defaultdict(list)
    by_field: dict[str, list[ItemScore]] = defaultdict(list)
    errors: list[tuple[str, str, ItemScore]] = []
    kind_errors: list[tuple[str, str, str, str]] = []
    for app in sorted(p for p in SAMPLES.iterdir() if p.is_dir()):
        if apps and app.name not in apps:
            continue
        truth = json.loads((TRUTH / app.name / "truth.json").read_text(encoding="utf-8"))
        result = build_result(read_application(app, settings), settings)
        docs = {d.file: d for d in result.documents}
        for t_doc in truth["documents"]:
            doc = docs.get(t_doc["file"])
            kinds_total += 1
            if doc is not None and doc.kind == t_doc["kind"]:
                kinds_ok += 1
            else:
                kind_errors.append((app.name, t_doc["file"], t_doc["kind"], doc.kind if doc else "missing"))
            if only_kind and t_doc["kind"] != only_kind:
                continue
            predicted = doc.fields.model_dump() if doc is not None else {}
            items = score_fields(t_doc.get("fields") or {}, predicted)
            by_kind[t_doc["kind"]].extend(items)
            by_rendering[t_doc["rendering"]].extend(items)
            for item in items:
                by_field[f"{t_doc['kind']}.{item.field.split('[')[0].split('.')[0]}"].append(item)
                if not item.correct:
                    errors.append((app.name, t_doc["file"], item))
    every = [i for items in by_kind.values() for i in items]
    return {
        "kind_accuracy": kinds_ok / kinds_total if kinds_total else 1.0,
        "kind_errors": kind_errors,
        "fields": accuracy(every),
        "image_fields": accuracy(
            i for r, items in by_rendering.items() if r != "text-pdf" for i in items
        ),
        "by_kind": {k: accuracy(v) for k, v in sorted(by_kind.items())},
        "by_rendering": {k: accuracy(v) for k, v in sorted(by_rendering.items())},
        "by_field": {k: accuracy(v) for k, v in sorted(by_field.items())},
        "errors": errors,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--kind")
    ap.add_argument("--app", action="append")
    ap.add_argument("--errors", action="store_true")
    ap.add_argument("--store", type=Path, default=ROOT / ".yunshen" / "bench-store")
    args = ap.parse_args()
    report = evaluate(Settings(cache_dir=args.store), args.kind, args.app)
    print(f"kind accuracy {report['kind_accuracy']:.4f}")
    for err in report["kind_errors"]:
        print("  kind wrong:", *err)
    acc, ok, n = report["fields"]
    print(f"field accuracy {acc:.4f} ({ok}/{n}); photos+scans {report['image_fields'][0]:.4f}")
    for title in ("by_kind", "by_rendering", "by_field"):
        print(f"-- {title}")
        for key, (a, ok, n) in report[title].items():
            print(f"   {key:40s} {a:.3f} ({ok}/{n})")
    if args.errors:
        print("-- errors")
        for app, file, item in report["errors"]:
            print(f"   {app} {file} {item.field}: truth={item.truth!r} got={item.predicted!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
