"""A shift report on screen: the printed report's own layout (one description of what an X or Z
report says, on paper and on screen), in two columns when the screen is wide enough, so a
whole Z report is read at 80x24 without scrolling.
"""

from __future__ import annotations

from dataclasses import replace

from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from tui_pos.domain.shift import ShiftReport
from tui_pos.printing.layout import Layout, ReceiptOptions
from tui_pos.printing.layout import Text as LayoutText
from tui_pos.printing.report_layout import report_layout

GAP = 2  # cells between the two columns
NARROW, WIDE = 32, 40  # a column is at least a 58 mm receipt wide, and at most this


class ReportView(Static):
    def __init__(self, report: ShiftReport, options: ReceiptOptions, id: str | None = None):
        super().__init__(id=id)
        self.report = report
        self.options = options
        self.laid_out_for = 0  # the width the content was made for (a resize to it changes nothing)

    def on_resize(self) -> None:
        if self.size.width and self.size.width != self.laid_out_for:
            self.laid_out_for = self.size.width
            self.update(self.rendered(self.size.width))

    def rendered(self, width: int) -> Table | Text:
        two = width >= 2 * NARROW + GAP
        columns = min((width - GAP) // 2, WIDE) if two else max(min(width, WIDE), 1)
        layout = report_layout(self.report, replace(self.options, columns=columns, cut=False))
        lines = styled_lines(layout)
        if not two:
            return Text("\n").join(lines)
        left, right = split_at_rule(lines, layout)
        grid = Table.grid(padding=(0, GAP, 0, 0))
        grid.add_column(width=columns)
        grid.add_column(width=columns)
        grid.add_row(Text("\n").join(left), Text("\n").join(right))
        return grid


def styled_lines(layout: Layout) -> list[Text]:
    return [Text(layout.placed(item), style="bold" if item.bold or item.tall else "")
            for item in layout.items if isinstance(item, LayoutText)]


def split_at_rule(lines: list[Text], layout: Layout) -> tuple[list[Text], list[Text]]:
    """Two columns, cut at the section rule nearest the middle (the rule itself is dropped)."""
    rule = "-" * layout.columns
    rules = [n for n, line in enumerate(lines) if line.plain == rule]
    if not rules:
        return lines, []
    cut = min(rules, key=lambda n: abs(n - len(lines) / 2))
    return lines[:cut], lines[cut + 1:]
