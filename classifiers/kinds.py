"""Decide a document's kind from its content: title, key phrases and layout cues.

The evidence is data (``classifiers/data/kinds.yaml``); this module only scores it. File names
are deliberately not used: applicants name files ``扫描件003.pdf`` or ``IMG_2041.jpg``.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import regex
import yaml

from pipeline.model import DOCUMENT_KINDS, Evidence, Page

DATA_FILE = Path(__file__).with_name("data") / "kinds.yaml"


@dataclass(frozen=True)
class KindRules:
    version: int
    title_weight: float
    title_first_lines: int
    title_top_fraction: float
    min_score: float
    max_pages: int
    title_terms: dict[str, dict[str, float]]
    terms: dict[str, dict[str, float]]
    layout: dict[str, dict[str, float]]
    screen_sizes: frozenset[tuple[int, int]]


@dataclass(frozen=True)
class KindDecision:
    kind: str
    score: float
    """0–1: how clearly the winner beat the runner-up (and the minimum score)."""
    raw_scores: dict[str, float]
    evidence: list[Evidence]


@lru_cache(maxsize=4)
def load_rules(path: Path = DATA_FILE) -> KindRules:
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    kinds = data["kinds"]
    unknown = set(kinds) - set(DOCUMENT_KINDS)
    if unknown:
        raise ValueError(f"{path}: unknown kinds {sorted(unknown)}")
    zone = data.get("title_zone", {})
    return KindRules(
        version=int(data.get("version", 1)),
        title_weight=float(data.get("title_weight", 3.0)),
        title_first_lines=int(zone.get("first_lines", 6)),
        title_top_fraction=float(zone.get("top_fraction", 0.22)),
        min_score=float(data.get("min_score", 3.0)),
        max_pages=int(data.get("max_pages", 3)),
        title_terms={k: {t: float(w) for t, w in (v.get("title") or {}).items()} for k, v in kinds.items()},
        terms={k: {t: float(w) for t, w in (v.get("terms") or {}).items()} for k, v in kinds.items()},
        layout={k: {t: float(w) for t, w in (v.get("layout") or {}).items()} for k, v in kinds.items()},
        screen_sizes=frozenset((int(w), int(h)) for w, h in data.get("screen_sizes", [])),
    )


def normalise(text: str) -> str:
    """Fold full-width forms and drop whitespace, so OCR'd and printed text compare alike."""
    return "".join(ch for ch in unicodedata.normalize("NFKC", text) if not ch.isspace())


@lru_cache(maxsize=2048)
def _pattern(term: str) -> regex.Pattern:
    escaped = regex.escape(normalise(term))
    if len(term) >= 4:
        return regex.compile(f"(?:{escaped}){{s<=1}}")
    return regex.compile(escaped)


def _find(term: str, lines: list[tuple[str, int, list[float]]]) -> tuple[int, list[float], str] | None:
    pat = _pattern(term)
    for text, page, bbox in lines:
        if pat.search(text):
            return page, bbox, text
    return None


def classify(pages: list[Page], *, is_image_file: bool, file: str = "") -> KindDecision:
    """Score every kind on the document's first pages and return the best one."""
    rules = load_rules()
    body: list[tuple[str, int, list[float]]] = []
    title: list[tuple[str, int, list[float]]] = []
    for page in pages[: rules.max_pages]:
        ordered = sorted(page.lines, key=lambda ln: (ln.bbox[1], ln.bbox[0]))
        for i, line in enumerate(ordered):
            entry = (normalise(line.text), page.number, line.bbox)
            body.append(entry)
            if page.number == 1 and (
                i < rules.title_first_lines or line.bbox[1] < rules.title_top_fraction
            ):
                title.append(entry)

    scores: dict[str, float] = {}
    evidence: dict[str, list[Evidence]] = {}
    for kind in rules.terms:
        score = 0.0
        ev: list[Evidence] = []
        for term, weight in rules.title_terms[kind].items():
            hit = _find(term, title)
            if hit:
                score += weight * rules.title_weight
                ev.append(Evidence(file=file, page=hit[0], bbox=hit[1], text=hit[2]))
        for term, weight in rules.terms[kind].items():
            hit = _find(term, body)
            if hit:
                score += weight
                if len(ev) < 4:
                    ev.append(Evidence(file=file, page=hit[0], bbox=hit[1], text=hit[2]))
        layout = rules.layout.get(kind) or {}
        if layout and score > 0 and pages:
            score += _layout_score(layout, pages[0], is_image_file, rules.screen_sizes)
        scores[kind] = round(score, 3)
        evidence[kind] = ev

    ranked = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)
    best, best_score = ranked[0] if ranked else ("other", 0.0)
    runner_up = ranked[1][1] if len(ranked) > 1 else 0.0
    if best_score < rules.min_score:
        return KindDecision("other", 0.0, scores, [])
    confidence = min(1.0, (best_score - runner_up) / max(best_score, 1e-9) + 0.3)
    return KindDecision(best, round(confidence, 3), scores, evidence[best])


def _layout_score(
    layout: dict[str, float], first: Page, is_image_file: bool, screen_sizes: frozenset[tuple[int, int]]
) -> float:
    score = 0.0
    if is_image_file:
        score += layout.get("image_file", 0.0)
        aspect = first.width / first.height if first.height else 0.0
        if 1.3 <= aspect <= 2.4:
            score += layout.get("screen_aspect", 0.0)
        size = (round(first.width), round(first.height))
        if size in screen_sizes or size[::-1] in screen_sizes and first.rotation in (90, 270):
            score += layout.get("screen_size", 0.0)
    return score
