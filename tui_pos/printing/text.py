"""Text as a receipt printer prints it: what each character becomes, and how many columns it takes.

Two kinds of printer (``[printer] chinese``):

- Chinese mode (most printers sold in China): text is sent as GB18030, only the GBK part of it
  (see render.py), the part every Chinese printer has. A character takes as many
  columns of Font A as it has GBK bytes: ASCII one, everything else (CJK, fullwidth forms, even
  ``é``) two. ``¥`` (U+00A5) has no GBK code, so it becomes ``￥``; a letter GBK lacks loses
  its accent (``ñ`` -> ``n``); anything else GBK cannot encode becomes ``?``.
- Code-page mode (Latin printers): one column per character; accented Latin letters go through
  the printer's code pages (python-escpos picks them); what no common code page has is folded
  (fullwidth ``Ａ`` -> ``A``, ``￥`` -> ``¥``, ``ő`` -> ``o``) or becomes ``?``.

Every layout decision is made on folded text, so what is measured is what is printed.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

# Code pages that (almost) every ESC/POS printer has; a character outside all of them is folded.
LATIN_CODEPAGES = ("cp437", "cp850", "cp858", "cp1252", "cp866", "cp852")


@lru_cache(maxsize=8192)
def _fold_cjk(char: str) -> tuple[str, int]:
    if char == "¥":
        char = "￥"
    if char in "\t\n\r":
        return " ", 1
    if unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co", "Cn", "Mn"):
        return "", 0
    for candidate in (char, unicodedata.normalize("NFKC", char), unicodedata.normalize("NFKD", char)[:1]):
        try:
            encoded = candidate.encode("gbk")
        except UnicodeEncodeError:
            continue
        if candidate:
            return candidate, len(encoded)
    return "?", 1


def _latin_ok(char: str) -> bool:
    if ord(char) < 128:
        return True
    for codepage in LATIN_CODEPAGES:
        try:
            char.encode(codepage)
            return True
        except UnicodeEncodeError:
            continue
    return False


@lru_cache(maxsize=8192)
def _fold_latin(char: str) -> tuple[str, int]:
    if char == "￥":
        char = "¥"
    if char in "\t\n\r":
        return " ", 1
    if unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co", "Cn", "Mn"):
        return "", 0
    if _latin_ok(char):
        return char, 1
    compat = unicodedata.normalize("NFKC", char)  # fullwidth forms, ideographic space
    if len(compat) == 1 and _latin_ok(compat):
        return compat, 1
    base = unicodedata.normalize("NFKD", char)[:1]  # an accented letter no code page has
    if base and ord(base) < 128 and base.isalpha():
        return base, 1
    return "?", 1


def fold(text: str, chinese: bool) -> str:
    """The text as the printer will print it (see the module docstring)."""
    fold_char = _fold_cjk if chinese else _fold_latin
    return "".join(fold_char(c)[0] for c in unicodedata.normalize("NFC", text))


def width(text: str, chinese: bool) -> int:
    """Columns of Font A that folded text takes."""
    fold_char = _fold_cjk if chinese else _fold_latin
    return sum(fold_char(c)[1] for c in text)


def clip(text: str, columns: int, chinese: bool) -> str:
    """The longest prefix of folded text that fits in columns (a 2-column character is never cut)."""
    fold_char = _fold_cjk if chinese else _fold_latin
    used = 0
    for index, char in enumerate(text):
        used += fold_char(char)[1]
        if used > columns:
            return text[:index]
    return text


def wrap(text: str, columns: int, chinese: bool) -> list[str]:
    """Folded text broken into lines of at most columns: at a space when there is one in the
    second half of the line, else anywhere (CJK text has no spaces to break at). A leading
    indent is kept on the first line."""
    text = fold(text, chinese).rstrip()  # leading spaces are an indent: kept on the first line
    lines: list[str] = []
    while width(text, chinese) > columns:
        head = clip(text, columns, chinese)
        cut = head.rfind(" ")
        if cut >= len(head) // 2 and head[:cut].strip():
            head = head[:cut]
        lines.append(head.rstrip())
        text = text[len(head):].lstrip()
    if text or not lines:
        lines.append(text)
    return lines


def pad_right(text: str, columns: int, chinese: bool) -> str:
    """Folded text followed by spaces up to columns (a label in a column of figures)."""
    text = fold(text, chinese)
    return text + " " * max(columns - width(text, chinese), 0)


def pad_between(left: str, right: str, columns: int, chinese: bool) -> list[str]:
    """``left ... right`` on one line of exactly columns; when both do not fit, left wraps and
    right goes at the end of the last line, or on a line of its own (right-aligned, or
    wrapped if it is wider than the paper)."""
    left, right = fold(left, chinese), fold(right, chinese)
    right_w = width(right, chinese)
    if right_w > columns:  # e.g. a 32-digit payment reference on 32 columns: never cut it
        return (wrap(left, columns, chinese) if left.strip() else []) + wrap(right, columns, chinese)
    lines = wrap(left, columns, chinese) if left else [""]
    last_w = width(lines[-1], chinese)
    if last_w + 1 + right_w <= columns or (not lines[-1] and right_w <= columns):
        gap = columns - last_w - right_w
        lines[-1] = lines[-1] + " " * gap + right
    else:
        lines.append(" " * (columns - right_w) + right)
    return lines
