"""Red ink seals drawn as semi-transparent RGBA images.

Seals are images (not PDF text) so that their characters never enter a PDF text layer, as
with real e-sealed or scanned documents. Drawn at ``PX_PER_MM`` and placed at physical size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from .fonts import pil_font

PX_PER_MM = 9
INK = (214, 32, 38)


@dataclass(frozen=True)
class SealSpec:
    """What a seal says: ``arc`` curves along the rim, ``middle``/``bottom`` are straight."""

    arc: str
    bottom: str = ""
    middle: str = ""  # oval invoice seals: the seller's tax id
    shape: str = "round"  # round | oval
    party: str = "unknown"  # applicant | provider | seller | buyer | unknown
    star: bool = True
    label: str = ""  # the truth text when it is not simply arc + bottom
    tax_id: str = ""  # oval invoice seals: the tax id printed in the middle
    dims: tuple[float, float] | None = None  # (w, h) mm when not the standard size

    @property
    def text(self) -> str:
        return self.label or (self.arc + self.bottom)

    @property
    def size_mm(self) -> tuple[float, float]:
        if self.dims:
            return self.dims
        return (40.0, 40.0) if self.shape == "round" else (40.0, 30.0)


def _glyph(ch: str, size_px: int) -> Image.Image:
    font = pil_font(size_px, bold=True, serif=True)
    im = Image.new("L", (int(size_px * 1.4), int(size_px * 1.4)), 0)
    d = ImageDraw.Draw(im)
    d.text((im.width / 2, im.height / 2), ch, font=font, fill=255, anchor="mm")
    return im


def _arc_text(mask: Image.Image, text: str, cx: float, cy: float, rx: float, ry: float,
              span_deg: float, size_px: int, squeeze: float = 1.0) -> None:
    """Characters along the top of an ellipse, tops facing outward, left to right."""
    n = len(text)
    if n == 0:
        return
    for i, ch in enumerate(text):
        t = math.radians(-span_deg / 2 + (span_deg * i / (n - 1) if n > 1 else span_deg / 2))
        x, y = cx + rx * math.sin(t), cy - ry * math.cos(t)
        # outward normal of the ellipse at t
        nx, ny = math.sin(t) / rx, -math.cos(t) / ry
        ang = math.degrees(math.atan2(nx, -ny))
        g = _glyph(ch, size_px)
        if squeeze != 1.0:
            g = g.resize((max(1, int(g.width * squeeze)), g.height), Image.LANCZOS)
        g = g.rotate(-ang, resample=Image.BICUBIC, expand=True)
        mask.paste(255, (int(x - g.width / 2), int(y - g.height / 2)), g)


def _star(d: ImageDraw.ImageDraw, cx: float, cy: float, r: float) -> None:
    pts = []
    for k in range(10):
        rad = r if k % 2 == 0 else r * 0.382
        a = math.radians(-90 + 36 * k)
        pts.append((cx + rad * math.cos(a), cy + rad * math.sin(a)))
    d.polygon(pts, fill=255)


def _ink(mask: Image.Image, rng: np.random.Generator, alpha: float) -> Image.Image:
    """Turn a coverage mask into uneven, semi-transparent red ink."""
    m = np.asarray(mask.filter(ImageFilter.GaussianBlur(0.8)), dtype=np.float32) / 255.0
    h, w = m.shape
    low = rng.random((max(2, h // 40), max(2, w // 40))).astype(np.float32)
    low = np.asarray(Image.fromarray((low * 255).astype(np.uint8)).resize((w, h), Image.BICUBIC),
                     dtype=np.float32) / 255.0
    # ink grain at half resolution: visible texture without bloating the compressed image
    grain = rng.random((max(1, h // 2), max(1, w // 2))).astype(np.float32)
    grain = np.asarray(Image.fromarray((grain * 255).astype(np.uint8)).resize((w, h), Image.NEAREST),
                       dtype=np.float32) / 255.0
    a = m * alpha * (0.55 + 0.45 * low) * (0.85 + 0.15 * grain)
    a = np.round(a * 32) / 32  # fewer alpha levels compress far better
    rgba = np.zeros((h, w, 4), dtype=np.uint8)
    rgba[..., 0], rgba[..., 1], rgba[..., 2] = INK
    rgba[..., 3] = np.clip(a * 255, 0, 255).astype(np.uint8)
    return Image.fromarray(rgba, "RGBA")


def render_seal(spec: SealSpec, rng: np.random.Generator, alpha: float = 0.82,
                rotate_deg: float = 0.0) -> Image.Image:
    """The seal as an RGBA image at ``PX_PER_MM`` (slightly rotated as a hand stamp is)."""
    wmm, hmm = spec.size_mm
    w, h = int(wmm * PX_PER_MM), int(hmm * PX_PER_MM)
    mask = Image.new("L", (w, h), 0)
    d = ImageDraw.Draw(mask)
    ring = int(1.1 * PX_PER_MM)
    d.ellipse((ring // 2, ring // 2, w - ring // 2 - 1, h - ring // 2 - 1), outline=255, width=ring)
    cx, cy = w / 2, h / 2
    if spec.shape == "round":
        size = int(4.6 * PX_PER_MM) if len(spec.arc) <= 13 else int(3.7 * PX_PER_MM)
        span = min(245.0, 19.0 * len(spec.arc)) if len(spec.arc) <= 13 else 240.0
        r = w / 2 - ring - size * 0.85
        _arc_text(mask, spec.arc, cx, cy, r, r, span, size, squeeze=0.85)
        if spec.star:
            _star(d, cx, cy, 7.0 * PX_PER_MM)
        if spec.bottom:
            font = pil_font(int(4.2 * PX_PER_MM), bold=True, serif=True)
            d.text((cx, cy + 10.5 * PX_PER_MM), spec.bottom, font=font, fill=255, anchor="mm")
    else:
        size = int(3.4 * PX_PER_MM)
        rx, ry = w / 2 - ring - size * 0.85, h / 2 - ring - size * 0.85
        _arc_text(mask, spec.arc, cx, cy, rx, ry, min(205.0, 17.0 * len(spec.arc)), size, squeeze=0.8)
        if spec.middle:
            font = pil_font(int(3.0 * PX_PER_MM), bold=True, serif=False)
            mid = Image.new("L", (w, int(4 * PX_PER_MM)), 0)
            ImageDraw.Draw(mid).text((w / 2, mid.height / 2), spec.middle, font=font, fill=255,
                                     anchor="mm")
            box = mid.getbbox() or (0, 0, w, mid.height)
            mid = mid.crop(box)
            target_w = int(w * 0.66)
            if mid.width > target_w:
                mid = mid.resize((target_w, mid.height), Image.LANCZOS)
            mask.paste(255, (int(cx - mid.width / 2), int(cy + 0.3 * PX_PER_MM - mid.height / 2)), mid)
        if spec.bottom:
            font = pil_font(int(3.6 * PX_PER_MM), bold=True, serif=True)
            d.text((cx, cy + 7.5 * PX_PER_MM), spec.bottom, font=font, fill=255, anchor="mm")
    img = _ink(mask, rng, alpha)
    if rotate_deg:
        img = img.rotate(rotate_deg, resample=Image.BICUBIC, expand=False)
    return img
