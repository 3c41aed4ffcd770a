"""Identifiers: GB 32100-2015 unified social credit codes, GB 11714 organisation codes,
invoice numbers and check codes.

Codes are generated, never real: the organisation-code part is random, only its check
characters follow the standards so that validators behave as on real documents.
"""

from __future__ import annotations

import random

USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
# characters usable inside the 9-character organisation code of a USCC (USCC alphabet)
_ORG_BODY = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def uscc_check_char(first17: str) -> str:
    """GB 32100-2015 check character for the first 17 characters."""
    if len(first17) != 17 or any(c not in USCC_CHARS for c in first17):
        raise ValueError(f"not 17 USCC characters: {first17!r}")
    total = sum(USCC_CHARS.index(c) * w for c, w in zip(first17, USCC_WEIGHTS))
    return USCC_CHARS[(31 - total % 31) % 31]


def uscc_is_valid(code: str) -> bool:
    return (
        len(code) == 18
        and all(c in USCC_CHARS for c in code)
        and uscc_check_char(code[:17]) == code[17]
    )


def _org_value(c: str) -> int:
    return int(c) if c.isdigit() else ord(c) - ord("A") + 10


def org_check_char(first8: str) -> str:
    """GB 11714 check character of a 9-character organisation code."""
    c = 11 - sum(_org_value(ch) * w for ch, w in zip(first8, _ORG_WEIGHTS)) % 11
    return {10: "X", 11: "0"}.get(c, str(c))


def make_uscc(rng: random.Random, division: str, registry: str = "91", valid: bool = True) -> str:
    """A fictitious credit code for ``division`` (6 digits, e.g. ``320100``).

    ``registry`` is the first two characters (``91`` = enterprise registered with market
    regulation). With ``valid=False`` the 18th character is deliberately wrong.
    """
    if len(division) != 6 or not division.isdigit():
        raise ValueError(f"division must be 6 digits: {division!r}")
    while True:
        body = "MA" + "".join(rng.choice(_ORG_BODY) for _ in range(6))
        chk = org_check_char(body)
        if chk in USCC_CHARS:  # 'X' is not in the USCC alphabet: draw again
            break
    first17 = registry + division + body + chk
    good = uscc_check_char(first17)
    if valid:
        return first17 + good
    bad = [c for c in USCC_CHARS if c != good]
    return first17 + rng.choice(bad)


def make_digital_invoice_number(rng: random.Random, year: int, province: str = "32") -> str:
    """20-digit 数电发票 number: yy + 2-digit province + issuing channel + 15-digit sequence."""
    return f"{year % 100:02d}{province}2" + "".join(str(rng.randrange(10)) for _ in range(15))


def make_vat_invoice_code(rng: random.Random, year: int, kind: str, province: str = "3200") -> str:
    """12-digit 发票代码 of the older 增值税普通/专用发票 (paper family)."""
    kind_digit = {"专用": "1", "普通": "4"}[kind]
    return f"{province}{year % 100:02d}{kind_digit}" + "".join(
        str(rng.randrange(10)) for _ in range(5)
    )


def make_vat_invoice_no(rng: random.Random) -> str:
    return "".join(str(rng.randrange(10)) for _ in range(8))


def make_check_code(rng: random.Random) -> str:
    """20-digit 校验码 printed in blocks of five on 普通发票."""
    return "".join(str(rng.randrange(10)) for _ in range(20))
