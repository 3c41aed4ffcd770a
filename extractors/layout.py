"""Find labelled values on located pages: ``名称：X`` on one line, or X right of / below the label.

Works the same on text-layer and OCR'd pages (both are :class:`~pipeline.model.Page`). Every
value comes back with the page, a box and a confidence, so a reviewer can click through to it.
A value's box is the part of its line that holds it: the words' boxes where the source gives
them, else the line's box cut in proportion to the characters (good enough to draw, as CJK text
is near mono-spaced).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import regex

from pipeline.model import Line, Page, clamp_bbox

Region = tuple[float, float, float, float]
"""A part of the page as fractions ``(x0, y0, x1, y1)``."""

SEPARATORS = " \t:：;；|丨"


class Boxed:
    """Centre and height of anything with a fractional ``bbox`` (cells, tokens, table atoms)."""

    bbox: tuple[float, float, float, float]

    @property
    def cx(self) -> float:
        return (self.bbox[0] + self.bbox[2]) / 2

    @property
    def cy(self) -> float:
        return (self.bbox[1] + self.bbox[3]) / 2

    @property
    def h(self) -> float:
        return max(self.bbox[3] - self.bbox[1], 1e-4)


@dataclass(frozen=True)
class Located:
    """A value found on a page, with where it came from."""

    value: str
    page: int
    bbox: list[float]
    confidence: float
    line: str
    """The whole line it was read from (for the reviewer and for debugging)."""


def fold(text: str) -> str:
    """NFKC (full-width → half-width) without whitespace: how labels and values are compared."""
    return "".join(ch for ch in unicodedata.normalize("NFKC", text) if not ch.isspace())


def _in_region(line: Line, region: Region | None) -> bool:
    if region is None:
        return True
    cx = (line.bbox[0] + line.bbox[2]) / 2
    cy = (line.bbox[1] + line.bbox[3]) / 2
    return region[0] <= cx <= region[2] and region[1] <= cy <= region[3]


def reading_order(lines: Iterable[Line]) -> list[Line]:
    """Top-to-bottom, then left-to-right within a row (lines whose centres share a band)."""
    ordered = sorted(lines, key=lambda ln: (ln.bbox[1] + ln.bbox[3]) / 2)
    rows: list[list[Line]] = []
    for line in ordered:
        cy = (line.bbox[1] + line.bbox[3]) / 2
        h = max(line.bbox[3] - line.bbox[1], 1e-4)
        if rows:
            last = rows[-1]
            ly = sum((ln.bbox[1] + ln.bbox[3]) / 2 for ln in last) / len(last)
            lh = max(max(ln.bbox[3] - ln.bbox[1] for ln in last), 1e-4)
            if abs(cy - ly) < 0.5 * min(h, lh):
                last.append(line)
                continue
        rows.append([line])
    return [ln for row in rows for ln in sorted(row, key=lambda ln: ln.bbox[0])]


def sub_bbox(line: Line, start: int, end: int) -> list[float]:
    """The box of ``line.text[start:end]``: from its words if they cover it, else by proportion."""
    text = line.text
    if not text or start <= 0 and end >= len(text):
        return list(line.bbox)
    if line.words:
        pos = 0
        boxes = []
        for word in line.words:
            i = text.find(word.text, pos)
            if i < 0:
                boxes = []
                break
            j = i + len(word.text)
            if j > start and i < end:
                boxes.append(word.bbox)
            pos = j
        if boxes:
            return clamp_bbox(
                (
                    min(b[0] for b in boxes),
                    min(b[1] for b in boxes),
                    max(b[2] for b in boxes),
                    max(b[3] for b in boxes),
                )
            )
    x0, y0, x1, y1 = line.bbox
    n = len(text)
    return clamp_bbox((x0 + (x1 - x0) * start / n, y0, x0 + (x1 - x0) * end / n, y1))


def _label_pattern(labels: Sequence[str]) -> regex.Pattern:
    """Labels with optional spaces between their characters (``名 称``) and a trailing separator."""
    alts = []
    for label in sorted(labels, key=len, reverse=True):
        chars = [regex.escape(ch) for ch in unicodedata.normalize("NFKC", label)]
        alts.append(r"\s*".join(chars))
    return regex.compile(rf"(?:{'|'.join(alts)})[\s:：]*")


def find_lines(pages: Sequence[Page], pattern: str | regex.Pattern, *, region: Region | None = None):
    """Yield ``(page, line, match)`` for every line matching ``pattern`` (NFKC-folded text)."""
    pat = regex.compile(pattern) if isinstance(pattern, str) else pattern
    for page in pages:
        for line in reading_order(page.lines):
            if not _in_region(line, region):
                continue
            m = pat.search(unicodedata.normalize("NFKC", line.text))
            if m:
                yield page, line, m


def label_value(
    pages: Sequence[Page],
    labels: Sequence[str],
    *,
    value: str | regex.Pattern | None = None,
    region: Region | None = None,
    look_right: bool = True,
    look_below: bool = True,
    max_gap: float = 0.05,
) -> Located | None:
    """The value that follows one of ``labels``.

    Looks, in order, at the rest of the label's line, the next line to its right on the same
    row, and the line just below it. ``value`` (a regex) must match the candidate when given;
    the match, not the whole text, is returned.
    """
    label_pat = _label_pattern(labels)
    value_pat = regex.compile(value) if isinstance(value, str) else value
    for page, line, m in find_lines(pages, label_pat, region=region):
        text = unicodedata.normalize("NFKC", line.text)
        rest_start = m.end()
        found = _take(text, rest_start, len(text), value_pat)
        if found:
            s, e = found
            return Located(text[s:e], page.number, sub_bbox(line, s, e), line.confidence, line.text)
        neighbours = []
        if look_right:
            neighbours.extend(_right_of(page, line, max_gap))
        if look_below:
            neighbours.extend(_below(page, line, max_gap))
        for other in neighbours:
            other_text = unicodedata.normalize("NFKC", other.text)
            found = _take(other_text, 0, len(other_text), value_pat)
            if found:
                s, e = found
                return Located(
                    other_text[s:e], page.number, sub_bbox(other, s, e), other.confidence, other.text
                )
    return None


def _take(text: str, start: int, end: int, value_pat: regex.Pattern | None) -> tuple[int, int] | None:
    while start < end and text[start] in SEPARATORS:
        start += 1
    while end > start and text[end - 1] in " \t":
        end -= 1
    if start >= end:
        return None
    if value_pat is None:
        return start, end
    m = value_pat.search(text, start, end)
    return (m.start(), m.end()) if m else None


def _right_of(page: Page, line: Line, max_gap: float) -> list[Line]:
    cy = (line.bbox[1] + line.bbox[3]) / 2
    h = line.bbox[3] - line.bbox[1]
    cands = [
        other
        for other in page.lines
        if other is not line
        and other.bbox[0] >= line.bbox[2] - 0.01
        and abs((other.bbox[1] + other.bbox[3]) / 2 - cy) < max(h, 0.005) * 0.7
    ]
    return sorted(cands, key=lambda o: o.bbox[0])[:1]


def _below(page: Page, line: Line, max_gap: float) -> list[Line]:
    cands = [
        other
        for other in page.lines
        if other is not line
        and other.bbox[1] >= line.bbox[1] + (line.bbox[3] - line.bbox[1]) * 0.6
        and other.bbox[1] - line.bbox[3] < max_gap
        and other.bbox[0] < line.bbox[2] + 0.02
        and other.bbox[2] > line.bbox[0] - 0.02
    ]
    return sorted(cands, key=lambda o: o.bbox[1])[:1]


def full_text(pages: Sequence[Page]) -> str:
    return "\n".join(line.text for page in pages for line in reading_order(page.lines))
