"""Invoice QR codes: payload parsing, decoding from invoice-like pages (clean, scanned and
photographed), and the cross-check against the printed fields."""

from __future__ import annotations

import io
from decimal import Decimal

import cv2
import numpy as np
import pytest
import segno
from PIL import Image, ImageDraw, ImageFont

from extractors.qr import (
    InvoiceQr,
    cross_check,
    decode_invoice_qr,
    decode_qr_codes,
    parse_invoice_qr,
)

FONT = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"

DIGITAL = "01,32,,24322000000012345678,1130.00,20240305,,A1B2"
LEGACY = "01,04,032002300111,08563217,11886.79,20240315,12345678901234567890,7C3E"
LEGACY_SPECIAL = "01,01,3200231130,08563217,11886.79,20240315,,BE2D"


# --------------------------------------------------------------------------- parsing


def test_parse_digital_invoice_payload():
    qr = parse_invoice_qr(DIGITAL)
    assert qr is not None
    assert qr.digital and qr.amount_basis == "total"
    assert qr.invoice_code is None and qr.invoice_number == "24322000000012345678"
    assert qr.amount == Decimal("1130.00") and qr.date == "2024-03-05"
    assert qr.check_code is None and qr.hash == "A1B2"
    assert qr.type_code == "32" and qr.type_name == "电子发票(普通发票)"


def test_parse_legacy_invoice_payloads():
    qr = parse_invoice_qr(LEGACY)
    assert qr is not None and not qr.digital and qr.amount_basis == "excl_tax"
    assert (qr.invoice_code, qr.invoice_number, qr.check_code) == ("032002300111", "08563217", "12345678901234567890")
    assert qr.amount == Decimal("11886.79") and qr.date == "2024-03-15"
    special = parse_invoice_qr(LEGACY_SPECIAL)
    assert special is not None and special.check_code is None and special.type_name == "增值税专用发票"


@pytest.mark.parametrize("payload", [
    "01,32,,24322000000012345678,1130.00,20240305",  # ends after the date
    "01,32,,24322000000012345678,1130.00,20240305,,A1B2,",  # trailing comma
    "01，32，，24322000000012345678，1130.00，20240305，，A1B2",  # full-width commas
])
def test_parse_tolerates_layout_variants(payload):
    qr = parse_invoice_qr(payload)
    assert qr is not None and qr.invoice_number == "24322000000012345678" and qr.date == "2024-03-05"


@pytest.mark.parametrize("payload", [
    "https://inv-veri.chinatax.gov.cn/?x=1",
    "02,32,,24322000000012345678,1130.00,20240305,,A1B2",  # not a version-01 record
    "01,32,,",  # too short
    "01,32,,2432200000001234567X,1130.00,20240305,,A1B2",  # number not digits
    "01,32,,24322000000012345678,1130.00,20241305,,A1B2",  # month 13
    "",
    None,
])
def test_non_invoice_payloads_are_refused(payload):
    assert parse_invoice_qr(payload) is None


def test_unknown_type_code_with_digital_layout_is_still_digital():
    qr = parse_invoice_qr("01,51,,26339132621000219582,56.00,20260423,,219a")
    assert qr is not None and qr.digital and qr.amount_basis == "total" and qr.type_name is None


# --------------------------------------------------------------------------- pages


def _qr_image(payload: str, module_px: int) -> np.ndarray:
    buf = io.BytesIO()
    segno.make(payload, error="m", micro=False).save(buf, kind="png", scale=module_px, border=0)
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("L"))


def invoice_page(payload: str, *, qr_mm: float = 20.0, ppm: float = 8.0) -> tuple[np.ndarray, tuple[float, ...]]:
    """A 240×140 mm invoice-like page with the QR printed top left; returns BGR and the QR's box."""
    w, h = int(240 * ppm), int(140 * ppm)
    page = Image.new("RGB", (w, h), "white")
    d = ImageDraw.Draw(page)
    title = ImageFont.truetype(FONT, int(6 * ppm), index=2)
    body = ImageFont.truetype(FONT, int(3.2 * ppm), index=2)
    d.text((w / 2, 12 * ppm), "电子发票（普通发票）", font=title, fill=(150, 60, 40), anchor="mm")
    d.text((170 * ppm, 8 * ppm), "发票号码：24322000000012345678", font=body, fill=(20, 20, 20))
    d.text((170 * ppm, 14 * ppm), "开票日期：2024年03月05日", font=body, fill=(20, 20, 20))
    for k in range(6):
        d.text((15 * ppm, (40 + 12 * k) * ppm), "*信息技术服务*云服务器 1 台 ¥1000.00 13% ¥130.00",
               font=body, fill=(20, 20, 20))
    d.rectangle((10 * ppm, 32 * ppm, 230 * ppm, 130 * ppm), outline=(150, 60, 40), width=2)
    q = _qr_image(payload, 4)
    side = int(qr_mm * ppm)
    q = cv2.resize(q, (side, side), interpolation=cv2.INTER_NEAREST)
    x0, y0 = int(8 * ppm), int(5 * ppm)
    arr = np.asarray(page).copy()
    arr[y0:y0 + side, x0:x0 + side] = q[..., None]
    return np.ascontiguousarray(arr[:, :, ::-1]), (x0 / w, y0 / h, (x0 + side) / w, (y0 + side) / h)


def _photo(img: np.ndarray, seed: int) -> np.ndarray:
    """Phone-photo degradation: perspective, uneven warm light, blur, noise, JPEG."""
    rng = np.random.default_rng(seed)
    h, w = img.shape[:2]
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    dst = src + rng.uniform(-0.03, 0.03, (4, 2)).astype(np.float32) * np.float32([w, h])
    warped = cv2.warpPerspective(img, cv2.getPerspectiveTransform(src, dst), (w, h),
                                 borderMode=cv2.BORDER_CONSTANT, borderValue=(70, 70, 70)).astype(np.float32)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    light = 0.7 + 0.3 * (xx / w) * (1 - 0.3 * yy / h)
    warped *= light[..., None] * np.float32([0.82, 0.92, 1.0])
    warped = cv2.GaussianBlur(warped, (0, 0), 1.1) + rng.normal(0, 5, warped.shape)
    ok, jpg = cv2.imencode(".jpg", np.clip(warped, 0, 255).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, 45])
    assert ok
    return cv2.imdecode(jpg, cv2.IMREAD_COLOR)


def _iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def test_decodes_clean_invoice_page_with_box():
    img, box = invoice_page(DIGITAL)
    qr = decode_invoice_qr(img)
    assert qr is not None and qr.raw == DIGITAL
    assert qr.bbox is not None and _iou(qr.bbox, box) > 0.8


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_decodes_photographed_invoice(seed):
    img, box = invoice_page(LEGACY, qr_mm=18.0, ppm=7.0)
    qr = decode_invoice_qr(_photo(img, seed))
    assert qr is not None and qr.invoice_number == "08563217" and qr.amount == Decimal("11886.79")
    assert qr.bbox is not None and _iou(qr.bbox, box) > 0.5


@pytest.mark.parametrize("ppm,qr_mm,blur", [(4.0, 15.0, 0.8), (2.5, 15.0, 0.0)])
def test_small_soft_qr_is_read_from_the_upscaled_corner(ppm, qr_mm, blur):
    """Codes whose modules are about 2 px (and soft) are not found on the whole page; the
    upscaled (and sharpened) top-left corner finds them."""
    img, box = invoice_page(DIGITAL, qr_mm=qr_mm, ppm=ppm)
    if blur:
        img = cv2.GaussianBlur(img, (0, 0), blur)
    from extractors.qr import _decode_once

    assert _decode_once(img) == []  # the whole-page pass alone fails here
    qr = decode_invoice_qr(img)
    assert qr is not None and qr.invoice_number == "24322000000012345678"
    assert qr.bbox is not None and _iou(qr.bbox, box) > 0.6


def test_page_without_qr_and_non_invoice_qr():
    blank, _ = invoice_page(DIGITAL)
    blank[: blank.shape[0] // 3, : blank.shape[1] // 4] = 255  # erase the code
    assert decode_qr_codes(blank) == []
    assert decode_invoice_qr(blank) is None
    url, _ = invoice_page("https://example.com/pay?id=42")
    assert [c.text for c in decode_qr_codes(url)] == ["https://example.com/pay?id=42"]
    assert decode_invoice_qr(url) is None


# --------------------------------------------------------------------------- cross-check


def _by_field(checks):
    return {c.field: c for c in checks}


def test_cross_check_digital_invoice_agrees_and_disagrees():
    qr = parse_invoice_qr(DIGITAL)
    good = _by_field(cross_check(qr, {"invoice_number": "24322000000012345678", "date": "2024年03月05日",
                                      "amount_yuan": 1130.0}))
    assert set(good) == {"invoice_number", "date", "amount_yuan"}
    assert all(c.agrees for c in good.values())
    bad = _by_field(cross_check(qr, {"invoice_number": "24322000000012345679", "date": "2024-03-06",
                                     "amount_yuan": "¥1,130.01", "invoice_code": "032002300111"}))
    assert not any(c.agrees for c in bad.values())
    assert bad["invoice_code"].note  # a 数电 invoice has no code


def test_cross_check_legacy_net_amount_against_total():
    qr = parse_invoice_qr(LEGACY)  # net 11886.79
    plus_vat = _by_field(cross_check(qr, {"amount_yuan": 12600.00}))  # +6 % VAT
    assert plus_vat["amount_yuan"].agrees is True and "6%" in plus_vat["amount_yuan"].note
    odd = _by_field(cross_check(qr, {"amount_yuan": 12345.00}))  # not one VAT rate above it
    assert odd["amount_yuan"].agrees is None
    less = _by_field(cross_check(qr, {"amount_yuan": 10000.00}))  # total below the net amount
    assert less["amount_yuan"].agrees is False
    net = _by_field(cross_check(qr, {"amount_yuan": 12600.00, "tax_yuan": 713.21}))
    assert net["amount_excl_tax_yuan"].agrees is True
    assert _by_field(cross_check(qr, {"check_code": "12345 67890 12345 67890"}))["check_code"].agrees
    assert _by_field(cross_check(qr, {"invoice_code": "032002300111"}))["invoice_code"].agrees


def test_cross_check_accepts_document_fields_model():
    from pipeline.model import DocumentFields

    qr = parse_invoice_qr(DIGITAL)
    checks = cross_check(qr, DocumentFields(invoice_number="24322000000012345678", amount_yuan=1130.0))
    assert {c.field: c.agrees for c in checks} == {"invoice_number": True, "amount_yuan": True}


def test_end_to_end_photo_then_cross_check():
    img, _ = invoice_page(DIGITAL, qr_mm=20.0, ppm=7.0)
    qr = decode_invoice_qr(_photo(img, 9))
    assert isinstance(qr, InvoiceQr)
    checks = cross_check(qr, {"invoice_number": "24322000000012345678", "amount_yuan": 1130.0, "date": "2024-03-05"})
    assert [c.agrees for c in checks] == [True, True, True]
