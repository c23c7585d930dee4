"""Text in terminal columns (issue 16): a Chinese character takes two, a combining accent none.

Python's `f"{name:<10}"` counts characters, so a column of Chinese names (张伟, 可口可乐 330ml)
pushes everything after it right; every list or table a person reads on the terminal (the CLI's
human output, the UI's fixed-width rows) pads and cuts with pad() instead. The widths are the
terminal's (East Asian Wide and Fullwidth: two; what Rich and Textual count too); a receipt
printer counts differently (printing/text.py: GBK bytes).
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache


@lru_cache(maxsize=8192)
def char_columns(char: str) -> int:
    if unicodedata.combining(char) or unicodedata.category(char) in ("Mn", "Me", "Cf"):
        return 0
    return 2 if unicodedata.east_asian_width(char) in "WF" else 1


def columns(text: str) -> int:
    """How many terminal columns text takes."""
    return len(text) if text.isascii() else sum(map(char_columns, text))


def clip(text: str, width: int) -> str:
    """The longest beginning of text that fits in width columns (a wide character is never cut)."""
    if text.isascii():
        return text[:max(width, 0)]
    used = 0
    for index, char in enumerate(text):
        used += char_columns(char)
        if used > width:
            return text[:index]
    return text


def pad(text: str, width: int, align: str = "<") -> str:
    """text cut or padded to exactly width columns: '<' left (the default), '>' right."""
    text = clip(text, width)
    fill = " " * (width - columns(text))
    return fill + text if align == ">" else text + fill
