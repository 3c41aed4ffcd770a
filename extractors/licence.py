"""Business licence (营业执照) facts: name, credit code, type, legal representative, capital,
dates, address and registration authority.

Licences print label/value pairs in two columns (名称 … 注册资本 …). OCR may return a label and
its value as separate lines (value to the right, or below in a narrow layout) or merge a whole
row into one line, so a value is read up to the next label on its line and, when the label stands
alone, from the nearest line to its right on the same row, else just below it.

The registration authority (登记机关) is usually printed only inside the authority's red seal,
which OCR of the page does not read; :func:`authority_from_seals` takes it from seal texts when
the pipeline supplies them (``ctx.seals``), and a printed value is used when there is one.
Labels and authority suffixes are data (``data/licence.yaml``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import regex
import yaml

from extractors.dates import find_dates
from extractors.facts import DocumentFacts, ExtractionContext, FieldValue
from extractors.layout import reading_order, sub_bbox
from extractors.money import find_amounts, parse_amount
from extractors.uscc import parse as parse_uscc
from pipeline.model import Line, Page, Seal

__all__ = ["LicenceLabels", "authority_from_seals", "extract", "load_labels"]

_DATA_FILE = Path(__file__).with_name("data") / "licence.yaml"

REPAIRED_CONFIDENCE = 0.8
"""Factor applied to a credit code's confidence when one OCR confusion was repaired."""
INVALID_CONFIDENCE = 0.5
"""Factor applied when a credit code fails its check (kept as printed: it may be a real typo)."""


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class LicenceLabels:
    fields: dict[str, tuple[str, ...]]
    other: tuple[str, ...]
    fuzzy_min_len: int
    fuzzy_max_errors: int
    authority_suffixes: tuple[str, ...]
    seal_suffixes: tuple[str, ...]
    issued_max_below: float


@lru_cache(maxsize=1)
def load_labels() -> LicenceLabels:
    raw: dict[str, Any] = yaml.safe_load(_DATA_FILE.read_text(encoding="utf-8"))
    fields = {str(k): tuple(str(x) for x in v) for k, v in (raw.get("fields") or {}).items()}
    return LicenceLabels(
        fields=fields,
        other=tuple(str(x) for x in raw.get("other_labels") or ()),
        fuzzy_min_len=int(raw.get("fuzzy_min_len", 4)),
        fuzzy_max_errors=int(raw.get("fuzzy_max_errors", 1)),
        authority_suffixes=tuple(raw.get("authority_suffixes") or ()),
        seal_suffixes=tuple(raw.get("seal_suffixes") or ()),
        issued_max_below=float(raw.get("issued_max_below", 0.15)),
    )


def _fold1(text: str) -> str:
    """NFKC character by character where it maps one to one (full width, Kangxi radicals):
    offsets into the folded text are offsets into the line."""
    out = []
    for ch in text:
        n = unicodedata.normalize("NFKC", ch)
        out.append(n if len(n) == 1 else ch)
    return "".join(out)


def _spaced(label: str) -> str:
    return r"\s*".join(regex.escape(c) for c in label)


_BOUNDARY = r"(?<![\p{Han}A-Za-z0-9])"
"""A short label must not sit inside a word (类型 in 产品类型说明); long ones may follow text
directly, as OCR sometimes glues two columns together."""


@lru_cache(maxsize=1)
def _all_labels() -> tuple[tuple[str, str | None], ...]:
    data = load_labels()
    pairs: list[tuple[str, str | None]] = [(lab, f) for f, labs in data.fields.items() for lab in labs]
    pairs += [(lab, None) for lab in data.other]
    return tuple(sorted(pairs, key=lambda p: -len(p[0])))


@lru_cache(maxsize=1)
def _exact_re() -> regex.Pattern:
    data = load_labels()
    alts = []
    for label, _ in _all_labels():
        guard = "" if len(label) >= data.fuzzy_min_len else _BOUNDARY
        alts.append(f"{guard}(?:{_spaced(label)})")
    return regex.compile("|".join(alts))


@lru_cache(maxsize=64)
def _fuzzy_re(label: str) -> regex.Pattern:
    n = load_labels().fuzzy_max_errors
    return regex.compile(f"{_BOUNDARY}(?:{regex.escape(label)}){{s<={n}}}", regex.BESTMATCH)


def _label_of(text: str) -> str | None:
    key = re.sub(r"\s+", "", text)
    for label, f in _all_labels():
        if label == key:
            return f or ""
    return None


# --------------------------------------------------------------------------- label hits


@dataclass(frozen=True)
class _Hit:
    field: str | None
    page: Page
    line: Line
    start: int
    end: int
    fuzzy: bool = False


def _lines(pages: Sequence[Page]) -> Iterator[tuple[Page, Line]]:
    for page in pages:
        for line in reading_order(page.lines):
            yield page, line


def _exact_hits(pages: Sequence[Page]) -> list[_Hit]:
    hits = []
    for page, line in _lines(pages):
        for m in _exact_re().finditer(_fold1(line.text)):
            hits.append(_Hit(_label_of(m.group()) or None, page, line, m.start(), m.end()))
    return hits


def _fuzzy_hits(pages: Sequence[Page], field: str) -> list[_Hit]:
    data = load_labels()
    hits = []
    for label in data.fields.get(field, ()):
        if len(label) < data.fuzzy_min_len:
            continue
        for page, line in _lines(pages):
            text = _fold1(line.text)
            m = _fuzzy_re(label).search(text)
            if m and _exact_re().match(text, m.start()) is None:  # not some other exact label
                hits.append(_Hit(field, page, line, m.start(), m.end(), fuzzy=True))
    return hits


def _next_label_start(text: str, pos: int) -> int:
    m = _exact_re().search(text, pos)
    return m.start() if m else len(text)


_SEP = " \t:：;；|丨"


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start] in _SEP:
        start += 1
    while end > start and text[end - 1] in _SEP:
        end -= 1
    return start, end


# --------------------------------------------------------------------------- candidates


@dataclass(frozen=True)
class _Candidate:
    text: str
    page: Page
    line: Line
    start: int
    end: int

    def located(self, value: Any, confidence: float | None = None, raw: str | None = None) -> FieldValue:
        return FieldValue(
            value,
            self.page.number,
            sub_bbox(self.line, self.start, self.end),
            self.line.confidence if confidence is None else confidence,
            raw if raw is not None else self.text,
        )


def _centre_y(line: Line) -> float:
    return (line.bbox[1] + line.bbox[3]) / 2


def _right_of(page: Page, line: Line) -> list[Line]:
    h = line.bbox[3] - line.bbox[1]
    cy = _centre_y(line)
    cands = [
        o for o in page.lines
        if o is not line and o.bbox[0] >= line.bbox[2] - 0.01
        and abs(_centre_y(o) - cy) < max(h, o.bbox[3] - o.bbox[1], 0.005) * 0.7
    ]
    return sorted(cands, key=lambda o: o.bbox[0])[:1]


def _below(page: Page, line: Line, max_gap: float = 0.05) -> list[Line]:
    h = line.bbox[3] - line.bbox[1]
    cands = [
        o for o in page.lines
        if o is not line and o.bbox[1] >= line.bbox[1] + 0.6 * h
        and o.bbox[1] - line.bbox[3] < max_gap
        and o.bbox[0] < line.bbox[2] + 0.02 and o.bbox[2] > line.bbox[0] - 0.02
    ]
    return sorted(cands, key=lambda o: o.bbox[1])[:1]


def _candidates(hit: _Hit) -> Iterator[_Candidate]:
    """The value after ``hit`` on its line, else on the line right of it, else below it."""
    text = _fold1(hit.line.text)
    s, e = _trim(text, hit.end, _next_label_start(text, hit.end))
    if s < e:
        yield _Candidate(hit.line.text[s:e], hit.page, hit.line, s, e)
        return
    for other in _right_of(hit.page, hit.line) + _below(hit.page, hit.line):
        otext = _fold1(other.text)
        first = _exact_re().match(otext, len(otext) - len(otext.lstrip()))
        if first is not None:
            continue  # the neighbour is the next label, not a value
        s, e = _trim(otext, 0, _next_label_start(otext, 0))
        if s < e:
            yield _Candidate(other.text[s:e], hit.page, other, s, e)


# --------------------------------------------------------------------------- field readers

_HAN = regex.compile(r"\p{Han}")
_CODE = re.compile(r"[0-9A-Za-z](?:\s?[0-9A-Za-z]){14,19}")


def _read_uscc(c: _Candidate, facts: DocumentFacts) -> FieldValue | None:
    m = _CODE.search(_fold1(c.text))
    if m is None:
        return None
    code = parse_uscc(m.group())
    if code is None or code.legacy_tax_id:
        return None
    conf = c.line.confidence
    if code.repaired_from:
        conf *= REPAIRED_CONFIDENCE
        facts.notes.append(f"uscc repaired: read {code.repaired_from}, check digit gives {code.code}")
    elif not code.valid:
        conf *= INVALID_CONFIDENCE
        facts.notes.append(f"uscc {code.code} fails its GB 32100 check")
    sub = _Candidate(c.text[m.start():m.end()], c.page, c.line, c.start + m.start(), c.start + m.end())
    return sub.located(code.code, conf)


def _read_text(c: _Candidate, facts: DocumentFacts, min_han: int = 2) -> FieldValue | None:
    value = c.text.strip()
    if len(_HAN.findall(value)) < min_han:
        return None
    return c.located(value)


def _read_person(c: _Candidate, facts: DocumentFacts) -> FieldValue | None:
    value = re.sub(r"\s+", "", _fold1(c.text))
    if not regex.fullmatch(r"[\p{Han}·•]{2,20}|[A-Za-z][A-Za-z .'-]{1,40}", value):
        return None
    return c.located(value)


def _read_capital(c: _Candidate, facts: DocumentFacts) -> FieldValue | None:
    for amount in find_amounts(c.text):
        if amount.value > 0:
            return c.located(float(amount.value), raw=c.text)
    value = parse_amount(c.text)
    return c.located(float(value)) if value is not None and value > 0 else None


def _read_date(c: _Candidate, facts: DocumentFacts) -> FieldValue | None:
    found = find_dates(c.text)
    if not found:
        return None
    d = found[0]
    s, e = c.start + d.start, c.start + d.end
    return _Candidate(c.line.text[s:e], c.page, c.line, s, e).located(d.value.isoformat())


def _clean_authority(text: str) -> str | None:
    data = load_labels()
    name = "".join(_HAN.findall(_fold1(text)))
    for suffix in sorted(data.seal_suffixes, key=len, reverse=True):
        if name.endswith(suffix) and len(name) > len(suffix):
            name = name[: -len(suffix)]
            break
    if len(name) >= 4 and any(name.endswith(s) for s in data.authority_suffixes):
        return name
    return None


def _read_authority(c: _Candidate, facts: DocumentFacts) -> FieldValue | None:
    name = _clean_authority(c.text)
    return c.located(name) if name else None


_READERS = {
    "uscc": _read_uscc,
    "name": _read_text,
    "company_type": _read_text,
    "legal_rep": _read_person,
    "registered_capital": _read_capital,
    "established": _read_date,
    "address": lambda c, f: _read_text(c, f, min_han=4),
    "authority": _read_authority,
}

_OUTPUT = {"registered_capital": "registered_capital_yuan"}


def _read_field(field: str, hits: list[_Hit], pages: Sequence[Page], facts: DocumentFacts) -> FieldValue | None:
    reader = _READERS[field]
    for group in ([h for h in hits if h.field == field], None):
        if group is None:
            group = _fuzzy_hits(pages, field)
        for hit in group:
            for cand in _candidates(hit):
                got = reader(cand, facts)
                if got is not None:
                    if hit.fuzzy:
                        facts.notes.append(f"{field}: label read as {hit.line.text[hit.start:hit.end]!r}")
                    return got
    return None


# --------------------------------------------------------------------------- issue date


def _date_at(page: Page, line: Line, offset: int = 0) -> FieldValue | None:
    """The first date in ``line.text[offset:]``, located."""
    found = find_dates(_fold1(line.text)[offset:])
    if not found:
        return None
    d = found[0]
    s, e = offset + d.start, offset + d.end
    return _Candidate(line.text[s:e], page, line, s, e).located(d.value.isoformat())


def _issued(hits: list[_Hit], pages: Sequence[Page]) -> FieldValue | None:
    """The issue date: printed beside or under 登记机关 (bottom right of a licence)."""
    data = load_labels()
    anchors = [h for h in hits if h.field == "authority"] or _fuzzy_hits(pages, "authority")
    for hit in anchors:
        same_line = _date_at(hit.page, hit.line, hit.end)
        if same_line is not None:
            return same_line
        lb = hit.line.bbox
        best: tuple[float, FieldValue] | None = None
        for other in hit.page.lines:
            if other is hit.line:
                continue
            ob = other.bbox
            dy = _centre_y(other) - _centre_y(hit.line)
            if dy < -0.5 * (lb[3] - lb[1]) or dy > data.issued_max_below:
                continue
            if ob[2] < lb[0] - 0.05 or ob[0] > lb[2] + 0.25:
                continue
            otext = _fold1(other.text)
            if "至" in otext or _exact_re().search(otext):
                continue
            if len(find_dates(otext)) != 1:
                continue
            fv = _date_at(hit.page, other)
            if fv is not None and (best is None or abs(dy) < best[0]):
                best = (abs(dy), fv)
        if best is not None:
            return best[1]
    # No 登记机关 label read: the lowest line in the page's lower half that is nothing but a date
    # and not the value of some other label (成立日期, 营业期限 …).
    labelled = {id(c.line) for h in hits for c in _candidates(h)}
    for page in pages:
        for line in reversed(reading_order(page.lines)):
            if _centre_y(line) < 0.5:
                break
            text = _fold1(line.text).strip()
            found = find_dates(text)
            if id(line) in labelled or len(found) != 1:
                continue
            if len(re.sub(r"[\s()（）]", "", text)) == len(re.sub(r"\s", "", found[0].raw)):
                return _date_at(page, line)
    return None


# --------------------------------------------------------------------------- seals


def authority_from_seals(seals: Sequence[Seal], pages: Sequence[Page] = ()) -> FieldValue | None:
    """The registration authority read from its seal (``南京市江宁区市场监督管理局``).

    Only a seal whose text is an authority's name counts; with ``pages``, the seal nearest the
    登记机关 label wins, else the lowest one (licences put the authority seal bottom right).
    """
    named = [(s, _clean_authority(s.text or "")) for s in seals]
    named = [(s, n) for s, n in named if n]
    if not named:
        return None
    anchor = next((h for h in _exact_hits(pages) if h.field == "authority"), None) if pages else None

    def rank(item: tuple[Seal, str]) -> float:
        s = item[0]
        if anchor is not None and s.page == anchor.page.number:
            lb = anchor.line.bbox
            return abs((s.bbox[0] + s.bbox[2]) / 2 - (lb[0] + lb[2]) / 2) + abs(
                (s.bbox[1] + s.bbox[3]) / 2 - _centre_y(anchor.line)
            )
        return -s.bbox[3] + 10 * s.page

    seal, name = min(named, key=rank)
    return FieldValue(name, seal.page, list(seal.bbox), seal.confidence or 0.5, seal.text)


# --------------------------------------------------------------------------- extract


def extract(pages: list[Page], ctx: ExtractionContext) -> DocumentFacts:
    facts = DocumentFacts()
    hits = _exact_hits(pages)
    for field in ("uscc", "name", "company_type", "legal_rep", "registered_capital", "established", "address"):
        fv = _read_field(field, hits, pages, facts)
        if fv is not None:
            facts.fields[_OUTPUT.get(field, field)] = fv
    if "established" in facts.fields:
        facts.fields["date"] = facts.fields["established"]
    issued = _issued(hits, pages)
    if issued is not None:
        facts.fields["issued"] = issued
    authority = _read_field("authority", hits, pages, facts)
    if authority is None:
        authority = authority_from_seals(getattr(ctx, "seals", None) or (), pages)
    if authority is not None:
        facts.fields["authority"] = authority
    return facts
