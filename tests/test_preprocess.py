"""Image preparation: geometry helpers (pure) and orientation/skew on real rapidocr models."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
from builders import render_lines

from extractors.ocr import create_engine
from extractors.preprocess import (
    Prepared,
    deskew,
    downscale,
    estimate_skew,
    ocr_page,
    prepare_for_ocr,
    red_ink_mask,
    rotate_image,
    rotate_point,
    seal_regions,
    sideways_share,
    suppress_seal_ink,
)
from pipeline.metrics import cer
from pipeline.settings import Settings

LINES = [
    "服务合同",
    "甲方：江苏某某科技有限公司",
    "乙方：阿里云计算有限公司",
    "服务内容：云服务器ECS、对象存储OSS、云数据库RDS",
    "合同金额：人民币壹拾贰万元整（¥120000.00）",
    "服务期限：2024年01月01日至2024年12月31日",
]


def rect_quad(cx: float, cy: float, w: float, h: float, degrees: float):
    """A w×h box centred at (cx, cy) turned by ``degrees`` (positive: clockwise on screen)."""
    a = math.radians(degrees)
    ux, uy = math.cos(a), math.sin(a)
    vx, vy = -math.sin(a), math.cos(a)
    pts = []
    for sx, sy in ((-1, -1), (1, -1), (1, 1), (-1, 1)):
        pts.append((cx + sx * w / 2 * ux + sy * h / 2 * vx, cy + sx * w / 2 * uy + sy * h / 2 * vy))
    return tuple(pts)


@pytest.fixture(scope="module")
def page() -> np.ndarray:
    rgb = render_lines(LINES, size=(1200, 520), font_px=30, title_px=40, margin=50)
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)


@pytest.fixture(scope="module")
def settings(tmp_path_factory) -> Settings:
    return Settings(cache_dir=tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="module")
def engine(settings):
    return create_engine(settings, "rapidocr")


# --------------------------------------------------------------------------- pure helpers


def test_downscale_caps_the_long_side_and_never_enlarges():
    big = np.zeros((3000, 1500, 3), np.uint8)
    small, scale = downscale(big, 2200)
    assert small.shape[:2] == (2200, 1100)
    assert scale == pytest.approx(2200 / 3000)
    same, one = downscale(np.zeros((100, 50, 3), np.uint8), 2200)
    assert one == 1.0 and same.shape == (100, 50, 3)


@pytest.mark.parametrize("rotation", [0, 90, 180, 270])
def test_rotate_point_agrees_with_rotate_image(rotation):
    img = np.zeros((40, 70), np.uint8)
    img[7, 23] = 255
    out = rotate_image(img, rotation)
    ys, xs = np.nonzero(out)
    x, y = rotate_point(23 + 0.5, 7 + 0.5, rotation, 70, 40)
    assert (xs[0] + 0.5, ys[0] + 0.5) == pytest.approx((x, y))


@pytest.mark.parametrize("tilt", [-7.0, -2.5, 0.0, 1.5, 4.0])
def test_estimate_skew_reads_the_tilt_of_line_boxes(tilt):
    quads = [rect_quad(400, 60 + 50 * i, 500, 30, tilt) for i in range(6)]
    assert estimate_skew(quads) == pytest.approx(tilt, abs=0.05)


def test_estimate_skew_is_invariant_to_quarter_turns():
    quads = [rect_quad(400, 60 + 50 * i, 500, 30, 3.0 + 90.0) for i in range(6)]
    assert estimate_skew(quads) == pytest.approx(3.0, abs=0.05)


def test_estimate_skew_needs_enough_long_lines():
    assert estimate_skew([rect_quad(100, 100, 500, 30, 5.0)] * 2) == 0.0
    assert estimate_skew([rect_quad(100, 100 + i, 40, 30, 5.0) for i in range(5)]) == 0.0


def test_sideways_share_tells_standing_lines_from_lying_ones():
    lying = [rect_quad(300, 50 * i + 40, 400, 30, 0) for i in range(5)]
    standing = [rect_quad(50 * i + 40, 300, 30, 400, 0) for i in range(5)]
    squares = [rect_quad(100, 100, 30, 30, 0)] * 10
    assert sideways_share(lying + squares) == 0.0
    assert sideways_share(standing + squares) == 1.0
    assert sideways_share(squares) == 0.0


def test_deskew_undoes_a_known_rotation_on_an_enlarged_white_canvas():
    img = np.full((200, 400, 3), 255, np.uint8)
    cv2.line(img, (50, 100), (350, 100), (0, 0, 0), 3)
    m = cv2.getRotationMatrix2D((200, 100), -5.0, 1.0)  # lines fall to the right by 5°
    tilted = cv2.warpAffine(img, m, (400, 200), borderValue=(255, 255, 255))
    out, matrix = deskew(tilted, 5.0)
    assert out.shape[0] > 200 and out.shape[1] > 400
    assert out[0, 0].tolist() == [255, 255, 255]
    ys, xs = np.nonzero(out[:, :, 0] < 128)
    slope = np.polyfit(xs, ys, 1)[0]
    assert abs(math.degrees(math.atan(slope))) < 0.5
    assert matrix.shape == (2, 3)


# --------------------------------------------------------------------------- real models


@pytest.mark.parametrize("turn", [0, 90, 180, 270])
def test_prepare_for_ocr_turns_the_page_upright(engine, settings, page, turn):
    prepared = prepare_for_ocr(rotate_image(page, turn), settings, engine)
    assert isinstance(prepared, Prepared)
    assert (prepared.rotation + turn) % 360 == 0
    assert prepared.image.shape[:2] == page.shape[:2]
    assert abs(prepared.skew_degrees) < 0.3


def test_prepare_for_ocr_measures_and_removes_skew(engine, settings, page):
    h, w = page.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), 4.0, 1.0)  # counter-clockwise: lines rise
    tilted = cv2.warpAffine(page, m, (w, h), borderValue=(255, 255, 255))
    prepared = prepare_for_ocr(tilted, settings, engine)
    assert prepared.rotation == 0
    assert prepared.skew_degrees == pytest.approx(-4.0, abs=0.6)
    again = prepare_for_ocr(prepared.image, settings, engine)
    assert abs(again.skew_degrees) < 0.6


def test_prepare_for_ocr_downscales_huge_images(engine, settings, page):
    huge = cv2.resize(page, (page.shape[1] * 3, page.shape[0] * 3))
    prepared = prepare_for_ocr(huge, settings, engine)
    assert max(prepared.image.shape[:2]) <= settings.ocr_max_side
    assert prepared.scale == pytest.approx(settings.ocr_max_side / (page.shape[1] * 3), rel=1e-3)


def test_ocr_page_maps_boxes_back_to_full_resolution(engine, settings, page):
    huge = cv2.resize(page, (page.shape[1] * 3, page.shape[0] * 3), interpolation=cv2.INTER_CUBIC)
    result = ocr_page(huge, engine, settings)
    assert result.scale < 1.0
    assert (result.width, result.height) == (huge.shape[1], huge.shape[0])
    assert cer(LINES, [ln.text for ln in result.lines]) < 0.03
    normal = ocr_page(page, engine, settings)
    by_text = {ln.text: ln.box for ln in normal.lines}
    matched = 0
    for ln in result.lines:
        if ln.text in by_text:
            matched += 1
            assert np.allclose(np.array(ln.box) / 3.0, by_text[ln.text], atol=6.0)
    assert matched >= 4


def test_ocr_page_on_an_upright_page_runs_the_engine_once(engine, settings, page):
    result = ocr_page(page, engine, settings)
    assert result.rotation == 0 and result.passes == 1
    assert 0.9 < result.confidence <= 1.0
    assert cer(LINES, [ln.text for ln in result.lines]) < 0.02


def test_ocr_page_drops_lines_below_the_confidence_floor(engine, page, tmp_path):
    strict = Settings(cache_dir=tmp_path, ocr_min_confidence=1.0)
    result = ocr_page(page, engine, strict)
    assert all(ln.confidence >= 1.0 for ln in result.lines)
    assert len(result.lines) < len(LINES)


def test_ocr_page_accepts_grey_and_bgra_images(engine, settings, page):
    grey = cv2.cvtColor(page, cv2.COLOR_BGR2GRAY)
    bgra = cv2.cvtColor(page, cv2.COLOR_BGR2BGRA)
    for img in (grey, bgra):
        result = ocr_page(img, engine, settings)
        assert cer(LINES, [ln.text for ln in result.lines]) < 0.03


def test_ocr_page_on_a_blank_page_reads_nothing(engine, settings):
    result = ocr_page(np.full((600, 800, 3), 255, np.uint8), engine, settings)
    assert result.lines == () and result.confidence == 0.0 and result.rotation == 0


# --------------------------------------------------------------------------- seal ink


def draw_seal(img: np.ndarray, centre: tuple[int, int], radius: int, text: str = "合同专用章") -> None:
    """A red round seal: ring, star, a line of text (drawn with PIL on the BGR array in place)."""
    from PIL import Image, ImageDraw, ImageFont

    from builders import NOTO

    pil = Image.fromarray(cv2.cvtColor(img, cv2.COLOR_BGR2RGB))
    overlay = Image.new("RGBA", pil.size, (0, 0, 0, 0))
    d = ImageDraw.Draw(overlay)
    x, y = centre
    red = (220, 30, 30, 200)
    d.ellipse((x - radius, y - radius, x + radius, y + radius), outline=red, width=max(3, radius // 14))
    star = [(x + radius * 0.3 * math.cos(math.radians(-90 + 72 * k * 2)), y + radius * 0.3 * math.sin(math.radians(-90 + 72 * k * 2))) for k in range(5)]
    d.polygon(star, fill=red)
    font = ImageFont.truetype(NOTO, max(10, radius // 5))
    d.text((x - radius * 0.55, y + radius * 0.4), text, fill=red, font=font)
    pil = Image.alpha_composite(pil.convert("RGBA"), overlay).convert("RGB")
    img[:] = cv2.cvtColor(np.asarray(pil), cv2.COLOR_RGB2BGR)


def test_seal_regions_find_a_seal_and_ignore_red_text(page):
    img = page.copy()
    # Red text (like an invoice's 发票联 or a console alert) is not a seal.
    cv2.putText(img, "ALERT ALERT", (700, 60), cv2.FONT_HERSHEY_SIMPLEX, 1.2, (30, 30, 220), 3)
    assert seal_regions(img) == []
    draw_seal(img, (900, 300), 110)
    boxes = seal_regions(img)
    assert len(boxes) == 1
    x0, y0, x1, y1 = boxes[0]
    assert x0 < 800 < 1000 < x1 and y0 < 200 < 400 < y1


def test_suppress_seal_ink_keeps_the_print_under_the_seal(engine, settings, page):
    img = page.copy()
    # Over the end of the contract-amount line, as seals sit on a signature line.
    draw_seal(img, (700, 300), 100)
    cleaned, n = suppress_seal_ink(img)
    assert n == 1
    red = red_ink_mask(cleaned)
    assert np.count_nonzero(red) < 0.05 * np.count_nonzero(red_ink_mask(img))
    with_seal = ocr_page(img, engine, settings, suppress_seals=False)
    without = ocr_page(img, engine, settings)
    assert any("seal ink" in note for note in without.notes)
    assert cer(LINES, [ln.text for ln in without.lines]) < cer(LINES, [ln.text for ln in with_seal.lines])
    assert cer(LINES, [ln.text for ln in without.lines]) < 0.03
    assert not any("专用章" in ln.text for ln in without.lines)
