"""Cloud/SaaS providers: recognise them in text, and compare company names.

The data lives in ``extractors/data/providers.yaml`` (its header explains the format).

* :func:`find_providers` finds every provider a text names — by legal name (阿里云计算有限公司),
  alias (阿里云, Alibaba Cloud) or product (云服务器ECS) — with offsets into the text, so a seal's
  text, an invoice's seller line or a contract's product line can be attributed.
* :func:`match_party` says how alike two company names are (0–1), ignoring width, brackets,
  punctuation, 有限公司/有限责任公司 variants, a seal's 合同专用章 and an embedded credit code: it is
  how a seal or an invoice's buyer is tied to the applicant or the provider.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import regex
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    field_validator,
    model_validator,
)
from rapidfuzz import fuzz

from extractors.textnorm import (
    BRACKETS,
    MIDDLE_DOTS,
    fold_ascii_case,
    is_latin,
    normalize_with_offsets,
)
from pipeline.datafiles import load_yaml_model

DEFAULT_PATH = Path(__file__).resolve().parent / "data" / "providers.yaml"

Via = Literal["legal_name", "alias", "product"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Product(_Frozen):
    name: str = Field(min_length=1)
    weight: float = Field(default=0.8, gt=0.0, le=1.0)


class Provider(_Frozen):
    canonical: str = Field(min_length=2)
    """The reported short name. Searched for only if also listed in ``aliases``."""
    kind: Literal["iaas", "saas", "platform", "telecom"]
    legal_names: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    products: tuple[Product, ...] = ()

    @field_validator("legal_names", "aliases", "products", mode="before")
    @classmethod
    def _lists(cls, v: Any) -> Any:
        if v is None:
            return ()
        return v

    @field_validator("products", mode="before")
    @classmethod
    def _plain_products(cls, v: Any) -> Any:
        return [{"name": str(p)} if isinstance(p, (str, int)) else p for p in v]


class PartyNames(_Frozen):
    legal_forms: dict[str, str] = Field(default_factory=dict)
    company_suffixes: tuple[str, ...] = ()
    seal_suffixes: tuple[str, ...] = ()


class Scores(_Frozen):
    legal_name: float = Field(default=1.0, gt=0, le=1)
    alias: float = Field(default=0.95, gt=0, le=1)


class ProviderMatch(_Frozen):
    """A provider named in a text: ``text[start:end] == matched``."""

    canonical: str
    matched: str
    score: float = Field(ge=0.0, le=1.0)
    start: int = Field(ge=0)
    end: int = Field(ge=0)
    via: Via
    name: str
    """The catalog name that matched (a legal name, alias or product)."""


@dataclass(frozen=True)
class _Entry:
    """One searchable name of a provider, compiled."""

    canonical: str
    name: str
    via: Via
    score: float
    text: str  # normalised (folded unless case-sensitive)
    case_sensitive: bool
    pattern: regex.Pattern[str]
    fuzzy: bool


class ProviderCatalog(_Frozen):
    version: str
    fuzzy_min_len: int = Field(default=7, ge=3)
    fuzzy_min_ratio: float = Field(default=85.0, ge=50, le=100)
    scores: Scores = Field(default_factory=Scores)
    party_names: PartyNames = Field(default_factory=PartyNames)
    providers: tuple[Provider, ...]

    _entries: tuple[_Entry, ...] = PrivateAttr(default=())

    @field_validator("version", mode="before")
    @classmethod
    def _version_str(cls, v: Any) -> Any:
        return str(v) if isinstance(v, (int, float)) else v

    @model_validator(mode="after")
    def _validate(self) -> ProviderCatalog:
        dup = [c for c, n in Counter(p.canonical for p in self.providers).items() if n > 1]
        if dup:
            raise ValueError(f"providers listed twice: {dup}")
        owner: dict[str, str] = {}
        for p in self.providers:
            for name in (p.canonical, *p.legal_names, *p.aliases):
                key = _fold(_normalize(name)[0])
                if not key:
                    raise ValueError(f"{p.canonical}: empty name")
                if owner.setdefault(key, p.canonical) != p.canonical:
                    raise ValueError(f"name {name!r} belongs to {owner[key]} and {p.canonical}")
        self._entries = tuple(self._build_entries())
        return self

    def _build_entries(self) -> list[_Entry]:
        entries: list[_Entry] = []
        for p in self.providers:
            named: list[tuple[str, Via, float]] = [(n, "legal_name", self.scores.legal_name)
                                                   for n in p.legal_names]
            named += [(n, "alias", self.scores.alias) for n in p.aliases]
            named += [(pr.name, "product", pr.weight) for pr in p.products]
            seen: set[str] = set()
            for name, via, score in named:
                norm = _normalize(name)[0]
                if norm in seen:
                    continue
                seen.add(norm)
                cs = _short_latin(norm)
                text = norm if cs else _fold(norm)
                core = self._core(norm)
                entries.append(_Entry(
                    canonical=p.canonical, name=name, via=via, score=score, text=text,
                    case_sensitive=cs, pattern=regex.compile(_pattern(text)),
                    fuzzy=len(core.replace(" ", "")) >= self.fuzzy_min_len,
                ))
        return entries

    def _core(self, norm: str) -> str:
        for suffix in sorted(self.party_names.company_suffixes, key=len, reverse=True):
            s = _normalize(suffix)[0]
            if norm.endswith(s) and len(norm) > len(s):
                return norm[: -len(s)]
        return norm

    def get(self, canonical: str) -> Provider:
        for p in self.providers:
            if p.canonical == canonical:
                return p
        raise KeyError(canonical)

    @property
    def canonicals(self) -> tuple[str, ...]:
        return tuple(p.canonical for p in self.providers)


# --------------------------------------------------------------------------- normalisation

_DROPPED = MIDDLE_DOTS | BRACKETS
"""Brackets go too, so 腾讯云计算（北京）有限责任公司 matches however OCR renders them."""
_is_latin = is_latin
_fold = fold_ascii_case


def _normalize(text: str) -> tuple[str, list[int]]:
    return normalize_with_offsets(text, _DROPPED)


def _short_latin(norm: str) -> bool:
    t = norm.replace(" ", "")
    return len(t) <= 4 and all(c.isascii() for c in t)


def _pattern(text: str) -> str:
    parts = [" ?" if c == " " else regex.escape(c) for c in text]
    if _is_latin(text[0]):
        parts.insert(0, r"(?<![A-Za-z0-9])")
    if _is_latin(text[-1]):
        parts.append(r"(?![A-Za-z0-9])")
    return "".join(parts)


def _boundary_ok(s: str, start: int, end: int, name: str) -> bool:
    if _is_latin(name[0]) and start > 0 and _is_latin(s[start - 1]):
        return False
    if _is_latin(name[-1]) and end < len(s) and _is_latin(s[end]):
        return False
    return True


# --------------------------------------------------------------------------- loading


def load_providers(path: str | Path | None = None) -> ProviderCatalog:
    """Load and validate the provider catalog (the packaged ``providers.yaml`` unless ``path``)."""
    if path is None:
        return _load_default()
    return _load(Path(path))


@lru_cache(maxsize=1)
def _load_default() -> ProviderCatalog:
    return _load(DEFAULT_PATH)


def _load(path: Path) -> ProviderCatalog:
    return load_yaml_model(path, ProviderCatalog)


# --------------------------------------------------------------------------- finding providers


def find_providers(text: str, catalog: ProviderCatalog | None = None) -> list[ProviderMatch]:
    """Every provider named in ``text``, ordered by position (best score first at one position).

    A name found inside a longer name is dropped (阿里云 inside 阿里云计算有限公司); a product sold
    by several providers yields one match per provider (ECS → 阿里云 0.6, 华为云 0.4).
    """
    cat = catalog or load_providers()
    if not text:
        return []
    norm, origin = _normalize(text)
    folded = _fold(norm)
    raw: list[tuple[_Entry, int, int, float]] = []
    for e in cat._entries:
        s = norm if e.case_sensitive else folded
        found = False
        for mt in e.pattern.finditer(s):
            raw.append((e, mt.start(), mt.end(), e.score))
            found = True
        if found or not e.fuzzy or len(s) < len(e.text) - 2:
            continue
        hit = _fuzzy(e.text, s, cat.fuzzy_min_ratio)
        if hit:
            start, end, ratio = hit
            raw.append((e, start, end, round(e.score * ratio / 100.0, 4)))
    kept = [
        h for h in raw
        if not any(o[1] <= h[1] and h[2] <= o[2] and (o[2] - o[1]) > (h[2] - h[1]) for o in raw)
    ]
    best: dict[tuple[str, int, int], ProviderMatch] = {}
    for e, s0, s1, score in kept:
        start, end = origin[s0], origin[s1 - 1] + 1
        m = ProviderMatch(canonical=e.canonical, matched=text[start:end], score=score,
                          start=start, end=end, via=e.via, name=e.name)
        key = (e.canonical, start, end)
        if key not in best or best[key].score < score:
            best[key] = m
    return sorted(best.values(), key=lambda m: (m.start, -m.score, m.canonical))


def _fuzzy(name: str, s: str, min_ratio: float) -> tuple[int, int, float] | None:
    """Best window of ``s`` within ``min_ratio`` of ``name``; its short Latin codes must be exact."""
    if len(s) < len(name):
        # score the whole text as a window of the name's length: missing characters cost alike
        score = fuzz.ratio(name, s) * (len(name) + len(s)) / (2 * len(name))
        start, end = 0, len(s)
        if score < min_ratio:
            return None
    else:
        al = fuzz.partial_ratio_alignment(name, s, score_cutoff=min_ratio)
        if al is None:
            return None
        score, start, end = al.score, al.dest_start, al.dest_end
        if end - start < len(name):  # partial_ratio also tries shorter windows at the text's ends
            score = score * (len(name) + end - start) / (2 * len(name))
            if score < min_ratio:
                return None
    while start < end and s[start] == " ":
        start += 1
    while end > start and s[end - 1] == " ":
        end -= 1
    if end <= start or not _boundary_ok(s, start, end, name):
        return None
    window = s[start:end]
    for tok in regex.findall(r"[A-Za-z0-9]+", name):
        if len(tok) <= 4 and not regex.search(_pattern(tok), window):
            return None  # 对象存储BOS is not 对象存储OSS with one error
    return start, end, score


def best_provider(text: str, catalog: ProviderCatalog | None = None) -> ProviderMatch | None:
    """The most confident provider named in ``text`` (earliest on a tie), or None."""
    matches = find_providers(text, catalog)
    return max(matches, key=lambda m: (m.score, -m.start)) if matches else None


# --------------------------------------------------------------------------- party names

_USCC = regex.compile(r"(?<![0-9A-Za-z])[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}(?![0-9A-Za-z])")
_NOT_NAME = regex.compile(r"[^\p{Han}a-z0-9]+")


def normalize_party_name(name: str, catalog: ProviderCatalog | None = None) -> str:
    """A company name reduced to what identifies it (see :func:`match_party`)."""
    cat = catalog or load_providers()
    pn = cat.party_names
    s = unicodedata.normalize("NFKC", name or "")
    s = _USCC.sub("", s.upper())
    s = regex.sub(r"\s+", "", s.lower())
    for old, new in sorted(pn.legal_forms.items(), key=lambda kv: -len(kv[0])):
        s = s.replace(regex.sub(r"\s+", "", old.lower()), new)
    s = _NOT_NAME.sub("", s)
    suffixes = sorted((_NOT_NAME.sub("", x) for x in pn.seal_suffixes), key=len, reverse=True)
    changed = True
    while changed:
        changed = False
        for suf in suffixes:
            if suf and s.endswith(suf) and len(s) > len(suf):
                s = s[: -len(suf)]
                changed = True
    return s


def match_party(name_a: str, name_b: str, catalog: ProviderCatalog | None = None) -> float:
    """Similarity 0–1 of two company names (rapidfuzz ratio of their normalised forms).

    ``腾讯云计算（北京）有限责任公司`` and ``腾讯云计算(北京)有限公司`` score 1.0; a seal's
    ``阿里云计算有限公司合同专用章`` against ``阿里云计算有限公司`` too. Empty names score 0.
    """
    a = normalize_party_name(name_a, catalog)
    b = normalize_party_name(name_b, catalog)
    if not a or not b:
        return 0.0
    return round(fuzz.ratio(a, b) / 100.0, 4)
