"""Fuzzing the parsers and the result loader with hypothesis: junk in, a typed answer out, never
an exception (issue #7, item 4).

The per-module property tests (test_money, test_dates, test_uscc, test_invoice_number) already
throw random text and the modules' own alphabets at the parsers; this file goes after what those
miss: digits of other scripts (``٣``, ``𝟑``, ``³``), control and format characters, near-miss
formats built from the real grammar with out-of-range parts, very long inputs — and checks what
a returned value *means* (a real calendar date, a finite amount that re-reads from its 大写, a
credit code that passes the GB 32100 check computed here independently).

The loader part feeds :func:`pipeline.results.load_result` random JSON, truncated and mutated
valid results: the answer is a usable model or :class:`ResultLoadError`, nothing else; and the
reviewer app keeps answering (no 5xx) over a results folder full of such files.

Example counts keep the file under a minute on the 2-core CI machine.
"""

from __future__ import annotations

import json
import math
import os
import re
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from extractors import dates, invoice_number, money, uscc
from pipeline.model import (
    DocumentFields,
    DocumentResult,
    Evidence,
    Flag,
    PageSummary,
    Purchase,
    RunStats,
    ScreeningResult,
    Seal,
    SubdomainHit,
    Verdict,
)
from pipeline.results import ResultLoadError, load_result, load_result_file

SCALE = max(1, int(os.environ.get("YUNSHEN_FUZZ_SCALE", "1")))
"""Multiply every example count (e.g. ``YUNSHEN_FUZZ_SCALE=50`` for a long local hunt)."""
FUZZ = settings(deadline=None, max_examples=150 * SCALE, suppress_health_check=list(HealthCheck))
LONG = settings(deadline=None, max_examples=12 * SCALE, suppress_health_check=list(HealthCheck))

# --------------------------------------------------------------------------- junk alphabets

_OTHER_DIGITS = (
    "٠١٢٣٤٥٦٧٨٩"  # Arabic-Indic (\d matches them, int() reads them)
    "०१२३४५६७८९"  # Devanagari
    "𝟎𝟏𝟐𝟑𝟒𝟓𝟔𝟕𝟖𝟗"  # mathematical bold
    "０１２３４５６７８９"  # full width
    "¹²³⁰⁴"  # superscripts: isdigit() but not \d, int() refuses them
    "①②⑩⑳ⅠⅣⅫ〡〢"  # circled, Roman, Suzhou numerals
)
_CJK_NUMERALS = "零〇○一二两三四五六七八九十百千万亿壹贰叁肆伍陆柒捌玖拾佰仟廿卅元圆角分整正负"
_CURRENCY = "¥￥Y羊$€£元圆人民币RMB小写大写"
_SEPARATORS = ",.，．。·'_ -/~—–−:：()（）[]【】\t\n"
_CONTROL = [chr(c) for c in range(0, 32)] + ["\x7f", "\x85", "\u2028", "\u2029"]
_WEIRD = [
    "\u200b", "\u200c", "\u200d", "\u200e", "\u200f", "\u202e", "\u2066", "\ufeff",  # format chars
    "\u0301", "\u20dd",  # combining marks
    "\ue000", "\U000f0000",  # private use
    "\ufffe", "\uffff", "\U0010ffff", "\ufffd",  # noncharacters, replacement
    "\U0001f600", "\U0001f1e8\U0001f1f3",  # emoji, flag pair
    "\u3000", "\u00a0", "\u2009",  # odd spaces (folded to a space)
]
_LABELS = [
    "发票号码", "发票代码", "校验码", "No", "统一社会信用代码", "纳税人识别号", "税号", "服务期限",
    "合同期限", "价税合计", "金额", "（小写）", "（大写）", "自", "至", "起", "止", "为期", "长期",
]

_JUNK_CHAR = st.one_of(
    st.sampled_from(list(_OTHER_DIGITS + _CJK_NUMERALS + _CURRENCY + _SEPARATORS + "0123456789")),
    st.sampled_from(_CONTROL + _WEIRD),
    st.characters(),  # any code point but surrogates
)
_JUNK_PIECE = st.one_of(_JUNK_CHAR, st.sampled_from(_LABELS), st.from_regex(r"\d{1,24}", fullmatch=True))
JUNK = st.one_of(
    st.text(max_size=200),
    st.lists(_JUNK_PIECE, max_size=60).map("".join),
)

# --------------------------------------------------------------------------- near-miss formats

_ANY_NUMBER = st.one_of(
    st.integers(-10, 10**25).map(str),
    st.sampled_from(["0", "00", "000", "13", "32", "99", "2024", "0000", "1e9", "NaN", "inf", "-0"]),
    st.text(alphabet=_OTHER_DIGITS + "0123456789", min_size=1, max_size=6),
    st.text(alphabet="〇零一二三四五六七八九十廿卅壹贰拾", min_size=1, max_size=5),
)
_NEAR_DATE = st.one_of(
    st.builds(lambda y, m, d, s: f"{y}{s[0]}{m}{s[1]}{d}{s[2]}", _ANY_NUMBER, _ANY_NUMBER, _ANY_NUMBER,
              st.sampled_from([("年", "月", "日"), ("-", "-", ""), ("/", "/", ""), (".", ".", ""), ("年", "月", ""),
                               (" 年 ", " 月 ", " 日"), ("年", "月", "号")])),
    st.builds(lambda a, b, j: f"服务期限：自{a}起{j}{b}止", _ANY_NUMBER, _ANY_NUMBER,
              st.sampled_from(["至", "到", "~", "—", "-", "至长期", ""])),
    st.builds(lambda d, n, u: f"自{d}起，为期{n}{u}", st.dates().map(lambda d: f"{d.year}年{d.month}月{d.day}日"),
              _ANY_NUMBER, st.sampled_from(["年", "个月", "周年", "年半", "个自然月", "天"])),
    st.builds(lambda y, m, d: f"{y:04d}{m:02d}{d:02d}", st.integers(0, 9999), st.integers(0, 99), st.integers(0, 99)),
)
_NEAR_MONEY = st.one_of(
    st.builds(lambda p, n, s: f"{p}{n}{s}", st.sampled_from(["", "¥", "￥", "-¥", "人民币", "RMB ", "（小写）", "Y", "羊"]),
              st.one_of(_ANY_NUMBER, st.from_regex(r"[0-9][0-9,. ]{0,40}", fullmatch=True)),
              st.sampled_from(["", "元", "万元", "千元", "亿元", "元整", ".00", "万", "百万元"])),
    st.builds(lambda p, body: p + body, st.sampled_from(["", "人民币", "（大写）", "负", "人民币（大写）："]),
              st.text(alphabet=_CJK_NUMERALS + "萬仟圓 ", max_size=30)),
)
_CODE_CHARS = uscc.ALPHABET + "IOZSVabcoil|０１ＡＢ-"
_NEAR_USCC = st.one_of(
    st.text(alphabet=_CODE_CHARS, min_size=14, max_size=22),
    st.builds(lambda label, code: f"{label}：{code}", st.sampled_from(_LABELS),
              st.text(alphabet=_CODE_CHARS + " ", min_size=10, max_size=30)),
)
_NEAR_INVOICE = st.one_of(
    st.builds(
        lambda label, digits, sep: f"{label}{sep}{digits}",
        st.sampled_from(["发票号码", "发票代码", "校验码", "No", "No.", "发 票 号 码", "票号码", "号码"]),
        st.text(alphabet="0123456789 OolI|٣𝟑-_/", min_size=0, max_size=40),
        st.sampled_from(["", ":", "：", " ", "\n", "（ ）:", "[x]"]),
    ),
    # bare values as a table cell gives them, digits of any script
    st.text(alphabet="0123456789٠٣९𝟑０ -", min_size=18, max_size=24),
    st.builds(lambda a, b: f"{a}-{b}", st.text(alphabet="0123456789٣𝟑", min_size=10, max_size=12),
              st.text(alphabet="0123456789٣𝟑", min_size=8, max_size=8)),
)
_LONG = st.one_of(
    st.text(min_size=2_000, max_size=8_000),
    st.builds(lambda piece, n: piece * n, st.sampled_from(
        ["2024年1月1日至", "¥1,", "壹拾", "9132", "发票号码：1", "人民币", "1 ", "〇", "年月日", "O"]),
        st.integers(500, 5_000)),
)


# --------------------------------------------------------------------------- money


def _money_checks(text: str) -> None:
    for fn in (money.parse_amount, money.parse_uppercase):
        value = fn(text)
        assert value is None or isinstance(value, Decimal), (fn.__name__, value)
        if value is not None:
            assert value.is_finite()
            assert abs(value) < Decimal(10) ** 25  # 16 integer digits × at most 亿
            if value < 0:  # a sign is printed, never invented
                assert re.search(r"[-−负]", text), (text, value)
    upper = money.parse_uppercase(text)
    if upper is not None and abs(upper) < Decimal(10) ** 16:
        # what was read as 大写 is a real amount: its standard 大写 form reads back the same
        assert money.parse_uppercase(money.to_uppercase(upper)) == upper
    last = -1
    for a in money.find_amounts(text):
        assert isinstance(a, money.AmountMatch) and isinstance(a.value, Decimal) and a.value.is_finite()
        assert 0 <= a.start < a.end <= len(text) and text[a.start : a.end] == a.raw
        assert a.start >= last
        last = a.end
        assert a.form in ("lowercase", "uppercase")


@FUZZ
@given(st.one_of(JUNK, _NEAR_MONEY))
def test_money_parsers_never_raise(text: str) -> None:
    _money_checks(text)


@LONG
@given(_LONG)
def test_money_parsers_on_long_input(text: str) -> None:
    _money_checks(text)


@FUZZ
@given(st.one_of(st.decimals(allow_nan=True, allow_infinity=True), st.integers(), JUNK, st.none(), st.floats()))
def test_to_uppercase_raises_only_its_documented_error(value) -> None:  # noqa: ANN001
    try:
        text = money.to_uppercase(value)
    except ValueError:
        return
    assert isinstance(text, str) and text
    assert money.parse_uppercase(text) is not None


# --------------------------------------------------------------------------- dates


def _real_date(d: object) -> None:
    assert isinstance(d, date)
    assert 1900 <= d.year <= 2099
    assert date.fromordinal(d.toordinal()) == d  # a calendar date, not a constructed impossibility


def _date_checks(text: str) -> None:
    value = dates.parse_date(text)
    if value is not None:
        _real_date(value)
    for m in dates.find_dates(text):
        _real_date(m.value)
        assert 0 <= m.start < m.end <= len(text) and text[m.start : m.end] == m.raw
    for p in dates.find_periods(text):
        assert isinstance(p.start, date) and 1900 <= p.start.year <= 2099
        assert 0 <= p.span[0] < p.span[1] <= len(text)
        if p.end is None:
            assert p.months is None
        else:
            assert isinstance(p.end, date) and p.end >= p.start
            assert p.months == dates.months_between(p.start, p.end)
    period = dates.find_period(text)
    assert period is None or isinstance(period, dates.Period)


@FUZZ
@given(st.one_of(JUNK, _NEAR_DATE))
def test_date_parsers_never_raise(text: str) -> None:
    _date_checks(text)


@LONG
@given(_LONG)
def test_date_parsers_on_long_input(text: str) -> None:
    _date_checks(text)


# --------------------------------------------------------------------------- credit codes

_GB_WEIGHTS = [pow(3, i, 31) for i in range(17)]  # 3^i mod 31: GB 32100-2015 table 3


def _gb32100_ok(code: str) -> bool:
    """The standard's check, written out independently of extractors.uscc."""
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    if len(code) != 18 or any(c not in alphabet for c in code):
        return False
    total = sum(alphabet.index(c) * w for c, w in zip(code[:17], _GB_WEIGHTS))
    return alphabet.index(code[17]) == (31 - total % 31) % 31


def _uscc_checks(text: str) -> None:
    ok = uscc.validate(text)
    assert ok in (True, False)
    if ok:
        assert _gb32100_ok(text.strip().upper())
    parsed = uscc.parse(text)
    assert parsed is None or isinstance(parsed, uscc.CreditCode)
    if parsed is not None:
        if parsed.valid:
            assert _gb32100_ok(parsed.code), parsed
        if parsed.legacy_tax_id:
            assert parsed.valid is None and len(parsed.code) in (15, 20)
    last = -1
    for code, start, end in uscc.find_codes(text):
        assert isinstance(code, uscc.CreditCode) and 0 <= start < end <= len(text) and start >= last
        last = end
        if code.valid:
            assert _gb32100_ok(code.code), code


def test_independent_check_agrees_on_a_known_code() -> None:
    assert _gb32100_ok("91320214MAHHBM9D7Y") and not _gb32100_ok("91320214MAHHBM9D7X")


@FUZZ
@given(st.one_of(JUNK, _NEAR_USCC))
def test_credit_code_parsers_never_raise(text: str) -> None:
    _uscc_checks(text)


@LONG
@given(_LONG)
def test_credit_code_parsers_on_long_input(text: str) -> None:
    _uscc_checks(text)


@FUZZ
@given(st.one_of(JUNK, st.text(alphabet=uscc.ALPHABET, min_size=17, max_size=17)))
def test_check_char_raises_only_its_documented_error(text: str) -> None:
    try:
        ch = uscc.check_char(text)
    except ValueError:
        return
    assert _gb32100_ok((text + ch).upper())


# --------------------------------------------------------------------------- invoice numbers

_DIGITAL = re.compile(r"[0-9]{20}")
_LEGACY = re.compile(r"(?:[0-9]{10}|[0-9]{12})-[0-9]{8}|[0-9]{8}")


def _invoice_checks(text: str) -> None:
    found = [invoice_number.parse_invoice_number(text), invoice_number.find_invoice_number(text),
             *invoice_number.find_invoice_numbers(text)]
    for n in found:
        if n is None:
            continue
        assert isinstance(n, invoice_number.InvoiceNumber)
        pattern = _DIGITAL if n.kind == "digital" else _LEGACY
        assert pattern.fullmatch(n.value), n  # ASCII digits only: it is compared across applications
        assert all(0 <= s < e <= len(text) for s, e in n.spans)
    for c in [invoice_number.find_check_code(text), *invoice_number.find_check_codes(text)]:
        if c is not None:
            assert _DIGITAL.fullmatch(c.value) and 0 <= c.span[0] < c.span[1] <= len(text)


@FUZZ
@given(st.one_of(JUNK, _NEAR_INVOICE))
def test_invoice_number_parsers_never_raise(text: str) -> None:
    _invoice_checks(text)


@LONG
@given(_LONG)
def test_invoice_number_parsers_on_long_input(text: str) -> None:
    _invoice_checks(text)


@pytest.mark.parametrize("parser", [
    money.parse_amount, money.parse_uppercase, money.find_amounts, dates.parse_date, dates.find_dates,
    dates.find_periods, dates.find_period, uscc.parse, uscc.validate, uscc.find_codes,
    invoice_number.parse_invoice_number, invoice_number.find_invoice_numbers, invoice_number.find_check_codes,
])
@pytest.mark.parametrize("value", [None, 42, 3.5, b"2024-01-01", ["x"], {"a": 1}, Decimal("1")])
def test_parsers_refuse_non_strings_quietly(parser, value) -> None:  # noqa: ANN001
    assert parser(value) in (None, [], False)


# --------------------------------------------------------------------------- result loader


def _valid_result() -> ScreeningResult:
    ev = Evidence(file="合同/合同.pdf", page=1, bbox=[0.1, 0.2, 0.3, 0.4], text="合同金额", confidence=0.9)
    doc = DocumentResult(
        file="合同/合同.pdf", sha256="a" * 64, kind="contract", pages=2, ocr_pages=1,
        fields=DocumentFields(amount_yuan=36000.0, date="2024-01-01", period_months=12, buyer="无锡某某科技有限公司",
                              buyer_tax_id="91320214MAHHBM9D7Y", invoice_number="24322000000012345678"),
        seals=[Seal(text="合同专用章", party="provider", page=2, bbox=[0.5, 0.5, 0.7, 0.7], confidence=0.8)],
        subdomains=[SubdomainHit(name="云主机", group="基础云服务", term="云服务器", score=0.9, page=1,
                                 bbox=[0.1, 0.1, 0.2, 0.2])],
        kind_score=0.95, kind_evidence=[ev], field_evidence={"amount_yuan": ev},
        page_info=[PageSummary(number=1, width=595, height=842, unit="pt", source="text-layer", confidence=1.0)],
    )
    return ScreeningResult(
        application_id="APP-FUZZ", screened_at="2026-11-25T10:00:00+08:00", rules_version="2024.1",
        star_sought=4, deployment="public", documents=[doc],
        purchases=[Purchase(provider="阿里云", amount_yuan=36000.0, months=12, annualised_yuan=36000.0, accepted=True,
                            contract_file="合同/合同.pdf")],
        annualised_spend_yuan=36000.0, verdict=Verdict(meets_star_sought=True, highest_star_supported=4),
        flags=[Flag(code="SEAL_MISSING", severity="warning", message="缺少印章", files=["合同/合同.pdf"], evidence=[ev])],
        stats=RunStats(yunshen_version="0", ocr_engine="rapidocr", pages=2),
    )


VALID = _valid_result().to_dict()
VALID_TEXT = json.dumps(VALID, ensure_ascii=False)

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5),
    max_leaves=30,
)


def _paths(doc: object, here: tuple = ()) -> list[tuple]:
    out = [here]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += _paths(v, (*here, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += _paths(v, (*here, i))
    return out


_ALL_PATHS = _paths(VALID)[1:]


@st.composite
def _mutated(draw: st.DrawFn) -> str:
    """A valid result with a few fields deleted, replaced by random JSON or swapped in type."""
    doc = json.loads(VALID_TEXT)
    for _ in range(draw(st.integers(1, 4))):
        path = draw(st.sampled_from(_ALL_PATHS))
        parent = doc
        try:
            for part in path[:-1]:
                parent = parent[part]
            old = parent[path[-1]]
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation removed or replaced this path
        if not isinstance(parent, (dict, list)):
            continue
        action = draw(st.sampled_from(["delete", "random", "swap"]))
        if action == "delete":
            del parent[path[-1]]
        elif action == "random":
            parent[path[-1]] = draw(_JSON)
        else:
            swaps = {str: 7, int: "7", float: "3.5", bool: "true", type(None): [], list: {}, dict: []}
            parent[path[-1]] = swaps.get(type(old), None)
    return json.dumps(doc, ensure_ascii=draw(st.booleans()), allow_nan=True)


_DOCUMENTS = st.one_of(
    st.binary(max_size=300),
    _JSON.map(lambda v: json.dumps(v, allow_nan=True)),
    st.integers(0, len(VALID_TEXT)).map(lambda n: VALID_TEXT[:n]),  # truncated
    _mutated(),
    st.sampled_from([
        "[" * 5000, "{" * 5000, '{"a":' * 3000, VALID_TEXT.replace("36000.0", "1e400"),
        VALID_TEXT.replace("36000.0", "NaN"), VALID_TEXT.replace('"APP-FUZZ"', '"\\ud800"'),
        VALID_TEXT.replace("2", "9" * 5000, 1), "\ufeff" + VALID_TEXT, VALID_TEXT.encode("utf-16"),
        VALID_TEXT.encode("gb18030"), "", " ", "null", "[]", "{}", '"schema"',
    ]),
)


def _usable(result: ScreeningResult) -> None:
    """A model the loader returns can be written back and served as strict JSON."""
    assert isinstance(result, ScreeningResult)
    again = load_result(result.to_json().encode())
    assert again == result
    json.dumps(result.to_dict(), allow_nan=False)


@settings(deadline=None, max_examples=400 * SCALE, suppress_health_check=list(HealthCheck))
@given(_DOCUMENTS)
def test_loader_returns_a_model_or_its_documented_error(document) -> None:  # noqa: ANN001
    try:
        result = load_result(document)
    except ResultLoadError as exc:
        text = str(exc)
        assert len(text) < 500
        return
    _usable(result)


def test_loader_error_never_repeats_document_values(tmp_path) -> None:
    """The message goes to logs: it names where the document is wrong, not what it says."""
    doc = json.loads(VALID_TEXT)
    doc["documents"][0]["pages"] = "张三 13812345678"
    with pytest.raises(ResultLoadError) as err:
        load_result(json.dumps(doc, ensure_ascii=False))
    assert "13812345678" not in str(err.value) and "documents.0.pages" in str(err.value)
    path = tmp_path / "APP-X.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(ResultLoadError, match="APP-X.json"):
        load_result_file(path)
    with pytest.raises(ResultLoadError):
        load_result_file(tmp_path / "missing.json")
    assert load_result(VALID_TEXT) == _valid_result()


def test_other_loaders_treat_a_load_error_as_a_value_error() -> None:
    """reprocess and the watcher skip files with ``except ValueError``: the documented error fits."""
    assert issubclass(ResultLoadError, ValueError)


# --------------------------------------------------------------------------- the reviewer app


@pytest.fixture(scope="module")
def reviewer(tmp_path_factory):
    from fastapi.testclient import TestClient

    from pipeline.web import cli_users_add, create_app

    root = tmp_path_factory.mktemp("fuzz-web")
    results = root / "results"
    results.mkdir()
    db_url = f"sqlite:///{root / 'web.db'}"
    cli_users_add(db_url, "prov", "correct horse battery", "province")
    client = TestClient(create_app(results, None, db_url, rescan_seconds=0), raise_server_exceptions=False)
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
    r = client.post("/login", data={"username": "prov", "password": "correct horse battery",
                                    "csrf_token": token, "next": "/"}, follow_redirects=False)
    assert r.status_code == 303
    return client, results


@settings(deadline=None, max_examples=40, suppress_health_check=list(HealthCheck))
@given(st.lists(_DOCUMENTS, min_size=1, max_size=4))
def test_reviewer_app_never_500s_on_corrupt_or_odd_results(reviewer, documents) -> None:  # noqa: ANN001
    client, results = reviewer
    for old in results.glob("*.json"):
        old.unlink()
    for i, document in enumerate(documents):
        data = document.encode("utf-8", "surrogatepass") if isinstance(document, str) else document
        (results / f"R{i}.json").write_bytes(data)
    (results / "ok.json").write_text(VALID_TEXT, encoding="utf-8")
    queue = client.get("/")
    assert queue.status_code == 200
    assert "APP-FUZZ" in queue.text  # one corrupt file never hides the good ones
    listing = client.get("/api/applications")
    assert listing.status_code == 200
    for app in listing.json()["applications"]:
        app_id = app["application_id"]
        for url in (f"/applications/{app_id}", f"/api/applications/{app_id}"):
            assert client.get(url).status_code < 500, url


def test_reviewer_index_lists_unreadable_files(tmp_path) -> None:
    from pipeline.web.results import ResultIndex

    (tmp_path / "good.json").write_text(VALID_TEXT, encoding="utf-8")
    (tmp_path / "cut.json").write_text(VALID_TEXT[: len(VALID_TEXT) // 2], encoding="utf-8")
    (tmp_path / "inf.json").write_text(VALID_TEXT.replace("36000.0", "1e400"), encoding="utf-8")
    index = ResultIndex(tmp_path, rescan_seconds=0)
    assert [r.application_id for r in index.all()] == ["APP-FUZZ"]
    assert sorted(index.unreadable()) == ["cut.json", "inf.json"]
    assert not math.isinf(index.get("APP-FUZZ").annualised_spend_yuan)
