"""Facts of a contract or a console order form (订单详情 / 服务订购单).

Fields (see ``samples/README.md``): title, contract_number, party_a / party_b, buyer /
buyer_tax_id, seller / seller_tax_id, provider (the seller's name as printed), amount_yuan (the
小写 total), amount_uppercase_yuan + amount_uppercase_text (the printed 大写), date (签订日期, the
signature block's last date, or an order's 下单时间), period_start / period_end / period_months,
product_lines [{name, spec, quantity, amount}], cloud_keywords_present, order_form.

Who is the buyer: the party whose role word says so (甲方（采购方）, 乙方（用户方）); else the party
the payment clause makes pay (甲方应于……支付); else the party that is *not* a known cloud provider;
else 甲方 (the usual convention), with a lower confidence.

The first half of this module holds reading helpers that letters use too (a paragraph-aware
text stream, labelled values, company names, OCR digit repair, the product-table reader); they
are candidates for ``extractors/layout.py`` / a table module.
"""

from __future__ import annotations

import statistics
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

import regex
import yaml

from extractors.cloud_wording import best_cloud_wording, soft_wrapped, text_block
from extractors.dates import find_dates, find_period
from extractors.facts import DocumentFacts, ExtractionContext, FieldValue
from extractors.layout import Boxed, Located, reading_order, sub_bbox
from extractors.money import find_amounts, parse_amount
from extractors.providers import find_providers, load_providers, match_party
from extractors.textnorm import fold_width
from extractors.uscc import find_codes
from pipeline.model import Line, Page, clamp_bbox

__all__ = [
    "Table",
    "TableRow",
    "TextStream",
    "company_name",
    "company_regex",
    "extract",
    "known_legal_name",
    "label_regex",
    "labelled",
    "provider_legal_name",
    "read_table",
    "read_tables",
    "repair_digits",
    "set_cloud_keywords",
    "split_atom",
    "table_atoms",
]

_DATA_FILE = Path(__file__).with_name("data") / "contract_fields.yaml"


@lru_cache(maxsize=1)
def _data() -> dict[str, Any]:
    return yaml.safe_load(_DATA_FILE.read_text(encoding="utf-8"))


def _nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def _squash(text: str) -> str:
    """NFKC without whitespace: how short labels and cells are compared."""
    return "".join(ch for ch in _nfkc(text) if not ch.isspace())


# =========================================================================== reading helpers

_LOOKALIKE_DIGITS = str.maketrans({"O": "0", "o": "0", "D": "0", "I": "1", "l": "1", "|": "1", "Z": "2",
                                   "z": "2", "S": "5", "B": "8"})
_NUMERIC_RUN = regex.compile(
    r"(?<![A-Za-z])[0-9OoDIl|ZzSB](?:[0-9OoDIl|ZzSB]|[,.:/\-](?=[0-9OoDIl|ZzSB]))*(?![A-Za-z])"
)


def repair_digits(text: str) -> str:
    """OCR's letters for digits inside number-like runs (``9,80O.00`` → ``9,800.00``,
    ``20Z4/9/10`` → ``2024/9/10``), one character for one so spans stay valid. A run is
    repaired only when at least two thirds of it are real digits; use it for amounts, dates and
    times — never for credit codes, which mix letters and digits by design."""

    def counts(part: str) -> tuple[int, int]:
        alnum = [c for c in part if c.isalnum() or c == "|"]
        digits = sum(c.isdigit() for c in alnum)
        return digits, len(alnum) - digits

    def fix(m: regex.Match[str]) -> str:
        run = m.group()
        digits, letters = counts(run)
        if digits < 2 or letters == 0 or digits < 2 * letters:
            return run
        # each group between separators must be mostly digits itself: DD-2024 keeps its DD
        return regex.sub(
            r"[^,.:/\-]+",
            lambda g: g.group().translate(_LOOKALIKE_DIGITS) if counts(g.group())[0] >= max(1, counts(g.group())[1]) else g.group(),
            run,
        )

    return _NUMERIC_RUN.sub(fix, text)


def _amount_of(text: str) -> Decimal | None:
    """One amount cell: as printed, else with OCR look-alikes and stray spaces repaired."""
    for candidate in (text, repair_digits(text), repair_digits(text).replace(" ", "")):
        value = parse_amount(candidate)
        if value is not None:
            return value
    return None


class TextStream:
    """A document's lines in reading order as one string, each page's soft-wrapped paragraph
    lines joined without a break (so a sentence or a label broken over two lines reads whole),
    other lines separated by ``\\n``. Text is width-folded one character for one, and every
    span maps back to its page, line and box."""

    def __init__(self, pages: Sequence[Page]) -> None:
        parts: list[str] = []
        self._pieces: list[tuple[int, int, Page, Line]] = []
        pos = 0
        for page in pages:
            lines = reading_order(page.lines)
            block = text_block(page) if lines else (0.0, 1.0)
            for i, line in enumerate(lines):
                text = fold_width(line.text)
                self._pieces.append((pos, pos + len(text), page, line))
                parts.append(text)
                pos += len(text)
                nxt = lines[i + 1] if i + 1 < len(lines) else None
                joined = (
                    nxt is not None
                    and soft_wrapped(page, line, nxt, block)
                    # joining 64,800.00 and 2 对象存储 would forge a number: only across CJK
                    and not (text.rstrip()[-1:].isascii() and fold_width(nxt.text).lstrip()[:1].isascii())
                )
                if not joined:
                    parts.append("\n")
                    pos += 1
        self.text = "".join(parts)
        self.digits = repair_digits(self.text)
        """The same text with OCR's letter-for-digit slips repaired: for amounts and dates."""

    def locate(self, start: int, end: int) -> Located | None:
        """Where ``text[start:end]`` is printed: the union of its parts on its first page."""
        boxes: list[list[float]] = []
        first: tuple[Page, Line] | None = None
        conf = 1.0
        for s, e, page, line in self._pieces:
            if e <= start or s >= end:
                continue
            if first is None:
                first = (page, line)
            elif page.number != first[0].number:
                break
            boxes.append(sub_bbox(line, max(start, s) - s, min(end, e) - s))
            conf = min(conf, line.confidence)
        if first is None:
            return None
        box = clamp_bbox(
            (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes),
             max(b[3] for b in boxes))
        )
        return Located(self.text[start:end], first[0].number, box, conf, first[1].text)


@lru_cache(maxsize=256)
def label_regex(labels: tuple[str, ...], *, at_start: bool = False) -> regex.Pattern[str]:
    """Any of ``labels`` (longest first, spaces allowed between characters) and its separator."""
    alts = []
    for label in sorted(set(labels), key=len, reverse=True):
        alts.append(r"\s*".join(regex.escape(ch) for ch in _nfkc(label) if not ch.isspace()))
    head = r"^\s*" if at_start else ""
    return regex.compile(rf"{head}(?:{'|'.join(alts)})[\s:：]*")


_SEPARATORS = " \t:：;；|丨"


def _neighbour_right(page: Page, line: Line) -> Line | None:
    cy = (line.bbox[1] + line.bbox[3]) / 2
    h = line.bbox[3] - line.bbox[1]
    cands = [
        o for o in page.lines
        if o is not line and o.bbox[0] >= line.bbox[2] - 0.01
        and abs((o.bbox[1] + o.bbox[3]) / 2 - cy) < max(h, 0.005) * 0.7
    ]
    return min(cands, key=lambda o: o.bbox[0]) if cands else None


def _neighbour_below(page: Page, line: Line, max_gap: float = 0.05) -> Line | None:
    cands = [
        o for o in page.lines
        if o is not line
        and o.bbox[1] >= line.bbox[1] + (line.bbox[3] - line.bbox[1]) * 0.6
        and o.bbox[1] - line.bbox[3] < max_gap
        and o.bbox[0] < line.bbox[2] + 0.02 and o.bbox[2] > line.bbox[0] - 0.02
    ]
    return min(cands, key=lambda o: o.bbox[1]) if cands else None


def _take(text: str, start: int, end: int, pat: regex.Pattern[str] | None) -> tuple[int, int] | None:
    while start < end and text[start] in _SEPARATORS:
        start += 1
    while end > start and text[end - 1] in " \t":
        end -= 1
    if start >= end:
        return None
    if pat is None:
        return start, end
    m = pat.search(text, start, end)
    return (m.start(), m.end()) if m else None


def labelled(
    pages: Sequence[Page],
    labels: Sequence[str],
    value: str | regex.Pattern[str] | None = None,
    *,
    at_start: bool = False,
    look_right: bool = True,
    look_below: bool = True,
) -> list[Located]:
    """Every value that follows one of ``labels``, in reading order: the rest of the label's
    line, else the line to its right, else the line just below. ``value`` (a regex) must match
    there; the match is returned. Unlike :func:`extractors.layout.label_value` this returns
    all occurrences (signature blocks repeat 日期：)."""
    pat = label_regex(tuple(labels), at_start=at_start)
    vpat = regex.compile(value) if isinstance(value, str) else value
    out: list[Located] = []
    for page in pages:
        for line in reading_order(page.lines):
            text = _nfkc(line.text)
            if len(text) != len(line.text):
                text = fold_width(line.text)
            for m in pat.finditer(text):
                nxt = pat.search(text, m.end())
                end = nxt.start() if nxt and not at_start else len(text)
                found = _take(text, m.end(), end, vpat)
                if found:
                    s, e = found
                    out.append(Located(text[s:e], page.number, sub_bbox(line, s, e), line.confidence, line.text))
                    continue
                for other in (
                    _neighbour_right(page, line) if look_right else None,
                    _neighbour_below(page, line) if look_below else None,
                ):
                    if other is None:
                        continue
                    otext = fold_width(other.text)
                    found = _take(otext, 0, len(otext), vpat)
                    if found:
                        s, e = found
                        out.append(Located(otext[s:e], page.number, sub_bbox(other, s, e), other.confidence, other.text))
                        break
                if at_start:
                    break
    return out


@lru_cache(maxsize=1)
def company_regex() -> regex.Pattern[str]:
    suffixes = sorted((_nfkc(s) for s in _data()["company_suffixes"]), key=len, reverse=True)
    alt = "|".join(regex.escape(s) for s in suffixes)
    # a name: CJK, Latin, digits, brackets and middle dots, ending with a company suffix
    return regex.compile(
        rf"[\p{{Han}}A-Za-z0-9()（）·\-&]{{2,60}}(?:{alt})(?:[\p{{Han}}()（）]{{0,10}}?(?:{alt}))*"
    )


def company_name(text: str) -> tuple[int, int] | None:
    """The span of the first company name in ``text`` (``X有限公司``, ``X加工厂`` …)."""
    folded = _nfkc(text)
    m = company_regex().search(folded if len(folded) == len(text) else fold_width(text))
    return (m.start(), m.end()) if m else None


def provider_legal_name(canonical: str) -> str | None:
    """The catalog's primary legal name of a provider (``阿里云`` → ``阿里云计算有限公司``)."""
    try:
        names = load_providers().get(canonical).legal_names
    except KeyError:
        return None
    return names[0] if names else None


def known_legal_name(name: str) -> tuple[str, float] | None:
    """A provider legal name ``name`` denotes (OCR-tolerant), with the match score."""
    best: tuple[str, float] | None = None
    for m in find_providers(name):
        if m.via != "legal_name":
            continue
        score = match_party(name, m.name)
        if score >= 0.9 and (best is None or score > best[1]):
            best = (m.name, score)
    return best


# --------------------------------------------------------------------------- tables


@dataclass(frozen=True)
class _Atom(Boxed):
    text: str
    bbox: tuple[float, float, float, float]
    conf: float
    page: int



def table_atoms(page: Page) -> list[_Atom]:
    """Table atoms: a text layer's words (one per cell fragment), else OCR lines."""
    out: list[_Atom] = []
    for line in page.lines:
        if len(line.words) > 1:
            out.extend(_Atom(w.text, tuple(w.bbox), w.confidence, page.number) for w in line.words if w.text.strip())
        elif line.text.strip():
            out.append(_Atom(line.text, tuple(line.bbox), line.confidence, page.number))
    return out


def _width(ch: str) -> float:
    """Relative glyph width: CJK characters are about twice as wide as Latin ones."""
    return 1.0 if unicodedata.east_asian_width(ch) in "WF" else 0.55


def split_atom(atom: _Atom) -> list[_Atom]:
    """An atom's space-separated parts, boxes cut in proportion to the glyph widths."""
    parts = [(m.start(), m.end()) for m in regex.finditer(r"\S+", atom.text)]
    if len(parts) < 2:
        return [atom]
    cum = [0.0]
    for ch in atom.text:
        cum.append(cum[-1] + _width(ch))
    total = cum[-1] or 1.0
    x0, y0, x1, y1 = atom.bbox
    return [
        _Atom(atom.text[s:e], (x0 + (x1 - x0) * cum[s] / total, y0, x0 + (x1 - x0) * cum[e] / total, y1),
              atom.conf, atom.page)
        for s, e in parts
    ]


_UNIT_SUFFIX = regex.compile(r"[(（][^)）]{0,4}[)）]?$")


@lru_cache(maxsize=1)
def _column_keys() -> dict[str, str]:
    keys: dict[str, str] = {}
    for col, labels in _data()["table"]["columns"].items():
        for label in labels:
            k = _UNIT_SUFFIX.sub("", _squash(label))
            keys.setdefault(k, col)
    return keys


def _header_key(text: str) -> str | None:
    return _column_keys().get(_UNIT_SUFFIX.sub("", _squash(text)))


@dataclass(frozen=True)
class TableRow:
    """One body row: column → cell text, and where the row is."""

    page: int
    cells: dict[str, str]
    bbox: list[float]
    confidence: float


@dataclass(frozen=True)
class Table:
    rows: list[TableRow] = field(default_factory=list)
    total: Located | None = None
    """The amount printed in the table's total row (合计), if any."""
    layout: "_Layout | None" = None
    ended: bool = True
    """False when the rows run to the page's foot: the next page may continue the table."""


def _total_words() -> tuple[str, ...]:
    return tuple(_squash(w) for w in _data()["table"]["total_rows"])


def _is_total(text: str) -> bool:
    t = _squash(text).lstrip("0123456789.、 ")
    t = t.removeprefix("人民币")
    return any(t.startswith(w) for w in _total_words())


def _find_header(atoms: list[_Atom]) -> list[tuple[_Atom, str | None]] | None:
    cfg = _data()["table"]
    cands: list[tuple[_Atom, str]] = []
    for a in atoms:
        key = _header_key(a.text)
        if key is not None:
            cands.append((a, key))
        elif " " in a.text.strip():
            cands.extend((p, k) for p in split_atom(a) if (k := _header_key(p.text)) is not None)
    cands.sort(key=lambda ak: ak[0].cx)
    best: list[tuple[_Atom, str]] | None = None
    for i, (seed, _) in enumerate(cands):
        group = [cands[i]]
        for step in (1, -1):  # walk right, then left, from cell to neighbouring cell (a tilted row)
            last = seed
            j = i + step
            while 0 <= j < len(cands):
                a, k = cands[j]
                if abs(a.cy - last.cy) <= 0.8 * max(a.h, last.h):
                    group.append((a, k))
                    last = a
                j += step
        keys = {k for _, k in group}
        if "name" not in keys or not keys & {"amount", "quantity"} or len(keys) < cfg["min_columns"]:
            continue
        if best is None or len(keys) > len({k for _, k in best}):
            best = group
    if best is None:
        return None
    best.sort(key=lambda ak: ak[0].bbox[0])
    dedup: list[tuple[_Atom, str | None]] = []
    for a, k in best:
        if any(k == k2 for _, k2 in dedup):
            continue
        dedup.append((a, k))
    return dedup


def _slope(header: list[tuple[_Atom, str | None]]) -> float:
    """The row's tilt (dy/dx) on a skewed scan, fitted on the header cells' centres."""
    xs = [a.cx for a, _ in header]
    ys = [a.cy for a, _ in header]
    if len(xs) < 3 or max(xs) - min(xs) < 0.2:
        return 0.0
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    k = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den if den else 0.0
    return max(-0.05, min(0.05, k))


@dataclass(frozen=True)
class _Layout:
    """A table's columns (key, left, right) and the page's tilt."""

    cols: tuple[tuple[str, float, float], ...]
    slope: float
    xref: float


def _layout_of(header: list[tuple[_Atom, str | None]], atoms: list[_Atom]) -> tuple[_Layout, float, set[int]]:
    """Columns from the header row (unrecognised header cells make columns too, so their cells
    do not spill into a neighbour), the header's bottom, and the header atoms' ids."""
    k = _slope(header)
    xref = statistics.fmean(a.cx for a, _ in header)
    head_y = statistics.fmean(a.cy - k * (a.cx - xref) for a, _ in header)
    ids = {id(a) for a, _ in header}
    x_lo = min(a.bbox[0] for a, _ in header) - 0.05
    extra = [
        (a, None) for a in atoms
        if id(a) not in ids and abs(a.cy - k * (a.cx - xref) - head_y) < 0.6 * a.h and a.bbox[0] >= x_lo
        and not any(h.bbox[0] - 0.005 <= a.cx <= h.bbox[2] + 0.005 for h, _ in header)
    ]
    cells = sorted(header + extra, key=lambda ak: ak[0].bbox[0])
    lefts = [a.bbox[0] - 0.01 for a, _ in cells]
    cols = []
    for i, (_, key) in enumerate(cells):
        lo = -1.0 if i == 0 else lefts[i]
        hi = 2.0 if i + 1 == len(cells) else lefts[i + 1]
        cols.append((key or f"col{i}", lo, hi))
    bottom = max(a.bbox[3] - k * (a.cx - xref) for a, _ in cells)
    return _Layout(tuple(cols), k, xref), bottom, ids | {id(a) for a, _ in extra}


def read_tables(pages: Sequence[Page]) -> list[Table]:
    """Every page's table; a page without a header whose predecessor's table ran off the
    bottom continues it with the same columns."""
    out: list[Table] = []
    carry: _Layout | None = None
    for page in pages:
        table = read_table(page, continues=carry)
        out.append(table)
        carry = table.layout if table.layout is not None and not table.ended else None
    return out


def read_table(page: Page, continues: _Layout | None = None) -> Table:
    """The product/service table of ``page``: rows grouped by the amount column.

    Header cells name the columns (``data/contract_fields.yaml`` → table.columns); a body atom
    belongs to the column its box overlaps most (columns run from one header cell's left edge
    to the next). Rows are anchored on the amount cells (and 序号 cells where an amount is
    unreadable); every other cell joins the nearest anchor, which groups an OCR'd scan's separate
    cell lines and a wrapped cell's second line into their row. A skewed scan is straightened
    first with the header's tilt. The table ends at its total row (合计…) or where anchors stop.
    ``continues``: the columns of the previous page's unfinished table, used when this page
    prints no header.
    """
    atoms = table_atoms(page)
    header = _find_header(atoms)
    if header is not None:
        layout, head_bottom, head_ids = _layout_of(header, atoms)
    elif continues is not None:
        layout, head_bottom, head_ids = _Layout(continues.cols, 0.0, 0.5), -1.0, set()
    else:
        return Table()
    cols, k, xref = layout.cols, layout.slope, layout.xref

    def y(a: _Atom, v: float | None = None) -> float:
        return (a.cy if v is None else v) - k * (a.cx - xref)

    def column(a: _Atom) -> str | None:
        best, best_ov = None, 0.0
        for key, lo, hi in cols:
            ov = min(a.bbox[2], hi) - max(a.bbox[0], lo)
            if ov > best_ov:
                best, best_ov = key, ov
        return best

    unit = _glyph_unit(atoms)
    body: list[tuple[_Atom, str]] = []
    for a in atoms:
        if id(a) in head_ids or y(a) <= head_bottom:
            continue
        key = column(a)
        width = a.bbox[2] - a.bbox[0]
        spans = sum(1 for _, lo, hi in cols if min(a.bbox[2], hi) - max(a.bbox[0], lo) >= max(0.01, 0.12 * width))
        if key and spans > 1 and " " in a.text.strip():
            body.extend(_split_to_columns(a, cols, column, unit))  # OCR merged neighbouring cells
        elif key:
            body.append((a, key))
    body.sort(key=lambda ak: y(ak[0]))
    end = next((y(a, a.bbox[1]) for a, _ in body if _is_total(a.text)), 2.0)
    keys_present = {c[0] for c in cols}
    anchor_col = "amount" if "amount" in keys_present else "index" if "index" in keys_present else None
    if anchor_col is None:
        return Table()
    anchors = _anchors(body, anchor_col, end, y)
    if anchor_col == "amount" and "index" in keys_present:
        # a row whose amount OCR could not read still has its 序号
        for a in _anchors(body, "index", end, y):
            if all(abs(y(a) - y(b)) > 0.8 * max(a.h, b.h) for b in anchors):
                anchors.append(a)
        anchors.sort(key=y)
    total = _table_total(body, end, y, anchor_col)
    if header is None and (not anchors or y(anchors[0]) > 0.3):
        # no header and no rows at the top: not a continuation, unless its total row opens the page
        at_top = total is not None and y(_total_atom(body, end, y)) < 0.3
        return Table(total=total if at_top else None)
    if not anchors:
        return Table(total=total, layout=layout, ended=True)
    ys = [y(a) for a in anchors]
    pitch = statistics.median([b - a for a, b in zip(ys, ys[1:])]) if len(ys) > 1 else 2.2 * anchors[0].h
    reach = max(0.6 * pitch, 0.75 * anchors[0].h)
    members: list[list[tuple[_Atom, str]]] = [[] for _ in anchors]
    members_of = {id(a): i for i, a in enumerate(anchors)}
    for a, key in body:
        ya = y(a)
        if ya >= end:
            continue
        i = members_of.get(id(a))
        if i is None:
            i = min(range(len(anchors)), key=lambda j: abs(ys[j] - ya))
        if abs(ys[i] - ya) <= reach:
            members[i].append((a, key))
    rows: list[TableRow] = []
    for group in members:
        if not group:
            continue
        cells: dict[str, list[_Atom]] = {}
        for a, key in group:
            cells.setdefault(key, []).append(a)
        texts = {key: _join_cell(parts, y) for key, parts in cells.items()}
        if any(_is_total(t) for t in texts.values()):
            continue
        boxes = [a.bbox for a, _ in group]
        rows.append(TableRow(
            page=page.number,
            cells=texts,
            bbox=clamp_bbox((min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))),
            confidence=min(a.conf for a, _ in group),
        ))
    # the table runs on if nothing but a page footer follows its last row
    below = [a for a, _ in body if y(a) > ys[-1] + 2 * pitch]
    ended = end < 2.0 or any(y(a) < 0.9 for a in below)
    return Table(rows=rows, total=total, layout=layout, ended=ended)


def _total_atom(body: list[tuple[_Atom, str]], end: float, y) -> _Atom:
    return next(a for a, _ in body if _is_total(a.text) and abs(y(a, a.bbox[1]) - end) < 1e-9)


_TYPED = {
    "index": regex.compile(r"\d{1,3}"),
    "quantity": regex.compile(r"\d{1,6}\s*[\p{Han}]?"),
    "amount": regex.compile(r"[¥￥]?\d[\d,]*(?:\.\d{1,2})?"),
    "unit_price": regex.compile(r"[¥￥]?\d[\d,]*(?:\.\d{1,2})?"),
    "period": regex.compile(r"\d{1,3}\s*(?:个月|年|天|月)"),
}


def _glyphs(text: str) -> float:
    return sum(_width(ch) for ch in text)


def _glyph_unit(atoms: list[_Atom]) -> float | None:
    """The page's width of one CJK glyph (as a page fraction), from its atoms."""
    units = [(a.bbox[2] - a.bbox[0]) / _glyphs(a.text) for a in atoms if _glyphs(a.text) >= 2]
    return statistics.median(units) if units else None


def _split_two(rest: _Atom, parts: list[_Atom], cols, unit: float | None,
               taken: set[str]) -> list[tuple[_Atom, str]] | None:
    """Two cells merged across a gap: the split whose right part, set at the glyph width the
    page prints, starts where the right column starts. ``taken``: columns a 序号 or a typed
    cell of the same line already fills."""
    if unit is None or len(parts) < 2:
        return None
    i0 = next((i for i, (k, lo, hi) in enumerate(cols) if lo <= rest.bbox[0] + 0.002 < hi), None)
    i1 = next((i for i, (k, lo, hi) in enumerate(cols) if lo <= rest.bbox[2] - 0.002 < hi), None)
    if i0 is None or i1 is None:
        return None
    free = [i for i in range(i0, i1 + 1) if cols[i][0] not in taken]
    if len(free) < 2:
        return None
    left_col = cols[free[0]][0]
    right_col = (cols[free[-1]][0], cols[free[-1]][1])
    best: tuple[float, int] | None = None
    for k in range(1, len(parts)):
        a_text = " ".join(p.text for p in parts[:k])
        b_text = " ".join(p.text for p in parts[k:])
        b_start = rest.bbox[2] - _glyphs(b_text) * unit
        if b_start < rest.bbox[0] + 0.8 * _glyphs(a_text) * unit:
            continue
        score = abs(b_start - (right_col[1] + 0.01))
        if best is None or score < best[0]:
            best = (score, k)
    if best is None or best[0] > 0.05:
        return None
    k = best[1]
    a_text, b_text = " ".join(p.text for p in parts[:k]), " ".join(p.text for p in parts[k:])
    b_start = rest.bbox[2] - _glyphs(b_text) * unit
    x0, y0, x1, y1 = rest.bbox
    return [(_Atom(a_text, (x0, y0, min(b_start, x0 + _glyphs(a_text) * unit), y1), rest.conf, rest.page), left_col),
            (_Atom(b_text, (b_start, y0, x1, y1), rest.conf, rest.page), right_col[0])]


def _split_to_columns(atom: _Atom, cols, column, unit: float | None = None) -> list[tuple[_Atom, str]]:
    """Cells OCR read as one line (``1 金蝶云·星空标准版``, ``… 16GiB 1台``): a leading 序号 and
    trailing typed cells (数量, 金额, 期限) go to the columns the line starts and ends in; the
    rest stays one cell, placed where it starts."""
    parts = split_atom(atom)

    def col_at(x: float) -> str | None:
        return next((k for k, lo, hi in cols if lo <= x < hi), None)

    head: list[tuple[_Atom, str]] = []
    tail: list[tuple[_Atom, str]] = []
    first, last = col_at(atom.bbox[0] + 0.002), col_at(atom.bbox[2] - 0.002)
    if len(parts) > 1 and first in _TYPED and first != last and _TYPED[first].fullmatch(parts[0].text):
        head.append((parts.pop(0), first))
    while len(parts) > 1 and last in _TYPED and _TYPED[last].fullmatch(parts[-1].text):
        tail.insert(0, (parts.pop(), last))
        prev = [k for k, _, _ in cols]
        i = prev.index(last)
        last = prev[i - 1] if i > 0 else None
        if last not in _TYPED:
            break
    if not parts:
        return head + tail
    rest = _Atom(" ".join(p.text for p in parts), (parts[0].bbox[0], atom.bbox[1], parts[-1].bbox[2], atom.bbox[3]),
                 atom.conf, atom.page)
    two = _split_two(rest, parts, cols, unit, {k for _, k in head + tail})
    if two is not None:
        return head + two + tail
    key = col_at(parts[0].cx) if (head or tail) else None
    if key is None:
        return head + [(p, column(p) or "") for p in parts if column(p)] + tail
    return head + [(rest, key)] + tail


_INDEX = regex.compile(r"\s*[0-9OoIl]{1,3}\s*")


def _anchors(body: list[tuple[_Atom, str]], col: str, end: float, y) -> list[_Atom]:
    """The cells of ``col`` that start rows: amounts (or 序号), top to bottom, one per row, until
    the table ends (its total row, or a gap far larger than a row)."""
    out: list[_Atom] = []
    for a, key in body:
        if key != col or y(a) >= end:
            continue
        ok = _amount_of(a.text) is not None if col == "amount" else _INDEX.fullmatch(a.text) is not None
        if not ok:
            continue
        if out and abs(y(a) - y(out[-1])) < 0.5 * max(a.h, out[-1].h):
            if a.bbox[2] > out[-1].bbox[2]:
                out[-1] = a  # two numbers on one row: the amount is the right-most
            continue
        if out:
            gaps = [y(b) - y(c) for c, b in zip(out, out[1:])]
            limit = max(6 * max(statistics.median(b.h for b in out), a.h),
                        2.5 * statistics.median(gaps) if gaps else 0.0)
            if y(a) - y(out[-1]) > limit:
                break  # far below the table: another block
        out.append(a)
    return out


def _table_total(body: list[tuple[_Atom, str]], end: float, y, anchor_col: str) -> Located | None:
    """The amount on the total row (the row of the first 合计… cell)."""
    if end >= 2.0 or anchor_col != "amount":
        return None
    label = _total_atom(body, end, y)
    cands = [
        a for a, key in body
        if key == "amount" and _amount_of(a.text) is not None and abs(y(a) - y(label)) < max(label.h, a.h) * 0.8
    ]
    if not cands:
        return None
    a = min(cands, key=lambda c: abs(y(c) - y(label)))
    return Located(a.text, a.page, list(a.bbox), a.conf, a.text)


def _cjk(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff"


def _join_cell(parts: list[_Atom], y) -> str:
    """A cell's fragments in reading order: spaces within a visual line; a wrapped CJK line
    joins without one."""
    parts = sorted(parts, key=lambda a: (y(a), a.bbox[0]))
    lines: list[list[_Atom]] = []
    for a in parts:
        if lines and abs(y(a) - y(lines[-1][0])) < 0.5 * a.h:
            lines[-1].append(a)
        else:
            lines.append([a])
    text = ""
    for ln in lines:
        piece = " ".join(a.text.strip() for a in sorted(ln, key=lambda a: a.bbox[0]))
        if text and not (_cjk(text[-1]) and piece and _cjk(piece[0])):
            text += " "
        text += piece
    return text


# =========================================================================== contract fields


_QTY = regex.compile(r"^\s*(\d{1,6})(?!\s*[.,]\d)")
_DASHLIKE = regex.compile(r"(?<=[A-Za-z0-9])[一—–－‐](?=[A-Za-z0-9])")


def _title(pages: Sequence[Page]) -> Located | None:
    cfg = _data()["title"]
    endings = tuple(_squash(e) for e in cfg["endings"])
    bad = tuple(_nfkc(c) for c in cfg["not_in_title"])
    best: tuple[float, float, Line, Page] | None = None
    page = pages[0]
    for line in page.lines:
        t = _squash(line.text)
        if not t or len(t) > cfg["max_chars"] or line.bbox[3] > cfg["top_fraction"]:
            continue
        if not t.endswith(endings) or any(b in _nfkc(line.text) for b in bad):
            continue
        h = line.bbox[3] - line.bbox[1]
        key = (round(h, 3), -line.bbox[1])
        if best is None or key > best[:2]:
            best = (key[0], key[1], line, page)
    if best is None:
        return None
    line = best[2]
    return Located(line.text.strip(), page.number, list(line.bbox), line.confidence, line.text)


def _is_order(title: str | None) -> bool:
    return bool(title) and any(w in title for w in _data()["order_form"]["title_contains"])


def _contract_number(pages: Sequence[Page], stream: TextStream) -> Located | None:
    cfg = _data()["contract_number"]
    value = regex.compile(rf"(?:{cfg['value']}|[A-Za-z0-9]+(?:[一—–－‐][A-Za-z0-9]+)+)")
    for label in cfg["labels"]:  # most specific first
        hits = labelled(pages, [label], value)
        if hits:
            return hits[0]
    pat = label_regex(tuple(cfg["labels"]))
    for m in pat.finditer(stream.text):
        v = value.match(stream.text, m.end())
        if v:
            return stream.locate(v.start(), v.end())
    return None


@dataclass
class _Party:
    side: str  # "a" | "b"
    role: str
    name: Located | None
    line_index: tuple[int, int]  # (page number, index in reading order)
    tax_id: Located | None = None


def _party_re() -> regex.Pattern[str]:
    p = _data()["parties"]
    a = "|".join(r"\s*".join(map(regex.escape, s)) for s in p["first"])
    b = "|".join(r"\s*".join(map(regex.escape, s)) for s in p["second"])
    return regex.compile(
        rf"^\s*(?:(?P<a>{a})|(?P<b>{b}))\s*(?:[(（]\s*(?P<role>[^)）]{{1,12}}?)\s*[)）])?\s*[:：]?\s*"
    )


def _parties(pages: Sequence[Page]) -> dict[str, _Party]:
    """The parties' header blocks (甲方（采购方）：X + its credit code); a side printed only in
    the signature block (甲方（盖章）：X) is taken from there."""
    found = _party_pass(pages, signature=False)
    if len(found) < 2:
        for side, party in _party_pass(pages, signature=True).items():
            found.setdefault(side, party)
    return found


def _party_pass(pages: Sequence[Page], *, signature: bool) -> dict[str, _Party]:
    cfg = _data()["parties"]
    sig = tuple(cfg["signature_roles"])
    pat = _party_re()
    found: dict[str, _Party] = {}
    for page in pages:
        lines = reading_order(page.lines)
        for i, line in enumerate(lines):
            text = fold_width(line.text)
            m = pat.match(text)
            if not m:
                continue
            side = "a" if m.group("a") else "b"
            role = m.group("role") or ""
            if side in found or (any(s in role for s in sig) and not signature):
                continue
            rest = text[m.end():]
            rest_span = company_name(rest)
            sep = text[m.end(side) : m.end()]
            colon = any(c in sep for c in ":：")
            spaced = any(c in sep for c in " \t")
            lead = len(rest) - len(rest.lstrip())
            if not (role or colon or spaced):
                continue  # 甲方向乙方采购…: a sentence about the parties, not a header
            if rest_span and rest_span[0] > lead:
                continue  # the name must follow the label
            if rest_span and not (role or colon) and rest_span[1] < len(rest.rstrip()) - 2:
                continue  # "甲方 X公司" with only a space: nothing may follow the name
            name: Located | None = None
            if rest_span:
                s, e = rest_span[0] + m.end(), rest_span[1] + m.end()
                name = Located(text[s:e], page.number, sub_bbox(line, s, e), line.confidence, line.text)
            elif not text[m.end():].strip():
                for other in (_neighbour_right(page, line), _neighbour_below(page, line)):
                    if other is not None and (span := company_name(fold_width(other.text))):
                        s, e = span
                        name = Located(fold_width(other.text)[s:e], page.number, sub_bbox(other, s, e),
                                       other.confidence, other.text)
                        break
            if name is None and not role:
                continue  # 甲方向乙方… is a sentence, not a party header
            found[side] = _Party(side, role, name, (page.number, i))
        if found:
            _party_tax_ids(page, lines, found)
    return found


def _party_tax_ids(page: Page, lines: list[Line], parties: dict[str, _Party]) -> None:
    """The credit code printed under each party's header (before the next party's)."""
    starts = sorted((p.line_index[1], p.side) for p in parties.values() if p.line_index[0] == page.number)
    for n, (i, side) in enumerate(starts):
        if parties[side].tax_id is not None:
            continue
        stop = starts[n + 1][0] if n + 1 < len(starts) else min(len(lines), i + 7)
        for line in lines[i : stop]:
            codes = find_codes(line.text)
            if codes:
                code, s, e = codes[0]
                conf = line.confidence * (1.0 if code.valid else 0.6)
                parties[side].tax_id = Located(code.code, page.number, sub_bbox(line, s, e), conf, line.text)
                break


def _buyer_side(parties: dict[str, _Party], stream: TextStream) -> tuple[str, float]:
    """Which side (a/b) buys, and how sure that is."""
    cfg = _data()["parties"]
    for side, party in parties.items():
        role = party.role
        is_seller = any(r in role for r in cfg["seller_roles"])
        is_buyer = any(r in role for r in cfg["buyer_roles"]) and not is_seller
        if is_buyer:
            return side, 1.0
        if is_seller:
            return ("b" if side == "a" else "a"), 1.0
    m = regex.search(cfg["payer_pattern"], stream.text)
    if m:
        return ("a" if m.group("side") == "甲" else "b"), 0.95
    known = {side: known_legal_name(p.name.value) for side, p in parties.items() if p.name}
    sellers = [side for side, k in known.items() if k]
    if len(sellers) == 1:
        return ("b" if sellers[0] == "a" else "a"), 0.9
    return "a", 0.7


def _order_party(pages: Sequence[Page], labels: Sequence[str]) -> Located | None:
    value = company_regex()
    for label in labels:  # most specific first
        hits = labelled(pages, [label], value)
        if hits:
            return hits[0]
    return None


def _dates_in(loc: Located) -> list:
    return [d.value for d in find_dates(repair_digits(loc.value))]


def _date(pages: Sequence[Page], stream: TextStream) -> tuple[str, Located] | None:
    cfg = _data()["date"]
    for label in cfg["labels"]:
        for hit in labelled(pages, [label]):
            ds = _dates_in(hit)
            if ds:
                return ds[0].isoformat(), hit
    sig: list[tuple[Any, Located]] = []
    for hit in labelled(pages, cfg["signature_labels"], at_start=True):
        sig.extend((d, hit) for d in _dates_in(hit))
    if sig:
        d, hit = max(sig, key=lambda t: t[0])
        return d.isoformat(), hit
    for m in regex.finditer(cfg["signed_phrase"], stream.text):
        ds = find_dates(repair_digits(m.group("date")))
        if ds:
            loc = stream.locate(m.start("date"), m.end("date"))
            if loc:
                return ds[0].value.isoformat(), loc
    return None


@dataclass(frozen=True)
class _Amount:
    value: Decimal
    where: Located
    source: str
    rank: int


def _window(stream: TextStream, start: int) -> tuple[int, int]:
    n = _data()["amount"]["window"]
    end = min(len(stream.text), start + n)
    stop = regex.compile(r"[。；;]").search(stream.text, start, end)
    return start, stop.start() if stop else end


def _amount_candidates(stream: TextStream) -> tuple[list[_Amount], list[_Amount]]:
    """(小写, 大写) amounts that follow a total label, best label first."""
    cfg = _data()["amount"]
    not_total = label_regex(tuple(cfg["not_total_labels"]))
    lower: list[_Amount] = []
    upper: list[_Amount] = []
    seen: set[tuple[str, int]] = set()
    for rank, label in enumerate(cfg["total_labels"]):
        for m in label_regex((label,)).finditer(stream.text):
            before = stream.text[max(0, m.start() - 4) : m.start()]
            if any(n.end() == len(before) for n in not_total.finditer(before)):
                continue  # 优惠金额, 税额合计 …: not the total
            s, e = _window(stream, m.end())
            for a in find_amounts(stream.digits[s:e]):
                key = (a.form, s + a.start)
                if key in seen:
                    continue
                seen.add(key)
                loc = stream.locate(s + a.start, s + a.end)
                if loc is None:
                    continue
                target = lower if a.form == "lowercase" else upper
                target.append(_Amount(a.value, loc, label, rank))
    for m in label_regex(tuple(cfg["uppercase_labels"])).finditer(stream.text):
        s, e = _window(stream, m.end())
        for a in find_amounts(stream.digits[s:e]):
            if a.form == "uppercase" and ("uppercase", s + a.start) not in seen:
                seen.add(("uppercase", s + a.start))
                loc = stream.locate(s + a.start, s + a.end)
                if loc:
                    upper.append(_Amount(a.value, loc, "大写", -1))
    return lower, upper


_UPPER_PREFIX = regex.compile(r"^[\s:：]*(?:人民币)?\s*(?:[(（]?\s*大写\s*[)）]?)?[\s:：]*")


def _uppercase_text(raw: str) -> str:
    return _UPPER_PREFIX.sub("", raw).strip()


def _amounts(facts: DocumentFacts, stream: TextStream, table: Table, line_sum: Decimal | None) -> None:
    lower, upper = _amount_candidates(stream)
    if table.total is not None and (v := _amount_of(table.total.value)) is not None:
        lower.append(_Amount(v, table.total, "合计行", 90))
    up = min(upper, key=lambda a: a.rank) if upper else None
    if up is not None:
        facts.set("amount_uppercase_yuan", float(up.value), up.where)
        facts.set("amount_uppercase_text", _uppercase_text(up.where.value), up.where,
                  raw=up.where.value)
    if lower:
        def support(a: _Amount) -> tuple[int, int]:
            votes = sum(1 for b in lower if b.value == a.value)
            votes += 2 if up is not None and up.value == a.value else 0
            votes += 1 if line_sum is not None and line_sum == a.value else 0
            return votes, -a.rank
        best = max(lower, key=support)
        votes = support(best)[0]
        conf = best.where.confidence * (1.0 if votes >= 2 else 0.8)
        facts.set("amount_yuan", float(best.value), best.where, confidence=conf)
        if up is not None and up.value != best.value:  # the 大写/小写 cross-check fails
            fv = facts.fields["amount_uppercase_yuan"]
            facts.set("amount_uppercase_yuan", fv.value, fv, confidence=fv.confidence * 0.8)
    elif up is not None:
        facts.set("amount_yuan", float(up.value), up.where, confidence=up.where.confidence * 0.7)


_CN_NUM = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}


@lru_cache(maxsize=1)
def _period_labels() -> tuple[str, ...]:
    """The period labels of ``data/periods.yaml`` (shared with extractors/dates.py)."""
    raw = yaml.safe_load((_DATA_FILE.parent / "periods.yaml").read_text(encoding="utf-8"))
    return tuple(str(x) for x in raw["labels"])


def _duration(stream: TextStream) -> tuple[int, Located] | None:
    """A labelled term without dates: 服务期限：12个月 / 服务期限为三年."""
    labels = _period_labels()
    pat = regex.compile(r"(?:为|是)?\s*(?P<n>\d{1,3}|[一二两三四五六七八九十])\s*(?P<u>个自然月|个月|周年|年)")
    for m in label_regex(labels).finditer(stream.text):
        d = pat.match(stream.digits, m.end())
        if d is None:
            continue
        n = int(d.group("n")) if d.group("n").isdigit() else _CN_NUM[d.group("n")]
        months = n if "月" in d.group("u") else n * 12
        loc = stream.locate(d.start("n"), d.end())
        if months and loc:
            return months, loc
    return None


def _period(facts: DocumentFacts, stream: TextStream) -> None:
    p = find_period(stream.digits)
    if p is None:
        if (d := _duration(stream)) is not None:
            facts.set("period_months", d[0], d[1])
        return
    where = stream.locate(*p.span)
    if where is None:
        return
    conf = where.confidence
    stated = _duration(stream)
    if stated is not None and p.months is not None and stated[0] != p.months:
        conf *= 0.8  # 服务期限为12个月 but the dates span another length
    facts.set("period_start", p.start.isoformat(), where, confidence=conf)
    if p.end is not None:
        facts.set("period_end", p.end.isoformat(), where, confidence=conf)
    if p.months is not None:
        facts.set("period_months", p.months, where, confidence=conf)


def _product_lines(tables: Sequence[Table]) -> tuple[list[dict[str, Any]], FieldValue | None, Decimal | None]:
    items: list[dict[str, Any]] = []
    boxes: list[TableRow] = []
    for table in tables:
        for row in table.rows:
            item: dict[str, Any] = {}
            if name := row.cells.get("name"):
                item["name"] = name
            if spec := row.cells.get("spec"):
                item["spec"] = spec
            if (q := row.cells.get("quantity")) and (m := _QTY.match(repair_digits(_nfkc(q)))):
                item["quantity"] = int(m.group(1))
            if (amt := row.cells.get("amount")) is not None:
                v = _amount_of(amt)
                if v is not None:
                    item["amount"] = float(v)
            if "name" in item:
                items.append(item)
                boxes.append(row)
    if not items:
        return [], None, None
    first = boxes[0].page
    on_first = [r for r in boxes if r.page == first]
    box = clamp_bbox((min(r.bbox[0] for r in on_first), min(r.bbox[1] for r in on_first),
                      max(r.bbox[2] for r in on_first), max(r.bbox[3] for r in on_first)))
    amounts = [i.get("amount") for i in items]
    line_sum = sum(Decimal(str(a)) for a in amounts) if all(a is not None for a in amounts) else None
    fv = FieldValue(items, first, box, min(r.confidence for r in boxes),
                    "\n".join(" | ".join(r.cells.values()) for r in boxes))
    return items, fv, line_sum


def set_cloud_keywords(facts: DocumentFacts, pages: Sequence[Page]) -> None:
    hit = best_cloud_wording(pages)
    if hit is not None:
        facts.set("cloud_keywords_present", True,
                  FieldValue(True, hit.page, hit.bbox, hit.confidence, hit.found))
    else:
        # absence is only as sure as the reading of every page; its evidence is the whole text
        facts.set("cloud_keywords_present", False,
                  FieldValue(False, pages[0].number, [0.0, 0.0, 1.0, 1.0], min(p.confidence for p in pages), None))


def _set_name(facts: DocumentFacts, key: str, where: Located, confidence: float | None = None) -> None:
    facts.set(key, where.value.strip(), where, confidence=confidence)


def extract(pages: list[Page], ctx: ExtractionContext) -> DocumentFacts:
    facts = DocumentFacts()
    stream = TextStream(pages)

    title = _title(pages)
    if title is not None:
        facts.set("title", title.value, title)
    order = _is_order(title.value if title else None)
    if order:
        facts.set("order_form", True, title)

    if (num := _contract_number(pages, stream)) is not None:
        value = _DASHLIKE.sub("-", num.value)
        if num.confidence < 1.0:  # OCR'd: 2O24 in a digit group is 2024 (a text layer has no slips)
            value = repair_digits(value)
        facts.set("contract_number", value, num)

    parties = _parties(pages)
    buyer: Located | None = None
    seller: Located | None = None
    buyer_tax: Located | None = None
    seller_tax: Located | None = None
    side_conf = 1.0
    if parties:
        for side, key in (("a", "party_a"), ("b", "party_b")):
            if side in parties and parties[side].name is not None:
                _set_name(facts, key, parties[side].name)  # type: ignore[arg-type]
        bside, side_conf = _buyer_side(parties, stream)
        sside = "b" if bside == "a" else "a"
        if bside in parties:
            buyer, buyer_tax = parties[bside].name, parties[bside].tax_id
        if sside in parties:
            seller, seller_tax = parties[sside].name, parties[sside].tax_id
    if buyer is None:
        buyer = _order_party(pages, _data()["order_parties"]["buyer_labels"])
    if seller is None:
        seller = _order_party(pages, _data()["order_parties"]["seller_labels"])
    if buyer is not None:
        _set_name(facts, "buyer", buyer, buyer.confidence * side_conf)
    if buyer_tax is not None:
        facts.set("buyer_tax_id", buyer_tax.value, buyer_tax, confidence=buyer_tax.confidence * side_conf)
    if seller_tax is not None:
        facts.set("seller_tax_id", seller_tax.value, seller_tax, confidence=seller_tax.confidence * side_conf)
    if seller is not None:
        name = seller.value.strip()
        known = known_legal_name(name)
        conf = seller.confidence * side_conf
        if known and known[0] != name and _squash(known[0]) != _squash(name):
            name, conf = known[0], conf * known[1]  # an OCR slip in a known provider's name
        facts.set("seller", name, seller, confidence=conf)
        facts.set("provider", name, seller, confidence=conf)
    else:
        _provider_by_brand(facts, stream)

    if (d := _date(pages, stream)) is not None:
        facts.set("date", d[0], d[1])
    _period(facts, stream)
    tables = read_tables(pages)
    _items, fv, line_sum = _product_lines(tables)
    table_total = next((t.total for t in tables if t.total is not None), None)
    _amounts(facts, stream, Table(total=table_total), line_sum)
    if fv is not None:
        total = facts.get("amount_yuan")
        if line_sum is not None and total is not None and abs(float(line_sum) - total) > 0.01:
            fv = FieldValue(fv.value, fv.page, fv.bbox, fv.confidence * 0.8, fv.raw)  # rows ≠ total
        facts.fields["product_lines"] = fv
    set_cloud_keywords(facts, pages)
    return facts


def _provider_by_brand(facts: DocumentFacts, stream: TextStream) -> None:
    """No seller printed: the provider a brand name names (an order's 腾讯云 logo), reported by
    its catalog legal name, at a lower confidence."""
    match = max(find_providers(stream.text), key=lambda m: (m.score, -m.start), default=None)
    if match is None or match.via == "product":
        return
    name = provider_legal_name(match.canonical)
    loc = stream.locate(match.start, match.end)
    if name and loc:
        facts.set("provider", name, loc, confidence=loc.confidence * match.score * 0.8, raw=match.matched)
