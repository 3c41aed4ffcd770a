"""Text folding shared by the parsers: one character for one, so match spans stay valid."""

from __future__ import annotations

_WIDTH: dict[int, int] = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}  # full-width ASCII
_WIDTH.update({0x3000: 0x20, 0x00A0: 0x20, 0x202F: 0x20})  # ideographic / no-break spaces
_WIDTH.update({cp: 0x20 for cp in range(0x2000, 0x200B)})  # typographic spaces
_WIDTH.update({0xFFE5: 0xA5, 0xFFE0: 0xA2})  # full-width yen/yuan and cent signs


def fold_width(text: str) -> str:
    """Full-width → half-width and odd spaces → space, one character for one."""
    return text.translate(_WIDTH)


MIDDLE_DOTS = frozenset("\u00b7\u2022\u2027\u2219\u30fb\uff65")
"""Dropped when matching names: 金蝶云·星空 = 金蝶云星空."""
BRACKETS = frozenset("()[]{}【】〔〕<>《》")

_ASCII_LOWER = str.maketrans({chr(c): chr(c + 32) for c in range(ord("A"), ord("Z") + 1)})


def is_latin(ch: str) -> bool:
    """An ASCII letter or digit: the characters that form Latin tokens (ECS, U9, 1688)."""
    return ch.isascii() and ch.isalnum()


def fold_ascii_case(text: str) -> str:
    """ASCII-only lower-casing: keeps the string's length (offsets stay valid)."""
    return text.translate(_ASCII_LOWER)


def normalize_with_offsets(text: str, dropped: frozenset[str] = MIDDLE_DOTS) -> tuple[str, list[int]]:
    """NFKC, ``dropped`` characters removed, whitespace removed except between Latin tokens.

    Returns the text and, for every output character, the index of the input character it came
    from, so a match in normalised text can be traced back to the original line (and its words).
    """
    import unicodedata

    out: list[str] = []
    origin: list[int] = []
    space_at = -1  # index of the last whitespace skipped since the last kept character
    for i, ch in enumerate(text):
        for c in unicodedata.normalize("NFKC", ch):
            if c in dropped:
                continue
            if c.isspace():
                space_at = i
                continue
            if space_at >= 0 and out and is_latin(out[-1]) and is_latin(c):
                out.append(" ")
                origin.append(space_at)
            space_at = -1
            out.append(c)
            origin.append(i)
    # a dot between two Chinese characters is a misread middle dot (金蝶云.星空)
    for k in range(len(out) - 2, 0, -1):
        if out[k] == "." and not out[k - 1].isascii() and not out[k + 1].isascii():
            del out[k]
            del origin[k]
    return "".join(out), origin
