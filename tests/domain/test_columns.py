"""Terminal columns (issue 16): Chinese two wide, accents none; pad() keeps a table's columns."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from rich.cells import cell_len

from tui_pos.domain.columns import clip, columns, pad


def test_chinese_takes_two_columns_accents_none():
    assert columns("可口可乐 330ml") == 14 and columns("Zoë") == 3 and columns("Zoe\u0308") == 3
    assert columns("￥12.50") == 7  # the fullwidth yen sign is two, as the terminal draws it


def test_pad_cuts_never_half_a_character_and_fills_to_the_width():
    assert pad("张伟", 6) == "张伟  " and pad("张伟", 6, ">") == "  张伟"
    assert pad("可口可乐", 5) == "可口 " and clip("可口可乐", 5) == "可口"  # 可 would need columns 5 and 6
    assert pad("demo", 2) == "de"


def test_a_column_of_mixed_names_lines_up():
    rows = [f"{pad(name, 12)}|" for name in ("张伟", "demo", "Zoë", "可口可乐 330ml", "雪碧 Sprite")]
    assert {columns(row) for row in rows} == {13}


@given(st.text(alphabet=st.sampled_from(list("可乐张伟abc éü￥12ｗ\u0301")), max_size=30), st.integers(0, 40))
def test_pad_is_always_exactly_the_width_and_agrees_with_textual(text, width):
    assert columns(pad(text, width)) == width == cell_len(pad(text, width))
    assert columns(text) == cell_len(text)
