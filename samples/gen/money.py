"""Chinese financial uppercase numerals (大写金额) and money formatting."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_SMALL_UNITS = ("", "拾", "佰", "仟")
_BIG_UNITS = ("", "万", "亿")


def to_fen(amount: float | Decimal | str) -> int:
    return int((Decimal(str(amount)) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _four(n: int) -> str:
    """0 < n < 10000 → 大写 with internal zeros collapsed (no leading 零)."""
    out, zero = [], False
    for pos in range(3, -1, -1):
        d = n // 10**pos % 10
        if d == 0:
            zero = bool(out)
            continue
        if zero:
            out.append("零")
            zero = False
        out.append(_DIGITS[d] + _SMALL_UNITS[pos])
    return "".join(out)


def to_uppercase(amount: float | Decimal | str) -> str:
    """36000 → 叁万陆仟元整; 1005.05 → 壹仟零伍元零伍分; 12.30 → 壹拾贰元叁角."""
    fen = to_fen(amount)
    if fen < 0:
        raise ValueError("negative amount")
    yuan, jiao, fen_ = fen // 100, fen // 10 % 10, fen % 10
    parts: list[str] = []
    if yuan:
        groups = []
        n = yuan
        while n:
            groups.append(n % 10000)
            n //= 10000
        need_zero = False
        for idx in range(len(groups) - 1, -1, -1):
            g = groups[idx]
            if g == 0:
                need_zero = bool(parts)
                continue
            if parts and (need_zero or g < 1000):
                parts.append("零")
            parts.append(_four(g) + _BIG_UNITS[idx])
            need_zero = False
        parts.append("元")
    if not jiao and not fen_:
        return ("".join(parts) or "零元") + "整"
    if jiao:
        parts.append(_DIGITS[jiao] + "角")
    elif yuan:
        parts.append("零")
    if fen_:
        parts.append(_DIGITS[fen_] + "分")
    return "".join(parts)


def fmt(amount: float | Decimal, comma: bool = False) -> str:
    """2-decimal string; ``comma`` adds thousands separators (contracts), invoices print none."""
    fen = to_fen(amount)
    s = f"{fen / 100:,.2f}" if comma else f"{fen / 100:.2f}"
    return s


def r2(x: float | Decimal) -> float:
    return to_fen(x) / 100
