"""Charts for people who would rather look than read: amounts as horizontal bars, one labelled row
each (Bars: write-offs by reason at cost), and a value per day as a sparkline (DailyChart: a
product's daily sales), the largest standing out before anyone reads a figure.

Like the hour chart: the default theme ends a bar with an eighth block, the Linux console's fonts
lack those, so the console theme draws whole cells of full blocks only. A row whose amount is
zero has no bar; every amount above zero shows at least its smallest step.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.widget import Widget
from textual.widgets import Sparkline, Static

from tui_pos.domain.columns import columns, pad
from tui_pos.domain.money import round_half_up
from tui_pos.ui.widgets.hour_chart import FULL, bar_rows

if TYPE_CHECKING:
    from textual import getters

    from tui_pos.ui.app import PosApp

EIGHTHS = " ▏▎▍▌▋▊▉█"  # a bar's last cell, by how many eighths of it are filled


def bar(amount: int, top: int, cells: int, eighths: bool) -> str:
    """A bar `cells` wide at most, as long as amount is of top."""
    if amount <= 0 or top <= 0:
        return ""
    steps = 8 if eighths else 1
    length = max(1, round_half_up(amount * cells * steps, top))
    whole, part = divmod(length, steps)
    return FULL * whole + (EIGHTHS[part] if part else "")


def bar_lines(rows: Sequence[tuple[str, int, str]], cells: int, eighths: bool) -> list[str]:
    """(label, amount, the amount as shown) -> 'label  ████▌  12.00' lines, labels padded alike."""
    top = max((amount for _, amount, _ in rows), default=0)
    label_width = max((columns(label) for label, _, _ in rows), default=0)
    return [f"{pad(label, label_width)}  {pad(bar(amount, top, cells, eighths), cells)}  {shown}".rstrip()
            for label, amount, shown in rows]


class Bars(Static):
    """Labelled horizontal bars (ui/widgets/bars.py)."""

    if TYPE_CHECKING:
        app = getters.app(PosApp)  # self.app, typed as the till's app (Textual's way)

    lines: list[str] = []  # the rows as drawn (for tests)

    def show(self, rows: Sequence[tuple[str, int, str]], cells: int = 30) -> None:
        self.lines = bar_lines(rows, cells, eighths=not self.app.console_theme)
        self.update(Text("\n".join(self.lines)))


class DailyChart(Widget):
    """A value per day, oldest on the left: Textual's Sparkline, or (the console theme, whose font
    lacks the eighth blocks a sparkline draws) columns of full blocks."""

    if TYPE_CHECKING:
        app = getters.app(PosApp)  # self.app, typed as the till's app (Textual's way)

    DEFAULT_CSS = """
    DailyChart { height: 3; }
    DailyChart Sparkline { height: 1fr; }
    DailyChart Static { height: 1fr; }
    """
    values: list[int] = []  # what is drawn (for tests)

    def compose(self) -> ComposeResult:
        yield Sparkline([], id="daily-sparkline")
        yield Static(id="daily-columns")

    def on_mount(self) -> None:
        self.query_one(Sparkline).display = not self.app.console_theme
        self.query_one(Static).display = self.app.console_theme

    def show(self, values: Sequence[int]) -> None:
        self.values = list(values)
        if self.app.console_theme:
            # the hour chart's console bars, a cell wide with no gap
            rows = bar_rows(self.values, max(self.size.height, 1), eighths=False, width=1, gap="")
            self.query_one(Static).update(Text("\n".join(rows)))
        else:
            self.query_one(Sparkline).data = [float(v) for v in self.values]
