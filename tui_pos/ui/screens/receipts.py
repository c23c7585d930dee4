"""Paid but no receipt: every paid sale whose receipt is not printed stays listed here until it is
printed, reprinted, or handed over on screen (the customer photographs the receipt and its QR)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList, Static
from textual.widgets.option_list import Option

from tui_pos.domain.columns import pad
from tui_pos.domain.shop_time import shop_clock
from tui_pos.i18n import N_, _
from tui_pos.printing.layout import Layout
from tui_pos.printing.screen import screen_parts
from tui_pos.ui.screens.dialogs import AskScreen

if TYPE_CHECKING:
    from textual import getters

    from tui_pos.ui.app import PosApp


# a receipt's print state in the list (store.print_jobs' states)
RECEIPT_STATES = {"pending": N_("pending"), "failed": N_("failed"), "uncertain": N_("uncertain"),
                  "printing": N_("printing"), "printed": N_("printed")}


class ReceiptScreen(ModalScreen[None]):
    """One receipt on screen: its QR code first (it fits 80x24 in both themes, for the customer's
    phone), then its text (Up/Down scroll)."""

    if TYPE_CHECKING:
        app = getters.app(PosApp)  # self.app, typed as the till's app (Textual's way)

    BINDINGS = [Binding("escape,enter", "close", N_("Close"), id="receipt.close")]

    def __init__(self, layout: Layout, receipt: str = ""):
        super().__init__()
        self.codes, self.lines = screen_parts(layout)
        self.receipt = receipt

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide receipt"):
            with VerticalScroll(id="receipt-scroll"):
                for code in self.codes:
                    yield Static("\n".join(code), classes="receipt-qr")
                yield Static("\n".join(self.lines), id="receipt-text")
            hint = _("Esc: close  Up/Down: the receipt's text")
            yield Label(f"{self.receipt}  {hint}".strip(), classes="hint")

    def on_mount(self) -> None:
        self.query_one("#receipt-scroll").focus()

    def action_close(self) -> None:
        self.dismiss(None)


def show_receipt(app, receipt: str) -> bool:
    """Push the receipt with this number on screen; False if there is no such sale."""
    found = app.print_queue.find_sale(receipt)
    if found is None:
        return False
    app.push_screen(ReceiptScreen(app.print_queue.layout(found[0]), found[0]["receipt"]))
    return True


class UnprintedScreen(ModalScreen[None]):
    """Newest first (the customer asking is most likely the last one); without a printer, Enter
    and "any receipt by number" show the receipt on screen instead of trying to print it."""

    if TYPE_CHECKING:
        app = getters.app(PosApp)  # self.app, typed as the till's app (Textual's way)

    BINDINGS = [
        # priority: the focused list would otherwise take the letters (type-to-search)
        Binding("enter,p", "reprint", N_("Reprint"), id="unprinted.reprint", priority=True),
        Binding("s", "show", N_("On screen"), id="unprinted.show", priority=True),
        Binding("c", "confirm", N_("Handed over"), id="unprinted.confirm", priority=True),
        Binding("n", "by_number", N_("Any receipt"), id="unprinted.by_number", priority=True),
        Binding("escape", "close", N_("Back"), id="unprinted.close"),
    ]

    @property
    def printing(self) -> bool:
        """A printer is configured (else receipts are shown on screen)."""
        return self.app.print_queue.printer.configured

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Label(_("Paid, receipt not printed") if self.printing else _("Paid, receipt not handed over (no printer)"))
            yield OptionList(id="unprinted-list")
            yield Static("", id="unprinted-message")
            yield Label(_("Enter/P: print a copy  S: on screen  C: handed over  N: any receipt by number  Esc: back")
                        if self.printing else
                        _("Enter/S: on screen  C: handed over  N: any receipt by number  Esc: back"), classes="hint")

    def on_mount(self) -> None:
        self.reload()

    def reload(self) -> None:
        fmt = self.app.till.currency.format
        listing = self.query_one(OptionList)
        keep = listing.highlighted or 0
        listing.clear_options()
        for item in reversed(self.app.print_queue.unprinted()):
            refs = ", ".join(item.references)
            state = _(RECEIPT_STATES.get(item.state, item.state))
            listing.add_option(Option(f"{item.receipt}  {shop_clock(item.completed_at)}  {fmt(item.total, True):>10}  "
                                      f"{pad(state, 9)} {refs}", id=item.receipt))
        if listing.option_count:
            listing.highlighted = min(keep, listing.option_count - 1)
        else:
            self.say(_("Every paid sale has its receipt."))

    def say(self, text: str) -> None:
        self.query_one("#unprinted-message", Static).update(text)

    def selected(self) -> str | None:
        listing = self.query_one(OptionList)
        if listing.highlighted is None:
            return None
        return listing.get_option_at_index(listing.highlighted).id

    def action_reprint(self) -> None:
        receipt = self.selected()
        if receipt and not self.printing:
            self.show(receipt)
        elif receipt:
            self.say(_("Printing a copy of {receipt}...").format(receipt=receipt))
            self.reprint(receipt)

    @work(thread=True, exclusive=True)
    def reprint(self, receipt: str) -> None:
        result = self.app.print_queue.reprint(receipt)
        message = (_("{receipt}: printed (COPY).").format(receipt=receipt) if result.printed
                   else _("{receipt}: not printed - {error}").format(receipt=receipt, error=result.error))
        self.app.call_from_thread(self.after, message)

    def after(self, message: str) -> None:
        self.reload()
        self.say(message)
        self.app.print_worker.wake()  # the status line's count follows at once

    def show(self, receipt: str) -> None:
        if not show_receipt(self.app, receipt):
            self.say(_("{receipt}: no sale with receipt number {receipt}").format(receipt=receipt))

    def action_show(self) -> None:
        receipt = self.selected()
        if receipt:
            self.show(receipt)

    def action_confirm(self) -> None:
        receipt = self.selected()
        if receipt and self.app.print_queue.confirm_printed(receipt):
            self.after(_("{receipt}: marked as handed over.").format(receipt=receipt))

    def action_close(self) -> None:
        self.dismiss(None)

    def action_by_number(self) -> None:
        """Any receipt (e.g. T1-000123 or a scanned receipt QR code): printed as a COPY, or shown
        on screen when there is no printer."""
        def entered(text: str | None) -> None:
            receipt = (text or "").split()[0].upper() if text and text.split() else ""
            if receipt and not self.printing:
                self.show(receipt)
            elif receipt:
                self.say(_("Printing a copy of {receipt}...").format(receipt=receipt))
                self.reprint(receipt)

        self.app.push_screen(AskScreen(_("Receipt number (or scan its QR code):"), "T1-000123"), entered)
