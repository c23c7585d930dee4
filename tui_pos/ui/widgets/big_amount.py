"""The total (and, after payment, the change) in large digits, readable from a step away.

Textual's 3x3 digits use rounded corners and half lines the Linux console's fonts lack, so the
console theme gets one bold line instead. Always a fixed-size widget, updated without layout:
a scan repaints it and never lays the screen out again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text
from textual.renderables.digits import Digits
from textual.widgets import Static

if TYPE_CHECKING:
    from textual import getters

    from tui_pos.ui.app import PosApp


class BigAmount(Static):
    if TYPE_CHECKING:
        app = getters.app(PosApp)  # self.app, typed as the till's app (Textual's way)

    plain = ""  # what it says, as one line (for tests and screen readers of the log)

    def show(self, label: str, symbol: str = "", amount: str = "", emphasis: str = "bold") -> None:
        self.plain = f"{label} {symbol}{amount}".strip()
        self.update(self.render_amount(label, symbol, amount, emphasis), layout=False)

    def render_amount(self, label: str, symbol: str, amount: str, emphasis: str) -> RenderableType:
        if self.app.console_theme or not amount:
            return Text(self.plain, style=emphasis)
        grid = Table.grid(padding=(0, 1))
        grid.add_column(justify="right", vertical="middle")
        grid.add_column(justify="right")
        grid.add_row(Text(f"{label} {symbol}", style=emphasis), Digits(amount, style=emphasis))
        return grid
