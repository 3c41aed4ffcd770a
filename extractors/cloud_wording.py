"""Does a document literally say 云服务 or 云产品? (the guideline's wording test for contracts).

The guideline (附件 acceptance rule 3) asks for an explanation letter when a contract does not
"明确体现'云服务'、'云产品'等字样". We apply it literally, as the samples' truth does: the term
must be printed; 云服务器 *contains* 云服务 and therefore counts (a contract for 云服务器 is a cloud
product contract, so this is also the reading that matches the rule's intent). The exact printed
wording is reported (:attr:`CloudWording.found`), so a reviewer sees whether it was 云服务,
云服务器 or an OCR look-alike.

OCR tolerance is deliberately narrow: a three-character term with one *arbitrary* wrong
character would match ordinary words (云服装), so only the look-alikes listed in
``data/contract_fields.yaml`` may stand in, at most ``max_substitutions`` of them, and only on
OCR'd pages (a text layer has no misreads). Spaces and middle dots between the characters are
ignored, and a term broken across two lines of one paragraph (…云 / 服务…) is found too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import regex
import yaml

from extractors.layout import reading_order, sub_bbox
from extractors.textnorm import normalize_with_offsets
from pipeline.model import Line, Page, clamp_bbox

__all__ = ["CloudWording", "best_cloud_wording", "find_cloud_wording", "soft_wrapped", "text_block"]

_DATA_FILE = Path(__file__).with_name("data") / "contract_fields.yaml"
_AROUND = 3
"""Characters of context kept on each side of the term in :attr:`CloudWording.found`."""


@dataclass(frozen=True)
class CloudWording:
    """One occurrence of 云服务 / 云产品."""

    term: str
    """The canonical term (云服务 or 云产品)."""
    found: str
    """The printed wording with a little context (``云服务器ECS``, ``云服各`` …)."""
    page: int
    bbox: list[float]
    confidence: float
    line: str
    exact: bool
    """False when an OCR look-alike stood in for a character, or the term spans two lines."""


@dataclass(frozen=True)
class _Data:
    terms: tuple[str, ...]
    max_substitutions: int
    confusables: dict[str, str]
    join_wrapped: bool


@lru_cache(maxsize=1)
def _data() -> _Data:
    raw: dict[str, Any] = yaml.safe_load(_DATA_FILE.read_text(encoding="utf-8"))["cloud_wording"]
    return _Data(
        terms=tuple(str(t) for t in raw["terms"]),
        max_substitutions=int(raw.get("max_substitutions", 0)),
        confusables={str(k): str(v) for k, v in (raw.get("confusables") or {}).items()},
        join_wrapped=bool(raw.get("join_wrapped_lines", True)),
    )


@lru_cache(maxsize=8)
def _pattern(term: str, tolerant: bool) -> regex.Pattern[str]:
    conf = _data().confusables if tolerant else {}
    parts = [f"[{regex.escape(ch + conf.get(ch, ''))}]" for ch in term]
    return regex.compile("".join(parts))


def _substitutions(term: str, text: str) -> int:
    return sum(1 for a, b in zip(term, text) if a != b)


def _scan(norm: str, tolerant: bool) -> list[tuple[str, int, int, int]]:
    """(term, start, end, substitutions) for every acceptable occurrence in normalised text."""
    out = []
    data = _data()
    for term in data.terms:
        for m in _pattern(term, tolerant).finditer(norm, overlapped=True):
            subs = _substitutions(term, m.group())
            if subs <= (data.max_substitutions if tolerant else 0) and subs < len(term) - 1:
                out.append((term, m.start(), m.end(), subs))
    return out


_SENTENCE_END = tuple("。！？；：:;!?")


def text_block(page: Page) -> tuple[float, float]:
    """The left and right edges of a page's text block (paragraph lines, not a centred title)."""
    wide = [ln for ln in page.lines if ln.bbox[2] - ln.bbox[0] > 0.3]
    lines = wide or page.lines
    return min(ln.bbox[0] for ln in lines), max(ln.bbox[2] for ln in page.lines)


def soft_wrapped(page: Page, line: Line, nxt: Line, block: tuple[float, float] | None = None) -> bool:
    """``nxt`` continues ``line``'s paragraph: ``line`` runs (nearly) to the text block's right
    edge without ending its sentence, and ``nxt`` starts at the block's left edge just below
    (a new paragraph would be indented or follow a full stop)."""
    if not page.lines:
        return False
    left, right = block or text_block(page)
    h = max(line.bbox[3] - line.bbox[1], 1e-4)
    return (
        line.bbox[2] >= left + 0.8 * (right - left)
        and not line.text.rstrip().endswith(_SENTENCE_END)
        and nxt.bbox[0] <= left + 0.03
        and 0 <= nxt.bbox[1] - line.bbox[1] <= 2.2 * h
    )


def find_cloud_wording(pages: Sequence[Page]) -> list[CloudWording]:
    """Every occurrence of the wording terms, in reading order."""
    found: list[CloudWording] = []
    data = _data()
    for page in pages:
        tolerant = page.source == "ocr"
        lines = reading_order(page.lines)
        block = text_block(page) if page.lines else (0.0, 1.0)
        for i, line in enumerate(lines):
            norm, origin = normalize_with_offsets(line.text)
            for term, s, e, subs in _scan(norm, tolerant):
                a, b = origin[s], origin[e - 1] + 1
                found.append(
                    CloudWording(
                        term=term,
                        found=line.text[max(0, a - _AROUND) : b + _AROUND].strip(),
                        page=page.number,
                        bbox=sub_bbox(line, a, b),
                        confidence=line.confidence * (0.85 if subs else 1.0),
                        line=line.text,
                        exact=subs == 0,
                    )
                )
            if not data.join_wrapped or i + 1 >= len(lines):
                continue
            nxt = lines[i + 1]
            if not soft_wrapped(page, line, nxt, block):
                continue
            found.extend(_across(page, line, nxt, tolerant))
    return found


def _across(page: Page, line: Line, nxt: Line, tolerant: bool) -> list[CloudWording]:
    """Occurrences that start on ``line`` and end on ``nxt`` (a paragraph's soft wrap)."""
    tail, tail_origin = normalize_with_offsets(line.text)
    head, head_origin = normalize_with_offsets(nxt.text)
    k = max(len(t) for t in _data().terms) - 1
    tail, tail_origin = tail[-k:], tail_origin[-k:]
    head, head_origin = head[:k], head_origin[:k]
    joined = tail + head
    out = []
    for term, s, e, subs in _scan(joined, tolerant):
        if s >= len(tail) or e <= len(tail):
            continue  # wholly on one line: found by the per-line scan
        a = tail_origin[s]
        b = head_origin[e - len(tail) - 1] + 1
        box1 = sub_bbox(line, a, len(line.text))
        box2 = sub_bbox(nxt, 0, b)
        out.append(
            CloudWording(
                term=term,
                found=f"{line.text[a:].strip()}⏎{nxt.text[:b].strip()}",
                page=page.number,
                bbox=clamp_bbox((min(box1[0], box2[0]), box1[1], max(box1[2], box2[2]), box2[3])),
                confidence=min(line.confidence, nxt.confidence) * (0.85 if subs else 0.95),
                line=f"{line.text}\n{nxt.text}",
                exact=False,
            )
        )
    return out


def best_cloud_wording(pages: Sequence[Page]) -> CloudWording | None:
    """The surest occurrence (exact before look-alike, then by confidence, then first)."""
    hits = find_cloud_wording(pages)
    if not hits:
        return None
    return max(enumerate(hits), key=lambda ih: (ih[1].exact, ih[1].confidence, -ih[0]))[1]
