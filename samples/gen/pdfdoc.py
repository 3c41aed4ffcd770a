"""A recording PDF canvas: draws with reportlab and remembers every text line and seal.

Coordinates are millimetres from the page's top-left corner. Each drawn string is one printed
line of ``page_text`` (in drawing order, which callers keep in reading order); seals are placed
as RGBA images and their boxes recorded as page fractions. The same records serve the
text-PDF rendering and, after rasterisation, the scanned and photographed renderings.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import numpy as np
import segno
from PIL import Image
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen.canvas import Canvas

from .fonts import PDF_FONT, register_pdf_fonts, string_width
from .seals import SealSpec, render_seal

PT_PER_MM = 72 / 25.4
A4 = (210.0, 297.0)
A4_LANDSCAPE = (297.0, 210.0)
_NO_LINE_START = set("，。、；：？！）」』”’》〉】%％,.;:)")


@dataclass(frozen=True)
class Cell:
    """A table cell spanning ``colspan`` columns (vertical merges use ``None`` below it)."""

    text: str
    colspan: int = 1
    align: str | None = None
    bold: bool = False


@dataclass
class SealRecord:
    spec: SealSpec
    page: int
    bbox: tuple[float, float, float, float]  # fractions of the page, origin top-left


@dataclass
class PageRecord:
    width_mm: float
    height_mm: float
    lines: list[str] = field(default_factory=list)
    line_boxes: list[tuple[float, float, float, float]] = field(default_factory=list)


@dataclass
class RenderedPdf:
    data: bytes
    pages: list[PageRecord]
    seals: list[SealRecord]

    @property
    def page_text(self) -> list[list[str]]:
        return [list(p.lines) for p in self.pages]


def wrap(text: str, width_mm: float, size: float) -> list[str]:
    """Greedy wrap for CJK text: breaks anywhere except inside ASCII words and before
    closing punctuation (simple 禁则)."""
    tokens: list[str] = []
    buf = ""
    for ch in text:
        if ch.isascii() and (ch.isalnum() or ch in "._-/@:%"):
            buf += ch
            continue
        if buf:
            tokens.append(buf)
            buf = ""
        tokens.append(ch)
    if buf:
        tokens.append(buf)
    limit = width_mm * PT_PER_MM
    # an ASCII run wider than the line (URLs, e-mail addresses) is broken by characters
    split: list[str] = []
    for tok in tokens:
        if len(tok) > 1 and string_width(tok, size) > limit:
            split.extend(tok)
        else:
            split.append(tok)
    tokens = split
    lines: list[str] = []
    cur = ""
    for tok in tokens:
        if tok == "\n":
            lines.append(cur)
            cur = ""
            continue
        cand = cur + tok
        if cur and string_width(cand, size) > limit and tok not in _NO_LINE_START:
            lines.append(cur.rstrip())
            cur = tok.lstrip()
        else:
            cur = cand
    if cur:
        lines.append(cur.rstrip())
    return [ln for ln in lines if ln.strip()]


class DocCanvas:
    """reportlab canvas with top-left millimetre coordinates and text/seal recording."""

    def __init__(self, size_mm: tuple[float, float] = A4, title: str = "", margin_mm: float = 20.0,
                 seed: int = 0) -> None:
        register_pdf_fonts()
        self.w, self.h = size_mm
        self.margin = margin_mm
        self._buf = io.BytesIO()
        self.c = Canvas(self._buf, pagesize=(self.w * PT_PER_MM, self.h * PT_PER_MM),
                        invariant=1, pageCompression=1)
        self.c.setTitle(title)
        self.c.setAuthor("")
        self.c.setCreator("")
        self.c.setProducer("")
        self.pages: list[PageRecord] = [PageRecord(self.w, self.h)]
        self.seals: list[SealRecord] = []
        self.rng = np.random.default_rng(seed)
        self.y = margin_mm  # flow cursor
        self.paginate = True  # False for fixed one-page forms (invoices)

    # ------------------------------------------------------------------ basics
    @property
    def page_no(self) -> int:
        return len(self.pages)

    def _pt(self, x: float, y: float) -> tuple[float, float]:
        return x * PT_PER_MM, (self.h - y) * PT_PER_MM

    def new_page(self) -> None:
        self.c.showPage()
        self.pages.append(PageRecord(self.w, self.h))
        self.y = self.margin

    def ensure(self, needed_mm: float) -> None:
        """Start a new page when ``needed_mm`` does not fit above the bottom margin."""
        if self.paginate and self.y + needed_mm > self.h - self.margin:
            self.new_page()

    def record(self, text: str, box_mm: tuple[float, float, float, float]) -> None:
        page = self.pages[-1]
        page.lines.append(text)
        x0, y0, x1, y1 = box_mm
        page.line_boxes.append((x0 / self.w, y0 / self.h, x1 / self.w, y1 / self.h))

    def text(self, x: float, y: float, s: str, size: float = 10.5, align: str = "left",
             bold: bool = False, color: tuple[float, float, float] = (0, 0, 0),
             record: bool = True, char_space: float = 0.0) -> tuple[float, float, float, float]:
        """Draw one line whose em box top is at ``y`` mm; returns its box in mm."""
        width_mm = (string_width(s, size) + char_space * max(len(s) - 1, 0)) / PT_PER_MM
        if align == "center":
            x -= width_mm / 2
        elif align == "right":
            x -= width_mm
        size_mm = size / PT_PER_MM
        self.c.saveState()  # text state (Tr, Tc) must not leak into later strings
        t = self.c.beginText()
        t.setFont(PDF_FONT, size)
        t.setFillColorRGB(*color)
        if char_space:
            t.setCharSpace(char_space)
        if bold:
            self.c.setStrokeColorRGB(*color)
            self.c.setLineWidth(size * 0.045)
        t.setTextRenderMode(2 if bold else 0)
        bx, by = self._pt(x, y + size_mm * 0.86)
        t.setTextOrigin(bx, by)
        t.textOut(s)
        self.c.drawText(t)
        self.c.restoreState()
        box = (x, y, x + width_mm, y + size_mm)
        if record and s.strip():
            self.record(s, box)
        return box

    def line(self, x0: float, y0: float, x1: float, y1: float, width: float = 0.6,
             color: tuple[float, float, float] = (0, 0, 0), dash: tuple[int, int] | None = None) -> None:
        self.c.setStrokeColorRGB(*color)
        self.c.setLineWidth(width)
        self.c.setDash(*dash) if dash else self.c.setDash()
        self.c.line(*self._pt(x0, y0), *self._pt(x1, y1))
        self.c.setDash()
        self.c.setStrokeColorRGB(0, 0, 0)

    def rect(self, x: float, y: float, w: float, h: float, width: float = 0.6,
             stroke: tuple[float, float, float] | None = (0, 0, 0),
             fill: tuple[float, float, float] | None = None) -> None:
        if stroke:
            self.c.setStrokeColorRGB(*stroke)
            self.c.setLineWidth(width)
        if fill:
            self.c.setFillColorRGB(*fill)
        px, py = self._pt(x, y + h)
        self.c.rect(px, py, w * PT_PER_MM, h * PT_PER_MM, stroke=1 if stroke else 0,
                    fill=1 if fill else 0)
        self.c.setFillColorRGB(0, 0, 0)
        self.c.setStrokeColorRGB(0, 0, 0)

    def image(self, img: Image.Image, x: float, y: float, w: float, h: float) -> None:
        px, py = self._pt(x, y + h)
        mask = "auto" if img.mode in ("RGBA", "LA") else None
        self.c.drawImage(ImageReader(img), px, py, w * PT_PER_MM, h * PT_PER_MM, mask=mask)

    def qr(self, data: str, x: float, y: float, size_mm: float) -> None:
        """A QR code drawn as vector squares (decodable at any rendering)."""
        q = segno.make(data, error="m", micro=False)
        matrix = [list(row) for row in q.matrix]
        n = len(matrix)
        quiet = 2
        cell = size_mm / (n + 2 * quiet)
        self.c.setFillColorRGB(0, 0, 0)
        for r, row in enumerate(matrix):
            for col, v in enumerate(row):
                if v:
                    px, py = self._pt(x + (col + quiet) * cell, y + (r + quiet + 1) * cell)
                    self.c.rect(px, py, cell * PT_PER_MM + 0.05, cell * PT_PER_MM + 0.05,
                                stroke=0, fill=1)

    def seal(self, spec: SealSpec, cx: float, cy: float, rotate_deg: float = 0.0,
             alpha: float = 0.82) -> SealRecord:
        """Stamp a seal centred at (cx, cy) mm; recorded with its box as page fractions."""
        img = render_seal(spec, self.rng, alpha=alpha, rotate_deg=rotate_deg)
        wmm, hmm = spec.size_mm
        x0, y0 = cx - wmm / 2, cy - hmm / 2
        self.image(img, x0, y0, wmm, hmm)
        rec = SealRecord(spec, self.page_no, (x0 / self.w, y0 / self.h, (x0 + wmm) / self.w,
                                              (y0 + hmm) / self.h))
        self.seals.append(rec)
        return rec

    # ------------------------------------------------------------------ flowing content
    def para(self, s: str, size: float = 10.5, leading: float = 1.7, indent_chars: int = 2,
             x: float | None = None, width: float | None = None, bold: bool = False,
             align: str = "left") -> None:
        """A wrapped paragraph at the flow cursor, breaking pages as needed."""
        x = self.margin if x is None else x
        width = (self.w - 2 * self.margin) if width is None else width
        lh = size / PT_PER_MM * leading
        first_indent = string_width("国" * indent_chars, size) / PT_PER_MM
        lines = wrap(s, width - first_indent, size)
        if len(lines) > 1:  # re-wrap the rest at full width
            rest = s[len(lines[0]):].lstrip() if s.startswith(lines[0]) else ""
            lines = [lines[0]] + (wrap(rest, width, size) if rest else lines[1:])
        for i, ln in enumerate(lines):
            self.ensure(lh)
            if align == "center":
                self.text(self.w / 2, self.y, ln, size=size, align="center", bold=bold)
            else:
                self.text(x + (first_indent if i == 0 else 0), self.y, ln, size=size, bold=bold)
            self.y += lh

    def gap(self, mm: float) -> None:
        self.y += mm

    def table(self, widths: list[float], rows: list[list[str | Cell | None]], size: float = 9.5,
              row_h: float = 8.0, x: float | None = None, aligns: list[str] | None = None,
              header_rows: int = 1, line_width: float = 0.6, repeat_header: bool = True,
              pad: float = 1.5) -> None:
        """A ruled table at the flow cursor. ``None`` continues the cell above (row span)."""
        x = self.margin if x is None else x
        aligns = aligns or ["center"] * len(widths)
        lh = size / PT_PER_MM * 1.35
        xs = [x]
        for w in widths:
            xs.append(xs[-1] + w)

        def cell_lines(cell: Cell, w: float) -> list[str]:
            out: list[str] = []
            for part in cell.text.split("\n"):
                out.extend(wrap(part, w - 2 * pad, size) or [""])
            return out

        # row heights from wrapped content (spans count on their first row)
        norm: list[list[Cell | None]] = [
            [Cell(c) if isinstance(c, str) else c for c in row] for row in rows
        ]
        heights = []
        for row in norm:
            hmax = row_h
            col = 0
            for cell in row:
                if cell is None:
                    col += 1
                    continue
                w = xs[col + cell.colspan] - xs[col]
                n = len(cell_lines(cell, w))
                hmax = max(hmax, n * lh + 2 * pad)
                col += cell.colspan
            heights.append(hmax)

        # row-span extents: a cell followed by None in the same column below spans those rows
        def span_rows(r: int, col_idx: int) -> int:
            k = 1
            while r + k < len(norm) and col_idx < len(norm[r + k]) and norm[r + k][col_idx] is None:
                k += 1
            return k

        header = norm[:header_rows]
        r = 0
        while r < len(norm):
            # keep row-spanned groups together on one page
            group = 1
            for ci, cell in enumerate(norm[r]):
                if cell is not None:
                    group = max(group, span_rows(r, ci))
            need = sum(heights[r:r + group])
            if self.paginate and self.y + need > self.h - self.margin and r > header_rows - 1:
                self.new_page()
                if repeat_header and header_rows and r >= header_rows:
                    saved = self.y
                    self._draw_rows(header, heights[:header_rows], xs, aligns, size, lh, pad,
                                    line_width, cell_lines, lambda rr, cc: 1)
                    self.y = saved + sum(heights[:header_rows])
            self._draw_rows(norm[r:r + group], heights[r:r + group], xs, aligns, size, lh, pad,
                            line_width, cell_lines,
                            lambda rr, cc, base=r: min(span_rows(base + rr, cc), group - rr))
            self.y += need
            r += group

    def _draw_rows(self, rows, heights, xs, aligns, size, lh, pad, line_width, cell_lines, spans):
        y = self.y
        tops = [y]
        for h in heights:
            tops.append(tops[-1] + h)
        for ri, row in enumerate(rows):
            col = 0
            ci = 0
            while col < len(xs) - 1 and ci < len(row):
                cell = row[ci]
                if cell is None:
                    col += 1
                    ci += 1
                    continue
                span_r = spans(ri, ci)
                x0, x1 = xs[col], xs[col + cell.colspan]
                y0, y1 = tops[ri], tops[ri + span_r]
                self.rect(x0, y0, x1 - x0, y1 - y0, width=line_width)
                lines = cell_lines(cell, x1 - x0)
                block = len(lines) * lh
                ty = y0 + (y1 - y0 - block) / 2 + (lh - size / PT_PER_MM) / 2
                align = cell.align or aligns[col]
                for ln in lines:
                    if align == "left":
                        tx = x0 + pad
                    elif align == "right":
                        tx = x1 - pad
                    else:
                        tx = (x0 + x1) / 2
                    self.text(tx, ty, ln, size=size, align=align, bold=cell.bold)
                    ty += lh
                col += cell.colspan
                ci += 1

    # ------------------------------------------------------------------ output
    def finish(self) -> RenderedPdf:
        self.c.showPage()
        self.c.save()
        return RenderedPdf(self._buf.getvalue(), self.pages, self.seals)
