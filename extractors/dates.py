"""Dates and service periods as printed on contracts, invoices, licences and console pages.

Dates: ``2024年1月1日``, ``2024-01-01``, ``2024/1/1``, ``2024.01.01``,
``二〇二四年十二月三十一日``, with
OCR spaces (``2024 年 1 月 1 日``), full-width digits and ``O``/``l`` read for ``0``/``1``. Invalid
calendar dates (``2024-02-30``) are not matches.

Periods: a start and an end date joined by 至/到/~/dashes
(``自2024年1月1日起至2026年12月31日止``), year-month ranges (``2024年1月至2025年12月``), a start
date plus a duration (``自2024年1月1日起，为期三年``), or an open end (``至长期``).
:func:`months_between` counts whole months with an inclusive end day, which is how contracts
state terms (2024-01-01..2026-12-31 is 36 months).

Matching runs on a length-preserving normalisation, so spans index the caller's text. Nothing
here raises on junk input.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml

from extractors.textnorm import fold_width

__all__ = [
    "DateMatch",
    "Period",
    "add_months",
    "find_dates",
    "find_period",
    "find_periods",
    "months_between",
    "parse_date",
]

_DATA_FILE = Path(__file__).with_name("data") / "periods.yaml"

# --------------------------------------------------------------------------- normalisation

_LOOKALIKE = re.compile(r"(?<=\d)[OoIl|]|[OoIl|](?=\d)")
_LOOKALIKE_DIGIT = {"O": "0", "o": "0", "I": "1", "l": "1", "|": "1"}


def _fold(text: str) -> str:
    """Full-width → half-width; ``O``/``l`` next to a digit → ``0``/``1``. One char for one."""
    folded = fold_width(text)
    return _LOOKALIKE.sub(lambda m: _LOOKALIKE_DIGIT[m.group()], folded)


# --------------------------------------------------------------------------- numerals

_CN_DIGIT = {
    "〇": 0, "零": 0, "○": 0, "O": 0, "0": 0,
    "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9,
    "壹": 1, "贰": 2, "两": 2, "叁": 3, "肆": 4, "伍": 5, "陆": 6, "柒": 7, "捌": 8, "玖": 9,
}  # fmt: skip


def _small_number(s: str) -> int | None:
    """``12`` / ``十二`` / ``二十`` / ``三十一`` / ``壹拾`` / ``元`` (January) → int < 100."""
    if s.isascii() and s.isdigit():
        return int(s)
    if s == "元":
        return 1
    s = s.replace("拾", "十").replace("廿", "二十").replace("卅", "三十")
    if "十" in s:
        tens_s, _, ones_s = s.partition("十")
        if "十" in ones_s or len(tens_s) > 1 or len(ones_s) > 1:
            return None
        tens = _CN_DIGIT.get(tens_s, -1) if tens_s else 1
        ones = _CN_DIGIT.get(ones_s, -1) if ones_s else 0
        if tens < 1 or ones < 0:
            return None
        return tens * 10 + ones
    if len(s) == 1 and s in _CN_DIGIT:
        return _CN_DIGIT[s]
    return None


def _year(s: str) -> int | None:
    if s.isascii() and s.isdigit():
        return int(s)
    digits = [_CN_DIGIT.get(c) for c in s]
    if any(d is None for d in digits):
        return None
    return int("".join(str(d) for d in digits))


# --------------------------------------------------------------------------- patterns

_SP = r"[ \t]{0,2}"
_Y4 = r"(?:19|20)\d{2}"
_CN_Y = r"[〇零○O0一二三四五六七八九]{4}"
_CN_M = r"十[一二]?|[一二三四五六七八九]|元"
_CN_1_9 = "[一二三四五六七八九]"
_CN_D = rf"[二三]十{_CN_1_9}?|十{_CN_1_9}?|{_CN_1_9}|廿{_CN_1_9}?|卅一?"
_NOT_AFTER_NUMERAL = r"(?<![\d〇零○一二三四五六七八九十])"

_CJK_DATE = re.compile(
    rf"{_NOT_AFTER_NUMERAL}(?P<y>{_Y4}|{_CN_Y}){_SP}年{_SP}(?P<m>\d{{1,2}}|{_CN_M}){_SP}月"
    rf"{_SP}(?P<d>\d{{1,2}}|{_CN_D}){_SP}[日号曰]"
)
_SEP_DATE = re.compile(
    rf"(?<![\d.])(?P<y>{_Y4}){_SP}(?P<sep>[-/.]){_SP}(?P<m>\d{{1,2}}){_SP}(?P=sep){_SP}"
    rf"(?P<d>\d{{1,2}})(?!\d|\.\d)"
)
_CJK_YM = re.compile(
    rf"{_NOT_AFTER_NUMERAL}(?P<y>{_Y4}|{_CN_Y}){_SP}年{_SP}(?P<m>\d{{1,2}}|{_CN_M}){_SP}月"
    rf"(?!{_SP}(?:\d|[一二三四五六七八九十廿卅]))"
)
_SEP_YM = re.compile(
    rf"(?<![\d./])(?P<y>{_Y4}){_SP}(?P<sep>[-/.]){_SP}(?P<m>\d{{1,2}})(?!\d|{_SP}(?P=sep){_SP}\d)"
)
_COMPACT_DATE = re.compile(rf"(?P<y>{_Y4})(?P<m>\d{{2}})(?P<d>\d{{2}})")
_TRAILING_TIME = re.compile(r"(?:[ T]{1,2}\d{1,2}:\d{2}(?::\d{2})?)?[ \t]*")

_TIME = (
    r"(?:\d{1,2}:\d{2}(?::\d{2})?"
    r"|(?:\d{1,2}|[零一二三四五六七八九十]{1,3})[ \t]*[时点](?:[ \t]*\d{1,2}[ \t]*分)?(?:整)?)"
)
_DASHES = r"[-~—–−‐‑一〜_]"
_RANGE_GAP = re.compile(rf"\s*(?:{_TIME})?\s*(?:起|开始)?\s*(?:直至|至|到|{_DASHES}{{1,3}})\s*")
_RANGE_TAIL = re.compile(rf"[ \t]*(?:{_TIME})?[ \t]*(?:止|为止)")
_RANGE_HEAD = re.compile(r"(?:自|从)[ \t]*$")
_MAX_GAP = 30

_N = r"(?P<n>\d{1,3}|[一二两三四五六七八九十壹贰叁肆伍陆柒捌玖拾]{1,3}|半)"
_U = r"(?P<u>个自然月|个月|周年|年半|年)"
_DURATION_AFTER = re.compile(
    rf"[ \t]*(?:{_TIME})?[ \t]*"
    rf"(?:(?:起|开始)(?:算|计算|计|生效)?[ \t]*[,;]?[ \t]*"
    rf"(?:为期|期限为?|服务期限?为?|有效期为?|共计?)?"
    rf"|[,]?[ \t]*(?:为期|期限为?))"
    rf"[ \t]*{_N}[ \t]*{_U}"
)
_DURATION_BEFORE = re.compile(
    rf"(?:为期|期限?|时长|周期)[ \t]*(?:为|是)?[ \t]*:?[ \t]*{_N}[ \t]*{_U}"
    rf"[ \t]*[,;]?[ \t]*\(?[ \t]*(?:自|从)?[ \t]*$"
)
_DURATION_LOOKBACK = 30


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class _PeriodData:
    labels: tuple[str, ...]
    label_window: int
    open_ended: tuple[str, ...]


@lru_cache(maxsize=1)
def _data() -> _PeriodData:
    raw: dict[str, Any] = yaml.safe_load(_DATA_FILE.read_text(encoding="utf-8"))
    return _PeriodData(
        labels=tuple(sorted({str(x) for x in raw.get("labels") or ()}, key=len, reverse=True)),
        label_window=int(raw.get("label_window", 40)),
        open_ended=tuple(
            sorted({str(x) for x in raw.get("open_ended") or ()}, key=len, reverse=True)
        ),
    )


@lru_cache(maxsize=1)
def _label_re() -> re.Pattern[str]:
    return re.compile("|".join(re.escape(label) for label in _data().labels))


@lru_cache(maxsize=1)
def _open_end_re() -> re.Pattern[str]:
    words = "|".join(re.escape(w) for w in _data().open_ended)
    return re.compile(rf"[ \t]*(?:起)?[ \t]*(?:至|到|{_DASHES}{{1,2}})?[ \t]*(?:{words})")


# --------------------------------------------------------------------------- dates


@dataclass(frozen=True)
class DateMatch:
    """One date found in text; ``raw == text[start:end]`` of the caller's text."""

    value: date
    start: int
    end: int
    raw: str


def _make_date(y: str, m: str, d: str) -> date | None:
    year, month, day = _year(y), _small_number(m), _small_number(d)
    if year is None or month is None or day is None or not 1900 <= year <= 2099:
        return None
    try:
        return date(year, month, day)
    except ValueError:  # 2024-02-30
        return None


def _dates(norm: str) -> list[tuple[date, int, int]]:
    found: list[tuple[date, int, int]] = []
    for pattern in (_CJK_DATE, _SEP_DATE):
        for m in pattern.finditer(norm):
            value = _make_date(m.group("y"), m.group("m"), m.group("d"))
            if value is not None:
                found.append((value, m.start(), m.end()))
    return _non_overlapping(found)


def _non_overlapping(items: list[tuple[Any, int, int]]) -> list[tuple[Any, int, int]]:
    items = sorted(items, key=lambda t: (t[1], -(t[2] - t[1])))
    out: list[tuple[Any, int, int]] = []
    for item in items:
        if out and item[1] < out[-1][2]:
            continue
        out.append(item)
    return out


def find_dates(text: str) -> list[DateMatch]:
    """Every calendar date in ``text`` (day precision), in order of position."""
    if not isinstance(text, str) or not text:
        return []
    norm = _fold(text)
    return [DateMatch(v, s, e, text[s:e]) for v, s, e in _dates(norm)]


def parse_date(text: str) -> date | None:
    """One date string (``'2024年01月01日'``, ``'2024-01-01 10:21:35'``, ``'20240101'``) → date."""
    if not isinstance(text, str) or len(text) > 100:
        return None
    norm = _fold(text).strip()
    compact = _COMPACT_DATE.fullmatch(norm)
    if compact is not None:
        return _make_date(compact.group("y"), compact.group("m"), compact.group("d"))
    found = _dates(norm)
    if len(found) != 1:
        return None
    value, start, end = found[0]
    if start != 0 or not _TRAILING_TIME.fullmatch(norm, end):
        return None
    return value


# --------------------------------------------------------------------------- months


def add_months(day: date, months: int) -> date:
    """``day`` moved by whole months, clamped to the month's last day (01-31 + 1 → 02-29)."""
    y, m0 = divmod(day.month - 1 + months, 12)
    year = day.year + y
    return date(year, m0 + 1, min(day.day, calendar.monthrange(year, m0 + 1)[1]))


def months_between(start: date, end: date) -> int:
    """Whole months from ``start`` to ``end`` with the end day included.

    2024-01-01..2026-12-31 → 36, 2024-03-15..2025-03-14 → 12, 2024-01-01..2024-01-30 → 0.
    An end before the start gives 0.
    """
    if end < start:
        return 0
    limit = end + timedelta(days=1)
    months = (limit.year - start.year) * 12 + (limit.month - start.month)
    while months > 0 and add_months(start, months) > limit:
        months -= 1
    return max(months, 0)


# --------------------------------------------------------------------------- periods


@dataclass(frozen=True)
class Period:
    """A service period. ``end``/``months`` are ``None`` for an open end (``至长期``).

    ``span`` indexes the caller's text; ``label`` is the period label that introduced it
    (``服务期限``…), if any.
    """

    start: date
    end: date | None
    months: int | None
    span: tuple[int, int]
    label: str | None = None


@dataclass(frozen=True)
class _Endpoint:
    kind: Literal["day", "month"]
    first: date
    last: date
    start: int
    end: int


def _month_endpoint(y: str, m: str, start: int, end: int) -> _Endpoint | None:
    year, month = _year(y), _small_number(m)
    if year is None or month is None or not 1900 <= year <= 2099 or not 1 <= month <= 12:
        return None
    last_day = calendar.monthrange(year, month)[1]
    return _Endpoint("month", date(year, month, 1), date(year, month, last_day), start, end)


def _endpoints(norm: str) -> list[_Endpoint]:
    points = [_Endpoint("day", v, v, s, e) for v, s, e in _dates(norm)]
    taken = [(p.start, p.end) for p in points]
    for pattern in (_CJK_YM, _SEP_YM):
        for m in pattern.finditer(norm):
            if any(m.start() < e and s < m.end() for s, e in taken):
                continue
            point = _month_endpoint(m.group("y"), m.group("m"), m.start(), m.end())
            if point is not None:
                points.append(point)
                taken.append((point.start, point.end))
    return sorted(points, key=lambda p: p.start)


def _duration_months(n: str, unit: str) -> int | None:
    if n == "半":
        return 6 if unit == "年" else None
    count = _small_number(n)
    if not count:
        return None
    if unit in ("年", "周年"):
        return count * 12
    if unit == "年半":
        return count * 12 + 6
    return count


def _label_for(norm: str, start: int) -> str | None:
    window_start = max(0, start - _data().label_window)
    window = norm[window_start:start]
    last = None
    for m in _label_re().finditer(window):
        last = m
    if last is None:
        return None
    between = window[last.end() :]
    if re.search(r"[。;]|\n\s*\n", between) or between.count("\n") > 1:
        return None
    return last.group()


def _extend_head(norm: str, start: int) -> int:
    head = _RANGE_HEAD.search(norm, max(0, start - 4), start)
    return head.start() if head is not None else start


def find_periods(text: str) -> list[Period]:
    """Every period in ``text``, in order of position (see the module docstring for forms)."""
    if not isinstance(text, str) or not text:
        return []
    norm = _fold(text)
    points = _endpoints(norm)
    used: set[int] = set()
    found: list[Period] = []

    for i in range(len(points) - 1):
        a, b = points[i], points[i + 1]
        if i in used or b.start - a.end > _MAX_GAP:
            continue
        if not _RANGE_GAP.fullmatch(norm, a.end, b.start) or b.last < a.first:
            continue
        end = b.end
        tail = _RANGE_TAIL.match(norm, end)
        if tail is not None:
            end = tail.end()
        span = (_extend_head(norm, a.start), end)
        found.append(Period(a.first, b.last, months_between(a.first, b.last), span))
        used.update((i, i + 1))

    for i, p in enumerate(points):
        if i in used or p.kind != "day":
            continue
        open_end = _open_end_re().match(norm, p.end)
        if open_end is not None:
            found.append(Period(p.first, None, None, (_extend_head(norm, p.start), open_end.end())))
            used.add(i)
            continue
        after = _DURATION_AFTER.match(norm, p.end)
        before = _DURATION_BEFORE.search(norm, max(0, p.start - _DURATION_LOOKBACK), p.start)
        if after is not None:
            months = _duration_months(after.group("n"), after.group("u"))
            span = (_extend_head(norm, p.start), after.end())
        elif before is not None:
            months = _duration_months(before.group("n"), before.group("u"))
            span = (before.start("n"), p.end)
        else:
            continue
        if months is None:
            continue
        end_day = add_months(p.first, months) - timedelta(days=1)
        found.append(Period(p.first, end_day, months, span))
        used.add(i)

    found.sort(key=lambda q: q.span)
    return [Period(q.start, q.end, q.months, q.span, _label_for(norm, q.span[0])) for q in found]


def find_period(text: str) -> Period | None:
    """The service period of a document: the first labelled one (服务期限…), else the first."""
    periods = find_periods(text)
    for period in periods:
        if period.label is not None:
            return period
    return periods[0] if periods else None
