"""Columns as a printer counts them, and what its status bytes mean; expectations by hand."""

from __future__ import annotations

import pytest

from tui_pos.printing.status import parse_status
from tui_pos.printing.text import fold, pad_between, width, wrap


@pytest.mark.parametrize("text, chinese, printed, columns", [
    ("可口可乐 330ml", True, "可口可乐 330ml", 4 * 2 + 6),
    ("¥12.50", True, "￥12.50", 2 + 5),  # U+00A5 has no GBK code: the fullwidth yen has
    ("￥12.50", False, "¥12.50", 6),  # and a code-page printer has only the narrow one
    ("Café", True, "Café", 3 + 2),  # é is a two-byte GBK (pinyin) character
    ("Café", False, "Café", 4),
    ("Ñandú", True, "Nandú", 4 + 2),  # GBK has ú (pinyin, 2 columns) but no Ñ: its accent goes
    ("可乐", False, "??", 2),  # a code-page printer cannot print CJK: one '?' each, never GB18030
    ("Ｃｏｌａ", False, "Cola", 4),  # fullwidth forms folded for code pages
    ("Ｃｏｌａ", True, "Ｃｏｌａ", 8),  # but printed as they are in GBK
    ("tab\there", True, "tab here", 8),
    ("emoji 😀", True, "emoji ?", 7),
    ("zero\u200bwidth", True, "zerowidth", 9),
])
def test_fold_and_width(text, chinese, printed, columns):
    assert fold(text, chinese) == printed
    assert width(printed, chinese) == columns


def test_wrap_breaks_cjk_anywhere_and_latin_at_spaces():
    assert wrap("康师傅红烧牛肉面康师傅红烧牛肉面", 10, True) == ["康师傅红烧", "牛肉面康师", "傅红烧牛肉", "面"]
    assert wrap("Baguette à l'ancienne très longue", 16, False) == ["Baguette à", "l'ancienne très", "longue"]
    assert wrap("可口可乐可口可乐", 5, True) == ["可口", "可乐", "可口", "可乐"]  # 5 columns: a 6th would split 可


def test_pad_between_aligns_the_right_column():
    assert pad_between("可乐", "3.50", 12, True) == ["可乐    3.50"]
    assert pad_between("可口可乐可口", "13.50", 16, True) == ["可口可乐可口", "           13.50"]
    assert pad_between("Ref", "x" * 40, 32, False) == ["Ref", "x" * 32, "x" * 8]


@pytest.mark.parametrize("answers, state, can_print", [
    (bytes([0x12, 0x12, 0x12]), "ready", True),
    (bytes([0x12, 0x12, 0x1E]), "paper_near_end", True),  # n=4: bits 2,3 near-end sensor
    (bytes([0x1A, 0x32, 0x7E]), "paper_out", False),  # offline because the paper ended
    (bytes([0x1A, 0x16, 0x12]), "cover_open", False),
    (bytes([0x1A, 0x12, 0x12]), "offline", False),
    (bytes([0x12]), "ready", True),  # only the first answer arrived
    (b"", "ready_no_status", True),  # never answers: print and trust the buffer
    (b"\x00\xff", "ready_no_status", True),  # not status bytes (fixed bits wrong): no answer
])
def test_status_bytes(answers, state, can_print):
    status = parse_status(answers)
    assert (status.state, status.can_print) == (state, can_print)
