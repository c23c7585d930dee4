"""The chart widgets' drawing (tui_pos/ui/widgets/bars.py): bars as long as their share of the
largest, at least a step for any amount above zero, none for zero; the console's columns of full
blocks. (On screen: tests/ui/screens/test_stock_warnings.py.)"""

from __future__ import annotations

from tui_pos.ui.widgets.bars import FULL, bar, bar_lines
from tui_pos.ui.widgets.hour_chart import bar_rows


def test_a_bar_is_its_share_of_the_largest_in_eighths_or_whole_cells():
    assert bar(600, 600, 10, eighths=True) == FULL * 10
    assert bar(300, 600, 10, eighths=True) == FULL * 5
    assert bar(250, 600, 10, eighths=True) == FULL * 4 + "▏"  # 4.166 cells: 4 and an eighth
    assert bar(250, 600, 10, eighths=False) == FULL * 4
    assert bar(1, 600, 10, eighths=False) == FULL  # above zero: at least a step
    assert bar(0, 600, 10, eighths=True) == bar(-5, 600, 10, eighths=True) == bar(5, 0, 10, eighths=True) == ""


def test_labelled_bars_line_up_whatever_the_labels_width():
    lines = bar_lines([("失窃", 600, "6.00"), ("damaged", 200, "2.00"), ("other", 0, "0.00")], 6, eighths=False)
    assert lines == [f"失窃     {FULL * 6}  6.00", f"damaged  {FULL * 2}      2.00", "other" + " " * 12 + "0.00"]


def test_the_console_sparkline_is_columns_of_full_blocks_top_row_first():
    def columns(values: list[int], height: int) -> list[str]:  # as DailyChart draws them on the console
        return bar_rows(values, height, eighths=False, width=1, gap="")

    assert columns([0, 1, 4, 2], 4) == ["  " + FULL, "  " + FULL, "  " + FULL * 2, " " + FULL * 3]
    assert columns([], 3) == ["", "", ""]
