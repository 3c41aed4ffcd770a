"""The 附表 checklist as data: 7 groups, 57 subdomains, their descriptions, aliases and evidence terms.

The data lives in ``classifiers/data/taxonomy.yaml`` (a domain expert edits it; its header explains
the format). This module loads and validates it, looks subdomains up by name or alias, and turns
what an application form writes ("供应商关系管理", "ERP", "企业资源规划（ERP）", "1. 研发设计应用")
into the canonical name.

Text normalisation (:func:`normalize`) is shared with the evidence mapper so that terms and page
text are compared in one form: NFKC (full width → half width), middle dots dropped, whitespace
dropped except one space between two Latin letters/digits (``U9 Cloud`` stays two tokens, ``云服务器
ECS`` becomes ``云服务器ECS``).
"""

from __future__ import annotations

from collections import Counter
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
from rapidfuzz import fuzz, process

from extractors.textnorm import fold_ascii_case, normalize_with_offsets
from pipeline.datafiles import load_yaml_model
from pipeline.model import CHECKLIST_GROUPS, DocumentKind

DEFAULT_PATH = Path(__file__).resolve().parent / "data" / "taxonomy.yaml"
EXPECTED_SUBDOMAINS = 57

SubdomainKind = Literal["business", "data_device", "innovation"]
DescriptionSource = Literal["guideline", "guideline_domain", "ours"]

# --------------------------------------------------------------------------- normalisation

def normalize(text: str) -> str:
    return normalize_with_offsets(text)[0]


fold = fold_ascii_case

# --------------------------------------------------------------------------- models


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Term(_Frozen):
    """One evidence term of a subdomain (see the YAML header for what each key means)."""

    term: str = Field(min_length=1)
    match: Literal["fuzzy", "exact", "regex"] = "fuzzy"
    weight: float = Field(default=1.0, gt=0.0, le=1.0)
    case_sensitive: bool | None = None
    context_any: tuple[str, ...] = ()
    context_none: tuple[str, ...] = ()
    context_lines: int | None = Field(default=None, ge=0, le=20)
    not_within: tuple[str, ...] = ()
    kinds: tuple[DocumentKind, ...] = ()
    provider: str | None = None
    implicit: bool = False
    """True for a subdomain's own name used as a term (not written under ``terms``)."""
    product: str | None = None
    """For terms generated from ``products:``: the suite they come from."""
    role: Literal["term", "product", "module", "bundled"] = "term"
    """``product``: the suite's own name; ``module``: a module named beside it; ``bundled``: what
    the suite includes on a sale document although no module is named (see ``products:``)."""

    @field_validator("term", mode="before")
    @classmethod
    def _number_is_text(cls, v: Any) -> Any:
        return str(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v

    @model_validator(mode="after")
    def _check(self) -> Term:
        if self.match == "regex":
            try:
                regex.compile(self.term)
            except regex.error as exc:
                raise ValueError(f"term {self.term!r}: bad regular expression: {exc}") from exc
        elif not self.text:
            raise ValueError(f"term {self.term!r} is empty once normalised")
        for word in (*self.context_any, *self.context_none):
            if not normalize(word):
                raise ValueError(f"term {self.term!r}: empty context word")
        if self.match != "regex":
            for word in self.not_within:
                if self.text not in normalize(word):
                    raise ValueError(
                        f"term {self.term!r}: not_within word {word!r} does not contain it"
                    )
        return self

    @property
    def text(self) -> str:
        """The term normalised (regex terms: as written)."""
        return self.term if self.match == "regex" else normalize(self.term)

    @property
    def is_case_sensitive(self) -> bool:
        """Explicit setting, else true for short Latin-only codes (ECS, OSS, OA, C2M)."""
        if self.case_sensitive is not None:
            return self.case_sensitive
        t = self.text.replace(" ", "")
        return self.match != "regex" and len(t) <= 4 and all(c.isascii() for c in t)


class Subdomain(_Frozen):
    name: str = Field(min_length=2)
    group: str
    kind: SubdomainKind
    en: str | None = None
    domain: str | None = None
    forms: tuple[Literal[3, 4, 5], ...] = ()
    in_criteria_table: bool = True
    description: str = Field(min_length=4)
    description_source: DescriptionSource
    aliases: tuple[str, ...] = ()
    name_as_term: bool = True
    terms: tuple[Term, ...] = ()

    @field_validator("terms", mode="before")
    @classmethod
    def _plain_terms(cls, v: Any) -> Any:
        if v is None:
            return ()
        return [{"term": t} if isinstance(t, str) else t for t in v]

    @field_validator("aliases", mode="before")
    @classmethod
    def _no_null_aliases(cls, v: Any) -> Any:
        return () if v is None else v

    @model_validator(mode="after")
    def _unique_terms(self) -> Subdomain:
        seen = Counter(t.text for t in self.terms)
        dup = [t for t, n in seen.items() if n > 1]
        if dup:
            raise ValueError(f"{self.name}: terms listed twice: {dup}")
        return self


class Group(_Frozen):
    key: str
    en: str | None = None
    kind: SubdomainKind
    subdomains: tuple[Subdomain, ...]

    @model_validator(mode="before")
    @classmethod
    def _inherit(cls, data: Any) -> Any:
        """Each subdomain takes its group and kind from the group it is listed under."""
        if not isinstance(data, dict):
            return data
        subs = []
        for sd in data.get("subdomains") or []:
            if isinstance(sd, dict):
                sd = dict(sd)
                for key, value in (("group", data.get("key")), ("kind", data.get("kind"))):
                    if key in sd and sd[key] != value:
                        raise ValueError(
                            f"{sd.get('name')}: {key} {sd[key]!r} but listed under {value!r}"
                        )
                    sd[key] = value
            subs.append(sd)
        return {**data, "subdomains": subs}


class MatchQuality(_Frozen):
    exact: float = Field(default=1.0, gt=0, le=1)
    confusable: float = Field(default=0.92, gt=0, le=1)
    context_edit: float = Field(default=0.85, gt=0, le=1)


class MatchingConfig(_Frozen):
    """How evidence terms are matched; see ``matching:`` in the YAML and classifiers/subdomains.py."""

    min_score: float = Field(default=0.4, ge=0, le=1)
    name_weight: float = Field(default=0.9, gt=0, le=1)
    context_lines: int = Field(default=1, ge=0, le=20)
    exact_max_len: int = Field(default=2, ge=1)
    latin_exact_max_len: int = Field(default=4, ge=1)
    substitution_max_len: int = Field(default=6, ge=2)
    partial_ratio_min: float = Field(default=85.0, ge=50, le=100)
    quality: MatchQuality = Field(default_factory=MatchQuality)
    flowing_kinds: tuple[DocumentKind, ...] = ()
    evidence_kinds: tuple[DocumentKind, ...] = ()
    """Kinds whose text is mapped at all (empty: every kind)."""
    confusables: tuple[str, ...] = ()

    def confusable_map(self) -> dict[str, frozenset[str]]:
        """Character → the characters OCR mistakes it for (both directions, also ASCII-folded)."""
        out: dict[str, set[str]] = {}
        for group in self.confusables:
            for variant in {group, fold(group)}:
                for ch in variant:
                    out.setdefault(ch, set()).update(c for c in variant if c != ch)
        return {k: frozenset(v) for k, v in out.items()}


def _valid_regex(pattern: str) -> str:
    try:
        regex.compile(pattern)
    except regex.error as exc:
        raise ValueError(f"bad regular expression {pattern!r}: {exc}") from exc
    return pattern


class ProductModule(_Frozen):
    """A module of a suite as a contract/invoice line lists it (财务+供应链+生产制造)."""

    terms: tuple[str, ...] = Field(min_length=1)
    subdomains: tuple[str, ...] = Field(min_length=1)


class Product(_Frozen):
    """A product that provides several subdomains (an ERP suite with modules).

    ``subdomains`` are what naming the product shows anywhere; ``bundled`` what a sale of it
    (contract, invoice) includes although the line names no module; ``modules`` what the module
    names add when the product's name is within ``module_lines`` line heights above or below on a
    sale document (OCR'd table cells come in no fixed reading order).
    """

    name: str = Field(min_length=1)
    provider: str | None = None
    terms: tuple[str, ...] = Field(min_length=1)
    subdomains: tuple[str, ...] = Field(min_length=1)
    bundled: tuple[str, ...] = ()
    modules: tuple[ProductModule, ...] = ()
    module_lines: int = Field(default=3, ge=0, le=20)


class ScreenshotLayout(_Frozen):
    """Console chrome and the page's own title, from line geometry (fractions of the page)."""

    top_bar_max_y: float = Field(default=0.08, gt=0, lt=0.5)
    bottom_bar_min_y: float = Field(default=0.93, gt=0.5, le=1)
    menu_row_min_items: int = Field(default=3, ge=2)
    sidebar_max_width: float = Field(default=0.3, gt=0, lt=1)
    sidebar_min_items: int = Field(default=3, ge=2)
    sidebar_align_tol: float = Field(default=0.02, ge=0, lt=0.2)
    sidebar_item_max_chars: int = Field(default=12, ge=2)
    sidebar_gutter: float = Field(default=0.02, ge=0, lt=0.3)
    title_rows: int = Field(default=2, ge=0)
    body_min_score: float = Field(default=0.65, ge=0, le=1)
    provenance_headers: tuple[str, ...] = ()
    instance_label: str = r"[A-Za-z]{2,}-\d{2,}|-\d{2,}$"
    instance_label_groups: tuple[str, ...] = ()

    @field_validator("instance_label")
    @classmethod
    def _label_compiles(cls, v: str) -> str:
        return _valid_regex(v)


class SaleLayout(_Frozen):
    """Where a contract/invoice names what it sells: the product table and the invoice items."""

    table_header_words: tuple[str, ...] = ()
    table_end: str = r"^(合\s*计|总\s*计)"
    item_line: str = r"^\*[^*]{2,20}\*"
    kinds: tuple[DocumentKind, ...] = ("contract", "invoice")

    @field_validator("table_end", "item_line")
    @classmethod
    def _compiles(cls, v: str) -> str:
        return _valid_regex(v)


class NamingLayout(_Frozen):
    """How an explanation names a subdomain outright: (1)生产数据。 / 实现了采购管理、物流管理等."""

    kinds: tuple[DocumentKind, ...] = ("explanation",)
    boundaries: str = " 、，,。.；;：:/|（）()[]【】<>《》“”\"'-—·•"
    connectors: str = "与和及或"
    list_closers: str = "等"
    list_separators: str = "、"


class LayoutConfig(_Frozen):
    screenshot: ScreenshotLayout = Field(default_factory=ScreenshotLayout)
    sale: SaleLayout = Field(default_factory=SaleLayout)
    naming: NamingLayout = Field(default_factory=NamingLayout)
    clause_heading: str = r"^第[一二三四五六七八九十百\d]+条"
    organisation_suffixes: tuple[str, ...] = ("有限责任公司", "股份有限公司", "有限公司")
    organisation_max_chars: int = Field(default=24, ge=4)

    @field_validator("clause_heading")
    @classmethod
    def _clause_compiles(cls, v: str) -> str:
        return _valid_regex(v)


class NameResolution(_Frozen):
    """A form's written subdomain name resolved to the canonical one."""

    name: str
    group: str
    score: float = Field(ge=0, le=1)
    via: Literal["name", "alias", "fuzzy"]
    written: str


class Taxonomy(_Frozen):
    version: str = Field(min_length=1)
    source: str = ""
    notes: tuple[str, ...] = ()
    matching: MatchingConfig = Field(default_factory=MatchingConfig)
    layout: LayoutConfig = Field(default_factory=LayoutConfig)
    groups: tuple[Group, ...]
    products: tuple[Product, ...] = ()

    _by_name: dict[str, Subdomain] = PrivateAttr(default_factory=dict)
    _keys: dict[str, tuple[str, Literal["name", "alias"]]] = PrivateAttr(default_factory=dict)

    @field_validator("version", mode="before")
    @classmethod
    def _version_str(cls, v: Any) -> Any:
        return str(v) if isinstance(v, (int, float)) else v

    @model_validator(mode="after")
    def _validate(self) -> Taxonomy:
        keys = tuple(g.key for g in self.groups)
        if keys != CHECKLIST_GROUPS:
            raise ValueError(f"groups must be exactly {CHECKLIST_GROUPS} in that order, got {keys}")
        subs = [sd for g in self.groups for sd in g.subdomains]
        dup = [n for n, c in Counter(sd.name for sd in subs).items() if c > 1]
        if dup:
            raise ValueError(f"subdomain names listed twice: {dup}")
        if len(subs) != EXPECTED_SUBDOMAINS:
            raise ValueError(f"{len(subs)} subdomains; the 附表 has {EXPECTED_SUBDOMAINS}")
        by_name = {sd.name: sd for sd in subs}
        index: dict[str, tuple[str, Literal["name", "alias"]]] = {}
        for sd in subs:
            index[_key(sd.name)] = (sd.name, "name")
        for sd in subs:
            for alias in sd.aliases:
                k = _key(alias)
                if not k:
                    raise ValueError(f"{sd.name}: empty alias")
                if k in index and index[k][0] != sd.name:
                    raise ValueError(f"alias {alias!r} of {sd.name} also names {index[k][0]}")
                index.setdefault(k, (sd.name, "alias"))
        seen_products: set[str] = set()
        for prod in self.products:
            if prod.name in seen_products:
                raise ValueError(f"product {prod.name!r} listed twice")
            seen_products.add(prod.name)
            named = [*prod.subdomains, *prod.bundled, *(n for m in prod.modules for n in m.subdomains)]
            unknown = [n for n in named if n not in by_name]
            if unknown:
                raise ValueError(f"product {prod.name!r}: unknown subdomains {unknown}")
        self._by_name = by_name
        self._keys = index
        return self

    # ----------------------------------------------------------------- lookups

    @property
    def subdomains(self) -> tuple[Subdomain, ...]:
        return tuple(sd for g in self.groups for sd in g.subdomains)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(sd.name for sd in self.subdomains)

    def group(self, key: str) -> Group:
        for g in self.groups:
            if g.key == key:
                return g
        raise KeyError(key)

    def subdomain(self, name: str) -> Subdomain:
        """The subdomain with this canonical name (KeyError otherwise)."""
        return self._by_name[name]

    def group_of(self, name: str) -> str:
        return self._by_name[name].group

    def lookup(self, text: str) -> Subdomain | None:
        """The subdomain named exactly (after normalisation) by ``text``, as a name or an alias."""
        hit = self._keys.get(_key(text))
        return self._by_name[hit[0]] if hit else None

    def evidence_terms(self, sd: Subdomain) -> tuple[Term, ...]:
        """The terms that evidence ``sd``: its ``terms``, its own name (unless disabled/overridden)
        and the terms ``products:`` generates for it (suite names, bundled scope, module names)."""
        terms = list(sd.terms)
        if sd.name_as_term and all(t.text != normalize(sd.name) for t in sd.terms):
            terms.append(Term(term=sd.name, weight=self.matching.name_weight, implicit=True))
        sale = self.layout.sale.kinds
        for prod in self.products:
            if sd.name in prod.subdomains:
                terms += [Term(term=t, provider=prod.provider, product=prod.name, role="product")
                          for t in prod.terms]
            if sd.name in prod.bundled:
                terms += [Term(term=t, provider=prod.provider, product=prod.name, role="bundled",
                               kinds=sale) for t in prod.terms]
            for mod in prod.modules:
                if sd.name in mod.subdomains:
                    terms += [Term(term=t, provider=prod.provider, product=prod.name, role="module",
                                   kinds=sale, context_any=prod.terms,
                                   context_lines=prod.module_lines) for t in mod.terms]
        return tuple(terms)

    def naming_keys(self) -> tuple[tuple[str, str], ...]:
        """(normalised, case-folded name or alias, canonical name), longest first: what a letter or a
        screen title may write to name a subdomain outright."""
        out = {fold(normalize(sd.name)): sd.name for sd in self.subdomains}
        for sd in self.subdomains:
            for alias in sd.aliases:
                out.setdefault(fold(normalize(alias)), sd.name)
        return tuple(sorted(out.items(), key=lambda kv: (-len(kv[0]), kv[0])))

    def resolve(self, written: str) -> NameResolution | None:
        """Resolve a form's written subdomain name (see :func:`resolve_subdomain_name`)."""
        return _resolve(self, written)

    def normalise_name(self, written: str) -> str | None:
        r = self.resolve(written)
        return r.name if r else None


# --------------------------------------------------------------------------- names on forms


def _key(text: str) -> str:
    return fold(normalize(text)).replace(" ", "")


_ENUM = regex.compile(r"^(?:[\[(]?\d{1,2}[\])．.、:]|[√✓✔☑■□●○☐☒\-*•]+)")
_BRACKETED = regex.compile(r"[(\[【〔{]([^)\]】〕}]*)[)\]】〕}]?")
_SEPARATORS = ":：-—–>|/、,，;；"
_FUZZY_MIN_LEN = 4
_FUZZY_MIN_SCORE = 75.0  # one wrong character in a 4-character name scores 75
_FUZZY_MARGIN = 10.0  # the runner-up must be clearly worse (基础数据 vs 设计数据 differ by 2)


def _resolve(tax: Taxonomy, written: str) -> NameResolution | None:
    raw = normalize(written).strip()
    if not raw:
        return None

    def found(key: str, score: float = 1.0) -> NameResolution | None:
        hit = tax._keys.get(key)
        if not hit:
            return None
        name, via = hit
        return NameResolution(
            name=name, group=tax.group_of(name), score=score, via=via, written=written
        )

    text = _key(raw)
    for _ in range(3):  # "1. √ 研发设计应用"
        stripped = _ENUM.sub("", text)
        if stripped == text:
            break
        text = stripped
    if r := found(text):
        return r
    outside = _BRACKETED.sub("", text)
    if outside and (r := found(outside)):
        return r
    for inner in _BRACKETED.findall(text):
        if inner and (r := found(inner)):
            return r
    # "其他工业APP应用（请说明）：OA" — a known name followed by a separator or bracket
    best: tuple[int, str] | None = None
    for key in tax._keys:
        if len(key) >= 3 and text.startswith(key) and len(text) > len(key):
            nxt = text[len(key)]
            if (nxt in _SEPARATORS or nxt in "([【〔{") and (best is None or len(key) > best[0]):
                best = (len(key), key)
    if best and (r := found(best[1])):
        return r
    # "基础云服务-安全-数据安全" — the last path segment that names one
    segments = [s for s in regex.split(f"[{regex.escape(_SEPARATORS)}]", outside or text) if s]
    if len(segments) > 1:
        for seg in reversed(segments):
            if r := found(seg):
                return r
    # OCR'd forms: one character misread as a look-alike (数据厍 → 数据库)
    probe = outside or text
    confusable = tax.matching.confusable_map()
    for key, (name, _via) in tax._keys.items():
        if len(key) == len(probe) >= 3:
            diff = [(a, b) for a, b in zip(key, probe) if a != b]
            if len(diff) == 1 and diff[0][1] in confusable.get(diff[0][0], ()):
                return NameResolution(
                    name=name, group=tax.group_of(name), score=tax.matching.quality.confusable,
                    via="fuzzy", written=written,
                )
    # … or any one wrong character, when the nearest name is clearly the nearest
    if len(probe) < _FUZZY_MIN_LEN:
        return None
    ranked = process.extract(probe, list(tax._keys), scorer=fuzz.ratio, limit=8)
    best_by_name: dict[str, float] = {}
    for key, score, _ in ranked:
        name = tax._keys[key][0]
        best_by_name[name] = max(best_by_name.get(name, 0.0), score)
    order = sorted(best_by_name.items(), key=lambda kv: -kv[1])
    if not order or order[0][1] < _FUZZY_MIN_SCORE:
        return None
    if len(order) > 1 and order[0][1] - order[1][1] < _FUZZY_MARGIN:
        return None
    name, score = order[0]
    return NameResolution(
        name=name, group=tax.group_of(name), score=round(score / 100, 4), via="fuzzy",
        written=written,
    )


# --------------------------------------------------------------------------- loading


def load_taxonomy(path: str | Path | None = None) -> Taxonomy:
    """Load and validate the taxonomy (the packaged ``taxonomy.yaml`` unless ``path`` is given).

    The default file is read once per process; pass a path to read another (e.g. an expert's
    edited copy) — errors name the offending subdomain or term.
    """
    if path is None:
        return _load_default()
    return _load(Path(path))


@lru_cache(maxsize=1)
def _load_default() -> Taxonomy:
    return _load(DEFAULT_PATH)


def _load(path: Path) -> Taxonomy:
    return load_yaml_model(path, Taxonomy)


def resolve_subdomain_name(written: str, taxonomy: Taxonomy | None = None) -> NameResolution | None:
    """Resolve what a form writes for a subdomain to its canonical name, or ``None``.

    Tries, in order: the exact name/alias; without enumeration marks (``1.``, ``√``) and bracketed
    parts (``企业资源规划（ERP）``, ``（请说明）``); the bracket's content (``（ERP）``); a known name
    followed by a separator (``其他工业APP应用：OA``); the last path segment
    (``基础云服务-安全-数据安全``); finally, for 4+ characters, the nearest name by rapidfuzz ratio
    when it scores ≥ 75 (one wrong character in four) and beats the runner-up by 10.
    """
    return (taxonomy or load_taxonomy()).resolve(written)


def normalise_subdomain_name(written: str, taxonomy: Taxonomy | None = None) -> str | None:
    """The canonical subdomain name a form means by ``written`` ("ERP" → "企业资源规划"), or None."""
    r = resolve_subdomain_name(written, taxonomy)
    return r.name if r else None
