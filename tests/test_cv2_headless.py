"""The installed OpenCV is the headless contrib build, and both OCR engines run on it.

rapidocr requires ``opencv-python-headless`` and paddlex (the ``paddle`` extra) requires the GUI
build ``opencv-contrib-python``; all of them unpack the same ``cv2`` package, so whichever pip
wrote last wins. ``make install-dev`` pins every OpenCV distribution to 4.10.0.84
(``constraints.txt``) and lays ``opencv-contrib-python-headless`` down last. These tests prove the
result: the cv2 extension that is actually loaded links no GUI library, carries the contrib
WeChat QR decoder, and both engines read a page with it.
"""

from __future__ import annotations

import importlib.metadata as md
import re
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest
from builders import render_lines

from extractors.ocr import clear_engine_cache, create_engine
from pipeline.metrics import cer
from pipeline.settings import Settings

GUI_LIBS = re.compile(r"\blib(?:(?:GL|GLX|EGL|X11|Xext|xcb|SM|ICE)[.-]|Qt\d|gtk|gdk|gthread)")
LINES = ["星级上云企业评定", "统一社会信用代码：91320106MA1MXY2K4P", "云服务费：¥12600.00"]


def loaded_cv2_extension() -> Path:
    """The cv2 shared object mapped into this process (not merely one lying on disk)."""
    maps = Path("/proc/self/maps").read_text()
    paths = {line.split()[-1] for line in maps.splitlines() if "/cv2/" in line and ".so" in line}
    ours = [p for p in paths if re.search(r"/cv2/cv2[^/]*\.so$", p)]
    assert len(ours) == 1, f"expected one loaded cv2 extension, got {sorted(paths)}"
    return Path(ours[0])


def needed(path: Path) -> list[str]:
    out = subprocess.run(["readelf", "-d", str(path)], capture_output=True, text=True, check=True).stdout
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out)


@pytest.mark.parametrize(
    "name, gui",
    [
        ("libQt5Widgets-e392eaf8.so.5.15.13", True),
        ("libGL.so.1", True),
        ("libX11.so.6", True),
        ("libxcb-shm.so.0", True),
        ("libgthread-2.0.so.0", True),
        ("libpng16-1bde1c40.so.16.43.0", False),
        ("libavcodec-9aae324f.so.59.37.100", False),
        ("libglib-2.0.so.0", False),
    ],
)
def test_gui_library_pattern(name, gui):
    assert bool(GUI_LIBS.search(name)) is gui


def test_loaded_cv2_links_no_gui_library():
    so = loaded_cv2_extension()
    direct = needed(so)
    assert direct, "readelf found no NEEDED entries"
    assert not [lib for lib in direct if GUI_LIBS.search(lib)]
    # Transitively as well: everything the dynamic loader would pull in.
    ldd = subprocess.run(["ldd", str(so)], capture_output=True, text=True, check=True).stdout
    gui = [line.strip() for line in ldd.splitlines() if GUI_LIBS.search(line)]
    assert gui == []
    assert "not found" not in ldd


def test_loaded_cv2_is_the_pinned_headless_contrib_build():
    assert cv2.__version__ == "4.10.0"
    assert md.version("opencv-contrib-python-headless") == "4.10.0.84"
    # The loaded extension's sidecar libraries come from the headless contrib wheel.
    ldd = subprocess.run(["ldd", str(loaded_cv2_extension())], capture_output=True, text=True, check=True).stdout
    assert "opencv_contrib_python_headless.libs" in ldd
    build = cv2.getBuildInformation()
    assert re.search(r"GUI:\s+NONE", build), "this cv2 was built with a GUI backend"


def test_wechat_qr_decoder_reads_a_generated_code():
    assert hasattr(cv2, "wechat_qrcode_WeChatQRCode")
    code = cv2.QRCodeEncoder.create().encode("yunshen 91320106MA1MXY2K4P")
    img = cv2.resize(code, None, fx=8, fy=8, interpolation=cv2.INTER_NEAREST)
    img = cv2.copyMakeBorder(img, 40, 40, 40, 40, cv2.BORDER_CONSTANT, value=255)
    texts, _points = cv2.wechat_qrcode_WeChatQRCode().detectAndDecode(cv2.cvtColor(img, cv2.COLOR_GRAY2BGR))
    assert list(texts) == ["yunshen 91320106MA1MXY2K4P"]


def _page() -> np.ndarray:
    return cv2.cvtColor(render_lines(LINES, size=(900, 300), font_px=30, title_px=36, margin=40), cv2.COLOR_RGB2BGR)


def test_rapidocr_runs_on_this_cv2(tmp_path):
    engine = create_engine(Settings(cache_dir=tmp_path), "rapidocr")
    assert cer(LINES, [ln.text for ln in engine.recognize(_page())]) < 0.03


@pytest.mark.paddle
def test_paddleocr_runs_on_this_cv2(tmp_path):
    from paddlex.utils.deps import is_dep_available

    # paddlex checks by distribution *name* that the contrib build is installed.
    assert is_dep_available("opencv-contrib-python")
    clear_engine_cache()
    engine = create_engine(Settings(ocr_engine="paddleocr", cache_dir=tmp_path))
    assert cer(LINES, [ln.text for ln in engine.recognize(_page())]) < 0.03
    # And still the headless extension after paddlex imported cv2 its own way.
    so = loaded_cv2_extension()
    assert not [lib for lib in needed(so) if GUI_LIBS.search(lib)]
