"""Rasterising and degrading pages: scans, phone photos, image-only PDFs.

Each degradation returns the final image plus the 3×3 matrices that map a point of the clean
page image to the final image, so recorded boxes (seals) follow the page through skew,
perspective and 90° turns. ``upright`` excludes the quarter-turn (``rotation``); ``stored`` is
the file as written.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import cv2
import numpy as np
import pypdfium2 as pdfium
from PIL import Image, ImageFilter
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen.canvas import Canvas

Box = tuple[float, float, float, float]


@dataclass
class Degraded:
    image: Image.Image  # as stored
    upright_size: tuple[int, int]
    m_upright: np.ndarray  # clean page px → upright final px
    m_stored: np.ndarray  # clean page px → stored px
    rotation: int  # clockwise quarter-turn applied last (0/90/180/270)
    skew_deg: float = 0.0


def rasterize(pdf: bytes, dpi: float) -> list[Image.Image]:
    doc = pdfium.PdfDocument(pdf)
    try:
        return [doc[i].render(scale=dpi / 72).to_pil().convert("RGB") for i in range(len(doc))]
    finally:
        doc.close()


def quarter_turn(size: tuple[int, int], rotation: int) -> np.ndarray:
    """Matrix of a clockwise quarter-turn of an image of ``size`` (w, h)."""
    w, h = size
    return {
        0: np.eye(3),
        90: np.array([[0, -1, h], [1, 0, 0], [0, 0, 1]], dtype=float),
        180: np.array([[-1, 0, w], [0, -1, h], [0, 0, 1]], dtype=float),
        270: np.array([[0, 1, 0], [-1, 0, w], [0, 0, 1]], dtype=float),
    }[rotation]


def _turn(img: np.ndarray, rotation: int) -> np.ndarray:
    return np.ascontiguousarray(np.rot90(img, k=-(rotation // 90))) if rotation else img


def map_box(box: Box, src_size: tuple[int, int], m: np.ndarray, dst_size: tuple[int, int]) -> Box:
    """A fractional box of the clean page → the axis-aligned fractional box after ``m``."""
    sw, sh = src_size
    x0, y0, x1, y1 = box[0] * sw, box[1] * sh, box[2] * sw, box[3] * sh
    pts = np.array([[x0, y0, 1], [x1, y0, 1], [x1, y1, 1], [x0, y1, 1]], dtype=float).T
    q = m @ pts
    q = q[:2] / q[2]
    dw, dh = dst_size
    fx = np.clip(q[0] / dw, 0, 1)
    fy = np.clip(q[1] / dh, 0, 1)
    return (round(float(fx.min()), 5), round(float(fy.min()), 5), round(float(fx.max()), 5),
            round(float(fy.max()), 5))


def scan(page: Image.Image, rng: np.random.Generator, skew_deg: float, rotation: int = 0,
         blur: float = 0.6, noise: float = 3.0) -> Degraded:
    """A flatbed scan: off-white paper, speckle, slight skew, soft focus; optionally upside down."""
    a = np.asarray(page, dtype=np.float32)
    h, w = a.shape[:2]
    tone = np.array([0.975, 0.965, 0.935], dtype=np.float32)
    a = a * tone + 255 * (1 - tone) * 0.15
    m2 = cv2.getRotationMatrix2D((w / 2, h / 2), skew_deg, 1.0)
    a = cv2.warpAffine(a, m2, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                       borderValue=(228, 228, 226))
    a = a + rng.normal(0, noise, a.shape).astype(np.float32)
    n_specks = int(w * h / 40000)
    ys, xs = rng.integers(0, h, n_specks), rng.integers(0, w, n_specks)
    a[ys, xs] = rng.uniform(60, 160, (n_specks, 1))
    img = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))
    if blur:
        img = img.filter(ImageFilter.GaussianBlur(blur))
    m_up = np.vstack([m2, [0, 0, 1]])
    stored = Image.fromarray(_turn(np.asarray(img), rotation))
    return Degraded(stored, (w, h), m_up, quarter_turn((w, h), rotation) @ m_up, rotation,
                    skew_deg)


def _smooth_field(rng: np.random.Generator, w: int, h: int, cells: int = 4) -> np.ndarray:
    small = rng.random((cells, cells)).astype(np.float32)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)


def photo(page: Image.Image, rng: np.random.Generator, out_long: int = 2000, rotation: int = 0,
          tilt: float = 0.035, blur: float = 0.8) -> Degraded:
    """A phone photo of a paper on a desk: perspective, uneven light, blur, sensor noise."""
    pw, ph = page.size
    landscape = pw >= ph
    ow, oh = (out_long, int(out_long * 0.75)) if landscape else (int(out_long * 0.75), out_long)
    scale = min(ow * 0.9 / pw, oh * 0.9 / ph)
    dw, dh = pw * scale, ph * scale
    ox, oy = (ow - dw) / 2, (oh - dh) / 2
    base = np.array([[ox, oy], [ox + dw, oy], [ox + dw, oy + dh], [ox, oy + dh]], dtype=np.float32)
    jitter = rng.uniform(-tilt, tilt, (4, 2)).astype(np.float32) * np.array([ow, oh], np.float32)
    dst = base + jitter
    src = np.array([[0, 0], [pw, 0], [pw, ph], [0, ph]], dtype=np.float32)
    hm = cv2.getPerspectiveTransform(src, dst)
    # desk background: a warm or grey surface with low-frequency texture
    desk = np.array(rng.choice([[120, 92, 70], [150, 150, 146], [95, 80, 66]]), dtype=np.float32)
    bg = np.ones((oh, ow, 3), np.float32) * desk
    bg *= (0.85 + 0.3 * _smooth_field(rng, ow, oh, 6))[..., None]
    warped = cv2.warpPerspective(np.asarray(page, dtype=np.float32), hm, (ow, oh),
                                 flags=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
    mask = cv2.warpPerspective(np.ones((ph, pw), np.float32), hm, (ow, oh), flags=cv2.INTER_LINEAR)
    a = warped * mask[..., None] + bg * (1 - mask[..., None])
    # light: a directional gradient times a soft blob, never so dark that print is lost
    gx = np.linspace(0, 1, ow, dtype=np.float32)[None, :]
    gy = np.linspace(0, 1, oh, dtype=np.float32)[:, None]
    ang = rng.uniform(0, 2 * np.pi)
    grad = np.cos(ang) * gx + np.sin(ang) * gy
    grad = (grad - grad.min()) / (np.ptp(grad) + 1e-6)
    light = 0.80 + 0.2 * grad + 0.06 * (_smooth_field(rng, ow, oh, 3) - 0.5)
    a = a * light[..., None] * np.array([1.0, 0.985, 0.95], np.float32)
    a = cv2.GaussianBlur(a, (0, 0), blur)
    a = a + rng.normal(0, 3.0, a.shape).astype(np.float32)
    up = np.clip(a, 0, 255).astype(np.uint8)
    stored = Image.fromarray(_turn(up, rotation))
    return Degraded(stored, (ow, oh), hm.astype(float), quarter_turn((ow, oh), rotation) @ hm,
                    rotation)


def jpeg_bytes(img: Image.Image, quality: int = 85) -> bytes:
    buf = io.BytesIO()
    img.convert("RGB").save(buf, format="JPEG", quality=quality, optimize=False)
    return buf.getvalue()


def png_bytes(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def images_to_pdf(images: list[Image.Image], dpi: float, quality: int = 80, title: str = "") -> bytes:
    """An image-only PDF (no text layer), one JPEG page per image at ``dpi``."""
    buf = io.BytesIO()
    c = Canvas(buf, invariant=1, pageCompression=1)
    c.setTitle(title)
    c.setCreator("")
    c.setProducer("")
    for img in images:
        w, h = img.size[0] * 72 / dpi, img.size[1] * 72 / dpi
        c.setPageSize((w, h))
        c.drawImage(ImageReader(io.BytesIO(jpeg_bytes(img, quality))), 0, 0, w, h)
        c.showPage()
    c.save()
    return buf.getvalue()
