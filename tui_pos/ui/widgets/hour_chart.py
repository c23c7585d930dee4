"""Sales by hour as a bar chart: a column per hour of the day, as tall as the hour's takings.

People look rather than read: the busy hours stand out at a glance. The default theme tops the
bars with eighth blocks; the Linux console's fonts lack those, so the console theme draws whole
rows of full blocks only. An hour that took nothing (or paid back more than it took) has no bar.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.text import Text
from textual.widgets import Static

from tui_pos.domain.money import round_half_up

if TYPE_CHECKING:
    from textual import getters

    from tui_pos.ui.app import PosApp

EIGHTHS = " ▁▂▃▄▅▆▇█"  # a bar's top cell, by how many eighths of it are filled
FULL = "█"  # drawn by the Linux console too
BAR_WIDTH = 2  # columns per bar, then one space


def bar_rows(values: Sequence[int], height: int, eighths: bool, width: int = BAR_WIDTH, gap: str = " ") -> list[str]:
    """The chart as text rows, top row first, a bar `width` cells wide per value (`gap` between
    them) scaled to the largest. Every value above zero shows at least its smallest step (an
    eighth, or a whole row on the console)."""
    top = max(values, default=0)
    steps_per_row = 8 if eighths else 1
    levels = [max(1, round_half_up(v * height * steps_per_row, top)) if v > 0 else 0 for v in values]
    rows = []
    for row in range(height - 1, -1, -1):
        cells = []
        for level in levels:
            filled = min(max(level - row * steps_per_row, 0), steps_per_row)
            cells.append((EIGHTHS[filled] if eighths else (FULL if filled else " ")) * width)
        rows.append(gap.join(cells).rstrip())
    return rows


def hour_labels(hours: int = 24) -> str:
    return " ".join(f"{hour:02d}" for hour in range(hours))


class HourChart(Static):
    if TYPE_CHECKING:
        app = getters.app(PosApp)  # self.app, typed as the till's app (Textual's way)

    rows: list[str] = []  # the bars as drawn (for tests)

    def show(self, amounts: Sequence[int], height: int) -> None:
        """One bar per hour 0-23, labelled underneath."""
        self.rows = bar_rows(amounts, height, eighths=not self.app.console_theme)
        text = Text("\n".join(self.rows + [hour_labels(len(amounts))]))
        text.stylize("dim", len(text) - len(hour_labels(len(amounts))))
        self.update(text)
