"""Seal benchmark: detection recall/precision, box IoU, text similarity, party accuracy.

    .venv/bin/python bench/seals.py                 # the generated samples (samples/truth)
    .venv/bin/python bench/seals.py --synthetic 60  # pages drawn by tests/test_seals.py
    .venv/bin/python bench/seals.py --no-ocr        # detection only (fast)

Samples: every page of every document whose truth lists seals, plus every page of the other
documents (to count false seals). PDF pages are rendered at 200 dpi; images are decoded and
turned upright with the truth's ``rotation`` (orientation is another module's job). A found seal
matches a true one on the same page at IoU ≥ 0.5. The parties a seal is matched against are the
applicant plus the roles the document's true seals carry, each with every name the application's
truth gives it (the pipeline knows the roles from the document's kind and reads the names from
the documents), so this measures seal reading and matching, not name extraction.

Text similarity is rapidfuzz ``ratio`` (0–100) between the found and the true seal text.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rapidfuzz import fuzz  # noqa: E402

from extractors.seals import SealFinding, find_seals, split_seal_text  # noqa: E402
from pipeline.evaluation import match_boxes  # noqa: E402


@dataclass
class Tally:
    truth: int = 0
    found: int = 0
    matched: int = 0
    ious: list[float] = field(default_factory=list)
    text: list[float] = field(default_factory=list)
    party_ok: int = 0
    party_unknown: int = 0
    party_wrong: int = 0
    pages: int = 0
    seconds: float = 0.0
    cpu: float = 0.0
    misses: list[str] = field(default_factory=list)
    extras: list[str] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)
    misread: list[str] = field(default_factory=list)

    def add(self, found: list[SealFinding], truth: list[dict[str, Any]], where: str) -> None:
        self.truth += len(truth)
        self.found += len(found)
        pairs = match_boxes([t["bbox"] for t in truth], [f.bbox for f in found])
        used_t = {j for j, _, _ in pairs}
        used_f = {i for _, i, _ in pairs}
        for j, i, v in pairs:
            f, t = found[i], truth[j]
            self.matched += 1
            self.ious.append(v)
            if f.text is not None or t.get("text"):
                ratio = fuzz.ratio(f.text or "", t.get("text") or "")
                self.text.append(ratio)
                if ratio < 70:
                    self.misread.append(f"{where}: {t.get('text')} read as {f.text!r}")
            party = t.get("party", "unknown")
            if f.party == party:
                self.party_ok += 1
            elif f.party == "unknown":
                self.party_unknown += 1
                self.wrong.append(f"{where}: {t.get('text')} → unknown ({f.text!r}, {f.party_score})")
            else:
                self.party_wrong += 1
                self.wrong.append(f"{where}: {t.get('text')} ({party}) → {f.party} ({f.text!r})")
        self.misses += [f"{where}: {t.get('text')} {t['bbox']}" for j, t in enumerate(truth) if j not in used_t]
        self.extras += [f"{where}: {f.bbox} {f.text!r}" for i, f in enumerate(found) if i not in used_f]

    def report(self, title: str) -> dict[str, Any]:
        out = {
            "title": title,
            "pages": self.pages,
            "true_seals": self.truth,
            "found": self.found,
            "recall": round(self.matched / self.truth, 3) if self.truth else None,
            "precision": round(self.matched / self.found, 3) if self.found else None,
            "mean_iou": round(statistics.mean(self.ious), 3) if self.ious else None,
            "text_ratio_mean": round(statistics.mean(self.text), 1) if self.text else None,
            "text_ratio_median": round(statistics.median(self.text), 1) if self.text else None,
            "party_accuracy": round(self.party_ok / self.matched, 3) if self.matched else None,
            "party_unknown": self.party_unknown,
            "party_wrong": self.party_wrong,
            "seconds_per_page": round(self.seconds / self.pages, 3) if self.pages else None,
            "cpu_seconds_per_page": round(self.cpu / self.pages, 3) if self.pages else None,
        }
        return out


# --------------------------------------------------------------------------- samples


def _pages(path: Path, rotation: int) -> list[np.ndarray]:
    from extractors.images import decode_image
    from extractors.pdf_text import open_pdf

    data = path.read_bytes()
    if data[:4] == b"%PDF":
        with open_pdf(data) as pdf:
            pages = [pdf.render(i, dpi=200, max_side=3000) for i in range(len(pdf))]
    else:
        pages = decode_image(data, max_pixels=200_000_000).pages
    if rotation:  # stored turned clockwise by `rotation`: turn back
        pages = [np.ascontiguousarray(np.rot90(p, k=rotation // 90)) for p in pages]
    return pages


def _names(truth: dict[str, Any]) -> dict[str, list[str]]:
    """Every name each role goes by in the application (applicant = invoice buyer)."""
    names: dict[str, list[str]] = defaultdict(list)
    applicant = (truth.get("applicant") or {}).get("name")
    if applicant:
        names["applicant"].append(applicant)
        names["buyer"].append(applicant)
    for doc in truth.get("documents", []):
        for seal in doc.get("seals") or []:
            holder = split_seal_text(seal.get("text") or "")[0]
            party = seal.get("party", "unknown")
            if holder and party != "unknown" and holder not in names[party]:
                names[party].append(holder)
    return names


def _parties(names: dict[str, list[str]], doc: dict[str, Any]) -> dict[str, list[str]]:
    """The roles of this document (those its true seals carry, plus the applicant) with every
    name the application gives them: the roles a pipeline knows from the document's kind."""
    roles = ["applicant"] + [s.get("party") for s in doc.get("seals") or []]
    return {r: names[r] for r in dict.fromkeys(roles) if r and names.get(r)}


def run_samples(root: Path, engine: Any, tally: dict[str, Tally], limit: int | None) -> None:
    truths = sorted((root / "truth").glob("*/truth.json"))
    if not truths:
        raise SystemExit(f"no samples under {root}/truth (generate them first, or use --synthetic)")
    for tpath in truths[:limit]:
        truth = json.loads(tpath.read_text(encoding="utf-8"))
        app = truth.get("application_id") or tpath.parent.name
        names = _names(truth)
        for doc in truth.get("documents", []):
            parties = _parties(names, doc)
            path = root / "applications" / app / doc["file"]
            if not path.is_file():
                continue
            try:
                pages = _pages(path, int(doc.get("rotation") or 0))
            except Exception as exc:  # corrupt/encrypted samples are deliberate
                print(f"  skip {app}/{doc['file']}: {type(exc).__name__}", file=sys.stderr)
                continue
            bucket = tally[doc.get("rendering", "?")]
            for number, image in enumerate(pages, start=1):
                t0, c0 = time.perf_counter(), time.process_time()
                found = find_seals(image, engine=engine, parties=parties)
                bucket.seconds += time.perf_counter() - t0
                bucket.cpu += time.process_time() - c0
                bucket.pages += 1
                true_seals = [s for s in doc.get("seals") or [] if int(s.get("page", 1)) == number]
                bucket.add(found, true_seals, f"{app}/{doc['file']}#{number}")


# --------------------------------------------------------------------------- synthetic


def run_synthetic(n: int, engine: Any, tally: dict[str, Tally]) -> None:
    sys.path.insert(0, str(ROOT / "tests"))
    from test_seals import SANS_BOLD, SERIF_BOLD, SealSpec, make_page, uscc  # type: ignore[import-not-found]

    names = ["江苏星云数据科技有限公司", "阿里云计算有限公司", "南京云帆信息技术有限公司",
             "上海云帆信息技术股份有限公司", "华为云计算技术有限公司", "苏州工业园区星海软件有限公司",
             "无锡市惠山区鑫达精密机械厂", "腾讯云计算（北京）有限责任公司"]
    for seed in range(n):
        rng = np.random.default_rng(1000 + seed)
        kind = ("clean", "scan", "photo")[seed % 3]
        a, b = rng.choice(len(names), size=2, replace=False)
        seals = [
            (SealSpec(names[a], "合同专用章", party="applicant"),
             float(rng.uniform(35, 80)), float(rng.uniform(60, 250)), float(rng.uniform(-35, 35)),
             float(rng.uniform(0.45, 0.9))),
            (SealSpec(names[b], "发票专用章", uscc("91320100MA1MXY2K4"), shape="oval", party="provider")
             if seed % 2 else SealSpec(names[b], "合同专用章", party="provider"),
             float(rng.uniform(130, 175)), float(rng.uniform(60, 250)), float(rng.uniform(-35, 35)),
             float(rng.uniform(0.45, 0.9))),
        ]
        font = SERIF_BOLD if seed % 4 == 3 else SANS_BOLD
        ppm = float(rng.choice([6.0, 7.0, 8.0]))  # 150–200 dpi
        img, drawn = make_page(seals, kind=kind, seed=seed, ppm=ppm, font=font)
        parties = {"applicant": [names[a]], "provider": [names[b]],
                   "buyer": [names[(a + b + 1) % len(names)]]}
        t0, c0 = time.perf_counter(), time.process_time()
        found = find_seals(img, engine=engine, parties=parties)
        bucket = tally[kind]
        bucket.seconds += time.perf_counter() - t0
        bucket.cpu += time.process_time() - c0
        bucket.pages += 1
        truth = [{"text": d.spec.text, "party": d.spec.party, "bbox": list(d.bbox)} for d in drawn]
        bucket.add(found, truth, f"synthetic#{seed}({kind},{ppm}px/mm)")


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--samples", type=Path, default=ROOT / "samples")
    ap.add_argument("--synthetic", type=int, default=0, help="use N synthetic pages instead of the samples")
    ap.add_argument("--no-ocr", action="store_true", help="detection only")
    ap.add_argument("--limit", type=int, default=None, help="first N applications only")
    ap.add_argument("--json", type=Path, default=None, help="also write the figures here")
    ap.add_argument("-v", "--verbose", action="store_true", help="list misses, false seals, wrong parties")
    args = ap.parse_args(argv)

    engine = None
    if not args.no_ocr:
        from extractors.ocr import create_engine
        from pipeline.settings import Settings

        engine = create_engine(Settings())
    tally: dict[str, Tally] = defaultdict(Tally)
    if args.synthetic:
        run_synthetic(args.synthetic, engine, tally)
    else:
        run_samples(args.samples, engine, tally, args.limit)
    total = Tally()
    for t in tally.values():
        for name in ("truth", "found", "matched", "party_ok", "party_unknown", "party_wrong", "pages"):
            setattr(total, name, getattr(total, name) + getattr(t, name))
        total.seconds += t.seconds
        total.cpu += t.cpu
        total.ious += t.ious
        total.text += t.text
        total.misses += t.misses
        total.extras += t.extras
        total.wrong += t.wrong
        total.misread += t.misread
    rows = [t.report(k) for k, t in sorted(tally.items())] + [total.report("ALL")]
    cols = ["title", "pages", "true_seals", "found", "recall", "precision", "mean_iou",
            "text_ratio_mean", "text_ratio_median", "party_accuracy", "party_unknown", "party_wrong",
            "seconds_per_page", "cpu_seconds_per_page"]
    print(" | ".join(cols))
    for r in rows:
        print(" | ".join("" if r[c] is None else str(r[c]) for c in cols))
    if args.verbose:
        for label, items in (("missed", total.misses), ("false", total.extras), ("party", total.wrong),
                             ("misread", total.misread)):
            for item in items:
                print(f"{label}: {item}")
    if args.json:
        args.json.write_text(json.dumps(rows, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
