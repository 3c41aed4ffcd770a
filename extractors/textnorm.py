"""Text folding shared by the parsers: one character for one, so match spans stay valid."""

from __future__ import annotations

_WIDTH: dict[int, int] = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}  # full-width ASCII
_WIDTH.update({0x3000: 0x20, 0x00A0: 0x20, 0x202F: 0x20})  # ideographic / no-break spaces
_WIDTH.update({cp: 0x20 for cp in range(0x2000, 0x200B)})  # typographic spaces
_WIDTH.update({0xFFE5: 0xA5, 0xFFE0: 0xA2})  # full-width yen/yuan and cent signs


def fold_width(text: str) -> str:
    """Full-width → half-width and odd spaces → space, one character for one."""
    return text.translate(_WIDTH)
