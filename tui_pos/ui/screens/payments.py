"""The code payments screen (issue 15), from the function menu: every Alipay/WeChat payment
attempt of this till, those whose outcome is not known first, then those paid whose sale is not
completed, each with its state, time, provider, amount, masked code, the provider's transaction
number and the trade number. R settles the unknown ones now (the provider is asked, off the UI
thread); F (or Enter) finishes a sale whose payment was taken but which was not completed: the
till brings that sale back with the payment on it, and the payment screen completes it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from tui_pos.domain.columns import pad
from tui_pos.domain.shop_time import shop_time
from tui_pos.i18n import N_, _
from tui_pos.ui.screens.base import TillScreen
from tui_pos.ui.screens.code_pay import SettledScreen, provider_name, settle_unknown, state_word
from tui_pos.ui.widgets.key_bar import KeyBar
from tui_pos.ui.widgets.status_bar import StatusBar

if TYPE_CHECKING:
    from tui_pos.app.payments import PaymentView

STATE_WIDTH = 14


def needs_finishing(view: PaymentView) -> bool:
    """A payment (not a refund) paid, and no stored sale carries it: the customer paid for a sale
    the till has not completed."""
    return view.kind == "pay" and view.paid_not_completed


def payment_rows(view: PaymentView, fmt) -> Text:
    """Two lines: where it stands, when, whose, how much, which code; then the provider's
    transaction number, the trade number and the reason given."""
    if view.unresolved:
        state = _("NOT KNOWN")
    elif needs_finishing(view):
        state = _("NOT COMPLETED")
    elif view.kind == "refund":
        state = _("refund {state}").format(state=state_word(view.state))
    else:
        state = state_word(view.state)
    alarm = view.unresolved or needs_finishing(view)
    text = Text()
    text.append(pad(state, STATE_WIDTH), style="bold red" if alarm else "bold" if view.state == "paid" else "")
    amount = fmt(view.amount, True)
    text.append(f" {shop_time(view.at)[5:]} {pad(provider_name(view.provider), 10)} {amount:>10}  {view.code_mask}")
    second = [_("transaction {number}").format(number=view.transaction_id) if view.transaction_id else
              _("no transaction number"), view.out_refund_no or view.out_trade_no]
    text.append("\n" + " " * 4 + "  ".join(second), style="dim" if not alarm else "")
    if view.reason:  # the provider's words (a refused code's reason): a line of its own
        text.append("\n" + " " * 4 + view.reason, style="dim" if not alarm else "")
    return text


class PaymentsScreen(TillScreen["str | None"]):
    """Dismissed with "pay" when the cashier chose to finish the sale in progress (the checkout
    opens its payment screen), else None."""

    BINDINGS = [
        # priority: the focused list would otherwise take the letters (type-to-search)
        Binding("r", "resolve", N_("Settle now"), priority=True, id="payments.resolve"),
        Binding("f,enter", "finish", N_("Finish sale"), priority=True, id="payments.finish"),
        Binding("escape", "back", N_("Back"), id="payments.back"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.views: list[PaymentView] = []

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        yield Static(_("[b]Code payments[/b]  (not known first; Up/Down to choose)"), id="payments-title")
        yield OptionList(id="payments", classes="fill")
        yield Static(id="message")
        yield KeyBar(id="keys")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()
        self.reload()

    def reload(self, said: str = "") -> None:
        self.core_in_thread(lambda _r: self.app.till.payments.list(), lambda views: self.show(views, said))

    def show(self, views: list[PaymentView], said: str = "") -> None:
        fmt = self.app.till.currency.format
        # not known first, then paid but not completed, then the newest first
        newest_first = list(reversed(views))
        self.views = sorted(newest_first, key=lambda v: (not v.unresolved, not needs_finishing(v)))
        listing = self.query_one(OptionList)
        keep = listing.highlighted or 0
        listing.clear_options()
        for view in self.views:
            listing.add_option(Option(payment_rows(view, fmt), id=view.uuid))
        if self.views:
            listing.highlighted = min(keep, len(self.views) - 1)
        unresolved = sum(view.unresolved for view in self.views)
        unfinished = sum(needs_finishing(view) for view in self.views)
        self.say(said or (_("No code payment at this till yet.") if not self.views else
                          _("{n} not known: R asks the provider now.").format(n=unresolved) if unresolved else
                          _("{n} paid but not completed: F finishes the sale.").format(n=unfinished) if unfinished
                          else _("Every code payment is settled.")))

    def selected(self) -> PaymentView | None:
        index = self.query_one(OptionList).highlighted
        return self.views[index] if index is not None and index < len(self.views) else None

    @on(OptionList.OptionSelected, "#payments")
    def picked(self) -> None:
        self.action_finish()

    # -- keys -----------------------------------------------------------------------------
    def action_resolve(self) -> None:
        self.say(_("Asking the providers..."))
        self.core_in_thread(lambda _r: settle_unknown(self.app.till.payments), self.resolved)

    def resolved(self, settled: list[PaymentView]) -> None:
        self.app.check_health()  # the status line's payment alerts follow at once
        self.reload(_("Nothing was waiting to be settled.") if not settled else "")
        if settled:
            self.app.push_screen(SettledScreen(settled))

    def action_finish(self) -> None:
        """The sale the payment was for, with the payment on it as a mobile tender, to the payment
        screen (till.payments.finish: the sale in progress, a held one recalled, or the sale in
        progress taking that sale's identity); the cashier completes it as after any tender."""
        view = self.selected()
        if view is None:
            return
        if not needs_finishing(view):
            self.say(_("Only a payment that is paid and whose sale is not completed can be finished."), error=True)
            return
        self.core_in_thread(lambda _r: self.app.till.payments.finish(view.uuid), lambda _r: self.dismiss("pay"))

    def action_back(self) -> None:
        if not self.working:
            self.dismiss(None)
