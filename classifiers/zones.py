"""Where on a document's pages subdomain evidence counts, decided from line geometry.

The mapper (classifiers/subdomains.py) finds terms in lines; this module says which lines may
give evidence and how:

* **screenshots** — the console's top bar and navigation sidebar list products that are *not* in
  use (云灾备, 安全组 … in an ECS console's menu): they are ``chrome`` and give nothing. The
  sidebar's heading and the first rows of the main area (breadcrumb, page title) are ``title``;
  the rest (cards, tables) is ``body``. Cells under a provenance column (来源系统) are ``skip``.
* **contracts and invoices** — only what they sell: the product table (header row → 合计) and
  invoice item lines are ``item``; clauses (保密, 数据安全 …) are ``skip``. Without a table or item
  line, every line but clause headings counts.
* everything else — ``body``.

It also pairs table cells that wrap onto the next line (``*…*华为云Stack企业主机安`` / ``全HSS``)
so that the mapper can read them joined. All thresholds are fractions of the page, in
``layout:`` of taxonomy.yaml.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import regex

from classifiers.taxonomy import LayoutConfig, normalize
from pipeline.model import Line

Role = Literal["title", "body", "item", "chrome", "skip"]
COUNTING: frozenset[str] = frozenset({"title", "body", "item"})


@dataclass(frozen=True)
class PageZones:
    """Per line of one page: its role, and the (line, continuation) pairs of wrapped cells."""

    roles: tuple[Role, ...]
    wraps: tuple[tuple[int, int], ...] = ()


def _height(line: Line) -> float:
    return max(line.bbox[3] - line.bbox[1], 1e-6)


def _rows(lines: Sequence[Line], idx: Sequence[int]) -> list[list[int]]:
    """Group lines into visual rows: a line joins a row when its vertical centre lies inside the
    row's first line (cells of one table row, items of one menu bar)."""
    rows: list[list[int]] = []
    for i in sorted(idx, key=lambda k: (lines[k].bbox[1] + lines[k].bbox[3]) / 2):
        cy = (lines[i].bbox[1] + lines[i].bbox[3]) / 2
        for row in rows:
            a = lines[row[0]].bbox
            if a[1] <= cy <= a[3]:
                row.append(i)
                break
        else:
            rows.append([i])
    for row in rows:
        row.sort(key=lambda k: lines[k].bbox[0])
    return rows


def _chars(line: Line) -> int:
    return len(normalize(line.text).replace(" ", ""))


# --------------------------------------------------------------------------- screenshots


def screenshot_zones(lines: Sequence[Line], layout: LayoutConfig) -> PageZones:
    cfg = layout.screenshot
    n = len(lines)
    roles: list[Role] = ["body"] * n
    everything = list(range(n))
    for row in _rows(lines, everything):
        top = max(lines[i].bbox[3] for i in row) <= cfg.top_bar_max_y
        bottom = min(lines[i].bbox[1] for i in row) >= cfg.bottom_bar_min_y
        if (top and len(row) >= cfg.menu_row_min_items) or bottom:
            for i in row:
                roles[i] = "chrome"
    rest = [i for i in everything if roles[i] != "chrome"]
    sidebar = _sidebar(lines, rest, layout)
    if sidebar:
        heading = min(sidebar, key=lambda i: lines[i].bbox[1])
        for i in sidebar:
            roles[i] = "title" if i == heading else "chrome"
    main = [i for i in rest if i not in set(sidebar)]
    for row in _rows(lines, main)[: cfg.title_rows]:
        for i in row:
            roles[i] = "title"
    for i in _provenance_cells(lines, main, layout):
        roles[i] = "skip"
    return PageZones(tuple(roles))


def _sidebar(lines: Sequence[Line], idx: Sequence[int], layout: LayoutConfig) -> list[int]:
    """The navigation column hugging the left edge, or [] when there is none."""
    cfg = layout.screenshot
    if not idx:
        return []
    left = min(lines[i].bbox[0] for i in idx)
    if left > cfg.sidebar_max_width / 2:
        return []
    column = [i for i in idx if lines[i].bbox[0] <= left + cfg.sidebar_align_tol]
    if len(column) < cfg.sidebar_min_items:
        return []
    gutter = max(lines[i].bbox[2] for i in column)
    if gutter > cfg.sidebar_max_width:
        return []
    heading = min(column, key=lambda i: lines[i].bbox[1])
    if any(_chars(lines[i]) > cfg.sidebar_item_max_chars for i in column if i != heading):
        return []
    others = [i for i in idx if i not in set(column)]
    if not others or any(lines[i].bbox[0] < gutter + cfg.sidebar_gutter for i in others):
        return []  # something else starts inside the column: a table's first column, not a menu
    return column


def _provenance_cells(lines: Sequence[Line], idx: Sequence[int], layout: LayoutConfig) -> list[int]:
    """Cells below a provenance column header (来源系统), by the header's horizontal band."""
    words = {normalize(w) for w in layout.screenshot.provenance_headers}
    if not words:
        return []
    out: list[int] = []
    for row in _rows(lines, idx):
        for k, h in enumerate(row):
            if normalize(lines[h].text) not in words:
                continue
            hb = lines[h].bbox
            tol = _height(lines[h]) / 2
            x_end = lines[row[k + 1]].bbox[0] - tol / 2 if k + 1 < len(row) else 1.0
            out += [
                i for i in idx
                if i != h and lines[i].bbox[1] >= hb[3] - tol / 2
                and hb[0] - tol <= lines[i].bbox[0] < x_end
            ]
    return out


# --------------------------------------------------------------------------- contracts, invoices


def sale_zones(pages: Sequence[Sequence[Line]], layout: LayoutConfig) -> list[PageZones]:
    """Product tables and invoice items of a contract/invoice; clauses are skipped."""
    cfg = layout.sale
    headers = tuple(normalize(w) for w in cfg.table_header_words)
    end = regex.compile(cfg.table_end)
    item = regex.compile(cfg.item_line)
    clause = regex.compile(layout.clause_heading)
    found = False
    per_page: list[list[Role]] = []
    for lines in pages:
        roles: list[Role] = ["skip"] * len(lines)
        norm = [normalize(ln.text) for ln in lines]
        for h, text in enumerate(norm):
            if not any(w in text for w in headers):
                continue
            top = max(lines[h].bbox[3], *(
                lines[i].bbox[3] for i in range(len(lines))
                if _same_row(lines[i], lines[h])
            ))
            stop = 1.0
            for i, t in enumerate(norm):
                y = lines[i].bbox[1]
                if y > top - _height(lines[i]) / 2 and (end.search(t) or clause.search(t)):
                    stop = min(stop, y)
            for i in range(len(lines)):
                cy = (lines[i].bbox[1] + lines[i].bbox[3]) / 2
                if top <= cy < stop and i != h:
                    roles[i] = "item"
                    found = True
        for i, text in enumerate(norm):
            if item.search(text):
                roles[i] = "item"
                found = True
        per_page.append(roles)
    if not found:
        per_page = [
            ["skip" if clause.search(normalize(ln.text)) else "body" for ln in lines]
            for lines in pages
        ]
    return [PageZones(tuple(r), _wraps(lines, r)) for lines, r in zip(pages, per_page)]


def _same_row(a: Line, b: Line) -> bool:
    cy = (a.bbox[1] + a.bbox[3]) / 2
    return b.bbox[1] <= cy <= b.bbox[3]


def _wraps(lines: Sequence[Line], roles: Sequence[Role]) -> tuple[tuple[int, int], ...]:
    """(cell, continuation): the nearest counting line just below, starting at the same x."""
    pairs = []
    idx = [i for i, r in enumerate(roles) if r in COUNTING]
    for i in idx:
        a = lines[i].bbox
        h = _height(lines[i])
        below = [
            j for j in idx
            if j != i and abs(lines[j].bbox[0] - a[0]) <= h / 2
            and 0 < lines[j].bbox[1] - a[1] and lines[j].bbox[1] - a[3] < 0.6 * h
        ]
        if below:
            pairs.append((i, min(below, key=lambda j: lines[j].bbox[1])))
    return tuple(pairs)


# --------------------------------------------------------------------------- entry point


def document_zones(pages: Sequence[Sequence[Line]], kind: str, layout: LayoutConfig) -> list[PageZones]:
    """The roles of every line of a document's pages, by kind."""
    if kind == "screenshot":
        return [screenshot_zones(lines, layout) for lines in pages]
    if kind in layout.sale.kinds:
        return sale_zones(pages, layout)
    return [PageZones(tuple("body" for _ in lines)) for lines in pages]
