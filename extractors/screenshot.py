"""Facts of a console / SaaS screenshot: who it belongs to, when it was taken, what it shows.

Fields: ``captured_at`` (``2024-09-05T10:21``) and ``date`` from the taskbar clock,
``account_name`` (the signed-in company at the top bar's right), ``provider`` (the console's
brand at the top bar's left, reported by the provider's legal name), ``products`` (canonical
product names of that provider seen in the main area).

A screenshot is read by regions (``data/screenshot_fields.yaml`` → layout): the left sidebar is
a menu — it lists products whether or not the company uses them — so products count only where
the screen *shows* them (breadcrumb, title, cards, table). A SaaS workbench that names no module
in its main area shows its brand product (用友YonSuite). Dates in tables (expiry, order dates)
are never the capture date: only the taskbar clock is.
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

from extractors.contract import provider_legal_name, repair_digits
from extractors.dates import find_dates
from extractors.facts import DocumentFacts, ExtractionContext, FieldValue
from extractors.layout import Located, reading_order, sub_bbox
from extractors.providers import find_providers
from extractors.textnorm import MIDDLE_DOTS, fold_width
from pipeline.model import Line, Page

__all__ = ["Product", "extract", "find_products", "screen_provider"]

_DATA_FILE = Path(__file__).with_name("data") / "screenshot_fields.yaml"
_DROP = MIDDLE_DOTS | frozenset("/|／丨>›")


@lru_cache(maxsize=1)
def _data() -> dict[str, Any]:
    return yaml.safe_load(_DATA_FILE.read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def _lookalikes() -> dict[int, str]:
    return str.maketrans({str(k): str(v) for k, v in (_data().get("lookalikes") or {}).items()})


def _key_with_offsets(text: str) -> tuple[str, list[int]]:
    """NFKC, spaces/middle dots/slashes removed, ASCII lower-cased, OCR look-alikes read as
    what they stand for; with each character's origin."""
    out: list[str] = []
    origin: list[int] = []
    for i, ch in enumerate(text.translate(_lookalikes())):
        for c in unicodedata.normalize("NFKC", ch):
            if c.isspace() or c in _DROP:
                continue
            out.append(c.lower() if c.isascii() else c)
            origin.append(i)
    return "".join(out), origin


def _key(text: str) -> str:
    return _key_with_offsets(text)[0]


@dataclass(frozen=True)
class Product:
    name: str
    provider: str
    brand_product: bool
    shown: tuple[str, ...]


@lru_cache(maxsize=1)
def _catalog() -> tuple[Product, ...]:
    out = []
    for provider, items in (_data().get("products") or {}).items():
        for item in items:
            shown = tuple(_key(s) for s in item.get("shown") or [item["name"]])
            out.append(Product(str(item["name"]), str(provider), bool(item.get("brand_product")), shown))
    return tuple(out)


# --------------------------------------------------------------------------- regions


def _layout() -> dict[str, float]:
    return {k: float(v) for k, v in _data()["layout"].items()}


def _header(page: Page) -> list[Line]:
    lay = _layout()
    return [ln for ln in page.lines if ln.bbox[3] <= lay["header_max_y"] + 0.01]


def _taskbar(page: Page) -> list[Line]:
    lay = _layout()
    return [ln for ln in page.lines if ln.bbox[1] >= lay["taskbar_min_y"]]


def _sidebar_edge(page: Page) -> float:
    lay = _layout()
    nav = [
        ln.bbox[2] for ln in page.lines
        if ln.bbox[0] < lay["sidebar_max_x0"] and lay["header_max_y"] < ln.bbox[1] < lay["taskbar_min_y"]
    ]
    if len(nav) < 2:
        return lay["sidebar_default_edge"]
    return min(max(nav) + 0.01, 0.3)


def _main(page: Page) -> list[Line]:
    lay = _layout()
    edge = _sidebar_edge(page)
    return [
        ln for ln in reading_order(page.lines)
        if ln.bbox[0] >= edge and (ln.bbox[1] + ln.bbox[3]) / 2 > lay["header_max_y"]
        and ln.bbox[1] < lay["taskbar_min_y"]
    ]


# --------------------------------------------------------------------------- provider


@dataclass(frozen=True)
class ScreenProvider:
    brand: str
    """The catalog key: a providers.yaml canonical name or a vendor brand."""
    legal_name: str | None
    where: Located


def screen_provider(page: Page) -> ScreenProvider | None:
    """The console's brand in the top bar's left part."""
    lay = _layout()
    repair = _lookalikes()
    for line in sorted(_header(page), key=lambda ln: ln.bbox[0]):
        if line.bbox[0] > lay["brand_max_x"]:
            continue
        text = line.text.translate(repair)
        matches = [m for m in find_providers(text) if m.via != "product" or m.score >= 0.8]
        if matches:
            m = max(matches, key=lambda m: (m.score, -m.start))
            conf = line.confidence * m.score * (1.0 if text == line.text else 0.9)
            where = Located(line.text[m.start : m.end], page.number, sub_bbox(line, m.start, m.end), conf, line.text)
            return ScreenProvider(m.canonical, provider_legal_name(m.canonical), where)
        key, origin = _key_with_offsets(line.text)
        for vendor in _data().get("vendors") or []:
            k = _key(vendor["brand"])
            i = key.find(k)
            if i >= 0:
                s, e = origin[i], origin[i + len(k) - 1] + 1
                where = Located(line.text[s:e], page.number, sub_bbox(line, s, e), line.confidence, line.text)
                return ScreenProvider(str(vendor["brand"]), str(vendor["legal_name"]), where)
    return None


# --------------------------------------------------------------------------- products


@dataclass(frozen=True)
class _Row:
    """Lines sharing a visual row, read as one string (OCR splits a breadcrumb at its spaces)."""

    text: str
    pieces: tuple[tuple[int, int, Line], ...]

    def locate(self, page: int, start: int, end: int) -> Located:
        for s, e, line in self.pieces:
            if s <= start < e:
                a, b = start - s, min(end, e) - s
                return Located(line.text[a:b], page, sub_bbox(line, a, b), line.confidence, line.text)
        s, e, line = self.pieces[-1]
        return Located(line.text, page, list(line.bbox), line.confidence, line.text)


def _rows(lines: Sequence[Line]) -> list[_Row]:
    rows: list[list[Line]] = []
    for line in reading_order(lines):
        cy, h = (line.bbox[1] + line.bbox[3]) / 2, line.bbox[3] - line.bbox[1]
        if rows:
            last = rows[-1][-1]
            lcy, lh = (last.bbox[1] + last.bbox[3]) / 2, last.bbox[3] - last.bbox[1]
            gap = line.bbox[0] - last.bbox[2]
            if abs(cy - lcy) < 0.5 * min(h, lh) and gap < 2.5 * max(h, lh) * 0.8:
                rows[-1].append(line)
                continue
        rows.append([line])
    out = []
    for group in rows:
        text, pieces = "", []
        for line in group:
            if text:
                text += " "
            pieces.append((len(text), len(text) + len(line.text), line))
            text += line.text
        out.append(_Row(text, tuple(pieces)))
    return out


def _hits(text: str, products: Sequence[Product]) -> list[tuple[int, int, Product]]:
    """(start, end, product) in ``text``'s original offsets; a longer product found around a
    shorter one hides it (金蝶云·星空 经营分析 hides 金蝶云·星空)."""
    key, origin = _key_with_offsets(text)
    hits: list[tuple[int, int, Product]] = []
    for p in products:
        for s in p.shown:
            i = key.find(s)
            while i >= 0:
                hits.append((i, i + len(s), p))
                i = key.find(s, i + 1)
    exact = list(hits)
    for p in products:
        if any(h[2] is p for h in exact):
            continue
        for i, n in _one_misread(key, p.shown):
            # 金蝶云·星空 is read right, not 金蝶云·星辰 misread: a misread never overlaps a read
            if not any(o[0] < i + n and i < o[1] for o in exact):
                hits.append((i, i + n, p))
    kept = [h for h in hits if not any(o[0] <= h[0] and h[1] <= o[1] and (o[1] - o[0]) > (h[1] - h[0]) for o in hits)]
    return [(origin[s], origin[e - 1] + 1, p) for s, e, p in kept]


def _one_misread(key: str, shown: Sequence[str]) -> list[tuple[int, int]]:
    """Where a 5+ character name appears with one Chinese character misread (数掘湖计算)."""
    out = []
    for s in shown:
        n = len(s)
        if n < 5 or sum(_is_cjk(c) for c in s) < 4:
            continue
        for i in range(len(key) - n + 1):
            diff = [j for j in range(n) if key[i + j] != s[j]]
            if len(diff) == 1 and _is_cjk(s[diff[0]]) and _is_cjk(key[i + diff[0]]):
                out.append((i, n))
    return out


def _is_cjk(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff"


def find_products(page: Page, brand: str | None) -> list[tuple[Product, Located]]:
    """Products of ``brand`` that the main area shows; else the brand product a SaaS workbench
    names in its top bar or sidebar. With no brand, the products of whichever provider the
    main area names first (a table may cite another vendor's product as a data source)."""
    catalog = [p for p in _catalog() if brand is None or p.provider == brand]
    found: dict[str, tuple[Product, Located]] = {}

    def scan(lines: Sequence[Line], brand_only: bool) -> None:
        for row in _rows(lines):
            for s, e, p in _hits(row.text, [q for q in catalog if q.brand_product or not brand_only]):
                if p.name not in found:
                    found[p.name] = (p, row.locate(page.number, s, e))

    scan(_main(page), brand_only=False)
    edge = _sidebar_edge(page)
    lay = _layout()
    side = [ln for ln in reading_order(page.lines) if ln.bbox[0] < edge and ln.bbox[1] < lay["taskbar_min_y"]]
    if not found:
        # the sidebar's title names the console section the screen is in (云服务器 ECS)
        title = [ln for ln in side if (ln.bbox[1] + ln.bbox[3]) / 2 > lay["header_max_y"]][:1]
        scan(title, brand_only=False)
    if not found:
        scan(side, brand_only=True)
    products = list(found.values())
    if brand is None and products:
        owner = products[0][0].provider
        products = [pl for pl in products if pl[0].provider == owner]
    return products


# --------------------------------------------------------------------------- account, clock


@lru_cache(maxsize=1)
def _company_re() -> regex.Pattern[str]:
    suffixes = sorted(_data()["account_suffixes"], key=len, reverse=True)
    alt = "|".join(regex.escape(s) for s in suffixes)
    return regex.compile(rf"[\p{{Han}}A-Za-z0-9()（）·]{{2,60}}(?:{alt})")


def _account(page: Page) -> Located | None:
    lay = _layout()
    for line in sorted(_header(page), key=lambda ln: -ln.bbox[0]):
        if line.bbox[0] < lay["account_min_x"]:
            continue
        text = fold_width(line.text)
        m = _company_re().search(text)
        if m:
            return Located(m.group(), page.number, sub_bbox(line, m.start(), m.end()), line.confidence, line.text)
    return None


_TIME = regex.compile(r"(?<!\d)([01]?\d|2[0-3])\s*[:：]\s*([0-5]\d)(?!\d)")


def _clock(page: Page) -> tuple[str, str | None, Located] | None:
    """(date, HH:MM or None, where) from the taskbar's right end."""
    lay = _layout()
    lines = [ln for ln in _taskbar(page) if ln.bbox[0] >= lay["clock_min_x"]]
    for line in sorted(lines, key=lambda ln: -ln.bbox[1]):
        text = repair_digits(line.text)
        dates = find_dates(text)
        if len(dates) != 1:
            continue
        d = dates[0]
        rest = text[: d.start] + " " * (d.end - d.start) + text[d.end :]
        t = _TIME.search(rest)
        leftover = _TIME.sub(" ", rest) if t else rest
        if regex.search(r"[0-9A-Za-z\p{Han}]", leftover):
            continue  # 2024/9/1Z is no clock: better no date than a wrong one
        where = Located(line.text[d.start : d.end], page.number, sub_bbox(line, d.start, d.end),
                        line.confidence, line.text)
        if t is None:
            above = [
                o for o in lines
                if o is not line and o.bbox[3] <= line.bbox[1] + 0.01
                and _TIME.fullmatch(repair_digits(o.text).strip())
            ]
            if above:
                t = _TIME.fullmatch(repair_digits(max(above, key=lambda o: o.bbox[3]).text).strip())
        hhmm = f"{int(t.group(1)):02d}:{t.group(2)}" if t else None
        return d.value.isoformat(), hhmm, where
    return None


# --------------------------------------------------------------------------- entry point


def extract(pages: list[Page], ctx: ExtractionContext) -> DocumentFacts:
    facts = DocumentFacts()
    page = pages[0]
    clock = _clock(page)
    if clock is not None:
        day, hhmm, where = clock
        facts.set("date", day, where)
        if hhmm is not None:
            facts.set("captured_at", f"{day}T{hhmm}", where)
    if (account := _account(page)) is not None:
        facts.set("account_name", account.value, account)
    provider = screen_provider(page)
    products = find_products(page, provider.brand if provider else None)
    if provider is None and products:
        brand = products[0][0].provider
        if brand:
            name = provider_legal_name(brand) or next(
                (v["legal_name"] for v in _data().get("vendors") or [] if v["brand"] == brand), None
            )
            if name:
                first = products[0][1]
                facts.set("provider", name, first, confidence=first.confidence * 0.8, raw=brand)
    elif provider is not None and provider.legal_name:
        facts.set("provider", provider.legal_name, provider.where, raw=provider.where.value)
    if products:
        first = products[0][1]
        facts.fields["products"] = FieldValue(
            [p.name for p, _ in products], first.page, first.bbox,
            min(loc.confidence for _, loc in products), "、".join(loc.value for _, loc in products),
        )
    return facts
