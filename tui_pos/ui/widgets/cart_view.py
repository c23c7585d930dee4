"""The cart as a list of rows, drawn with Textual's line API: only visible rows are rendered, and
adding a line to a 100-line cart re-renders one screenful, not a table (a DataTable row costs
~50 ms here). Wide (CJK) characters are measured in terminal cells, so columns stay aligned.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual.reactive import reactive
from textual.strip import Strip
from textual.widget import Widget

from tui_pos.domain.columns import pad
from tui_pos.i18n import _

if TYPE_CHECKING:
    from textual import getters

    from tui_pos.ui.app import PosApp

QTY_W, PRICE_W, TOTAL_W = 5, 10, 11


@dataclass(frozen=True)
class CartRow:
    """What one cart line shows; prepared by the screen from the core's cart and totals."""

    number: int
    name: str
    qty: int
    price: str
    total: str
    note: str = ""  # e.g. "-10%", "price keyed"
    voided: bool = False


def format_row(row: CartRow, width: int) -> str:
    name_w = max(width - 4 - QTY_W - PRICE_W - TOTAL_W, 8)
    name = row.name + (f" {row.note}" if row.note else "")
    total = _("VOID") if row.voided else row.total
    return (f"{row.number:>3} {set_cell_size(name, name_w)}{row.qty:>{QTY_W}}"
            f"{row.price:>{PRICE_W}}{pad(total, TOTAL_W, '>')}")  # 作废 is four columns, not two


def header(width: int) -> str:
    name_w = max(width - 4 - QTY_W - PRICE_W - TOTAL_W, 8)
    item, qty, price, total = _("Item"), _("Qty"), _("Price"), _("Total")
    return (f"{'#':>3} {set_cell_size(item, name_w)}{pad(qty, QTY_W, '>')}{pad(price, PRICE_W, '>')}"
            f"{pad(total, TOTAL_W, '>')}")


SIGNS = {False: ("▲", "▼"), True: ("^", "v")}  # rows above / below the view; True: the console's font


class CartView(Widget, can_focus=False):
    """Scrolls itself: `top` is the first row shown. It has no virtual size and no scrollbar, so a
    new line repaints this widget only and never lays the screen out again (a ScrollView's
    virtual_size is a layout reactive: ~10 ms a scan here). When rows are out of view, its first
    and last rows say how many ("▲ 5 more", "▼ 3 more"; ^ and v in the console theme)."""

    if TYPE_CHECKING:
        app = getters.app(PosApp)  # self.app, typed as the till's app (Textual's way)

    cursor: reactive[int] = reactive(-1)  # index of the selected row, -1 when empty

    def __init__(self, id: str | None = None):
        super().__init__(id=id)
        self.rows: list[CartRow] = []
        self.top = 0

    def show(self, rows: list[CartRow], select_last: bool) -> None:
        # spelled for the console theme; elsewhere the rows as they are (no copies on the scan path)
        self.rows = [replace(row, name=self.app.shown(row.name)) for row in rows] if self.app.console_theme else rows
        if select_last or self.cursor >= len(rows):
            self.cursor = len(rows) - 1
        self.keep_cursor_visible()
        self.refresh()

    def move(self, delta: int) -> None:
        if self.rows:
            self.cursor = min(max(self.cursor + delta, 0), len(self.rows) - 1)
            self.keep_cursor_visible()

    def window(self, top: int) -> tuple[bool, int, bool]:
        """For a view from row `top`: (a sign above?, how many rows are shown, a sign below?)."""
        height = max(self.size.height, 1)
        if len(self.rows) <= height or height < 3:  # all fit (or no room for signs)
            return False, height, False
        above = top > 0
        below = top + height - above < len(self.rows)
        return above, height - above - below, below

    def keep_cursor_visible(self) -> None:
        height = max(self.size.height, 1)
        # the last top that still fills the view: the last row at the bottom, the sign above it
        last_top = 0 if len(self.rows) <= height else len(self.rows) - height + (height >= 3)
        if self.cursor < self.top:
            self.top = max(self.cursor, 0)
        elif self.cursor >= self.top + self.window(self.top)[1]:
            self.top = self.cursor - height + (3 if height >= 3 else 1)  # the cursor just above the lower sign
        self.top = max(0, min(self.top, last_top))

    def on_resize(self) -> None:
        self.keep_cursor_visible()

    def watch_cursor(self) -> None:
        self.refresh()

    @property
    def selected(self) -> CartRow | None:
        return self.rows[self.cursor] if 0 <= self.cursor < len(self.rows) else None

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        above, shown, below = self.window(self.top)
        up, down = SIGNS[getattr(self.app, "console_theme", False)]
        if above and y == 0:
            return self.sign(f"{up} {self.top} more", width)
        if below and y == above + shown:
            return self.sign(f"{down} {len(self.rows) - self.top - shown} more", width)
        index = self.top + y - above
        if y >= above + shown or index >= len(self.rows):
            return Strip.blank(width, self.rich_style)
        row = self.rows[index]
        style = self.rich_style
        if row.voided:
            style += Style(dim=True, strike=True)
        if index == self.cursor:
            style += Style(reverse=True)
        text = format_row(row, width)
        return Strip([Segment(text + " " * max(width - cell_len(text), 0), style)], width)

    def sign(self, text: str, width: int) -> Strip:
        text = f"    {text}"
        return Strip([Segment(text + " " * max(width - cell_len(text), 0), self.rich_style + Style(bold=True))], width)
