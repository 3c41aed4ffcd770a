"""Invoice facts: number, date, parties, line items, totals, 大写/小写, remarks, 校验码.

Works on 数电 (fully digital, 20-digit 发票号码) and older 增值税 invoices (发票代码 + 发票号码),
from a PDF text layer or from OCR of a photo or scan. Both arrive as lines with boxes; a text
layer merges a table row into one line with word boxes, OCR returns cells as separate lines that
a photo's perspective tilts. So the page is cut into *tokens* (a word, or a whitespace-separated
piece of an OCR line with a proportional box) and everything positional is decided on tokens,
with y measured along the table header's tilt (:class:`_Skew`).

* Parties are decided by where the 购买方 / 销售方 labels are, never by order: a 名称 or tax id
  belongs to the label it sits right of and level with (数电: side by side; older invoices:
  buyer block on top, seller block below).
* Line items start at a name cell beginning with ``*`` (the 税收分类 prefix ``*信息技术服务*``)
  or level with an amount cell no earlier name took; left-aligned name cells below continue the
  name (wrapped text). Amount, rate and tax cells are matched to items by column (the header's
  cells) and row (nearest item).
* Cross-checks lower confidence, they never invent values: Σ items vs 合计, amount × rate vs tax,
  合计 + 税额 vs 价税合计, 大写 vs 小写, a credit code's check character. A few reconstructions
  are made from printed evidence only, with low confidence and a note: a tax rate OCR lost, when
  exactly one standard VAT rate fits the item's printed amount and tax; a 大写 whose unreadable
  characters are the only difference from the 大写 of the printed 小写; one unreadable character
  of a tax id (from its check character); a known provider's name with one misread character.

Labels, titles, column headers and rates are data (``data/invoice_fields.yaml``).
"""

from __future__ import annotations

import re
import statistics
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

import regex
import yaml

from extractors.dates import find_dates
from extractors.facts import DocumentFacts, ExtractionContext, FieldValue
from extractors.invoice_number import find_check_code, find_invoice_number
from extractors.layout import Boxed, label_value, reading_order, sub_bbox
from extractors.money import find_amounts, parse_amount, parse_uppercase, to_uppercase
from extractors.providers import load_providers, normalize_party_name
from extractors.uscc import ALPHABET, check_char, validate
from extractors.uscc import parse as parse_uscc
from pipeline.model import Line, Page, clamp_bbox

__all__ = ["extract", "load_data", "read_tax_id"]

_DATA_FILE = Path(__file__).with_name("data") / "invoice_fields.yaml"

RECONSTRUCTED_CONFIDENCE = 0.5
"""Confidence of a value rebuilt from other printed values (a lost tax rate, an unreadable 大写)."""
CROSSCHECK_PENALTY = 0.7
NAME_ALIGN = 0.03
"""A wrapped item name continues at the names' left edge (± this, for a photo's perspective)."""
ITEM_ROW = 0.8
"""A name line within this many line heights of an amount cell is that amount's row."""
"""Factor on a value's confidence when a cross-check it takes part in fails."""


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class _Title:
    pattern: str
    type: str | None
    kind: str | None


@dataclass(frozen=True)
class InvoiceData:
    titles: tuple[_Title, ...]
    title_region: float
    labels: dict[str, tuple[str, ...]]
    tax_id_fuzzy: int
    contract_fuzzy: int
    parties: dict[str, tuple[str, frozenset[str]]]
    columns: dict[str, tuple[str, ...]]
    rate_pattern: re.Pattern[str]
    standard_rates: tuple[str, ...]
    cloud_keywords: tuple[str, ...]
    uppercase_marks: str


@lru_cache(maxsize=1)
def load_data() -> InvoiceData:
    raw: dict[str, Any] = yaml.safe_load(_DATA_FILE.read_text(encoding="utf-8"))
    labels = raw.get("labels") or {}
    return InvoiceData(
        titles=tuple(
            _Title(_compact(t["pattern"]), t.get("type"), t.get("kind")) for t in raw.get("titles") or ()
        ),
        title_region=float(raw.get("title_region", 0.5)),
        labels={k: tuple(str(x) for x in v) for k, v in labels.items() if isinstance(v, list)},
        tax_id_fuzzy=int(labels.get("tax_id_fuzzy", 5)),
        contract_fuzzy=int(labels.get("contract_fuzzy", 4)),
        parties={
            p: (str(v["first"]), frozenset(str(c) for c in v.get("rest") or ()))
            for p, v in (raw.get("parties") or {}).items()
        },
        columns={k: tuple(_compact(x) for x in v) for k, v in (raw.get("columns") or {}).items()},
        rate_pattern=re.compile(raw.get("rate_pattern") or r"^\d{1,2}%$"),
        standard_rates=tuple(str(r) for r in raw.get("standard_rates") or ()),
        cloud_keywords=tuple(str(k) for k in raw.get("cloud_keywords") or ()),
        uppercase_marks=str(raw.get("uppercase_marks") or ""),
    )


# --------------------------------------------------------------------------- text helpers


def _fold1(text: str) -> str:
    """NFKC per character where it maps one to one: offsets stay valid in the original."""
    out = []
    for ch in text:
        n = unicodedata.normalize("NFKC", ch)
        out.append(n if len(n) == 1 else ch)
    return "".join(out)


def _compact(text: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFKC", text) if not ch.isspace())


def _is_latin(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


def _join(parts: Iterable[str], sep_same_row: bool = False) -> str:
    """Join wrapped text: a space only between two Latin characters (``RDS for`` + ``MySQL``)."""
    out = ""
    for part in parts:
        part = part.strip()
        if not part:
            continue
        if out and (sep_same_row or (_is_latin(out[-1]) and _is_latin(part[0]))):
            out += " "
        out += part
    return out


def _width(ch: str) -> int:
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


# --------------------------------------------------------------------------- tokens


@dataclass(frozen=True)
class _Tok(Boxed):
    """A word of a text layer, or a whitespace-separated piece of an OCR line."""

    text: str
    page: int
    bbox: tuple[float, float, float, float]
    conf: float
    line: Line
    start: int
    end: int


    @property
    def key(self) -> str:
        return _compact(self.text)

    def value(self, value: Any, confidence: float | None = None, raw: str | None = None) -> FieldValue:
        return FieldValue(value, self.page, list(self.bbox), self.conf if confidence is None else confidence,
                          self.text if raw is None else raw)


def _line_tokens(page: Page, line: Line) -> list[_Tok]:
    text = line.text
    out: list[_Tok] = []
    if line.words:
        pos = 0
        for w in line.words:
            i = text.find(w.text, pos)
            if i < 0 or not w.text.strip():
                continue
            pos = i + len(w.text)
            out.append(_Tok(w.text, page.number, tuple(clamp_bbox(w.bbox)), w.confidence, line, i, pos))
        if out:
            return out
    total = sum(_width(c) for c in text) or 1
    x0, y0, x1, y1 = line.bbox
    for m in re.finditer(r"\S+", text):
        a = sum(_width(c) for c in text[: m.start()])
        b = a + sum(_width(c) for c in m.group())
        box = (x0 + (x1 - x0) * a / total, y0, x0 + (x1 - x0) * b / total, y1)
        out.append(_Tok(m.group(), page.number, box, line.confidence, line, m.start(), m.end()))
    return out


def _tokens(page: Page) -> list[_Tok]:
    return [t for line in page.lines for t in _line_tokens(page, line)]


def _union(toks: Sequence[_Tok]) -> list[float]:
    return clamp_bbox((min(t.bbox[0] for t in toks), min(t.bbox[1] for t in toks),
                       max(t.bbox[2] for t in toks), max(t.bbox[3] for t in toks)))


@dataclass(frozen=True)
class _Skew:
    """Row direction of a tilted photo: ``y(t)`` is a token's height measured along the rows."""

    slope: float = 0.0
    x_ref: float = 0.5

    def y(self, t: _Tok) -> float:
        return t.cy - self.slope * (t.cx - self.x_ref)


# --------------------------------------------------------------------------- table header


@dataclass
class _Header:
    cells: dict[str, _Tok]
    skew: _Skew
    y: float
    h: float

    def centre(self, col: str) -> float | None:
        t = self.cells.get(col)
        return t.cx if t else None


def _find_header(toks: Sequence[_Tok]) -> _Header | None:
    cols = load_data().columns
    cands: list[tuple[str, _Tok, bool]] = []
    for t in toks:
        k = t.key
        for col, names in cols.items():
            if k in names:
                cands.append((col, t, len(k) > 1))
                break
        else:
            if len(k) >= 4 and "名称" in k and any(w in k for w in ("项目", "货物", "服务", "劳务")):
                cands.append(("name", t, True))
    strong = [c for c in cands if c[2]]
    best: tuple[int, _Tok] | None = None
    for _, anchor, _ in strong:
        n = len({c for c, t, s in strong if abs(t.cy - anchor.cy) < 0.06 and t.page == anchor.page})
        if best is None or n > best[0]:
            best = (n, anchor)
    if best is None or best[0] < 3:
        return None
    anchor = best[1]
    cells: dict[str, _Tok] = {}
    for col, t, is_strong in sorted(cands, key=lambda c: (not c[2], abs(c[1].cy - anchor.cy))):
        if t.page == anchor.page and abs(t.cy - anchor.cy) < 0.06 and col not in cells:
            cells[col] = t
    pts = [(t.cx, t.cy) for t in cells.values()]
    skew = _Skew()
    if len(pts) >= 3 and max(p[0] for p in pts) - min(p[0] for p in pts) > 0.3:
        mx = statistics.fmean(p[0] for p in pts)
        my = statistics.fmean(p[1] for p in pts)
        sxx = sum((p[0] - mx) ** 2 for p in pts)
        slope = sum((p[0] - mx) * (p[1] - my) for p in pts) / sxx if sxx else 0.0
        skew = _Skew(max(-0.15, min(0.15, slope)), mx)
    ys = [skew.y(t) for t in cells.values()]
    return _Header(cells, skew, statistics.median(ys), statistics.median(t.h for t in cells.values()))


# --------------------------------------------------------------------------- extract


@dataclass
class _Body:
    page: Page
    toks: list[_Tok]
    header: _Header | None
    skew: _Skew
    facts: DocumentFacts
    total_row: _Tok | None = None
    grand_row: _Tok | None = None


def extract(pages: list[Page], ctx: ExtractionContext) -> DocumentFacts:
    facts = DocumentFacts()
    pages = [p for p in pages if p.lines]
    if not pages:
        return facts
    _header_fields(pages, facts)
    # The body (parties, table, totals) is read from the page that has the item table, else the first.
    readings = []
    for page in pages:
        toks = _tokens(page)
        header = _find_header(toks)
        readings.append(_Body(page, toks, header, header.skew if header else _Skew(), facts))
    body = next((r for r in readings if r.header is not None), readings[0])
    _find_total_rows(body)
    _parties(body)
    _line_items(body)
    _totals(body)
    _grand_total(body)
    _remarks(body)
    facts.fields["cloud_keywords_present"] = _cloud_keywords(pages)
    return facts


# --------------------------------------------------------------------------- header fields

_DATE_VALUE = r"\d{4}\s*[年\-/.]\s*\d{1,2}\s*[月\-/.]\s*\d{1,2}\s*日?"


def _full_text(pages: Sequence[Page]) -> str:
    return "\n".join(line.text for page in pages for line in reading_order(page.lines))


def _header_fields(pages: Sequence[Page], facts: DocumentFacts) -> None:
    data = load_data()
    text = _full_text(pages)
    number = find_invoice_number(text)
    if number is not None:
        where = _locate(pages, number.number)
        facts.fields["invoice_number"] = _at(where, number.value, pages)
        if number.code:
            facts.fields["invoice_code"] = _at(_locate(pages, number.code), number.code, pages)
    check = find_check_code(text) or _fuzzy_check_code(text)
    if check is not None:
        facts.fields["check_code"] = _at(_locate(pages, check.value), check.value, pages)

    date_labels = data.labels.get("date", ("开票日期",))
    loc = label_value(pages, date_labels, value=_DATE_VALUE)
    if loc is not None:
        found = find_dates(loc.value)
        if found:
            facts.set("date", found[0].value.isoformat(), loc)
    else:  # 开票日期 with one misread character, the date right after it
        pat = regex.compile("(?:" + "|".join(regex.escape(x) for x in date_labels) + "){s<=1}[ \t:：]*("
                            + _DATE_VALUE + ")", regex.BESTMATCH)
        for page in pages:
            for line in reading_order(page.lines):
                m = pat.search(_fold1(line.text))
                found = find_dates(m.group(1)) if m else []
                if found and "date" not in facts.fields:
                    facts.fields["date"] = FieldValue(found[0].value.isoformat(), page.number,
                                                      sub_bbox(line, m.start(1), m.end(1)), line.confidence,
                                                      line.text[m.start(1):m.end(1)])

    inv_type = inv_kind = None
    title_fv: FieldValue | None = None
    for page in pages[:1]:
        for line in reading_order(page.lines):
            if line.bbox[1] > data.title_region:
                break
            key = _compact(line.text)
            t_type, t_kind = _title_rule(key)
            if t_type or t_kind:
                inv_type, inv_kind = t_type, t_kind
                title_fv = FieldValue(None, page.number, list(line.bbox), line.confidence, line.text)
                break
    if inv_type is None and number is not None and number.kind == "digital":
        inv_type = "digital"  # a 20-digit 发票号码 exists only on 数电 invoices
    if inv_type is not None:
        src = title_fv or facts.fields.get("invoice_number")
        conf = src.confidence if src else 0.5
        if number is not None and (number.kind == "digital") != (inv_type == "digital"):
            conf *= CROSSCHECK_PENALTY
        facts.fields["invoice_type"] = FieldValue(inv_type, src.page if src else None, src.bbox if src else None,
                                                  conf, src.raw if src else None)
    if inv_kind is not None and title_fv is not None:
        facts.fields["invoice_kind"] = FieldValue(inv_kind, title_fv.page, title_fv.bbox, title_fv.confidence,
                                                  title_fv.raw)


def _title_rule(key: str) -> tuple[str | None, str | None]:
    titles = load_data().titles
    for fuzzy in (False, True):
        t_type = t_kind = None
        for rule in titles:
            if fuzzy and len(rule.pattern) < 6:
                continue
            hit = (rule.pattern in key) if not fuzzy else bool(
                regex.search(f"(?:{regex.escape(rule.pattern)}){{s<=1}}", key)
            )
            if hit:
                t_type = t_type or rule.type
                t_kind = t_kind or rule.kind
        if t_type or t_kind:
            return t_type, t_kind
    return None, None


@dataclass(frozen=True)
class _Where:
    page: int
    line: Line
    start: int
    end: int


def _locate(pages: Sequence[Page], needle: str) -> _Where | None:
    """Where ``needle`` (digits, maybe printed in groups) is on the pages."""
    pat = re.compile(r"(?<![0-9A-Za-z])" + r"\s?".join(re.escape(c) for c in needle) + r"(?![0-9A-Za-z])")
    for page in pages:
        for line in page.lines:
            m = pat.search(_fold1(line.text))
            if m:
                return _Where(page.number, line, m.start(), m.end())
    return None


def _at(where: _Where | None, value: Any, pages: Sequence[Page]) -> FieldValue:
    if where is None:  # read from text joined across lines: point at the whole first page
        return FieldValue(value, pages[0].number, [0.0, 0.0, 1.0, 1.0], 0.5, None)
    return FieldValue(value, where.page, sub_bbox(where.line, where.start, where.end), where.line.confidence,
                      where.line.text[where.start:where.end])


@dataclass(frozen=True)
class _Check:
    value: str
    span: tuple[int, int]


@lru_cache(maxsize=1)
def _fuzzy_check_re() -> regex.Pattern | None:
    labels = load_data().labels.get("check_code", ())
    if not labels:
        return None
    alts = "|".join(regex.escape(x) for x in labels)
    return regex.compile(rf"(?:{alts}){{s<=1}}[ \t]*[:：]?[ \t]*(?P<d>\d(?:[ \t]?\d){{19}})(?![ \t]?\d)",
                         regex.BESTMATCH)


def _fuzzy_check_code(text: str) -> _Check | None:
    """校验码 with one misread label character (校轴码): only with exactly 20 digits after it."""
    pat = _fuzzy_check_re()
    m = pat.search(_fold1(text)) if pat else None
    return _Check(re.sub(r"\s", "", m.group("d")), m.span("d")) if m else None


# --------------------------------------------------------------------------- parties

_CODE_CHARS = r"[0-9A-Za-z/|\\.\-]"


def _spaced(label: str) -> str:
    return r"\s*".join(regex.escape(c) for c in label)


@lru_cache(maxsize=1)
def _party_label_re() -> regex.Pattern:
    data = load_data()
    tax = sorted(data.labels.get("tax_id", ()), key=len, reverse=True)
    alts = ["(?P<tax>" + "|".join(_spaced(lab) for lab in tax) + ")"]
    fuzzy = [lab for lab in tax if len(lab) >= data.tax_id_fuzzy and "/" not in lab]
    if fuzzy:
        alts.append("(?P<taxf>(?:" + "|".join(regex.escape(lab) for lab in fuzzy) + "){s<=1})")
    names = data.labels.get("name", ("名称",))
    name_alt = "|".join(_spaced(n) for n in names)
    # 名称 after other text only with its colon (项目名称 is a table heading; OCR may glue the
    # seller's 名称： to the end of the buyer's name)
    alts.append(rf"(?P<name>(?<![\p{{Han}}])(?:{name_alt})|(?:{name_alt})(?=\s*[:：]))")
    others = data.labels.get("party_other", ())
    if others:
        alts.append("(?P<other>" + "|".join(regex.escape(o) for o in others) + ")")
    return regex.compile("|".join(alts))


@dataclass(frozen=True)
class _Occ:
    """One 名称 or tax-id value on the page, with the box of its label (which decides the party)."""

    field: str  # "name" | "tax_id"
    value: str
    raw: str
    label_box: tuple[float, float, float, float]
    fv: FieldValue


_CIPHER = re.compile(r"\s+[0-9*<>+\-/=.±]{8,}")


def _value_span(kind: str, text: str, s: int, end: int) -> tuple[int, int] | None:
    """The span of a 名称 / tax-id value in ``text[s:end]`` (folded text of one line)."""
    while s < end and text[s] in " \t:：;；":
        s += 1
    if kind == "tax_id":
        vm = re.compile(rf"{_CODE_CHARS}(?:[ \t]?{_CODE_CHARS}){{0,24}}").match(text, s, end)
        return (s, vm.end()) if vm else None
    cm = _CIPHER.search(text, s, end)
    e = cm.start() if cm else end
    while e > s and text[e - 1] in " \t":
        e -= 1
    if len(regex.findall(r"[\p{Han}A-Za-z]", text[s:e])) < 2:
        return None
    return s, e


def _right_neighbour(page: Page, line: Line) -> Line | None:
    h = line.bbox[3] - line.bbox[1]
    cy = (line.bbox[1] + line.bbox[3]) / 2
    cands = [o for o in page.lines if o is not line and o.bbox[0] >= line.bbox[2] - 0.01
             and abs((o.bbox[1] + o.bbox[3]) / 2 - cy) < 0.7 * max(h, o.bbox[3] - o.bbox[1])]
    return min(cands, key=lambda o: o.bbox[0]) if cands else None


def _occurrences(page: Page) -> list[_Occ]:
    out: list[_Occ] = []
    for line in page.lines:
        text = _fold1(line.text)
        matches = list(_party_label_re().finditer(text))
        for i, m in enumerate(matches):
            kind = "tax_id" if (m.group("tax") or m.group("taxf")) else ("name" if m.group("name") else None)
            if kind is None:
                continue
            end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
            src, span = line, _value_span(kind, text, m.end(), _gap_end(line, m.end(), end))
            if span is None and not text[m.end():end].strip(" \t:："):
                # the label stands alone: its value is the next cell to the right
                other = _right_neighbour(page, line)
                if other is not None:
                    otext = _fold1(other.text)
                    first = _party_label_re().search(otext)
                    if first is None or first.start() > 0:
                        src, span = other, _value_span(kind, otext, 0, first.start() if first else len(otext))
            if span is None:
                continue
            s, e = span
            value = src.text[s:e]
            label_box = tuple(sub_bbox(line, m.start(), m.end()))
            fv = FieldValue(value, page.number, sub_bbox(src, s, e), src.confidence, value)
            out.append(_Occ(kind, value, value, label_box, fv))  # type: ignore[arg-type]
    return out


def _gap_end(line: Line, start: int, end: int) -> int:
    """Cut a value at a wide gap between two words of a text layer (the next cell of a row)."""
    if not line.words:
        return end
    h = line.bbox[3] - line.bbox[1]
    pos = 0
    prev: tuple[int, float] | None = None
    for w in line.words:
        i = line.text.find(w.text, pos)
        if i < 0:
            return end
        pos = i + len(w.text)
        if i >= end:
            break
        if prev is not None and i >= start and w.bbox[0] - prev[1] > 2.5 * h:
            return min(end, prev[0])
        if pos > start:
            prev = (pos, w.bbox[2])
    return end


def _party_anchors(ctx: _Body) -> dict[str, list[float]]:
    data = load_data()
    found: dict[str, list[float]] = {}
    for party, (first, rest) in data.parties.items():
        cands = [t for t in ctx.toks if t.key[:1] == first and len(t.key) <= 1 + len(rest)
                 and all(c in rest for c in t.key[1:].rstrip(":"))]
        if not cands:
            continue
        anchor = min(cands, key=lambda t: (t.bbox[1], t.bbox[0]))
        box = list(anchor.bbox)
        grown = True
        while grown:  # stacked characters (购 / 买 / 方) below the first
            grown = False
            ch = anchor.h if len(anchor.key) == 1 else (box[2] - box[0])
            for t in ctx.toks:
                if len(t.key) == 1 and t.key in rest and t.bbox[1] >= box[3] - 0.3 * ch \
                        and t.bbox[1] <= box[3] + 1.5 * ch and abs(t.cx - (box[0] + box[2]) / 2) < (box[2] - box[0]):
                    box = [min(box[0], t.bbox[0]), box[1], max(box[2], t.bbox[2]), max(box[3], t.bbox[3])]
                    grown = True
        found[party] = box
    return found


def _party_score(occ: _Occ, anchor: list[float]) -> float:
    lb = occ.label_box
    cy = (lb[1] + lb[3]) / 2
    dy = 0.0 if anchor[1] <= cy <= anchor[3] else min(abs(cy - anchor[1]), abs(cy - anchor[3]))
    if lb[0] < anchor[0] - 0.02:
        return float("inf")  # a party label is printed left of (or above) its block, never right
    return dy + 0.25 * max(lb[0] - anchor[2], 0.0)


def _assign(occs: list[_Occ], anchors: dict[str, list[float]]) -> dict[str, _Occ]:
    """Buyer and seller occurrence of one field: by the labels' positions (both, or one and the
    other by elimination), else by layout position (left/top is the buyer)."""
    if not occs:
        return {}
    if "buyer" in anchors and "seller" in anchors:
        best: dict[str, tuple[float, _Occ]] = {}
        for occ in occs:
            sb, ss = _party_score(occ, anchors["buyer"]), _party_score(occ, anchors["seller"])
            party, score = ("buyer", sb) if sb <= ss else ("seller", ss)
            if score != float("inf") and (party not in best or score < best[party][0]):
                best[party] = (score, occ)
        return {p: o for p, (_, o) in best.items()}
    if len(anchors) == 1:
        (party, anchor), = anchors.items()
        ranked = sorted(occs, key=lambda o: _party_score(o, anchor))
        got = {party: ranked[0]} if _party_score(ranked[0], anchor) != float("inf") else {}
        others = [o for o in ranked[1:] if o is not ranked[0]]
        if got and others:
            got["seller" if party == "buyer" else "buyer"] = others[0]
        return got
    if len(occs) == 2:
        a, b = occs
        ya, yb = (a.label_box[1] + a.label_box[3]) / 2, (b.label_box[1] + b.label_box[3]) / 2
        h = max(a.label_box[3] - a.label_box[1], 0.01)
        if abs(ya - yb) < h:
            first, second = (a, b) if a.label_box[0] < b.label_box[0] else (b, a)
        else:
            first, second = (a, b) if ya < yb else (b, a)
        return {"buyer": first, "seller": second}
    return {}


def _parties(ctx: _Body) -> None:
    occs = _occurrences(ctx.page)
    anchors = _party_anchors(ctx)
    names = _assign([o for o in occs if o.field == "name"], anchors)
    taxes = _assign([o for o in occs if o.field == "tax_id"], anchors)
    facts = ctx.facts
    for party in ("buyer", "seller"):
        if party in names:
            facts.fields[party] = names[party].fv
        if party in taxes:
            got = read_tax_id(taxes[party].value)
            if got is not None:
                code, factor, note = got
                fv = taxes[party].fv
                facts.fields[f"{party}_tax_id"] = FieldValue(code, fv.page, fv.bbox, fv.confidence * factor, fv.raw)
                if note:
                    facts.notes.append(f"{party}_tax_id: {note}")
    seller = facts.fields.get("seller")
    if seller is not None:
        legal, exact = _catalog_name(seller.value)
        if legal is not None and not exact:
            facts.notes.append(f"seller {seller.value!r} read as the known provider {legal!r}")
            seller = FieldValue(legal, seller.page, seller.bbox, seller.confidence * 0.9, seller.raw)
            facts.fields["seller"] = seller
        facts.fields["provider"] = seller


def _catalog_name(name: str) -> tuple[str | None, bool]:
    """The provider legal name ``name`` is, allowing one OCR-substituted character."""
    norm = normalize_party_name(name)
    for provider in load_providers().providers:
        for legal in provider.legal_names:
            ln = normalize_party_name(legal)
            if ln == norm:
                return legal, _compact(legal) == _compact(name)
            if len(ln) >= 8 and len(ln) == len(norm) and sum(a != b for a, b in zip(ln, norm)) == 1:
                return legal, False
    return None, False


def read_tax_id(text: str) -> tuple[str, float, str | None] | None:
    """A buyer/seller tax id as read: ``(code, confidence factor, note)``.

    18 characters: the GB 32100 check, one OCR confusion repaired (``uscc.parse``), or one
    unreadable character (``/`` for ``J``) recovered from the check character — a single erased
    position of a mod-31 check code has exactly one solution. A code that fails its check is kept
    as printed (a real typo must reach the reviewer) with lower confidence. 15/20-digit old ids
    are returned as read.
    """
    s = re.sub(r"\s", "", _fold1(text)).upper()
    if len(s) > 18 and not (len(s) == 20 and s.isdigit()):
        s = s[:18]  # whatever OCR glued on after the code
    if len(s) == 18 and not s.isalnum():
        bad = [i for i, c in enumerate(s) if c not in ALPHABET]
        junk = [i for i in bad if not s[i].isalnum()]
        if len(junk) == 1 and len(bad) == 1:
            k = junk[0]
            if k == 17:
                fills = [s[:17] + check_char(s[:17])]
            else:
                fills = [s[:k] + c + s[k + 1:] for c in ALPHABET if validate(s[:k] + c + s[k + 1:])]
            fills = [f for f in fills if f[2:8].isdigit()]
            if len(fills) == 1:
                return fills[0], 0.7, f"unreadable character in {s} recovered from the check character"
        return None
    code = parse_uscc(s)
    if code is None:
        return None
    if code.repaired_from:
        return code.code, 0.8, f"read {code.repaired_from}, one OCR confusion repaired"
    if code.valid is False:
        return code.code, 0.5, f"{code.code} fails its check character"
    return code.code, 1.0, None


# --------------------------------------------------------------------------- rows


def _is_total_label(key: str) -> bool:
    return key.startswith("合计") and "价税" not in key


def _is_grand_label(key: str) -> bool:
    return "价税合计" in key or "价税合" in key or ("税合计" in key and key.index("税合计") <= 1)


def _find_total_rows(ctx: _Body) -> None:
    below = ctx.header.y if ctx.header else -1.0
    totals = [t for t in ctx.toks if _is_total_label(t.key) and ctx.skew.y(t) > below]
    grands = [t for t in ctx.toks if _is_grand_label(t.key) and ctx.skew.y(t) > below]
    ctx.total_row = min(totals, key=ctx.skew.y) if totals else None
    ctx.grand_row = min(grands, key=ctx.skew.y) if grands else None


def _row(ctx: _Body, label: _Tok, tol: float = 0.7) -> list[_Tok]:
    """Tokens right of ``label`` on its (tilted) row, left to right, the label's own line first."""
    y = ctx.skew.y(label)
    same = [t for t in ctx.toks if t.line is label.line and t.start >= label.end]
    others = [
        t for t in ctx.toks
        if t.line is not label.line and t.bbox[0] >= label.bbox[2] - 0.01
        and abs(ctx.skew.y(t) - y) < tol * max(label.h, t.h)
    ]
    return sorted(same + others, key=lambda t: t.bbox[0])


# --------------------------------------------------------------------------- line items


@dataclass
class _Item:
    parts: list[tuple[float, _Tok]]  # (y, first name token of a line) …
    texts: list[str]
    cells: dict[str, _Tok] = field(default_factory=dict)

    @property
    def y(self) -> float:
        return (self.parts[0][0] + self.parts[-1][0]) / 2


_STAR = "*＊※✱"
_NUMERIC = ("quantity", "price", "amount", "tax")
_CATEGORY_FIX = regex.compile(r"^\*(\p{Han}{2,16})[·•.。:：,，、\-_](?=\S)")


def _clean_name(name: str) -> str:
    name = re.sub(rf"\s*[{_STAR}]\s*", "*", name.strip())
    if name.count("*") == 1:  # the category's closing * misread (·, .)
        name = _CATEGORY_FIX.sub(lambda m: f"*{m.group(1)}*", name)
    return name


def _numeric_col(ctx: _Body, t: _Tok, cols: Sequence[str]) -> str | None:
    assert ctx.header is not None
    best = None
    for col in cols:
        c = ctx.header.centre(col)
        if c is None:
            continue
        d = abs(t.cx - c)
        if best is None or d < best[0]:
            best = (d, col)
    return best[1] if best else None


def _money(text: str) -> Decimal | None:
    key = _compact(text)
    if not re.search(r"\d\.\d{2}$", key):
        return None
    return parse_amount(key)


def _line_items(ctx: _Body) -> None:
    header = ctx.header
    if header is None:
        return
    data = load_data()
    skew = ctx.skew
    top = header.y + 0.5 * header.h
    end_row = ctx.total_row or ctx.grand_row
    bottom = skew.y(end_row) - 0.5 * end_row.h if end_row else 1.0
    header_ids = {id(t) for t in header.cells.values()}
    region = [t for t in ctx.toks if top < skew.y(t) < bottom and id(t) not in header_ids]
    name_right = next((header.cells[c].bbox[0] - 0.01 for c in ("spec", "unit", "quantity", "price")
                       if c in header.cells), None)
    if name_right is None:
        return
    # name column: per line, the tokens that start left of the next column
    by_line: dict[int, list[_Tok]] = {}
    for t in region:
        if t.bbox[0] < name_right:
            by_line.setdefault(id(t.line), []).append(t)
    fragments = []
    for toks in by_line.values():
        toks.sort(key=lambda t: t.start)
        text = toks[0].line.text[toks[0].start:toks[-1].end]
        if _money(text) is not None or data.rate_pattern.match(_compact(text)):
            continue
        fragments.append((skew.y(toks[0]), toks[0], text))
    fragments.sort(key=lambda f: f[0])
    starred = [tok.bbox[0] for _, tok, text in fragments if text.lstrip()[:1] in _STAR]
    left = statistics.median(starred) if starred else None
    # amount cells: a name line level with an unclaimed one starts an item even without its *
    amounts = [t for t in region if _money(t.key) is not None
               and _numeric_col(ctx, t, [c for c in _NUMERIC if c in header.cells]) == "amount"]
    claimed: set[int] = set()

    def claim(y: float, h: float) -> bool:
        near = [t for t in amounts if id(t) not in claimed and abs(skew.y(t) - y) < ITEM_ROW * max(h, t.h)]
        if near:
            claimed.add(id(min(near, key=lambda t: abs(skew.y(t) - y))))
        return bool(near)

    items: list[_Item] = []
    for y, tok, text in fragments:
        if left is not None and text.lstrip()[:1] not in _STAR and abs(tok.bbox[0] - left) > NAME_ALIGN:
            continue  # not left-aligned with the names: a cell of the next column
        if text.lstrip()[:1] in _STAR:
            claim(y, tok.h)
            items.append(_Item([(y, tok)], [text]))
        elif claim(y, tok.h):
            items.append(_Item([(y, tok)], [text]))
        elif items and y - items[-1].parts[-1][0] < 2.5 * max(tok.h, items[-1].parts[-1][1].h):
            items[-1].parts.append((y, tok))
            items[-1].texts.append(text)
    if not items:
        return
    _match_cells(ctx, items, region)
    _emit_items(ctx, items)


def _match_cells(ctx: _Body, items: list[_Item], region: list[_Tok]) -> None:
    data = load_data()
    skew = ctx.skew
    ys = [it.y for it in items]
    pitch = min((b - a for a, b in zip(ys, ys[1:])), default=0.0)
    hmed = statistics.median(t.h for t in region) if region else 0.02
    reach = 0.6 * pitch if pitch > 0 else 2.0 * hmed
    cols = [c for c in _NUMERIC if c in ctx.header.cells]  # type: ignore[union-attr]
    claims: dict[tuple[int, str], tuple[float, _Tok]] = {}
    for t in region:
        key = t.key
        if data.rate_pattern.match(key):
            col = "rate"
        elif _money(key) is not None and cols:
            col = _numeric_col(ctx, t, cols)
        else:
            continue
        if col not in ("amount", "rate", "tax"):
            continue
        y = skew.y(t)
        i = min(range(len(items)), key=lambda k: abs(items[k].y - y))
        d = abs(items[i].y - y)
        if d > reach:
            continue
        if (i, col) not in claims or d < claims[(i, col)][0]:
            claims[(i, col)] = (d, t)
    for (i, col), (_, t) in claims.items():
        items[i].cells[col] = t
    if "amount" not in ctx.header.cells or "tax" not in ctx.header.cells:  # type: ignore[union-attr]
        _cells_by_order(ctx, items, region, reach)


def _cells_by_order(ctx: _Body, items: list[_Item], region: list[_Tok], reach: float) -> None:
    """Without 金额/税额 headers: the money cell left of the rate is the amount, right of it the tax."""
    for item in items:
        rate = item.cells.get("rate")
        if rate is None:
            continue
        row = [t for t in region if abs(ctx.skew.y(t) - item.y) <= reach and _money(t.key) is not None]
        left = [t for t in row if t.cx < rate.cx]
        right = [t for t in row if t.cx > rate.cx]
        if left and "amount" not in item.cells:
            item.cells["amount"] = max(left, key=lambda t: t.cx)
        if right and "tax" not in item.cells:
            item.cells["tax"] = min(right, key=lambda t: t.cx)


def _emit_items(ctx: _Body, items: list[_Item]) -> None:
    data = load_data()
    out: list[dict[str, Any]] = []
    confs: list[float] = []
    for item in items:
        rec: dict[str, Any] = {"name": _clean_name(_join(item.texts))}
        confs.extend(t.conf for _, t in item.parts)
        amount = _money(item.cells["amount"].key) if "amount" in item.cells else None
        tax = _money(item.cells["tax"].key) if "tax" in item.cells else None
        if amount is not None:
            rec["amount"] = float(amount)
            confs.append(item.cells["amount"].conf)
        rate_tok = item.cells.get("rate")
        if rate_tok is not None:
            rec["tax_rate"] = rate_tok.key
            confs.append(rate_tok.conf)
        elif amount is not None and tax is not None and tax > 0:
            fits = [r for r in data.standard_rates
                    if abs((amount * Decimal(r.rstrip("%")) / 100).quantize(Decimal("0.01")) - tax) <= Decimal("0.01")]
            if len(fits) == 1:
                rec["tax_rate"] = fits[0]
                confs.append(RECONSTRUCTED_CONFIDENCE)
                ctx.facts.notes.append(f"line item {rec['name']!r}: tax rate {fits[0]} from amount and tax")
        if tax is not None:
            rec["tax"] = float(tax)
            confs.append(item.cells["tax"].conf)
        rate = rec.get("tax_rate", "")
        if amount is not None and tax is not None and rate.endswith("%"):
            expected = amount * Decimal(rate.rstrip("%")) / 100
            if abs(expected - tax) > Decimal("0.02"):
                confs.append(min(confs) * CROSSCHECK_PENALTY)
                ctx.facts.notes.append(f"line item {rec['name']!r}: amount × rate ≠ tax")
        out.append(rec)
    first = items[0].parts[0][1]
    last = max((t for it in items for t in [p[1] for p in it.parts] + list(it.cells.values())),
               key=lambda t: t.bbox[3])
    box = clamp_bbox((min(t.bbox[0] for it in items for _, t in it.parts), first.bbox[1], 1.0, last.bbox[3]))
    ctx.facts.fields["line_items"] = FieldValue(out, first.page, box, min(confs) if confs else 0.5,
                                                "; ".join(r["name"] for r in out))


# --------------------------------------------------------------------------- totals


def _totals(ctx: _Body) -> None:
    label = ctx.total_row
    if label is None:
        return
    money = [t for t in _row(ctx, label) if _money(t.key) is not None]
    if not money:
        return
    got: dict[str, _Tok] = {}
    cols = [c for c in ("amount", "tax") if ctx.header and c in ctx.header.cells]
    if len(cols) == 2:
        for t in money:
            col = _numeric_col(ctx, t, cols)
            if col and col not in got:
                got[col] = t
    else:
        got["amount"] = money[0]
        if len(money) > 1:
            got["tax"] = money[-1]
    items = ctx.facts.get("line_items") or []
    for col, name in (("amount", "total_amount"), ("tax", "total_tax")):
        if col not in got:
            continue
        value = _money(got[col].key)
        conf = got[col].conf
        key = "amount" if col == "amount" else "tax"
        if items and all(key in r for r in items):
            if abs(sum(Decimal(str(r[key])) for r in items) - value) > Decimal("0.011"):
                conf *= CROSSCHECK_PENALTY
                ctx.facts.notes.append(f"{name}: line items do not add up to {value}")
        ctx.facts.fields[name] = got[col].value(float(value), conf)


_UPPER_SET = set("零壹贰叁肆伍陆柒捌玖拾佰仟万亿元圆角分整正")


def _grand_total(ctx: _Body) -> None:
    data = load_data()
    row: list[_Tok] = []
    if ctx.grand_row is not None:
        row = [ctx.grand_row] + _row(ctx, ctx.grand_row, tol=0.8)
    else:  # no 价税合计 label read: any token with a 小写 label or a 大写 amount below the table
        below = ctx.skew.y(ctx.total_row) if ctx.total_row else (ctx.header.y if ctx.header else 0.0)
        row = [t for t in ctx.toks if ctx.skew.y(t) > below and ("小写" in t.key or any(
            a.form == "uppercase" for a in find_amounts(t.text)))]
    lower: tuple[_Tok, Any] | None = None
    upper: tuple[_Tok, Any] | None = None
    lowers: list[tuple[tuple[bool, bool], int, _Tok, Any]] = []
    for t in row:
        for a in find_amounts(t.text):
            if a.form == "uppercase":
                upper = upper or (t, a)
            elif a.value > 0:  # prefer the one labelled 小写, then one with ¥, then the first
                lowers.append((("小写" in t.key, "¥" in a.raw), -len(lowers), t, a))
    if lowers:
        _, _, t, a = max(lowers, key=lambda x: (x[0], x[1]))
        lower = (t, a)
    if lower is not None:
        t, a = lower
        conf = t.conf
        ta, tt = ctx.facts.get("total_amount"), ctx.facts.get("total_tax")
        if ta is not None and tt is not None and abs(Decimal(str(ta)) + Decimal(str(tt)) - a.value) > Decimal("0.011"):
            conf *= CROSSCHECK_PENALTY
            ctx.facts.notes.append("价税合计 ≠ 合计金额 + 合计税额")
        ctx.facts.fields["amount_yuan"] = t.value(float(a.value), conf, a.raw)
    if upper is not None:
        t, a = upper
        text = a.raw.strip().lstrip(data.uppercase_marks).strip()
        conf = t.conf
        if lower is not None and a.value != lower[1].value:
            conf *= CROSSCHECK_PENALTY
        ctx.facts.fields["amount_uppercase_yuan"] = t.value(float(a.value), conf, text)
        ctx.facts.fields["amount_uppercase_text"] = t.value(text, conf, text)
    elif lower is not None:
        _recover_uppercase(ctx, row, lower[1].value)


def _recover_uppercase(ctx: _Body, row: list[_Tok], lower: Decimal) -> None:
    """An unreadable 大写 (``肆仟衡佰伍独元整``) that differs from the 大写 of the printed 小写
    only where OCR produced characters that are no 大写 numerals at all: read it as that."""
    data = load_data()
    try:
        standard = to_uppercase(lower)
    except ValueError:
        return
    # 壹拾万零捌仟元整 may also be printed without its optional 零s (壹拾万捌仟元整)
    variants = {standard, standard.replace("零", "")}
    variants |= {standard[:i] + standard[i + 1:] for i, c in enumerate(standard) if c == "零"}
    variants = {v for v in variants if parse_uppercase(v) == lower}
    for t in row:
        s = re.sub(r"^(?:\(?大写\)?)?[:：]?", "", _compact(t.text.strip().lstrip(data.uppercase_marks)))
        s = s.removeprefix("人民币")
        if sum(c in _UPPER_SET for c in s) < len(s) / 2:
            continue
        for expected in sorted(variants):
            if len(s) != len(expected):
                continue
            diff = [(a, b) for a, b in zip(s, expected) if a != b]
            if 0 < len(diff) <= 2 and all(a not in _UPPER_SET for a, _ in diff):
                ctx.facts.notes.append(f"大写 {t.text!r} unreadable in {len(diff)} place(s); read as {expected}")
                ctx.facts.fields["amount_uppercase_yuan"] = t.value(float(lower), RECONSTRUCTED_CONFIDENCE)
                ctx.facts.fields["amount_uppercase_text"] = t.value(expected, RECONSTRUCTED_CONFIDENCE)
                return


# --------------------------------------------------------------------------- remarks


@lru_cache(maxsize=1)
def _contract_re() -> tuple[regex.Pattern, regex.Pattern | None]:
    data = load_data()
    labels = sorted(data.labels.get("contract", ()), key=len, reverse=True)
    value = r"[ \t]*[:：]?[ \t]*(?P<v>[A-Za-z0-9](?:[A-Za-z0-9\-_/]*[A-Za-z0-9])?)"
    exact = regex.compile(f"(?P<l>{'|'.join(regex.escape(x) for x in labels)}){value}")
    long = [x for x in labels if len(x) >= data.contract_fuzzy]
    fuzzy = regex.compile(f"(?P<l>(?:{'|'.join(regex.escape(x) for x in long)}){{s<=1}}){value}",
                          regex.BESTMATCH) if long else None
    return exact, fuzzy


def _contract_in(text: str) -> tuple[str, str, int, int] | None:
    """(canonical label, number, label span) of a contract number in ``text``."""
    exact, fuzzy = _contract_re()
    m = exact.search(text)
    if m is None and fuzzy is not None:
        m = fuzzy.search(text)
    if m is None:
        return None
    label = m.group("l")
    labels = load_data().labels.get("contract", ())
    canonical = label if label in labels else min(
        (x for x in labels if len(x) == len(label)), key=lambda x: sum(a != b for a, b in zip(x, label)), default=label
    )
    return canonical, m.group("v"), m.start("l"), m.end("l")


def _remarks_anchor(ctx: _Body) -> list[float] | None:
    for t in ctx.toks:
        if t.key == "备注":
            return list(t.bbox)
    for t in ctx.toks:
        if t.key == "备":
            for u in ctx.toks:
                if u.key == "注" and 0 < u.bbox[1] - t.bbox[1] < 4 * t.h and abs(u.cx - t.cx) < t.h:
                    return _union([t, u])
    return None


def _remarks(ctx: _Body) -> None:
    anchor = _remarks_anchor(ctx)
    picked: list[_Tok] = []
    if anchor is not None:
        ch = min(anchor[2] - anchor[0], anchor[3] - anchor[1])
        picked = [t for t in ctx.toks if t.bbox[0] >= anchor[2] - 0.005
                  and anchor[1] - 0.5 * ch <= t.cy <= anchor[3] + 0.5 * ch]
    else:
        below = ctx.grand_row.bbox[3] if ctx.grand_row else 0.5
        for t in ctx.toks:
            if t.cy > below and _contract_in(_fold1(t.text)):
                picked = [u for u in ctx.toks if u.line is t.line and u.start >= t.start]
                break
    if not picked:
        return
    lines: dict[int, list[_Tok]] = {}
    for t in picked:
        lines.setdefault(id(t.line), []).append(t)
    groups = sorted(lines.values(), key=lambda ts: (ts[0].line.bbox[1], ts[0].bbox[0]))
    texts = []
    for ts in groups:
        ts.sort(key=lambda t: t.start)
        texts.append(ts[0].line.text[ts[0].start:ts[-1].end])
    raw = _join(texts)
    text = _fold1(raw)
    conf = min(t.conf for t in picked)
    box = _union(picked)
    found = _contract_in(text)
    remarks = raw.strip()
    if found is not None:
        canonical, number, ls, le = found
        if text[ls:le] != canonical:
            remarks = (raw[:ls] + canonical + raw[le:]).strip()
            ctx.facts.notes.append(f"remarks label {text[ls:le]!r} read as {canonical!r}")
        ctx.facts.fields["contract_number"] = FieldValue(number, picked[0].page, box, conf, raw)
    ctx.facts.fields["remarks"] = FieldValue(remarks, picked[0].page, box, conf, raw)


# --------------------------------------------------------------------------- cloud wording


def _cloud_keywords(pages: Sequence[Page]) -> FieldValue:
    """True at the first line that literally says 云服务 / 云产品; False for the whole first page."""
    words = load_data().cloud_keywords
    for page in pages:
        for line in reading_order(page.lines):
            text = _fold1(line.text)
            for w in words:
                m = re.search(r"\s*".join(map(re.escape, w)), text)
                if m:
                    return FieldValue(True, page.number, sub_bbox(line, m.start(), m.end()), line.confidence,
                                      line.text)
    return FieldValue(False, pages[0].number, [0.0, 0.0, 1.0, 1.0], min(p.confidence for p in pages), None)
