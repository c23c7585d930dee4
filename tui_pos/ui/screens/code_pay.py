"""Code payments on screen (issue 15): the waiting dialog while the till charges the customer's
Alipay or WeChat payment code, and what the till found when it settled payments whose outcome
it did not know (after a crash, a kill or a power cut).

The network part never runs on the UI thread: the dialog's worker calls the core
(till.payments.advance) in a loop until the charge is done, and shows each step. Esc gives up:
the core cancels (Alipay) or reverses (WeChat) the trade, which can take a while and is said so.
The customer's full code is never kept here: the core hands back the masked code to show.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, Static
from textual.worker import get_current_worker

from tui_pos.domain.errors import PosError
from tui_pos.domain.payments import PROVIDER_NAMES, STATE_WORDS, is_unresolved
from tui_pos.i18n import N_, _, message

if TYPE_CHECKING:
    from textual import getters

    from tui_pos.app.payments import Charge, PaymentView
    from tui_pos.ui.app import PosApp

log = logging.getLogger(__name__)

# the dialog's headline once a charge is done (while it runs, the core's message is the headline)
DONE_HEADLINES = {"paid": N_("PAID"), "failed": N_("NOT PAID"), "cancelled": N_("CANCELLED"),
                  "unknown": N_("OUTCOME NOT KNOWN")}
UNKNOWN_ADVICE = N_("Ask the customer: if the phone shows no payment, take cash or card. Menu, Payments shows "
                    "what the till learns later.")


def provider_name(provider: str) -> str:
    """Alipay, WeChat Pay, in the screen's language (an unknown provider as it is)."""
    return _(PROVIDER_NAMES.get(provider, provider))


def state_word(state: str) -> str:
    return _(STATE_WORDS.get(state, state))


class CodePayScreen(ModalScreen["Charge | None"]):
    """Waiting for a code payment. Dismissed with the final Charge: at once when paid (the tender
    is on the sale: the payment screen completes it as after any tender), after Enter or Esc
    otherwise, so the cashier has read what happened."""

    if TYPE_CHECKING:
        app = getters.app(PosApp)  # self.app, typed as the till's app (Textual's way)

    BINDINGS = [
        Binding("escape", "give_up", N_("Give up"), id="code.give_up"),
        Binding("enter", "close", N_("OK"), show=False, id="code.close"),
    ]

    def __init__(self, charge: Charge):
        super().__init__()
        self.charge = charge
        self.giving_up = False
        self.stopped = False  # the worker ended on an error, without a final charge (failed_step)
        self.received = 0.0  # when charge.seconds_left was true, by the core's clock (show)

    def compose(self) -> ComposeResult:
        till = self.app.till
        amount = till.currency.format(self.charge.amount, True)
        with Vertical(classes="dialog", id="code-pay"):
            yield Label(_("{provider} {amount}").format(provider=provider_name(self.charge.provider), amount=amount),
                        id="code-title")
            yield Label(_("Payment code {code}").format(code=self.charge.code_mask), id="code-mask")
            yield Static(id="code-state")
            yield Static(id="code-countdown")
            yield Static(id="code-message")
            yield Label(id="code-hint", classes="hint")

    def clock(self) -> float:
        """The clock the core counts seconds_left by (till.payments.monotonic): the countdown
        between two steps runs on it too, so the two never disagree (and a test's clock is both)."""
        return self.app.till.payments.monotonic()

    def on_mount(self) -> None:
        self.countdown = self.set_interval(1.0, self.show_countdown)  # stopped once there is nothing to count
        self.show(self.charge)
        self.pay()

    # -- the worker: the core's blocking steps, one after another --------------------------
    @work(thread=True, exclusive=True, group="code-pay", exit_on_error=False, description="code payment")
    def pay(self) -> None:
        payments = self.app.till.payments
        charge = self.charge
        worker = get_current_worker()
        while not charge.done:
            if worker.is_cancelled:  # the till is closing: the attempt is durable, settled at the next start
                return
            try:
                # paid but not stored yet: nothing to give up, the core stores it again (advance)
                charge = payments.abandon(charge) if self.giving_up and charge.state != "paid" \
                    else payments.advance(charge)
            except PosError as err:  # e.g. the outcome could not be stored: the core settles it later
                self.app.call_from_thread(self.failed_step, err)
                return
            except Exception:  # noqa: BLE001 (a bug must not leave the cashier waiting for ever)
                log.exception("code payment %s", charge.attempt_uuid)
                self.app.call_from_thread(self.failed_step, None)
                return
            self.app.call_from_thread(self.show, charge)

    def failed_step(self, err: PosError | None) -> None:
        """The core stopped with an error: the attempt stays unresolved (the till settles it
        before the next code payment); say so."""
        self.stopped = True
        self.query_one("#code-state", Static).update(Text(_(DONE_HEADLINES["unknown"]), style="bold red"))
        said = message(err) if err is not None else _("The till stopped on an error (see the log).")
        lines = self.query_one("#code-message", Static)
        lines.update(self.app.shown(said + "\n" + _(UNKNOWN_ADVICE)))
        lines.display = True
        self.query_one("#code-countdown", Static).display = False
        self.query_one("#code-hint", Label).update(_("Enter or Esc: back to the payment"))
        self.app.bell()

    # -- showing it ---------------------------------------------------------------------------
    def show(self, charge: Charge) -> None:
        """While the charge runs, what the core says is the headline (charging, waiting for the
        customer, asking again, cancelling); once done, a word in capitals and the core's message
        (the reason, and what the cashier does next)."""
        self.charge = charge
        self.received = self.clock()
        done = charge.done
        if done and charge.state == "paid":
            self.dismiss(charge)  # the sale completes at once: the payment screen says it
            return
        said = ""
        if done:
            headline = _(DONE_HEADLINES.get(charge.state, DONE_HEADLINES["unknown"]))
            said = message(charge)
            if charge.state == "unknown":
                said += "\n" + _(UNKNOWN_ADVICE)
        elif self.giving_up and charge.state != "paid":
            headline = _("Giving up: cancelling the payment...")
        else:
            headline = message(charge)
        style = "bold red" if done else "bold green" if charge.state == "paid" else "bold"
        self.query_one("#code-state", Static).update(Text(self.app.shown(headline), style=style))
        lines = self.query_one("#code-message", Static)
        lines.update(self.app.shown(said))
        lines.display = bool(said)
        self.show_countdown()
        if done:
            hint = _("Enter or Esc: back to the payment")
        elif charge.state == "paid":  # paid, the outcome not stored yet: the core keeps trying
            hint = _("Paid: the till is storing it. Please wait.")
        elif self.giving_up:
            hint = _("Cancelling with {provider}: this can take a minute. Please wait.").format(
                provider=provider_name(charge.provider))
        else:
            hint = _("Esc: give up (the payment is cancelled; this can take a while)")
        self.query_one("#code-hint", Label).update(hint)
        if done:
            self.app.bell()

    def seconds_left(self) -> int:
        """The core's count at the last step, less the time since (a gateway call may take seconds)."""
        return max(0, round(self.charge.seconds_left - (self.clock() - self.received)))

    @property
    def ended(self) -> bool:
        """Nothing more will happen here: the charge is done, or the worker stopped on an error."""
        return self.charge.done or self.stopped

    def show_countdown(self) -> None:
        """The seconds left while the customer may still pay; once nothing is counted (done, given
        up, paid and being stored: none of them goes back), the line goes and its timer stops."""
        countdown = self.query_one("#code-countdown", Static)
        if self.ended or self.giving_up or self.charge.state == "paid":
            countdown.display = False
            self.countdown.stop()
            return
        countdown.update(Text(_("{seconds} s left").format(seconds=self.seconds_left()), style="bold reverse"))
        countdown.display = True

    # -- keys -----------------------------------------------------------------------------
    def action_give_up(self) -> None:
        if self.ended:
            self.dismiss(self.charge)
        elif not self.giving_up and self.charge.state != "paid":
            self.giving_up = True  # the worker cancels after the step under way
            self.show(self.charge)

    def action_close(self) -> None:
        if self.ended:
            self.dismiss(self.charge)


# -- what the settling of unresolved payments found ----------------------------------------

def settle_unknown(payments) -> list[PaymentView]:
    """Blocking (a worker's): ask the providers about every attempt whose outcome is not known
    and settle it; the views of those attempts now (a paid one whose sale is still to be
    finished, listed again each time, is not news: only what was not known is shown)."""
    unknown = {view.uuid for view in payments.list(unresolved=True) if is_unresolved(view.state)}
    return [view for view in payments.resolve() if view.uuid in unknown] if unknown else []


def settled_line(view: PaymentView, fmt, cart_uuid: str) -> str:
    """One settled attempt as the cashier reads it: which payment, and what to do."""
    values = {"provider": provider_name(view.provider), "amount": fmt(view.amount, True), "code": view.code_mask}
    if view.state == "paid" and view.sale_completed:
        return _("{provider} {amount} ({code}): paid, and its sale is stored.").format(**values)
    if view.state == "paid" and view.sale_uuid == cart_uuid:
        return _("{provider} {amount} ({code}): paid: the payment is on the sale in progress. "
                 "Finish the sale (Pay).").format(**values)
    if view.state == "paid":
        return _("{provider} {amount} ({code}): paid, sale not completed: finish it (Menu, Payments).").format(**values)
    if view.state in ("cancelled", "failed"):
        return _("{provider} {amount} ({code}): closed: the customer was not charged.").format(**values)
    return _("{provider} {amount} ({code}): still not known: the till asks again before the next code payment "
             "(Menu, Payments).").format(**values)


class SettledScreen(ModalScreen[None]):
    """Payments the till settled on its own (at start-up, or before a new code payment)."""

    if TYPE_CHECKING:
        app = getters.app(PosApp)  # self.app, typed as the till's app (Textual's way)

    BINDINGS = [Binding("escape,enter", "close", N_("Close"), id="settled.close")]

    def __init__(self, views: list[PaymentView]):
        super().__init__()
        self.views = views

    def compose(self) -> ComposeResult:
        till = self.app.till
        with Vertical(classes="dialog wide", id="settled"):
            yield Label(Text(_("Code payments whose outcome was not known, now settled:"), style="bold"))
            yield Static(self.app.shown("\n".join(settled_line(view, till.currency.format, till.cart.uuid)
                                                  for view in self.views)), id="settled-list")
            yield Label(_("Enter or Esc: close"), classes="hint")

    def action_close(self) -> None:
        self.dismiss(None)
