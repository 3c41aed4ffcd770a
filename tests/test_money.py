"""Money parsing: 大写 ↔ Decimal, 小写 in every printed form, OCR noise, junk input."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from extractors.money import (
    AmountMatch,
    find_amounts,
    parse_amount,
    parse_uppercase,
    to_uppercase,
)

D = Decimal
FAST = settings(deadline=None, max_examples=300, suppress_health_check=[HealthCheck.too_slow])


# --------------------------------------------------------------------------- 大写 → Decimal


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("壹万贰仟陆佰元整", "12600"),
        ("人民币壹万贰仟陆佰元整", "12600"),
        ("壹拾壹元零伍分", "11.05"),
        ("壹亿零壹拾万元整", "100100000"),
        ("拾元", "10"),
        ("拾元整", "10"),
        ("拾伍万元整", "150000"),
        ("壹拾伍万元整", "150000"),
        ("伍佰万元整", "5000000"),
        ("壹万零伍元", "10005"),
        ("壹佰零伍元", "105"),
        ("壹佰伍拾元", "150"),
        ("壹仟零伍拾元", "1050"),
        ("壹仟伍拾元", "1050"),  # missing 零 inside a section is unambiguous
        ("壹拾万柒仟元伍角叁分", "107000.53"),
        ("壹拾万零柒仟元伍角叁分", "107000.53"),  # both forms the payment rules allow
        ("壹仟陆佰捌拾元零叁角贰分", "1680.32"),
        ("壹仟陆佰捌拾元叁角贰分", "1680.32"),
        ("伍角", "0.5"),
        ("伍分", "0.05"),
        ("零元伍角", "0.5"),
        ("伍角伍分", "0.55"),
        ("壹元零角伍分", "1.05"),
        ("壹元伍角整", "1.5"),
        ("零元整", "0"),
        ("壹万亿元整", "1000000000000"),
        ("壹万零伍亿元整", "1000500000000"),
        ("玖仟玖佰玖拾玖亿玖仟玖佰玖拾玖万玖仟玖佰玖拾玖元玖角玖分", "999999999999.99"),
        ("壹佰万零伍仟元整", "1005000"),
        ("壹万贰仟陆佰圆整", "12600"),
        ("壹万贰仟陆佰元正", "12600"),
        ("两万元", "20000"),
        ("壹仟〇伍元", "1005"),
        ("壹萬貳仟陸佰圓整", "12600"),  # traditional forms
        ("人民币十二万元整", "120000"),  # lower-case numerals
        ("一百零五元", "105"),
        ("壹 万 贰仟 陆佰元整", "12600"),  # OCR spaces
        ("（大写）壹万贰仟陆佰元整", "12600"),
        ("人民币（大写）：壹拾伍万元整", "150000"),
        ("负壹佰元整", "-100"),
        ("壹万贰仟陆佰", "12600"),  # a table cell without 元
        ("壹万贰仟陆佰元整。", "12600"),
        ("⊗壹万贰仟陆佰圆整", "12600"),  # 数电 invoices print ⊗ before the 大写 total
    ],
)
def test_parse_uppercase(text: str, expected: str) -> None:
    assert parse_uppercase(text) == D(expected)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "元整",
        "整",
        "零",
        "壹贰元",  # two digits in a row
        "佰元",  # unit without digit (only 拾 may lead)
        "壹佰仟元",  # units out of order
        "拾拾元",
        "壹万万元",
        "壹亿亿元",
        "壹佰伍元",  # 150 or 105?
        "壹万伍元",  # 15000 or 10005?
        "壹亿伍元",
        "壹万元伍",  # digit after 元 without 角/分
        "壹元伍角伍分伍",
        "壹元元",
        "零拾元",
        "壹万贰仟陆佰元整整",
        "人民币",
        "hello",
        "12600元",
        "壹万贰仟陆佰元整，另付伍佰元",
        "x" * 500,
    ],
)
def test_parse_uppercase_refuses(text: str) -> None:
    assert parse_uppercase(text) is None


def test_parse_uppercase_non_string() -> None:
    assert parse_uppercase(None) is None  # type: ignore[arg-type]
    assert parse_uppercase(12600) is None  # type: ignore[arg-type]


# --------------------------------------------------------------------------- Decimal → 大写


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        ("12600", "壹万贰仟陆佰元整"),
        ("12600.00", "壹万贰仟陆佰元整"),
        ("11.05", "壹拾壹元零伍分"),
        ("100100000", "壹亿零壹拾万元整"),
        ("10", "壹拾元整"),
        ("150000", "壹拾伍万元整"),
        ("10005", "壹万零伍元整"),
        ("1005000", "壹佰万零伍仟元整"),
        ("1050000", "壹佰零伍万元整"),
        ("100005000", "壹亿零伍仟元整"),  # a whole zero section still needs its 零
        ("100000005", "壹亿零伍元整"),
        ("10000000000", "壹佰亿元整"),
        ("1000000000001", "壹万亿零壹元整"),
        ("1200000000000", "壹万贰仟亿元整"),
        ("12000500", "壹仟贰佰万零伍佰元整"),
        ("1680.32", "壹仟陆佰捌拾元叁角贰分"),
        ("107000.53", "壹拾万零柒仟元伍角叁分"),
        ("0.05", "伍分"),
        ("0.5", "伍角"),
        ("0.55", "伍角伍分"),
        ("0", "零元整"),
        ("1.5", "壹元伍角"),
        ("1000000000000", "壹万亿元整"),
        ("1000500000000", "壹万零伍亿元整"),
        ("999999999999.99", "玖仟玖佰玖拾玖亿玖仟玖佰玖拾玖万玖仟玖佰玖拾玖元玖角玖分"),
        ("-100", "负壹佰元整"),
        ("12600.005", "壹万贰仟陆佰元零壹分"),  # rounds half-up to the fen
    ],
)
def test_to_uppercase(amount: str, expected: str) -> None:
    assert to_uppercase(D(amount)) == expected


@pytest.mark.parametrize("bad", ["abc", "NaN", "Infinity", "1e20", None])
def test_to_uppercase_rejects(bad: object) -> None:
    with pytest.raises(ValueError):
        to_uppercase(bad)  # type: ignore[arg-type]


def test_to_uppercase_accepts_int_and_str() -> None:
    assert to_uppercase(12600) == to_uppercase("12600.00") == "壹万贰仟陆佰元整"


_cents = st.integers(min_value=1, max_value=10**14)  # 0.01 … 10^12
_zero_heavy_cents = (
    st.lists(st.sampled_from("00000000123456789"), min_size=1, max_size=15)
    .map(lambda ds: int("".join(ds)) or 1)
    .filter(lambda n: n <= 10**14)
)


@FAST
@given(st.one_of(_cents, _zero_heavy_cents))
def test_uppercase_round_trip(cents: int) -> None:
    amount = D(cents) / 100
    text = to_uppercase(amount)
    assert parse_uppercase(text) == amount
    assert parse_amount(text) == amount
    assert parse_uppercase("人民币" + text) == amount


def test_uppercase_round_trip_exhaustive_small() -> None:
    """Every amount from 0.01 to 200.00, and every whole amount up to 100 000 on a 7-step."""
    for cents in range(1, 20_001):
        amount = D(cents) / 100
        assert parse_uppercase(to_uppercase(amount)) == amount, amount
    for yuan in range(0, 100_001, 7):
        assert parse_uppercase(to_uppercase(D(yuan))) == yuan


@FAST
@given(st.integers(min_value=1, max_value=10**14))
def test_uppercase_is_canonical(cents: int) -> None:
    """The standard form: no 零零, no 零 before 元/万/亿, 整 exactly when there is no fen."""
    text = to_uppercase(D(cents) / 100)
    assert "零零" not in text
    assert "零元" not in text or text == "零元整"
    assert text.endswith("整") == (cents % 100 == 0)
    assert "零万" not in text and "零亿" not in text


# --------------------------------------------------------------------------- 小写 in text


def _values(text: str) -> list[tuple[Decimal, str, str]]:
    return [(a.value, a.raw, a.form) for a in find_amounts(text)]


@pytest.mark.parametrize(
    ("text", "value", "raw"),
    [
        ("合计：¥12,600.00", "12600", "¥12,600.00"),
        ("合计：￥12600.00", "12600", "￥12600.00"),
        ("服务费12600元", "12600", "12600元"),
        ("服务费12,600.00元", "12600", "12,600.00元"),
        ("人民币12600元", "12600", "人民币12600元"),
        ("RMB 12,600.00", "12600", "RMB 12,600.00"),
        ("预算1.26万元", "12600", "1.26万元"),
        ("约12.6千元", "12600", "12.6千元"),
        ("投资3.5亿元", "350000000", "3.5亿元"),
        ("（小写）¥12600.00", "12600", "¥12600.00"),
        ("（小写）12600.00", "12600", "12600.00"),
        ("(小写):12600.00", "12600", "12600.00"),
        ("价税合计 ¥ 12 600.00", "12600", "¥ 12 600.00"),  # OCR spaces
        ("￥１２，６００．００", "12600", "￥１２，６００．００"),  # full width
        ("¥12.600.00", "12600", "¥12.600.00"),  # OCR read the thousands comma as a point
        ("¥12600,00", "12600", "¥12600,00"),  # OCR read the point as a comma
        ("合计 Y12600.00", "12600", "Y12600.00"),  # OCR ¥ → Y
        ("合计 羊12600.00", "12600", "羊12600.00"),  # OCR ¥ → 羊
        ("12600 元整", "12600", "12600 元整"),
        ("¥-12600.00", "-12600", "¥-12600.00"),  # red-letter invoice
        ("-¥713.21", "-713.21", "-¥713.21"),
        ("金额：-11886.79元", "-11886.79", "-11886.79元"),
        ("¥0.50", "0.5", "¥0.50"),
    ],
)
def test_find_lowercase_forms(text: str, value: str, raw: str) -> None:
    found = find_amounts(text)
    assert [(a.value, a.raw, a.form) for a in found] == [(D(value), raw, "lowercase")]
    a = found[0]
    assert text[a.start : a.end] == a.raw


@pytest.mark.parametrize(
    "text",
    [
        "税率6%",
        "数量 1 单价 11886.79",  # bare table numbers are parse_amount's job
        "开票日期：2024年03月15日",
        "电话 025-83456789",
        "纳税人识别号：91320106MA1MXY2K4P",
        "XY2024.01",  # Y inside a word is not ¥
        "Y2024",  # a weak ¥ needs two decimals
        "统一元数据管理",  # 一元 inside a word
        "99.95%的可用性",
        "第三条 合同金额及支付",
        "ecs.g7.xlarge 4 vCPU 16 GiB",
        "",
    ],
)
def test_find_amounts_no_false_positives(text: str) -> None:
    assert find_amounts(text) == []


def test_find_uppercase_and_lowercase_pair() -> None:
    text = "本合同总金额为人民币壹拾伍万元整（¥150000.00），按季度结算"
    found = find_amounts(text)
    assert [(a.value, a.form, a.raw) for a in found] == [
        (D("150000"), "uppercase", "人民币壹拾伍万元整"),
        (D("150000"), "lowercase", "¥150000.00"),
    ]
    for a in found:
        assert text[a.start : a.end] == a.raw


def test_find_uppercase_with_label_keeps_label_out_of_span() -> None:
    text = "价税合计（大写）壹万贰仟陆佰元整\n（小写）¥12600.00"
    found = find_amounts(text)
    assert [(a.value, a.form, a.raw) for a in found] == [
        (D("12600"), "uppercase", "壹万贰仟陆佰元整"),
        (D("12600"), "lowercase", "¥12600.00"),
    ]


def test_find_digital_invoice_total_line() -> None:
    text = "价税合计（大写） ⊗壹万贰仟陆佰圆整 （小写）¥12600.00"
    assert _values(text) == [
        (D("12600"), "壹万贰仟陆佰圆整", "uppercase"),
        (D("12600"), "¥12600.00", "lowercase"),
    ]


def test_find_bracketed_bare_lowercase_after_uppercase() -> None:
    found = find_amounts("人民币壹万贰仟陆佰元整（12600.00）")
    assert [(a.value, a.form, a.raw) for a in found] == [
        (D("12600"), "uppercase", "人民币壹万贰仟陆佰元整"),
        (D("12600"), "lowercase", "12600.00"),
    ]


def test_find_uppercase_lowercase_numerals_need_rmb() -> None:
    assert _values("合同价款人民币十二万元整") == [(D("120000"), "人民币十二万元整", "uppercase")]
    assert _values("这是统一元数据") == []


def test_find_two_glued_uppercase_amounts() -> None:
    assert _values("壹佰元贰佰元") == [
        (D("100"), "壹佰元", "uppercase"),
        (D("200"), "贰佰元", "uppercase"),
    ]


def test_find_uppercase_trims_preceding_word() -> None:
    # 一 belongs to 统一; the amount starts at 壹
    assert _values("统一壹佰元整") == [(D("100"), "壹佰元整", "uppercase")]


def test_find_amounts_invoice_page() -> None:
    """The OCR bench invoice, line by line joined as a page's text."""
    page = "\n".join(
        [
            "江苏增值税专用发票",
            "发票代码：3200231130",
            "发票号码：08563217",
            "开票日期：2024年03月15日",
            "*信息技术服务*云服务器ECS",
            "1",
            "11886.79",
            "6%",
            "713.21",
            "合计",
            "¥11886.79",
            "¥713.21",
            "价税合计（大写）壹万贰仟陆佰元整",
            "（小写）¥12600.00",
            "地址、电话：杭州市余杭区文一西路969号 0571-85022088",
        ]
    )
    assert [(a.value, a.form) for a in find_amounts(page)] == [
        (D("11886.79"), "lowercase"),
        (D("713.21"), "lowercase"),
        (D("12600"), "uppercase"),
        (D("12600"), "lowercase"),
    ]


def test_find_amounts_console_total() -> None:
    assert _values("合计：7,566.50 元") == [(D("7566.50"), "7,566.50 元", "lowercase")]


def test_amount_match_is_frozen() -> None:
    a = find_amounts("¥1.00")[0]
    assert isinstance(a, AmountMatch)
    with pytest.raises(AttributeError):
        a.value = D(2)  # type: ignore[misc]


@FAST
@given(
    st.integers(min_value=1, max_value=10**13),
    st.sampled_from(
        ["¥{:,.2f}", "￥{:.2f}", "{:.2f}元", "{:,.2f}元", "人民币{:.2f}元", "RMB {:,.2f}"]
    ),
    st.text(alphabet="合同金额为：，。的服务费共计乙方甲方 \n", max_size=12),
    st.text(alphabet="，。整按季度结算 \n）", max_size=12),
)
def test_formatted_amount_is_found(cents: int, fmt: str, before: str, after: str) -> None:
    amount = D(cents) / 100
    text = before + fmt.format(amount) + after
    found = [a for a in find_amounts(text) if a.form == "lowercase"]
    assert [a.value for a in found] == [amount]
    assert text[found[0].start : found[0].end] == found[0].raw


@FAST
@given(
    st.integers(min_value=1, max_value=10**14),
    st.text(alphabet="合同金额为：，。的 \n", max_size=10),
)
def test_uppercase_amount_is_found(cents: int, before: str) -> None:
    amount = D(cents) / 100
    upper = to_uppercase(amount)
    text = before + "人民币" + upper + f"（¥{amount:.2f}）"
    found = find_amounts(text)
    assert [(a.value, a.form) for a in found] == [(amount, "uppercase"), (amount, "lowercase")]
    assert found[0].raw == "人民币" + upper


# --------------------------------------------------------------------------- parse_amount


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("11886.79", "11886.79"),
        ("¥12,600.00", "12600"),
        (" ￥12600.00 ", "12600"),
        ("12600元", "12600"),
        ("1.26万元", "12600"),
        ("3,215.40", "3215.40"),
        ("-713.21", "-713.21"),
        ("壹万贰仟陆佰元整", "12600"),
        ("人民币壹拾伍万元整", "150000"),
        ("12 600.00", "12600"),
    ],
)
def test_parse_amount(text: str, expected: str) -> None:
    assert parse_amount(text) == D(expected)


@pytest.mark.parametrize(
    "text", ["", "abc", "6%", "2024-01-01", "¥", "12,60,0.00", "1" * 40, "12600元 13000元", "元"]
)
def test_parse_amount_refuses(text: str) -> None:
    assert parse_amount(text) is None


# --------------------------------------------------------------------------- junk input

_MONEYISH = st.text(
    alphabet=st.sampled_from(
        list(
            "0123456789０１２３４５６７８９.,，．¥￥Y羊元圆万千亿角分整正"
            "人民币RMB小写大写()（）:：- \n\t"
        )
        + list("零〇壹贰叁肆伍陆柒捌玖拾佰仟两一二三十百负")
        + ["\x00", "\x1b", "\u200b", "\ufeff", "\U0001f600"]
    ),
    max_size=120,
)


@settings(deadline=None, max_examples=400)
@given(st.one_of(st.text(max_size=300), _MONEYISH))
def test_junk_never_raises(text: str) -> None:
    found = find_amounts(text)
    last_end = -1
    for a in found:
        assert isinstance(a.value, Decimal)
        assert text[a.start : a.end] == a.raw
        assert a.start >= last_end  # ordered, non-overlapping
        last_end = a.end
    for fn in (parse_amount, parse_uppercase):
        value = fn(text)
        assert value is None or isinstance(value, Decimal)


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    "text",
    [
        "1" * 200_000,
        "1," * 100_000,
        "¥" * 100_000 + "1",
        "壹" * 100_000,
        "壹拾" * 50_000 + "元",
        "¥1 " * 50_000,
        "人民币" * 50_000,
        ("合计¥12,600.00 壹万贰仟陆佰元整 " * 5_000),
        ("壹元" * 40 + "。") * 2_500,
        ("伍角" * 40 + "。") * 2_500,
        "壹佰元整，" * 20_000,
    ],
)
def test_huge_inputs(text: str) -> None:
    found = find_amounts(text)
    assert all(text[a.start : a.end] == a.raw for a in found)
    assert parse_amount(text) is None or isinstance(parse_amount(text), Decimal)
    assert parse_uppercase(text) is None
