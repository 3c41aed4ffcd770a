"""Fonts: wqy-zenhei for PDF text (reportlab embeds TrueType only), Noto CJK for images."""

from __future__ import annotations

from functools import lru_cache

from PIL import ImageFont
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

WQY = "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"
NOTO_SANS = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
NOTO_SANS_BOLD = "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc"
NOTO_SERIF = "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc"
NOTO_SERIF_BOLD = "/usr/share/fonts/opentype/noto/NotoSerifCJK-Bold.ttc"
# index of the "SC" (simplified Chinese) face inside the Noto CJK collections
NOTO_SC_INDEX = 2

PDF_FONT = "WQY"


@lru_cache(maxsize=1)
def register_pdf_fonts() -> str:
    """Register wqy-zenhei with reportlab once; returns the font name to use."""
    pdfmetrics.registerFont(TTFont(PDF_FONT, WQY, subfontIndex=0))
    return PDF_FONT


def string_width(text: str, size: float) -> float:
    """Width in points of ``text`` in the PDF font."""
    register_pdf_fonts()
    return pdfmetrics.stringWidth(text, PDF_FONT, size)


@lru_cache(maxsize=64)
def pil_font(size: int, bold: bool = False, serif: bool = False) -> ImageFont.FreeTypeFont:
    if serif:
        path = NOTO_SERIF_BOLD if bold else NOTO_SERIF
    else:
        path = NOTO_SANS_BOLD if bold else NOTO_SANS
    return ImageFont.truetype(path, size, index=NOTO_SC_INDEX)
