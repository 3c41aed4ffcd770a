"""PDF pages as located text: pdfplumber's text layer first, pypdfium2's second, rendering last.

A page's text layer is used when it is *usable*: enough characters, few ``(cid:…)`` glyphs or
replacement characters, and not mostly junk (private-use or stray Latin-1 letters, which is what a
broken ToUnicode map produces in a Chinese document). Otherwise the caller renders the page
(:func:`render_page`) and OCRs it. A usable text-layer page is never OCR'd.
"""

from __future__ import annotations

import io
import logging
import re
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from pipeline.model import Line, Word, clamp_bbox

log = logging.getLogger(__name__)

_CID = re.compile(r"\(cid:\d+\)")


class PdfReadError(ValueError):
    """The PDF cannot be opened; ``zh``/``en`` say why for the clerk, ``code`` for machines."""

    def __init__(self, zh: str, en: str, code: str) -> None:
        super().__init__(en)
        self.zh, self.en, self.code = zh, en, code


@dataclass(frozen=True)
class TextQuality:
    chars: int
    cid_glyphs: int
    replacement_chars: int
    junk_ratio: float
    cjk_ratio: float
    usable: bool
    reason: str | None


MIN_CHARS = 8
"""Fewer visible characters than this and the page counts as having no text layer."""
THIN_CHARS_OVER_IMAGE = 40
"""A page mostly covered by an image with fewer characters than this is a scan with a stray
text layer (a scanner's stamp, a page number): it is OCR'd."""


def _is_cjk(ch: str) -> bool:
    o = ord(ch)
    return (
        0x4E00 <= o <= 0x9FFF
        or 0x3400 <= o <= 0x4DBF
        or 0x3000 <= o <= 0x303F
        or 0xFF00 <= o <= 0xFFEF
        or 0xF900 <= o <= 0xFAFF
        or 0x20000 <= o <= 0x2FA1F
    )


def _is_junk(ch: str) -> bool:
    cat = unicodedata.category(ch)
    if cat in ("Co", "Cn", "Cc", "Cs"):
        return True
    o = ord(ch)
    # Latin-1 supplement / extended letters, box drawing, dingbats: what mis-mapped CJK fonts emit
    return 0x00C0 <= o <= 0x024F or 0x2500 <= o <= 0x27BF


def assess_text(text: str, *, image_coverage: float = 0.0) -> TextQuality:
    """Decide whether a text layer can be trusted."""
    cid = len(_CID.findall(text))
    stripped = _CID.sub("", text)
    visible = [ch for ch in stripped if not ch.isspace()]
    n = len(visible)
    repl = sum(1 for ch in visible if ch == "\ufffd")
    junk = sum(1 for ch in visible if ch == "\ufffd" or _is_junk(ch))
    cjk = sum(1 for ch in visible if _is_cjk(ch))
    junk_ratio = junk / n if n else 0.0
    cjk_ratio = cjk / n if n else 0.0
    reason = None
    if n + cid < MIN_CHARS:
        reason = "missing"
    elif cid and cid / (cid + n) > 0.05:
        reason = "garbled: (cid:…) glyphs"
    elif n and repl / n > 0.02:
        reason = "garbled: replacement characters"
    elif junk_ratio > 0.25:
        reason = "garbled: mostly non-CJK junk"
    elif image_coverage > 0.5 and n < THIN_CHARS_OVER_IMAGE:
        reason = "thin text over a scanned image"
    return TextQuality(n, cid, repl, round(junk_ratio, 3), round(cjk_ratio, 3), reason is None, reason)


@dataclass(frozen=True)
class PdfPageText:
    number: int
    width: float
    height: float
    lines: list[Line]
    quality: TextQuality
    source: str  # "pdfplumber" | "pdfium"


class PdfHandle:
    """An open PDF: pdfplumber for the text layer, pypdfium2 for fallback text and rendering."""

    def __init__(self, plumber, pdfium) -> None:  # noqa: ANN001 - third-party objects
        self._plumber = plumber
        self._pdfium = pdfium

    def __len__(self) -> int:
        return len(self._pdfium)

    def page_size(self, index: int) -> tuple[float, float]:
        w, h = self._pdfium[index].get_size()
        return float(w), float(h)

    def text_layer(self, index: int) -> PdfPageText:
        """The best text layer this page has (pdfplumber, else pypdfium2), with its quality."""
        width, height = self.page_size(index)
        coverage = 0.0
        lines: list[Line] = []
        try:
            page = self._plumber.pages[index]
            coverage = _image_coverage(page)
            lines = _plumber_lines(page)
        except Exception as exc:  # pdfminer raises many kinds on broken content streams
            log.info("pdfplumber could not read page %d: %s", index + 1, type(exc).__name__)
        quality = assess_text("\n".join(line.text for line in lines), image_coverage=coverage)
        if quality.usable:
            return PdfPageText(index + 1, width, height, lines, quality, "pdfplumber")
        try:
            alt = _pdfium_lines(self._pdfium[index])
        except Exception as exc:  # pragma: no cover - pdfium is robust; be safe anyway
            log.info("pdfium text failed on page %d: %s", index + 1, type(exc).__name__)
            alt = []
        alt_quality = assess_text("\n".join(line.text for line in alt), image_coverage=coverage)
        if alt_quality.usable:
            return PdfPageText(index + 1, width, height, alt, alt_quality, "pdfium")
        return PdfPageText(index + 1, width, height, lines, quality, "pdfplumber")

    def render(self, index: int, *, dpi: int, max_side: int) -> np.ndarray:
        """Render a page to a BGR image at ``dpi``, capped so the long side is ≤ ``max_side``."""
        page = self._pdfium[index]
        w, h = page.get_size()
        scale = min(dpi / 72.0, max_side / max(w, h, 1.0))
        bitmap = page.render(scale=scale, rev_byteorder=False, fill_color=(255, 255, 255, 255))
        arr = bitmap.to_numpy()
        if arr.ndim == 2:
            arr = np.stack([arr] * 3, axis=-1)
        if arr.shape[2] == 4:
            arr = arr[:, :, :3]
        return np.ascontiguousarray(arr)


@contextmanager
def open_pdf(data: bytes) -> Iterator[PdfHandle]:
    """Open PDF bytes. Raises :class:`PdfReadError` for encrypted, corrupt or non-PDF data."""
    import pdfplumber
    import pypdfium2 as pdfium

    from extractors.logsafe import quiet_parser_logs

    quiet_parser_logs()  # pdfminer logs the text it parses at DEBUG: never let that through

    try:
        pdfium_doc = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        msg = str(exc).lower()
        if "password" in msg:
            raise PdfReadError(
                "PDF 已加密（需要打开密码），无法读取。请提交未加密的文件",
                "the PDF is encrypted (it needs a password to open); submit it unencrypted",
                "ENCRYPTED",
            ) from exc
        detail = _pdfium_reason(exc)
        raise PdfReadError(
            "PDF 文件损坏或结构无效，无法打开",
            f"the PDF is corrupt and cannot be opened{f' ({detail})' if detail else ''}",
            "CORRUPT_PDF",
        ) from exc
    try:
        if len(pdfium_doc) == 0:
            raise PdfReadError("PDF 没有页面", "the PDF has no pages", "EMPTY_PDF")
        try:
            plumber = pdfplumber.open(io.BytesIO(data))
        except Exception as exc:  # pdfminer cannot parse what pdfium can: text from pdfium only
            log.info("pdfplumber could not open the PDF: %s", type(exc).__name__)
            plumber = _NoPlumber()
        try:
            yield PdfHandle(plumber, pdfium_doc)
        finally:
            plumber.close()
    finally:
        pdfium_doc.close()


def _pdfium_reason(exc: Exception) -> str:
    """pdfium's reason without its noise ("Failed to load document (PDFium: Success)" says nothing)."""
    text = str(exc)
    inner = re.search(r"PDFium: ([^)]*)", text)
    reason = inner.group(1).strip() if inner else text.strip()
    return "" if reason.lower() in ("", "success") else reason.lower()


class _NoPlumber:
    @property
    def pages(self):  # noqa: ANN201
        raise RuntimeError("pdfplumber unavailable for this file")

    def close(self) -> None:
        pass


def _image_coverage(page) -> float:  # noqa: ANN001
    area = float(page.width * page.height) or 1.0
    covered = 0.0
    for im in page.images:
        x0, x1 = max(im["x0"], 0), min(im["x1"], page.width)
        top, bottom = max(im["top"], 0), min(im["bottom"], page.height)
        if x1 > x0 and bottom > top:
            covered += (x1 - x0) * (bottom - top)
    return min(covered / area, 1.0)


def _plumber_lines(page) -> list[Line]:  # noqa: ANN001
    w, h = float(page.width), float(page.height)
    words = page.extract_words(keep_blank_chars=False, use_text_flow=False, x_tolerance=1.5)
    raw_lines = page.extract_text_lines(layout=False, strip=True, return_chars=False)
    lines: list[Line] = []
    for raw in raw_lines:
        text = raw["text"].strip()
        if not text:
            continue
        top, bottom = raw["top"], raw["bottom"]
        inside = [
            wd
            for wd in words
            if wd["x0"] >= raw["x0"] - 0.5
            and wd["x1"] <= raw["x1"] + 0.5
            and wd["top"] >= top - 1.0
            and wd["bottom"] <= bottom + 1.0
        ]
        lines.append(
            Line(
                text=text,
                bbox=clamp_bbox((raw["x0"] / w, top / h, raw["x1"] / w, bottom / h)),
                confidence=1.0,
                words=[
                    Word(
                        text=wd["text"],
                        bbox=clamp_bbox((wd["x0"] / w, wd["top"] / h, wd["x1"] / w, wd["bottom"] / h)),
                        confidence=1.0,
                    )
                    for wd in inside
                ],
            )
        )
    return lines


def _pdfium_lines(page) -> list[Line]:  # noqa: ANN001
    w, h = page.get_size()
    textpage = page.get_textpage()
    try:
        lines: list[Line] = []
        for i in range(textpage.count_rects()):
            left, bottom, right, top = textpage.get_rect(i)
            text = textpage.get_text_bounded(left, bottom, right, top).strip()
            if not text:
                continue
            box = clamp_bbox((left / w, 1 - top / h, right / w, 1 - bottom / h))
            lines.append(Line(text=text, bbox=box, confidence=1.0))
        return lines
    finally:
        textpage.close()
