"""Stock warnings at a glance (issue 14): the week's anomaly warnings, each saying why with its
numbers; under them what people would rather look at than read: the highlighted product's daily
sales over the last weeks (a sparkline: a spike or a stop shows at once) and the week's write-offs
by reason at cost (bars).

Left/Right move a week back or forward (never past today). Everything is read in worker threads
(the report sums the week, the chart a product's days: store/stock_daily.py), so the keys never
wait; an answer for a week or a product the manager has moved away from is dropped.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from tui_pos.domain.anomalies import Warning
from tui_pos.domain.stock import ADJUST_REASONS, format_qty
from tui_pos.i18n import N_, _, message
from tui_pos.ui.screens.base import TillScreen
from tui_pos.ui.widgets.bars import Bars, DailyChart
from tui_pos.ui.widgets.key_bar import KeyBar
from tui_pos.ui.widgets.status_bar import StatusBar

if TYPE_CHECKING:
    from textual import getters

    from tui_pos.ui.app import PosApp

WEEK = 7
CHART_DAYS = 35  # the sparkline: five weeks of a product's sales, the week shown last
PRODUCT_KINDS = ("count_variance", "sold_below_zero", "outflow", "dead_stock", "low_stock")  # subject: a barcode
WRITE_OFF_REASONS = tuple(r for r in ADJUST_REASONS if r != "found")  # "found" puts stock back


class StockWarningsScreen(TillScreen[None]):
    if TYPE_CHECKING:
        app = getters.app(PosApp)  # self.app, typed as the till's app (Textual's way)

    CSS_PATH = "stock_warnings.tcss"
    BINDINGS = [
        Binding("left,comma", "move(-1)", N_("Week before"), id="stock_warnings.previous"),
        Binding("right,full_stop", "move(1)", N_("Week after"), id="stock_warnings.next"),
        Binding("escape", "close", N_("Back"), id="stock_warnings.close"),
    ]

    def __init__(self, last: date | None = None):
        super().__init__()
        self.last = last or date.today()
        self.warnings: list[Warning] = []
        self.charted: str | None = None  # the product whose daily sales the chart shows (or is reading)

    @property
    def first(self) -> date:
        return self.last - timedelta(days=WEEK - 1)

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        yield Static(id="warnings-title")
        yield OptionList(id="warnings")
        yield Static(id="daily-title", classes="heading")
        yield DailyChart(id="daily-chart")
        yield Static(_("Write-offs by reason, at cost"), id="write-offs-title", classes="heading")
        yield Bars(id="write-offs")
        yield Static(id="message")
        yield KeyBar(id="keys")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()
        self.load()

    # -- moving between weeks -------------------------------------------------------------------
    def action_move(self, weeks: int) -> None:
        self.last = min(self.last + timedelta(days=WEEK * weeks), date.today())
        self.load()

    def action_close(self) -> None:
        self.dismiss(None)

    def load(self) -> None:
        self.query_one("#warnings-title", Static).update(Text(_("Stock warnings  {first} to {last}").format(
            first=f"{self.first:%Y-%m-%d}", last=f"{self.last:%Y-%m-%d}"), style="bold"))
        self.say(_("Reading the stock warnings..."))
        self.read(self.first, self.last)

    @work(thread=True, exclusive=True, group="stock-warnings", exit_on_error=False)
    def read(self, first: date, last: date) -> None:
        reports = self.app.till.stock_reports
        try:
            result: Any = (reports.anomalies(first, last, today=date.today()), reports.write_offs(first, last))
        except Exception as err:  # noqa: BLE001 - the till stays up and says what failed
            result = err
        self.app.call_from_thread(self.show, first, last, result)

    # -- showing them -----------------------------------------------------------------------------
    def show(self, first: date, last: date, result: Any) -> None:
        if (first, last) != (self.first, self.last):
            return  # the manager has moved on to another week
        if isinstance(result, Exception):
            self.say(_("The stock warnings could not be read: {error}").format(error=message(result)), error=True)
            return
        self.warnings, write_offs = result
        found = self.query_one(OptionList)
        found.clear_options()
        found.add_options(Option(self.app.shown(message(w)), id=str(n)) for n, w in enumerate(self.warnings))
        self.say(_("{n} warning(s). Up/Down: a product's daily sales below.").format(n=len(self.warnings))
                 if self.warnings else _("No stock warnings this week."))
        fmt = self.app.till.currency.format
        self.query_one(Bars).show([(_(reason), write_offs.get(reason, (0, 0, 0))[2],
                                    f"{fmt(write_offs.get(reason, (0, 0, 0))[2])}  "
                                    + _("{qty} units").format(qty=format_qty(write_offs.get(reason, (0, 0, 0))[1])))
                                   for reason in WRITE_OFF_REASONS])
        if self.warnings:
            found.highlighted = 0
        products = [w.subject for w in self.warnings if w.kind in PRODUCT_KINDS]
        self.chart(products[0] if products else None)

    @on(OptionList.OptionHighlighted, "#warnings")
    def highlighted(self, event: OptionList.OptionHighlighted) -> None:
        warning = self.warnings[int(event.option.id or 0)] if event.option.id else None
        if warning is not None and warning.kind in PRODUCT_KINDS:
            self.chart(warning.subject)

    def chart(self, barcode: str | None) -> None:
        if barcode is None:
            self.charted = None
            self.query_one("#daily-title", Static).update(_("Daily sales: no product to show"))
            self.query_one(DailyChart).show([])
            return
        if barcode == self.charted:
            return
        self.charted = barcode
        self.read_days(barcode, self.last - timedelta(days=CHART_DAYS - 1), self.last)

    @work(thread=True, exclusive=True, group="stock-warnings-chart", exit_on_error=False)
    def read_days(self, barcode: str, first: date, last: date) -> None:
        try:
            days: Any = self.app.till.stock_reports.daily_sold(barcode, first, last)
        except Exception as err:  # noqa: BLE001 - as above
            days = err
        self.app.call_from_thread(self.show_days, barcode, days)

    def show_days(self, barcode: str, days: Any) -> None:
        if barcode != self.charted:
            return
        if isinstance(days, Exception):
            self.say(_("The daily sales could not be read: {error}").format(error=message(days)), error=True)
            return
        try:
            name = self.app.till.catalog.lookup(barcode).name
        except Exception:  # noqa: BLE001 - a product gone from the catalog: its code
            name = barcode
        sold = [qty for _day, qty in days]
        self.query_one("#daily-title", Static).update(self.app.shown(
            _("Daily sales of {name}, the last {days} days: {most} at most, {total} in all").format(
                name=name, days=len(days), most=format_qty(max(sold, default=0)), total=format_qty(sum(sold)))))
        self.query_one(DailyChart).show(sold)
