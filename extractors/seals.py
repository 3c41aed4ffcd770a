"""Red seals (印章) on page images: find them, read their text, tell whose they are.

**Finding** is colour + shape, no learned model. Red ink is isolated in HSV after a white balance
(a photo's colour cast neither hides ink nor paints the paper red), with hysteresis so a faded
ring stays whole; long straight red runs (table borders, rules) are removed; each blob's outer
rim is fitted with an ellipse. A seal is a blob whose rim *is* an ellipse (small residual,
moderate axis ratio) with a continuous thin border, ink inside, not too much ink overall (filled
logos) and no solid thick ring (a red "O"). A blob that is not one ellipse — a seal merged with a
red title, or two overlapping seals — is searched for ellipses along runs of its outline (RANSAC);
a hypothesis is fitted to one run or to two (an invoice's supervision stamp printed over the title
keeps only its top and bottom arcs on the outline, its sides lost in the title's strokes).

**Reading** works on a red-only image of the seal: chroma says where the ink is, luminance gives
the stroke detail (JPEG keeps colour at half resolution), black print under the seal drops out,
straight red lines crossing it are erased. The ring band is unwrapped along the fitted ellipse
into a straight strip (uniform in arc length, outer edge up, clockwise = left to right), starting
in the gap between the curved text's ends, and OCR'd; the straight inner lines (合同专用章, an
oval seal's tax id and 发票专用章) are OCR'd from the seal turned so its curved text is on top,
with ring and curved glyphs blanked.

**Matching** compares the holder's name (seal kind and legal form cut off, OCR-tolerantly) with
each party's names, mostly on the distinctive part (place names set aside), with rapidfuzz.

All tunable numbers and the term lists live in ``data/seals.yaml``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, Mapping, Sequence

import cv2
import numpy as np
import yaml
from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein

from extractors.ocr.base import OcrEngine, OcrLine

__all__ = [
    "SEAL_DETECTOR_VERSION",
    "Ellipse",
    "SealCandidate",
    "SealReading",
    "SealFinding",
    "SealParams",
    "find_seals",
    "detect_seals",
    "read_seal",
    "match_seal_party",
    "split_seal_text",
    "red_mask",
    "ink_map",
    "load_params",
]

SealShape = Literal["round", "oval"]
SEAL_DETECTOR_VERSION = "2"
"""Bump when what the detector finds changes: it is part of the seal cache key (pipeline/sealing.py)."""
_DATA_FILE = Path(__file__).with_name("data") / "seals.yaml"
_TAU = 2.0 * math.pi


# --------------------------------------------------------------------------- parameters


@dataclass(frozen=True)
class SealParams:
    """Everything tunable, from ``data/seals.yaml`` (see the comments there)."""

    hue_ranges: tuple[tuple[int, int], ...]
    sat_min: int
    sat_weak: int
    val_min: int
    wb_percentile: float
    wb_gain_max: float
    work_max_side: int
    line_min_frac: float
    close_frac: float
    diam_min_frac: float
    diam_max_frac: float
    diam_min_px: int
    axis_ratio_max: float
    oval_ratio_min: float
    residual_max: float
    ring_band: tuple[float, float]
    ring_coverage_min: float
    fill_max: float
    inner_ink_min: float
    thick_band: tuple[float, float]
    thick_max: float
    ransac_iterations: int
    ransac_tolerance: float
    ransac_min_support: float
    ransac_max_seals: int
    ring_continuity_min: float
    min_confidence: float
    target_radius_px: float
    max_upscale: float
    arc_band: tuple[float, float]
    arc_probe_band: tuple[float, float]
    inner_radius: float
    curved_reach: float
    min_line_confidence: float
    min_arc_confidence: float
    paper_red_ratio: tuple[float, float]
    suffixes: tuple[str, ...]
    legal_forms: tuple[str, ...]
    region_prefixes: tuple[str, ...]
    match_threshold: float
    match_margin: float
    match_relaxed_threshold: float
    match_relaxed_margin: float
    partial_min_len: int
    place_weight: float


def _params_from(raw: Mapping[str, Any]) -> SealParams:
    d, r, m = raw["detect"], raw["read"], raw["match"]
    return SealParams(
        hue_ranges=tuple((int(a), int(b)) for a, b in d["hue_ranges"]),
        sat_min=int(d["sat_min"]),
        sat_weak=int(d["sat_weak"]),
        val_min=int(d["val_min"]),
        wb_percentile=float(d["wb_percentile"]),
        wb_gain_max=float(d["wb_gain_max"]),
        work_max_side=int(d["work_max_side"]),
        line_min_frac=float(d["line_min_frac"]),
        close_frac=float(d["close_frac"]),
        diam_min_frac=float(d["diam_min_frac"]),
        diam_max_frac=float(d["diam_max_frac"]),
        diam_min_px=int(d["diam_min_px"]),
        axis_ratio_max=float(d["axis_ratio_max"]),
        oval_ratio_min=float(d["oval_ratio_min"]),
        residual_max=float(d["residual_max"]),
        ring_band=(float(d["ring_band"][0]), float(d["ring_band"][1])),
        ring_coverage_min=float(d["ring_coverage_min"]),
        fill_max=float(d["fill_max"]),
        inner_ink_min=float(d["inner_ink_min"]),
        thick_band=(float(d["thick_band"][0]), float(d["thick_band"][1])),
        thick_max=float(d["thick_max"]),
        ransac_iterations=int(d["ransac_iterations"]),
        ransac_tolerance=float(d["ransac_tolerance"]),
        ransac_min_support=float(d["ransac_min_support"]),
        ransac_max_seals=int(d["ransac_max_seals"]),
        ring_continuity_min=float(d["ring_continuity_min"]),
        min_confidence=float(d["min_confidence"]),
        target_radius_px=float(r["target_radius_px"]),
        max_upscale=float(r["max_upscale"]),
        arc_band=(float(r["arc_band"][0]), float(r["arc_band"][1])),
        arc_probe_band=(float(r["arc_probe_band"][0]), float(r["arc_probe_band"][1])),
        inner_radius=float(r["inner_radius"]),
        curved_reach=float(r["curved_reach"]),
        min_line_confidence=float(r["min_line_confidence"]),
        min_arc_confidence=float(r["min_arc_confidence"]),
        paper_red_ratio=(float(r["paper_red_ratio"][0]), float(r["paper_red_ratio"][1])),
        suffixes=tuple(sorted((str(s) for s in raw["suffixes"]), key=len, reverse=True)),
        legal_forms=tuple(sorted((str(s) for s in raw["legal_forms"]), key=len, reverse=True)),
        region_prefixes=tuple(sorted((str(s) for s in raw.get("region_prefixes", ())), key=len, reverse=True)),
        match_threshold=float(m["threshold"]),
        match_margin=float(m["margin"]),
        match_relaxed_threshold=float(m["relaxed_threshold"]),
        match_relaxed_margin=float(m["relaxed_margin"]),
        partial_min_len=int(m["partial_min_len"]),
        place_weight=float(m["place_weight"]),
    )


@lru_cache(maxsize=1)
def load_params() -> SealParams:
    """The parameters in ``extractors/data/seals.yaml`` (read once)."""
    with _DATA_FILE.open(encoding="utf-8") as fh:
        return _params_from(yaml.safe_load(fh))


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Ellipse:
    """A fitted seal outline in pixels of the image it was found in.

    ``a`` is the semi-axis along direction ``angle`` (degrees, clockwise from +x as the image is
    displayed, y pointing down), ``b`` the perpendicular one; ``a >= b``.
    """

    cx: float
    cy: float
    a: float
    b: float
    angle: float

    def scaled(self, f: float) -> Ellipse:
        return Ellipse(self.cx * f, self.cy * f, self.a * f, self.b * f, self.angle)

    def point(self, s: np.ndarray | float, t: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
        """Image point at normalised radius ``s`` and ellipse-frame angle ``t`` (radians);
        ``t`` increases clockwise on screen."""
        ca, sa = math.cos(math.radians(self.angle)), math.sin(math.radians(self.angle))
        u = self.a * np.cos(t) * s
        v = self.b * np.sin(t) * s
        return self.cx + u * ca - v * sa, self.cy + u * sa + v * ca

    def normalised(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(s, t) of image points: normalised radius (1 on the outline) and ellipse-frame angle."""
        ca, sa = math.cos(math.radians(self.angle)), math.sin(math.radians(self.angle))
        dx, dy = x - self.cx, y - self.cy
        u = (dx * ca + dy * sa) / self.a
        v = (-dx * sa + dy * ca) / self.b
        return np.hypot(u, v), np.arctan2(v, u)

    def half_extent(self) -> tuple[float, float]:
        """Half width and half height of the axis-aligned box around the ellipse."""
        ca, sa = math.cos(math.radians(self.angle)), math.sin(math.radians(self.angle))
        return (math.hypot(self.a * ca, self.b * sa), math.hypot(self.a * sa, self.b * ca))


@dataclass(frozen=True)
class SealFinding:
    """One seal found on a page image.

    ``bbox`` is ``[x0, y0, x1, y1]`` as fractions of the image (origin top-left), like every box
    in :mod:`pipeline.model`; ``center`` and ``axes`` (semi-axes, major first) are in pixels of
    the image passed in; ``angle`` is the major axis' direction in degrees. ``confidence`` is the
    *detection* confidence (how seal-like the shape is); ``text_confidence`` the OCR's, ``None``
    when the text was not read. ``text`` is the seal's text as a person reads it: curved name
    first, then the straight line(s) such as 合同专用章/发票专用章, without the tax id, which is
    in ``tax_id``.
    """

    text: str | None
    bbox: tuple[float, float, float, float]
    shape: SealShape
    confidence: float
    center: tuple[float, float]
    axes: tuple[float, float]
    angle: float = 0.0
    arc_text: str | None = None
    inner_text: str | None = None
    tax_id: str | None = None
    text_confidence: float | None = None
    party: str = "unknown"
    party_score: float = 0.0

    def to_seal(self, page: int) -> Any:
        """As the result contract's :class:`pipeline.model.Seal` on page ``page``."""
        from pipeline.model import Seal, clamp_bbox

        party = self.party if self.party in {"applicant", "provider", "seller", "buyer"} else "unknown"
        return Seal(text=self.text, party=party, page=page, bbox=clamp_bbox(list(self.bbox)),
                    confidence=round(min(max(self.confidence, 0.0), 1.0), 4))


@dataclass(frozen=True)
class SealCandidate:
    """A seal outline found by :func:`detect_seals` (before any reading)."""

    ellipse: Ellipse  # in full-image pixels
    confidence: float
    coverage: float
    residual: float
    fill: float


# --------------------------------------------------------------------------- colour


def white_balance(image: np.ndarray, params: SealParams | None = None) -> np.ndarray:
    """Scale each channel so that the paper (a high percentile) becomes white."""
    p = params or load_params()
    img = image if image.ndim == 3 else cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    sample = img[:: max(1, img.shape[0] // 400), :: max(1, img.shape[1] // 400)].reshape(-1, 3)
    ref = np.percentile(sample, p.wb_percentile, axis=0).astype(np.float32)
    gains = np.clip(255.0 / np.maximum(ref, 1.0), 1.0 / p.wb_gain_max, p.wb_gain_max)
    if np.allclose(gains, 1.0, atol=0.02):
        return img
    return cv2.convertScaleAbs(img.astype(np.float32) * gains[None, None, :])


def _hue_weight(h: np.ndarray, p: SealParams) -> np.ndarray:
    """1 inside the red hue ranges, falling linearly to 0 over 6 hue steps outside."""
    w = np.zeros(h.shape, np.float32)
    hf = h.astype(np.float32)
    for lo, hi in p.hue_ranges:
        inside = np.clip(np.minimum(hf - lo, hi - hf) / 6.0 + 1.0, 0.0, 1.0)
        w = np.maximum(w, inside)
    return w


def red_mask(image: np.ndarray, params: SealParams | None = None) -> np.ndarray:
    """Binary mask (uint8 0/255) of red-ink pixels of a BGR image, after white balance.

    Hysteresis: pixels down to ``sat_weak`` count when they touch clearly red ones
    (``sat_min``), so a faded ring stays whole without admitting every pinkish speck.
    """
    p = params or load_params()
    hsv = cv2.cvtColor(white_balance(image, p), cv2.COLOR_BGR2HSV)
    h, s, v = hsv[..., 0], hsv[..., 1], hsv[..., 2]
    hue_ok = np.zeros(h.shape, bool)
    for lo, hi in p.hue_ranges:
        hue_ok |= (h >= lo) & (h <= hi)
    base = hue_ok & (v >= p.val_min)
    strong = (base & (s >= p.sat_min)).astype(np.uint8)
    if p.sat_weak >= p.sat_min:
        return strong * 255
    weak = (base & (s >= p.sat_weak)).astype(np.uint8)
    n, labels = cv2.connectedComponents(weak, connectivity=8)
    if n <= 1:
        return strong * 255
    keep = np.zeros(n, bool)
    keep[np.unique(labels[strong > 0])] = True
    keep[0] = False
    return (keep[labels].astype(np.uint8)) * 255


def ink_map(image: np.ndarray, params: SealParams | None = None, *, paper_kernel: int = 0) -> np.ndarray:
    """Red-ink strength 0..1 per pixel: paper and black/grey print → 0, saturated red → 1, faded
    ink in between.

    Without ``paper_kernel`` this is chroma only (saturation × red hue × not-too-dark). With it
    (a length well above a stroke's width, in pixels) it is built for reading:

    * red ink leaves the red channel nearly as bright as the paper, black print darkens it, so
      chroma is only trusted where the red channel is close to the local paper (a max filter) —
      or where the pixel is dark but still clearly red (ink stamped *over* black print);
    * JPEG keeps colour at half resolution, so thin strokes lose their chroma but keep their
      darkness: the result is luminance darkness (detail) inside the slightly blurred red area.
    """
    p = params or load_params()
    balanced = white_balance(image, p)
    hsv = cv2.cvtColor(balanced, cv2.COLOR_BGR2HSV)
    h, s, v = hsv[..., 0], hsv[..., 1].astype(np.float32), hsv[..., 2].astype(np.float32)
    lo = p.sat_min * 0.5
    strength = np.clip((s - lo) / (150.0 - lo), 0.0, 1.0)
    dark = np.clip((v - p.val_min * 0.6) / (p.val_min * 0.6), 0.0, 1.0)
    hue = _hue_weight(h, p)
    chroma = strength * hue * dark
    if paper_kernel < 3:
        return chroma
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (paper_kernel, paper_kernel))

    def paper_of(channel: np.ndarray) -> np.ndarray:
        return cv2.blur(cv2.dilate(channel, k), (paper_kernel, paper_kernel)).astype(np.float32)

    bgr = balanced.astype(np.float32)
    red = balanced[..., 2]
    rel = bgr[..., 2] / np.maximum(paper_of(red), 1.0)
    lo_r, hi_r = p.paper_red_ratio
    chroma = chroma * np.clip((rel - lo_r) / (hi_r - lo_r), 0.0, 1.0)
    other = np.maximum(bgr[..., 0], bgr[..., 1])
    redness = (bgr[..., 2] - other) / np.maximum(bgr[..., 2], 1.0)
    covered = np.clip((redness - 0.45) / 0.25, 0.0, 1.0) * (bgr[..., 2] >= 12) * (rel < hi_r)
    chroma = np.maximum(chroma, covered * hue)
    luma = cv2.cvtColor(balanced, cv2.COLOR_BGR2GRAY)
    paper_y = paper_of(luma)
    darkness = np.clip((paper_y - luma.astype(np.float32)) / (0.55 * np.maximum(paper_y, 1.0)), 0.0, 1.0)
    area = np.clip(cv2.GaussianBlur(chroma, (0, 0), 1.5) / 0.35, 0.0, 1.0)
    return darkness * area


# --------------------------------------------------------------------------- detection


def _remove_lines(mask: np.ndarray, length: int) -> np.ndarray:
    """Drop straight horizontal/vertical runs at least ``length`` long (borders, underlines)."""
    if length < 8:
        return mask
    hk = cv2.getStructuringElement(cv2.MORPH_RECT, (length, 1))
    vk = cv2.getStructuringElement(cv2.MORPH_RECT, (1, length))
    lines = cv2.morphologyEx(mask, cv2.MORPH_OPEN, hk) | cv2.morphologyEx(mask, cv2.MORPH_OPEN, vk)
    if not lines.any():
        return mask
    lines = cv2.dilate(lines, np.ones((3, 3), np.uint8))
    return cv2.bitwise_and(mask, cv2.bitwise_not(lines))


def _fit(points: np.ndarray, min_points: int = 12) -> Ellipse | None:
    if len(points) < min_points:
        return None
    try:
        (cx, cy), (w, h), ang = cv2.fitEllipseDirect(points.reshape(-1, 1, 2).astype(np.float32))
    except cv2.error:
        return None
    if not (np.isfinite([cx, cy, w, h, ang]).all()) or min(w, h) <= 2:
        return None
    if w >= h:
        return Ellipse(float(cx), float(cy), w / 2.0, h / 2.0, float(ang) % 180.0)
    return Ellipse(float(cx), float(cy), h / 2.0, w / 2.0, (float(ang) + 90.0) % 180.0)


def _polar_samples(mask: np.ndarray, ell: Ellipse, s0: float, s1: float, n_s: int,
                   n_t: int) -> np.ndarray:
    """``mask`` sampled on an (n_s × n_t) grid of normalised radius × angle (nearest)."""
    s = np.linspace(s0, s1, n_s, dtype=np.float32)[:, None]
    t = np.linspace(0, _TAU, n_t, endpoint=False, dtype=np.float32)[None, :]
    x, y = ell.point(s, t)
    return cv2.remap(mask, x.astype(np.float32), y.astype(np.float32), cv2.INTER_NEAREST,
                     borderMode=cv2.BORDER_CONSTANT, borderValue=0)


def _metrics(raw: np.ndarray, ell: Ellipse, p: SealParams) -> dict[str, float]:
    """How seal-like the red mask is around a fitted outline."""
    band = _polar_samples(raw, ell, p.ring_band[0], p.ring_band[1], 10, 72)
    coverage = float((band > 0).any(axis=0).mean())
    # the border itself: a continuous thin line just inside the outline
    border = _polar_samples(raw, ell, 0.9, 1.03, 6, 180)
    continuity = float((border > 0).any(axis=0).mean())
    h, w = raw.shape
    x0, y0 = max(int(ell.cx - ell.a - 2), 0), max(int(ell.cy - ell.a - 2), 0)
    x1, y1 = min(int(ell.cx + ell.a + 3), w), min(int(ell.cy + ell.a + 3), h)
    yy, xx = np.mgrid[y0:y1, x0:x1]
    ss, _ = ell.normalised(xx.astype(np.float64), yy.astype(np.float64))
    sub = raw[y0:y1, x0:x1] > 0
    area = math.pi * ell.a * ell.b
    fill = float(sub[ss <= 1.0].sum()) / max(area, 1.0)
    inner_area = float((ss <= 0.7).sum())
    inner = float(sub[ss <= 0.7].sum()) / max(inner_area, 1.0)
    # a seal's border is a thin line; just inside it the curved text leaves gaps. A thick red
    # "O" or a ring-shaped logo is solid there all the way round.
    ring_in = _polar_samples(raw, ell, p.thick_band[0], p.thick_band[1], 3, 180) > 0
    thick = float(ring_in.all(axis=0).mean())
    return {"coverage": coverage, "continuity": continuity, "fill": fill, "inner": inner, "thick": thick}


def _rim_fit(points: np.ndarray, ell: Ellipse) -> tuple[float, float]:
    """(mean |s − 1|, share of 10° sectors holding a point) of outline points on ``ell``."""
    s, t = ell.normalised(points[:, 0].astype(np.float64), points[:, 1].astype(np.float64))
    sectors = np.unique(((t % _TAU) / _TAU * 36).astype(int)).size / 36.0
    return float(np.mean(np.abs(s - 1.0))), sectors


def _score(raw: np.ndarray, contour: np.ndarray, p: SealParams) -> tuple[Ellipse, dict[str, float]] | None:
    """Fit the blob's rim and measure how seal-like it is (None: not even an ellipse)."""
    hull = cv2.convexHull(contour)
    pts = contour.reshape(-1, 2).astype(np.float32)
    diam = float(max(np.ptp(pts[:, 0]), np.ptp(pts[:, 1])))
    tol = max(2.0, 0.025 * diam)
    sample = pts[:: max(1, len(pts) // 600)]
    dist = np.array([cv2.pointPolygonTest(hull, (float(x), float(y)), True) for x, y in sample])
    rim = sample[dist < tol]
    ell = _fit(rim)
    if ell is None:
        return None
    residual, rim_sectors = _rim_fit(rim, ell)
    m = _metrics(raw, ell, p)
    m.update(residual=residual, rim_sectors=rim_sectors)
    return ell, m


def _confidence(m: Mapping[str, float], ratio: float, p: SealParams) -> float:
    cov = min(max((m["coverage"] - 0.5) / 0.45, 0.0), 1.0)
    res = min(max(1.0 - m["residual"] / (2.0 * p.residual_max), 0.0), 1.0)
    shape = min(max((p.axis_ratio_max + 0.25 - ratio) / 0.5, 0.0), 1.0)
    return round(0.45 * cov + 0.4 * res + 0.15 * shape, 4)


def _plausible(ell: Ellipse, dmin: float, dmax: float, p: SealParams) -> bool:
    return ell.a / ell.b <= p.axis_ratio_max and 2 * ell.b >= dmin and 2 * ell.a <= dmax


def _seal_like(m: Mapping[str, float], p: SealParams) -> bool:
    return (m["coverage"] >= p.ring_coverage_min and m["fill"] <= p.fill_max
            and m["inner"] >= p.inner_ink_min and m["thick"] <= p.thick_max)


def _candidate(raw: np.ndarray, contour: np.ndarray, dmin: float, dmax: float,
               p: SealParams) -> SealCandidate | None:
    x, y, bw, bh = cv2.boundingRect(contour)
    if max(bw, bh) < dmin or min(bw, bh) < dmin / p.axis_ratio_max:
        return None
    scored = _score(raw, contour, p) if max(bw, bh) <= dmax * 1.1 else None
    if scored is None:
        return None
    ell, m = scored
    if (not _plausible(ell, dmin, dmax, p) or m["residual"] > p.residual_max
            or m["rim_sectors"] < 0.8 or m["continuity"] < p.ring_continuity_min or not _seal_like(m, p)):
        return None
    conf = _confidence(m, ell.a / ell.b, p)
    if conf < p.min_confidence:
        return None
    return SealCandidate(ell, conf, m["coverage"], m["residual"], m["fill"])


def _ransac(raw: np.ndarray, contour: np.ndarray, dmin: float, dmax: float,
            p: SealParams) -> list[SealCandidate]:
    """Seals inside a blob that is not one ellipse: a seal merged with red text, a red line it
    crosses, or another seal it overlaps. Ellipses are fitted to runs of the blob's outline
    (a seal's rim is a long stretch of it) — or to two runs, since a seal whose sides are buried
    in a title's strokes shows only its top and bottom arcs, neither of which alone pins the
    ellipse down — and kept when many outline points lie on them, the border ring is continuous
    and the inside looks like a seal; found rims are removed and the search repeated."""
    pts = contour.reshape(-1, 2).astype(np.float32)
    if len(pts) > 1200:
        pts = pts[:: len(pts) // 1200 + 1]
    # the outline's outermost points (near the convex hull) carry the seals' rims; text and
    # lines merged with them add mostly inner, jagged outline
    hull = cv2.convexHull(contour)
    diam = float(max(np.ptp(pts[:, 0]), np.ptp(pts[:, 1])))
    near = np.array([cv2.pointPolygonTest(hull, (float(x), float(y)), True) for x, y in pts])
    rim = pts[near < max(3.0, 0.04 * diam)]
    if len(rim) >= 40:
        pts = rim
    n = len(pts)
    if n < 40:
        return []
    rng = np.random.default_rng(n)  # deterministic per blob
    free = np.ones(n, bool)
    px, py = pts[:, 0].astype(np.float64), pts[:, 1].astype(np.float64)
    step = float(np.median(np.hypot(*np.diff(pts, axis=0).T))) if n > 1 else 1.0
    out: list[SealCandidate] = []
    for _ in range(p.ransac_max_seals):
        hypotheses: list[tuple[int, Ellipse]] = []
        for it in range(p.ransac_iterations):
            if it % 2 == 0:  # one run of the outline
                win = int(n * rng.uniform(0.08, 0.4))
                start = int(rng.integers(n))
                idx = (start + np.linspace(0, win, 8).astype(int)) % n
            else:  # two runs anywhere on the outline (top and bottom arc of a half-buried seal)
                win = int(n * rng.uniform(0.05, 0.2))
                starts = rng.integers(n, size=2)
                idx = np.concatenate([(st + np.linspace(0, win, 5).astype(int)) % n for st in starts])
            if not free[idx].all():
                continue
            ell = _fit(pts[idx], min_points=6)
            if ell is None or not _plausible(ell, dmin, dmax, p):
                continue
            s, _ = ell.normalised(px, py)
            hypotheses.append((int(((np.abs(s - 1.0) < p.ransac_tolerance) & free).sum()), ell))
        hypotheses.sort(key=lambda h: -h[0])
        tried: list[Ellipse] = []
        accepted: tuple[SealCandidate, np.ndarray] | None = None
        for _, ell in hypotheses:
            if len(tried) >= 6:
                break
            if any(math.hypot(ell.cx - e.cx, ell.cy - e.cy) < 0.2 * e.b for e in tried):
                continue
            tried.append(ell)
            s, _ = ell.normalised(px, py)
            inl = (np.abs(s - 1.0) < p.ransac_tolerance) & free
            for _ in range(2):  # refine on the inliers
                refit = _fit(pts[inl]) if inl.sum() >= 12 else None
                if refit is None or not _plausible(refit, dmin, dmax, p):
                    break
                ell = refit
                s, _ = ell.normalised(px, py)
                inl = (np.abs(s - 1.0) < p.ransac_tolerance) & free
            perimeter = math.pi * (3 * (ell.a + ell.b) - math.sqrt((3 * ell.a + ell.b) * (ell.a + 3 * ell.b)))
            support = inl.sum() * step / max(perimeter, 1.0)
            if support < p.ransac_min_support or inl.sum() < 12:
                continue
            residual, sectors = _rim_fit(pts[inl], ell)
            m = _metrics(raw, ell, p)
            if sectors < 0.5 or m["continuity"] < p.ring_continuity_min or not _seal_like(m, p):
                continue
            m.update(residual=residual, rim_sectors=sectors)
            conf = _confidence(m, ell.a / ell.b, p) * 0.95
            if conf >= p.min_confidence:
                accepted = (SealCandidate(ell, conf, m["coverage"], residual, m["fill"]), inl)
                break
        if accepted is None:
            break
        out.append(accepted[0])
        free &= ~accepted[1]
        if free.sum() < 40:
            break
    return out


def detect_seals(image: np.ndarray, params: SealParams | None = None) -> list[SealCandidate]:
    """Seal outlines in a BGR page image (no OCR), most confident first."""
    p = params or load_params()
    if image is None or image.size == 0:
        return []
    h0, w0 = image.shape[:2]
    scale = min(1.0, p.work_max_side / float(max(h0, w0)))
    work = cv2.resize(image, (round(w0 * scale), round(h0 * scale)), interpolation=cv2.INTER_AREA) if scale < 1.0 else image
    raw = red_mask(work, p)
    if not raw.any():
        return []
    short = min(raw.shape[:2])
    mask = _remove_lines(raw, int(p.line_min_frac * short))
    dmin = max(p.diam_min_px * scale, p.diam_min_frac * short)
    dmax = p.diam_max_frac * short
    found: list[SealCandidate] = []
    k = max(3, int(round(p.close_frac * short)) | 1)
    # a second, coarser closing re-joins a ring that faded ink or a removed red line broke
    for size in (k, 3 * k):
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
        closed = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, kernel)
        contours, _ = cv2.findContours(closed, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
        for c in contours:
            cand = _candidate(raw, c, dmin, dmax, p)
            cands = [cand] if cand is not None else []
            if not cands and size == k and cv2.contourArea(c) >= (dmin / 2) ** 2:
                cands = _ransac(raw, c, dmin, dmax, p)
            for cand in cands:
                found.append(SealCandidate(cand.ellipse.scaled(1.0 / scale), cand.confidence,
                                        cand.coverage, cand.residual, cand.fill))
    found.sort(key=lambda c: -c.confidence)
    kept: list[SealCandidate] = []
    for cand in found:  # a blob inside an accepted seal (its star, an inner ring) is part of it
        e = cand.ellipse
        if any(k.ellipse.normalised(np.array(e.cx), np.array(e.cy))[0] < 1.0 for k in kept):
            continue
        kept.append(cand)
    return kept


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class SealReading:
    """What OCR read in one seal: the curved text and the straight lines (text, confidence)."""

    arc_text: str
    arc_conf: float
    inner_lines: tuple[tuple[str, float], ...]


def _erase_lines(ink: np.ndarray, radius: float) -> np.ndarray:
    """Remove straight red lines (table borders, underlines) crossing the seal from its ink.

    A seal has no straight stroke anywhere near as long as its radius (the ring's straightest
    stretch is about two thirds of it), so segments longer than 0.9 R are someone else's.
    """
    binary = (ink > 0.3).astype(np.uint8) * 255
    min_len = int(0.9 * radius)
    lines = cv2.HoughLinesP(binary, 1, np.pi / 360, threshold=max(20, int(0.5 * radius)),
                            minLineLength=min_len, maxLineGap=max(3, int(0.04 * radius)))
    if lines is None:
        return ink
    kill = np.zeros(binary.shape, np.uint8)
    width = max(3, int(round(0.05 * radius)))
    for x0, y0, x1, y1 in lines.reshape(-1, 4):
        cv2.line(kill, (int(x0), int(y0)), (int(x1), int(y1)), 255, width)
    out = ink.copy()
    out[kill > 0] = 0.0
    return out


def _crop(image: np.ndarray, ell: Ellipse, p: SealParams) -> tuple[np.ndarray, Ellipse]:
    """The seal upscaled to the reading size, as a red-ink darkness image (white paper)."""
    f = min(p.max_upscale, p.target_radius_px / max(ell.b, 1.0))
    half = ell.a * 1.08 * f
    size = int(math.ceil(2 * half))
    m = np.array([[f, 0, half - ell.cx * f], [0, f, half - ell.cy * f]], dtype=np.float32)
    crop = cv2.warpAffine(image, m, (size, size), flags=cv2.INTER_CUBIC,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=(255, 255, 255))
    ink = _erase_lines(ink_map(crop, p, paper_kernel=int(p.target_radius_px * 0.13) | 1), ell.b * f)
    # stretch so that this seal's own strong ink is black: faded seals read as well as fresh ones
    inked = ink[ink > 0.04]
    ref = float(np.percentile(inked, 85)) if inked.size > 50 else 0.6
    gain = 1.0 / max(ref, 0.12)
    # gamma < 1 lifts thin, faded strokes (serif seal fonts) more than the solid ring
    gray = (255.0 * (1.0 - np.clip(ink * gain, 0.0, 1.0) ** 0.6)).astype(np.uint8)
    return gray, Ellipse(half, half, ell.a * f, ell.b * f, ell.angle)


def _circular_runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """(start, length) of circular runs of True."""
    n = len(flags)
    if flags.all():
        return [(0, n)]
    if not flags.any():
        return []
    start = int(np.argmin(flags))  # a False position: runs do not wrap across it
    rolled = np.roll(flags, -start)
    runs, i = [], 0
    while i < n:
        if rolled[i]:
            j = i
            while j < n and rolled[j]:
                j += 1
            runs.append(((i + start) % n, j - i))
            i = j
        else:
            i += 1
    return runs


def _ring_inner_edge(ink: np.ndarray, ell: Ellipse, t0: float = 0.0, span: float = _TAU) -> float:
    """Normalised radius where the border ring ends inwards (over angles [t0, t0+span])."""
    s = np.linspace(0.66, 1.08, 43, dtype=np.float32)[:, None]
    t = (t0 + np.linspace(0, span, 180, endpoint=span < _TAU, dtype=np.float32))[None, :]
    x, y = ell.point(s, t)
    prof = cv2.remap(ink, x.astype(np.float32), y.astype(np.float32), cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_CONSTANT, borderValue=0).mean(axis=1)
    outer = s[:, 0] >= 0.85  # the ring is near the fitted outline, the text inside it
    k = int(np.argmax(np.where(outer, prof, -1.0)))
    peak = float(prof[k])
    if peak <= 0:
        return 0.93
    i = k
    while i > 0 and prof[i] > 0.5 * peak:
        i -= 1
    return float(s[i, 0])


def _arc_range(ink: np.ndarray, ell: Ellipse, s_ring: float, p: SealParams) -> tuple[float, float] | None:
    """(start, span) in radians of the curved text along the ellipse frame angle.

    The probe band hugs the inside of the ring, where only the curved text's upper halves are;
    the straight lines (tax id, 合同专用章) stay further in, so the largest empty stretch of the
    band is the gap between the curved text's two ends.
    """
    n = 360
    lo, hi = s_ring - p.arc_probe_band[1], s_ring - p.arc_probe_band[0]
    probe = _polar_samples(ink, ell, lo, hi, 10, n)
    prof = (probe > 0.25).mean(axis=0).astype(np.float32)
    prof = np.convolve(np.concatenate([prof[-4:], prof, prof[:4]]), np.ones(9) / 9.0, mode="valid")
    top = float(np.percentile(prof, 90))
    if top <= 1e-3:
        return None
    runs = _circular_runs(prof < 0.2 * top)
    if not runs:
        return 0.0, _TAU
    g0, glen = max(runs, key=lambda r: r[1])
    if glen < 12:  # no real gap: the text goes all round
        return math.radians(g0 + glen / 2.0), _TAU
    start = (g0 + glen) % n
    margin = 3
    return math.radians(start - margin), math.radians(n - glen + 2 * margin)


def _text_floor(ink: np.ndarray, ell: Ellipse, t0: float, span: float, s_top: float,
                s_min: float) -> float:
    """Normalised radius where the curved glyphs end inwards: the radial ink profile over the
    middle of the text's angles, followed inwards from the ring until it stays low."""
    s = np.linspace(s_top, s_min, 48, dtype=np.float32)[:, None]
    inset = 0.15 * span if span < _TAU else 0.0
    t = (t0 + inset + np.linspace(0, span - 2 * inset, 120, dtype=np.float32))[None, :]
    x, y = ell.point(s, t)
    prof = (cv2.remap(ink, x.astype(np.float32), y.astype(np.float32), cv2.INTER_LINEAR,
                      borderMode=cv2.BORDER_CONSTANT, borderValue=0) > 0.25).mean(axis=1)
    peak = float(prof.max())
    if peak <= 0:
        return s_min
    # the text is the heaviest run of inked radii; ring residue and the star are other runs
    on = prof >= 0.12 * peak
    best, best_mass, i = None, 0.0, 0
    while i < len(prof):
        if on[i]:
            j = i
            while j + 1 < len(prof) and (on[j + 1] or (j + 2 < len(prof) and on[j + 2])):
                j += 1
            mass = float(prof[i:j + 1].sum())
            if mass > best_mass:
                best, best_mass = (i, j), mass
            i = j + 1
        else:
            i += 1
    if best is None:
        return s_min
    return float(s[min(best[1] + 1, len(prof) - 1), 0])


def _keep_upper_components(strip: np.ndarray, frac: float = 0.45) -> np.ndarray:
    """Blank ink blobs that live only in the strip's lower part (ends of straight inner lines
    reaching into the band); curved glyphs reach up to the ring. Glyph parts are merged first."""
    ink = (strip < 150).astype(np.uint8)
    if not ink.any():
        return strip
    h = strip.shape[0]
    k = max(3, h // 6)
    merged = cv2.dilate(ink, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    n, labels, stats, _ = cv2.connectedComponentsWithStats(merged)
    out = strip.copy()
    limit = int(frac * h)
    w = strip.shape[1]
    ends = 0.2 * w
    for i in range(1, n):
        top = stats[i, cv2.CC_STAT_TOP] + k // 2
        x0 = stats[i, cv2.CC_STAT_LEFT]
        x1 = x0 + stats[i, cv2.CC_STAT_WIDTH]
        if top > limit and (x1 < ends or x0 > w - ends):
            out[(labels == i) & (ink > 0)] = 255
    return out


def _unwrap(gray: np.ndarray, ell: Ellipse, t0: float, span: float, s0: float, s1: float) -> np.ndarray:
    """The band s∈[s0, s1] over angles [t0, t0+span] as an upright strip: outer radius at the
    top (seal text faces outward), reading clockwise left to right, uniform in arc length."""
    s_mid = 0.5 * (s0 + s1)
    dense = np.linspace(t0, t0 + span, 2048)
    x, y = ell.point(s_mid, dense)
    seg = np.hypot(np.diff(x), np.diff(y))
    arc = np.concatenate([[0.0], np.cumsum(seg)])
    n_cols = max(16, int(arc[-1]))
    t_cols = np.interp(np.linspace(0, arc[-1], n_cols), arc, dense)
    radial = math.sqrt(ell.a * ell.b)
    n_rows = max(12, int((s1 - s0) * radial))
    s_rows = np.linspace(s1, s0, n_rows)
    mx, my = ell.point(s_rows[:, None], t_cols[None, :])
    return cv2.remap(gray, mx.astype(np.float32), my.astype(np.float32), cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_CONSTANT, borderValue=255)


def _ocr(engine: OcrEngine, gray: np.ndarray, min_conf: float) -> list[OcrLine]:
    """OCR a small grey image, padded to a near-square canvas (detectors that scale the shorter
    side up would otherwise blow a thin strip up to thousands of pixels)."""
    h, w = gray.shape[:2]
    pad_x = 24
    canvas_h = max(h + 48, int(0.6 * (w + 2 * pad_x)))
    top = (canvas_h - h) // 2
    canvas = cv2.copyMakeBorder(gray, top, canvas_h - h - top, pad_x, pad_x, cv2.BORDER_CONSTANT, value=255)
    lines = engine.recognize(cv2.cvtColor(canvas, cv2.COLOR_GRAY2BGR))
    out = []
    for ln in lines:
        text = _clean(ln.text)
        if text and ln.confidence >= min_conf:
            x0, y0, x1, y1 = ln.box
            out.append(OcrLine(text=text, box=(x0 - pad_x, y0 - top, x1 - pad_x, y1 - top),
                               confidence=ln.confidence, polygon=ln.polygon))
    return out


_NOISE = re.compile(r"[\s·•★☆*＊_\-—~～'\"`|｜。，、,.:：;；!！?？()（）\[\]【】<>《》「」]+")


def _clean(text: str) -> str:
    return _NOISE.sub("", text or "")


def _join(lines: Sequence[OcrLine]) -> tuple[str, float]:
    if not lines:
        return "", 0.0
    lines = sorted(lines, key=lambda ln: ln.box[0])
    text = "".join(ln.text for ln in lines)
    n = sum(len(ln.text) for ln in lines)
    conf = sum(ln.confidence * len(ln.text) for ln in lines) / max(n, 1)
    return text, conf


_TAIL_FRAGMENT = re.compile(r"(?<=[\u4e00-\u9fff])[0-9A-Za-z]{1,3}$")
_HEAD_FRAGMENT = re.compile(r"^[0-9A-Za-z]{1,2}(?=[\u4e00-\u9fff])")


def _trim_fragments(text: str) -> str:
    """Drop a few letters/digits glued to the ends of a Chinese name: pieces of the tax id or
    bottom line that reach into the ends of the unwrapped band (a name ends in 公司/厂 …)."""
    return _HEAD_FRAGMENT.sub("", _TAIL_FRAGMENT.sub("", text))


def _read_arc(engine: OcrEngine, gray: np.ndarray, ell: Ellipse, t0: float, span: float,
              s0: float, s_top: float, p: SealParams) -> tuple[str, float]:
    """OCR the unwrapped curved text; a weak reading is retried on bolder strokes, then upside
    down (text running counter-clockwise along the bottom), keeping the most confident."""
    strip = _keep_upper_components(_unwrap(gray, ell, t0, span, s0, s_top))
    tries = [_join(_ocr(engine, strip, p.min_arc_confidence))]
    if tries[0][1] < 0.85 or len(tries[0][0]) < 3:
        tries.append(_join(_ocr(engine, cv2.erode(strip, np.ones((3, 3), np.uint8)), p.min_arc_confidence)))
        if max(t[1] for t in tries) < 0.6:
            tries.append(_join(_ocr(engine, cv2.rotate(strip, cv2.ROTATE_180), p.min_arc_confidence)))
    readable = [t for t in tries if len(t[0]) >= 2] or tries
    return max(readable, key=lambda t: (t[1], len(t[0])))


def _inner_image(gray: np.ndarray, ell: Ellipse, s_top: float, s_floor: float, t0: float,
                 span: float, p: SealParams) -> np.ndarray:
    """The seal with its ring and curved glyphs blanked: only what lies further in stays.

    A curved glyph is an ink blob that reaches up to just inside the ring, or a piece of one
    lying wholly in the curved text's band and angles; straight lines (tax id, 合同专用章) reach
    below that band even where they pass under the curved text's ends, so they are kept whole.
    """
    h, w = gray.shape
    yy, xx = np.mgrid[0:h, 0:w]
    s, t = ell.normalised(xx.astype(np.float64), yy.astype(np.float64))
    inside = s < s_top + 0.005
    binary = ((gray < 140) & inside).astype(np.uint8)
    n, labels = cv2.connectedComponents(binary, connectivity=8)
    if n > 1:
        flat = labels.ravel()
        on = binary.ravel() > 0
        reach = np.zeros(n)
        np.maximum.at(reach, flat[on], s.ravel()[on])
        low = np.full(n, np.inf)
        np.minimum.at(low, flat[on], s.ravel()[on])
        in_span = ((t - t0) % _TAU <= span).ravel()
        outside_span = np.zeros(n)
        np.add.at(outside_span, flat[on], (~in_span[on]).astype(float))
        curved = (reach >= s_top - p.curved_reach) | ((low >= s_floor - 0.02) & (outside_span == 0))
        curved[0] = False
        blank = cv2.dilate(curved[labels].astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
        inside &= ~blank
    return np.where(inside & (s <= p.inner_radius), gray, 255).astype(np.uint8)


def _read_inner(engine: OcrEngine, gray: np.ndarray, ell: Ellipse, t0: float, span: float,
                s_top: float, s_floor: float, p: SealParams) -> list[tuple[str, float]]:
    """Straight lines inside the seal, read with the seal turned so its curved text is on top."""
    h, w = gray.shape
    masked = _inner_image(gray, ell, s_top, s_floor, t0, span, p)
    x, y = ell.point(1.0, t0 + span / 2.0)
    phi = math.degrees(math.atan2(float(y) - ell.cy, float(x) - ell.cx))
    rot = cv2.getRotationMatrix2D((ell.cx, ell.cy), phi + 90.0, 1.0)
    upright = cv2.warpAffine(masked, rot, (w, h), flags=cv2.INTER_LINEAR,
                             borderMode=cv2.BORDER_CONSTANT, borderValue=255)
    lines = _ocr(engine, upright, p.min_line_confidence)
    lines.sort(key=lambda ln: (ln.box[1] + ln.box[3]) / 2.0)
    return [(ln.text, ln.confidence) for ln in lines if len(ln.text) >= 2]


def read_seal(image: np.ndarray, ellipse: Ellipse, engine: OcrEngine,
              params: SealParams | None = None) -> SealReading | None:
    """OCR one seal's curved and straight text (``None``: no red ink to read there)."""
    p = params or load_params()
    gray, ell = _crop(image, ellipse, p)
    ink = (255 - gray).astype(np.float32) / 255.0
    s_ring = _ring_inner_edge(ink, ell)
    rng = _arc_range(ink, ell, s_ring, p)
    if rng is None:
        return None
    t0, span = rng
    s_top = min(_ring_inner_edge(ink, ell, t0, span) - 0.01, p.arc_band[1])
    s_floor = _text_floor(ink, ell, t0, span, s_top, p.arc_band[0])
    s0 = max(p.arc_band[0], s_floor - 0.03)
    arc_text, arc_conf = _read_arc(engine, gray, ell, t0, span, s0, s_top, p)
    arc_text = _trim_fragments(arc_text)
    inner = _read_inner(engine, gray, ell, t0, span, s_top, s_floor, p)
    return SealReading(arc_text, arc_conf, tuple(inner))


# --------------------------------------------------------------------------- text


_ALNUM_RUN = re.compile(r"[0-9A-Za-z]{15,}")


def _tax_id(text: str) -> str | None:
    """The taxpayer id printed in a seal (an invoice seal's middle line), as read.

    A code passing the GB 32100 check (possibly after one OCR repair) is preferred; otherwise an
    18-character run is returned as read, for the caller to compare fuzzily. OCR may glue a
    curved glyph to either end, so every 18-character window of a longer run is tried.
    """
    from extractors.uscc import parse

    fallback = None
    for m in _ALNUM_RUN.finditer(_clean(text).upper()):
        run = m.group(0)
        windows = [run[i:i + 18] for i in range(len(run) - 17)] or [run]
        for w in windows:
            code = parse(w)
            if code is not None and code.valid is not False:
                return code.code
            if fallback is None and len(w) == 18:
                fallback = w
    return fallback


def _compose(read: SealReading, p: SealParams) -> tuple[str | None, str | None, str | None, float | None]:
    """(text, inner_text, tax_id, confidence) from what OCR read."""
    tax_id = None
    inner_parts = []
    confs = [read.arc_conf] if read.arc_text else []
    for text, conf in read.inner_lines:
        tid = _tax_id(text)
        if tid is not None:
            tax_id = tax_id or tid
            continue
        if re.fullmatch(r"[0-9A-Za-z]+", text):
            continue  # a code-like line that is not a tax id (serial numbers): not part of the name
        inner_parts.append(text)
        confs.append(conf)
    inner_text = "".join(inner_parts) or None
    text = (read.arc_text or "") + (inner_text or "")
    conf = round(float(np.mean(confs)), 4) if confs else None
    return (text or None), inner_text, tax_id, conf


def _strip_ends(text: str, ends: Sequence[str], slack: Mapping[int, int] | None = None) -> tuple[str, str]:
    """Cut the longest of ``ends`` that ``text`` ends with. ``slack`` maps an ending's length to
    how many OCR edits (a misread, lost or extra character) it may carry; among equally long
    endings the closest wins. At least two characters of ``text`` are always left."""
    best: tuple[int, int, int, str] | None = None  # (-len(end), edits, -cut, end)
    top = max(slack) if slack else 0
    for end in ends:
        n = len(end)
        allowed = 0 if slack is None else slack.get(n, slack[top] if n > top else 0)
        for cut in ((n,) if allowed == 0 else (n, n - 1, n + 1)):
            if cut < 1 or len(text) - cut < 2:
                continue
            edits = Levenshtein.distance(text[-cut:], end)
            if edits <= allowed:
                key = (-n, edits, -cut, end)
                if best is None or key < best:
                    best = key
    if best is None:
        return text, ""
    return text[: best[2]], best[3]


_KIND_SLACK = {3: 0, 4: 1, 5: 2}
"""Seal kinds: 合同专用章 read as 合向专用意 is still 合同专用章 (2 of 5 misread)."""
_FORM_SLACK = {3: 0, 4: 1}
"""Legal forms: 有账公司 is 有限公司, but 技术有限公司 is not 股份有限公司 (one misread at most)."""


def split_seal_text(text: str, params: SealParams | None = None) -> tuple[str, str]:
    """``(holder name, seal kind)``: '阿里云计算有限公司合同专用章' → ('阿里云计算有限公司', '合同专用章').

    A kind misread in a character or two (``合向专用意``) is still recognised and cut off.
    """
    p = params or load_params()
    return _strip_ends(_clean(text), p.suffixes, _KIND_SLACK)


def _core(name: str, p: SealParams) -> str:
    """A company name without its shared legal-form ending (有限公司 …), also when misread."""
    core, _ = _strip_ends(_clean(name), p.legal_forms, _FORM_SLACK)
    return core


_DISTRICT = re.compile(r"^[\u4e00-\u9fff]{1,4}?[区县]")


def _distinct(core: str, p: SealParams) -> str:
    """The part of a name that tells companies apart: without leading place names
    (江苏/宿迁市/宿城区 …), which neighbours share. Never shorter than two characters."""
    s = core
    stripped_place = False
    while True:
        for region in p.region_prefixes:
            for form in (region + "省", region + "市", region):
                if s.startswith(form) and len(s) - len(form) >= 2:
                    s = s[len(form):]
                    stripped_place = True
                    break
            else:
                continue
            break
        else:
            break
    if stripped_place:
        m = _DISTRICT.match(s)
        if m and len(s) - m.end() >= 2:
            s = s[m.end():]
    return s


_USCC_LIKE = re.compile(r"^[0-9A-Z]{15,20}$")


def _similarity(a: str, b: str, p: SealParams) -> float:
    """0..100: ratio, or a partial match discounted by how much of the longer is unexplained
    (curved text loses characters at its ends and OCR may split it)."""
    if not a or not b:
        return 0.0
    score = fuzz.ratio(a, b)
    shorter = min(len(a), len(b))
    if shorter >= p.partial_min_len:
        cover = shorter / max(len(a), len(b))
        score = max(score, fuzz.partial_ratio(a, b) * (0.75 + 0.25 * cover))
    return float(score)


def _name_score(seal_core: str, alias: str, p: SealParams) -> float:
    """How alike a seal's holder and a party's name are: mostly their distinctive parts, the
    place names only breaking ties (两家 …云帆信息技术 in different cities)."""
    alias = _clean(alias)
    if not alias or _USCC_LIKE.match(alias.upper()):
        return 0.0  # tax ids are matched separately
    core = _core(alias, p)
    distinct = _similarity(_distinct(seal_core, p), _distinct(core, p), p)
    whole = float(fuzz.ratio(seal_core, core)) if seal_core and core else 0.0
    return (1.0 - p.place_weight) * distinct + p.place_weight * whole


def _tax_score(seal_text: str, alias: str) -> float:
    a = _clean(alias).upper()
    if not _USCC_LIKE.match(a):
        return 0.0
    for m in re.finditer(r"[0-9A-Z]{15,20}", _clean(seal_text).upper()):
        if fuzz.ratio(m.group(0), a) >= 90:
            return 100.0
    return 0.0


def match_seal_party(seal_text: str | None, parties: Mapping[str, Sequence[str]] | None,
                     params: SealParams | None = None, *, tax_id: str | None = None) -> tuple[str, float]:
    """Whose seal this is: ``(party, score 0..100)``, or ``('unknown', best score)``.

    ``parties`` maps a role (applicant/provider/seller/buyer …) to the names (and optionally
    tax ids) it goes by. The seal's kind (合同专用章 …) and both sides' legal-form endings are set
    aside before comparing, so two different ``…有限公司`` do not look alike. A role wins only at
    or above the threshold and by a margin over the best role holding a *different* name (or, for
    a badly read seal, at a lower threshold by a much larger margin); when
    one company holds several roles, the first listed role is returned. A party alias that is a
    tax id (15–20 letters/digits) matches the seal's ``tax_id`` or a tax id inside its text.
    """
    p = params or load_params()
    if not (seal_text or tax_id) or not parties:
        return "unknown", 0.0
    seal_text = seal_text or ""
    name, _ = split_seal_text(seal_text, p)
    seal_core = _core(name, p)
    scored: list[tuple[float, int, str, str]] = []
    for order, (role, aliases) in enumerate(parties.items()):
        best, best_alias = 0.0, ""
        for alias in aliases or ():
            if not alias:
                continue
            sc = max(_name_score(seal_core, alias, p),
                     _tax_score(seal_text + " " + (tax_id or ""), alias))
            if sc > best:
                best, best_alias = sc, _core(alias, p)
        scored.append((best, order, role, best_alias))
    if not scored:
        return "unknown", 0.0
    scored.sort(key=lambda r: (-r[0], r[1]))
    top, _, role, core = scored[0]
    rivals = [s for s, _, _, c in scored[1:] if c != core]
    lead = top - max(rivals) if rivals else top
    if top >= p.match_threshold and lead >= p.match_margin:
        return role, round(top, 1)
    # a badly read seal that still resembles one party far more than any other
    if top >= p.match_relaxed_threshold and lead >= p.match_relaxed_margin:
        return role, round(top, 1)
    return "unknown", round(top, 1)


# --------------------------------------------------------------------------- entry point


def find_seals(image_bgr: np.ndarray, *, engine: OcrEngine | None = None,
               parties: Mapping[str, Sequence[str]] | None = None,
               params: SealParams | None = None) -> list[SealFinding]:
    """Red seals on one upright page image (BGR uint8), top to bottom.

    Without ``engine`` only the outlines are found (``text`` is ``None``), which is cheap; with
    one, each seal's text is read, and with ``parties`` it is matched to a party.
    """
    p = params or load_params()
    if image_bgr is None or image_bgr.size == 0:
        return []
    img = image_bgr if image_bgr.ndim == 3 else cv2.cvtColor(image_bgr, cv2.COLOR_GRAY2BGR)
    h, w = img.shape[:2]
    out: list[SealFinding] = []
    for cand in detect_seals(img, p):
        e = cand.ellipse
        hx, hy = e.half_extent()
        bbox = (max(0.0, (e.cx - hx) / w), max(0.0, (e.cy - hy) / h),
                min(1.0, (e.cx + hx) / w), min(1.0, (e.cy + hy) / h))
        finding = SealFinding(
            text=None,
            bbox=tuple(round(v, 5) for v in bbox),  # type: ignore[arg-type]
            shape="oval" if e.a / e.b >= p.oval_ratio_min else "round",
            confidence=cand.confidence,
            center=(round(e.cx, 1), round(e.cy, 1)),
            axes=(round(e.a, 1), round(e.b, 1)),
            angle=round(e.angle, 1),
        )
        if engine is not None:
            read = read_seal(img, e, engine, p)
            if read is not None:
                text, inner, tax_id, tconf = _compose(read, p)
                finding = replace(finding, text=text, arc_text=read.arc_text or None,
                                  inner_text=inner, tax_id=tax_id, text_confidence=tconf)
        if parties and (finding.text or finding.tax_id):
            party, score = match_seal_party(finding.text, parties, p, tax_id=finding.tax_id)
            finding = replace(finding, party=party, party_score=score)
        out.append(finding)
    out.sort(key=lambda f: (f.bbox[1], f.bbox[0]))
    return out
