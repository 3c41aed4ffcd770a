"""Unified social credit codes: check character, prefix meanings, OCR repair, finding in text."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from extractors.uscc import ALPHABET, WEIGHTS, CreditCode, check_char, find_codes, parse, validate

FAST = settings(deadline=None, max_examples=300)

# GB 32100-2015's own example, and published codes of well-known companies.
REAL_CODES = [
    "91350100M000100Y43",  # the standard's example
    "91110108551385082Q",
    "91440300708461136T",
    "91330100799655058B",
]


def _make(prefix17: str) -> str:
    return prefix17 + check_char(prefix17)


JS = _make("91320106MA1MXY2K4")  # a Jiangsu enterprise: 91320106MA1MXY2K40

_code17 = st.text(alphabet=ALPHABET, min_size=17, max_size=17)
_well_formed17 = st.builds(
    lambda head, division, org: head + division + org,
    st.sampled_from(["91", "92", "93", "12", "51", "Y1", "N1"]),
    st.text(alphabet="0123456789", min_size=6, max_size=6),
    st.text(alphabet=ALPHABET, min_size=9, max_size=9),
)


# --------------------------------------------------------------------------- check character


@pytest.mark.parametrize("code", REAL_CODES)
def test_real_codes_validate(code: str) -> None:
    assert validate(code)
    assert check_char(code[:17]) == code[17]


def test_weights_are_3_to_the_i_mod_31() -> None:
    """The standard's weights are 3^i mod 31: all distinct and non-zero mod 31."""
    assert list(WEIGHTS) == [pow(3, i, 31) for i in range(17)]
    assert len(ALPHABET) == 31 and not set("IOZSV") & set(ALPHABET)


def test_check_char_zero_case() -> None:
    """When the weighted sum is ≡ 0 (mod 31), 31 - 0 = 31 maps to '0'."""
    code17 = "0" * 17
    assert check_char(code17) == "0"
    assert validate("0" * 18)


@pytest.mark.parametrize("bad", ["", "9132", "91320106MA1MXY2K4X0", "91320106MA1MXY2KO", None])
def test_check_char_rejects_bad_input(bad: object) -> None:
    with pytest.raises(ValueError):
        check_char(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("code", "ok"),
    [
        (JS, True),
        (JS.lower(), True),
        (f"  {JS} ", True),
        ("91320106MA1MXY2K4P", False),  # the OCR bench's made-up code
        ("91330100MA2H7Q8L5B", False),
        (JS[:17], False),
        (JS + "0", False),
        (JS[:5] + "O" + JS[6:], False),  # O is not in the alphabet
        ("", False),
        (None, False),
        ("9132 0106 MA1M XY2K 40", False),  # validate is strict; parse/find repair spacing
    ],
)
def test_validate(code: str, ok: bool) -> None:
    assert validate(code) is ok


@FAST
@given(_code17)
def test_computed_check_validates(code17: str) -> None:
    assert validate(code17 + check_char(code17))


@FAST
@given(_code17)
def test_every_single_substitution_fails(code17: str) -> None:
    """Exhaustive over all 18 positions × 30 other characters (and a proof in the module doc:
    w·Δ ≢ 0 mod 31 because 31 is prime and no weight is 0 mod 31)."""
    code = code17 + check_char(code17)
    for pos in range(18):
        for ch in ALPHABET:
            if ch != code[pos]:
                assert not validate(code[:pos] + ch + code[pos + 1 :])


@FAST
@given(_code17, st.integers(0, 15))
def test_adjacent_transpositions_fail(code17: str, pos: int) -> None:
    code = code17 + check_char(code17)
    if code[pos] != code[pos + 1]:
        swapped = code[:pos] + code[pos + 1] + code[pos] + code[pos + 2 :]
        assert not validate(swapped)


# --------------------------------------------------------------------------- meanings


@pytest.mark.parametrize(
    ("prefix", "enterprise", "label", "body"),
    [
        ("91", True, "企业", "市场监管（工商）"),
        ("92", False, "个体工商户", "市场监管（工商）"),
        ("93", False, "农民专业合作社", "市场监管（工商）"),
        ("12", False, "事业单位", "机构编制"),
        ("52", False, "民办非企业单位", "民政"),
        ("Y1", False, "其他", "其他"),
        ("A1", False, "军队事业单位", "中央军委改革和编制办公室"),
        ("N2", False, "村级集体经济组织", "农业农村"),
    ],
)
def test_prefix_meanings(prefix: str, enterprise: bool, label: str, body: str) -> None:
    code = parse(_make(prefix + "320106MA1MXY2K4"))
    assert code is not None and code.valid
    assert (code.enterprise, code.kind_label, code.registering_body) == (enterprise, label, body)


def test_unknown_prefix() -> None:
    code = parse(_make("94320106MA1MXY2K4"))  # 9 has no kind 4
    assert code is not None and code.valid
    assert code.enterprise is None and code.kind_label is None and not code.well_formed


@pytest.mark.parametrize(
    ("division", "jiangsu"),
    [("320106", True), ("320000", True), ("321002", True), ("330100", False), ("110108", False)],
)
def test_division_and_jiangsu(division: str, jiangsu: bool) -> None:
    code = parse(_make(f"91{division}MA1MXY2K4"))
    assert code is not None
    assert code.division == division and code.jiangsu is jiangsu


def test_real_code_fields() -> None:
    code = parse("91330100799655058B")
    assert code == CreditCode(
        code="91330100799655058B",
        valid=True,
        division="330100",
        jiangsu=False,
        enterprise=True,
        kind_label="企业",
        repaired_from=None,
        registering_body="市场监管（工商）",
    )


def test_invalid_code_is_parsed_not_dropped() -> None:
    code = parse("91320106MA1MXY2K4P")
    assert code is not None
    assert code.valid is False and code.repaired_from is None
    assert code.division == "320106" and code.jiangsu and code.enterprise


# --------------------------------------------------------------------------- repair

_READS = {"0": "O", "1": "I", "2": "Z", "5": "S", "8": "B"}


def test_repairs_each_confusion() -> None:
    repaired = 0
    for pos, ch in enumerate(JS):
        if ch not in _READS:
            continue
        misread = JS[:pos] + _READS[ch] + JS[pos + 1 :]
        code = parse(misread)
        assert code is not None
        assert code.valid and code.code == JS and code.repaired_from == misread
        repaired += 1
    assert repaired >= 6


def test_lowercase_is_normalised_not_repaired() -> None:
    code = parse(JS.lower())
    assert code is not None and code.code == JS and code.valid and code.repaired_from is None


def test_repairs_b_read_for_8() -> None:
    good = _make("91320281MA1X8K9P2")
    assert "8" in good[8:]
    pos = good.index("8", 8)
    misread = good[:pos] + "B" + good[pos + 1 :]
    code = parse(misread)
    assert code is not None
    # 8↔B are both legal characters, so B→8 competes with every other 8/B swap: either the
    # one valid repair is found, or none is trusted — never a different valid code.
    assert (code.valid and code.code == good) or (not code.valid and code.code == misread)


def test_two_confusions_are_not_repaired() -> None:
    misread = JS[:2] + "Z" + JS[3] + "O" + JS[5:]
    code = parse(misread)
    assert code is not None and not code.valid and code.repaired_from is None


def test_ambiguous_repair_is_refused() -> None:
    """Search (seeded) for a string with two different single-confusion repairs that both
    validate: parse must not pick one."""
    rng = random.Random(32100)
    for _ in range(20_000):
        body = "91" + "".join(rng.choice("0123456789") for _ in range(6))
        tail = "".join(rng.choice("8B8B8BQ0" + ALPHABET) for _ in range(10))
        candidate = body + tail
        if validate(candidate):
            continue
        repairs = set()
        for pos in range(8, 18):
            for alt in {"8": "B", "B": "8", "Q": "0"}.get(candidate[pos], ""):
                fixed = candidate[:pos] + alt + candidate[pos + 1 :]
                if validate(fixed):
                    repairs.add(fixed)
        if len(repairs) >= 2:
            code = parse(candidate)
            assert code is not None and not code.valid and code.code == candidate
            return
    pytest.fail("no ambiguous case found; widen the search")


_NOISY = st.text(alphabet=ALPHABET + "IOZSVabcxyz", min_size=18, max_size=18)


@settings(deadline=None, max_examples=1000)
@given(st.one_of(_NOISY, _code17.map(lambda c: c + check_char(c))))
def test_repair_never_returns_an_invalid_code(raw: str) -> None:
    code = parse(raw)
    assert code is not None
    if code.valid:
        assert validate(code.code)
    if code.repaired_from is not None:
        assert code.valid
        assert code.repaired_from == raw.upper()
        assert sum(a != b for a, b in zip(code.code, code.repaired_from, strict=True)) == 1
    else:
        assert code.code == raw.upper()


@FAST
@given(_well_formed17, st.data())
def test_single_misread_is_repaired_or_left_invalid(code17: str, data: st.DataObject) -> None:
    good = code17 + check_char(code17)
    positions = [i for i, ch in enumerate(good) if ch in _READS]
    if not positions:
        return
    pos = data.draw(st.sampled_from(positions))
    misread = good[:pos] + _READS[good[pos]] + good[pos + 1 :]
    code = parse(misread)
    assert code is not None
    assert code.code in (good, misread)
    if good[pos] != "8":  # O/I/Z/S are illegal, so the forced repair is unique
        assert code.code == good and code.valid


# --------------------------------------------------------------------------- legacy tax ids


@pytest.mark.parametrize(
    ("raw", "division", "jiangsu"),
    [
        ("320106134567890", "320106", True),
        ("32010613456789X", "320106", True),
        ("33010619900101123401", "330106", False),
    ],
)
def test_legacy_tax_ids(raw: str, division: str, jiangsu: bool) -> None:
    code = parse(raw)
    assert code is not None
    assert code.legacy_tax_id and code.valid is None
    assert code.division == division and code.jiangsu is jiangsu and code.enterprise is None
    assert code.kind_label is not None and str(len(raw)) in code.kind_label


@pytest.mark.parametrize(
    "raw", ["", "abc", "9132010", "91320106MA1MXY2K4P0", "统一社会信用代码", "x" * 200]
)
def test_parse_junk(raw: str) -> None:
    assert parse(raw) is None


# --------------------------------------------------------------------------- find


def _found(text: str) -> list[tuple[str, bool | None, str]]:
    return [(c.code, c.valid, text[s:e]) for c, s, e in find_codes(text)]


def test_find_on_licence_line() -> None:
    assert _found("统一社会信用代码 91320106MA1MXY2K4P") == [
        ("91320106MA1MXY2K4P", False, "91320106MA1MXY2K4P")
    ]


def test_find_invoice_buyer_and_seller() -> None:
    seller = "91330100799655058B"
    text = (
        f"购买方名称：江苏某某科技有限公司\n纳税人识别号：{JS}\n"
        f"销售方名称：阿里云计算有限公司\n纳税人识别号：{seller}"
    )
    assert [c for c, _, _ in _found(text)] == [JS, seller]


def test_find_with_ocr_spaces_and_full_width() -> None:
    spaced = f"{JS[:4]} {JS[4:8]} {JS[8:12]} {JS[12:16]} {JS[16:]}"
    full = JS.translate({ord(c): ord(c) + 0xFEE0 for c in JS})
    text = f"税号：{spaced}；信用代码：{full}"
    assert _found(text) == [(JS, True, spaced), (JS, True, full)]


def test_find_repairs_and_keeps_the_raw_span() -> None:
    misread = JS[:4] + "O" + JS[5:]
    text = f"统一社会信用代码：{misread}。"
    [(code, start, end)] = find_codes(text)
    assert code.code == JS and code.repaired_from == misread
    assert text[start:end] == misread


def test_find_unlabelled_valid_code() -> None:
    text = f"乙方（{JS}）已收到款项"
    assert _found(text) == [(JS, True, JS)]


def test_unlabelled_invalid_or_malformed_strings_are_ignored() -> None:
    text = (
        "身份证 320106199001011234 "  # an ID-card number
        "账号 6222021001123456789 "  # a bank account
        "91320106MA1MXY2K4P "  # invalid, no label
        "发票号码：24322000000012345678 "  # a 数电 invoice number
        "ABCDEFGHJKLMNPQRTU"
    )
    assert find_codes(text) == []


def test_legacy_tax_id_only_when_labelled() -> None:
    assert _found("纳税人识别号：320106134567890") == [("320106134567890", None, "320106134567890")]
    assert _found("电话 320106134567890") == []


def test_code_glued_to_following_text() -> None:
    text = f"纳税人识别号：{JS}0571"
    assert _found(text) == [(JS, True, JS)]


def test_find_skips_words_next_to_code() -> None:
    text = f"ID {JS} OK"
    assert _found(text) == [(JS, True, JS)]


@FAST
@given(_well_formed17, st.text(alphabet="，。：甲方乙方公司 \n", max_size=10))
def test_valid_code_found_in_context(code17: str, before: str) -> None:
    code = code17 + check_char(code17)
    text = before + "纳税人识别号：" + code + "。"
    assert [(c.code, c.valid) for c, _, _ in find_codes(text)] == [(code, True)]
    bare = before + code + "。"  # well-formed and valid: found without a label too
    assert [(c.code, s, e) for c, s, e in find_codes(bare)] == [
        (code, len(before), len(before) + 18)
    ]


# --------------------------------------------------------------------------- junk input

_CODEISH = st.text(
    alphabet=st.sampled_from(
        list(ALPHABET + "IOZSVabc ：:\n\t０１２９ＡＢ统一社会信用代码纳税人识别号税")
        + ["\x00", "\x1b", "\u200b", "\U0001f600"]
    ),
    max_size=120,
)


@settings(deadline=None, max_examples=400)
@given(st.one_of(st.text(max_size=300), _CODEISH))
def test_junk_never_raises(text: str) -> None:
    last = -1
    for code, start, end in find_codes(text):
        assert isinstance(code, CreditCode)
        assert start >= last and end > start
        last = end
        assert not code.valid or validate(code.code)
    parsed = parse(text)
    assert parsed is None or isinstance(parsed, CreditCode)
    assert validate(text) in (True, False)


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    "text",
    [
        "9" * 200_000,
        "91320106 " * 30_000,
        "9 1 3 2 0 1 0 6 " * 20_000,
        ("纳税人识别号：" + "91320106MA1MXY2K4P ") * 5_000,
        "O" * 200_000,
        "A B C D" * 50_000,
    ],
)
def test_huge_inputs(text: str) -> None:
    for code, _, _ in find_codes(text):
        assert not code.valid or validate(code.code)
    assert parse(text) is None
