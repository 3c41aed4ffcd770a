"""Screenshot-reuse detection on a large planted batch: precision, recall, time per screenshot.

    .venv/bin/python bench/crosscheck.py [--apps 40] [--reuses 10] [--seed 0] [--no-account] [--show]

The batch is the ten sample applications' real screenshots plus synthetic applications rendered
with the samples' own console templates (``samples/gen/screens.py``) for made-up companies —
every template appears in many applications with the same capture time and service dates, so
innocent siblings differ only in ids, figures and the account name (the hard case). Reuses are
planted by copying one application's screenshot into another after cropping 3–5 % off the edges,
rescaling, changing brightness/contrast and re-saving as JPEG q60. The sample batch's own planted
reuse (APP-10 ``截图/存储.png`` ← APP-08 ``截图/OSS.png``) counts as one more true pair.

The helpers (:func:`degrade`, :func:`render_screen_for`, :func:`company_names`) are also used by
``tests/test_crosscheck.py``.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import itertools
import json
import random
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from PIL import Image, ImageEnhance

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.crosscheck import ScreenParams, screenshot_matches  # noqa: E402
from pipeline.model import DocumentFields, DocumentResult, ScreeningResult  # noqa: E402

SAMPLES = ROOT / "samples" / "applications"
TRUTH = ROOT / "samples" / "truth"
CAPTURED = datetime(2024, 9, 5, 10, 12)

_CITIES = ["南京", "无锡", "徐州", "常州", "苏州", "南通", "连云港", "淮安", "盐城", "扬州", "镇江", "泰州", "宿迁"]
_WORDS = ["恒达", "华信", "瑞丰", "金鼎", "宏图", "联创", "智远", "博源", "新材", "天成", "鑫隆", "永盛", "中科", "康泰"]
_TRADES = ["精密机械", "电子科技", "纺织", "化工材料", "食品", "五金制品", "智能装备", "汽车零部件", "医疗器械", "包装材料"]


def company_names(n: int, rng: random.Random) -> list[str]:
    """``n`` distinct made-up Jiangsu company names."""
    seen: set[str] = set()
    while len(seen) < n:
        seen.add(f"{rng.choice(_CITIES)}{rng.choice(_WORDS)}{rng.choice(_TRADES)}有限公司")
    return sorted(seen)


def templates() -> dict:
    from samples.gen.entities import screens

    return screens()


def render_screen_for(template: str, company: str, seed: int, captured: datetime = CAPTURED,
                      start: str = "2024-03-01", expire: str = "2025-12-31") -> Image.Image:
    """One console screen of ``template`` for ``company``, captured at ``captured``."""
    from samples.gen.entities import provider
    from samples.gen.screens import render_screen

    tpl = templates()[template]
    pv = provider(tpl["provider"])
    ctx = {"company": company, "expire": expire, "start": start, "date": captured.date().isoformat()}
    return render_screen(tpl, tpl.get("brand", pv.short), pv.color, ctx, captured, random.Random(seed)).image


def app_dates(rng: random.Random) -> tuple[datetime, str, str]:
    """Capture time and service period of one application, as varied as in the samples."""
    captured = datetime(2024, 9, rng.randint(1, 27), rng.randint(8, 17), rng.randint(0, 59))
    start = f"2024-{rng.randint(1, 6):02d}-{rng.randint(1, 28):02d}"
    expire = f"{rng.choice((2025, 2026, 2027))}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    return captured, start, expire


def degrade(img: Image.Image, rng: random.Random, *, crop: tuple[float, float] = (0.03, 0.05),
            scale: tuple[float, float] = (0.75, 1.3), quality: int = 60) -> bytes:
    """A re-captured copy: ``crop`` share cut off each side, rescaled, brightness/contrast changed, JPEG."""
    w, h = img.size
    c = [rng.uniform(*crop) for _ in range(4)]
    out = img.convert("RGB").crop((int(c[0] * w), int(c[1] * h), w - int(c[2] * w), h - int(c[3] * h)))
    s = rng.uniform(*scale)
    out = out.resize((max(1, round(out.width * s)), max(1, round(out.height * s))), Image.LANCZOS)
    out = ImageEnhance.Brightness(out).enhance(rng.uniform(0.88, 1.12))
    out = ImageEnhance.Contrast(out).enhance(rng.uniform(0.88, 1.12))
    buf = io.BytesIO()
    out.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def png_bytes(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def screenshot_doc(file: str, data: bytes, account: str | None) -> DocumentResult:
    fields = DocumentFields(account_name=account) if account else DocumentFields()
    return DocumentResult(file=file, sha256=hashlib.sha256(data).hexdigest(), kind="screenshot",
                          pages=1, ocr_pages=0, fields=fields)


def build_batch(out: Path, n_apps: int = 40, n_reuses: int = 10, seed: int = 0, shots_per_app: int = 7,
                with_account: bool = True, same_dates: bool = False) -> tuple[list[tuple[ScreeningResult, Path]], set[frozenset[str]]]:
    """The batch (results + folders) and its true reused pairs as {"APP:file", "APP:file"} sets.

    ``same_dates`` renders every synthetic application with one capture time and service period
    (a stress case: a static console page then differs between customers only in the account name).
    """
    rng = random.Random(seed)
    docs: dict[str, list[DocumentResult]] = {}
    images: dict[str, tuple[Image.Image, str]] = {}  # "APP:file" → (image, account shown)
    truth: set[frozenset[str]] = set()
    for folder in sorted(SAMPLES.iterdir()):  # the real sample screenshots
        t = json.loads((TRUTH / folder.name / "truth.json").read_text(encoding="utf-8"))
        for d in t["documents"]:
            if d["kind"] != "screenshot":
                continue
            data = (folder / d["file"]).read_bytes()
            account = (d.get("fields") or {}).get("account_name")
            docs.setdefault(folder.name, []).append(screenshot_doc(d["file"], data, account if with_account else None))
            images[f"{folder.name}:{d['file']}"] = (Image.open(folder / d["file"]).convert("RGB"), account)
            if d.get("reused_from"):
                truth.add(frozenset({f"{folder.name}:{d['file']}", d["reused_from"]}))
    keys = sorted(templates())
    names = company_names(n_apps, rng)
    for i in range(len(docs), n_apps):
        app, company = f"SYN-{i:02d}", names[i]
        (out / app).mkdir(parents=True, exist_ok=True)
        captured, start, expire = (CAPTURED, "2024-03-01", "2025-12-31") if same_dates else app_dates(rng)
        for k, tpl in enumerate(rng.sample(keys, shots_per_app)):
            when = captured.replace(minute=(captured.minute + 3 * k) % 60)
            img = render_screen_for(tpl, company, seed * 100_000 + i * 100 + k, when, start, expire)
            file = f"{tpl}.png"
            data = png_bytes(img)
            (out / app / file).write_bytes(data)
            docs.setdefault(app, []).append(screenshot_doc(file, data, company if with_account else None))
            images[f"{app}:{file}"] = (img, company)
    apps = sorted(docs)
    folders = {a: SAMPLES / a if a.startswith("APP-") else out / a for a in apps}
    for r in range(n_reuses):
        source = rng.choice(sorted(images))
        src_app = source.split(":", 1)[0]
        target = rng.choice([a for a in apps if a != src_app])
        if folders[target].is_relative_to(SAMPLES):  # never write into the samples: link them
            _link_sample(out / target, SAMPLES / target)
            folders[target] = out / target
        img, account = images[source]
        data = degrade(img, rng)
        file = f"reused/{r:02d}.jpg"
        (folders[target] / "reused").mkdir(parents=True, exist_ok=True)
        (folders[target] / file).write_bytes(data)
        docs[target].append(screenshot_doc(file, data, account if with_account else None))
        truth.add(frozenset({f"{target}:{file}", source}))
    truth = _closure(truth)
    batch = [(ScreeningResult(application_id=a, screened_at="2024-09-30T00:00:00", documents=docs[a]), folders[a])
             for a in apps]
    return batch, truth


def _closure(pairs: set[frozenset[str]]) -> set[frozenset[str]]:
    """Copies of one original are also copies of each other: every pair within a group is true."""
    group: dict[str, set[str]] = {}
    for pair in pairs:
        merged = set(pair).union(*(group.get(x, set()) for x in pair))
        for x in merged:
            group[x] = merged
    out = set()
    for members in {frozenset(g) for g in group.values()}:
        out |= {frozenset(p) for p in itertools.combinations(sorted(members), 2) if p[0].split(":")[0] != p[1].split(":")[0]}
    return out


def _link_sample(dst: Path, src: Path) -> None:
    """Symlink the sample's files next to the planted ones (the samples are never written to)."""
    for p in src.rglob("*"):
        if p.is_file():
            target = dst / p.relative_to(src)
            if not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                target.symlink_to(p)


def evaluate(batch, truth: set[frozenset[str]], params: ScreenParams | None = None) -> dict:
    n_shots = sum(1 for res, _ in batch for d in res.documents if d.kind == "screenshot")
    t0, c0 = time.perf_counter(), time.process_time()
    matches = screenshot_matches(batch, params)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    found = {frozenset({str(m.a), str(m.b)}) for m in matches if m.reused}
    tp = len(found & truth)
    innocent = [m for m in matches if frozenset({str(m.a), str(m.b)}) not in truth]
    planted = [m for m in matches if frozenset({str(m.a), str(m.b)}) in truth]
    compared = [m for m in innocent if m.tiles]
    return {
        "applications": len(batch), "screenshots": n_shots, "true_pairs": len(truth),
        "flagged_pairs": len(found), "true_positives": tp,
        "precision": tp / len(found) if found else 1.0, "recall": tp / len(truth) if truth else 1.0,
        "candidates": len(matches), "innocent_candidates_compared": len(compared),
        "min_innocent_disagree_share": min((m.disagree_share for m in compared), default=None),
        "max_planted_disagree_share": max((m.disagree_share for m in planted), default=None),
        "max_planted_hash_distance": max((m.hash_distance or 0 for m in planted), default=None),
        "missed": sorted(" ~ ".join(sorted(p)) for p in truth - found),
        "false": sorted(" ~ ".join(sorted(p)) for p in found - truth),
        "seconds": seconds, "seconds_per_screenshot": seconds / max(n_shots, 1),
        "cpu_seconds_per_screenshot": cpu / max(n_shots, 1),
        "_matches": matches,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--apps", type=int, default=40)
    ap.add_argument("--reuses", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-account", action="store_true", help="results carry no account_name (image alone)")
    ap.add_argument("--same-dates", action="store_true", help="stress case: one capture time for all")
    ap.add_argument("--candidates", type=int, default=None, help="hash distance for candidates")
    ap.add_argument("--show", action="store_true", help="list the closest innocent and planted pairs")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="yunshen-cc-") as tmp:
        batch, truth = build_batch(Path(tmp), args.apps, args.reuses, args.seed, with_account=not args.no_account,
                                   same_dates=args.same_dates)
        params = ScreenParams() if args.candidates is None else ScreenParams(hash_candidate_distance=args.candidates)
        r = evaluate(batch, truth, params)
    matches = r.pop("_matches")
    for k, v in r.items():
        print(f"{k:32} {v:.4f}" if isinstance(v, float) else f"{k:32} {v}")
    if args.show:
        for m in sorted(matches, key=lambda m: m.disagree_share)[:30]:
            tag = "TRUE " if frozenset({str(m.a), str(m.b)}) in truth else "     "
            print(f"{tag}{m.disagree_share:.3f} {m.disagreeing:3}/{m.tiles:3} d={m.hash_distance} {m.reason:16} {m.a} ~ {m.b}")


if __name__ == "__main__":
    main()
