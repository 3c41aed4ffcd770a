"""The application form (星级上云企业评定申请表) and its 附表 → facts.

The form is a ruled table: a label cell, then its value cell(s) to the right. The text layer gives
a row's cells as the words of one line; OCR gives them as separate lines. Both are cut here into
*cells* (words, or whitespace-separated pieces with proportional boxes) and read by position:

* **Basic information** — a label cell (``中文名称``) takes the cells right of it in its row band
  (between the neighbouring label rows, so a wrapped value such as a long partner list is whole),
  up to the next label on the row; a cell that starts with a label (``申报企业：X（盖章）``)
  takes its own rest. Labels, hints printed by the template and value words are YAML data
  (``data/form_fields.yaml``).
* **The 附表** (:func:`read_table`) — columns come from the header cells (子域 / 是否上云 /
  证明材料…页码); rows from the 子域 cells that resolve to a canonical subdomain
  (:func:`classifiers.taxonomy.normalise_subdomain_name`), the rightmost per row (the 子类/域
  columns repeat some names). The 是否上云 and page cells are matched to rows by height, after
  the rows' slope on a scan or a photo is measured and taken out (:func:`page_cells`). A tick
  cell is read by what it holds (√, ☑是, OCR's V/>, 否 …); a cell that cannot be read leaves
  ``claimed`` undecided (``None``) rather than guessed, because the verdict relies on the ticks.
  A row whose 子域 cell OCR lost is placed by the 附表's fixed row order when the rows around it
  leave exactly its room.

Confidence is the cells' (text layer 1.0, OCR line confidence), lowered when a cross-check fails
(cover name ≠ 中文名称, signature ≠ 法人代表姓名, a repaired credit code) or a value was inferred.
"""

from __future__ import annotations

import re
import statistics
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import regex
import yaml
from rapidfuzz import fuzz

from classifiers.taxonomy import Taxonomy, load_taxonomy
from extractors import uscc as uscc_mod
from extractors.dates import find_dates
from extractors.facts import DocumentFacts, ExtractionContext, FieldValue
from extractors.layout import Boxed
from extractors.money import find_amounts, parse_amount
from extractors.providers import (
    find_providers,
    load_providers,
    match_party,
    normalize_party_name,
)
from extractors.textnorm import fold_width
from pipeline.model import Line, Page, clamp_bbox

__all__ = [
    "Cell",
    "TableReading",
    "TickRow",
    "extract",
    "load_form_data",
    "page_cells",
    "parse_capital_yuan",
    "parse_deployment",
    "parse_person",
    "parse_proof_page",
    "parse_spend_yuan",
    "parse_star",
    "parse_year_month",
    "read_table",
    "split_partners",
]

DATA_FILE = Path(__file__).with_name("data") / "form_fields.yaml"


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class _TickData:
    true_marks: tuple[str, ...]
    lookalikes: tuple[str, ...]
    false_marks: tuple[str, ...]
    ambiguous: tuple[str, ...]
    page_implies_claimed: bool
    lookalike_confidence: float
    inferred_confidence: float


@dataclass(frozen=True)
class _FormData:
    labels: dict[str, tuple[str, ...]]
    strip_prefix: dict[str, tuple[str, ...]]
    strip_suffix: dict[str, tuple[re.Pattern[str], ...]]
    other_labels: tuple[str, ...]
    placeholders: tuple[str, ...]
    version: re.Pattern[str]
    star_words: tuple[tuple[str, int], ...]
    deployment_terms: tuple[tuple[str, str], ...]
    checked: str
    unchecked: str
    partner_separators: str
    company_endings: tuple[str, ...]
    partner_repair_min_length: int
    table: dict[str, re.Pattern[str]]
    ticks: _TickData
    page_lookalikes: dict[str, str]
    max_proof_page: int


def _key(text: str) -> str:
    """How labels and marks are compared: NFKC, no whitespace."""
    return "".join(ch for ch in unicodedata.normalize("NFKC", text) if not ch.isspace())


@lru_cache(maxsize=4)
def load_form_data(path: str | None = None) -> _FormData:
    raw: dict[str, Any] = yaml.safe_load(Path(path or DATA_FILE).read_text(encoding="utf-8"))
    fields = raw["fields"]
    t = raw["ticks"]
    return _FormData(
        labels={k: tuple(str(x) for x in v["labels"]) for k, v in fields.items()},
        strip_prefix={k: tuple(v.get("strip_prefix") or ()) for k, v in fields.items()},
        strip_suffix={
            k: tuple(re.compile(p) for p in v.get("strip_suffix") or ()) for k, v in fields.items()
        },
        other_labels=tuple(raw["other_labels"]),
        placeholders=tuple(_key(p) for p in raw["placeholders"]),
        version=re.compile(raw["version_pattern"]),
        star_words=tuple(sorted(((_key(k), int(v)) for k, v in raw["star_words"].items()),
                                key=lambda kv: -len(kv[0]))),
        deployment_terms=tuple(sorted(raw["deployment_terms"].items(), key=lambda kv: -len(kv[0]))),
        checked=raw["checked_boxes"],
        unchecked=raw["unchecked_boxes"],
        partner_separators=raw["partner_separators"],
        company_endings=tuple(sorted(raw["company_endings"], key=len, reverse=True)),
        partner_repair_min_length=int(raw["partner_repair_min_length"]),
        table={k: re.compile(v) for k, v in raw["table"].items()},
        ticks=_TickData(
            true_marks=tuple(_key(x) for x in t["true_marks"]),
            lookalikes=tuple(_key(x) for x in t["ocr_tick_lookalikes"]),
            false_marks=tuple(_key(x) for x in t["false_marks"]),
            ambiguous=tuple(_key(x) for x in t["ambiguous_marks"]),
            page_implies_claimed=bool(t["page_implies_claimed"]),
            lookalike_confidence=float(t["lookalike_confidence"]),
            inferred_confidence=float(t["inferred_confidence"]),
        ),
        page_lookalikes={str(k): str(v) for k, v in raw["page_digit_lookalikes"].items()},
        max_proof_page=int(raw["max_proof_page"]),
    )


# --------------------------------------------------------------------------- cells


@dataclass(frozen=True)
class Cell(Boxed):
    """One table cell as read: a text-layer word, or a whitespace-separated piece of an OCR line."""

    page: int
    text: str
    bbox: tuple[float, float, float, float]
    """Position used for reading: the page's tilt taken out (see :func:`page_cells`)."""
    confidence: float
    shown: tuple[float, float, float, float] | None = None
    """The box as on the page (for evidence); ``None`` when it equals ``bbox``."""

    @property
    def key(self) -> str:
        return _key(self.text)



def _char_width(ch: str) -> float:
    return 0.55 if ord(ch) < 0x2E80 and unicodedata.east_asian_width(ch) not in "WF" else 1.0


def _pieces(text: str, bbox: Sequence[float], spans: Iterable[tuple[int, int]]) -> list[tuple[str, tuple]]:
    """Cut ``text`` at ``spans``; each piece's box in proportion to its characters' widths."""
    widths = [_char_width(c) for c in text]
    total = sum(widths) or 1.0
    x0, y0, x1, y1 = bbox
    out = []
    for s, e in spans:
        a = x0 + (x1 - x0) * sum(widths[:s]) / total
        b = x0 + (x1 - x0) * sum(widths[:e]) / total
        out.append((text[s:e], (a, y0, b, y1)))
    return out


def page_cells(page: Page, *, straighten: bool = True) -> list[Cell]:
    """The page's cells: text-layer words as they are, OCR lines cut at whitespace.

    On an OCR'd page (a scan's skew, a photo's perspective) the table's rows are not level:
    :func:`_tilt` measures how they slope and each cell's height is corrected for it, so that a
    row's cells share one height again. ``shown`` keeps the box as it is on the page.
    """
    cells: list[Cell] = []
    for line in page.lines:
        if line.words and "".join(w.text for w in line.words).replace(" ", "") == line.text.replace(" ", ""):
            for w in line.words:
                if w.text.strip():
                    cells.append(Cell(page.number, w.text.strip(), tuple(w.bbox), w.confidence))
            continue
        spans = [(m.start(), m.end()) for m in re.finditer(r"\S+", line.text)]
        for text, box in _pieces(line.text, line.bbox, spans):
            cells.append(Cell(page.number, text, box, line.confidence))
    if not straighten or page.source != "ocr":
        return cells
    m0, m1 = _tilt(cells)
    if m0 == 0 and m1 == 0:
        return cells
    out = []
    for c in cells:
        m = m0 + m1 * (c.cy - 0.5)
        dy = m * (c.cx - 0.5)
        shrink = min(abs(m) * (c.bbox[2] - c.bbox[0]), 0.5 * c.h) / 2  # a slanted line's box is taller
        x0, y0, x1, y1 = c.bbox
        out.append(Cell(c.page, c.text, (x0, y0 - dy + shrink, x1, y1 - dy - shrink), c.confidence, c.bbox))
    return out


def _tilt(cells: Sequence[Cell]) -> tuple[float, float]:
    """How the page's rows slope: dy/dx = m0 + m1·(y − ½), in page fractions (0, 0 if level).

    Chosen so that as many cells as possible have a cell in another column at the same
    (corrected) height — what a table's rows look like — by a grid search over slopes up to
    ±0.12 (≈ 5° on a scan; a phone photo's perspective tilts rows more) that change by up to
    ±0.08 from top to bottom (perspective). The search must span the real slope: a table's evenly
    spaced rows also line up, worse, at a slope one row pitch off.
    """
    if len(cells) < 8:
        return 0.0, 0.0
    cx = np.array([c.cx for c in cells])
    cy = np.array([c.cy for c in cells])
    cap = 0.5 * float(np.median([c.h for c in cells]))
    other = np.abs(cx[:, None] - cx[None, :]) > 0.08
    if other.sum() < 8:
        return 0.0, 0.0
    n_cap = len(cells) * cap * 0.05

    def search(m0s: np.ndarray, m1s: np.ndarray, best: tuple[float, float, float]) -> tuple[float, float, float]:
        for m1 in m1s:
            m = m0s[:, None] + m1 * (cy[None, :] - 0.5)  # (K, n)
            y = cy[None, :] - m * (cx[None, :] - 0.5)
            d = np.abs(y[:, :, None] - y[:, None, :])
            d = np.where(other[None, :, :], d, np.inf).min(axis=2)
            # a level page is the default: a slope must earn its keep
            score = np.minimum(d, cap).sum(axis=1) + n_cap * (np.abs(m0s) / 0.12 + abs(m1) / 0.08)
            k = int(np.argmin(score))
            if score[k] < best[0]:
                best = (float(score[k]), float(m0s[k]), float(m1))
        return best

    coarse = search(np.arange(-0.12, 0.12001, 0.005), np.arange(-0.08, 0.08001, 0.02), (np.inf, 0.0, 0.0))
    best = search(np.arange(coarse[1] - 0.005, coarse[1] + 0.00501, 0.00125),
                  np.arange(coarse[2] - 0.015, coarse[2] + 0.01501, 0.005), coarse)
    return round(best[1], 4), round(best[2], 4)


def _union(cells: Sequence[Cell]) -> list[float]:
    """The cells' box as shown on the page."""
    boxes = [c.shown or c.bbox for c in cells]
    return clamp_bbox((
        min(b[0] for b in boxes), min(b[1] for b in boxes),
        max(b[2] for b in boxes), max(b[3] for b in boxes),
    ))


def _rows(cells: Sequence[Cell]) -> list[list[Cell]]:
    """Cells grouped into visual rows (centres within half a cell height), each left to right."""
    rows: list[list[Cell]] = []
    for c in sorted(cells, key=lambda c: c.cy):
        if rows:
            last = rows[-1]
            ly = sum(x.cy for x in last) / len(last)
            if abs(c.cy - ly) < 0.5 * min(c.h, max(x.h for x in last)):
                last.append(c)
                continue
        rows.append([c])
    return [sorted(r, key=lambda c: c.bbox[0]) for r in rows]


def _is_latin(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


def _join(cells: Sequence[Cell]) -> str:
    """Cells in reading order: a space between cells of a row, a newline between rows."""
    return "\n".join(" ".join(c.text for c in row) for row in _rows(cells))


def _squeeze(text: str) -> str:
    """Whitespace removed except a single space between two Latin letters/digits."""
    out: list[str] = []
    pending = False
    for ch in text.strip():
        if ch.isspace():
            pending = True
            continue
        if pending and out and _is_latin(out[-1]) and _is_latin(ch):
            out.append(" ")
        pending = False
        out.append(ch)
    return "".join(out)


def _fv(value: Any, cells: Sequence[Cell], factor: float = 1.0, raw: str | None = None) -> FieldValue:
    return FieldValue(
        value=value,
        page=cells[0].page,
        bbox=_union(cells),
        confidence=round(min(c.confidence for c in cells) * factor, 4),
        raw=raw if raw is not None else _join(cells),
    )


# --------------------------------------------------------------------------- labels


@lru_cache(maxsize=256)
def _label_re(label: str) -> re.Pattern[str]:
    chars = [re.escape(c) for c in fold_width(unicodedata.normalize("NFKC", label)) if not c.isspace()]
    return re.compile(r"^\s*" + r"\s*".join(chars) + r"\s*[:：]?\s*")


@lru_cache(maxsize=64)
def _label_set(labels: tuple[str, ...]) -> tuple[tuple[str, re.Pattern[str], str], ...]:
    """``(label, pattern, key)`` longest first."""
    return tuple((lab, _label_re(lab), _key(lab)) for lab in sorted(labels, key=lambda x: -len(_key(x))))


def _label_prefix(cell: Cell, labels: Sequence[str]) -> tuple[str, str] | None:
    """``(label, rest)`` when the cell starts with one of ``labels`` (longest first)."""
    norm = fold_width(cell.text)
    for label, pattern, _ in _label_set(tuple(labels)):
        m = pattern.match(norm)
        if m:
            return label, cell.text[m.end():].strip()
    return None


def _is_label(cell: Cell, labels: Sequence[str], fuzzy: bool) -> str | None:
    """The label the cell *is* (an optional colon after it); OCR pages allow one misread in 5+."""
    hit = _label_prefix(cell, labels)
    if hit and not hit[1]:
        return hit[0]
    if fuzzy:
        k = cell.key.rstrip(":：")
        for label, _, lk in _label_set(tuple(labels)):
            if len(lk) >= 5 and abs(len(k) - len(lk)) <= 1 and fuzz.ratio(k, lk) >= 80:
                return label
    return None


@dataclass
class _LabelledPage:
    """A page's cells with its label cells found: the grid the values are read from."""

    page: Page
    cells: list[Cell]
    labels: list[tuple[Cell, str]]  # (cell, its field, or "-" for the form's other labels)
    label_rows: list[float] = field(default_factory=list)  # centre heights of label rows

    def neighbours(self, cell: Cell) -> tuple[float | None, float | None]:
        """The heights of the label rows just above and just below ``cell``'s."""
        above = [y for y in self.label_rows if y < cell.cy - 0.5 * cell.h]
        below = [y for y in self.label_rows if y > cell.cy + 0.5 * cell.h]
        return (max(above) if above else None), (min(below) if below else None)


def _labelled_page(page: Page, data: _FormData, cells: list[Cell] | None = None) -> _LabelledPage:
    cells = page_cells(page) if cells is None else cells
    fuzzy = page.source == "ocr"
    labels: list[tuple[Cell, str]] = []
    for c in cells:
        # the longest label the cell is or starts with decides (申请单位基本情况 is not 申请单位 + value)
        best: tuple[int, str] | None = None
        for name, labs in data.labels.items():
            hit = _is_label(c, labs, fuzzy) or (_label_prefix(c, labs) or (None,))[0]
            if hit and (best is None or len(_key(hit)) > best[0]):
                best = (len(_key(hit)), name)
        other = _is_label(c, data.other_labels, fuzzy)
        if other is None:
            pre = _label_prefix(c, data.other_labels)
            other = pre[0] if pre and len(_key(pre[0])) >= 4 else None
        if other and (best is None or len(_key(other)) > best[0]):
            best = (len(_key(other)), "-")
        if best:
            labels.append((c, best[1]))
    ys: list[float] = []
    for c, _ in sorted(labels, key=lambda t: t[0].cy):
        if not ys or c.cy - ys[-1] > 0.5 * c.h:
            ys.append(c.cy)
    return _LabelledPage(page, cells, labels, ys)


def _widest_gap(points: list[float], default: float) -> float:
    """The middle of the widest gap between consecutive ``points`` (sorted), or ``default``."""
    pts = sorted(points)
    gaps = [(b - a, (a + b) / 2) for a, b in zip(pts, pts[1:])]
    if not gaps:
        return default
    widest = max(g for g, _ in gaps)
    return min((mid for g, mid in gaps if g >= widest - 1e-6), key=lambda m: abs(m - default))


def _value_cells(lp: _LabelledPage, label: Cell) -> list[Cell]:
    """The cells right of ``label`` in its row, up to the next label on that row.

    A value may wrap over several lines (the label centred or on top); where it ends is the
    widest vertical gap between the lines that lie between this label's row and the next (a cell
    border), so a long paragraph in the next row is not taken for the end of this value.
    """
    up, down = lp.neighbours(label)
    reach = 2.2 * label.h
    lo = max(label.cy - reach, (up + label.cy) / 2 if up is not None else -1.0)
    hi = min(label.cy + reach, (down + label.cy) / 2 if down is not None else 2.0)
    label_cells = {id(c) for c, _ in lp.labels}
    right = 1.0
    for c, _ in lp.labels:
        if c is not label and c.bbox[0] > label.bbox[2] - 0.005 and lo <= c.cy <= hi:
            right = min(right, c.bbox[0])
    region = [
        c for c in lp.cells
        if id(c) not in label_cells and c.bbox[0] >= label.bbox[2] - 0.01 and c.cx < right
    ]
    top, bottom = label.cy - reach, label.cy + reach
    if up is not None:
        pts = [up, label.cy] + [c.cy for c in region if up <= c.cy <= label.cy]
        top = max(top, _widest_gap(pts, (up + label.cy) / 2))
    if down is not None:
        pts = [label.cy, down] + [c.cy for c in region if label.cy <= c.cy <= down]
        bottom = min(bottom, _widest_gap(pts, (down + label.cy) / 2))
    return [c for c in region if top <= c.cy <= bottom]


@dataclass(frozen=True)
class _Raw:
    """A field's value text as printed and the cells it came from."""

    text: str
    cells: tuple[Cell, ...]
    label: str


def _strip_placeholders(text: str, data: _FormData) -> str:
    """The template's printed hints cut out of a value (matched width-folded, spaces ignored)."""
    for ph in data.placeholders:
        pat = r"\s*".join(re.escape(c) for c in fold_width(ph))
        spans = [m.span() for m in re.finditer(pat, fold_width(text))]  # fold_width keeps offsets
        for a, b in reversed(spans):
            text = text[:a] + " " + text[b:]
    return text.strip()


def _raw_values(pages: Sequence[_LabelledPage], name: str, data: _FormData) -> Iterable[_Raw]:
    """Every value printed for field ``name``, best label first, in page order."""
    labels = data.labels[name]
    for label in labels:
        for lp in pages:
            for cell, fname in lp.labels:
                if fname != name:
                    continue
                hit = _label_prefix(cell, [label])
                is_exact = _is_label(cell, [label], lp.page.source == "ocr")
                if not hit and not is_exact:
                    continue
                if hit and hit[1]:
                    text, cells = hit[1], (cell,)
                else:
                    vc = _value_cells(lp, cell)
                    if not vc:
                        continue
                    text, cells = _join(vc), tuple(vc)
                text = _strip_placeholders(text, data)
                for prefix in data.strip_prefix.get(name, ()):
                    text = re.sub(r"^\s*" + re.escape(prefix) + r"\s*[:：]?\s*", "", text)
                for pat in data.strip_suffix.get(name, ()):
                    text = pat.sub("", text)
                text = text.strip(" \t\n:：;；,，。")
                if text:
                    yield _Raw(text, cells, label)


# --------------------------------------------------------------------------- field parsers


_NAME = regex.compile(r"^[\p{Han}·•．.]{2,12}$")
_YM = re.compile(r"(?P<y>(?:19|20)\d{2})\s*(?:年|[-/.])\s*(?P<m>\d{1,2})(?!\d)")
_STARS = re.compile(r"[★☆✰✩⭐]")


def parse_person(text: str) -> str | None:
    """A person's name cell (2–12 Han characters, middle dots allowed) or None."""
    s = _squeeze(text).strip("()（）")
    s = re.sub(r"^[（(]?签\s*字[）)]?[:：]?", "", s)
    return s if _NAME.match(s) else None


def parse_year_month(text: str) -> str | None:
    """``2024年01月`` / ``2024-1`` / ``2024年1月1日`` → ``"2024-01"``."""
    norm = fold_width(text)
    for m in _YM.finditer(norm):
        month = int(m.group("m"))
        if 1 <= month <= 12:
            return f"{m.group('y')}-{month:02d}"
    return None


def parse_star(text: str, data: _FormData | None = None) -> int | None:
    """``四星级`` / ``4星`` / ``★★★★`` → 4."""
    data = data or load_form_data()
    k = _key(text)
    n = len(_STARS.findall(k))
    if 3 <= n <= 5 and not _STARS.sub("", k).strip("星级"):
        return n
    found = {v for w, v in data.star_words if w in k and len(w) > 1}
    if not found:
        found = {v for w, v in data.star_words if w == k.rstrip("级星")}
    return found.pop() if len(found) == 1 else None


def parse_deployment(text: str, data: _FormData | None = None) -> tuple[str | None, float]:
    """The deployment a 部署模型 cell names and how sure that is (0 when it names none or several).

    A checkbox form (``☑公有云 □私有云 □混合云``) is read by its checked box; a plain value naming
    both 公有云 and 私有云 is hybrid by definition (a little less sure).
    """
    data = data or load_form_data()
    masked = _key(text)
    boxed: list[tuple[str, bool]] = []
    plain: set[str] = set()
    for term, value in data.deployment_terms:
        t = _key(term)
        for m in re.finditer(re.escape(t), masked):
            before = masked[m.start() - 1] if m.start() else ""
            if before and before in data.checked:
                boxed.append((value, True))
            elif before and before in data.unchecked:
                boxed.append((value, False))
            else:
                plain.add(value)
        masked = masked.replace(t, "#" * len(t))  # 混合云 hides the words inside it
    if boxed:
        ticked = {v for v, checked in boxed if checked}
        return (ticked.pop(), 1.0) if len(ticked) == 1 else (None, 0.0)
    if len(plain) == 1:
        return plain.pop(), 1.0
    if plain == {"public", "private"}:
        return "hybrid", 0.8
    return None, 0.0


def split_partners(text: str, data: _FormData | None = None) -> list[str]:
    """The company names of a 上云合作机构 value.

    Names are split at 、，；/, at 和/及/与 after a complete name (…有限公司和…), and at a space or
    line end after a complete name or a known provider's name; any other line end is a name
    wrapped in its cell and is joined.
    """
    data = data or load_form_data()
    seps = "[" + re.escape(data.partner_separators) + "]"
    endings = "|".join(re.escape(e) for e in data.company_endings)
    text = re.sub(rf"({endings})\s*(?:以及|和|及|与)\s*", r"\1、", text)
    names: list[str] = []
    for part in re.split(seps, text):
        pieces = [p for p in re.split(r"(\s+)", part.strip()) if p]
        current = ""
        for piece in pieces:
            if piece.isspace():
                current += "\n" if "\n" in piece else " "
                continue
            gap = current[-1:] if current[-1:].isspace() else ""
            head = current.rstrip()
            complete = any(head.endswith(e) for e in data.company_endings) or (
                gap == " " and _is_provider_name(head))
            if head and complete:
                names.append(head)
                current = piece
            elif head and gap == " " and _is_latin(head[-1]) and _is_latin(piece[0]):
                current = head + " " + piece
            else:
                current = head + piece
        if current.strip():
            names.append(current.strip())
    return [n.strip("。.") for n in names if len(n.strip("。.")) >= 2]


def _is_provider_name(text: str) -> bool:
    """``text`` is, as a whole, a provider's name or alias (阿里云, 天翼云 …)."""
    return any(m.start == 0 and m.end == len(text) and m.via != "product" for m in find_providers(text))


def _repair_partner(name: str, data: _FormData) -> tuple[str, bool]:
    """An OCR'd partner name read as a known provider's legal name when it is that name with one
    character misread (same length, names of ``partner_repair_min_length`` characters or more)."""
    norm = normalize_party_name(name)
    hits: set[str] = set()
    for provider in load_providers().providers:
        for legal in provider.legal_names:
            if legal == name:
                return name, False
            ref = normalize_party_name(legal)
            if len(ref) != len(norm) or len(ref) < data.partner_repair_min_length:
                continue
            if sum(a != b for a, b in zip(ref, norm)) <= 1:
                hits.add(legal)
    return (hits.pop(), True) if len(hits) == 1 else (name, False)


def parse_capital_yuan(text: str, label: str) -> float | None:
    """注册资金 in yuan: the value's own unit (万元/元) first, else the label's (（万元）)."""
    k = _key(text).replace("人民币", "")
    m = re.search(r"\d[\d,]*(?:\.\d+)?\s*(?:亿|万|千)?\s*元?", k)
    if not m:
        return None
    amount = parse_amount(m.group(0))
    if amount is None or amount <= 0:
        return None
    has_unit = bool(re.search(r"[亿万千元]", m.group(0)))
    if not has_unit:
        if "万" in _key(label):
            amount *= 10000
        else:
            return None  # a bare number under a label without a unit: its unit is not shown
    return float(amount)


def parse_spend_yuan(text: str, header_wan: bool = False) -> float | None:
    """The 3-star 年化投入 cell: ``36,000.00元``, ``3.6万元``, a bare number (the header's unit)."""
    norm = fold_width(text)
    found = [a for a in find_amounts(norm) if a.form == "lowercase" and a.value > 0]
    if found:
        return float(found[0].value)
    value = parse_amount(_squeeze(norm))
    if value is None:
        m = re.search(r"\d[\d,]*(?:\.\d+)?", norm)
        value = parse_amount(m.group(0)) if m else None
    if value is None or value <= 0:
        return None
    if header_wan and not re.search(r"[元万]", norm):
        value *= 10000
    return float(value)


def parse_proof_page(text: str, data: _FormData | None = None) -> int | None:
    """The first page number in a 证明材料页码 cell (``P21``, ``第21页``, ``21-22``, OCR ``2l``)."""
    data = data or load_form_data()
    s = fold_width(_key(text))
    if not s:
        return None
    # look-alikes count only next to a real digit (or as the whole short cell)
    fixed = []
    for i, ch in enumerate(s):
        near = (i > 0 and s[i - 1].isdigit()) or (i + 1 < len(s) and s[i + 1].isdigit())
        fixed.append(data.page_lookalikes.get(ch, ch) if near else ch)
    m = re.search(r"(?<!\d)\d{1,4}(?!\d)", "".join(fixed))
    if not m:
        return None
    n = int(m.group(0))
    return n if 1 <= n <= data.max_proof_page else None


# --------------------------------------------------------------------------- the 附表


@dataclass(frozen=True)
class TickRow:
    """One 附表 row as read: the canonical subdomain, whether it is ticked and its proof page."""

    name: str
    written: str
    """The 子域 cell as printed (OCR errors included)."""
    claimed: bool | None
    """``None`` when the 是否上云 cell holds something that cannot be read as yes or no."""
    page: int | None
    """The proof page written in 证明材料在申报书中的页码."""
    mark: str
    """The 是否上云 cell as read ('' when empty)."""
    proof_text: str
    form_page: int
    bbox: list[float]
    confidence: float
    how: str
    """How ``claimed`` was decided: mark, lookalike, checkbox, no, empty, page-only, undecided."""


@dataclass(frozen=True)
class TableReading:
    rows: tuple[TickRow, ...] = ()
    spend: FieldValue | None = None
    """The 3-star form's 年化投入 claim, in yuan."""
    spend_row: bool = False
    """The table has a 年化投入 row or a 是否上云/年化投入 header: the 3-star form (附件1)."""
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Columns:
    sub_tick: float
    """Boundary between the 子域 column and the 是否上云 column (a cell's centre decides)."""
    tick_page: float | None
    """Boundary between 是否上云 and the page column (None: no page header seen)."""
    header_top: float
    """Cells above this height (the lowest header cell's top) belong to the header or the title."""
    header_cells: frozenset[Cell]
    header_wan: bool
    header_spend: bool


_TOKEN = regex.compile(r"\d+|\p{Han}+|[A-Za-z]+|\S")
_PUNCT_ONLY = re.compile(r"^[.,'`·。、:;：；\"“”‘’_~]+$")


def _header(cells: Sequence[Cell], data: _FormData) -> _Columns | None:
    """The 附表's columns from its header cells (是否上云 …; else 子域 + 证明材料…页码)."""
    tab = data.table
    ticks = [c for c in cells if tab["header_tick"].search(c.key)]
    if ticks:
        tick = min(ticks, key=lambda c: c.cy)
        y_lo, y_hi = tick.bbox[1] - 2.5 * tick.h, tick.bbox[3] + 2.5 * tick.h
        band = [c for c in cells if y_lo <= c.cy <= y_hi]
        parts = [c for c in band if c is tick or (
            tab["header_tick_parts"].match(c.key)
            and c.bbox[0] >= tick.bbox[0] - 0.04 and c.bbox[2] <= tick.bbox[2] + 0.04)]
        t0, t1 = min(c.bbox[0] for c in parts), max(c.bbox[2] for c in parts)
    else:  # OCR lost the 是否上云 header: the column lies between 子域 and the page column
        subs = [c for c in cells if tab["header_subdomain"].match(c.key)]
        pages = [c for c in cells if tab["header_page"].search(c.key)]
        pairs = [(s, p) for s in subs for p in pages
                 if p.bbox[0] > s.bbox[2] and abs(p.cy - s.cy) < 2.5 * max(s.h, p.h)]
        if not pairs:
            return None
        sub, page = min(pairs, key=lambda sp: sp[0].cy)
        y_lo, y_hi = sub.bbox[1] - 2.5 * sub.h, sub.bbox[3] + 2.5 * sub.h
        band = [c for c in cells if y_lo <= c.cy <= y_hi]
        parts = []
        t0 = (sub.bbox[2] + page.bbox[0]) / 2
        t1 = page.bbox[0] - 0.01
    pages = [c for c in band if tab["header_page"].search(c.key) and c.bbox[0] > t0 and c not in parts]
    subs = [c for c in band if tab["header_subdomain"].match(c.key) and c.bbox[2] <= t0]
    left = max(subs, key=lambda c: c.bbox[2]).bbox[2] if subs else t0 - 0.04
    header_cells = parts + pages + subs + [
        c for c in band if c.bbox[2] <= t0 and len(c.key) <= 3 and re.fullmatch(r"[类子域]+", c.key)]
    text = "".join(c.key for c in sorted(parts, key=lambda c: (c.cy, c.bbox[0])))
    return _Columns(
        sub_tick=(left + t0) / 2,
        tick_page=(t1 + min(c.bbox[0] for c in pages)) / 2 if pages else None,
        header_top=max(c.bbox[1] for c in header_cells),
        header_cells=frozenset(header_cells),
        header_wan="万元" in text,
        header_spend="投入" in text,
    )


def _shift(cell: Cell, box: tuple) -> tuple | None:
    """The shown box of a piece cut from ``cell`` (its x range, the cell's shown height)."""
    if cell.shown is None:
        return None
    return (box[0], cell.shown[1], box[2], cell.shown[3])


def _split_across(cells: Sequence[Cell], bounds: Sequence[float]) -> list[Cell]:
    """Cells that straddle a column boundary cut into tokens (``数据库√`` → 数据库, √)."""
    out: list[Cell] = []
    for c in cells:
        if not any(c.bbox[0] + 0.005 < b < c.bbox[2] - 0.005 for b in bounds):
            out.append(c)
            continue
        spans = [(m.start(), m.end()) for m in _TOKEN.finditer(c.text)]
        if len(spans) <= 1:
            out.append(c)
            continue
        # tokens on the same side of every boundary stay together (with their own spacing)
        groups: list[tuple[int, list[tuple[tuple[int, int], tuple]]]] = []
        for span, (_, box) in zip(spans, _pieces(c.text, c.bbox, spans)):
            side = sum((box[0] + box[2]) / 2 > b for b in bounds)
            if groups and groups[-1][0] == side:
                groups[-1][1].append((span, box))
            else:
                groups.append((side, [(span, box)]))
        for _, toks in groups:
            text = c.text[toks[0][0][0] : toks[-1][0][1]].strip()
            if text:
                box = (toks[0][1][0], c.bbox[1], toks[-1][1][2], c.bbox[3])
                out.append(Cell(c.page, text, box, c.confidence, _shift(c, box)))
    return out


def _classify_mark(text: str, data: _FormData) -> tuple[bool | None, str]:
    """What a 是否上云 cell says on its own: (True/False/None, kind)."""
    t = data.ticks
    k = _key(text)
    if not k:
        return None, "empty"
    pairs = re.findall(r"([" + re.escape(data.checked + data.unchecked) + r"])\s*(是|否|已上云|未上云)", k)
    if pairs:
        yes = {w in ("是", "已上云") for box, w in pairs if box in data.checked}
        return (yes.pop(), "checkbox") if len(yes) == 1 else (None, "undecided")
    if k in t.true_marks:
        return True, "mark"
    if k in t.false_marks:
        return False, "no"
    if k in t.lookalikes:
        return True, "lookalike"
    if k in t.ambiguous:
        return None, "ambiguous"
    if k.startswith(("是", "已上云")) or any(ch in k for ch in "√✓✔☑✅"):
        return True, "mark"
    if k.startswith(("否", "未上云", "无")):
        return False, "no"
    return None, "unknown"


def _decide(mark: str, proof: int | None, source: str, data: _FormData) -> tuple[bool | None, float, str]:
    """Combine the tick cell and the page cell into (claimed, confidence factor, how)."""
    t = data.ticks
    claimed, kind = _classify_mark(mark, data)
    if kind in ("mark", "checkbox"):
        return claimed, 1.0, kind
    if kind == "lookalike":
        return True, t.lookalike_confidence, kind
    if kind == "no":
        return False, (0.7 if proof else 1.0), kind
    if kind == "empty":
        if proof is None:
            return False, 1.0, "empty"
        if t.page_implies_claimed:
            return True, t.inferred_confidence, "page-only"
        return None, t.inferred_confidence, "undecided"
    if kind == "ambiguous":
        if source == "ocr":
            return (True, t.inferred_confidence, "page-only") if proof else (None, 0.5, "undecided")
        return (None, 0.5, "undecided") if proof else (False, 0.8, "no")
    # unknown marks, undecided checkboxes
    if proof is not None and kind == "unknown":
        return True, t.inferred_confidence, "page-only"
    return None, 0.5, "undecided"


_REQUIREMENT_AMOUNT = r"\s*[\d.,]+\s*[万千]?元"


def _missing_rows(picked: Sequence[Cell], names: dict[int, str], tax: Taxonomy) -> list[tuple[Cell, str]]:
    """Rows whose 子域 cell OCR lost, between two rows that were read.

    The 附表's rows follow the guideline's fixed order (the taxonomy's). When the gap between two
    read rows is (k + 1) row pitches and exactly k names (k ≤ 2) come between them in that order,
    those rows are there: they get a cell of their own (empty text, confidence × 0.7) so that
    their 是否上云 and page cells are read rather than lost or given to a neighbour.
    """
    rows = sorted(picked, key=lambda c: c.cy)
    gaps = [b.cy - a.cy for a, b in zip(rows, rows[1:])]
    if len(gaps) < 3:
        return []
    pitch = statistics.median(gaps)
    order = {n: i for i, n in enumerate(tax.names)}
    out: list[tuple[Cell, str]] = []
    for a, b in zip(rows, rows[1:]):
        ia, ib = order[names[id(a)]], order[names[id(b)]]
        between = tax.names[ia + 1 : ib] if ib > ia else ()
        k = len(between)
        gap = b.cy - a.cy
        if not 1 <= k <= 2 or abs(gap - (k + 1) * pitch) > 0.3 * pitch:
            continue
        for j, name in enumerate(between, start=1):
            y = a.cy + gap * j / (k + 1)
            h = (a.h + b.h) / 2
            cell = Cell(a.page, "", (a.bbox[0], y - h / 2, max(a.bbox[2], b.bbox[2]), y + h / 2),
                        round(min(a.confidence, b.confidence) * 0.7, 4))
            out.append((cell, name))
    return out


def read_table(pages: Sequence[Page], taxonomy: Taxonomy | None = None,
               data: _FormData | None = None, cells: Sequence[list[Cell]] | None = None) -> TableReading:
    """The 附表's rows (every canonical subdomain the form lists) and the 3-star 年化投入 claim.

    ``cells`` are the pages' :func:`page_cells` when the caller has them already.
    """
    data = data or load_form_data()
    tax = taxonomy or load_taxonomy()
    tab = data.table
    cells_by_page = cells
    rows_out: list[TickRow] = []
    seen: set[str] = set()
    notes: list[str] = []
    spend: FieldValue | None = None
    spend_row = False
    cols: _Columns | None = None
    for index, page in enumerate(pages):
        cells = list(cells_by_page[index]) if cells_by_page is not None else page_cells(page)
        header = _header(cells, data)
        if header is None and cols is None:
            continue
        if header is not None:
            cols = header
            top = header.header_top
            spend_row |= header.header_spend
        else:
            assert cols is not None
            top = 0.0
        bounds = [cols.sub_tick] + ([cols.tick_page] if cols.tick_page is not None else [])
        skip = cols.header_cells if header is not None else frozenset()
        cells = [c for c in _split_across(cells, bounds) if c.cy > top and c not in skip]

        # rows: the rightmost cell of each visual row that names a subdomain, left of 是否上云
        named = [(c, tax.normalise_name(c.text)) for c in cells if c.cx < cols.sub_tick]
        named = [(c, n) for c, n in named if n]
        by_cell = {id(c): n for c, n in named}
        picked = [row[-1] for row in _rows([c for c, _ in named])]
        if picked:
            mx0 = statistics.median(c.bbox[0] for c in picked)
            mcx = statistics.median(c.cx for c in picked)
            picked = [c for c in picked if abs(c.bbox[0] - mx0) <= 0.06 or abs(c.cx - mcx) <= 0.06]
        if header is None and len(picked) < 3:
            cols = None  # the table ended on the previous page
            continue
        spend_cells = [c for c in cells if tab["spend_label"].search(c.key)
                       and not tab["header_tick"].search(c.key) and c.cx < cols.sub_tick]
        if spend_cells:
            spend_row = True
        inferred = _missing_rows(picked, by_cell, tax)
        for c, name in inferred:
            by_cell[id(c)] = name
            notes.append(f"附表 {name}: its 子域 cell was not read; placed by the 附表's row order")
        picked = sorted(picked + [c for c, _ in inferred], key=lambda c: c.cy)
        anchors: list[tuple[float, Cell | None, Cell]] = [(c.cy, c, c) for c in picked]
        anchors += [(c.cy, None, c) for c in spend_cells]
        anchors.sort(key=lambda a: a[0])
        ys = [a[0] for a in anchors]
        gaps = [b - a for a, b in zip(ys, ys[1:]) if b - a > 0.004]
        pitch = statistics.median(gaps) if gaps else 0.03
        used = {id(c) for c in picked} | {id(c) for c in spend_cells}
        marks: dict[int, list[Cell]] = {i: [] for i in range(len(anchors))}
        for c in cells:
            if id(c) in used or id(c) in by_cell or c.cx < cols.sub_tick:
                continue
            if _PUNCT_ONLY.match(c.key) or c.h > 1.5 * pitch:
                continue  # specks; a seal's legend spans rows
            y = c.cy
            i = min(range(len(anchors)), key=lambda j: abs(anchors[j][0] - y), default=None)
            if i is None or abs(anchors[i][0] - y) > max(0.6 * pitch, 0.6 * anchors[i][2].h):
                continue
            marks[i].append(c)

        for i, (_, name_cell, label_cell) in enumerate(anchors):
            found = marks[i]
            if name_cell is None:  # the 年化投入 row
                rest = _label_prefix(label_cell, ["年化投入"])
                texts = [rest[1]] if rest and rest[1] else []
                texts += [c.text for c in sorted(found, key=lambda c: c.bbox[0])]
                # the requirement printed beside the label (不低于1万元) is not the claim
                row_text = " ".join(texts)
                row_text = re.sub(f"(?:{tab['spend_requirement'].pattern}){_REQUIREMENT_AMOUNT}", " ",
                                  fold_width(row_text))
                row_text = _strip_placeholders(row_text, data)
                value = parse_spend_yuan(row_text, cols.header_wan) if row_text.strip() else None
                if value is not None and spend is None:
                    spend = _fv(value, [label_cell, *found], raw=" ".join([label_cell.text, *texts]))
                continue
            name = by_cell[id(name_cell)]
            if name in seen:
                notes.append(f"附表: {name} listed twice (page {page.number}); the first is kept")
                continue
            seen.add(name)
            if cols.tick_page is not None:
                tick_cells = [c for c in found if c.cx < cols.tick_page]
                page_cells_ = [c for c in found if c.cx >= cols.tick_page]
            else:  # no page header: digits are the page, the rest is the mark
                tick_cells = [c for c in found if not re.fullmatch(r"\d+", c.key)]
                page_cells_ = [c for c in found if re.fullmatch(r"\d+", c.key)]
            mark = "".join(c.text for c in sorted(tick_cells, key=lambda c: c.bbox[0]))
            proof_text = "".join(c.text for c in sorted(page_cells_, key=lambda c: c.bbox[0]))
            proof = parse_proof_page(proof_text, data) if proof_text else None
            claimed, factor, how = _decide(mark, proof, page.source, data)
            row_cells = [name_cell, *found]
            rows_out.append(TickRow(
                name=name, written=name_cell.text, claimed=claimed, page=proof, mark=mark,
                proof_text=proof_text, form_page=page.number, bbox=_union(row_cells),
                confidence=round(min(c.confidence for c in row_cells) * factor, 4), how=how,
            ))
            if how in ("page-only", "undecided"):
                notes.append(f"附表 {name}: 是否上云 {mark!r}, page {proof_text!r} → {claimed} ({how})")
    return TableReading(tuple(rows_out), spend, spend_row, tuple(notes))


# --------------------------------------------------------------------------- the fields


def _first(values: Iterable[_Raw], parse) -> tuple[Any, _Raw] | None:  # noqa: ANN001
    for raw in values:
        value = parse(raw)
        if value is not None:
            return value, raw
    return None


_MAX_NAME = 60
"""A company name or an industry longer than this is a paragraph read by mistake: refused."""


def _company_name(text: str) -> str | None:
    s = _squeeze(text)
    return s if len(regex.findall(r"\p{Han}", s)) >= 2 and len(s) <= _MAX_NAME else None


def _industry(text: str) -> str | None:
    s = _squeeze(text).strip("。.;；,，")
    return s if len(regex.findall(r"\p{Han}", s)) >= 2 and len(s) <= _MAX_NAME else None


def _version(pages: Sequence[Page], data: _FormData) -> tuple[frozenset[int], Line, int] | None:
    """The star levels the form version is for (适用于三星级 → {3}), with its line and page."""
    for page in pages:
        for line in page.lines:
            m = data.version.search(fold_width(line.text))
            if m:
                stars = {v for ch, v in (("三", 3), ("四", 4), ("五", 5), ("3", 3), ("4", 4), ("5", 5))
                         if ch in m.group("stars")}
                if stars:
                    return frozenset(stars), line, page.number
    return None


def _line_fv(value: Any, line: Line, page: int, factor: float = 1.0) -> FieldValue:
    return FieldValue(value, page, list(line.bbox), round(line.confidence * factor, 4), line.text)


def _cross_checked(main: tuple[Any, _Raw] | None, other: tuple[Any, _Raw] | None,
                   same) -> tuple[Any, _Raw, float, str | None] | None:  # noqa: ANN001
    """One value from two printings of it: agreeing → sure; else the likelier one, less sure."""
    if main is None and other is None:
        return None
    if main is None or other is None:
        value, raw = main or other  # type: ignore[misc]
        return value, raw, (1.0 if main else 0.9), None
    if main[0] == other[0]:
        return main[0], main[1], 1.0, None
    sim = same(main[0], other[0])
    conf_main = min(c.confidence for c in main[1].cells)
    conf_other = min(c.confidence for c in other[1].cells)
    if sim >= 0.8 and conf_other > conf_main:
        return other[0], other[1], 0.85, f"{main[0]!r} vs {other[0]!r}: the clearer print is kept"
    return main[0], main[1], (0.85 if sim >= 0.8 else 0.6), f"{main[0]!r} vs {other[0]!r}"


def extract(pages: list[Page], ctx: ExtractionContext) -> DocumentFacts:
    """Facts of an application form: applicant, star sought, deployment, partners, dates, 附表."""
    data = load_form_data()
    facts = DocumentFacts()
    cells = [page_cells(p) for p in pages]
    lps = [_labelled_page(p, data, c) for p, c in zip(pages, cells)]

    def put(name: str, picked: tuple[Any, _Raw] | None, factor: float = 1.0) -> None:
        if picked is not None:
            value, raw = picked
            facts.fields[name] = _fv(value, raw.cells, factor, raw.text)

    # company: 中文名称, cross-checked with the cover's 申报企业
    main = _first(_raw_values(lps, "company", data), lambda r: _company_name(r.text))
    cover = _first(_raw_values(lps, "cover_company", data), lambda r: _company_name(r.text))
    got = _cross_checked(main, cover, match_party)
    if got:
        value, raw, factor, note = got
        facts.fields["company"] = _fv(value, raw.cells, factor, raw.text)
        if note:
            facts.notes.append(f"company: 中文名称 ≠ 申报企业: {note}")

    # unified social credit code, with its check character (one OCR confusion repaired)
    def code(raw: _Raw) -> Any:
        found = uscc_mod.find_codes("统一社会信用代码：" + fold_width(raw.text))
        return found[0][0] if found else None

    picked = _first(_raw_values(lps, "uscc", data), code)
    if picked:
        c, raw = picked
        factor = 1.0 if c.valid and not c.repaired_from else (0.9 if c.valid else 0.6)
        facts.fields["uscc"] = _fv(c.code, raw.cells, factor, raw.text)
        if c.repaired_from:
            facts.notes.append(f"uscc: read {c.repaired_from}, repaired to {c.code}")
        elif c.valid is False:
            facts.notes.append(f"uscc: {c.code} fails its check character")

    put("registered_capital_yuan",
        _first(_raw_values(lps, "registered_capital", data), lambda r: parse_capital_yuan(r.text, r.label)))

    # legal representative: 法人代表姓名, cross-checked with the 法人代表（签字） line
    rep = _first(_raw_values(lps, "legal_rep", data), lambda r: parse_person(r.text))
    sig = _first(_raw_values(lps, "signature", data), lambda r: parse_person(r.text))
    got = _cross_checked(rep, sig, lambda a, b: fuzz.ratio(a, b) / 100)
    if got:
        value, raw, factor, note = got
        facts.fields["legal_rep"] = _fv(value, raw.cells, factor, raw.text)
        if note:
            facts.notes.append(f"legal_rep: 姓名 ≠ 签字: {note}")

    table = read_table(pages, data=data, cells=cells)
    facts.notes.extend(table.notes)

    # star sought: 申请评定星级, else the form version (附件1 is for 3 stars only)
    version = _version(pages, data)
    star = _first(_raw_values(lps, "star", data), lambda r: parse_star(r.text, data))
    if star is not None:
        ok = version is None or star[0] in version[0]
        put("star_sought", star, 1.0 if ok else 0.7)
        if not ok:
            facts.notes.append(f"star_sought {star[0]} but the form is for {sorted(version[0])} stars")  # type: ignore[index]
    elif version is not None and len(version[0]) == 1:
        facts.fields["star_sought"] = _line_fv(next(iter(version[0])), version[1], version[2])
    elif version is None and table.spend_row and table.spend is not None:
        facts.fields["star_sought"] = FieldValue(3, table.spend.page, table.spend.bbox,
                                                 round(table.spend.confidence * 0.7, 4), table.spend.raw)
        facts.notes.append("star_sought 3 from the 附表's 年化投入 row (附件1); no title read")

    dep = _first(_raw_values(lps, "deployment", data),
                 lambda r: (lambda v: v if v[0] else None)(parse_deployment(r.text, data)))
    if dep:
        (value, factor), raw = dep
        facts.fields["deployment"] = _fv(value, raw.cells, factor, raw.text)

    def partners(raw: _Raw) -> Any:
        names = split_partners(raw.text, data)
        return names if names and all(len(n) <= _MAX_NAME for n in names) else None

    picked = _first(_raw_values(lps, "partners", data), partners)
    if picked:
        names, raw = picked
        out, repaired = [], False
        for n in names:
            fixed, changed = _repair_partner(n, data)
            out.append(fixed)
            if changed:
                repaired = True
                facts.notes.append(f"partners: {n!r} read as {fixed!r}")
        facts.fields["partners"] = _fv(out, raw.cells, 0.9 if repaired else 1.0, raw.text)

    put("start_date", _first(_raw_values(lps, "start_date", data), lambda r: parse_year_month(r.text)))
    put("industry", _first(_raw_values(lps, "industry", data),
                           lambda r: _industry(r.text)))

    # 填报日期 on the cover, cross-checked with the date under the seal line
    def day(raw: _Raw) -> Any:
        found = find_dates(raw.text)
        return found[0].value.isoformat() if found else None

    filled = _first(_raw_values(lps, "date", data), day)
    signed = _signed_date(lps, data)
    got = _cross_checked(filled, signed, lambda a, b: 1.0 if a == b else 0.0)
    if got:
        value, raw, factor, note = got
        facts.fields["date"] = _fv(value, raw.cells, factor, raw.text)
        if note:
            facts.notes.append(f"date: 填报日期 ≠ signed date: {note}")

    if table.spend is not None:
        facts.fields["claimed_spend_yuan"] = table.spend
    if table.rows:
        first_page = table.rows[0].form_page
        on_first = [r for r in table.rows if r.form_page == first_page]
        claimed = [r for r in table.rows if r.claimed]
        facts.fields["ticks"] = FieldValue(
            value={r.name: {"claimed": r.claimed, "page": r.page} for r in table.rows},
            page=first_page,
            bbox=clamp_bbox((min(r.bbox[0] for r in on_first), min(r.bbox[1] for r in on_first),
                             max(r.bbox[2] for r in on_first), max(r.bbox[3] for r in on_first))),
            confidence=min(r.confidence for r in table.rows),
            raw="; ".join(f"{r.written} {r.mark} {r.proof_text}".strip() for r in claimed) or None,
        )
    return facts


def _signed_date(lps: Sequence[_LabelledPage], data: _FormData) -> tuple[str, _Raw] | None:
    """The date written under 法人代表（签字）/ 申报单位（公章） on the basic-information page."""
    for lp in lps:
        sig = [c for c, name in lp.labels if name == "signature"]
        if not sig:
            continue
        below = [c for c in lp.cells if c.cy > sig[0].bbox[1]]
        for row in _rows(below):
            for c in row:
                found = find_dates(c.text)
                if found:
                    return found[-1].value.isoformat(), _Raw(c.text, (c,), "signature")
    return None
