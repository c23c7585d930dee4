"""Shifts at the till: open one with a float, read the X report, count the drawer and close the
shift with a Z report, and read any stored report again. Every figure comes from the core
(Till.x_report, close_shift, z_reports); the screens only collect counts and show reports.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from tui_pos.domain.columns import pad
from tui_pos.domain.errors import BadInput
from tui_pos.domain.money import parse_count
from tui_pos.domain.shift import ShiftReport, count_cash
from tui_pos.i18n import N_, _, message
from tui_pos.printing.layout import ReceiptOptions
from tui_pos.printing.report_layout import print_report, report_title
from tui_pos.ui.screens.base import TillScreen
from tui_pos.ui.screens.dialogs import ConfirmScreen
from tui_pos.ui.widgets.entry import EntryLine
from tui_pos.ui.widgets.key_bar import KeyBar
from tui_pos.ui.widgets.report_view import ReportView
from tui_pos.ui.widgets.status_bar import StatusBar

AMOUNT_KEYS = "0123456789."


class OpenShiftScreen(TillScreen):
    """No shift is open: sales need one. The cashier counts the float (the change money put in
    the drawer) and types its total. Dismissed with the shift's opening record, or None."""

    BINDINGS = [Binding("escape", "back", N_("Back"), id="open_shift.back")]

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        yield Static(_("[b]No shift is open on till {till}.[/b]\n\n"
                       "Count the float (the change money) into the drawer, type its total (0 for an empty "
                       "drawer) and press Enter.").format(till=self.app.till.config.till_id), classes="fill")
        yield Static(id="message")
        yield EntryLine(_("Float> "), allowed=AMOUNT_KEYS, id="amount")
        yield KeyBar(id="keys")

    def on_mount(self) -> None:
        self.query_one(EntryLine).focus()

    @on(EntryLine.Submitted, "#amount")
    def entered(self, event: EntryLine.Submitted) -> None:
        till = self.app.till
        if not event.value:
            self.say(_("Type the float's total first (0 for an empty drawer)."), error=True)
            return
        try:
            amount = till.currency.parse(event.value)
        except BadInput as err:
            self.say(message(err), error=True)
            return
        self.say(_("Opening the shift with {amount}...").format(amount=till.currency.format(amount, True)))
        self.core_in_thread(lambda _r: till.open_shift(amount), self.dismiss)

    def action_back(self) -> None:
        if not self.working:
            self.dismiss(None)


@dataclass
class CountRow:
    denomination: str  # as configured ([shop] denominations), e.g. "0.5"
    value: int  # minor units
    how_many: int = 0


class CloseShiftScreen(TillScreen):
    """The Z report. The cashier counts the drawer first, by note and coin or as one total, without
    seeing what the till expects (a blind count); then the expected cash and the difference are
    shown, the cashier confirms, and the core closes the shift (a manager approves when the drawer
    is further over or short than [till] z_difference_limit). The Z report is then shown and printed,
    and the till goes back to the login."""

    BINDINGS = [
        Binding("up", "move(-1)", N_("Up"), show=False, id="count.up"),
        Binding("down", "move(1)", N_("Down"), show=False, id="count.down"),
        Binding("f2,n", "by_note", N_("By note"), id="count.by_note"),
        Binding("f3,t", "as_total", N_("As total"), id="count.as_total"),
        Binding("f10,z", "close_shift", N_("Close (Z)"), id="count.close"),
        Binding("escape", "back", N_("Back"), id="count.back"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[CountRow] = []
        self.cursor = 0
        self.total: int | None = None  # counted as one total (None: by note and coin)

    def compose(self) -> ComposeResult:
        shift = self.app.till.shift
        yield StatusBar(id="status")
        yield Static(_("[b]Close shift {number} (Z report): count the drawer[/b]").format(
            number=shift["number"] if shift else "?"), id="count-title")
        yield Static(id="count", classes="fill")
        yield Static(id="message")
        yield EntryLine(_("How many> "), allowed=AMOUNT_KEYS, id="amount")
        yield KeyBar(id="keys")

    def on_mount(self) -> None:
        currency = self.app.till.currency
        bad = []
        for denomination in self.app.till.config.denominations:
            try:
                self.rows.append(CountRow(denomination, currency.parse(denomination)))
            except BadInput:
                bad.append(denomination)
        if not self.rows:
            self.total = 0  # nothing to count by: one total
        self.query_one(EntryLine).focus()
        self.show_count()
        if bad:
            self.say(_("[shop] denominations: {bad} cannot be read; count those as a total (F3).").format(
                bad=", ".join(bad)), error=True)

    # -- counting -----------------------------------------------------------------------------
    def counted(self) -> int:
        return self.total if self.total is not None else count_cash({r.value: r.how_many for r in self.rows})

    def counted_detail(self) -> tuple[tuple[str, int], ...]:
        if self.total is not None:
            return ()
        return tuple((r.denomination, r.how_many) for r in self.rows if r.how_many)

    def show_count(self) -> None:
        fmt = self.app.till.currency.format
        text = Text()
        if self.total is None:
            text.append(_("By note and coin: Up/Down choose, type how many, Enter. F3: count as one total.") + "\n\n")
            note, how_many, amount = _("Note/coin"), _("How many"), _("Amount")
            text.append(f"  {pad(note, 10, '>')} {pad(how_many, 9, '>')} {pad(amount, 12, '>')}\n", style="bold")
            for index, row in enumerate(self.rows):
                line = f"  {fmt(row.value):>10} {row.how_many:>9} {fmt(row.value * row.how_many):>12}"
                text.append(line + "\n", style="reverse" if index == self.cursor else "")
        else:
            text.append(_("As one total: type the amount counted and Enter. F2: count by note and coin.") + "\n\n")
        counted = _("COUNTED")
        text.append(f"\n  {pad(counted, 20, '>')} {fmt(self.counted(), True):>12}", style="bold")
        self.query_one("#count", Static).update(text)
        entry = self.query_one(EntryLine)
        entry.prompt = _("Total> ") if self.total is not None else f"{fmt(self.rows[self.cursor].value)} x "
        entry.allowed = AMOUNT_KEYS if self.total is not None else "0123456789"
        entry.refresh()

    def action_move(self, step: int) -> None:
        if self.total is None and self.rows:
            self.cursor = min(max(self.cursor + step, 0), len(self.rows) - 1)
            self.show_count()

    def action_by_note(self) -> None:
        if self.rows:
            self.total = None
            self.show_count()

    def action_as_total(self) -> None:
        self.total = self.counted()
        self.show_count()

    @on(EntryLine.Submitted, "#amount")
    def entered(self, event: EntryLine.Submitted) -> None:
        self.say("")
        if self.total is not None:
            try:
                self.total = self.app.till.currency.parse(event.value) if event.value else self.total
            except BadInput as err:
                self.say(message(err), error=True)
        else:
            how_many = parse_count(event.value)
            if event.value and how_many is None:
                self.say(_("Type how many of this note or coin: a whole number."), error=True)
                return
            if how_many is not None:
                self.rows[self.cursor].how_many = how_many
            self.cursor = min(self.cursor + 1, len(self.rows) - 1)
        self.show_count()

    # -- closing ------------------------------------------------------------------------------
    def action_close_shift(self) -> None:
        """The X figures first (storage: off the UI thread), then expected vs counted to confirm."""
        till = self.app.till
        counted, detail = self.counted(), self.counted_detail()
        self.core_in_thread(lambda _r: till.x_report(), lambda x: self.confirm(x, counted, detail))

    def confirm(self, x: ShiftReport, counted: int, detail: tuple[tuple[str, int], ...]) -> None:
        fmt = lambda amount: self.app.till.currency.format(amount, True)  # noqa: E731
        difference = counted - x.expected_cash
        verdict = (_("OVER by {amount}").format(amount=fmt(difference)) if difference > 0
                   else _("SHORT by {amount}").format(amount=fmt(-difference)) if difference < 0 else _("exactly right"))
        question = _("Expected in the drawer: {expected}\nCounted: {counted}, {verdict}.\n\n"
                     "Close shift {number} and print the Z report?").format(
            expected=fmt(x.expected_cash), counted=fmt(counted), verdict=verdict, number=x.shift_number)

        def answered(yes: bool | None) -> None:
            if yes:
                self.say(_("Closing the shift..."))
                self.core_in_thread(lambda approval: self.app.till.close_shift(counted, detail, approval), self.closed)
            else:
                self.say(_("Not closed: count again, or Esc."))

        self.app.push_screen(ConfirmScreen(question), answered)

    def closed(self, report: ShiftReport) -> None:
        """Shown, printed and backed up; closing the report signs the cashier out (the next shift
        starts at the login)."""
        self.app.refresh_status()
        self.app.back_up_now()
        self.app.push_screen(ReportScreen(report, print_now=True), lambda _r: self.app.sign_out())

    def action_back(self) -> None:
        if not self.working:
            self.dismiss(None)


class ReportScreen(TillScreen):
    """An X or Z report on screen, laid out as it prints. F9 prints it (print_now: at once, as
    after closing a shift; best effort, the report is stored whatever the printer does)."""

    BINDINGS = [
        Binding("f9,p", "print", N_("Print"), id="report.print"),
        Binding("escape,enter", "close", N_("Close"), id="report.close"),
    ]

    def __init__(self, report: ShiftReport, print_now: bool = False):
        super().__init__()
        self.report = report
        self.print_now = print_now
        self.printing = False

    def compose(self) -> ComposeResult:
        till = self.app.till
        yield StatusBar(id="status")
        with VerticalScroll(id="report", classes="fill"):
            yield ReportView(self.report, ReceiptOptions.from_config(till.config), id="report-view")
        yield Static(id="message")
        yield KeyBar(id="keys")

    def on_mount(self) -> None:
        self.query_one("#report").focus()  # Up/Down/PgUp/PgDn scroll a report longer than the screen
        if self.print_now:
            self.action_print()

    def action_print(self) -> None:
        if not self.printing:
            self.printing = True
            self.say(_("Printing the {title}...").format(title=report_title(self.report)))
            self.print_in_thread()

    @work(thread=True)
    def print_in_thread(self) -> None:
        printed, why = print_report(self.app.till.config, self.report, self.app.print_queue)
        self.app.call_from_thread(self.printed, printed, why)

    def printed(self, printed: bool, why: str) -> None:
        self.printing = False
        if not self.is_attached:
            return  # closed before the printer answered: printing went on regardless
        title = report_title(self.report)
        self.say(_("{title} printed.").format(title=title) if printed
                 else _("{title} not printed: {why}.").format(title=title, why=why), error=not printed and
                 self.app.till.config.printer.connection != "none")

    def action_close(self) -> None:
        self.dismiss(None)


def shift_summary(record: dict[str, Any], currency_format: Callable[[int, bool], str]) -> str:
    """What the checkout says once a shift is open."""
    return _("Shift {number} open, float {amount}. Ready to sell.").format(
        number=record["number"], amount=currency_format(record["float"], True))
