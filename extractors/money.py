"""Money amounts as printed on Chinese contracts and invoices.

Two printed forms matter: 小写 (``¥12,600.00``, ``12600元``, ``1.26万元``) and 大写
(``壹万贰仟陆佰元整``). Invoices and contracts print both, and the screening rules compare them,
so the 大写 parser is strict about structure: a string it cannot read unambiguously gives ``None``
rather than a guess (``壹佰伍元`` could be 150 or 105 → ``None``).

Everything here runs on OCR output and never raises on junk input. Matching is done on a
*length-preserving* normalisation of the input (full-width → half-width, one character for one),
so spans always index the caller's original text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml

from extractors.textnorm import fold_width

__all__ = [
    "AmountMatch",
    "find_amounts",
    "parse_amount",
    "parse_uppercase",
    "to_uppercase",
]

_DATA_FILE = Path(__file__).with_name("data") / "money.yaml"

MAX_INTEGER_DIGITS = 16
"""Amounts with more integer digits are not amounts (and would overflow Decimal contexts)."""

# --------------------------------------------------------------------------- normalisation



def _fold(text: str) -> str:
    """Full-width → half-width, odd spaces → space; one character for one (spans survive)."""
    return fold_width(text)


# --------------------------------------------------------------------------- data


_DIGITS: dict[str, int] = {
    "壹": 1, "贰": 2, "叁": 3, "肆": 4, "伍": 5, "陆": 6, "柒": 7, "捌": 8, "玖": 9,
    "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "两": 2,
}  # fmt: skip
_UNITS: dict[str, int] = {"拾": 10, "佰": 100, "仟": 1000, "十": 10, "百": 100, "千": 1000}
_UPPER_ONLY = set("壹贰叁肆伍陆柒捌玖拾佰仟")
"""Characters that only occur in 大写 amounts: a run without any needs a 人民币 prefix."""
_STRUCTURAL = set("零万亿元圆角分整正负")


@dataclass(frozen=True)
class _MoneyData:
    aliases: dict[str, str]
    currency_words: tuple[str, ...]
    uncertain_yen: tuple[str, ...]
    multipliers: dict[str, int]


@lru_cache(maxsize=1)
def _data() -> _MoneyData:
    raw: dict[str, Any] = yaml.safe_load(_DATA_FILE.read_text(encoding="utf-8"))
    aliases = {str(k): str(v) for k, v in (raw.get("uppercase_aliases") or {}).items()}
    known = set(_DIGITS) | set(_UNITS) | _STRUCTURAL
    for k, v in aliases.items():
        if len(k) != 1 or v not in known:
            raise ValueError(f"{_DATA_FILE}: bad 大写 alias {k!r} → {v!r}")
    return _MoneyData(
        aliases=aliases,
        currency_words=tuple(raw.get("currency_words") or ()),
        uncertain_yen=tuple(raw.get("uncertain_yen") or ()),
        multipliers={str(k): int(v) for k, v in (raw.get("multipliers") or {}).items()},
    )


@lru_cache(maxsize=1)
def _alias_table() -> dict[int, str]:
    return {ord(k): v for k, v in _data().aliases.items()}


def _canon(text: str) -> str:
    """Map 大写 variants (traditional, OCR) to the canonical character, one for one."""
    return text.translate(_alias_table())


# --------------------------------------------------------------------------- 大写 → Decimal


def _parse_section(s: str, leading: bool) -> int | None:
    """A section below 10 000 (``壹仟零伍拾``); ``leading`` allows an implicit 壹 before 拾."""
    total = 0
    pending: int | None = None
    last_unit = 10_000
    zero_since_unit = False
    for ch in s:
        if ch == "零":
            if pending is not None:
                return None
            zero_since_unit = True
            continue
        digit = _DIGITS.get(ch)
        if digit is not None:
            if pending is not None:
                return None
            pending = digit
            continue
        unit = _UNITS.get(ch)
        if unit is None:
            return None
        if pending is None:
            if unit == 10 and leading and total == 0 and not zero_since_unit:
                pending = 1  # 拾元, 拾伍万
            else:
                return None
        if unit >= last_unit:
            return None
        total += pending * unit
        last_unit = unit
        pending = None
        zero_since_unit = False
    if pending is not None:
        # 壹佰伍 is 150 to some readers and 105 to others: refuse to guess.
        if 10 < last_unit < 10_000 and not zero_since_unit:
            return None
        total += pending
    return total


def _bare_digit(s: str) -> bool:
    """``伍`` right after 万/亿 with no 零: colloquially ×1000 (一万五), formally ×1 — ambiguous."""
    return len(s) == 1 and s in _DIGITS


def _parse_wan(s: str, leading: bool) -> int | None:
    if s.count("万") > 1:
        return None
    if "万" not in s:
        return _parse_section(s, leading)
    hi, lo = s.split("万")
    high = _parse_section(hi, leading)
    if not high:
        return None
    if _bare_digit(lo):
        return None
    low = _parse_section(lo, False) if lo else 0
    if low is None:
        return None
    return high * 10_000 + low


def _parse_integer(s: str) -> int | None:
    if not s or s.count("亿") > 1:
        return None
    if "亿" not in s:
        return _parse_wan(s, True)
    hi, lo = s.split("亿")
    high = _parse_wan(hi, True)
    if not high:
        return None
    if _bare_digit(lo):
        return None
    low = _parse_wan(lo, False) if lo else 0
    if low is None:
        return None
    return high * 100_000_000 + low


_UPPER_DIGIT_CLASS = "".join(_DIGITS) + "零"
_FRACTION = re.compile(
    rf"零?(?:(?P<jiao>[{_UPPER_DIGIT_CLASS}])角)?零?(?:(?P<fen>[{_UPPER_DIGIT_CLASS}])分)?"
)
_UPPER_PREFIX = re.compile(
    r"^[\s:：⊗ⓧ⊕×]*(?P<neg>负数?|\(负数\))?\s*(?:人民币|RMB)?\s*(?:\(?大写\)?)?\s*[:]?\s*(?:人民币)?"
)
_UPPER_SUFFIX = re.compile(r"[\s,.;:，。；)]*$")


def _fraction_digit(ch: str | None) -> int:
    return 0 if ch is None or ch == "零" else _DIGITS[ch]


def _parse_upper_core(s: str) -> Decimal | None:
    """Parse a canonical, space-free 大写 amount without prefix: ``壹拾壹元零伍分``."""
    if s and s[-1] in "整正":
        s = s[:-1]
    if not s:
        return None
    yuan_at = max(s.find("元"), s.find("圆"))
    if yuan_at >= 0:
        int_part, frac_part = s[:yuan_at], s[yuan_at + 1 :]
        if "元" in frac_part or "圆" in frac_part:
            return None
    elif "角" in s or "分" in s:
        int_part, frac_part = "", s
    else:
        int_part, frac_part = s, ""
    if int_part.strip("零") == "":
        integer = 0 if (int_part or frac_part) else None
    else:
        integer = _parse_integer(int_part)
    if integer is None:
        return None
    fm = _FRACTION.fullmatch(frac_part)
    if fm is None:
        return None
    if yuan_at < 0 and fm.group("jiao") is None and fm.group("fen") is None and not integer:
        return None  # a bare 零 is not an amount
    jiao, fen = _fraction_digit(fm.group("jiao")), _fraction_digit(fm.group("fen"))
    return Decimal(f"{integer}.{jiao}{fen}")


def parse_uppercase(text: str) -> Decimal | None:
    """Read one 大写 amount (``人民币壹万贰仟陆佰元整`` → ``Decimal('12600.00')``), else ``None``.

    Accepts 元/圆, 角, 分, 整/正, 零/〇, 两, lower-case 一…九/十百千, traditional forms, an optional
    ``人民币`` / ``（大写）`` prefix, a ``负`` sign and spaces anywhere. Refuses (``None``) anything
    structurally wrong or ambiguous, because a wrong 大写 value would make a false mismatch flag.
    """
    if not isinstance(text, str) or len(text) > 200:
        return None
    s = _canon(_fold(text))
    prefix = _UPPER_PREFIX.match(s)
    negative = False
    if prefix is not None:
        negative = prefix.group("neg") is not None
        s = s[prefix.end() :]
    s = _UPPER_SUFFIX.sub("", s)
    s = re.sub(r"\s+", "", s)
    if not s:
        return None
    value = _parse_upper_core(s)
    if value is None:
        return None
    return -value if negative and value else value


# --------------------------------------------------------------------------- Decimal → 大写

_UPPER_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_SECTION_UNITS = ("", "拾", "佰", "仟")
_MAX_UPPER = Decimal(10) ** 16


def to_uppercase(amount: Decimal | int | str) -> str:
    """The standard financial 大写 form: ``Decimal('100100000')`` → ``壹亿零壹拾万元整``.

    Follows 《正确填写票据和结算凭证的基本规定》: one 零 for a run of zeros (also across 万/亿),
    ``壹拾`` written out, ``整`` after 元, none after 角 or 分, ``零`` before 分 when 角 is zero.
    Rounds half-up to the fen. Raises ``ValueError`` for non-numbers and amounts ≥ 10^16.
    """
    try:
        value = Decimal(amount).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    except Exception as exc:  # InvalidOperation, TypeError, …
        raise ValueError(f"not an amount: {amount!r}") from exc
    if not value.is_finite() or abs(value) >= _MAX_UPPER:
        raise ValueError(f"amount out of range: {amount!r}")
    sign = "负" if value < 0 else ""
    cents_total = int(abs(value) * 100)
    integer, cents = divmod(cents_total, 100)
    jiao, fen = divmod(cents, 10)

    parts: list[str] = []
    if integer:
        sections = [(integer // 10_000**i) % 10_000 for i in range(4)]
        section_names = ("", "万", "亿", "万")
        started = False
        zero_pending = False
        for idx in range(3, -1, -1):
            sec = sections[idx]
            if sec == 0:
                if started:
                    zero_pending = True
                if idx == 2 and sections[3]:
                    parts.append("亿")  # 壹万亿: the 万 section above still needs its 亿
                continue
            for pos in range(3, -1, -1):
                digit = (sec // 10**pos) % 10
                if digit == 0:
                    if started:
                        zero_pending = True
                    continue
                if zero_pending:
                    parts.append("零")
                    zero_pending = False
                parts.append(_UPPER_DIGITS[digit] + _SECTION_UNITS[pos])
                started = True
            parts.append(section_names[idx])
        parts.append("元")
    if jiao == 0 and fen == 0:
        if not integer:
            parts.append("零元")
        parts.append("整")
    else:
        if jiao:
            parts.append(_UPPER_DIGITS[jiao] + "角")
        if fen:
            if integer and not jiao:
                parts.append("零")
            parts.append(_UPPER_DIGITS[fen] + "分")
    return sign + "".join(parts)


# --------------------------------------------------------------------------- 小写


def _number(token: str) -> Decimal | None:
    """``12,600.00`` / ``12 600.00`` / ``12.600.00`` (OCR) / ``12600,00`` (OCR) → Decimal."""
    t = token.replace(" ", "")
    pieces = re.split(r"([.,])", t)
    groups, seps = pieces[0::2], pieces[1::2]
    if not all(g.isdigit() for g in groups):
        return None
    frac = ""
    if seps:
        last_sep, last_group = seps[-1], groups[-1]
        if last_sep == ".":
            is_decimal = not (len(last_group) == 3 and seps.count(".") > 1)
        else:
            is_decimal = len(last_group) == 2
        if is_decimal:
            frac = last_group
            groups, seps = groups[:-1], seps[:-1]
        thousands_ok = 1 <= len(groups[0]) <= 3 and all(len(g) == 3 for g in groups[1:])
        if seps and not thousands_ok:  # the remaining separators must group thousands
            return None
    integer = "".join(groups)
    if len(integer.lstrip("0")) > MAX_INTEGER_DIGITS or len(frac) > 6:
        return None
    return Decimal(f"{integer}.{frac}" if frac else integer)


def _lower_pattern() -> re.Pattern[str]:
    data = _data()
    words = "|".join(re.escape(w) for w in sorted(data.currency_words, key=len, reverse=True))
    weak = "".join(re.escape(c) for c in data.uncertain_yen)
    mults = "|".join(re.escape(m) for m in sorted(data.multipliers, key=len, reverse=True))
    return re.compile(
        rf"""
        (?P<neg_a>(?<![0-9A-Za-z.\-])-(?=[ ]?¥))?
        (?:
            (?P<cur>{words})[ ]?(?:\(?小写\)?)?[ ]?:?[ ]?(?:(?P<yen_a>¥)[ ]?)?
          | (?P<label>\(?小写\)?)[ ]?:?[ ]?(?:(?P<yen_b>¥)[ ]?)?
          | (?P<yen_c>¥)[ ]?
          | (?<![0-9A-Za-z])(?P<weak>[{weak}])[ ]?(?=-?\d)
        )?
        (?P<neg_b>(?<![0-9A-Za-z.])-)?
        (?<!\d)(?<!\d[.,])
        (?P<num>\d(?:\d|,(?=\d)|\.(?=\d)|[ ](?=\d{{3}}(?!\d)))*)
        (?P<suffix>[ ]?(?P<mult>{mults})?(?P<yuan>元|圆)(?P<zheng>整|正)?)?
        """,
        re.VERBOSE,
    )


@lru_cache(maxsize=1)
def _lower_re() -> re.Pattern[str]:
    return _lower_pattern()


_TWO_DECIMALS = re.compile(r"\d[\d, ]*\.\d{2}")


@dataclass(frozen=True)
class AmountMatch:
    """One amount found in text. ``raw == text[start:end]`` of the caller's text."""

    value: Decimal
    start: int
    end: int
    raw: str
    form: Literal["lowercase", "uppercase"]


def _lower_matches(norm: str, text: str) -> list[AmountMatch]:
    out: list[AmountMatch] = []
    mults = _data().multipliers
    for m in _lower_re().finditer(norm):
        num = m.group("num")
        yen = m.group("yen_a") or m.group("yen_b") or m.group("yen_c")
        strong = bool(m.group("cur") or yen or m.group("yuan"))
        labelled_only = not strong and m.group("label") is not None  # （小写）12600.00
        weak = m.group("weak") is not None
        if weak and not strong:
            if not _TWO_DECIMALS.fullmatch(num):
                continue
        elif not strong and not labelled_only:
            continue
        if labelled_only and not _TWO_DECIMALS.fullmatch(num):
            continue
        value = _number(num)
        if value is None:
            continue
        mult = m.group("mult")
        if mult:
            value = value * mults[mult]
        if m.group("neg_a") or m.group("neg_b"):
            value = -value
        starts = [
            m.start(g)
            for g in ("neg_a", "cur", "yen_a", "yen_b", "yen_c", "weak", "neg_b", "num")
            if m.group(g) is not None
        ]
        start, end = min(starts), m.end()
        out.append(AmountMatch(value, start, end, text[start:end], "lowercase"))
    return out


_UPPER_CHARS = "".join(_DIGITS) + "".join(_UNITS) + "".join(sorted(_STRUCTURAL))


@lru_cache(maxsize=1)
def _upper_run_re() -> re.Pattern[str]:
    chars = re.escape(_UPPER_CHARS + "".join(_data().aliases))
    return re.compile(rf"[{chars}](?:[ ]?[{chars}])*")


_RMB_BEFORE = re.compile(r"(?:人民币|RMB)[ ]?(?:\(?大写\)?)?[ ]?:?[ ]?$")
_RMB_ADJACENT = re.compile(r"(?:人民币|RMB)[ ]?$")
_MAX_RUN = 80
_AMOUNT_STARTS = frozenset(_DIGITS) | frozenset("拾十零负")


def _upper_matches(norm: str, text: str) -> list[AmountMatch]:
    out: list[AmountMatch] = []
    canon = _canon(norm)
    for m in _upper_run_re().finditer(norm):
        if m.end() - m.start() > _MAX_RUN:
            continue
        run = canon[m.start() : m.end()]
        offset = 0
        while offset < len(run):
            read = _longest_amount(run[offset:]) if run[offset] in _AMOUNT_STARTS else None
            if read is None:
                offset += 1
                continue
            value, cut = read
            piece = run[offset : offset + cut]
            start = m.start() + offset
            end = start + cut
            offset += cut
            before = norm[max(0, start - 12) : start]
            if not (_UPPER_ONLY & set(piece)) and _RMB_BEFORE.search(before) is None:
                continue  # 一元 in 统一元数据 is not money
            adjacent = _RMB_ADJACENT.search(before)
            if adjacent is not None:  # 人民币 is part of the printed amount; a (大写) label is not
                start -= len(before) - adjacent.start()
            out.append(AmountMatch(value, start, end, text[start:end], "uppercase"))
    return out


def _possible_ends(s: str) -> list[int]:
    """Where an amount starting at ``s[0]`` can end: one 元/圆, then at most a 角 and a 分."""
    ends: list[int] = []
    yuan = jiao = 0
    for i, c in enumerate(s):
        if c in "元圆":
            yuan += 1
        elif c == "角":
            jiao += 1
        elif c != "分":
            continue
        if yuan > 1 or jiao > 1:
            break
        ends.append(i)
        if c == "分":
            break
    return ends


def _longest_amount(s: str) -> tuple[Decimal, int] | None:
    """The longest prefix of a run that reads as an amount ending in 元/圆/角/分 (+ 整/正),
    with its length: ``壹佰元贰佰元`` → (100, 3) after ``壹佰元贰佰元`` itself fails."""
    for last in reversed(_possible_ends(s)):
        end = last + 1
        rest = s[end:].lstrip(" ")
        if rest[:1] in ("整", "正"):
            end = len(s) - len(rest) + 1
        value = parse_uppercase(s[:end])
        if value is not None:
            return value, end
    return None


_PAREN_LOWER = re.compile(
    r"[ ]?\([ ]?(?:小写[ ]?:?[ ]?)?(?P<yen>¥)?[ ]?"
    r"(?P<num>\d(?:\d|,(?=\d)|\.(?=\d))*)[ ]?(?P<yuan>元)?[ ]?\)"
)


def _paren_after_upper(norm: str, text: str, upper: list[AmountMatch]) -> list[AmountMatch]:
    """``壹万贰仟陆佰元整（12600.00）``: the bracketed bare number is the 小写 of the pair."""
    out: list[AmountMatch] = []
    for u in upper:
        m = _PAREN_LOWER.match(norm, u.end)
        if m is None or m.group("yen") or m.group("yuan"):
            continue  # those are found by the ordinary 小写 scan
        value = _number(m.group("num"))
        if value is None:
            continue
        start, end = m.start("num"), m.end("num")
        out.append(AmountMatch(value, start, end, text[start:end], "lowercase"))
    return out


def find_amounts(text: str) -> list[AmountMatch]:
    """Every 小写 and 大写 amount in ``text``, in order of position.

    A 小写 number counts only with a currency marker (¥/￥, 人民币, RMB, a ``（小写）`` label or a
    元 suffix, optionally 万元/千元/亿元); bare table numbers are left to :func:`parse_amount`.
    OCR's ``Y``/``羊`` for ``¥`` is trusted only before a two-decimal number.
    """
    if not isinstance(text, str) or not text:
        return []
    norm = _fold(text)
    lower = _lower_matches(norm, text)
    upper = _upper_matches(norm, text)
    found = lower + upper + _paren_after_upper(norm, text, upper)
    found.sort(key=lambda a: (a.start, -(a.end - a.start)))
    result: list[AmountMatch] = []
    for a in found:
        if result and a.start < result[-1].end:
            continue  # overlaps an earlier, longer match
        result.append(a)
    return result


_SINGLE_LOWER = re.compile(
    r"^[ ]*(?P<neg>-)?[ ]?(?:人民币|RMB|CNY)?[ ]?(?:[¥Y羊][ ]?)?(?P<neg2>-)?[ ]?"
    r"(?P<num>\d(?:\d|,(?=\d)|\.(?=\d)|[ ](?=\d{3}(?!\d)))*)"
    r"[ ]?(?P<mult>百万|千万|万|千|亿)?(?:元|圆)?(?:整|正)?[ ]*$"
)


def parse_amount(text: str) -> Decimal | None:
    """One amount string, 小写 or 大写: ``'¥12,600.00'``, ``'11886.79'`` (a table cell),
    ``'1.26万元'``, ``'壹万贰仟陆佰元整'``. Anything else → ``None``."""
    if not isinstance(text, str) or len(text) > 200:
        return None
    norm = _fold(text).strip()
    if not norm:
        return None
    m = _SINGLE_LOWER.match(norm)
    if m is not None:
        value = _number(m.group("num"))
        if value is None:
            return None
        mult = m.group("mult")
        if mult:
            value = value * _data().multipliers[mult]
        return -value if (m.group("neg") or m.group("neg2")) else value
    return parse_uppercase(norm)
