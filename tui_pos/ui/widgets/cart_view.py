"""The cart as a list of rows, drawn with Textual's line API: only visible rows are rendered, and
adding a line to a 100-line cart re-renders one screenful, not a table (a DataTable row costs
~50 ms here). Wide (CJK) characters are measured in terminal cells, so columns stay aligned.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual.geometry import Size
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

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
    return (f"{row.number:>3} {set_cell_size(name, name_w)}{row.qty:>{QTY_W}}"
            f"{row.price:>{PRICE_W}}{('VOID' if row.voided else row.total):>{TOTAL_W}}")


def header(width: int) -> str:
    name_w = max(width - 4 - QTY_W - PRICE_W - TOTAL_W, 8)
    return f"{'#':>3} {set_cell_size('Item', name_w)}{'Qty':>{QTY_W}}{'Price':>{PRICE_W}}{'Total':>{TOTAL_W}}"


class CartView(ScrollView, can_focus=False):
    cursor: reactive[int] = reactive(-1)  # index of the selected row, -1 when empty

    def __init__(self, id: str | None = None):
        super().__init__(id=id)
        self.rows: list[CartRow] = []

    def show(self, rows: list[CartRow], select_last: bool) -> None:
        self.rows = rows
        self.virtual_size = Size(self.size.width, len(rows))
        if select_last or self.cursor >= len(rows):
            self.cursor = len(rows) - 1
        self.scroll_to(y=max(self.cursor - self.size.height + 1, 0) if select_last else self.scroll_y, animate=False)
        self.refresh()

    def move(self, delta: int) -> None:
        if self.rows:
            self.cursor = min(max(self.cursor + delta, 0), len(self.rows) - 1)
            if not self.scroll_y <= self.cursor < self.scroll_y + self.size.height:
                self.scroll_to(y=max(self.cursor - self.size.height + 1, 0) if delta > 0 else self.cursor,
                               animate=False)

    def watch_cursor(self) -> None:
        self.refresh()

    @property
    def selected(self) -> CartRow | None:
        return self.rows[self.cursor] if 0 <= self.cursor < len(self.rows) else None

    def render_line(self, y: int) -> Strip:
        index = y + self.scroll_offset.y
        width = self.size.width
        if index >= len(self.rows):
            return Strip.blank(width, self.rich_style)
        row = self.rows[index]
        style = self.rich_style
        if row.voided:
            style += Style(dim=True, strike=True)
        if index == self.cursor:
            style += Style(reverse=True)
        text = format_row(row, width)
        return Strip([Segment(text + " " * max(width - cell_len(text), 0), style)], width)
