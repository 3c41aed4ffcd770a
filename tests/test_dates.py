"""Dates and service periods: printed forms, OCR noise, month counting, junk input."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from extractors.dates import (
    DateMatch,
    Period,
    add_months,
    find_dates,
    find_period,
    find_periods,
    months_between,
    parse_date,
)

FAST = settings(deadline=None, max_examples=300)


# --------------------------------------------------------------------------- dates


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024年1月1日", date(2024, 1, 1)),
        ("2024年01月01日", date(2024, 1, 1)),
        ("2024-01-01", date(2024, 1, 1)),
        ("2024/1/1", date(2024, 1, 1)),
        ("2024.01.01", date(2024, 1, 1)),
        ("二〇二四年一月一日", date(2024, 1, 1)),
        ("二零二四年一月一日", date(2024, 1, 1)),
        ("二〇二四年十二月三十一日", date(2024, 12, 31)),
        ("二〇二四年十月二十日", date(2024, 10, 20)),
        ("二〇二四年二月二十九日", date(2024, 2, 29)),
        ("二〇一九年六月十八日", date(2019, 6, 18)),
        ("2024 年 1 月 1 日", date(2024, 1, 1)),
        ("２０２４年０３月１５日", date(2024, 3, 15)),  # full width
        ("２０２４－０３－１５", date(2024, 3, 15)),
        ("2O24-0l-15", date(2024, 1, 15)),  # OCR O/l for 0/1
        ("2024年3月15曰", date(2024, 3, 15)),  # OCR 曰 for 日
        ("2024年3月15号", date(2024, 3, 15)),
        ("2024 - 03 - 15", date(2024, 3, 15)),
        ("1999.12.31", date(1999, 12, 31)),
    ],
)
def test_find_single_date(text: str, expected: date) -> None:
    found = find_dates(f"签订日期：{text}。")
    assert [d.value for d in found] == [expected]
    assert found[0].raw == text
    assert found[0].start == len("签订日期：")


@pytest.mark.parametrize(
    "text",
    [
        "2024-02-30",
        "2023年2月29日",
        "2024年13月1日",
        "2024-00-10",
        "2024/4/31",
        "二〇二四年二月三十日",
        "二〇二四年十三月一日",
        "2024-03",  # a month is not a date
        "20240101",  # compact only in parse_date
        "1.2.3",
        "025-83456789",
        "12024-01-01",  # five-digit year
        "2024-01-012",
        "3024-01-01",
        "2024-01/01",  # mixed separators
    ],
)
def test_invalid_or_partial_dates_are_not_matches(text: str) -> None:
    assert find_dates(text) == []


def test_find_dates_many_with_spans() -> None:
    text = "开票日期：2024年03月15日\n导出时间：2024-04-02 10:21:35；到期时间 2025-12-31 23:59"
    found = find_dates(text)
    assert [d.value for d in found] == [date(2024, 3, 15), date(2024, 4, 2), date(2025, 12, 31)]
    for d in found:
        assert isinstance(d, DateMatch)
        assert text[d.start : d.end] == d.raw


def test_licence_dates() -> None:
    text = (
        "成立日期\n2019年06月18日\n营业期限\n2019年06月18日至长期\n"
        "登记机关 南京市建邺区市场监督管理局\n2023年08月21日"
    )
    assert [d.value for d in find_dates(text)] == [
        date(2019, 6, 18),
        date(2019, 6, 18),
        date(2023, 8, 21),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024年01月01日", date(2024, 1, 1)),
        ("  2024-01-01 ", date(2024, 1, 1)),
        ("2024-04-02 10:21:35", date(2024, 4, 2)),
        ("2024-04-02 10:21", date(2024, 4, 2)),
        ("20240101", date(2024, 1, 1)),
        ("二〇二四年十二月三十一日", date(2024, 12, 31)),
        ("2024-02-30", None),
        ("20240230", None),
        ("开票日期：2024-01-01", None),  # a single date string, nothing else
        ("2024-01-01至2024-12-31", None),
        ("", None),
        ("today", None),
    ],
)
def test_parse_date(text: str, expected: date | None) -> None:
    assert parse_date(text) == expected


# --------------------------------------------------------------------------- months


@pytest.mark.parametrize(
    ("start", "end", "months"),
    [
        (date(2024, 1, 1), date(2026, 12, 31), 36),
        (date(2024, 3, 15), date(2025, 3, 14), 12),
        (date(2024, 3, 15), date(2025, 3, 13), 11),
        (date(2024, 3, 15), date(2025, 3, 15), 12),
        (date(2024, 1, 1), date(2024, 1, 31), 1),
        (date(2024, 1, 1), date(2024, 1, 30), 0),
        (date(2024, 1, 1), date(2024, 1, 1), 0),
        (date(2024, 1, 31), date(2024, 2, 29), 1),  # month-end clamping
        (date(2024, 2, 29), date(2025, 2, 28), 12),
        (date(2024, 1, 1), date(2025, 12, 31), 24),
        (date(2024, 12, 31), date(2024, 1, 1), 0),  # end before start
    ],
)
def test_months_between(start: date, end: date, months: int) -> None:
    assert months_between(start, end) == months


@FAST
@given(st.dates(min_value=date(1950, 1, 1), max_value=date(2090, 12, 31)), st.integers(1, 240))
def test_months_between_inverts_add_months(start: date, n: int) -> None:
    """A term of n months ending the day before the n-month anniversary is n months."""
    end = add_months(start, n) - timedelta(days=1)
    assert months_between(start, end) == n
    assert months_between(start, end - timedelta(days=1)) == n - 1 or start.day > 28


@FAST
@given(
    st.dates(min_value=date(1950, 1, 1), max_value=date(2090, 12, 31)),
    st.integers(0, 5000),
)
def test_months_between_is_monotonic(start: date, days: int) -> None:
    end = start + timedelta(days=days)
    assert months_between(start, end) <= months_between(start, end + timedelta(days=1))
    assert months_between(start, end) <= days // 28 + 1


# --------------------------------------------------------------------------- periods


@pytest.mark.parametrize(
    ("text", "start", "end", "months", "label"),
    [
        (
            "本合同服务期限为2024年1月1日至2025年12月31日。服务期限届满前三十日内，双方可协商续签。",
            date(2024, 1, 1), date(2025, 12, 31), 24, "服务期限",
        ),
        (
            "服务期限：自2024年1月1日起至2026年12月31日止",
            date(2024, 1, 1), date(2026, 12, 31), 36, "服务期限",
        ),
        ("2024-01-01至2026-12-31", date(2024, 1, 1), date(2026, 12, 31), 36, None),
        ("订阅期：2024.01.01—2025.12.31", date(2024, 1, 1), date(2025, 12, 31), 24, "订阅期"),
        ("有效期 2024.03.15 ~ 2025.03.14", date(2024, 3, 15), date(2025, 3, 14), 12, "有效期"),
        ("使用期限 2024/01/01-2024/12/31", date(2024, 1, 1), date(2024, 12, 31), 12, "使用期限"),
        ("租期：2024年1月1日到2024年6月30日", date(2024, 1, 1), date(2024, 6, 30), 6, "租期"),
        ("服务期 2024.01.01–2024.12.31", date(2024, 1, 1), date(2024, 12, 31), 12, "服务期"),
        # OCR reads the dash as 一
        ("服务期 2024.01.01一2024.12.31", date(2024, 1, 1), date(2024, 12, 31), 12, "服务期"),
        ("服务期 2024.01.01～2024.12.31", date(2024, 1, 1), date(2024, 12, 31), 12, "服务期"),
        (
            "服务期限：2024年1月1日0时起至2024年12月31日24时止",
            date(2024, 1, 1), date(2024, 12, 31), 12, "服务期限",
        ),
        (
            "服务期限为二〇二四年一月一日至二〇二六年十二月三十一日",
            date(2024, 1, 1), date(2026, 12, 31), 36, "服务期限",
        ),
        ("服务期限：2024年1月至2025年12月", date(2024, 1, 1), date(2025, 12, 31), 24, "服务期限"),
        ("服务周期 2024.01-2024.06", date(2024, 1, 1), date(2024, 6, 30), 6, "服务周期"),
        (
            "服务期限：2024年1月1日至\n2026年12月31日",  # line wrapped by the layout
            date(2024, 1, 1), date(2026, 12, 31), 36, "服务期限",
        ),
        # durations with a start date
        (
            "服务期限为三年，自2024年1月1日起计算",
            date(2024, 1, 1), date(2026, 12, 31), 36, "服务期限",
        ),
        ("自2024年1月1日起，为期壹年", date(2024, 1, 1), date(2024, 12, 31), 12, None),
        ("服务期限：自2024年3月15日起1年", date(2024, 3, 15), date(2025, 3, 14), 12, "服务期限"),
        ("租期：2024年3月15日起24个月", date(2024, 3, 15), date(2026, 3, 14), 24, "租期"),
        ("订阅期自2024-01-01起，为期36个月", date(2024, 1, 1), date(2026, 12, 31), 36, "订阅期"),
        ("服务期为期十八个月，从2024年1月1日", date(2024, 1, 1), date(2025, 6, 30), 18, "服务期"),
        ("自2024年1月1日起为期半年", date(2024, 1, 1), date(2024, 6, 30), 6, None),
        ("自2024年1月1日起为期一年半", date(2024, 1, 1), date(2025, 6, 30), 18, None),
        ("有效期两年，自2024年7月1日起", date(2024, 7, 1), date(2026, 6, 30), 24, "有效期"),
    ],
)  # fmt: skip
def test_find_period(text: str, start: date, end: date, months: int, label: str | None) -> None:
    period = find_period(text)
    assert period is not None
    assert (period.start, period.end, period.months, period.label) == (start, end, months, label)
    s, e = period.span
    assert 0 <= s < e <= len(text)


def test_period_span_covers_the_printed_range() -> None:
    text = "第二条 服务期限：自2024年1月1日起至2026年12月31日止。"
    period = find_period(text)
    assert period is not None
    assert text[period.span[0] : period.span[1]] == "自2024年1月1日起至2026年12月31日止"


def test_open_ended_period() -> None:
    text = "营业期限 2019年06月18日至长期"
    period = find_period(text)
    assert period == Period(date(2019, 6, 18), None, None, (5, len(text)), None)


def test_find_period_prefers_the_labelled_one() -> None:
    text = (
        "甲方于2023年12月1日至2023年12月5日完成测试。本合同服务期限为2024年1月1日至2025年12月31日。"
    )
    assert len(find_periods(text)) == 2
    period = find_period(text)
    assert period is not None and period.start == date(2024, 1, 1) and period.months == 24


def test_find_period_falls_back_to_first_unlabelled() -> None:
    period = find_period("计费：2024-01-01 ~ 2024-03-31")
    assert period is not None and period.months == 3 and period.label is None


def test_label_in_another_sentence_does_not_count() -> None:
    period = find_period("服务期限见附件。2024年1月1日至2024年12月31日为试运行阶段")
    assert period is not None and period.label is None


@pytest.mark.parametrize(
    "text",
    [
        "",
        "2024年1月1日",  # one date is not a period
        "开票日期：2024年03月15日 导出时间：2024-04-02",  # two dates, not joined
        "服务期限：2025年1月1日至2024年1月1日",  # ends before it starts
        "服务期限：2024年2月30日至2025年1月1日",  # invalid start
        "账期：2024-03    导出时间：2024-04-02 10:21:35",
        "服务期限三年",  # no start date
        "服务期限为期零年，自2024年1月1日起",
    ],
)
def test_no_period(text: str) -> None:
    assert find_period(text) is None


def test_periods_in_order_with_spans() -> None:
    text = "一期：2024-01-01至2024-06-30；二期：2024-07-01至2024-12-31。"
    periods = find_periods(text)
    assert [(p.start, p.end, p.months) for p in periods] == [
        (date(2024, 1, 1), date(2024, 6, 30), 6),
        (date(2024, 7, 1), date(2024, 12, 31), 6),
    ]
    assert text[periods[1].span[0] : periods[1].span[1]] == "2024-07-01至2024-12-31"


@FAST
@given(
    st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31)),
    st.integers(0, 2000),
    st.sampled_from(["{a}至{b}", "自{a}起至{b}止", "{a} — {b}", "{a}~{b}", "{a}到{b}"]),
    st.sampled_from(
        [
            "{0.year}年{0.month}月{0.day}日",
            "{0.year}年{0.month:02d}月{0.day:02d}日",
            "{0.year}-{0.month:02d}-{0.day:02d}",
            "{0.year}.{0.month:02d}.{0.day:02d}",
            "{0.year}/{0.month}/{0.day}",
        ]
    ),
)
def test_period_round_trip(start: date, days: int, joiner: str, fmt: str) -> None:
    end = start + timedelta(days=days)
    text = "服务期限：" + joiner.format(a=fmt.format(start), b=fmt.format(end)) + "。"
    period = find_period(text)
    assert period is not None
    assert (period.start, period.end, period.label) == (start, end, "服务期限")
    assert period.months == months_between(start, end)


# --------------------------------------------------------------------------- junk input

_DATEISH = st.text(
    alphabet=st.sampled_from(
        list("0123456789０１２３４５６７８９-/.~—一至到起止自从年月日号为期个半 :\n")
        + list("〇零二三四五六七八九十服务期限长期")
        + ["\x00", "\x1b", "\u200b", "\U0001f600", "O", "l"]
    ),
    max_size=120,
)


@settings(deadline=None, max_examples=400)
@given(st.one_of(st.text(max_size=300), _DATEISH))
def test_junk_never_raises(text: str) -> None:
    for d in find_dates(text):
        assert text[d.start : d.end] == d.raw
    for p in find_periods(text):
        assert 0 <= p.span[0] < p.span[1] <= len(text)
        assert p.end is None or (p.end >= p.start and p.months == months_between(p.start, p.end))
    assert parse_date(text) is None or isinstance(parse_date(text), date)
    find_period(text)


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    "text",
    [
        "2024" * 50_000,
        "2024-" * 50_000,
        "2024年1月1日至" * 20_000,
        "二〇" * 100_000,
        "服务期限" * 50_000,
        "自2024年1月1日起为期" * 20_000,
        "1" * 200_000,
    ],
)
def test_huge_inputs(text: str) -> None:
    assert all(text[d.start : d.end] == d.raw for d in find_dates(text))
    find_periods(text)
    assert parse_date(text) is None
