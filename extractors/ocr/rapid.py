"""RapidOCR engine: the embedded default (PP-OCRv6-small det/rec + v2.0 direction classifier).

The ``rapidocr`` wheel ships exactly these three ONNX models; asking it for anything else makes it
download. We therefore always hand it explicit model paths from the installed package and refuse
to start (``EngineUnavailable``) when one is missing, so it can never reach the network.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from extractors.ocr.base import EngineUnavailable, OcrLine
from pipeline.settings import Settings

MODEL_FILES = {
    "det": "PP-OCRv6_det_small.onnx",
    "rec": "PP-OCRv6_rec_small.onnx",
    "cls": "ch_ppocr_mobile_v2.0_cls_mobile.onnx",
}
Quad = tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class RapidTuning:
    """Speed/accuracy knobs (measured in ``bench/ocr.py``; see docs/benchmarks.md).

    ``use_cls`` is off by default: yunshen decides page orientation itself (``preprocess``), and
    the per-line 180° classifier then only costs time.
    """

    det_limit_side_len: int = 960
    det_limit_type: str = "max"
    """Detect on a copy whose long side is at most 960 px (rapidocr's default upscales the short
    side to 736, i.e. detects at full size): ~0.1 s instead of ~0.3 s, same CER on the bench."""
    max_side_len: int = 4096
    """rapidocr's own input cap; above ``Settings.ocr_max_side`` so that setting governs."""
    rec_batch_num: int = 6
    use_cls: bool = False
    inter_op_threads: int = 1
    cpu_mem_arena: bool = False
    text_score: float = 0.0
    """Keep every line here; :func:`extractors.preprocess.ocr_page` applies ``ocr_min_confidence``."""


def model_dir() -> Path:
    """Folder of the models inside the installed ``rapidocr`` wheel."""
    try:
        import rapidocr
    except ImportError as exc:  # pragma: no cover - a core dependency
        raise EngineUnavailable(
            "rapidocr is not installed (pip install -e .); or choose another engine with "
            "YUNSHEN_OCR_ENGINE"
        ) from exc
    return Path(rapidocr.__file__).resolve().parent / "models"


def model_paths() -> dict[str, Path]:
    """Explicit model paths; raises EngineUnavailable naming the missing file."""
    folder = model_dir()
    paths = {task: folder / name for task, name in MODEL_FILES.items()}
    for task, path in paths.items():
        if not path.is_file():
            raise EngineUnavailable(
                f"rapidocr {task} model missing: {path} (reinstall rapidocr==3.10.0, which ships "
                "it; it is never downloaded) or choose another engine with YUNSHEN_OCR_ENGINE"
            )
    return paths


def _version() -> str:
    try:
        return metadata.version("rapidocr")
    except metadata.PackageNotFoundError:  # pragma: no cover
        return "unknown"


def engine_version(tuning: RapidTuning | None = None) -> str:
    """Package version + models + tuning digest (part of every OCR cache key); loads nothing."""
    digest = hashlib.sha256(json.dumps(asdict(tuning or RapidTuning()), sort_keys=True).encode()).hexdigest()[:8]
    return f"rapidocr-{_version()}+PP-OCRv6-small+{digest}"


class RapidOcrEngine:
    """OCR with RapidOCR on onnxruntime. Not thread-safe: one instance per process."""

    name = "rapidocr"

    def __init__(self, settings: Settings, tuning: RapidTuning | None = None) -> None:
        try:
            from rapidocr import EngineType, LangDet, LangRec, ModelType, OCRVersion, RapidOCR
        except ImportError as exc:
            raise EngineUnavailable(
                f"rapidocr cannot be imported ({exc}); reinstall the project or set "
                "YUNSHEN_OCR_ENGINE to another engine"
            ) from exc
        self.tuning = tuning or RapidTuning()
        t = self.tuning
        paths = model_paths()
        threads = settings.ocr_threads
        params: dict[str, Any] = {
            "Global.log_level": "error",
            "Global.text_score": t.text_score,
            "Global.use_cls": t.use_cls,
            "Global.max_side_len": t.max_side_len,
            "Global.model_root_dir": str(paths["det"].parent),
            "EngineConfig.onnxruntime.intra_op_num_threads": threads,
            "EngineConfig.onnxruntime.inter_op_num_threads": t.inter_op_threads,
            "EngineConfig.onnxruntime.enable_cpu_mem_arena": t.cpu_mem_arena,
            "Det.engine_type": EngineType.ONNXRUNTIME,
            "Det.lang_type": LangDet.CH,
            "Det.model_type": ModelType.SMALL,
            "Det.ocr_version": OCRVersion.PPOCRV6,
            "Det.model_path": str(paths["det"]),
            "Det.limit_side_len": t.det_limit_side_len,
            "Det.limit_type": t.det_limit_type,
            "Rec.engine_type": EngineType.ONNXRUNTIME,
            "Rec.lang_type": LangRec.CH,
            "Rec.model_type": ModelType.SMALL,
            "Rec.ocr_version": OCRVersion.PPOCRV6,
            "Rec.model_path": str(paths["rec"]),
            "Rec.rec_batch_num": t.rec_batch_num,
            "Cls.engine_type": EngineType.ONNXRUNTIME,
            "Cls.model_path": str(paths["cls"]),
        }
        logging.getLogger("RapidOCR").setLevel(logging.ERROR)
        self._ocr = RapidOCR(params=params)
        self.version = engine_version(t)

    # ---------------------------------------------------------------- OcrEngine protocol
    def recognize(self, image: np.ndarray) -> list[OcrLine]:
        """Read an upright BGR uint8 image; lines in the detector's reading order."""
        # Pass every switch: rapidocr keeps per-call switches as state (see ``detect``).
        res = self._ocr(_bgr(image), use_det=True, use_cls=self.tuning.use_cls, use_rec=True)
        if res is None or getattr(res, "txts", None) is None or res.boxes is None:
            return []
        lines = []
        for quad, text, score in zip(res.boxes, res.txts, res.scores):
            pts = np.asarray(quad, dtype=float).reshape(-1, 2)
            box = (float(pts[:, 0].min()), float(pts[:, 1].min()), float(pts[:, 0].max()), float(pts[:, 1].max()))
            polygon = tuple((float(x), float(y)) for x, y in pts)
            lines.append(OcrLine(text=str(text), box=box, confidence=float(score), polygon=polygon))
        return lines

    # ---------------------------------------------------------------- extras for preprocess
    def detect(self, image: np.ndarray) -> list[Quad]:
        """Text-line quadrilaterals only (no recognition): cheap orientation/skew probe."""
        res = self._ocr(_bgr(image), use_det=True, use_cls=False, use_rec=False)
        boxes = getattr(res, "boxes", None)
        if boxes is None:
            return []
        return [tuple((float(x), float(y)) for x, y in np.asarray(q).reshape(-1, 2)) for q in boxes]

    def text_direction(self, crops: list[np.ndarray]) -> list[tuple[int, float]]:
        """The v2.0 direction classifier on horizontal line crops: ``(0|180, score)`` each."""
        if not crops:
            return []
        cls = self._ocr._load_cls_model()
        out = cls([_bgr(c) for c in crops])
        return [(180 if "180" in str(label) else 0, float(score)) for label, score in out.cls_res]


def _bgr(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        import cv2

        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    return np.ascontiguousarray(image)
