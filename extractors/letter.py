"""Facts of explanation letters (说明) and private-cloud documents (建设方案 / 用户手册).

Explanations (kind ``explanation``): ``explains`` — cloud_deployment (the co-sealed letter a
contract without 云服务 wording needs), data_device (数据和设备上云情况说明) or innovation
(创新应用情况说明) —, the 落款 ``date``, the ``subdomains`` the letter names, and what a
cloud-deployment letter restates about its purchase: ``about_contract`` (合同编号), buyer /
buyer_tax_id, seller = ``about_provider`` = ``provider``, ``amount_yuan``.

Private-cloud documents (kind ``private_cloud_doc``): ``title`` (a cover page prints the company
and the document title on separate lines), ``date`` (编制日期), ``provider`` (who builds the
platform: "平台由X提供软件及实施服务"), ``platform`` (华为云Stack, ZStack …).

Both: ``cloud_keywords_present`` (the literal 云服务/云产品 test of ``extractors/cloud_wording``).
Only what the letter prints is reported: a data letter that mentions 华为云 in passing names no
provider, and the service period a deployment letter restates belongs to the contract's facts.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import regex
import yaml

from classifiers.taxonomy import load_taxonomy, resolve_subdomain_name
from extractors.contract import (
    TextStream,
    company_name,
    company_regex,
    known_legal_name,
    label_regex,
    labelled,
    repair_digits,
    set_cloud_keywords,
    split_atom,
    table_atoms,
)
from extractors.dates import find_dates
from extractors.facts import DocumentFacts, ExtractionContext, FieldValue
from extractors.layout import Located, reading_order, sub_bbox
from extractors.money import find_amounts
from extractors.uscc import find_codes
from pipeline.model import Page, clamp_bbox

__all__ = ["extract", "letter_kind", "named_subdomains"]

_DATA_FILE = Path(__file__).with_name("data") / "letter_fields.yaml"


@lru_cache(maxsize=1)
def _data() -> dict[str, Any]:
    return yaml.safe_load(_DATA_FILE.read_text(encoding="utf-8"))


def _squash(text: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFKC", text) if not ch.isspace())


# --------------------------------------------------------------------------- which letter


def letter_kind(pages: Sequence[Page]) -> tuple[str, Located] | None:
    """(explains, where) from the title's words, else from the body's."""
    cfg = _data()["explains"]
    lines = [ln for ln in reading_order(pages[0].lines)][: cfg["title_lines"]] if pages else []
    kinds = [(entry["kind"], [_squash(w) for w in entry["words"]]) for entry in cfg["kinds"]]
    for scope in (lines, [ln for p in pages for ln in reading_order(p.lines)]):
        for line in scope:  # the earliest line that says which kind: the title before the body
            t = _squash(line.text)
            for kind, words in kinds:
                if any(w in t for w in words):
                    return kind, Located(line.text, _page_of(pages, line), list(line.bbox),
                                         line.confidence, line.text)
    return None


def _page_of(pages: Sequence[Page], line) -> int:
    for p in pages:
        if any(ln is line for ln in p.lines):
            return p.number
    return pages[0].number


# --------------------------------------------------------------------------- subdomains


@dataclass(frozen=True)
class _Named:
    name: str
    where: Located
    score: float


def _resolve(written: str) -> tuple[str, float] | None:
    cfg = _data()["subdomains"]
    written = written.strip(" \t:：.。、，,")
    if len(written) < 2:
        return None
    r = resolve_subdomain_name(written, load_taxonomy())
    if r is None:
        return None
    if r.via == "fuzzy":
        # one misread character, not a different (shorter) name: 创新应用 is no 其他创新应用
        if r.score < cfg["min_fuzzy_score"] or len(_squash(written)) < len(_squash(r.name)) - 1:
            return None
    return r.name, r.score


def _from_items(stream: TextStream) -> list[_Named]:
    cfg = _data()["subdomains"]
    mark = regex.compile(cfg["item_marks"])
    ends = set(cfg["item_end"])
    out: list[_Named] = []
    pos = 0
    for chunk in stream.text.split("\n"):
        m = mark.match(chunk)
        if m:
            s = m.end()
            e = next((i for i in range(s, len(chunk)) if chunk[i] in ends), len(chunk))
            if e - s <= 20 and (r := _resolve(chunk[s:e])) and (loc := stream.locate(pos + s, pos + e)):
                out.append(_Named(r[0], loc, r[1]))
        pos += len(chunk) + 1
    return out


def _from_listings(stream: TextStream) -> list[_Named]:
    cfg = _data()["subdomains"]
    seps = regex.escape(cfg["list_separators"])
    out: list[_Named] = []
    for pattern in cfg["listings"]:
        for m in regex.finditer(pattern, stream.text):
            s0 = m.start("list")
            for piece in regex.finditer(rf"[^{seps}]+", m.group("list")):
                r = _resolve(piece.group())
                if r and (loc := stream.locate(s0 + piece.start(), s0 + piece.end())):
                    out.append(_Named(r[0], loc, r[1]))
    return out


def _from_tables(pages: Sequence[Page]) -> list[_Named]:
    """Cells of a table's 子域 column."""
    headers = {_squash(h) for h in _data()["subdomains"]["column_headers"]}
    out: list[_Named] = []
    for page in pages:
        atoms = table_atoms(page)
        for head in [a for a in atoms if _squash(a.text) in headers]:
            row = sorted((a for a in atoms if abs(a.cy - head.cy) < 0.6 * head.h), key=lambda a: a.bbox[0])
            right = next((a.bbox[0] for a in row if a.bbox[0] > head.bbox[2] - 0.005), 2.0)
            left_n = [a.bbox[2] for a in row if a.bbox[2] < head.bbox[0] + 0.005]
            lo = (max(left_n) + head.bbox[0]) / 2 if left_n else head.bbox[0] - 0.05
            hi = right - 0.005
            for a in sorted(atoms, key=lambda a: a.cy):
                if a.cy <= head.cy + 0.5 * head.h:
                    continue
                parts = [a] if a.bbox[2] - a.bbox[0] <= (hi - lo) * 1.2 else split_atom(a)
                for p in parts:
                    width = max(p.bbox[2] - p.bbox[0], 1e-4)
                    inside = min(p.bbox[2], hi) - max(p.bbox[0], lo)
                    if inside < 0.7 * width:
                        continue
                    if r := _resolve(p.text):
                        out.append(_Named(r[0], Located(p.text, page.number, list(clamp_bbox(p.bbox)), p.conf, p.text), r[1]))
    return out


def named_subdomains(pages: Sequence[Page], stream: TextStream | None = None) -> list[_Named]:
    """Every subdomain the letter names (first mention of each), in reading order of sources."""
    stream = stream or TextStream(pages)
    seen: dict[str, _Named] = {}
    for n in _from_items(stream) + _from_tables(pages) + _from_listings(stream):
        if n.name not in seen:
            seen[n.name] = n
    return list(seen.values())


# --------------------------------------------------------------------------- purchase facts


def _purchase(facts: DocumentFacts, stream: TextStream) -> None:
    cfg = _data()["purchase"]
    company = company_regex().pattern
    joiners = "|".join(map(regex.escape, cfg["joiners"]))
    signed = "|".join(map(regex.escape, cfg["signed_words"]))
    clause = regex.compile(
        rf"(?P<buyer>{company})\s*(?:[(（](?P<inner>[^)）]{{0,40}})[)）])?\s*(?:{joiners})\s*"
        rf"(?P<seller>{company})\s*(?:于[^。；]{{0,20}}?)?(?:{signed})"
    )
    m = clause.search(stream.text)
    if m:
        buyer = stream.locate(*m.span("buyer"))
        seller = stream.locate(*m.span("seller"))
        if buyer:
            facts.set("buyer", buyer.value, buyer)
        if m.group("inner"):
            codes = find_codes(m.group("inner"))
            if codes:
                code, s, e = codes[0]
                where = stream.locate(m.start("inner") + s, m.start("inner") + e)
                facts.set("buyer_tax_id", code.code, where,
                          confidence=(where.confidence if where else 0.5) * (1.0 if code.valid else 0.6))
        if seller:
            name = seller.value
            known = known_legal_name(name)
            conf = seller.confidence
            if known and _squash(known[0]) != _squash(name):
                name, conf = known[0], conf * known[1]
            facts.set("seller", name, seller, confidence=conf)
            facts.set("about_provider", name, seller, confidence=conf)
    number = regex.compile(r"[A-Za-z0-9][A-Za-z0-9_/.\-]{3,40}")
    for lm in label_regex(tuple(cfg["contract_number_labels"])).finditer(stream.text):
        v = number.match(stream.text, lm.end())
        if v and (loc := stream.locate(*v.span())):
            facts.set("about_contract", v.group(), loc)
            break
    for lm in label_regex(tuple(cfg["amount_labels"])).finditer(stream.text):
        window = stream.digits[lm.end() : lm.end() + 30]
        window = window.split("。")[0]
        amounts = find_amounts(window)
        lower = [a for a in amounts if a.form == "lowercase"]
        upper = [a for a in amounts if a.form == "uppercase"]
        if lower and (loc := stream.locate(lm.end() + lower[0].start, lm.end() + lower[0].end)):
            facts.set("amount_yuan", float(lower[0].value), loc)
        if upper and (loc := stream.locate(lm.end() + upper[0].start, lm.end() + upper[0].end)):
            facts.set("amount_uppercase_yuan", float(upper[0].value), loc)
        if lower or upper:
            break


def _provider(facts: DocumentFacts, pages: Sequence[Page], stream: TextStream) -> None:
    cfg = _data()["provider"]
    hits = labelled(pages, cfg["signature_labels"], company_regex())
    hits += labelled(pages, cfg["labels"], company_regex())
    where: Located | None = hits[0] if hits else None
    if where is None:
        for pattern in cfg["phrases"]:
            for m in regex.finditer(pattern, stream.text):
                span = company_name(m.group("name"))
                if span:
                    where = stream.locate(m.start("name") + span[0], m.start("name") + span[1])
                    break
            if where:
                break
    if where is not None:
        name, conf = where.value, where.confidence
        known = known_legal_name(name)
        if known and _squash(known[0]) != _squash(name):
            name, conf = known[0], conf * known[1]
        facts.set("provider", name, where, confidence=conf)
        return
    seller = facts.fields.get("seller")
    if seller is not None:
        facts.set("provider", seller.value, seller)


def _date(facts: DocumentFacts, pages: Sequence[Page]) -> None:
    cfg = _data()["date"]
    tries = [([label], False) for label in cfg["labels"]] + [(cfg.get("line_labels") or [], True)]
    for labels, at_start in tries:
        for hit in labelled(pages, labels, at_start=at_start) if labels else []:
            ds = find_dates(repair_digits(hit.value))
            if ds:
                facts.set("date", ds[0].value.isoformat(), hit)
                return
    standalone: list[tuple[Any, Located]] = []
    for page in pages:
        for line in reading_order(page.lines):
            # a date on a line of its own (a seal's stray character or two may sit beside it)
            found = find_dates(repair_digits(line.text))
            if (
                len(found) == 1
                and not line.text[: found[0].start].strip()
                and len(_squash(found[0].raw)) >= 0.7 * len(_squash(line.text))
            ):
                d = found[0]
                standalone.append((d.value, Located(line.text[d.start : d.end], page.number,
                                                    sub_bbox(line, d.start, d.end), line.confidence, line.text)))
    if standalone:
        d, where = standalone[-1]  # the 落款 closes the letter
        facts.set("date", d.isoformat(), where)


# --------------------------------------------------------------------------- private cloud


def _title(pages: Sequence[Page]) -> Located | None:
    cfg = _data()["title"]
    endings = tuple(_squash(e) for e in cfg["endings"])
    lines = reading_order(pages[0].lines) if pages else []
    for n, line in enumerate(lines[: cfg["max_lines"]]):
        if _squash(line.text).endswith(endings):
            parts = lines[: n + 1]
            text = "".join(_squash(p.text) for p in parts)
            if len(text) > cfg["max_chars"]:
                return None
            box = clamp_bbox((min(p.bbox[0] for p in parts), min(p.bbox[1] for p in parts),
                              max(p.bbox[2] for p in parts), max(p.bbox[3] for p in parts)))
            return Located(text, pages[0].number, box, min(p.confidence for p in parts),
                           "\n".join(p.text for p in parts))
    return None


def _platform(facts: DocumentFacts, pages: Sequence[Page], stream: TextStream) -> None:
    cfg = _data()["platform"]
    known = sorted(cfg["known"], key=len, reverse=True)
    known_re = regex.compile("|".join(r"\s*".join(map(regex.escape, _squash(k))) for k in known),
                             regex.IGNORECASE)
    for pattern in cfg["phrases"]:
        for m in regex.finditer(pattern, stream.text):
            k = known_re.search(m.group("name"))
            if k:
                loc = stream.locate(m.start("name") + k.start(), m.start("name") + k.end())
                facts.set("platform", _canonical_platform(k.group(), known), loc)
                return
    for hit in labelled(pages, cfg["labels"]):
        if k := known_re.search(hit.value):
            facts.set("platform", _canonical_platform(k.group(), known), hit)
            return
    k = known_re.search(stream.text)
    if k and (loc := stream.locate(*k.span())):
        facts.set("platform", _canonical_platform(k.group(), known), loc, confidence=loc.confidence * 0.8)


def _canonical_platform(found: str, known: list[str]) -> str:
    key = _squash(found).lower()
    return next((k for k in known if _squash(k).lower() == key), found)


# --------------------------------------------------------------------------- entry point


def extract(pages: list[Page], ctx: ExtractionContext) -> DocumentFacts:
    facts = DocumentFacts()
    stream = TextStream(pages)
    _date(facts, pages)
    set_cloud_keywords(facts, pages)
    if ctx.kind == "private_cloud_doc":
        if (title := _title(pages)) is not None:
            facts.set("title", title.value, title)
        _provider(facts, pages, stream)
        _platform(facts, pages, stream)
        return facts
    kind = letter_kind(pages)
    if kind is not None:
        facts.set("explains", kind[0], kind[1])
    _purchase(facts, stream)
    _provider(facts, pages, stream)
    if "provider" in facts.fields and "about_provider" not in facts.fields and "about_contract" in facts.fields:
        facts.fields["about_provider"] = facts.fields["provider"]
    named = named_subdomains(pages, stream)
    if named:
        first = named[0].where
        facts.fields["subdomains"] = FieldValue(
            [n.name for n in named], first.page, first.bbox,
            min(n.where.confidence * n.score for n in named), "、".join(n.where.value for n in named),
        )
    return facts
