"""One interface for every OCR engine (in the spirit of docTR's predictors).

An engine takes an upright BGR ``uint8`` image (numpy array, as OpenCV holds it) and returns the
text lines it found, each with a pixel box and a confidence. Engines are *not* thread-safe: keep
one instance per process and parallelise with processes.

Engines never download anything: one whose models are missing raises :class:`EngineUnavailable`
with a message that names the setting to fix.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np


class EngineUnavailable(RuntimeError):
    """The engine cannot run here (package or model files missing). The message says how to fix it."""


@dataclass(frozen=True)
class OcrWord:
    text: str
    box: tuple[float, float, float, float]
    """Pixel box ``(x0, y0, x1, y1)`` in the input image."""
    confidence: float


@dataclass(frozen=True)
class OcrLine:
    text: str
    box: tuple[float, float, float, float]
    """Axis-aligned pixel box ``(x0, y0, x1, y1)`` in the input image."""
    confidence: float
    polygon: tuple[tuple[float, float], ...] = ()
    """The detector's quadrilateral, clockwise from top-left, when the engine gives one."""
    words: tuple[OcrWord, ...] = field(default=())


@runtime_checkable
class OcrEngine(Protocol):
    name: str
    """Short engine name, e.g. ``rapidocr``."""
    version: str
    """Engine package version + model identity: part of every OCR cache key."""

    def recognize(self, image: np.ndarray) -> list[OcrLine]:
        """Read an upright BGR uint8 image; return its lines in reading order."""
        ...
