"""Character error rate (CER) of OCR output against ground-truth lines.

Definition (the one the OCR bench README uses):

* whitespace is removed and full-width forms are folded to half-width on both sides;
* each recognised line is aligned to its ground-truth line, so reading order does not count;
* CER = (edit operations over all aligned groups + unaligned characters) / ground-truth characters.

Alignment is done in three greedy steps:

1. one-to-one pairs, best normalised Levenshtein similarity first (similarity ≥ ``min_similarity``);
2. a recognised line left over (the detector split a truth line in two) joins the truth line whose
   error it lowers the most — e.g. ``壹万贰仟陆佰元整`` joins ``价税合计(大写)壹万贰仟陆佰元整``;
3. a truth line left over (the detector merged two table cells, or read a vertical label
   ``购/买/方`` as one line) joins the recognised line — matched or not — whose error it lowers
   the most.

A piece joins a group only when that lowers the page's total edit count (its own cost alone is
all its characters), so grouping never hides an error; it only stops one misread from being
counted twice.

Pieces inside a group are ordered by where they align in the longer string, so a split line costs
nothing when its pieces are read correctly.

Unrelated leftovers are never paired just because a substitution is cheaper than a deletion
plus an insertion: a misread that matches nothing (``√`` read as ``V``) costs both sides.

**Unmatched recognised text is not free**: a recognised line that joins no group — a seal
fragment, a hallucination, a duplicate — counts every one of its characters as an insertion.
An unmatched truth line counts every character as a deletion. CER can therefore exceed 1.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Sequence

from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein

_WS = re.compile(r"\s+")
# Full-width signs outside the FF01–FF5E block that have a half-width twin.
_EXTRA_FOLD = {0x3000: " ", 0xFFE0: "¢", 0xFFE1: "£", 0xFFE2: "¬", 0xFFE3: "¯", 0xFFE4: "¦", 0xFFE5: "¥", 0xFFE6: "₩"}


def normalize(text: str) -> str:
    """Remove whitespace and fold full-width ASCII/yen forms to half-width."""
    out = []
    for ch in text:
        code = ord(ch)
        if 0xFF01 <= code <= 0xFF5E:
            out.append(chr(code - 0xFEE0))
        elif code in _EXTRA_FOLD:
            out.append(_EXTRA_FOLD[code])
        else:
            out.append(ch)
    return _WS.sub("", "".join(out))


@dataclass(frozen=True)
class AlignedGroup:
    """Truth lines and recognised lines that were compared as one unit."""

    truth: tuple[str, ...]
    recognised: tuple[str, ...]
    errors: int


@dataclass(frozen=True)
class CerDetail:
    cer: float
    errors: int
    """Edit operations inside groups plus unmatched characters on both sides."""
    truth_chars: int
    groups: tuple[AlignedGroup, ...] = field(default=())
    unmatched_truth: tuple[str, ...] = field(default=())
    unmatched_recognised: tuple[str, ...] = field(default=())

    @property
    def inserted_chars(self) -> int:
        """Characters of recognised lines that matched no truth line (counted as errors)."""
        return sum(len(t) for t in self.unmatched_recognised)

    @property
    def deleted_chars(self) -> int:
        return sum(len(t) for t in self.unmatched_truth)


MIN_PART_SIMILARITY = 60.0
"""How well (rapidfuzz partial ratio, 0–100) a piece must occur inside its host to join it."""


class _Group:
    """Working group during alignment. One side holds one piece, the other may hold several;
    the pieces of a side are ordered by where they align inside the other side's text."""

    def __init__(self, truth: list[str], rec: list[str]) -> None:
        self.truth = truth
        self.rec = rec

    def text(self, side: str) -> str:
        pieces, other = (self.truth, self.rec) if side == "truth" else (self.rec, self.truth)
        if len(pieces) < 2:
            return "".join(pieces)
        host = "".join(other)
        return "".join(sorted(pieces, key=lambda p: _position(p, host)))

    def errors(self) -> int:
        return Levenshtein.distance(self.text("truth"), self.text("rec"))


def _position(piece: str, host: str) -> float:
    """Where ``piece`` best aligns inside ``host`` (for ordering split pieces)."""
    if not piece or not host:
        return 0.0
    al = fuzz.partial_ratio_alignment(piece, host)
    if al is None:
        return 0.0
    # partial_ratio_alignment swaps the roles when piece is the longer string.
    return float(al.dest_start if len(piece) <= len(host) else al.src_start)


def _attach(leftovers: list[str], groups: list[_Group], side: str, allow_equal: bool) -> list[str]:
    """Join each leftover piece to the group where it lowers the total error most.

    A piece is a *part* of its host — shorter than the host's text on the other side (or as
    long, with ``allow_equal``) — so a whole line never swallows another whole line. The gain
    counts the piece's own cost when left alone (all its characters), so a piece joins a group
    only when that makes the page's total edit count smaller.
    """
    host_side = "rec" if side == "truth" else "truth"
    remaining = []
    for piece in sorted(leftovers, key=len, reverse=True):
        best_gain, best = 0, None
        for g in groups:
            host_len = len(g.text(host_side))
            if len(piece) > host_len or (len(piece) == host_len and not allow_equal):
                continue
            if fuzz.partial_ratio(piece, g.text(host_side)) < MIN_PART_SIMILARITY:
                continue
            pieces = g.truth if side == "truth" else g.rec
            before = g.errors() + len(piece)
            pieces.append(piece)
            gain = before - g.errors()
            pieces.pop()
            if gain > best_gain:
                best_gain, best = gain, g
        if best is None:
            remaining.append(piece)
        else:
            (best.truth if side == "truth" else best.rec).append(piece)
    return remaining


def cer_detail(
    truth_lines: Sequence[str], recognised_lines: Sequence[str], min_similarity: float = 0.5
) -> CerDetail:
    """CER with its alignment: which lines were compared and what was left unmatched."""
    truth = [t for t in (normalize(x) for x in truth_lines) if t]
    rec = [r for r in (normalize(x) for x in recognised_lines) if r]
    total = sum(len(t) for t in truth)

    pairs = []
    for i, t in enumerate(truth):
        for j, r in enumerate(rec):
            sim = Levenshtein.normalized_similarity(t, r)
            if sim >= min_similarity:
                pairs.append((sim, -abs(len(t) - len(r)), i, j))
    pairs.sort(reverse=True)
    used_t: set[int] = set()
    used_r: set[int] = set()
    groups: list[_Group] = []
    for _, _, i, j in pairs:
        if i in used_t or j in used_r:
            continue
        used_t.add(i)
        used_r.add(j)
        groups.append(_Group([truth[i]], [rec[j]]))

    left_rec = [r for j, r in enumerate(rec) if j not in used_r]
    left_truth = [t for i, t in enumerate(truth) if i not in used_t]
    # Truth lines nobody matched yet become empty-handed groups, so split pieces can find them.
    groups.extend(_Group([t], []) for t in left_truth)
    left_rec = _attach(left_rec, groups, side="rec", allow_equal=False)

    # Truth lines still without any recognised text may belong to a merged recognised line —
    # matched or not (two table cells read as one line match neither cell on their own).
    orphans = [g.text("truth") for g in groups if not g.rec]
    groups = [g for g in groups if g.rec]
    groups.extend(_Group([], [r]) for r in left_rec)
    left_truth = _attach(orphans, groups, side="truth", allow_equal=True)
    left_rec = [g.text("rec") for g in groups if not g.truth]
    groups = [g for g in groups if g.truth]

    errors = sum(g.errors() for g in groups)
    errors += sum(len(t) for t in left_truth) + sum(len(r) for r in left_rec)
    frozen = tuple(
        AlignedGroup(
            truth=tuple(g.truth),
            recognised=tuple(g.rec),
            errors=g.errors(),
        )
        for g in groups
    )
    return CerDetail(
        cer=errors / total if total else (0.0 if not rec else float(errors)),
        errors=errors,
        truth_chars=total,
        groups=frozen,
        unmatched_truth=tuple(left_truth),
        unmatched_recognised=tuple(left_rec),
    )


def cer(truth_lines: Sequence[str], recognised_lines: Sequence[str]) -> float:
    """Character error rate of recognised lines against truth lines (see module docstring)."""
    return cer_detail(truth_lines, recognised_lines).cer


def key_hits(keys: Sequence[str], recognised_lines: Sequence[str]) -> list[bool]:
    """Whether each key string appears exactly (after normalisation) in the recognised text.

    A key counts when it lies inside one recognised line or inside the lines joined in the
    order given (a detector may split ``¥12600.00`` from its label).
    """
    lines = [normalize(x) for x in recognised_lines]
    joined = "".join(lines)
    out = []
    for k in keys:
        nk = normalize(k)
        out.append(any(nk in line for line in lines) or nk in joined)
    return out
