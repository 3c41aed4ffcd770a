"""Turn one file's bytes into pages of located text.

Text-layer PDF pages are read directly; every other page (scans, photos, screenshots, PDF pages
whose text layer is missing, thin or garbled) is rendered if needed and OCR'd through the
configured engine, with the OCR cache in front so the same page is never OCR'd twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from extractors.images import ImageReadError, decode_image
from extractors.pdf_text import PdfReadError, open_pdf
from pipeline.cache import OcrCache, cache_key
from pipeline.ingest import FileError, SourceFile
from pipeline.model import Line, Page, Word, clamp_bbox
from pipeline.settings import Settings

if TYPE_CHECKING:
    from extractors.ocr.base import OcrEngine

log = logging.getLogger(__name__)


class OcrRunner:
    """One OCR engine per process, created on first need (text-only work never loads a model)."""

    def __init__(self, settings: Settings, cache: OcrCache) -> None:
        self.settings = settings
        self.cache = cache
        self.calls = 0
        self._engine: OcrEngine | None = None
        self._identity: tuple[str, str] | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> OcrRunner:
        from pipeline.storage import open_store

        return cls(settings, OcrCache(open_store(settings)))

    @property
    def identity(self) -> tuple[str, str]:
        """(engine name, engine version) — cheap: does not load the models."""
        if self._identity is None:
            from extractors.ocr import engine_identity

            self._identity = engine_identity(self.settings)
        return self._identity

    @property
    def engine(self) -> OcrEngine:
        if self._engine is None:
            from extractors.ocr import create_engine

            self._engine = create_engine(self.settings)
        return self._engine

    def read(self, image: np.ndarray, *, sha256: str, number: int) -> Page:
        """OCR one page image (or take it from the cache)."""
        from extractors.preprocess import PREPROCESS_VERSION

        name, version = self.identity
        key = cache_key(sha256, number, name, f"{version}+pre{PREPROCESS_VERSION}", self.settings.ocr_fingerprint())
        cached = self.cache.get(key)
        if cached is not None:
            return cached
        from extractors.preprocess import ocr_page

        self.calls += 1
        result = ocr_page(image, self.engine, self.settings)
        page = _page_from_ocr(result, number, f"{name} {version}")
        self.cache.put(key, page)
        return page


def _page_from_ocr(result, number: int, engine_label: str) -> Page:  # noqa: ANN001
    w, h = float(result.width), float(result.height)
    lines = []
    for ln in result.lines:
        x0, y0, x1, y1 = ln.box
        lines.append(
            Line(
                text=ln.text,
                bbox=clamp_bbox((x0 / w, y0 / h, x1 / w, y1 / h)),
                confidence=float(min(max(ln.confidence, 0.0), 1.0)),
                words=[
                    Word(
                        text=wd.text,
                        bbox=clamp_bbox(
                            (wd.box[0] / w, wd.box[1] / h, wd.box[2] / w, wd.box[3] / h)
                        ),
                        confidence=float(min(max(wd.confidence, 0.0), 1.0)),
                    )
                    for wd in ln.words
                ],
            )
        )
    conf = float(np.mean([ln.confidence for ln in lines])) if lines else 0.0
    return Page(
        number=number,
        width=w,
        height=h,
        unit="px",
        source="ocr",
        lines=lines,
        confidence=round(conf, 4),
        rotation=int(result.rotation) % 360,
        ocr_engine=engine_label,
    )


@dataclass
class DocumentReading:
    pages: list[Page] = field(default_factory=list)
    page_count: int = 0
    """Pages in the file (may exceed ``len(pages)`` when a limit stopped reading)."""
    error: FileError | None = None
    notes: list[str] = field(default_factory=list)


def read_document(src: SourceFile, settings: Settings, ocr: OcrRunner) -> DocumentReading:
    """Every page of one file as located text. Bad input gives ``error``, never an exception."""
    if src.error is not None:
        return DocumentReading(error=src.error)
    if src.media_type == "application/pdf":
        return _read_pdf(src, settings, ocr)
    return _read_image(src, settings, ocr)


def _read_pdf(src: SourceFile, settings: Settings, ocr: OcrRunner) -> DocumentReading:
    reading = DocumentReading()
    try:
        with open_pdf(src.data) as pdf:
            reading.page_count = len(pdf)
            limit = min(len(pdf), settings.max_pdf_pages)
            if limit < len(pdf):
                reading.notes.append(
                    f"PDF 共 {len(pdf)} 页，只读取前 {limit} 页 / read the first {limit} of {len(pdf)} pages"
                )
            for index in range(limit):
                reading.pages.append(_read_pdf_page(pdf, index, src, settings, ocr))
    except PdfReadError as exc:
        return DocumentReading(error=FileError(exc.code, exc.zh, exc.en))
    return reading


def _read_pdf_page(pdf, index: int, src: SourceFile, settings: Settings, ocr: OcrRunner) -> Page:  # noqa: ANN001
    number = index + 1
    layer = pdf.text_layer(index)
    if layer.quality.usable:
        return Page(
            number=number,
            width=layer.width,
            height=layer.height,
            unit="pt",
            source="text-layer",
            lines=layer.lines,
            confidence=1.0,
            note=None if layer.source == "pdfplumber" else "text layer read by pdfium",
        )
    try:
        image = pdf.render(index, dpi=settings.render_dpi, max_side=max(settings.ocr_max_side, 1600))
    except Exception as exc:  # a page pdfium cannot render: keep the page, say why
        log.info("page %d of %s could not be rendered: %s", number, src.sha256[:12], type(exc).__name__)
        return Page(
            number=number,
            width=layer.width,
            height=layer.height,
            unit="pt",
            source="none",
            confidence=0.0,
            note=f"page could not be rendered ({type(exc).__name__})",
        )
    page = ocr.read(image, sha256=src.sha256, number=number)
    reason = layer.quality.reason or "no text layer"
    return page.model_copy(update={"note": f"OCR: text layer {reason}"})


def _read_image(src: SourceFile, settings: Settings, ocr: OcrRunner) -> DocumentReading:
    try:
        decoded = decode_image(src.data, max_pixels=settings.max_image_pixels)
    except ImageReadError as exc:
        return DocumentReading(error=FileError(exc.code, exc.zh, exc.en))
    reading = DocumentReading(page_count=len(decoded.pages))
    if decoded.note:
        reading.notes.append(decoded.note)
    for index, image in enumerate(decoded.pages):
        reading.pages.append(ocr.read(image, sha256=src.sha256, number=index + 1))
    return reading
