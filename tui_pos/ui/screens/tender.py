"""Taking payment: cash with quick amounts and change, card and mobile with their reference,
split tender. Every tender is saved with the sale in progress as it is taken; Esc goes back to
the cart without losing anything. The sale is committed (off the UI thread) once it is covered.
"""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from tui_pos.app.till import Paid
from tui_pos.domain.columns import pad
from tui_pos.domain.errors import NotDurable, PosError
from tui_pos.domain.tender import Tender, TenderKind
from tui_pos.ui.screens.base import TillScreen
from tui_pos.ui.screens.dialogs import AskScreen
from tui_pos.ui.widgets.big_amount import BigAmount
from tui_pos.ui.widgets.entry import EntryLine
from tui_pos.ui.widgets.key_bar import KeyBar
from tui_pos.ui.widgets.status_bar import StatusBar

PAYMENT_HELP = """\
Type an amount (digits and a dot), then:
  Enter    that much in cash (nothing typed: all that is due)
  c  k  m  that much by cash, card, mobile (nothing typed: all)
  e n o h  exact cash, or a banknote amount shown under Quick cash
  x        takes the last payment off again
Card and mobile ask for the transaction number (scan the code).
The sale is stored as soon as it is covered. If it could not be
stored (database and journal both failed), all stays on screen:
Retry (F10 or r) stores the same sale again. Esc goes back to the
cart; the payments already taken are kept with the sale."""

NOTES = (10, 20, 50, 100)  # banknotes in major units


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
        Binding("f2,c", "cash", "Cash", id="tender.cash"),
        Binding("f3,k", "card", "Card", id="tender.card"),
        Binding("f4,m", "mobile", "Mobile", id="tender.mobile"),
        Binding("f5,e", "quick(0)", "Exact", id="tender.exact"),
        Binding("f6,n", "quick(1)", "Note 1", id="tender.note1"),
        Binding("f7,o", "quick(2)", "Note 2", id="tender.note2"),
        Binding("f8,h", "quick(3)", "Note 3", id="tender.note3"),
        Binding("f9,x", "remove_last", "Undo pay", id="tender.remove"),
        Binding("f10,r", "retry", "Retry", id="tender.retry"),
        Binding("escape", "back", "Back", id="tender.back"),
        Binding("f1,ctrl+g", "help", "Help", id="tender.help"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.storing = False

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Retry (key bar, F10/r) only when there is a covered sale to store again: after a
        store that failed, or back on this screen with a sale that was covered before."""
        if action == "retry":
            return not self.storing and self.app.till.due().left == 0
        return True

    def action_help(self) -> None:
        from tui_pos.ui.screens.pickers import HelpScreen

        self.app.push_screen(HelpScreen(self.app.describe_keys(self), PAYMENT_HELP))

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        yield BigAmount(id="due", classes="big")
        yield Static(id="taken")
        yield BigAmount(id="left", classes="big")
        yield Static(id="quick")
        yield Static(id="message")
        yield EntryLine("Amount> ", allowed="0123456789.", id="amount")
        yield KeyBar(id="keys")

    def on_mount(self) -> None:
        self.query_one(EntryLine).focus()
        self.show_due()

    def quick_amounts(self) -> list[int]:
        till = self.app.till
        left = till.due().cash_left
        return [left] + next_notes(left, 10**till.currency.exponent)

    def show_due(self) -> None:
        till = self.app.till
        fmt = lambda amount: till.currency.format(amount, True)  # noqa: E731
        due = till.due()
        symbol, plain = till.currency.symbol, till.currency.format
        self.query_one("#due", BigAmount).show("TOTAL", symbol, plain(due.total))
        self.query_one("#taken", Static).update("\n".join(
            f"  {n}. {pad(t.kind, 6)} {fmt(t.amount):>12}  {t.reference}" for n, t in enumerate(till.cart.tenders, 1)
        ) or "  No payment yet.")
        if due.left:
            self.query_one("#left", BigAmount).show("TO PAY", symbol, plain(due.left), "bold reverse")
        else:
            self.query_one("#left", BigAmount).show("COVERED", emphasis="bold reverse")
        self.refresh_bindings()  # Retry is offered only when covered
        cash_note = f"   in cash (rounded): {fmt(due.cash_left)}" if due.cash_left != due.left else ""
        self.query_one("#quick", Static).update("Quick cash:  " + "   ".join(
            f"F{5 + i} {fmt(amount)}" for i, amount in enumerate(self.quick_amounts())) + cash_note)

    # -- taking tenders -----------------------------------------------------------------------
    def take(self, tender_of) -> None:
        """tender_of(amount typed or None) -> Tender; then save it and complete when covered."""
        if self.storing:
            return
        entry = self.query_one(EntryLine)
        typed, entry.value = entry.value.strip(), ""
        try:
            amount = self.app.till.currency.parse(typed) if typed else None
            tender = tender_of(amount)
        except PosError as err:
            self.say(str(err), error=True)
            return
        if tender is not None:
            self.add(tender)

    def add(self, tender: Tender) -> None:
        self.core(lambda _: self.app.till.add_tender(tender), lambda _: self.after_tender())

    def after_tender(self) -> None:
        self.show_due()
        self.say("")
        if self.app.till.due().left == 0:
            self.complete()

    @on(EntryLine.Submitted, "#amount")
    def entered(self, event: EntryLine.Submitted) -> None:
        """Enter: cash of the amount typed, or exactly what is due."""
        if self.storing:
            return
        till = self.app.till
        try:
            amount = till.currency.parse(event.value) if event.value else till.due().cash_left
        except PosError as err:
            self.say(str(err), error=True)
            return
        if amount:
            self.add(Tender("cash", amount))

    def action_cash(self) -> None:
        self.take(lambda amount: Tender("cash", amount or self.app.till.due().cash_left))

    def action_quick(self, index: int) -> None:
        if not self.storing:
            self.add(Tender("cash", self.quick_amounts()[index]))

    def ask_reference(self, kind: TenderKind, required: bool) -> None:
        def referenced(amount: int):
            def got(reference: str | None) -> None:
                if reference is None or (required and not reference):
                    self.say(f"No {kind} payment taken (it needs its transaction number)." if required
                             else f"No {kind} payment taken.")
                    return
                self.add(Tender(kind, amount, reference))

            self.app.push_screen(AskScreen(f"{kind.title()} {self.app.till.currency.format(amount, True)}: "
                                           "scan or type the transaction number" + ("" if required else " (optional)")),
                                 got)

        self.take(lambda amount: referenced(amount or self.app.till.due().left))

    def action_card(self) -> None:
        self.ask_reference("card", required=False)

    def action_mobile(self) -> None:
        self.ask_reference("mobile", required=True)

    def action_remove_last(self) -> None:
        tenders = self.app.till.cart.tenders
        if tenders and not self.storing:
            self.core(lambda _: self.app.till.remove_tender(len(tenders) - 1), lambda _: self.show_due())

    def action_back(self) -> None:
        if not self.storing:
            self.dismiss(None)

    # -- completing ---------------------------------------------------------------------------
    def action_retry(self) -> None:
        if not self.storing and self.app.till.due().left == 0:
            self.complete()

    def complete(self) -> None:
        self.storing = True
        self.refresh_bindings()
        self.say("Storing the sale...")
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
            self.app.notify(paid.warning, title="Check the clock", severity="warning", timeout=60)
        self.app.sale_paid()
        self.dismiss(paid)

    def not_stored(self, err: PosError) -> None:
        self.storing = False
        self.refresh_bindings()
        self.app.refresh_status()
        retry = " Press F10 (or r) to try again." if isinstance(err, NotDurable) else ""
        self.say(f"{err}{retry}", error=True)
