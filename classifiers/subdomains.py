"""Map located text (contract lines, invoice items, screenshot labels, letters) to 附表 subdomains.

For every line of a page, every evidence term of the taxonomy is looked for, tolerating OCR errors
by the term's length (``matching:`` in taxonomy.yaml):

* ≤ 2 characters, and Latin-only codes ≤ 4 (ECS, OSS, WAF): exact only. Latin letters at a term's
  edge must sit at a token boundary, so ``ECS`` is not found inside ``SECS``.
* 3–6 characters: exact, or one substituted character that is an OCR look-alike of the expected
  one (数据厍 → 数据库), or — when the term names ``context_any`` words and one is near — any one
  substitution. Not rapidfuzz: one wrong character caps ``partial_ratio`` at 67–83 on these
  lengths, exactly what real, different words score (数据表 vs 数据库, 数据库设计 vs 数据库审计).
* ≥ 7 characters: rapidfuzz ``partial_ratio`` ≥ 85 (one edit up to 13 characters, two from 14).

A longer term found around a shorter one wins (数据库审计 hides 数据库), context rules apply
(钉钉 counts for 客户服务 only near 客服), and in flowing text (contracts, letters) a term broken
across two lines is found too. Hits are then reduced to the best one per (subdomain, page); an
ambiguous term yields one candidate per subdomain it is listed under, each with its own score
(``weight × match quality``).

Which lines count depends on the document (classifiers/zones.py): a screenshot's top bar and
sidebar menu are chrome, its title rows name what is in use (a subdomain's own name there counts
outright) and the rest needs ``layout.screenshot.body_min_score``; a contract or invoice counts its
product table and item lines only (clauses do not), with wrapped cells joined; an explanation maps
the subdomains it names outright ((1)生产数据。, 实现了采购管理、物流管理等) and its terms only when it
names none. Anywhere, a term inside a company name (…智能装备股份有限公司) is dropped. Suites
(``products:`` in the YAML) add their modules and bundled scope on sale documents.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import regex
from pydantic import BaseModel, ConfigDict, Field
from rapidfuzz import fuzz

from classifiers.taxonomy import (
    LayoutConfig,
    SubdomainKind,
    Taxonomy,
    Term,
    fold,
    load_taxonomy,
    normalize,
)
from classifiers.zones import COUNTING, PageZones, document_zones
from extractors.textnorm import fold_width, is_latin, normalize_with_offsets
from pipeline.model import BBox, Evidence, Line, Page, SubdomainHit, clamp_bbox

Method = Literal["exact", "confusable", "context_edit", "fuzzy", "regex", "named"]


class SubdomainMatch(BaseModel):
    """One subdomain evidenced on one page: the best hit there (``hits`` counts all of them)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    group: str
    kind: SubdomainKind
    term: str
    """The taxonomy term as written in the YAML (for a regex term: the pattern)."""
    matched: str
    """The text of the line that matched (original characters, OCR errors included)."""
    score: float = Field(ge=0.0, le=1.0)
    method: Method
    page: int = Field(ge=1)
    bbox: BBox
    text: str
    """The whole line (two lines joined by a newline when the term was broken across them)."""
    line_index: int = Field(ge=0)
    file: str
    doc_kind: str
    provider: str | None = None
    hits: int = Field(default=1, ge=1)
    zone: str = "body"
    """Where the line sits (classifiers/zones.py): title, body, item."""
    role: str = "term"
    """What kind of term matched: term, product (a suite's name), module, bundled, name."""

    def to_hit(self) -> SubdomainHit:
        """The result-v1 ``documents[].subdomains[]`` entry."""
        return SubdomainHit(
            name=self.name, group=self.group, term=self.term, score=self.score, page=self.page,
            bbox=list(self.bbox),
        )

    def to_evidence(self) -> Evidence:
        return Evidence(
            file=self.file, page=self.page, bbox=list(self.bbox), text=self.text,
            confidence=self.score,
        )


# --------------------------------------------------------------------------- compiled taxonomy


@dataclass(frozen=True)
class _CTerm:
    name: str
    group: str
    kind: SubdomainKind
    spec: Term
    text: str  # normalised, folded when case-insensitive
    policy: Literal["exact", "substitution", "partial", "regex"]
    pattern: regex.Pattern[str]
    chars: frozenset[str]
    context_any: tuple[str, ...]
    context_none: tuple[str, ...]
    context_lines: int
    not_within: tuple[str, ...]
    latin_tokens: tuple[str, ...]
    cs: bool  # case-sensitive


@dataclass(frozen=True)
class _Compiled:
    terms: tuple[_CTerm, ...]
    confusable: dict[str, frozenset[str]]
    partial_min: float
    quality_exact: float
    quality_confusable: float
    quality_context: float
    min_score: float
    flowing: frozenset[str]
    evidence_kinds: frozenset[str]
    layout: LayoutConfig
    naming: tuple[tuple[str, str, str, SubdomainKind], ...]  # (folded text, name, group, kind)
    organisation: regex.Pattern[str] | None


_CACHE: dict[int, tuple[Taxonomy, _Compiled]] = {}


def _compile(tax: Taxonomy) -> _Compiled:
    cached = _CACHE.get(id(tax))
    if cached and cached[0] is tax:
        return cached[1]
    m = tax.matching
    terms: list[_CTerm] = []
    for sd in tax.subdomains:
        for spec in tax.evidence_terms(sd):
            terms.append(_compile_term(sd.name, sd.group, sd.kind, spec, tax))
    compiled = _Compiled(
        terms=tuple(terms),
        confusable=m.confusable_map(),
        partial_min=m.partial_ratio_min,
        quality_exact=m.quality.exact,
        quality_confusable=m.quality.confusable,
        quality_context=m.quality.context_edit,
        min_score=m.min_score,
        flowing=frozenset(m.flowing_kinds),
        evidence_kinds=frozenset(m.evidence_kinds),
        layout=tax.layout,
        naming=tuple(
            (text, name, tax.group_of(name), tax.subdomain(name).kind)
            for text, name in tax.naming_keys()
        ),
        organisation=_organisation_pattern(tax.layout),
    )
    if len(_CACHE) > 8:
        _CACHE.clear()
    _CACHE[id(tax)] = (tax, compiled)
    return compiled


def _organisation_pattern(layout: LayoutConfig) -> regex.Pattern[str] | None:
    """A company name: up to ``organisation_max_chars`` characters ending in a legal suffix."""
    suffixes = sorted({fold(normalize(s)) for s in layout.organisation_suffixes}, key=len, reverse=True)
    if not suffixes:
        return None
    body = r"[^\s,，。；;:：、\"“”]{1,%d}?" % layout.organisation_max_chars
    return regex.compile(body + "(?:" + "|".join(regex.escape(s) for s in suffixes) + ")")


def _compile_term(name: str, group: str, kind: SubdomainKind, spec: Term, tax: Taxonomy) -> _CTerm:
    m = tax.matching
    cs = spec.is_case_sensitive

    def prep(word: str) -> str:
        w = normalize(word)
        return w if cs else fold(w)

    if spec.match == "regex":
        pattern = regex.compile(spec.term, 0 if cs else regex.IGNORECASE)
        text, policy = spec.term, "regex"
    else:
        text = prep(spec.term)
        n = len(text.replace(" ", ""))
        latin_only = all(c.isascii() for c in text)
        if (
            spec.match == "exact"
            or n <= m.exact_max_len
            or (latin_only and n <= m.latin_exact_max_len)
        ):
            policy = "exact"
        elif n <= m.substitution_max_len:
            policy = "substitution"
        else:
            policy = "partial"
        pattern = regex.compile(_exact_pattern(text))
    return _CTerm(
        name=name, group=group, kind=kind, spec=spec, text=text, policy=policy, pattern=pattern,
        chars=frozenset(text.replace(" ", "")),
        context_any=tuple(prep(w) for w in spec.context_any),
        context_none=tuple(prep(w) for w in spec.context_none),
        context_lines=m.context_lines if spec.context_lines is None else spec.context_lines,
        not_within=tuple(prep(w) for w in spec.not_within),
        latin_tokens=_latin_tokens(text, m.latin_exact_max_len) if policy == "partial" else (),
        cs=cs,
    )


def _latin_tokens(text: str, max_len: int) -> tuple[str, ...]:
    """The short Latin codes inside a term (ECS in 云服务器ECS)."""
    return tuple(t for t in regex.findall(r"[A-Za-z0-9]+", text) if len(t) <= max_len)


def _exact_pattern(text: str) -> str:
    """A regex for the normalised term: optional space between Latin tokens, boundaries at Latin edges."""
    parts = [" ?" if c == " " else regex.escape(c) for c in text]
    if is_latin(text[0]):
        parts.insert(0, r"(?<![A-Za-z0-9])")
    if is_latin(text[-1]):
        parts.append(r"(?![A-Za-z0-9])")
    return "".join(parts)


# --------------------------------------------------------------------------- per-line matching


@dataclass(frozen=True)
class _Text:
    """A line (or two joined lines) in normalised form, with offsets back to the original."""

    raw: str
    norm: str
    folded: str
    origin: list[int]
    chars: frozenset[str]

    @classmethod
    def of(cls, raw: str) -> _Text:
        norm, origin = normalize_with_offsets(raw)
        folded = fold(norm)
        return cls(raw, norm, folded, origin, frozenset(norm) | frozenset(folded))

    def view(self, cs: bool) -> str:
        return self.norm if cs else self.folded


@dataclass(frozen=True)
class _Hit:
    term: _CTerm
    start: int  # in normalised text
    end: int
    quality: float
    method: Method


def _boundary_ok(s: str, start: int, end: int, term: str) -> bool:
    if is_latin(term[0]) and start > 0 and is_latin(s[start - 1]):
        return False
    if is_latin(term[-1]) and end < len(s) and is_latin(s[end]):
        return False
    return True


def _find(ct: _CTerm, t: _Text, ctx: _Context, c: _Compiled) -> list[_Hit]:
    s = t.view(ct.cs)
    if ct.policy == "regex":
        return [_Hit(ct, mt.start(), mt.end(), c.quality_exact, "regex")
                for mt in ct.pattern.finditer(s) if mt.end() > mt.start()]
    common = len(ct.chars & t.chars)
    # characters the line must share with the term: all (exact), all but the substituted one,
    # all but two for partial_ratio (its threshold allows at most two edits below 20 characters)
    if common < len(ct.chars) - {"exact": 0, "substitution": 1}.get(ct.policy, 2):
        return []
    hits = [_Hit(ct, mt.start(), mt.end(), c.quality_exact, "exact")
            for mt in ct.pattern.finditer(s)] if common == len(ct.chars) else []
    if hits or ct.policy == "exact":
        return hits
    if ct.policy == "substitution":
        return _substitution(ct, s, ctx, c)
    return _partial(ct, s, c)


def _substitution(ct: _CTerm, s: str, ctx: _Context, c: _Compiled) -> list[_Hit]:
    """Windows of the term's length that differ from it in exactly one character."""
    term, n = ct.text, len(ct.text)
    out: list[_Hit] = []
    context_ok: bool | None = None
    for i in range(len(s) - n + 1):
        window = s[i:i + n]
        diff = -1
        for j in range(n):
            if window[j] != term[j]:
                if diff >= 0:
                    diff = -2
                    break
                diff = j
        if diff < 0 or term[diff] == " " or window[diff] == " ":
            continue
        if not _boundary_ok(s, i, i + n, term):
            continue
        # a Latin character in place of a Chinese one (or vice versa) is not a misreading
        if is_latin(term[diff]) != is_latin(window[diff]):
            continue
        if window[diff] in c.confusable.get(term[diff], ()):
            out.append(_Hit(ct, i, i + n, c.quality_confusable, "confusable"))
        elif ct.context_any:
            if context_ok is None:
                context_ok = ctx.any_near(ct.context_any, ct.context_lines)
            if context_ok:
                out.append(_Hit(ct, i, i + n, c.quality_context, "context_edit"))
    return out


def _widen(term: str, s: str, start: int, end: int) -> tuple[int, int]:
    """Grow a short aligned window to the term's length inside ``s`` (the misread last character
    of ``Web应用防火樯`` belongs to the match), choosing the side that resembles the term more."""
    missing = len(term) - (end - start)
    options = []
    for left in range(missing + 1):
        a, b = start - left, end + (missing - left)
        if a >= 0 and b <= len(s):
            options.append((fuzz.ratio(term, s[a:b]), -left, a, b))
    if not options:
        return start, end
    _, _, a, b = max(options)
    return a, b


def _partial(ct: _CTerm, s: str, c: _Compiled) -> list[_Hit]:
    """rapidfuzz partial_ratio for long terms: the best-aligned window of the line."""
    term = ct.text
    if len(s) < len(term):
        # partial_ratio would align the (shorter) line inside the term. Score the whole line as a
        # window of the term's length instead, so missing characters cost what they cost in a
        # longer line (弹性云服务器ECS is not found in a line reading 云服务器ECS).
        score = fuzz.ratio(term, s) * (len(term) + len(s)) / (2 * len(term))
        if score < c.partial_min:
            return []
        start, end = 0, len(s)
    else:
        al = fuzz.partial_ratio_alignment(term, s, score_cutoff=c.partial_min)
        if al is None:
            return []
        score, start, end = al.score, al.dest_start, al.dest_end
        if end - start < len(term):  # partial_ratio also tries shorter windows at the text's ends
            score = score * (len(term) + end - start) / (2 * len(term))
            if score < c.partial_min:
                return []
            start, end = _widen(term, s, start, end)
    while start < end and s[start] == " ":
        start += 1
    while end > start and s[end - 1] == " ":
        end -= 1
    if end <= start or not _boundary_ok(s, start, end, term):
        return []
    # a short Latin code is a name's distinctive part: it must be there exactly (对象存储COS is
    # not 对象存储OSS with one error)
    if any(not regex.search(_exact_pattern(tok), s[start:end]) for tok in ct.latin_tokens):
        return []
    return [_Hit(ct, start, end, round(score / 100.0, 4), "fuzzy")]


class _Context:
    """The page's lines around one line, for context_any / context_none / not_within."""

    def __init__(self, texts: Sequence[_Text], index: int | tuple[int, int],
                 boxes: Sequence[Sequence[float]] | None = None) -> None:
        self._texts = texts
        self._lo, self._hi = (index, index) if isinstance(index, int) else index
        self._boxes = boxes

    def _window(self, k: int, spatial: bool) -> Iterable[_Text]:
        if spatial and self._boxes:
            # lines within k line heights above or below: OCR'd table cells come in no fixed order
            a, b = self._boxes[self._lo], self._boxes[self._hi]
            h = max(a[3] - a[1], 1e-6)
            lo, hi = min(a[1], b[1]) - k * h, max(a[3], b[3]) + k * h
            return [t for t, bb in zip(self._texts, self._boxes)
                    if lo <= (bb[1] + bb[3]) / 2 <= hi]
        return self._texts[max(0, self._lo - k): self._hi + k + 1]

    def any_near(self, words: Sequence[str], k: int, spatial: bool = False) -> bool:
        window = list(self._window(k, spatial))
        return any(w in t.norm or w in t.folded for t in window for w in words)


def _accept(h: _Hit, t: _Text, ctx: _Context, doc_kind: str) -> bool:
    ct = h.term
    if ct.spec.kinds and doc_kind not in ct.spec.kinds:
        return False
    spatial = ct.spec.role == "module"
    if ct.context_any and h.method != "context_edit" and not ctx.any_near(
        ct.context_any, ct.context_lines, spatial
    ):
        return False
    if ct.context_none and ctx.any_near(ct.context_none, ct.context_lines):
        return False
    s = t.view(ct.cs)
    for word in ct.not_within:
        for mt in regex.finditer(regex.escape(word), s, overlapped=True):
            if mt.start() <= h.start and h.end <= mt.end():
                return False
    return True


def _maximal(hits: list[_Hit]) -> list[_Hit]:
    """Drop a hit lying strictly inside a longer hit of another term (数据库 inside 数据库审计)."""
    keep = []
    for h in hits:
        inside = any(
            o is not h and o.start <= h.start and h.end <= o.end
            and (o.end - o.start) > (h.end - h.start)
            for o in hits
        )
        if not inside:
            keep.append(h)
    return keep


def _line_hits(c: _Compiled, t: _Text, ctx: _Context, doc_kind: str) -> list[_Hit]:
    hits: list[_Hit] = []
    for ct in c.terms:
        for h in _find(ct, t, ctx, c):
            if _accept(h, t, ctx, doc_kind):
                hits.append(h)
    orgs = _organisations(c, t)
    if orgs:
        hits = [h for h in hits if not any(a <= h.start and h.end <= b for a, b in orgs)]
    return _maximal(hits)


def _organisations(c: _Compiled, t: _Text) -> list[tuple[int, int]]:
    """Spans of company names in the line (a term inside one is the company's name, not a product)."""
    if c.organisation is None:
        return []
    return [(mt.start(), mt.end()) for mt in c.organisation.finditer(t.folded)]


# --------------------------------------------------------------------------- names written outright


def _named_hits(c: _Compiled, raw: str) -> list[tuple[int, int, str, str, SubdomainKind, float]]:
    """Subdomain names (or aliases) the text writes outright as an item: (1)生产数据。, a table cell,
    实现了采购管理、物流管理等 — bounded by separators, not part of a longer word (维保记录).
    Tolerates one OCR look-alike character in names of 4+ characters."""
    cfg = c.layout.naming
    s = fold(fold_width(raw))  # one character for one: offsets are the raw line's, spaces kept
    bounds = set(cfg.boundaries) | set(cfg.connectors)
    after_ok = bounds | set(cfg.list_closers)
    seps = set(cfg.list_separators)
    taken: list[tuple[int, int]] = []
    out = []
    for text, name, group, kind in c.naming:
        n = len(text)
        if n < 2 or n > len(s):
            continue
        for i in range(len(s) - n + 1):
            window = s[i:i + n]
            if window != text:
                if n < 4 or window[0] != text[0]:
                    continue
                diff = [(a, b) for a, b in zip(text, window) if a != b]
                if len(diff) != 1 or diff[0][1] not in c.confusable.get(diff[0][0], ()):
                    continue
                quality = c.quality_confusable
            else:
                quality = c.quality_exact
            j = i + n
            if any(a < j and i < b for a, b in taken):
                continue
            before = i == 0 or s[i - 1] in bounds or _enumerator_before(s, i)
            after = j == len(s) or s[j] in after_ok
            if is_latin(text[0]) and i > 0 and is_latin(s[i - 1]):
                continue
            if is_latin(text[-1]) and j < len(s) and is_latin(s[j]):
                continue
            if (before and after) or (j < len(s) and s[j] in seps):
                taken.append((i, j))
                out.append((i, j, name, group, kind, quality))
    return out


_ENUMERATOR = regex.compile(r"(?:[(（]\d{1,2}[)）]|\d{1,2}[.．、]|[一二三四五六七八九十]+、)$")


def _enumerator_before(s: str, i: int) -> bool:
    return bool(_ENUMERATOR.search(s[max(0, i - 4):i]))


# --------------------------------------------------------------------------- geometry


def _word_spans(line: Line) -> list[tuple[int, int, list[float]]] | None:
    """Character spans of the line's words in ``line.text`` (None if they cannot be placed)."""
    spans = []
    cursor = 0
    for w in line.words:
        if not w.text:
            continue
        at = line.text.find(w.text, cursor)
        if at < 0:
            return None
        spans.append((at, at + len(w.text), list(w.bbox)))
        cursor = at + len(w.text)
    return spans


def _span_bbox(line: Line, start: int, end: int) -> list[float]:
    """Box of the original characters [start, end) of ``line``: its words' union, else the line's."""
    if line.words:
        spans = _word_spans(line)
        if spans:
            boxes = [b for s, e, b in spans if s < end and e > start]
            if boxes:
                return clamp_bbox([
                    min(b[0] for b in boxes), min(b[1] for b in boxes),
                    max(b[2] for b in boxes), max(b[3] for b in boxes),
                ])
    return clamp_bbox(line.bbox)


def _union(a: list[float], b: list[float]) -> list[float]:
    return clamp_bbox([min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])])


def _continues(lines: Sequence[Line], i: int, block_width: float) -> bool:
    """Does line i+1 continue line i as flowing text (next line down, line i nearly full width)?"""
    a, b = lines[i].bbox, lines[i + 1].bbox
    height = max(a[3] - a[1], 1e-6)
    below = b[1] > a[1] + 0.3 * height and b[1] - a[3] < 1.5 * height
    full = block_width > 0 and (a[2] - a[0]) >= 0.6 * block_width
    return below and full


# --------------------------------------------------------------------------- public API

PageLines = tuple[int, Sequence[Line]]


def map_lines(
    lines: Sequence[Line] | Sequence[PageLines] | Sequence[Page],
    taxonomy: Taxonomy | None = None,
    *,
    file: str,
    kind: str,
    page: int = 1,
    min_score: float | None = None,
) -> list[SubdomainMatch]:
    """Find the subdomains the text evidences, best hit per (subdomain, page).

    ``lines`` is one page's lines (numbered ``page``), or ``(page_number, lines)`` pairs, or
    :class:`~pipeline.model.Page` objects. ``kind`` is the document kind: it decides which lines
    count (classifiers/zones.py — a screenshot's menus, a contract's clauses do not), whether
    terms broken across lines are looked for (flowing kinds), and for explanations that only the
    subdomains named outright count (when the letter names any). Returns matches ordered by page,
    line, then score (best first).
    """
    tax = taxonomy or load_taxonomy()
    c = _compile(tax)
    if c.evidence_kinds and kind not in c.evidence_kinds:
        return []  # a licence or the form itself is no evidence of use (the form lists every name)
    threshold = c.min_score if min_score is None else min_score
    body_min = (
        max(threshold, c.layout.screenshot.body_min_score)
        if kind == "screenshot" and min_score is None else threshold
    )
    pages = list(_pages(lines, page))
    raw: list[SubdomainMatch] = []
    if kind in c.layout.naming.kinds:
        for number, page_lines in pages:
            raw += _named_matches(c, page_lines, number, file=file, kind=kind)
    if not raw:
        zones = document_zones([ls for _, ls in pages], kind, c.layout)
        for (number, page_lines), z in zip(pages, zones):
            raw += _map_page(c, page_lines, number, file=file, kind=kind, zones=z)
    kept = [m for m in raw if m.score >= (body_min if m.zone == "body" else threshold)]
    if kind == "screenshot":
        kept = [m for m in kept if not _on_instance_label(c, m)]
    best: dict[tuple[str, int], SubdomainMatch] = {}
    for m in kept:
        key = (m.name, m.page)
        prev = best.get(key)
        if prev is None:
            best[key] = m
        else:
            winner = m if _rank(m) > _rank(prev) else prev
            best[key] = winner.model_copy(update={"hits": prev.hits + 1})
    return sorted(best.values(), key=lambda m: (m.page, m.line_index, -m.score, m.name))


def _on_instance_label(c: _Compiled, m: SubdomainMatch) -> bool:
    """An equipment term in a cell that labels one machine (CNC-加工中心-01)."""
    cfg = c.layout.screenshot
    return (
        m.group in cfg.instance_label_groups and m.role != "name"
        and regex.search(cfg.instance_label, m.text) is not None
    )


def _rank(m: SubdomainMatch) -> tuple[float, int, int]:
    """Best evidence first: higher score, then the more specific (longer) term, then earlier."""
    return (m.score, len(m.term), -m.line_index)


def map_pages(pages: Sequence[Page], taxonomy: Taxonomy | None = None, *, file: str, kind: str,
              min_score: float | None = None) -> list[SubdomainMatch]:
    """:func:`map_lines` over whole pages."""
    return map_lines(pages, taxonomy, file=file, kind=kind, min_score=min_score)


def explain_line(text: str, taxonomy: Taxonomy | None = None, *,
                 kind: str = "other") -> list[SubdomainMatch]:
    """Every term hit in one line of text, before thresholds, zones and de-duplication.

    For tests and for a domain expert asking "why does this line map to that subdomain?".
    """
    tax = taxonomy or load_taxonomy()
    line = Line(text=text, bbox=[0.0, 0.0, 1.0, 1.0], confidence=1.0)
    hits = _map_page(_compile(tax), [line], 1, file="", kind=kind, zones=PageZones(("body",)))
    return sorted(hits, key=lambda m: (-m.score, m.name, m.term))


def _pages(lines: Sequence[Line] | Sequence[PageLines] | Sequence[Page],
           page: int) -> list[tuple[int, Sequence[Line]]]:
    if not lines:
        return []
    first = lines[0]
    if isinstance(first, Line):
        return [(page, lines)]  # type: ignore[list-item]
    if isinstance(first, Page):
        return [(p.number, p.lines) for p in lines]  # type: ignore[union-attr]
    return [(int(n), ls) for n, ls in lines]  # type: ignore[misc]


def _named_matches(c: _Compiled, lines: Sequence[Line], page: int, *, file: str,
                   kind: str, only: Sequence[int] | None = None,
                   zone: str = "body") -> list[SubdomainMatch]:
    """Subdomains the lines name outright (see :func:`_named_hits`)."""
    out = []
    for i in (range(len(lines)) if only is None else only):
        line = lines[i]
        for a, b, name, group, sd_kind, quality in _named_hits(c, line.text):
            out.append(SubdomainMatch(
                name=name, group=group, kind=sd_kind, term=name, matched=line.text[a:b],
                score=quality, method="named", page=page, bbox=_span_bbox(line, a, b),
                text=line.text, line_index=i, file=file, doc_kind=kind, zone=zone, role="name",
            ))
    return out


def _map_page(c: _Compiled, lines: Sequence[Line], page: int, *, file: str,
              kind: str, zones: PageZones) -> list[SubdomainMatch]:
    texts = [_Text.of(line.text) for line in lines]
    roles = zones.roles
    counting = [r in COUNTING for r in roles]
    out: list[SubdomainMatch] = []

    def emit(h: _Hit, idx: int, text: str, matched: str, bbox: list[float]) -> None:
        ct = h.term
        score = round(min(1.0, ct.spec.weight * h.quality), 4)
        out.append(SubdomainMatch(
            name=ct.name, group=ct.group, kind=ct.kind, term=ct.spec.term, matched=matched,
            score=score, method=h.method, page=page, bbox=bbox, text=text, line_index=idx,
            file=file, doc_kind=kind, provider=ct.spec.provider, zone=roles[idx],
            role="name" if ct.spec.implicit else ct.spec.role,
        ))

    # context (context_any …) is read among the lines that count only: a menu is not context
    visible = [t if ok else _Text.of("") for t, ok in zip(texts, counting)]
    boxes = [ln.bbox for ln in lines]
    for i, (line, t) in enumerate(zip(lines, texts)):
        if not counting[i]:
            continue
        ctx = _Context(visible, i, boxes)
        for h in _line_hits(c, t, ctx, kind):
            o0, o1 = t.origin[h.start], t.origin[h.end - 1] + 1
            emit(h, i, line.text, line.text[o0:o1], _span_bbox(line, o0, o1))

    if kind == "screenshot":
        titles = [i for i, r in enumerate(roles) if r == "title"]
        out += _named_matches(c, lines, page, file=file, kind=kind, only=titles, zone="title")

    pairs: list[tuple[int, int]] = list(zones.wraps)
    if kind in c.flowing and len(lines) > 1:
        x0 = min(ln.bbox[0] for ln in lines)
        x1 = max(ln.bbox[2] for ln in lines)
        pairs += [
            (i, i + 1) for i in range(len(lines) - 1)
            if counting[i] and counting[i + 1] and _continues(lines, i, x1 - x0)
        ]
    for i, j in dict.fromkeys(pairs):
        if not (texts[i].norm and texts[j].norm):
            continue
        joined_raw = lines[i].text + "\n" + lines[j].text
        joined = _Text.of(lines[i].text + lines[j].text)
        cut = len(texts[i].norm)  # normalised length of line i inside the joined text
        ctx = _Context(visible, (min(i, j), max(i, j)), boxes)
        for h in _line_hits(c, joined, ctx, kind):
            if not (h.start < cut < h.end):
                continue  # found within one line already
            raw_cut = len(lines[i].text)
            o0, o1 = joined.origin[h.start], joined.origin[h.end - 1] + 1
            box = _union(_span_bbox(lines[i], o0, raw_cut),
                         _span_bbox(lines[j], 0, o1 - raw_cut))
            matched = lines[i].text[o0:] + "\n" + lines[j].text[: o1 - raw_cut]
            emit(h, i, joined_raw, matched, box)
    return out
