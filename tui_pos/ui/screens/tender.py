"""Taking payment: cash with quick amounts and change, card and mobile with their reference,
split tender. Every tender is saved with the sale in progress as it is taken; Esc goes back to
the cart without losing anything. The sale is committed (off the UI thread) once it is covered.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from tui_pos.app.till import Paid
from tui_pos.domain.columns import pad
from tui_pos.domain.errors import NotDurable, PosError
from tui_pos.domain.payments import mask_code, recognise_code
from tui_pos.domain.tender import Tender, TenderKind
from tui_pos.i18n import N_, _, message
from tui_pos.printing.layout import TENDER_LABELS
from tui_pos.ui.screens.base import TillScreen, tender_word
from tui_pos.ui.screens.code_pay import CodePayScreen, SettledScreen, provider_name, settle_unknown
from tui_pos.ui.screens.dialogs import AskScreen
from tui_pos.ui.widgets.big_amount import BigAmount
from tui_pos.ui.widgets.entry import EntryLine
from tui_pos.ui.widgets.key_bar import KeyBar
from tui_pos.ui.widgets.status_bar import StatusBar

if TYPE_CHECKING:
    from tui_pos.app.payments import Charge, PaymentView

PAYMENT_HELP = N_("""\
Type an amount (digits and a dot), then:
  Enter    that much in cash (nothing typed: all that is due)
  c  k  m  that much by cash, card, mobile (nothing typed: all)
  e n o h  exact cash, or a banknote amount shown under Quick cash
  x        takes the last payment off again
Card and mobile ask for the transaction number (scan the code).
The sale is stored as soon as it is covered. If it could not be
stored (database and journal both failed), all stays on screen:
Retry (F10 or r) stores the same sale again. Esc goes back to the
cart; the payments already taken are kept with the sale.""")

CODE_HELP = N_("""\
Alipay and WeChat payment codes (the customer's phone):
  scan the code, nothing typed: all that is due by that code
  type an amount, press {key}, scan: that much by the code
The till waits while the customer confirms on the phone; Esc
there gives up (the payment is cancelled, which takes a while).""")

NOTES = (10, 20, 50, 100)  # banknotes in major units
CODE_MIN_DIGITS = 16  # digits in the amount line that can only be a payment code (or one after an amount)


def next_notes(amount: int, unit: int, count: int = 3) -> list[int]:
    """The smallest banknote sums above amount a customer is likely to hand over."""
    found: list[int] = []
    for note in NOTES:
        candidate = -(-amount // (note * unit)) * note * unit
        if candidate > amount and candidate not in found:
            found.append(candidate)
    return sorted(found)[:count]


class TenderScreen(TillScreen):
    BINDINGS = [
        Binding("f2,c", "cash", N_("Cash"), id="tender.cash"),
        Binding("f3,k", "card", N_("Card"), id="tender.card"),
        Binding("f4,m", "mobile", N_("Mobile"), id="tender.mobile"),
        Binding("f11,p", "code", N_("Pay code"), id="tender.code"),
        Binding("f5,e", "quick(0)", N_("Exact"), id="tender.exact"),
        Binding("f6,n", "quick(1)", N_("Note 1"), id="tender.note1"),
        Binding("f7,o", "quick(2)", N_("Note 2"), id="tender.note2"),
        Binding("f8,h", "quick(3)", N_("Note 3"), id="tender.note3"),
        Binding("f9,x", "remove_last", N_("Undo pay"), id="tender.remove"),
        Binding("f10,r", "retry", N_("Retry"), id="tender.retry"),
        Binding("escape", "back", N_("Back"), id="tender.back"),
        Binding("f1,ctrl+g", "help", N_("Help"), id="tender.help"),
    ]

    def __init__(self, code: str = "") -> None:
        """code: a payment code scanned at the checkout: charged for all that is due at once."""
        super().__init__()
        self.scanned = (lambda: code) if code else None  # a closure: the code is in no repr
        self.storing = False
        self.charging = False  # a code payment is being started or waited for

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Retry (key bar, F10/r) only when there is a covered sale to store again: after a
        store that failed, or back on this screen with a sale that was covered before."""
        if action == "retry":
            return not self.storing and not self.charging and self.app.till.due().left == 0
        return True

    def action_help(self) -> None:
        from tui_pos.ui.screens.pickers import HelpScreen

        code_help = _(CODE_HELP).format(key=self.app.key_of("tender.code"))
        self.app.push_screen(HelpScreen(self.app.describe_keys(self), _(PAYMENT_HELP) + "\n\n" + code_help))

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        yield BigAmount(id="due", classes="big")
        yield Static(id="taken")
        yield BigAmount(id="left", classes="big")
        yield Static(id="quick")
        yield Static(id="message")
        yield EntryLine(_("Amount> "), allowed="0123456789.", id="amount")
        yield KeyBar(id="keys")

    def on_mount(self) -> None:
        self.query_one(EntryLine).focus()
        self.show_due()
        if self.scanned is not None:
            code, self.scanned = self.scanned(), None
            self.start_code(code, None)
        elif self.app.till.cart.tenders and self.app.till.due().left == 0:  # e.g. a code payment put back on it
            self.say(_("The sale is covered: {key} (or r) stores it.").format(key=self.app.key_of("tender.retry")))

    def quick_amounts(self) -> list[int]:
        till = self.app.till
        left = till.due().cash_left
        return [left] + next_notes(left, 10**till.currency.exponent)

    def show_due(self) -> None:
        till = self.app.till
        fmt = lambda amount: till.currency.format(amount, True)  # noqa: E731
        due = till.due()
        symbol, plain = till.currency.symbol, till.currency.format
        self.query_one("#due", BigAmount).show(_("TOTAL"), symbol, plain(due.total))
        self.query_one("#taken", Static).update("\n".join(
            f"  {n}. {pad(tender_word(t.kind), 6)} {fmt(t.amount):>12}  {t.reference}"
            for n, t in enumerate(till.cart.tenders, 1)
        ) or "  " + _("No payment yet."))
        if due.left:
            self.query_one("#left", BigAmount).show(_("TO PAY"), symbol, plain(due.left), "bold reverse")
        else:
            self.query_one("#left", BigAmount).show(_("COVERED"), emphasis="bold reverse")
        self.refresh_bindings()  # Retry is offered only when covered
        cash_note = "   " + _("in cash (rounded): {amount}").format(amount=fmt(due.cash_left)) \
            if due.cash_left != due.left else ""
        self.query_one("#quick", Static).update(_("Quick cash:") + "  " + "   ".join(
            f"F{5 + i} {fmt(amount)}" for i, amount in enumerate(self.quick_amounts())) + cash_note)

    # -- taking tenders -----------------------------------------------------------------------
    def take(self, tender_of) -> None:
        """tender_of(amount typed or None) -> Tender; then save it and complete when covered."""
        if self.storing or self.charging:
            return
        entry = self.query_one(EntryLine)
        typed, entry.value = entry.value.strip(), ""
        try:
            amount = self.app.till.currency.parse(typed) if typed else None
            tender = tender_of(amount)
        except PosError as err:
            self.say(message(err), error=True)
            return
        if tender is not None:
            self.add(tender)

    def add(self, tender: Tender) -> None:
        self.core(lambda _r: self.app.till.add_tender(tender), lambda _r: self.after_tender())

    def after_tender(self) -> None:
        self.show_due()
        self.say("")
        if self.app.till.due().left == 0:
            self.complete()

    @on(EntryLine.Submitted, "#amount")
    def entered(self, event: EntryLine.Submitted) -> None:
        """Enter: cash of the amount typed, or exactly what is due; a payment code scanned (or
        typed) charges what is due by that code."""
        if self.storing or self.charging:
            return
        till = self.app.till
        if recognise_code(event.value):
            self.start_code(event.value, None)
            return
        if len(event.value) >= CODE_MIN_DIGITS and event.value.isdigit():  # an amount and a code run together
            self.say(_("That is not an amount nor a payment code. To charge part of the sale by code, type "
                       "the amount, press {key}, then scan the code.").format(key=self.app.key_of("tender.code")),
                     error=True)
            return
        try:
            amount = till.currency.parse(event.value) if event.value else till.due().cash_left
        except PosError as err:
            self.say(message(err), error=True)
            return
        if amount:
            self.add(Tender("cash", amount))

    def action_cash(self) -> None:
        self.take(lambda amount: Tender("cash", amount or self.app.till.due().cash_left))

    def action_quick(self, index: int) -> None:
        if not self.storing and not self.charging:
            self.add(Tender("cash", self.quick_amounts()[index]))

    def ask_reference(self, kind: TenderKind, required: bool) -> None:
        def referenced(amount: int):
            def got(reference: str | None) -> None:
                if reference is None or (required and not reference):
                    word = tender_word(kind)
                    self.say(_("No {kind} payment taken (it needs its transaction number).").format(kind=word)
                             if required else _("No {kind} payment taken.").format(kind=word))
                    return
                self.add(Tender(kind, amount, reference))

            amount_text = self.app.till.currency.format(amount, True)
            question = (_("{kind} {amount}: scan or type the transaction number") if required
                        else _("{kind} {amount}: scan or type the transaction number (optional)"))
            self.app.push_screen(AskScreen(question.format(kind=label, amount=amount_text)), got)

        label = _(TENDER_LABELS.get(kind, kind))

        self.take(lambda amount: referenced(amount or self.app.till.due().left))

    def action_card(self) -> None:
        self.ask_reference("card", required=False)

    def action_mobile(self) -> None:
        self.ask_reference("mobile", required=True)

    def action_remove_last(self) -> None:
        tenders = self.app.till.cart.tenders
        if tenders and not self.storing and not self.charging:
            self.core(lambda _r: self.app.till.remove_tender(len(tenders) - 1), lambda _r: self.show_due())

    def action_back(self) -> None:
        if not self.storing and not self.charging:
            self.dismiss(None)

    # -- code payments (Alipay, WeChat Pay) ------------------------------------------------
    def action_code(self) -> None:
        """The amount typed (nothing: all that is due), then the customer's payment code."""
        def ask(amount: int | None) -> None:
            def scanned(code: str | None) -> None:
                if code:
                    self.start_code(code, amount)

            shown = self.app.till.currency.format(amount or self.app.till.due().left, True)
            self.app.push_screen(AskScreen(_("Code payment {amount}: scan the customer's payment code").format(
                amount=shown), _("Alipay or WeChat payment code"),
                required=_("Scan the code on the customer's phone (Esc: no code payment).")), scanned)

        self.take(ask)

    def start_code(self, code: str, amount: int | None) -> None:
        """A payment code: settle any payment still unknown, then start this one (both off the
        UI thread: the core checks the gateway is reachable and stores the attempt first)."""
        if self.storing or self.charging:
            return
        provider = recognise_code(code)
        if provider is None:
            self.say(_("'{code}' is not an Alipay or WeChat payment code.").format(code=mask_code(code)), error=True)
            return
        self.charging = True
        self.refresh_bindings()
        self.say(_("{provider}: starting the payment...").format(provider=provider_name(provider)))
        self.begin_code(lambda: code, amount)  # the code in a closure: never in a worker's description

    @work(thread=True, exclusive=True, group="code-start", exit_on_error=False, description="start a code payment")
    def begin_code(self, code: Callable[[], str], amount: int | None, settle: bool = True) -> None:
        """Payments whose outcome is not known are settled first (the core refuses a new one
        while any is): what that found is shown before this payment starts."""
        payments = self.app.till.payments
        try:
            settled = settle_unknown(payments) if settle else []
            if settled:
                self.app.call_from_thread(self.settled_first, settled, code, amount)
                return
            charge = payments.start(code(), amount)
        except PosError as err:
            self.app.call_from_thread(self.code_refused, err)
            return
        self.app.call_from_thread(self.code_started, charge)

    def settled_first(self, settled: list[PaymentView], code: Callable[[], str], amount: int | None) -> None:
        def then(_r: object) -> None:
            if self.app.till.due().left == 0:  # a payment settled was this sale's own: it is covered
                self.charging = False
                self.after_tender()
            else:
                self.begin_code(code, amount, settle=False)

        self.show_due()  # a settled payment may have put its tender back on the sale
        self.app.push_screen(SettledScreen(settled), then)

    def code_refused(self, err: PosError) -> None:
        self.charging = False
        self.refresh_bindings()
        self.show_due()
        self.say(message(err), error=True)

    def code_started(self, charge: Charge) -> None:
        self.say("")
        self.app.push_screen(CodePayScreen(charge), self.code_done)

    def code_done(self, charge: Charge | None) -> None:
        """The waiting dialog closed: paid, the tender is on the sale (complete it when covered);
        else the sale is as it was and the message line says what happened."""
        self.charging = False
        self.refresh_bindings()
        self.app.check_health()  # the status line's payment alerts follow at once, not in 30 s
        if charge is not None and charge.state == "paid":
            self.after_tender()
            if not self.storing:  # part of the sale, or the sale in progress was another (the core says)
                self.say(message(charge))
            return
        self.show_due()
        if charge is not None:
            self.say(message(charge), error=True)

    # -- completing ---------------------------------------------------------------------------
    def action_retry(self) -> None:
        if not self.storing and self.app.till.due().left == 0:
            self.complete()

    def complete(self) -> None:
        self.storing = True
        self.refresh_bindings()
        self.say(_("Storing the sale..."))
        self.commit()

    @work(thread=True, exclusive=True)
    def commit(self) -> None:
        """The durable commit may retry for a few hundred ms: never on the UI thread."""
        try:
            paid = self.app.till.pay()
        except PosError as err:
            self.app.call_from_thread(self.not_stored, err)
            return
        self.app.call_from_thread(self.stored, paid)

    def stored(self, paid: Paid) -> None:
        self.storing = False
        if paid.warning:  # e.g. the clock was set back: the sale stands, support must know
            self.app.notify(paid.warning, title=_("Check the clock"), severity="warning", timeout=60)
        self.app.sale_paid()
        self.dismiss(paid)

    def not_stored(self, err: PosError) -> None:
        self.storing = False
        self.refresh_bindings()
        self.app.refresh_status()
        retry = " " + _("Press {key} (or r) to try again.").format(key=self.app.key_of("tender.retry")) \
            if isinstance(err, NotDurable) else ""
        self.say(message(err) + retry, error=True)
