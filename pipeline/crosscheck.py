"""Checks across the applications of one batch: copied invoices, reused contracts, reused screenshots.

One application's result cannot see another's, so these run after every application of a batch
has been screened. Invoice and contract numbers are compared exactly (after whitespace/dash
normalisation). Screenshots are compared as images in two stages:

1. a 64-bit DCT perceptual hash finds *candidates* only: cloud-console screenshots share
   templates, so innocent siblings (same console, other customer, other data) hash as close as a
   genuinely reused image;
2. each candidate pair is *confirmed*: ORB features + a partial-affine fit (scale, shift — what
   a crop and a rescale do) align the two images, both are blurred slightly (resampling and JPEG
   move thin text strokes by a pixel) and compared tile by tile with normalised cross-correlation.
   Template chrome agrees between innocent siblings, but the data cells, ids and the account name
   do not, so the test is "almost no textured tile disagrees", not "most tiles agree".
   A matching account name (``fields.account_name``) on both sides is corroboration and relaxes
   the tile test a little.

Same-bytes screenshots (equal sha256) are reused trivially. Duplicates *within* one application
are the judge's business (:mod:`pipeline.judge`); this module only pairs different applications.
"""

from __future__ import annotations

import itertools
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from pathlib import Path

import cv2
import numpy as np

from pipeline.flags import make_flag
from pipeline.model import DocumentResult, Evidence, Flag, ScreeningResult, clamp_bbox

App = tuple[ScreeningResult, Path]

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff"}


# --------------------------------------------------------------------------- results


@dataclass(frozen=True, order=True)
class DocRef:
    """One document of one application of the batch."""

    app: str
    file: str

    def __str__(self) -> str:
        return f"{self.app}:{self.file}"


@dataclass(frozen=True)
class ReusedContract:
    """The same contract number in two applications (no result-v1 code fits; batch report only)."""

    number: str
    a: DocRef
    b: DocRef


@dataclass(frozen=True)
class ScreenMatch:
    """How two screenshots compared. ``reused`` is the decision; the rest says why."""

    a: DocRef
    b: DocRef
    reused: bool
    reason: str  # "sha256" | "image" | "image+account" | why it was rejected
    hash_distance: int | None = None
    tiles: int = 0  # textured tiles compared
    disagreeing: int = 0  # of those, tiles whose content differs
    overlap: float = 0.0  # share of a's area covered by b after alignment
    bbox_a: tuple[float, float, float, float] | None = None  # overlap in a's frame (fractions)
    bbox_b: tuple[float, float, float, float] | None = None

    @property
    def disagree_share(self) -> float:
        return self.disagreeing / self.tiles if self.tiles else 1.0


@dataclass(frozen=True)
class CrossCheckReport:
    flags: dict[str, list[Flag]]
    reused_contracts: list[ReusedContract]
    screen_matches: list[ScreenMatch]  # every candidate pair examined, reused or not


@dataclass(frozen=True)
class ScreenParams:
    """Tuning of the screenshot comparison (measured with ``bench/crosscheck.py``)."""

    max_side: int = 1280  # images are compared at most this large
    hash_candidate_distance: int = 20  # of 64 bits; generous — this only selects candidates
    feature_side: int = 800  # features are found at this size (speed), then refined
    orb_features: int = 1500
    min_inliers: int = 25
    max_scale_change: float = 2.5
    blur_sigma: float = 1.2
    tile: int = 32
    textured_std: float = 12.0  # grey levels (after blur) for a tile to carry content
    one_sided_ratio: float = 0.5  # contrast on the weaker side below this share of the other: one-sided
    agree_ncc: float = 0.7
    min_overlap: float = 0.5
    min_tiles: int = 12
    max_disagree_share: float = 0.02  # image alone
    max_disagree_share_same_account: float = 0.06  # when both show the same account name


# --------------------------------------------------------------------------- entry points


def cross_check(apps: Sequence[App], params: ScreenParams | None = None) -> dict[str, list[Flag]]:
    """application_id → the extra flags the batch raises against it (DUPLICATE_INVOICE, SCREENSHOT_REUSED).

    Reused contracts have no result-v1 code; get them from :func:`cross_check_report`.
    """
    return cross_check_report(apps, params).flags


def cross_check_report(apps: Sequence[App], params: ScreenParams | None = None) -> CrossCheckReport:
    flags: dict[str, list[Flag]] = {res.application_id: [] for res, _ in apps}
    for app_id, flag in duplicate_invoice_flags(apps):
        flags[app_id].append(flag)
    matches = screenshot_matches(apps, params or ScreenParams())
    for app_id, flag in screenshot_flags(matches):
        flags[app_id].append(flag)
    for app_id in flags:
        flags[app_id].sort(key=lambda f: (f.code, f.files, f.subject or ""))
    return CrossCheckReport(flags, reused_contracts(apps), matches)


# --------------------------------------------------------------------------- numbers

_DASHES = re.compile(r"[‐‑‒–—―－_]")


def normalise_number(value: object) -> str | None:
    """Invoice/contract numbers as compared: no whitespace, one kind of dash, upper case."""
    if not isinstance(value, str):
        return None
    s = _DASHES.sub("-", "".join(value.split())).upper()
    return s or None


def _by_number(apps: Sequence[App], kind: str, field_name: str) -> dict[str, list[tuple[DocRef, DocumentResult]]]:
    groups: dict[str, list[tuple[DocRef, DocumentResult]]] = defaultdict(list)
    for res, _ in apps:
        for doc in res.documents:
            if doc.kind != kind or doc.error:
                continue
            number = normalise_number(getattr(doc.fields, field_name, None) or (doc.fields.model_extra or {}).get(field_name))
            if number:
                groups[number].append((DocRef(res.application_id, doc.file), doc))
    return groups


def _cross_pairs(items: list[tuple[DocRef, DocumentResult]]) -> Iterable[tuple[tuple[DocRef, DocumentResult], tuple[DocRef, DocumentResult]]]:
    for x, y in itertools.combinations(sorted(items, key=lambda t: t[0]), 2):
        if x[0].app != y[0].app:
            yield x, y


def duplicate_invoice_flags(apps: Sequence[App]) -> list[tuple[str, Flag]]:
    """One DUPLICATE_INVOICE per (invoice, other application's invoice with the same number), both sides."""
    out: list[tuple[str, Flag]] = []
    for number, items in sorted(_by_number(apps, "invoice", "invoice_number").items()):
        for (ra, da), (rb, db) in _cross_pairs(items):
            for (me, mine), other in (((ra, da), rb), ((rb, db), ra)):
                ev = mine.field_evidence.get("invoice_number") or Evidence(file=me.file, text=number)
                flag = make_flag("DUPLICATE_INVOICE", files=[me.file], evidence=[ev], number=number, where=str(other))
                out.append((me.app, flag.model_copy(update={"subject": str(other)})))
    return out


def reused_contracts(apps: Sequence[App]) -> list[ReusedContract]:
    """The same contract number in two applications, each pair once."""
    return [
        ReusedContract(number, ra, rb)
        for number, items in sorted(_by_number(apps, "contract", "contract_number").items())
        for (ra, _), (rb, _) in _cross_pairs(items)
    ]


# --------------------------------------------------------------------------- screenshots


@dataclass
class _Shot:
    ref: DocRef
    sha256: str
    account: str | None
    gray: np.ndarray | None = None
    phash: int | None = None
    _features: tuple | None = field(default=None, repr=False)

    def features(self, params: ScreenParams) -> tuple:
        """ORB keypoints (in full-resolution pixels) and descriptors, found at reduced size."""
        if self._features is None:
            assert self.gray is not None
            f = min(1.0, params.feature_side / max(self.gray.shape))
            small = cv2.resize(self.gray, None, fx=f, fy=f, interpolation=cv2.INTER_AREA) if f < 1 else self.gray
            orb = cv2.ORB_create(nfeatures=params.orb_features, fastThreshold=10)
            kps, desc = orb.detectAndCompute(small, None)
            self._features = (np.float32([k.pt for k in kps]).reshape(-1, 2) / f, desc)
        return self._features


def load_gray(path: Path, max_side: int = 1280) -> np.ndarray | None:
    """The image as 8-bit grey, longest side at most ``max_side``; None if it cannot be decoded."""
    try:
        data = np.fromfile(str(path), dtype=np.uint8)
    except OSError:
        return None
    img = cv2.imdecode(data, cv2.IMREAD_GRAYSCALE) if data.size else None
    if img is None:
        return None
    scale = max_side / max(img.shape)
    if scale < 1:
        img = cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    return img


def phash(gray: np.ndarray) -> int:
    """64-bit DCT perceptual hash (8×8 low frequencies of a 32×32 thumbnail vs their median)."""
    small = cv2.resize(gray, (32, 32), interpolation=cv2.INTER_AREA).astype(np.float32)
    low = cv2.dct(small)[:8, :8].flatten()
    bits = low > np.median(low[1:])
    return int(sum(1 << i for i, b in enumerate(bits) if b))


def _hamming(a: int, b: int) -> int:
    return (a ^ b).bit_count()


def _norm_name(s: str | None) -> str | None:
    return "".join(s.split()) or None if isinstance(s, str) else None


def same_account(a: str | None, b: str | None) -> bool | None:
    """True/False when both screenshots show an account name; None when either is unknown."""
    if not a or not b:
        return None
    return a == b or SequenceMatcher(None, a, b).ratio() >= 0.85


def _shots(apps: Sequence[App], params: ScreenParams) -> list[_Shot]:
    shots = []
    for res, folder in apps:
        for doc in res.documents:
            if doc.kind != "screenshot" or doc.error:
                continue
            extra = doc.fields.model_extra or {}
            shot = _Shot(DocRef(res.application_id, doc.file), doc.sha256, _norm_name(extra.get("account_name")))
            path = Path(folder) / doc.file
            if path.suffix.lower() in IMAGE_SUFFIXES:
                shot.gray = load_gray(path, params.max_side)
                if shot.gray is not None:
                    shot.phash = phash(shot.gray)
            shots.append(shot)
    return shots


def screenshot_matches(apps: Sequence[App], params: ScreenParams | None = None) -> list[ScreenMatch]:
    """Every cross-application candidate pair of screenshots with its decision."""
    params = params or ScreenParams()
    shots = _shots(apps, params)
    out = []
    for x, y in itertools.combinations(shots, 2):
        if x.ref.app == y.ref.app:
            continue
        a, b = (x, y) if x.ref <= y.ref else (y, x)
        if a.sha256 and a.sha256 == b.sha256:
            out.append(ScreenMatch(a.ref, b.ref, True, "sha256", hash_distance=0, overlap=1.0,
                                   bbox_a=(0, 0, 1, 1), bbox_b=(0, 0, 1, 1)))
            continue
        if a.phash is None or b.phash is None:
            continue
        d = _hamming(a.phash, b.phash)
        if d > params.hash_candidate_distance:
            continue
        out.append(compare_shots(a, b, params, d))
    return out


def compare_shots(a: _Shot, b: _Shot, params: ScreenParams, hash_distance: int | None = None) -> ScreenMatch:
    """Align ``b`` onto ``a`` and count the textured tiles whose content differs."""
    def rejected(reason: str, **kw) -> ScreenMatch:
        return ScreenMatch(a.ref, b.ref, False, reason, hash_distance=hash_distance, **kw)

    assert a.gray is not None and b.gray is not None
    m = align(a, b, params)
    if m is None:
        return rejected("no alignment")
    ga, gb = a.gray, b.gray
    h, w = ga.shape
    warped = cv2.warpAffine(gb, m, (w, h), flags=cv2.INTER_LINEAR)
    bbox_a, bbox_b, overlap = _overlap(m, ga.shape, gb.shape)
    if overlap < params.min_overlap:
        return rejected("small overlap", overlap=overlap)
    margin = 4  # px: resampling smears the crop edge
    mask = np.zeros((h, w), np.uint8)
    x0, y0, x1, y1 = (int(round(v)) for v in (bbox_a[0] * w + margin, bbox_a[1] * h + margin,
                                               bbox_a[2] * w - margin, bbox_a[3] * h - margin))
    mask[y0:y1, x0:x1] = 255
    tiles, disagreeing = tile_disagreement(ga, warped, mask, params)
    kw = dict(tiles=tiles, disagreeing=disagreeing, overlap=overlap, bbox_a=bbox_a, bbox_b=bbox_b)
    if tiles < params.min_tiles:
        return rejected("too little content", **kw)
    share = disagreeing / tiles
    if share <= params.max_disagree_share:
        return ScreenMatch(a.ref, b.ref, True, "image", hash_distance=hash_distance, **kw)
    if same_account(a.account, b.account) and share <= params.max_disagree_share_same_account:
        return ScreenMatch(a.ref, b.ref, True, "image+account", hash_distance=hash_distance, **kw)
    return rejected("content differs", **kw)


def align(a: _Shot, b: _Shot, params: ScreenParams) -> np.ndarray | None:
    """2×3 partial-affine (scale, rotation, shift) mapping ``b`` onto ``a``, or None."""
    pa, da = a.features(params)
    pb, db = b.features(params)
    if da is None or db is None or len(pa) < params.min_inliers or len(pb) < params.min_inliers:
        return None
    matcher = cv2.BFMatcher(cv2.NORM_HAMMING)
    pairs = matcher.knnMatch(db, da, k=2)
    good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < 0.8 * p[1].distance]
    if len(good) < params.min_inliers:
        return None
    src = pb[[g.queryIdx for g in good]]
    dst = pa[[g.trainIdx for g in good]]
    m, inliers = cv2.estimateAffinePartial2D(src, dst, method=cv2.RANSAC, ransacReprojThreshold=2.0,
                                             maxIters=4000, confidence=0.995, refineIters=20)
    if m is None or inliers is None or int(inliers.sum()) < params.min_inliers:
        return None
    scale = float(np.hypot(m[0, 0], m[1, 0]))
    if not (1 / params.max_scale_change <= scale <= params.max_scale_change):
        return None
    if abs(np.degrees(np.arctan2(m[1, 0], m[0, 0]))) > 1:  # screenshots are not rotated
        return None
    return m


def tile_disagreement(ga: np.ndarray, gb: np.ndarray, mask: np.ndarray, params: ScreenParams) -> tuple[int, int]:
    """(textured tiles, tiles whose content differs) of two aligned images inside ``mask``.

    Tiles are taken on two grids (the second offset by half a tile) so that content cut by a tile
    edge is also seen whole. Per-tile sums come from an area resize, which is exact and fast.
    """
    t = params.tile
    fa = cv2.GaussianBlur(ga.astype(np.float32), (0, 0), params.blur_sigma)
    fb = cv2.GaussianBlur(gb.astype(np.float32), (0, 0), params.blur_sigma)
    fm = mask.astype(np.float32)
    total = bad = 0
    for off in (0, t // 2):
        ry, rx = (ga.shape[0] - off) // t, (ga.shape[1] - off) // t
        if ry < 1 or rx < 1:
            continue

        def tile_mean(img: np.ndarray) -> np.ndarray:
            crop = img[off:off + ry * t, off:off + rx * t]
            return cv2.resize(crop, (rx, ry), interpolation=cv2.INTER_AREA)

        ma, mb = tile_mean(fa), tile_mean(fb)
        va = np.maximum(tile_mean(fa * fa) - ma * ma, 0)
        vb = np.maximum(tile_mean(fb * fb) - mb * mb, 0)
        cov = tile_mean(fa * fb) - ma * mb
        inside = tile_mean(fm) >= 254.5
        sa, sb = np.sqrt(va), np.sqrt(vb)
        hi, lo = np.maximum(sa, sb), np.minimum(sa, sb)
        # faint tiles (light borders, grey hints) are left out: a brightness change can clip them away
        textured = inside & (hi > params.textured_std)
        ncc = cov / np.maximum(sa * sb, 1e-6)
        # content on one side only, or content that does not correlate, disagrees
        agree = (lo >= params.one_sided_ratio * hi) & (ncc >= params.agree_ncc)
        total += int(textured.sum())
        bad += int((textured & ~agree).sum())
    return total, bad


def _overlap(m: np.ndarray, shape_a: tuple[int, ...], shape_b: tuple[int, ...]) -> tuple[tuple, tuple, float]:
    """The common area as fractional boxes in a's and b's frames, and its share of a's area.

    ``m`` has (almost) no rotation — :func:`align` rejects more than a degree — so b's outline in
    a's frame is taken as the box of its transformed corners.
    """
    (ha, wa), (hb, wb) = shape_a[:2], shape_b[:2]
    corners = np.float32([[0, 0], [wb, hb]]).reshape(-1, 1, 2)
    (bx0, by0), (bx1, by1) = cv2.transform(corners, m).reshape(-1, 2)
    x0, y0, x1, y1 = max(0.0, bx0), max(0.0, by0), min(float(wa), bx1), min(float(ha), by1)
    if x1 <= x0 or y1 <= y0:
        return (0, 0, 0, 0), (0, 0, 0, 0), 0.0
    inv = cv2.invertAffineTransform(m)
    (cx0, cy0), (cx1, cy1) = cv2.transform(np.float32([[x0, y0], [x1, y1]]).reshape(-1, 1, 2), inv).reshape(-1, 2)
    box_a = tuple(clamp_bbox([x0 / wa, y0 / ha, x1 / wa, y1 / ha]))
    box_b = tuple(clamp_bbox([cx0 / wb, cy0 / hb, cx1 / wb, cy1 / hb]))
    return box_a, box_b, (x1 - x0) * (y1 - y0) / (wa * ha)


def screenshot_flags(matches: Iterable[ScreenMatch]) -> list[tuple[str, Flag]]:
    """SCREENSHOT_REUSED in both applications of every confirmed pair."""
    out: list[tuple[str, Flag]] = []
    for mt in matches:
        if not mt.reused:
            continue
        score = round(1 - mt.disagree_share, 3) if mt.tiles else 1.0
        for me, other, box in ((mt.a, mt.b, mt.bbox_a), (mt.b, mt.a, mt.bbox_b)):
            ev = Evidence(file=me.file, page=1, bbox=list(box) if box else None, confidence=score,
                          text=f"{mt.reason}: {mt.tiles - mt.disagreeing}/{mt.tiles} tiles agree" if mt.tiles else mt.reason)
            flag = make_flag("SCREENSHOT_REUSED", files=[me.file], evidence=[ev], where=str(other))
            out.append((me.app, flag.model_copy(update={"subject": str(other)})))
    return out
