"""Invoice numbers and check codes, found next to their labels.

* 数电 (fully digital) invoices: one 20-digit 发票号码.
* Older VAT invoices: a 10-digit (专票) or 12-digit (普票) 发票代码 plus an 8-digit 发票号码; the
  pair identifies the invoice and is joined as ``"code-number"`` (result spec ``invoice_number``).
* 校验码: 20 digits, usually printed in four groups of five.

Labels are matched OCR-tolerantly (character variants in ``data/invoice.yaml``, spaces between
characters, a dropped first character); values tolerate spaces between digit groups and
``O``/``l`` read for ``0``/``1``. A digit string is never taken without its label: on an invoice
page 20-digit and 8-digit numbers are everywhere (tax ids, bank accounts, phone numbers).
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml

from extractors.textnorm import fold_width

__all__ = [
    "CheckCode",
    "InvoiceNumber",
    "find_check_code",
    "find_check_codes",
    "find_invoice_number",
    "find_invoice_numbers",
    "parse_invoice_number",
]

_DATA_FILE = Path(__file__).with_name("data") / "invoice.yaml"

_LOOKALIKE = {"O": "0", "o": "0", "I": "1", "l": "1", "|": "1"}
_MAX_LOOKALIKES = 2
_PAIR_DISTANCE = 400
"""A 发票代码 further than this many characters from a 发票号码 belongs to another invoice."""

Span = tuple[int, int]


def _fold(text: str) -> str:
    """Full-width → half-width, one character for one (spans survive)."""
    return fold_width(text)


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class _Labels:
    number: re.Pattern[str]
    code: re.Pattern[str]
    check_code: re.Pattern[str]


def _label_pattern(words: list[str], variants: dict[str, list[str]]) -> str:
    alternatives = []
    for word in sorted(words, key=len, reverse=True):
        classes = ["[" + re.escape(ch + "".join(variants.get(ch, []))) + "]" for ch in word]
        first, rest = classes[0], classes[1:]
        optional = "?" if len(word) >= 4 else ""
        alternatives.append(f"(?:{first}[ \\t]?){optional}" + "[ \\t]?".join(rest))
    return "|".join(alternatives)


@lru_cache(maxsize=1)
def _labels() -> _Labels:
    raw: dict[str, Any] = yaml.safe_load(_DATA_FILE.read_text(encoding="utf-8"))
    labels = raw.get("labels") or {}
    variants = {str(k): [str(v) for v in vs] for k, vs in (raw.get("char_variants") or {}).items()}
    short = "|".join(re.escape(s) for s in labels.get("number_short") or ())
    number = _label_pattern(labels.get("number") or [], variants)
    number_re = rf"(?P<long>{number})" + (rf"|(?<![A-Za-z])(?P<short>{short})\.?" if short else "")
    return _Labels(
        number=re.compile(number_re),
        code=re.compile(_label_pattern(labels.get("code") or [], variants)),
        check_code=re.compile(_label_pattern(labels.get("check_code") or [], variants)),
    )


# --------------------------------------------------------------------------- values

_GAP = re.compile(r"[ \t]*(?:[(\[][^)\]\n]{0,6}[)\]])?[ \t]*[:]?[ \t]*(?:\n[ \t]*)?")
_RUN = re.compile(r"[0-9OoIl|](?:[ \t]?[0-9OoIl|])*")


def _read_digits(norm: str, pos: int, lengths: tuple[int, ...]) -> tuple[str, Span] | None:
    """The digits printed right after a label at ``pos``, if they come to one of ``lengths``
    (first match in the given order) at a group boundary. Spaces between groups are allowed."""
    gap = _GAP.match(norm, pos)
    run = _RUN.match(norm, gap.end() if gap else pos)
    if run is None:
        return None
    digits: list[str] = []
    lookalikes = 0
    boundaries: dict[int, tuple[int, int]] = {}  # digit count → (end index, look-alikes so far)
    for idx in range(run.start(), run.end()):
        ch = norm[idx]
        if ch in " \t":
            continue
        if ch in _LOOKALIKE:
            lookalikes += 1
            ch = _LOOKALIKE[ch]
        digits.append(ch)
        nxt = idx + 1
        if nxt == run.end() or norm[nxt] in " \t":
            boundaries[len(digits)] = (nxt, lookalikes)
        if len(digits) > max(lengths):
            break
    if not digits:
        return None
    for n in lengths:
        if n in boundaries and boundaries[n][1] <= _MAX_LOOKALIKES:
            return "".join(digits[:n]), (run.start(), boundaries[n][0])
    return None


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class InvoiceNumber:
    """An invoice's identity.

    ``value`` is the 20 digits (``kind='digital'``) or ``"code-number"`` (``kind='legacy'``; just
    the 8-digit number when no 发票代码 was found, ``code`` then ``None``). ``spans`` are the
    printed digits in the caller's text: ``(number,)`` or ``(code, number)``.
    """

    value: str
    kind: Literal["digital", "legacy"]
    code: str | None
    number: str
    spans: tuple[Span, ...]


@dataclass(frozen=True)
class CheckCode:
    """A 20-digit 校验码 (spaces between its groups removed) and its span."""

    value: str
    span: Span


def _label_hits(
    pattern: re.Pattern[str], norm: str, lengths: tuple[int, ...]
) -> list[tuple[str, Span]]:
    hits = []
    for m in pattern.finditer(norm):
        read = _read_digits(norm, m.end(), lengths)
        if read is not None:
            hits.append(read)
    return hits


def find_invoice_numbers(text: str) -> list[InvoiceNumber]:
    """Every labelled invoice number in ``text``, in order of position."""
    if not isinstance(text, str) or not text:
        return []
    norm = _fold(text)
    labels = _labels()
    numbers: list[tuple[str, Span]] = []
    for m in labels.number.finditer(norm):
        lengths = (8,) if m.group("short") is not None else (20, 8)
        read = _read_digits(norm, m.end(), lengths)
        if read is not None and read[1] not in {s for _, s in numbers}:
            numbers.append(read)
    codes = _label_hits(labels.code, norm, (12, 10))

    found: list[InvoiceNumber] = []
    code_starts = [span[0] for _, span in codes]  # already in order of position
    paired: set[int] = set()
    for value, span in sorted(numbers, key=lambda h: h[1]):
        if len(value) == 20:
            found.append(InvoiceNumber(value, "digital", None, value, (span,)))
            continue
        lo = bisect.bisect_left(code_starts, span[0] - _PAIR_DISTANCE)
        hi = bisect.bisect_right(code_starts, span[0] + _PAIR_DISTANCE)
        nearest = min(
            (k for k in range(lo, hi) if k not in paired),
            key=lambda k: abs(code_starts[k] - span[0]),
            default=None,
        )
        if nearest is None:
            found.append(InvoiceNumber(value, "legacy", None, value, (span,)))
            continue
        paired.add(nearest)
        code, code_span = codes[nearest]
        found.append(InvoiceNumber(f"{code}-{value}", "legacy", code, value, (code_span, span)))
    return found


def find_invoice_number(text: str) -> InvoiceNumber | None:
    """The invoice's number: the first digital one, else the first legacy one with its code,
    else the first found."""
    found = find_invoice_numbers(text)
    for kind_ok in (
        lambda n: n.kind == "digital",
        lambda n: n.code is not None,
        lambda n: True,
    ):
        for number in found:
            if kind_ok(number):
                return number
    return None


# [0-9], not \d: \d also matches ٣ or 𝟑, and an invoice number is compared across applications
_BARE_DIGITAL = re.compile(r"[0-9]{20}")
_BARE_LEGACY = re.compile(r"(?P<code>[0-9]{10}|[0-9]{12})[ \t]*[-_/][ \t]*(?P<number>[0-9]{8})")


def parse_invoice_number(value: str) -> InvoiceNumber | None:
    """A bare invoice-number string: ``'24322000000012345678'`` or ``'3200231130-08563217'``
    (spaces between digit groups allowed); spans index ``value``."""
    if not isinstance(value, str) or len(value) > 80:
        return None
    norm = _fold(value)
    stripped = norm.strip()
    offset = len(norm) - len(norm.lstrip())
    compact = re.sub(r"[ \t]", "", stripped)
    if _BARE_DIGITAL.fullmatch(compact):
        return InvoiceNumber(compact, "digital", None, compact, ((offset, offset + len(stripped)),))
    m = _BARE_LEGACY.fullmatch(stripped)
    if m is not None:
        code, number = m.group("code"), m.group("number")
        spans = ((offset + m.start("code"), offset + m.end("code")),
                 (offset + m.start("number"), offset + m.end("number")))  # fmt: skip
        return InvoiceNumber(f"{code}-{number}", "legacy", code, number, spans)
    return None


def find_check_codes(text: str) -> list[CheckCode]:
    """Every labelled 20-digit 校验码 in ``text``."""
    if not isinstance(text, str) or not text:
        return []
    norm = _fold(text)
    return [CheckCode(v, s) for v, s in _label_hits(_labels().check_code, norm, (20,))]


def find_check_code(text: str) -> CheckCode | None:
    found = find_check_codes(text)
    return found[0] if found else None
