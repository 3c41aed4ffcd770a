"""Page images for the viewer: rendered from the original files, upright, resized, cached.

A page is addressed only by (application, document index, page) *from the result* — the file
name comes from ``documents[i].file``, never from the request — and the original must still hash
to ``documents[i].sha256``: a file replaced after screening would put every box in the wrong
place, so it is refused rather than shown.
"""

from __future__ import annotations

import hashlib
import io
import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from pipeline.model import ScreeningResult

log = logging.getLogger(__name__)

SIZES: dict[str, int] = {"thumb": 220, "view": 1600}
"""Longer side in pixels per requested size."""
JPEG_QUALITY = 85
RENDER_VERSION = "1"
"""Part of the ETag: bump when the rendering changes so browsers fetch again."""


@dataclass(frozen=True)
class PageImage:
    body: bytes
    etag: str
    media_type: str = "image/jpeg"


class PageNotFound(LookupError):
    """No such document/page in the result, or no original to render it from."""


class OriginalChanged(RuntimeError):
    """The original no longer matches the screened bytes (its sha256 differs)."""


class PageImages:
    """Renders and caches page images; a bounded LRU of encoded bytes (default 96 MB)."""

    def __init__(self, samples_root: Path | None, max_bytes: int = 96 * 1024 * 1024) -> None:
        self.samples_root = Path(samples_root).resolve() if samples_root else None
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, PageImage] = OrderedDict()
        self._bytes = 0
        self._hashes: dict[tuple[Path, int, int], str] = {}

    def etag(self, result: ScreeningResult, doc_index: int, page: int, size: str) -> str:
        doc = self._doc(result, doc_index, page)
        rotation = self._rotation(result, doc_index, page)
        blob = f"{RENDER_VERSION}|{result.application_id}|{doc.sha256}|{page}|{rotation}|{SIZES[size]}"
        return '"' + hashlib.sha256(blob.encode()).hexdigest()[:32] + '"'

    def get(self, result: ScreeningResult, doc_index: int, page: int, size: str) -> PageImage:
        if size not in SIZES:
            raise PageNotFound(f"size {size!r}")
        etag = self.etag(result, doc_index, page, size)
        with self._lock:
            hit = self._cache.get(etag)
            if hit is not None:
                self._cache.move_to_end(etag)
                return hit
        image = PageImage(self._render(result, doc_index, page, SIZES[size]), etag)
        with self._lock:
            if etag not in self._cache:
                self._cache[etag] = image
                self._bytes += len(image.body)
                while self._bytes > self.max_bytes and len(self._cache) > 1:
                    _, old = self._cache.popitem(last=False)
                    self._bytes -= len(old.body)
        return image

    # -------------------------------------------------------------------------------- internals

    @staticmethod
    def _doc(result: ScreeningResult, doc_index: int, page: int):  # type: ignore[no-untyped-def]
        if not 0 <= doc_index < len(result.documents):
            raise PageNotFound("no such document")
        doc = result.documents[doc_index]
        if not 1 <= page <= max(doc.pages, len(doc.page_info)):
            raise PageNotFound("no such page")
        return doc

    @staticmethod
    def _rotation(result: ScreeningResult, doc_index: int, page: int) -> int:
        info = {p.number: p for p in result.documents[doc_index].page_info}
        return info[page].rotation if page in info else 0

    def _app_dir(self, result: ScreeningResult) -> Path:
        if self.samples_root is None:
            raise PageNotFound("no originals configured")
        try:
            app_dir = _inside(self.samples_root, result.application_id)
        except ValueError as exc:
            raise PageNotFound("no originals for this application") from exc
        if app_dir == self.samples_root or not app_dir.is_dir():
            raise PageNotFound("no originals for this application")
        return app_dir

    def _check_original(self, app_dir: Path, file: str, sha256: str) -> Path:
        try:
            path = _inside(app_dir, file)
        except ValueError as exc:
            raise PageNotFound("original missing") from exc
        if not path.is_file():
            raise PageNotFound("original missing")
        st = path.stat()
        key = (path, st.st_size, st.st_mtime_ns)
        digest = self._hashes.get(key)
        if digest is None:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            self._hashes[key] = digest
        if sha256 and digest != sha256:
            raise OriginalChanged(file)
        return path

    def _render(self, result: ScreeningResult, doc_index: int, page: int, max_side: int) -> bytes:
        from PIL import Image

        from pipeline.report import _render_pdf_page, _upright, render_page_bytes

        doc = self._doc(result, doc_index, page)
        path = self._check_original(self._app_dir(result), doc.file, doc.sha256)
        rotation = self._rotation(result, doc_index, page)
        data = path.read_bytes()
        img = None
        if data[:5] == b"%PDF-":
            # PDF pages go straight from the PDFium bitmap to JPEG: the PNG round trip of
            # render_page_bytes cost ~3× the rendering itself (bench/web.py).
            try:
                img = _render_pdf_page(data, page, max_side)
            except Exception as exc:  # noqa: BLE001 - a bad original is a missing image, not a 500
                log.info("no image for %s page %d: %s", doc.file, page, type(exc).__name__)
            if img is None:
                raise PageNotFound("page could not be rendered")
            img = _upright(img, rotation)
        else:
            png = render_page_bytes(data, doc.file, page, max_side=max_side, rotation=rotation)
            if png is None:
                raise PageNotFound("page could not be rendered")
            img = Image.open(io.BytesIO(png))
        buf = io.BytesIO()
        img.convert("RGB").save(buf, format="JPEG", quality=JPEG_QUALITY)
        return buf.getvalue()


def _inside(root: Path, name: str) -> Path:
    """``root/name`` resolved (symlinks followed), or ``ValueError`` when that leaves ``root``.

    The names come from a result file, not from the request — but a result is input too: an
    absolute path, ``..``, a NUL byte or a symlink out of the store must not reach a file elsewhere.
    """
    if not name or "\x00" in name or Path(name).is_absolute():
        raise ValueError("bad name")
    path = (root / name).resolve()
    if not path.is_relative_to(root):
        raise ValueError("outside the store")
    return path
