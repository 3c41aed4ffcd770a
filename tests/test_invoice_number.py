"""Invoice numbers (数电 20-digit; 发票代码 + 发票号码) and 校验码, next to OCR-noisy labels."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from extractors.invoice_number import (
    CheckCode,
    InvoiceNumber,
    find_check_code,
    find_check_codes,
    find_invoice_number,
    find_invoice_numbers,
    parse_invoice_number,
)

FAST = settings(deadline=None, max_examples=300)

BENCH_INVOICE = "\n".join(
    [
        "江苏增值税专用发票",
        "发票代码：3200231130",
        "发票号码：08563217",
        "开票日期：2024年03月15日",
        "购买方名称：江苏某某科技有限公司",
        "纳税人识别号：91320106MA1MXY2K4P",
        "地址、电话：南京市建邺区江东中路359号 025-83456789",
        "价税合计（大写）壹万贰仟陆佰元整",
        "（小写）¥12600.00",
    ]
)


def _spans_text(text: str, number: InvoiceNumber) -> list[str]:
    return [text[s:e] for s, e in number.spans]


def test_legacy_code_and_number_from_bench_invoice() -> None:
    number = find_invoice_number(BENCH_INVOICE)
    assert number == InvoiceNumber(
        value="3200231130-08563217",
        kind="legacy",
        code="3200231130",
        number="08563217",
        spans=number.spans if number else (),
    )
    assert number is not None
    assert _spans_text(BENCH_INVOICE, number) == ["3200231130", "08563217"]


def test_legacy_twelve_digit_code() -> None:
    text = "增值税普通发票 发票代码: 032002300111 发票号码: 12345678"
    number = find_invoice_number(text)
    assert number is not None
    assert (number.value, number.kind, number.code) == (
        "032002300111-12345678",
        "legacy",
        "032002300111",
    )


@pytest.mark.parametrize(
    ("text", "printed"),
    [
        ("发票号码：24322000000012345678", "24322000000012345678"),
        ("发票号码:24322000000012345678", "24322000000012345678"),
        ("发票号码 24322000000012345678 开票日期：2024年03月15日", "24322000000012345678"),
        ("发票号码：2432 2000 0000 1234 5678", "2432 2000 0000 1234 5678"),  # OCR spaces
        (
            "发票号码：２４３２２０００００００１２３４５６７８",
            "２４３２２０００００００１２３４５６７８",
        ),
        ("发 票 号 码：24322000000012345678", "24322000000012345678"),  # spaced label
        ("发栗号码：24322000000012345678", "24322000000012345678"),  # OCR 栗 for 票
        ("发票号玛：24322000000012345678", "24322000000012345678"),  # OCR 玛 for 码
        ("票号码：24322000000012345678", "24322000000012345678"),  # first character lost
        ("發票號碼：24322000000012345678", "24322000000012345678"),  # traditional
        ("发票号码：\n24322000000012345678", "24322000000012345678"),  # value on the next line
        ("发票号码：243220000000I2345678", "243220000000I2345678"),  # OCR I for 1
    ],
)
def test_digital_invoice_number(text: str, printed: str) -> None:
    [number] = find_invoice_numbers(text)
    assert number.kind == "digital" and number.code is None
    assert number.value == number.number == "24322000000012345678"
    assert _spans_text(text, number) == [printed]


@pytest.mark.parametrize(
    "text",
    [
        "24322000000012345678",  # no label
        "发票号码：2432200000001234567",  # 19 digits
        "发票号码：243220000000123456789",  # 21 digits
        "发票号码：1234567",  # 7 digits
        "发票号码：OOOO1234",  # too many look-alikes
        "请核对发票号码与开票日期",
        "电话号码：02583456789",
        "纳税人识别号：91320106MA1MXY2K4P",
        "",
    ],
)
def test_no_invoice_number(text: str) -> None:
    assert find_invoice_numbers(text) == []
    assert find_invoice_number(text) is None


def test_number_without_code_is_still_reported() -> None:
    [number] = find_invoice_numbers("发票号码：08563217")
    assert (number.value, number.kind, number.code) == ("08563217", "legacy", None)


def test_no_label_number_on_old_paper_invoice() -> None:
    text = "发票代码 3200231130\nNo 08563217"
    number = find_invoice_number(text)
    assert number is not None and number.value == "3200231130-08563217"


def test_two_invoices_pair_code_with_nearest_number() -> None:
    first = "发票代码：3200231130\n发票号码：08563217\n" + "货物或应税劳务名称 云服务器 " * 3
    second = "发票代码：3200231131\n发票号码：00000042"
    values = [n.value for n in find_invoice_numbers(first + second)]
    assert values == ["3200231130-08563217", "3200231131-00000042"]


def test_digital_preferred_over_legacy() -> None:
    text = "发票号码：08563217 … 发票号码：24322000000012345678"
    number = find_invoice_number(text)
    assert number is not None and number.kind == "digital"


def test_code_label_value_of_wrong_length_is_ignored() -> None:
    [number] = find_invoice_numbers("发票代码：32002311 发票号码：08563217")
    assert number.code is None


# --------------------------------------------------------------------------- check code


@pytest.mark.parametrize(
    ("text", "printed"),
    [
        ("校验码：12345 67890 12345 67890", "12345 67890 12345 67890"),
        ("校 验 码 12345678901234567890", "12345678901234567890"),
        ("较验码:12345 67890 12345 67890", "12345 67890 12345 67890"),  # OCR 较 for 校
        (
            "机器编号：499098765432 校验码：12345 67890 12345 67890\n密码区",
            "12345 67890 12345 67890",
        ),
    ],
)
def test_check_code(text: str, printed: str) -> None:
    code = find_check_code(text)
    assert code == CheckCode("12345678901234567890", code.span if code else (0, 0))
    assert code is not None and text[code.span[0] : code.span[1]] == printed


@pytest.mark.parametrize(
    "text", ["校验码：12345 67890 12345", "12345 67890 12345 67890", "校验码：", "验证码：123456"]
)
def test_no_check_code(text: str) -> None:
    assert find_check_codes(text) == []


# --------------------------------------------------------------------------- parse


@pytest.mark.parametrize(
    ("value", "expected", "kind"),
    [
        ("24322000000012345678", "24322000000012345678", "digital"),
        (" 2432 2000 0000 1234 5678 ", "24322000000012345678", "digital"),
        ("3200231130-08563217", "3200231130-08563217", "legacy"),
        ("032002300111 - 12345678", "032002300111-12345678", "legacy"),
    ],
)
def test_parse_invoice_number(value: str, expected: str, kind: str) -> None:
    number = parse_invoice_number(value)
    assert number is not None and (number.value, number.kind) == (expected, kind)


@pytest.mark.parametrize("value", ["", "abc", "123", "3200231130", "3200231130-0856321", "1" * 21])
def test_parse_invoice_number_refuses(value: str) -> None:
    assert parse_invoice_number(value) is None


@FAST
@given(
    st.text(alphabet="0123456789", min_size=20, max_size=20),
    st.sampled_from(["发票号码：", "发票号码:", "发 票 号 码 ", "发票号码\n"]),
    st.text(alphabet="电子发票（增值税专用发票）开票日期 \n", max_size=15),
)
def test_digital_number_round_trip(digits: str, label: str, before: str) -> None:
    text = before + label + digits + " 开票日期：2024年03月15日"
    [number] = find_invoice_numbers(text)
    assert number.value == digits and number.kind == "digital"


@FAST
@given(
    st.text(alphabet="0123456789", min_size=10, max_size=10),
    st.text(alphabet="0123456789", min_size=8, max_size=8),
)
def test_legacy_round_trip(code: str, no: str) -> None:
    text = f"发票代码：{code}\n发票号码：{no}\n开票日期：2024年03月15日"
    number = find_invoice_number(text)
    assert number is not None and number.value == f"{code}-{no}"
    assert parse_invoice_number(number.value) == InvoiceNumber(
        number.value, "legacy", code, no, ((0, 10), (11, 19))
    )


# --------------------------------------------------------------------------- junk input

_INVOICEISH = st.text(
    alphabet=st.sampled_from(
        list("0123456789０１２３４５６７８９OolI| :：\n\t-发票号码代校验栗玛No")
        + ["\x00", "\x1b", "\u200b", "\U0001f600"]
    ),
    max_size=150,
)


@settings(deadline=None, max_examples=400)
@given(st.one_of(st.text(max_size=300), _INVOICEISH))
def test_junk_never_raises(text: str) -> None:
    for number in find_invoice_numbers(text):
        assert number.kind in ("digital", "legacy")
        assert number.number.isdigit() and len(number.number) in (8, 20)
        for s, e in number.spans:
            assert 0 <= s < e <= len(text)
    for code in find_check_codes(text):
        assert code.value.isdigit() and len(code.value) == 20
    find_invoice_number(text)
    find_check_code(text)
    assert parse_invoice_number(text) is None or isinstance(
        parse_invoice_number(text), InvoiceNumber
    )


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    "text",
    [
        "发票号码：" * 40_000,
        "发票号码：" + "1 " * 100_000,
        ("发票代码：3200231130 发票号码：08563217 " * 5_000),
        "1" * 200_000,
        "No" * 100_000,
    ],
)
def test_huge_inputs(text: str) -> None:
    find_invoice_numbers(text)
    find_check_codes(text)
