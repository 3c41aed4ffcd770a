"""PaddleOCR 3.x engine (extra ``yunshen[paddle]``) on local PP-OCRv4-mobile model folders.

Never downloads: the model folders are given explicitly (built by :mod:`paddle_models` from a
PyPI wheel), PaddleX's model-hoster connectivity check is switched off through its environment
flag, and document orientation, unwarping and text-line orientation are off (their models can't
be had offline) — yunshen decides page orientation itself in :mod:`extractors.preprocess`.
"""

from __future__ import annotations

import os
import sys
from importlib import metadata
from pathlib import Path

import numpy as np

from extractors.ocr import paddle_models
from extractors.ocr.base import EngineUnavailable, OcrLine
from pipeline.settings import Settings

_FONT = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")


def offline_environment(settings: Settings) -> dict[str, str]:
    """Environment PaddleX reads at import time so that it never reaches a model hub.

    ``PADDLE_PDX_DISABLE_MODEL_SOURCE_CHECK`` skips the connectivity probe of the model hosters
    (``paddlex/inference/utils/official_models.py``); ``PADDLE_PDX_LOCAL_FONT_FILE_PATH`` stops the
    lazy font download used for visualisation; the hub libraries it imports are told offline.
    """
    env = {
        "PADDLE_PDX_DISABLE_MODEL_SOURCE_CHECK": "True",
        "PADDLE_PDX_CACHE_HOME": str(Path(settings.cache_dir).resolve() / "paddlex"),
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "MODELSCOPE_OFFLINE": "1",
        "PADDLEOCR_DISABLE_AUTO_LOGGING_CONFIG": "1",
        "FLAGS_use_mkldnn": "1",
    }
    if _FONT.is_file():
        env["PADDLE_PDX_LOCAL_FONT_FILE_PATH"] = str(_FONT)
    return env


def _version() -> str:
    try:
        return metadata.version("paddleocr")
    except metadata.PackageNotFoundError:
        return "missing"


def _force_no_model_source_check() -> None:
    """Switch the model-hoster probe off even if paddlex was imported before our environment.

    paddlex reads the flag once, at import, into ``paddlex.utils.flags`` and binds it by name in
    ``official_models``; we set the variable and, if those modules are already loaded, the names.
    """
    os.environ["PADDLE_PDX_DISABLE_MODEL_SOURCE_CHECK"] = "True"
    for module in ("paddlex.utils.flags", "paddlex.inference.utils.official_models"):
        loaded = sys.modules.get(module)
        if loaded is not None and hasattr(loaded, "DISABLE_MODEL_SOURCE_CHECK"):
            loaded.DISABLE_MODEL_SOURCE_CHECK = "True"


def paddlepaddle_version() -> str | None:
    """Installed paddlepaddle version, or None (only ``paddle_inference="paddle"`` needs it)."""
    try:
        return metadata.version("paddlepaddle")
    except metadata.PackageNotFoundError:
        return None


def resolve_model_dirs(settings: Settings) -> dict[str, Path]:
    """The det/rec folders to use; build them from the wheel into the cache when allowed.

    With ``YUNSHEN_PADDLE_MODEL_DIR`` set, the folders must already be there (we never write
    into a folder the operator pointed at); otherwise they are built on first use.
    """
    inference = settings.paddle_inference
    if settings.paddle_model_dir is not None:
        root = Path(settings.paddle_model_dir)
        folders = {m.task: root / m.task for m in paddle_models.MODELS}
        missing = [str(f) for f in folders.values() if not paddle_models.folder_complete(f, inference)]
        if missing:
            raise EngineUnavailable(
                f"PaddleOCR model folders missing or incomplete: {', '.join(missing)} "
                f"(YUNSHEN_PADDLE_MODEL_DIR={root}); build them with "
                f"`python -m extractors.ocr.paddle_models --root {root}` or unset "
                "YUNSHEN_PADDLE_MODEL_DIR to build them in the cache"
            )
        return folders
    try:
        return paddle_models.build_model_dirs(settings)
    except EngineUnavailable as exc:
        raise EngineUnavailable(f"{exc} (setting: YUNSHEN_PADDLE_MODEL_DIR)") from exc


DET_LIMIT_SIDE_LEN = 960
DET_LIMIT_TYPE = "max"


def engine_version(settings: Settings, det_limit_side_len: int = DET_LIMIT_SIDE_LEN, det_limit_type: str = DET_LIMIT_TYPE) -> str:
    """Package version + inference engine + models + det sizing; loads nothing."""
    inference = settings.paddle_inference
    if inference == "paddle":
        inference = f"paddle-{paddlepaddle_version() or 'missing'}"
    return f"paddleocr-{_version()}+{inference}+PP-OCRv4-mobile+det{det_limit_type}{det_limit_side_len}"


class PaddleOcrEngine:
    """PaddleOCR's OCR pipeline. Not thread-safe: one instance per process."""

    name = "paddleocr"

    def __init__(
        self,
        settings: Settings,
        det_limit_side_len: int = DET_LIMIT_SIDE_LEN,
        det_limit_type: str = DET_LIMIT_TYPE,
    ) -> None:
        if settings.paddle_inference == "paddle" and paddlepaddle_version() is None:
            raise EngineUnavailable(
                "YUNSHEN_PADDLE_INFERENCE=paddle needs paddlepaddle==3.2.2 "
                "(pip install paddlepaddle==3.2.2); or set YUNSHEN_PADDLE_INFERENCE=onnxruntime"
            )
        folders = resolve_model_dirs(settings)
        for key, value in offline_environment(settings).items():
            os.environ.setdefault(key, value)
        _force_no_model_source_check()
        try:
            from paddleocr import PaddleOCR
        except Exception as exc:  # ImportError, or paddlex's DependencyError for cv2
            raise EngineUnavailable(
                f"PaddleOCR cannot be imported ({type(exc).__name__}: {exc}); install the extra "
                "with `make install-dev` (pip install -e .[paddle] + the OpenCV re-lay), or set "
                "YUNSHEN_OCR_ENGINE=rapidocr"
            ) from exc
        _force_no_model_source_check()
        kwargs: dict[str, object] = {
            "text_detection_model_name": paddle_models.MODEL_NAMES["det"],
            "text_detection_model_dir": str(folders["det"]),
            "text_recognition_model_name": paddle_models.MODEL_NAMES["rec"],
            "text_recognition_model_dir": str(folders["rec"]),
            "use_doc_orientation_classify": False,
            "use_doc_unwarping": False,
            "use_textline_orientation": False,
            "text_det_limit_side_len": det_limit_side_len,
            "text_det_limit_type": det_limit_type,
            "text_rec_score_thresh": 0.0,
            "device": "cpu",
        }
        if settings.paddle_inference == "onnxruntime":
            kwargs["engine"] = "onnxruntime"
            kwargs["engine_config"] = {
                "intra_op_num_threads": settings.ocr_threads,
                "inter_op_num_threads": 1,
            }
        else:
            kwargs.update(engine="paddle_static", enable_mkldnn=True, cpu_threads=settings.ocr_threads)
        try:
            self._ocr = PaddleOCR(**kwargs)
        except Exception as exc:
            raise EngineUnavailable(
                f"PaddleOCR failed to start on {folders['det'].parent} ({type(exc).__name__}: {exc}); "
                "check YUNSHEN_PADDLE_MODEL_DIR / YUNSHEN_PADDLE_INFERENCE"
            ) from exc
        self.version = engine_version(settings, det_limit_side_len, det_limit_type)

    def recognize(self, image: np.ndarray) -> list[OcrLine]:
        """Read an upright BGR uint8 image; lines in the pipeline's reading order."""
        if image.ndim == 2:
            import cv2

            image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
        results = self._ocr.predict(np.ascontiguousarray(image))
        lines: list[OcrLine] = []
        for res in results:
            for text, score, poly in zip(res["rec_texts"], res["rec_scores"], res["rec_polys"]):
                if not str(text).strip():
                    continue
                pts = np.asarray(poly, dtype=float).reshape(-1, 2)
                box = (float(pts[:, 0].min()), float(pts[:, 1].min()), float(pts[:, 0].max()), float(pts[:, 1].max()))
                lines.append(
                    OcrLine(
                        text=str(text),
                        box=box,
                        confidence=float(score),
                        polygon=tuple((float(x), float(y)) for x, y in pts),
                    )
                )
        return lines
