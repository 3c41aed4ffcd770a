#!/usr/bin/env python3
"""Regenerate every sample application and its ground truth, deterministically.

    .venv/bin/python samples/generate.py            # writes samples/applications + samples/truth
    .venv/bin/python samples/generate.py --out /tmp/s --only APP-01

The applications are described in ``samples/scenarios.yaml``; see ``samples/README.md``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import yaml  # noqa: E402

from samples.gen.app import BuiltApp, Registry, build_application  # noqa: E402
from samples.gen.judge import judge  # noqa: E402


def load_scenarios(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def link_batch(apps: list[BuiltApp]) -> None:
    """Cross-application facts: an invoice number or a screenshot used in two applications
    is flagged in both (result-v1: "…or in another one of the batch")."""
    by_id = {a.app_id: a for a in apps}
    for a in apps:
        for f, ref in a.reuses_invoice.items():
            a.facts.duplicate_invoices_elsewhere[f] = ref
            other_id, other_file = ref.split(":", 1)
            if other_id in by_id:
                by_id[other_id].facts.duplicate_invoices_elsewhere[other_file] = f"{a.app_id}:{f}"
        for f, ref in a.reuses_screenshot.items():
            a.facts.screenshots_reused[f] = ref
            other_id, other_file = ref.split(":", 1)
            if other_id in by_id:
                by_id[other_id].facts.screenshots_reused[other_file] = f"{a.app_id}:{f}"


def write(apps: list[BuiltApp], out: Path) -> None:
    for a in apps:
        app_dir = out / "applications" / a.app_id
        truth_dir = out / "truth" / a.app_id
        for d in (app_dir, truth_dir):
            if d.exists():
                shutil.rmtree(d)
            d.mkdir(parents=True)
        for rel, data in sorted(a.files.items()):
            p = app_dir / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(data)
        (truth_dir / "truth.json").write_text(
            json.dumps(a.truth, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenarios", type=Path, default=HERE / "scenarios.yaml")
    ap.add_argument("--out", type=Path, default=HERE)
    ap.add_argument("--only", action="append", help="application id (repeatable)")
    args = ap.parse_args(argv)
    data = load_scenarios(args.scenarios)
    reg = Registry()
    apps: list[BuiltApp] = []
    for app in data["applications"]:
        t0 = time.perf_counter()
        built = build_application(app, data["companies"], reg)
        apps.append(built)
        print(f"{built.app_id}: {len(built.files)} files in {time.perf_counter() - t0:.1f}s",
              file=sys.stderr)
    link_batch(apps)
    for a in apps:
        expected = judge(a.facts)
        expected.pop("applicant")
        a.truth["expected"] = expected
    if args.only:
        apps = [a for a in apps if a.app_id in set(args.only)]
    else:  # a full run leaves no stale application behind
        for sub in ("applications", "truth"):
            if (args.out / sub).exists():
                shutil.rmtree(args.out / sub)
    write(apps, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
