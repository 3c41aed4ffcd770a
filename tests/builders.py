"""Small document builders for tests: text PDFs, image-only PDFs, images, broken files."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

WQY = "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"
NOTO = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"


def _register_font() -> str:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if "WQY" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont("WQY", WQY, subfontIndex=0))
    return "WQY"


def text_pdf(pages: list[list[str]], *, encrypt_user: str | None = None, encrypt_owner_only: bool = False) -> bytes:
    """A PDF whose pages carry a real (embedded TrueType) text layer, one line per string."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.pdfencrypt import StandardEncryption
    from reportlab.pdfgen import canvas

    font = _register_font()
    buf = io.BytesIO()
    enc = None
    if encrypt_user is not None:
        enc = StandardEncryption(encrypt_user, ownerPassword="owner", canPrint=1)
    elif encrypt_owner_only:
        enc = StandardEncryption("", ownerPassword="owner", canPrint=1, canCopy=0)
    c = canvas.Canvas(buf, pagesize=A4, encrypt=enc)
    w, h = A4
    for lines in pages:
        y = h - 72
        for i, line in enumerate(lines):
            c.setFont(font, 18 if i == 0 else 11)
            c.drawString(60, y, line)
            y -= 28 if i == 0 else 18
        c.showPage()
    c.save()
    return buf.getvalue()


def render_lines(lines: list[str], *, size: tuple[int, int] = (1240, 1754), font_px: int = 30,
                 title_px: int = 48, margin: int = 90) -> np.ndarray:
    """An RGB image of text lines on white paper (Noto Sans CJK)."""
    img = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(img)
    y = margin
    for i, line in enumerate(lines):
        px = title_px if i == 0 else font_px
        font = ImageFont.truetype(NOTO, px)
        draw.text((margin, y), line, fill=(20, 20, 20), font=font)
        y += int(px * 1.8)
    return np.asarray(img)


def image_bytes(rgb: np.ndarray, fmt: str = "PNG", **kw) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format=fmt, **kw)
    return buf.getvalue()


def image_pdf(rgb_pages: list[np.ndarray]) -> bytes:
    """A scanned-looking PDF: each page is an image, no text layer."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4)
    w, h = A4
    for rgb in rgb_pages:
        c.drawImage(ImageReader(Image.fromarray(rgb)), 0, 0, width=w, height=h)
        c.showPage()
    c.save()
    return buf.getvalue()


def docx_bytes() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:document>合同</w:document>")
    return buf.getvalue()


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path
