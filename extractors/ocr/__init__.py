"""OCR engine registry: one engine instance per process, chosen by ``YUNSHEN_OCR_ENGINE``.

Engines are not thread-safe and are expensive to load, so :func:`create_engine` caches one
instance per (engine, settings) in the process. Parallelise with processes, not threads.
"""

from __future__ import annotations

import importlib.util
import shutil
import threading
from typing import Callable

from extractors.ocr.base import EngineUnavailable, OcrEngine, OcrLine, OcrWord
from pipeline.settings import Settings

__all__ = [
    "EngineUnavailable",
    "OcrEngine",
    "OcrLine",
    "OcrWord",
    "ENGINE_NAMES",
    "available_engines",
    "create_engine",
    "engine_identity",
    "clear_engine_cache",
]

ENGINE_NAMES: tuple[str, ...] = ("rapidocr", "paddleocr", "tesseract")

_cache: dict[tuple[str, str], OcrEngine] = {}
_lock = threading.Lock()


def _build(name: str) -> Callable[[Settings], OcrEngine]:
    if name == "rapidocr":
        from extractors.ocr.rapid import RapidOcrEngine

        return RapidOcrEngine
    if name == "paddleocr":
        from extractors.ocr.paddle import PaddleOcrEngine

        return PaddleOcrEngine
    if name == "tesseract":
        from extractors.ocr.tesseract import TesseractEngine

        return TesseractEngine
    raise EngineUnavailable(f"unknown OCR engine {name!r}: set YUNSHEN_OCR_ENGINE to one of {ENGINE_NAMES}")


def create_engine(settings: Settings, name: str | None = None) -> OcrEngine:
    """The process's engine for ``settings.ocr_engine`` (or ``name``), created on first use.

    Raises :class:`EngineUnavailable` (message names the setting to fix) when it cannot run here.
    """
    engine_name = name or settings.ocr_engine
    key = (engine_name, settings.model_dump_json())
    with _lock:
        engine = _cache.get(key)
        if engine is None:
            engine = _build(engine_name)(settings)
            _cache[key] = engine
        return engine


def engine_identity(settings: Settings, name: str | None = None) -> tuple[str, str]:
    """``(name, version)`` of the engine :func:`create_engine` would build, without loading it.

    The version equals the engine's ``.version`` and goes into every OCR cache key.
    """
    engine_name = name or settings.ocr_engine
    if engine_name == "rapidocr":
        from extractors.ocr.rapid import engine_version as rapid_version

        return engine_name, rapid_version()
    if engine_name == "paddleocr":
        from extractors.ocr.paddle import engine_version as paddle_version

        return engine_name, paddle_version(settings)
    if engine_name == "tesseract":
        from extractors.ocr.tesseract import engine_version as tess_version

        return engine_name, tess_version(settings)
    raise EngineUnavailable(f"unknown OCR engine {engine_name!r}: set YUNSHEN_OCR_ENGINE to one of {ENGINE_NAMES}")


def clear_engine_cache() -> None:
    """Drop cached engines (tests, or a worker that switches settings)."""
    with _lock:
        _cache.clear()


def available_engines(settings: Settings | None = None) -> list[str]:
    """Engines whose packages/binaries are present, without loading any model.

    A cheap check: an engine listed here may still raise :class:`EngineUnavailable` from
    :func:`create_engine` (e.g. model files missing).
    """
    settings = settings or Settings()
    out = []
    if importlib.util.find_spec("rapidocr") and importlib.util.find_spec("onnxruntime"):
        out.append("rapidocr")
    if importlib.util.find_spec("paddleocr"):
        out.append("paddleocr")
    if shutil.which(settings.tesseract_cmd):
        out.append("tesseract")
    return out
