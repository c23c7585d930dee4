"""The day's sales at a glance: totals, takings by hour as a bar chart, top products and tenders.

Left/Right move a day back or forward (never past today). The report is read in a worker thread
(it sums the day in the database and the journal), so the keys never wait for it; an answer for a
day the manager has already moved away from is dropped.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Static

from tui_pos.app.till import Till
from tui_pos.domain.reports import SalesReport
from tui_pos.i18n import N_, _, ngettext
from tui_pos.ui.screens.base import tender_word
from tui_pos.ui.widgets.hour_chart import HourChart
from tui_pos.ui.widgets.key_bar import KeyBar
from tui_pos.ui.widgets.status_bar import StatusBar

if TYPE_CHECKING:
    from textual import getters

    from tui_pos.ui.app import PosApp

WEEKDAYS = (N_("Mon"), N_("Tue"), N_("Wed"), N_("Thu"), N_("Fri"), N_("Sat"), N_("Sun"))
CHART_ROWS = 8
TOP_ROWS = 5


class SalesReportScreen(Screen[None]):
    if TYPE_CHECKING:
        app = getters.app(PosApp)  # self.app, typed as the till's app (Textual's way)

    CSS_PATH = "sales_report.tcss"
    BINDINGS = [
        Binding("left,comma", "move(-1)", N_("Day before"), id="sales_report.previous"),
        Binding("right,full_stop", "move(1)", N_("Day after"), id="sales_report.next"),
        Binding("home,t", "today", N_("Today"), id="sales_report.today"),
        Binding("escape", "close", N_("Back"), id="sales_report.close"),
    ]

    def __init__(self, till: Till, day: date | None = None):
        super().__init__()
        self.till = till
        self.day = day or date.today()
        self.report: SalesReport | None = None  # the report shown (None while the first one loads)

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        yield Static(id="report-title")
        yield Static(id="report-totals")
        yield HourChart(id="hour-chart")
        with Horizontal(id="report-tables"):
            yield Static(id="report-top")
            yield Static(id="report-tenders")
        yield Static(id="report-message")
        yield KeyBar(id="keys")

    def on_mount(self) -> None:
        self.load()

    # -- moving between days ------------------------------------------------------------------
    def action_move(self, days: int) -> None:
        self.day = min(self.day + timedelta(days=days), date.today())
        self.load()

    def action_today(self) -> None:
        self.day = date.today()
        self.load()

    def action_close(self) -> None:
        self.dismiss(None)

    def load(self) -> None:
        title = _("Sales report  {weekday} {day}").format(weekday=_(WEEKDAYS[self.day.weekday()]), day=f"{self.day:%Y-%m-%d}")
        title += ("  " + _("(today)")) if self.day == date.today() else ""
        self.query_one("#report-title", Static).update(Text(title, style="bold"))
        self.query_one("#report-message", Static).update(_("Reading the day's sales..."))
        self.read(self.day)

    @work(thread=True, exclusive=True, exit_on_error=False)
    def read(self, day: date) -> None:
        try:
            result: SalesReport | Exception = self.till.sales_report(day, day, top=TOP_ROWS)
        except Exception as err:  # noqa: BLE001 - the till stays up and says what failed
            result = err
        self.app.call_from_thread(self.show, day, result)

    # -- showing it -----------------------------------------------------------------------------
    def show(self, day: date, result: SalesReport | Exception) -> None:
        if day != self.day:
            return  # the manager has moved on to another day
        message = self.query_one("#report-message", Static)
        if isinstance(result, Exception):
            message.update(Text(_("The report could not be read: {error}").format(error=result), style="bold red"))
            return
        self.report = result
        fmt = self.money
        self.query_one("#report-totals", Static).update(
            _("Sales {sales}  {sales_total}   Refunds {refunds}  {refunds_total}   Voids {voids}  {voids_total}   "
              "Net {net}").format(sales=result.sales.count, sales_total=fmt(result.sales.total),
                                  refunds=result.refunds.count, refunds_total=fmt(result.refunds.total),
                                  voids=result.voids.count, voids_total=fmt(result.voids.total), net=fmt(result.net)))
        hours = result.by_hour
        self.query_one(HourChart).show([h.amount for h in hours], CHART_ROWS)
        busiest = max(hours, key=lambda h: h.amount)
        notes = [ngettext("Busiest hour {hour}:00 {amount} ({n} sale)", "Busiest hour {hour}:00 {amount} ({n} sales)",
                          busiest.sales).format(hour=f"{busiest.hour:02d}", amount=fmt(busiest.amount), n=busiest.sales)
                 if busiest.amount > 0 else _("No sales this day.")]
        if result.journaled:
            notes.append(_("{n} still in the journal, included.").format(n=result.journaled))
        if not result.database_readable:
            notes.append(_("DATABASE UNREADABLE: the journal's sales only."))
        message.update(Text("  ".join(notes), style="" if result.database_readable else "bold red"))
        self.query_one("#report-top", Static).update(self.top_products(result))
        self.query_one("#report-tenders", Static).update(self.tenders(result))

    def money(self, amount: int) -> str:
        return self.till.currency.format(amount, True)

    def top_products(self, result: SalesReport) -> Table:
        table = Table(box=None, padding=(0, 1), header_style="bold", show_edge=False)
        table.add_column(_("Top products"), max_width=26, no_wrap=True, overflow="ellipsis")
        table.add_column(_("Qty"), justify="right")
        table.add_column(_("Amount"), justify="right")
        for product in result.top_by_amount:
            table.add_row(product.name, str(product.qty), self.money(product.amount))
        return table

    def tenders(self, result: SalesReport) -> Table:
        table = Table(box=None, padding=(0, 1), header_style="bold", show_edge=False)
        table.add_column(_("Tender"))
        table.add_column(_("Sales"), justify="right")
        table.add_column(_("Refunds"), justify="right")
        for tender in result.tenders:
            table.add_row(tender_word(tender.kind), self.money(tender.sales), self.money(tender.refunds))
        return table
