"""Unified social credit codes (统一社会信用代码, GB 32100-2015) and old taxpayer ids.

An 18-character code is ``body kind division(6) organisation(9) check``; the check character makes
the weighted sum of all 18 characters ≡ 0 (mod 31) over the 31-character alphabet without
I, O, Z, S, V. Because 31 is prime and every weight is non-zero mod 31, *any* single-character
substitution changes the sum and is detected; that is also why a repair is only trusted when
exactly one single OCR-confusion substitution yields a valid code.

The registering-body/kind table and the OCR confusions live in ``data/uscc.yaml``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from extractors.textnorm import fold_width

__all__ = [
    "ALPHABET",
    "WEIGHTS",
    "CreditCode",
    "check_char",
    "find_codes",
    "parse",
    "validate",
]

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_INDEX = {ch: i for i, ch in enumerate(ALPHABET)}
_DIVISION = range(2, 8)
_MAX_TOKENS = 6
"""OCR splits a code into a few groups (``9132 0106 MA1M XY2K 4P``), never into single letters."""

_DATA_FILE = Path(__file__).with_name("data") / "uscc.yaml"



def _fold(text: str) -> str:
    """Full-width → half-width, one character for one (spans survive)."""
    return fold_width(text)


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class _Kind:
    body: str
    label: str
    enterprise: bool


@dataclass(frozen=True)
class _UsccData:
    kinds: dict[str, _Kind]  # "91" → kind
    jiangsu_prefix: str
    confusions: dict[str, tuple[str, ...]]
    division_lookalikes: dict[str, str]
    labels: tuple[str, ...]
    label_gap: int


@lru_cache(maxsize=1)
def _data() -> _UsccData:
    raw: dict[str, Any] = yaml.safe_load(_DATA_FILE.read_text(encoding="utf-8"))
    kinds: dict[str, _Kind] = {}
    for body_char, body in (raw.get("registering_bodies") or {}).items():
        for kind_char, kind in (body.get("kinds") or {}).items():
            key = f"{body_char}{kind_char}"
            if len(key) != 2 or any(c not in _INDEX for c in key):
                raise ValueError(f"{_DATA_FILE}: bad registering body/kind {key!r}")
            kinds[key] = _Kind(str(body["name"]), str(kind["label"]), bool(kind["enterprise"]))
    confusions = {
        str(k): tuple(str(v) for v in vs) for k, vs in (raw.get("ocr_confusions") or {}).items()
    }
    return _UsccData(
        kinds=kinds,
        jiangsu_prefix=str(raw.get("jiangsu_prefix", "32")),
        confusions=confusions,
        division_lookalikes={
            str(k): str(v) for k, v in (raw.get("division_digit_lookalikes") or {}).items()
        },
        labels=tuple(sorted((str(x) for x in raw.get("labels") or ()), key=len, reverse=True)),
        label_gap=int(raw.get("label_gap", 12)),
    )


# --------------------------------------------------------------------------- check character


def check_char(code17: str) -> str:
    """The GB 32100-2015 check character for the first 17 characters.

    Raises ``ValueError`` if ``code17`` is not 17 characters of the code alphabet (this is a
    computation on a known-good prefix, not a parser; use :func:`parse` on raw text).
    """
    if not isinstance(code17, str) or len(code17) != 17:
        raise ValueError("check_char needs exactly 17 characters")
    total = 0
    for ch, weight in zip(code17.upper(), WEIGHTS, strict=True):
        value = _INDEX.get(ch)
        if value is None:
            raise ValueError(f"{ch!r} is not in the credit-code alphabet")
        total += value * weight
    remainder = 31 - total % 31
    return ALPHABET[0 if remainder == 31 else remainder]


def validate(code: str) -> bool:
    """True iff ``code`` (surrounding spaces and case ignored) is 18 alphabet characters with
    the right check character. No OCR repair: see :func:`parse` for that."""
    if not isinstance(code, str):
        return False
    c = code.strip().upper()
    if len(c) != 18 or any(ch not in _INDEX for ch in c):
        return False
    return check_char(c[:17]) == c[17]


# --------------------------------------------------------------------------- parse


@dataclass(frozen=True)
class CreditCode:
    """A credit code (or old taxpayer id) as read.

    ``valid`` is the GB 32100-2015 check (``None`` for old 15/20-digit tax ids, which have none).
    ``repaired_from`` is the code as read when one OCR confusion was repaired to get ``code``.
    ``enterprise`` is ``None`` when the body/kind prefix is unknown.
    """

    code: str
    valid: bool | None
    division: str | None
    jiangsu: bool | None
    enterprise: bool | None
    kind_label: str | None
    repaired_from: str | None = None
    registering_body: str | None = None
    legacy_tax_id: bool = False

    @property
    def well_formed(self) -> bool:
        """A known body/kind prefix and a six-digit division: looks like a real code."""
        return self.kind_label is not None and self.division is not None


def _normalise(code: str) -> str:
    return re.sub(r"\s+", "", _fold(code)).upper()


def _describe(code: str, valid: bool, repaired_from: str | None = None) -> CreditCode:
    data = _data()
    kind = data.kinds.get(code[:2])
    division = code[2:8] if code[2:8].isdigit() else None
    return CreditCode(
        code=code,
        valid=valid,
        division=division,
        jiangsu=division.startswith(data.jiangsu_prefix) if division else None,
        enterprise=kind.enterprise if kind else None,
        kind_label=kind.label if kind else None,
        repaired_from=repaired_from,
        registering_body=kind.body if kind else None,
    )


def _alternatives(ch: str, pos: int) -> list[str]:
    data = _data()
    alts = list(data.confusions.get(ch, ()))
    if pos in _DIVISION:
        look = data.division_lookalikes.get(ch)
        alts = [a for a in alts if a.isdigit()]
        if look is not None and look not in alts:
            alts.append(look)
    return alts


def _repair(code: str) -> str | None:
    """The one single-confusion substitution that makes ``code`` valid, if exactly one does."""
    forced = [
        i for i, ch in enumerate(code) if ch not in _INDEX or (i in _DIVISION and not ch.isdigit())
    ]
    if len(forced) > 1:
        return None
    positions = forced if forced else range(18)
    found: set[str] = set()
    for pos in positions:
        for alt in _alternatives(code[pos], pos):
            candidate = code[:pos] + alt + code[pos + 1 :]
            if candidate[2:8].isdigit() and validate(candidate):
                found.add(candidate)
    return found.pop() if len(found) == 1 else None


_TAX_ID_15 = re.compile(r"\d{6}[0-9A-Z]{9}")
_TAX_ID_20 = re.compile(r"\d{17}[0-9X]\d{2}")


def _legacy(code: str) -> CreditCode:
    division = code[:6]
    return CreditCode(
        code=code,
        valid=None,
        division=division,
        jiangsu=division.startswith(_data().jiangsu_prefix),
        enterprise=None,
        kind_label=f"旧版纳税人识别号（{len(code)}位）",
        legacy_tax_id=True,
    )


def parse(code: str) -> CreditCode | None:
    """Read one code string: 18 characters (spaces, full width and case ignored; one OCR
    confusion repaired if exactly one repair validates), or a 15/20-digit old taxpayer id.
    Anything else → ``None``. An 18-character code that fails its check is returned with
    ``valid=False`` (so the caller can flag it)."""
    if not isinstance(code, str) or len(code) > 80:
        return None
    c = _normalise(code)
    if not c.isascii() or not c.isalnum():
        return None
    if len(c) == 18:
        if validate(c):
            return _describe(c, True)
        fixed = _repair(c)
        if fixed is not None:
            return _describe(fixed, True, repaired_from=c)
        return _describe(c, False)
    if (len(c) == 15 and _TAX_ID_15.fullmatch(c)) or (len(c) == 20 and _TAX_ID_20.fullmatch(c)):
        return _legacy(c)
    return None


# --------------------------------------------------------------------------- find

_RUN = re.compile(r"[0-9A-Za-z]+(?:[ \t][0-9A-Za-z]+)*")
_TOKEN = re.compile(r"[0-9A-Za-z]+")


@lru_cache(maxsize=1)
def _label_re() -> re.Pattern[str]:
    data = _data()
    labels = "|".join(re.escape(x) for x in data.labels)
    return re.compile(rf"(?:{labels})[\s:()/、\-]{{0,{data.label_gap}}}$")


def _labelled(norm: str, start: int) -> bool:
    data = _data()
    reach = data.label_gap + max((len(x) for x in data.labels), default=0)
    return _label_re().search(norm, max(0, start - reach), start) is not None


def _plausible(candidate: str) -> bool:
    """Cheap filter before the check: a known body/kind and a division of digit look-alikes."""
    data = _data()
    if candidate[:2].upper() not in data.kinds:
        return False
    return all(ch.isdigit() or ch.upper() in data.division_lookalikes for ch in candidate[2:8])


def _accept(candidate: str, labelled: bool) -> CreditCode | None:
    if len(candidate) == 18:
        if not labelled and not _plausible(candidate):
            return None
        code = parse(candidate)
        if code is None:
            return None
        if labelled or (code.valid and code.well_formed):
            return code
        return None
    if labelled:
        code = parse(candidate)
        if code is not None and code.legacy_tax_id:
            return code
    return None


def _rank(code: CreditCode) -> int:
    if code.legacy_tax_id:
        return 1
    return 3 if code.valid else 2


def find_codes(text: str) -> list[tuple[CreditCode, int, int]]:
    """Credit codes and tax ids in ``text`` with their (start, end) spans.

    A valid (possibly repaired) well-formed 18-character code is found anywhere; a code that
    fails its check, and an old 15/20-digit taxpayer id, only right after a label
    (统一社会信用代码, 纳税人识别号, 税号 …) — elsewhere such strings are ID-card, bank-account or
    invoice numbers. OCR spaces inside a code are allowed (up to six groups).
    """
    if not isinstance(text, str) or not text:
        return []
    norm = _fold(text)
    out: list[tuple[CreditCode, int, int]] = []
    for run in _RUN.finditer(norm):
        tokens = [(m.start(), m.end()) for m in _TOKEN.finditer(norm, run.start(), run.end())]
        i = 0
        while i < len(tokens):
            start = tokens[i][0]
            labelled = _labelled(norm, start)
            best: tuple[int, CreditCode, int] | None = None  # (rank, code, last token)
            total = 0
            for j in range(i, min(len(tokens), i + _MAX_TOKENS)):
                total += tokens[j][1] - tokens[j][0]
                if total > 20:
                    break
                if total not in (15, 18, 20):
                    continue
                candidate = "".join(norm[s:e] for s, e in tokens[i : j + 1])
                code = _accept(candidate, labelled)
                if code is not None and (best is None or _rank(code) > best[0]):
                    best = (_rank(code), code, j)
            if best is None and labelled and tokens[i][1] - start > 18:
                # OCR glued the code to what follows: trust the first 18 only if they validate
                code = parse(norm[start : start + 18])
                if code is not None and code.valid:
                    out.append((code, start, start + 18))
            if best is not None:
                _, code, j = best
                out.append((code, start, tokens[j][1]))
                i = j + 1
            else:
                i += 1
    return out
