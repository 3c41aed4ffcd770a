"""OCR engines on real models (no mocks): rapidocr, PaddleOCR (extra), Tesseract (baseline).

Tests marked ``paddle`` need the ``paddle`` extra; they fail, not skip, when it is missing.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import cv2
import numpy as np
import pytest
from builders import render_lines

from extractors.ocr import available_engines, clear_engine_cache, create_engine, engine_identity
from extractors.ocr.base import EngineUnavailable, OcrEngine
from extractors.preprocess import ocr_page, rotate_image
from pipeline.metrics import cer
from pipeline.settings import Settings

LINES = [
    "江苏增值税专用发票",
    "发票号码：08563217",
    "开票日期：2024年03月15日",
    "购买方名称：江苏某某科技有限公司",
    "纳税人识别号：91320106MA1MXY2K4P",
    "项目名称：*信息技术服务*云服务器ECS",
    "价税合计（大写）壹万贰仟陆佰元整",
    "（小写）¥12600.00",
]


def page_image() -> np.ndarray:
    """A BGR page of Chinese invoice text drawn with Noto Sans CJK."""
    rgb = render_lines(LINES, size=(1100, 560), font_px=30, title_px=40, margin=50)
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)


@pytest.fixture(scope="module")
def image() -> np.ndarray:
    return page_image()


@pytest.fixture(scope="module")
def rapid_settings(tmp_path_factory) -> Settings:
    return Settings(cache_dir=tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="module")
def rapid(rapid_settings) -> OcrEngine:
    return create_engine(rapid_settings, "rapidocr")


def texts(lines) -> list[str]:  # noqa: ANN001
    return [ln.text for ln in lines]


# --------------------------------------------------------------------------- rapidocr


def test_rapidocr_reads_generated_page(rapid, image):
    lines = rapid.recognize(image)
    assert cer(LINES, texts(lines)) < 0.02
    h, w = image.shape[:2]
    for ln in lines:
        x0, y0, x1, y1 = ln.box
        assert 0 <= x0 < x1 <= w + 1 and 0 <= y0 < y1 <= h + 1
        assert 0.0 <= ln.confidence <= 1.0
        assert len(ln.polygon) == 4


@pytest.mark.parametrize("turn", [90, 180, 270])
def test_ocr_page_reads_a_turned_page_upright(rapid, rapid_settings, image, turn):
    turned = rotate_image(image, turn)
    result = ocr_page(turned, rapid, rapid_settings)
    assert (result.rotation + turn) % 360 == 0
    assert (result.width, result.height) == (image.shape[1], image.shape[0])
    assert cer(LINES, texts(result.lines)) < 0.03
    # Boxes are in the upright frame: the title is the top line, at the left margin.
    title = min(result.lines, key=lambda ln: ln.box[1])
    assert "增值税" in title.text
    assert title.box[0] < 120 and title.box[1] < 120


def test_rapidocr_engine_never_needs_the_network(rapid_settings, image, monkeypatch):
    """A fresh engine loads and reads with every socket connect refused and a dead proxy."""
    attempts: list[object] = []

    def refuse(self, address):  # noqa: ANN001
        attempts.append(address)
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY"):
        monkeypatch.setenv(var, "http://127.0.0.1:9")
    clear_engine_cache()
    engine = create_engine(rapid_settings, "rapidocr")
    assert cer(LINES, texts(engine.recognize(image))) < 0.02
    assert attempts == []


def test_rapidocr_missing_model_raises_engine_unavailable(rapid_settings, monkeypatch, tmp_path):
    from extractors.ocr import rapid as rapid_module

    monkeypatch.setattr(rapid_module, "model_dir", lambda: tmp_path / "no-models")
    clear_engine_cache()
    with pytest.raises(EngineUnavailable) as err:
        create_engine(rapid_settings, "rapidocr")
    assert "YUNSHEN_OCR_ENGINE" in str(err.value)
    assert "PP-OCRv6_det_small.onnx" in str(err.value)
    clear_engine_cache()


def test_engine_cache_gives_one_instance_per_settings(rapid_settings):
    a = create_engine(rapid_settings, "rapidocr")
    assert create_engine(rapid_settings, "rapidocr") is a
    other = Settings(cache_dir=rapid_settings.cache_dir, ocr_threads=1)
    assert create_engine(other, "rapidocr") is not a


def test_engine_identity_matches_engine_version(rapid_settings):
    engine = create_engine(rapid_settings, "rapidocr")
    assert engine_identity(rapid_settings, "rapidocr") == ("rapidocr", engine.version)
    assert isinstance(engine, OcrEngine)


def test_available_engines_lists_the_embedded_default():
    assert "rapidocr" in available_engines()


def test_unknown_engine_name_names_the_setting(rapid_settings):
    with pytest.raises(EngineUnavailable, match="YUNSHEN_OCR_ENGINE"):
        create_engine(rapid_settings, "nonesuch")


# --------------------------------------------------------------------------- PaddleOCR


def test_missing_paddle_model_dir_raises_engine_unavailable(tmp_path):
    settings = Settings(ocr_engine="paddleocr", paddle_model_dir=tmp_path / "nowhere", cache_dir=tmp_path)
    clear_engine_cache()
    with pytest.raises(EngineUnavailable) as err:
        create_engine(settings)
    assert "YUNSHEN_PADDLE_MODEL_DIR" in str(err.value)


@pytest.fixture(scope="module")
def paddle_settings(tmp_path_factory) -> Settings:
    return Settings(ocr_engine="paddleocr", cache_dir=tmp_path_factory.mktemp("paddle-cache"))


@pytest.mark.paddle
def test_paddle_model_folders_are_built_from_the_wheel(paddle_settings, tmp_path):
    import yaml

    from extractors.ocr.paddle_models import MODEL_NAMES, build_model_dirs, folder_complete

    folders = build_model_dirs(paddle_settings, root=tmp_path / "models")
    for task, folder in folders.items():
        assert folder_complete(folder, "onnxruntime")
        meta = yaml.safe_load((folder / "inference.yml").read_text(encoding="utf-8"))
        assert meta["Global"]["model_name"] == MODEL_NAMES[task]
    chars = yaml.safe_load((folders["rec"] / "inference.yml").read_text(encoding="utf-8"))
    assert len(chars["PostProcess"]["character_dict"]) > 6000
    # Idempotent: a second call leaves complete folders alone.
    stamp = (folders["det"] / "inference.onnx").stat().st_mtime_ns
    build_model_dirs(paddle_settings, root=tmp_path / "models")
    assert (folders["det"] / "inference.onnx").stat().st_mtime_ns == stamp


@pytest.mark.paddle
def test_paddleocr_reads_generated_page_offline(paddle_settings, image, monkeypatch):
    attempts: list[object] = []

    def refuse(self, address):  # noqa: ANN001
        attempts.append(address)
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    clear_engine_cache()
    engine = create_engine(paddle_settings)
    assert engine.name == "paddleocr"
    assert engine_identity(paddle_settings) == ("paddleocr", engine.version)
    lines = engine.recognize(image)
    assert cer(LINES, texts(lines)) < 0.03
    assert attempts == []
    assert os.environ.get("PADDLE_PDX_DISABLE_MODEL_SOURCE_CHECK") == "True"


GUARDED_RUN = r"""
import json, socket, sys
attempts = []
def refuse(self, address):
    attempts.append(repr(address))
    raise OSError("network disabled")
socket.socket.connect = refuse
real_getaddrinfo = socket.getaddrinfo
def no_dns(host, *a, **k):
    attempts.append("dns:" + str(host))
    raise socket.gaierror("dns disabled")
socket.getaddrinfo = no_dns
import cv2
from pipeline.settings import Settings
from extractors.ocr import create_engine
engine = create_engine(Settings(ocr_engine=sys.argv[1], cache_dir=sys.argv[2]))
lines = engine.recognize(cv2.imread(sys.argv[3]))
print(json.dumps({"attempts": attempts, "texts": [l.text for l in lines]}, ensure_ascii=False))
"""


@pytest.mark.parametrize("engine_name", [pytest.param("paddleocr", marks=pytest.mark.paddle), "rapidocr"])
def test_a_fresh_process_imports_loads_and_reads_without_any_network(engine_name, image, tmp_path):
    """From the first import on (paddlex reads its flags at import), with sockets and DNS
    refused and proxies pointing at a closed port."""
    import json
    import subprocess
    import sys

    page = tmp_path / "page.png"
    cv2.imwrite(str(page), image)
    env = {**os.environ, "HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9"}
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.run(
        [sys.executable, "-c", GUARDED_RUN, engine_name, str(tmp_path / "cache"), str(page)],
        capture_output=True, text=True, cwd=root, env=env, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["attempts"] == []
    assert cer(LINES, out["texts"]) < 0.03


@pytest.mark.paddle
def test_paddleocr_through_ocr_page_turns_a_page(paddle_settings, image):
    engine = create_engine(paddle_settings)
    result = ocr_page(rotate_image(image, 180), engine, paddle_settings)
    assert result.rotation == 180
    assert cer(LINES, texts(result.lines)) < 0.03


def test_paddle_inference_without_paddlepaddle_names_the_setting(tmp_path, monkeypatch):
    """``paddle_inference="paddle"`` needs paddlepaddle; without it the error says what to do."""
    from extractors.ocr import paddle as paddle_module

    monkeypatch.setattr(paddle_module, "paddlepaddle_version", lambda: None)
    clear_engine_cache()
    settings = Settings(ocr_engine="paddleocr", paddle_inference="paddle", cache_dir=tmp_path)
    with pytest.raises(EngineUnavailable, match="YUNSHEN_PADDLE_INFERENCE"):
        create_engine(settings)


# --------------------------------------------------------------------------- Tesseract


def test_tesseract_baseline_reads_generated_page(tmp_path, image):
    settings = Settings(ocr_engine="tesseract", cache_dir=tmp_path)
    engine = create_engine(settings)
    lines = engine.recognize(image)
    assert lines, "tesseract read nothing"
    assert cer(LINES, texts(lines)) < 0.35
    assert any(ln.words for ln in lines)


def test_tesseract_missing_binary_names_the_setting(tmp_path):
    settings = Settings(ocr_engine="tesseract", tesseract_cmd=str(Path(tmp_path) / "no-tesseract"))
    with pytest.raises(EngineUnavailable, match="YUNSHEN_TESSERACT_CMD"):
        create_engine(settings)
