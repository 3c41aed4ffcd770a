"""Checks across the applications of one batch: copied invoices, reused contracts, reused screenshots.

One application's result cannot see another's, so these run after every application of a batch
has been screened. Invoice and contract numbers are compared exactly (after whitespace/dash
normalisation). Screenshots are compared as images in two stages:

1. a 64-bit DCT perceptual hash, taken also of the image with 4 % trimmed off each subset of its
   sides (a cropped copy hashes like the original trimmed alike), finds *candidates* only:
   cloud-console screenshots share templates, so innocent siblings (same console, another
   customer, other data) hash as close as a genuinely reused image (0–2 bits);
2. each candidate pair is *confirmed*: ORB features + a partial-affine RANSAC fit (scale, shift —
   what a crop and a rescale do) align the two, ECC refines that to a fraction of a pixel, the
   sharper image is brought down to the coarser one's resolution, and both are compared tile by
   tile (:func:`tile_disagreement`). Template chrome agrees between innocent siblings, but the
   ids, figures, dates and the account name do not, so the test is "almost no textured tile
   disagrees" (≤ 0.5 %), not "most tiles agree". The account names (``fields.account_name``,
   read from each screenshot) decide too: clearly different names reject the pair (a static
   page of two customers may differ in little else), equal names relax the tile test (≤ 0.8 %).

Same-bytes screenshots (equal sha256) are reused trivially. Duplicates *within* one application
are the judge's business (:mod:`pipeline.judge`); this module only pairs different applications.
"""

from __future__ import annotations

import itertools
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from difflib import SequenceMatcher
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from pipeline.flags import make_flag
from pipeline.ingest import DocumentBytes
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
    hash_trim: float = 0.04  # share cut off sides for the crop-tolerant hash variants
    hash_candidate_distance: int = 8  # of 64 bits; planted copies ≤ 4 in the bench, siblings 0–2
    feature_side: int = 800  # features are found at this size (speed), then refined
    orb_features: int = 1000
    min_inliers: int = 25
    max_scale_change: float = 2.5
    refine_scale: float = 0.35  # ECC runs at this share of the common frame's size
    refine_iterations: int = 25
    blur_sigma: float = 1.0
    tile: int = 32
    textured_std: float = 12.0  # grey levels (after blur) for a tile to carry content
    one_sided_ratio: float = 0.5  # contrast on the weaker side below this share of the other: one-sided
    agree_ncc: float = 0.85
    window: int = 4  # px; the residual test looks at windows of this size inside each tile
    max_window_residual: float = 1.3  # copies ≤ 1.16, a changed glyph 1.35–3 (tile-contrast units)
    min_overlap: float = 0.5
    min_tiles: int = 12
    max_disagree_share: float = 0.005  # image alone; see bench/crosscheck.py for the margins
    max_disagree_share_same_account: float = 0.008  # when both show the same account name


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
    """One screenshot of the batch. Pixels are loaded on demand (a batch does not fit in memory)."""

    ref: DocRef
    sha256: str
    account: str | None
    source: tuple[Path, str] | None = None
    """(application folder or zip, file name in the result): where the pixels are re-read from."""
    max_side: int = 1280
    hashes: np.ndarray | None = None  # phash_variants
    _features: tuple | None = field(default=None, repr=False)

    @property
    def gray(self) -> np.ndarray | None:
        return _cached_gray(self.source, self.max_side) if self.source else None

    def features(self, params: ScreenParams) -> tuple:
        """ORB keypoints (in full-resolution pixels) and descriptors, found at reduced size."""
        if self._features is None:
            gray = self.gray
            assert gray is not None
            f = min(1.0, params.feature_side / max(gray.shape))
            small = cv2.resize(gray, None, fx=f, fy=f, interpolation=cv2.INTER_AREA) if f < 1 else gray
            orb = cv2.ORB_create(nfeatures=params.orb_features, fastThreshold=10)
            kps, desc = orb.detectAndCompute(small, None)
            self._features = (np.float32([k.pt for k in kps]).reshape(-1, 2) / f, desc)
        return self._features


_DOCUMENTS = DocumentBytes(keep=8)
"""Screenshots are re-read from their folders and zips (a few zips' members kept in memory)."""


@lru_cache(maxsize=64)
def _cached_gray(source: tuple[Path, str], max_side: int) -> np.ndarray | None:
    data = _DOCUMENTS.get(*source)
    return decode_gray(data, max_side) if data else None


def load_gray(path: Path, max_side: int = 1280) -> np.ndarray | None:
    """The image file as 8-bit grey, longest side at most ``max_side``; None if it cannot be read."""
    try:
        return decode_gray(Path(path).read_bytes(), max_side)
    except OSError:
        return None


def decode_gray(data: bytes, max_side: int = 1280) -> np.ndarray | None:
    """Image bytes as 8-bit grey, longest side at most ``max_side``; None if they do not decode."""
    buf = np.frombuffer(data, dtype=np.uint8)
    img = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE) if buf.size else None
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


def phash_variants(gray: np.ndarray, trim: float) -> np.ndarray:
    """Hashes of the image with ``trim`` cut off each subset of its four sides (16; the first is uncut).

    A copy cropped by a few per cent hashes like the original trimmed the same way, so the
    smallest distance between one image's variants and the other's full hash survives crops
    that move a full-image hash by 15+ bits.
    """
    f = min(1.0, 256 / max(gray.shape))  # the hash only sees a 32×32 thumbnail anyway
    if f < 1:
        gray = cv2.resize(gray, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
    h, w = gray.shape
    dx, dy = round(w * trim), round(h * trim)
    out = []
    for k in range(16):
        left, top, right, bottom = (dx if k & 1 else 0), (dy if k & 2 else 0), (dx if k & 4 else 0), (dy if k & 8 else 0)
        out.append(phash(gray[top:h - bottom, left:w - right]))
    return np.array(out, dtype=np.uint64)


def hash_distance(a: np.ndarray, b: np.ndarray) -> int:
    """Smallest distance between one side's full hash and the other's variants."""
    return int(min(np.bitwise_count(a ^ b[0]).min(), np.bitwise_count(b ^ a[0]).min()))


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
            if Path(doc.file).suffix.lower() in IMAGE_SUFFIXES:
                data = _DOCUMENTS.get(Path(folder), doc.file)
                gray = decode_gray(data, params.max_side) if data else None
                if gray is not None:
                    shot.source, shot.max_side = (Path(folder), doc.file), params.max_side
                    shot.hashes = phash_variants(gray, params.hash_trim)
            shots.append(shot)
    return shots


def screenshot_matches(apps: Sequence[App], params: ScreenParams | None = None) -> list[ScreenMatch]:
    """Every cross-application candidate pair of screenshots with its decision."""
    params = params or ScreenParams()
    shots = _shots(apps, params)
    out = []
    # The same two images (same bytes, same account names) compare the same way wherever they
    # appear: a batch holding copies of one application would otherwise align them once per copy.
    decided: dict[tuple, ScreenMatch] = {}
    for i, j, d in _candidates(shots, params.hash_candidate_distance):
        a, b = (shots[i], shots[j]) if shots[i].ref <= shots[j].ref else (shots[j], shots[i])
        if d == 0 and a.sha256 and a.sha256 == b.sha256:
            out.append(ScreenMatch(a.ref, b.ref, True, "sha256", hash_distance=0, overlap=1.0,
                                   bbox_a=(0, 0, 1, 1), bbox_b=(0, 0, 1, 1)))
            continue
        key = (a.sha256, b.sha256, a.account, b.account) if a.sha256 and b.sha256 else None
        if key is not None and key in decided:
            out.append(replace(decided[key], a=a.ref, b=b.ref))
            continue
        match = compare_shots(a, b, params, d)
        if key is not None:
            decided[key] = match
        out.append(match)
    _cached_gray.cache_clear()
    _DOCUMENTS.clear()
    return out


def _candidates(shots: list[_Shot], max_distance: int) -> list[tuple[int, int, int]]:
    """(i, j, hash distance) of screenshot pairs from different applications worth comparing.

    Equal sha256 always qualifies (distance 0, even without decodable pixels); otherwise the
    crop-tolerant hash distance must be within ``max_distance``. Vectorised: a batch of thousands
    of screenshots has millions of pairs.
    """
    out: list[tuple[int, int, int]] = []
    apps = [s.ref.app for s in shots]
    by_sha: dict[str, list[int]] = defaultdict(list)
    for k, s in enumerate(shots):
        if s.sha256:
            by_sha[s.sha256].append(k)
    same_bytes = {(i, j) for ks in by_sha.values() for i, j in itertools.combinations(ks, 2) if apps[i] != apps[j]}
    out.extend((i, j, 0) for i, j in sorted(same_bytes))
    idx = [k for k, s in enumerate(shots) if s.hashes is not None]
    if len(idx) < 2:
        return out
    h = np.stack([shots[k].hashes for k in idx])  # (n, 16)
    app_arr = np.array([apps[k] for k in idx])
    for p in range(len(idx) - 1):
        rest = h[p + 1:]
        d = np.minimum(np.bitwise_count(rest ^ h[p, 0]).min(axis=1), np.bitwise_count(h[p] ^ rest[:, :1]).min(axis=1))
        for q in np.nonzero((d <= max_distance) & (app_arr[p + 1:] != app_arr[p]))[0]:
            i, j = idx[p], idx[p + 1 + int(q)]
            if (i, j) not in same_bytes:
                out.append((i, j, int(d[q])))
    return out


def compare_shots(a: _Shot, b: _Shot, params: ScreenParams, hash_distance: int | None = None) -> ScreenMatch:
    """Align ``b`` onto ``a`` and count the textured tiles whose content differs."""
    def rejected(reason: str, **kw) -> ScreenMatch:
        return ScreenMatch(a.ref, b.ref, False, reason, hash_distance=hash_distance, **kw)

    ga, gb = a.gray, b.gray
    if ga is None or gb is None:
        return rejected("unreadable")
    m = align(a, b, params)
    if m is None:
        return rejected("no alignment")
    bbox_a, bbox_b, overlap = _overlap(m, ga.shape, gb.shape)
    if overlap < params.min_overlap:
        return rejected("small overlap", overlap=overlap)
    frame, other, valid = to_common_frame(ga, gb, m)
    other, valid = refine(frame, other, valid, params)
    tiles, disagreeing = tile_disagreement(frame, other, valid, params)
    kw = dict(tiles=tiles, disagreeing=disagreeing, overlap=overlap, bbox_a=bbox_a, bbox_b=bbox_b)
    if tiles < params.min_tiles:
        return rejected("too little content", **kw)
    share = disagreeing / tiles
    accounts = same_account(a.account, b.account)
    if accounts is False:
        # Two customers' screenshots of a static console page can differ in little but the
        # account name, and a downscaled copy loses the glyph detail that tells them apart;
        # the names read from each screenshot settle it.
        return rejected("account names differ", **kw)
    if share <= params.max_disagree_share:
        return ScreenMatch(a.ref, b.ref, True, "image", hash_distance=hash_distance, **kw)
    if accounts and share <= params.max_disagree_share_same_account:
        return ScreenMatch(a.ref, b.ref, True, "image+account", hash_distance=hash_distance, **kw)
    return rejected("content differs", **kw)


def to_common_frame(ga: np.ndarray, gb: np.ndarray, m: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(frame, other warped onto it, mask of where the other has pixels) at the lower resolution.

    Comparing at the coarser of the two resolutions keeps the sharper image from disagreeing
    merely by detail the other never had; the sharper one is area-averaged down first.
    """
    s = float(np.hypot(m[0, 0], m[1, 0]))  # one pixel of b spans s pixels of a
    if s > 1:  # b is the coarser: bring a onto b
        inv = cv2.invertAffineTransform(m)
        src = cv2.resize(ga, None, fx=1 / s, fy=1 / s, interpolation=cv2.INTER_AREA)
        warp = np.hstack([inv[:, :2] * s, inv[:, 2:]])
        frame = gb
    else:
        src = cv2.resize(gb, None, fx=s, fy=s, interpolation=cv2.INTER_AREA) if s < 1 else gb
        warp = np.hstack([m[:, :2] / s, m[:, 2:]])
        frame = ga
    size = (frame.shape[1], frame.shape[0])
    other = cv2.warpAffine(src, warp, size, flags=cv2.INTER_LINEAR)
    valid = cv2.warpAffine(np.full(src.shape, 255, np.uint8), warp, size, flags=cv2.INTER_NEAREST)
    return frame, other, cv2.erode(valid, np.ones((9, 9), np.uint8))


def refine(frame: np.ndarray, other: np.ndarray, valid: np.ndarray, params: ScreenParams) -> tuple[np.ndarray, np.ndarray]:
    """Sub-pixel alignment (ECC, affine) of ``other`` to ``frame`` over their common box.

    ORB keypoints found at reduced size leave a few tenths of a pixel of error, enough to push
    thin-stroke text tiles under the agreement threshold; ECC removes it. On failure the coarse
    alignment stands.
    """
    bx, by, bw, bh = cv2.boundingRect(valid)
    if bw < 16 or bh < 16:
        return other, valid
    x0, y0, x1, y1 = bx, by, bx + bw, by + bh
    f = params.refine_scale
    fc = cv2.resize(frame[y0:y1, x0:x1], None, fx=f, fy=f, interpolation=cv2.INTER_AREA).astype(np.float32)
    oc = cv2.resize(other[y0:y1, x0:x1], None, fx=f, fy=f, interpolation=cv2.INTER_AREA).astype(np.float32)
    w = np.eye(2, 3, dtype=np.float32)
    criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, params.refine_iterations, 1e-5)
    try:
        _, w = cv2.findTransformECC(fc, oc, w, cv2.MOTION_AFFINE, criteria, None, 3)
    except cv2.error:
        return other, valid
    if np.abs(w[:, :2] - np.eye(2)).max() > 0.02 or np.abs(w[:, 2]).max() > 3 * f:  # not a refinement
        return other, valid
    w[:, 2] /= f
    o = np.float32([x0, y0])
    w[:, 2] += o - w[:, :2] @ o  # from box coordinates back to the frame's
    size = (frame.shape[1], frame.shape[0])
    flags = cv2.WARP_INVERSE_MAP
    other = cv2.warpAffine(other, w, size, flags=cv2.INTER_LINEAR | flags)
    valid = cv2.warpAffine(valid, w, size, flags=cv2.INTER_NEAREST | flags)
    return other, cv2.erode(valid, np.ones((3, 3), np.uint8))


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
    m, inliers = cv2.estimateAffinePartial2D(src, dst, method=cv2.RANSAC, ransacReprojThreshold=4.0,
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

    Each tile is standardised on both sides (its mean and contrast removed, which absorbs a
    brightness/contrast change); it disagrees when its content is on one side only, when the
    two correlate poorly, or when the standardised difference is large in any small window of
    it. The window test is what sees a single changed digit or character: a 32 px tile holding
    a different date still correlates at 0.9+, but the window around the changed glyph has a
    residual of 1.4–3 (in units of the tile's contrast) against ≤ 1 for a re-compressed,
    rescaled copy. Tiles are taken on two grids (the second offset by half a tile) so content
    cut by a tile edge is also seen whole; per-tile and per-window sums come from area resizes.
    """
    t, win = params.tile, params.window
    fa = cv2.GaussianBlur(ga.astype(np.float32), (0, 0), params.blur_sigma)
    fb = cv2.GaussianBlur(gb.astype(np.float32), (0, 0), params.blur_sigma)
    fm = mask.astype(np.float32)
    total = bad = 0
    for off in (0, t // 2):
        ry, rx = (ga.shape[0] - off) // t, (ga.shape[1] - off) // t
        if ry < 1 or rx < 1:
            continue
        a = fa[off:off + ry * t, off:off + rx * t]
        b = fb[off:off + ry * t, off:off + rx * t]

        def tile_mean(img: np.ndarray) -> np.ndarray:
            return cv2.resize(img, (rx, ry), interpolation=cv2.INTER_AREA)

        def per_pixel(v: np.ndarray) -> np.ndarray:
            return np.repeat(np.repeat(v, t, axis=0), t, axis=1)

        ma, mb = tile_mean(a), tile_mean(b)
        sa = np.sqrt(np.maximum(tile_mean(a * a) - ma * ma, 0))
        sb = np.sqrt(np.maximum(tile_mean(b * b) - mb * mb, 0))
        ncc = (tile_mean(a * b) - ma * mb) / np.maximum(sa * sb, 1e-6)
        inside = tile_mean(fm[off:off + ry * t, off:off + rx * t]) >= 254.5
        hi, lo = np.maximum(sa, sb), np.minimum(sa, sb)
        # faint tiles (light borders, grey hints) are left out: a brightness change can clip them away
        textured = inside & (hi > params.textured_std)
        diff = (b - per_pixel(mb)) / per_pixel(np.maximum(sb, 1e-3)) - (a - per_pixel(ma)) / per_pixel(np.maximum(sa, 1e-3))
        k = t // win
        window = cv2.resize(diff * diff, (rx * k, ry * k), interpolation=cv2.INTER_AREA)
        worst = np.sqrt(window.reshape(ry, k, rx, k).max(axis=(1, 3)))
        agree = (lo >= params.one_sided_ratio * hi) & (ncc >= params.agree_ncc) & (worst <= params.max_window_residual)
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
