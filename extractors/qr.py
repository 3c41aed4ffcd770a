"""Invoice QR codes: decode them with OpenCV and check them against the printed fields.

Every Chinese VAT invoice prints a QR code (top left) whose payload is a comma-separated record.
What we implement (verified against published parsers and real payloads; see tests/test_qr.py):

========  ===========================  =================================================
position  legacy 增值税发票              数电发票 (全面数字化电子发票, type 31/32 …)
========  ===========================  =================================================
0         version, ``01``              ``01``
1         type code (01 专票, 04 普票,  type code (31 电子发票(增值税专用发票),
          10 电子普票, 20 电子专票 …)    32 电子发票(普通发票) …)
2         发票代码 (10 or 12 digits)    empty — 数电 invoices have no code
3         发票号码 (8 digits)           发票号码 (20 digits)
4         金额 **excluding** tax        价税合计 — the total **including** tax
5         开票日期 ``YYYYMMDD``          开票日期 ``YYYYMMDD``
6         校验码 (20 digits; empty on   empty
          专票)
7         4-character hash/random code  4-character hash/random code
========  ===========================  =================================================

Some issuers end the record after the date or with a trailing comma; both are accepted. The
layout is told apart by the record itself (empty code + 20-digit number ⇒ 数电), not only by the
type code, so a new 数电 type code still parses with the right amount basis.

Decoding tries the WeChat detector (``cv2.wechat_qrcode_WeChatQRCode()`` built with no model
files uses its classic, model-free detector — nothing is downloaded) and then
``cv2.QRCodeDetector``, on the whole page and then on the upscaled top-left region where
invoices print the code, with a binarised variant for photos.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, Mapping

import cv2
import numpy as np

__all__ = [
    "InvoiceQr",
    "QrCheck",
    "QrCode",
    "INVOICE_TYPES",
    "decode_qr_codes",
    "decode_invoice_qr",
    "parse_invoice_qr",
    "cross_check",
]

INVOICE_TYPES: dict[str, str] = {
    "01": "增值税专用发票",
    "02": "货物运输业增值税专用发票",
    "03": "机动车销售统一发票",
    "04": "增值税普通发票",
    "10": "增值税电子普通发票",
    "11": "增值税普通发票(卷式)",
    "14": "增值税电子普通发票(通行费)",
    "15": "二手车销售统一发票",
    "20": "增值税电子专用发票",
    "31": "电子发票(增值税专用发票)",
    "32": "电子发票(普通发票)",
}
"""Type codes seen in the QR's second field (the standard table; unknown codes still parse)."""

_DIGITAL_TYPES = frozenset({"31", "32"})
_VAT_RATES = (0, 1, 3, 5, 6, 9, 10, 11, 13, 16, 17)
"""Rates (%) a Chinese VAT invoice has carried since 2012: used to judge a legacy QR's net
amount against a document that only states the total."""

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class QrCode:
    """A decoded QR code: its text and box (fractions of the image, origin top-left)."""

    text: str
    bbox: Box


@dataclass(frozen=True)
class InvoiceQr:
    """A parsed invoice QR payload.

    ``amount`` is as encoded: the net amount (不含税金额) on legacy invoices, the total (价税合计)
    on 数电 invoices — ``amount_basis`` says which. ``date`` is ISO ``YYYY-MM-DD``.
    """

    raw: str
    invoice_code: str | None
    invoice_number: str
    amount: Decimal | None
    date: str | None
    check_code: str | None
    bbox: Box | None = None
    type_code: str = ""
    type_name: str | None = None
    digital: bool = False
    amount_basis: Literal["excl_tax", "total"] = "excl_tax"
    hash: str | None = None


@dataclass(frozen=True)
class QrCheck:
    """One field compared between the QR and the document.

    ``agrees`` is ``None`` when the comparison cannot decide (a legacy QR's net amount against a
    document total that is not a single standard VAT rate away — mixed rates are possible).
    """

    field: str
    qr_value: str
    doc_value: str | None
    agrees: bool | None
    note: str | None = None


# --------------------------------------------------------------------------- parsing

_SPLIT = re.compile(r"[,，]")
_DIGITS = re.compile(r"^\d+$")


def _amount(text: str) -> Decimal | None:
    t = text.strip().replace("¥", "").replace("￥", "")
    if not re.fullmatch(r"-?\d+(\.\d{1,2})?", t):
        return None
    try:
        return Decimal(t)
    except InvalidOperation:  # pragma: no cover - the pattern excludes it
        return None


def _yyyymmdd(text: str) -> str | None:
    t = text.strip()
    if not re.fullmatch(r"\d{8}", t):
        return None
    try:
        return date(int(t[:4]), int(t[4:6]), int(t[6:])).isoformat()
    except ValueError:
        return None


def parse_invoice_qr(text: str | None, bbox: Box | None = None) -> InvoiceQr | None:
    """Parse an invoice QR payload; ``None`` if it is not one (a URL, a payment code …)."""
    if not text or len(text) > 400:
        return None
    parts = [p.strip() for p in _SPLIT.split(text.strip())]
    if len(parts) < 6 or parts[0] != "01" or not re.fullmatch(r"\d{2}", parts[1]):
        return None
    type_code, code, number = parts[1], parts[2], parts[3]
    if not _DIGITS.match(number) or (code and not _DIGITS.match(code)):
        return None
    if not 6 <= len(number) <= 20:
        return None
    day = _yyyymmdd(parts[5])
    if day is None:
        return None
    amount = _amount(parts[4]) if parts[4] else None
    digital = (not code and len(number) == 20) or type_code in _DIGITAL_TYPES
    check = parts[6] if len(parts) > 6 and parts[6] else None
    hsh = parts[7] if len(parts) > 7 and parts[7] else None
    return InvoiceQr(
        raw=text,
        invoice_code=code or None,
        invoice_number=number,
        amount=amount,
        date=day,
        check_code=check,
        bbox=bbox,
        type_code=type_code,
        type_name=INVOICE_TYPES.get(type_code),
        digital=digital,
        amount_basis="total" if digital else "excl_tax",
        hash=hsh,
    )


# --------------------------------------------------------------------------- decoding

_wechat: Any = None


def _wechat_detector() -> Any:
    """The WeChat detector without model files (its classic detector; never downloads)."""
    global _wechat
    if _wechat is None:
        factory = getattr(cv2, "wechat_qrcode_WeChatQRCode", None)
        _wechat = factory() if factory is not None else False
    return _wechat or None


def _decode_once(img: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """(text, 4×2 corner points) of the codes one pass finds in ``img``."""
    out: list[tuple[str, np.ndarray]] = []
    wechat = _wechat_detector()
    if wechat is not None:
        try:
            texts, points = wechat.detectAndDecode(img)
        except cv2.error:
            texts, points = (), ()
        out += [(t, np.asarray(p, np.float32).reshape(-1, 2)) for t, p in zip(texts, points) if t]
    if out:
        return out
    try:
        ok, texts, points, _ = cv2.QRCodeDetector().detectAndDecodeMulti(img)
    except cv2.error:
        ok, texts, points = False, (), None
    if ok and points is not None:
        out += [(t, np.asarray(p, np.float32).reshape(-1, 2)) for t, p in zip(texts, points) if t]
    return out


def _binarise(img: np.ndarray) -> np.ndarray:
    gray = img if img.ndim == 2 else cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    block = max(31, (min(gray.shape[:2]) // 20) | 1)
    return cv2.adaptiveThreshold(gray, 255, cv2.ADAPTIVE_THRESH_GAUSSIAN_C, cv2.THRESH_BINARY, block, 10)


def _sharpen(gray: np.ndarray, factor: float) -> np.ndarray:
    """Upscale and unsharp-mask: restores the module edges of a small, soft code."""
    big = cv2.resize(gray, None, fx=factor, fy=factor, interpolation=cv2.INTER_CUBIC)
    return cv2.addWeighted(big, 2.0, cv2.GaussianBlur(big, (0, 0), 0.8 * factor), -1.0, 0)


def decode_qr_codes(image_bgr: np.ndarray, *, region: Box = (0.0, 0.0, 0.45, 0.45)) -> list[QrCode]:
    """Every QR code found on a page image (BGR or grey uint8), de-duplicated by text.

    Passes, cheapest first, stopping at the first that finds anything: the whole page; the
    ``region`` (fractions; by default the top-left where invoices print the code) upscaled 2×;
    the region upscaled 3× and sharpened (soft scans and photos); the region binarised (uneven
    light). A page without any code costs all four passes (about 1.5 s of CPU for a 1920×1120
    page), so call this on invoice pages, not on every page.
    """
    if image_bgr is None or image_bgr.size == 0:
        return []
    img = image_bgr if image_bgr.ndim == 3 else cv2.cvtColor(image_bgr, cv2.COLOR_GRAY2BGR)
    h, w = img.shape[:2]
    rx0, ry0 = int(region[0] * w), int(region[1] * h)
    rx1, ry1 = max(rx0 + 1, int(region[2] * w)), max(ry0 + 1, int(region[3] * h))
    crop = img[ry0:ry1, rx0:rx1]
    gray_crop = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)

    def bgr(gray: np.ndarray) -> np.ndarray:
        return cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)

    # (image maker, scale of the image relative to the page, offset of its origin on the page)
    passes = [
        (lambda: img, 1.0, (0, 0)),
        (lambda: cv2.resize(crop, None, fx=2.0, fy=2.0, interpolation=cv2.INTER_CUBIC), 2.0, (rx0, ry0)),
        (lambda: bgr(_sharpen(gray_crop, 3.0)), 3.0, (rx0, ry0)),
        (lambda: bgr(_binarise(cv2.resize(gray_crop, None, fx=2.0, fy=2.0, interpolation=cv2.INTER_CUBIC))),
         2.0, (rx0, ry0)),
    ]
    for make, scale, (ox, oy) in passes:
        found = _decode_once(make())
        if not found:
            continue
        out: dict[str, QrCode] = {}
        for text, pts in found:
            q = pts / scale + np.array([ox, oy], np.float32)
            box = (float(q[:, 0].min() / w), float(q[:, 1].min() / h),
                   float(q[:, 0].max() / w), float(q[:, 1].max() / h))
            box = tuple(round(min(max(v, 0.0), 1.0), 5) for v in box)
            out.setdefault(text, QrCode(text, box))  # type: ignore[arg-type]
        return list(out.values())
    return []


def decode_invoice_qr(image_bgr: np.ndarray) -> InvoiceQr | None:
    """The invoice QR on a page image, parsed; ``None`` when none is found or none parses."""
    for code in decode_qr_codes(image_bgr):
        parsed = parse_invoice_qr(code.text, code.bbox)
        if parsed is not None:
            return parsed
    return None


# --------------------------------------------------------------------------- cross-check


def _digits(value: Any) -> str:
    return re.sub(r"\D", "", str(value))


def _doc_amount(value: Any) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, Decimal):
        return value
    if isinstance(value, (int, float)):
        return Decimal(str(round(float(value), 2)))
    from extractors.money import parse_amount

    return parse_amount(str(value))


def _doc_date(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, date):
        return value.isoformat()
    from extractors.dates import parse_date

    d = parse_date(str(value))
    return d.isoformat() if d else None


def _same_money(a: Decimal, b: Decimal) -> bool:
    return abs(a - b) <= Decimal("0.005")


def _amount_checks(qr: InvoiceQr, fields: Mapping[str, Any]) -> list[QrCheck]:
    if qr.amount is None:
        return []
    q = qr.amount
    total = _doc_amount(fields.get("amount_yuan"))
    if qr.amount_basis == "total":
        if total is None:
            return []
        return [QrCheck("amount_yuan", str(q), str(total), _same_money(q, total))]
    net = _doc_amount(fields.get("amount_excl_tax_yuan"))
    tax = _doc_amount(fields.get("tax_yuan"))
    if net is None and total is not None and tax is not None:
        net = total - tax
    if net is not None:
        return [QrCheck("amount_excl_tax_yuan", str(q), str(net), _same_money(q, net))]
    if total is None:
        return []
    if q > total + Decimal("0.005"):
        return [QrCheck("amount_yuan", str(q), str(total), False,
                        "the QR's net amount exceeds the document's total")]
    for rate in _VAT_RATES:
        expected = (q * (100 + rate) / 100).quantize(Decimal("0.01"))
        if abs(expected - total) <= Decimal("0.011") + q * Decimal("0.00001"):
            return [QrCheck("amount_yuan", str(q), str(total), True,
                            f"the QR's net amount plus {rate}% VAT equals the document's total")]
    return [QrCheck("amount_yuan", str(q), str(total), None,
                    "the QR carries the net amount; the total is not one standard VAT rate above it")]


def cross_check(qr: InvoiceQr, fields: Mapping[str, Any] | Any) -> list[QrCheck]:
    """Compare the QR with the fields read from the printed invoice.

    ``fields`` is a mapping (or a :class:`pipeline.model.DocumentFields`) with any of
    ``invoice_number``, ``invoice_code``, ``date``, ``amount_yuan`` (价税合计),
    ``amount_excl_tax_yuan``, ``tax_yuan``, ``check_code``. Only fields the document has are
    checked. Numbers compare digit for digit; dates as calendar days; money to the cent.
    """
    if not isinstance(fields, Mapping):
        fields = fields.model_dump() if hasattr(fields, "model_dump") else dict(fields)
    checks: list[QrCheck] = []
    number = fields.get("invoice_number")
    if number:
        checks.append(QrCheck("invoice_number", qr.invoice_number, str(number),
                              _digits(number) == qr.invoice_number))
    code = fields.get("invoice_code")
    if code and qr.invoice_code:
        checks.append(QrCheck("invoice_code", qr.invoice_code, str(code), _digits(code) == qr.invoice_code))
    elif code and qr.digital:
        checks.append(QrCheck("invoice_code", "", str(code), False,
                              "a 数电 invoice has no invoice code, but the document prints one"))
    if fields.get("date") and qr.date:
        doc_day = _doc_date(fields["date"])
        checks.append(QrCheck("date", qr.date, doc_day or str(fields["date"]),
                              None if doc_day is None else doc_day == qr.date,
                              None if doc_day else "the document's date could not be read"))
    checks += _amount_checks(qr, fields)
    check_code = fields.get("check_code")
    if check_code and qr.check_code:
        doc = _digits(check_code)
        agrees = doc == qr.check_code or (6 <= len(doc) < len(qr.check_code) and qr.check_code.endswith(doc))
        checks.append(QrCheck("check_code", qr.check_code, str(check_code), agrees))
    return checks
