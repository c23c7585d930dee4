"""Refunds and voids at the till: the sale is shown line by line with what was sold and what is
left to return; the refund or void itself is the core's (a new record linked to the sale,
approved by a manager, never more than was sold).

RefundScreen: the receipt's number is typed, or its QR code scanned, into the entry line; the
items coming back are scanned, or chosen with Up/Down and a quantity. VoidScreen: this till's
last sale, reversed whole.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from tui_pos.app.till import Paid
from tui_pos.domain.auth import Approval
from tui_pos.domain.errors import CartError
from tui_pos.domain.money import parse_count
from tui_pos.domain.refund import Refundable, refund_lines, refund_tenders
from tui_pos.domain.sale import SaleLine, receipt_number
from tui_pos.domain.shop_time import shop_time
from tui_pos.i18n import N_, _, message
from tui_pos.ui.screens.base import STORED_AT, TillScreen, tender_word
from tui_pos.ui.screens.dialogs import AskScreen
from tui_pos.ui.screens.pickers import ReasonScreen
from tui_pos.ui.widgets.cart_view import CartRow, CartView, format_row
from tui_pos.ui.widgets.entry import EntryLine
from tui_pos.ui.widgets.key_bar import KeyBar
from tui_pos.ui.widgets.status_bar import StatusBar

# The words that differ between a refund and a void (ReversalScreen.KIND)
HEADS = {"refund": N_("Refund of {receipt}"), "void": N_("Void of {receipt}")}
REASON_TITLES = {"refund": N_("Reason for the refund"), "void": N_("Reason for the void")}
STORED = {"refund": N_("Refund {receipt} of {original} stored: {amount} back ({to}), {stored}."),
          "void": N_("Void {receipt} of {original} stored: {amount} back ({to}), {stored}.")}


def tender_text(kind: str, amount: str) -> str:
    return f"{tender_word(kind)} {amount}"


QTY_DIGITS = 3  # on the return line, up to this many digits are a quantity; more is an item's barcode


class ReversalScreen(TillScreen):
    """What a refund and a void share: the sale's lines (sold, left, coming back), the reason
    code, the money going back, and the call to the core with a manager's approval."""

    KIND = "refund"
    BINDINGS = [
        Binding("up", "move(-1)", N_("Up"), show=False, id="reversal.line_up"),
        Binding("down", "move(1)", N_("Down"), show=False, id="reversal.line_down"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.sale: Refundable | None = None
        self.quantities: dict[int, int] = {}  # line_no -> units coming back
        self.reason = ""
        self.all_cash = False

    @property
    def loaded_sale(self) -> Refundable:
        """The sale being reversed, where a step is offered only once one is loaded."""
        assert self.sale is not None
        return self.sale

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        yield Static(id="sale-head")
        yield Static(id="lines-header")
        yield CartView(id="lines")
        yield Static(id="refund-summary")
        yield Static(id="message")
        yield from self.compose_entry()
        yield KeyBar(id="keys")

    def compose_entry(self) -> ComposeResult:
        yield from ()

    def on_resize(self) -> None:
        # the header in the view's own columns: a row of labels (format_row pads str and int alike)
        labels = CartRow("#", _("Item  (sold, left)"), _("Back"), _("Price"), _("Refund"))  # type: ignore[arg-type]
        self.query_one("#lines-header", Static).update(format_row(labels, self.query_one(CartView).size.width))

    # -- showing ------------------------------------------------------------------------------
    def show_sale(self) -> None:
        till = self.app.till
        fmt = till.currency.format
        sale = self.sale
        if sale is None:
            self.query_one("#sale-head", Static).update(self.no_sale_text())
            self.query_one(CartView).show([], True)
            self.query_one("#refund-summary", Static).update("")
            return
        original = sale.original
        paid = ", ".join(tender_text(t["kind"], fmt(t["amount"])) for t in original["tenders"])
        self.query_one("#sale-head", Static).update(Text.assemble(
            (_(HEADS[self.KIND]).format(receipt=sale.receipt), "bold"),
            f"  {shop_time(original['completed_at'])}  {original['cashier']}  "
            + _("total {total}").format(total=fmt(original["total"], True)) + "\n"
            + (_("Paid: {tenders}, change {change}").format(tenders=paid, change=fmt(original["change"]))
               if original["change"] else _("Paid: {tenders}").format(tenders=paid))))
        back = {line.line_no: -line.total for line in self.returning()}
        rows = [CartRow(line.line_no, line.name, self.quantities.get(line.line_no, 0), fmt(line.unit_price),
                        fmt(back.get(line.line_no, 0)), f"({line.sold}, {line.left})", line.sold == 0)
                for line in sale.lines]
        self.query_one(CartView).show(rows, select_last=False)
        self.query_one("#refund-summary", Static).update(self.summary_text(sum(back.values())))

    def returning(self) -> tuple[SaleLine, ...]:
        """The core's own lines for what is coming back (exact amounts, shared by quantity)."""
        if self.sale is None or not any(self.quantities.values()):
            return ()
        return refund_lines(self.sale, self.quantities)

    def summary_text(self, amount: int) -> Text:
        till = self.app.till
        fmt = till.currency.format
        tenders, _unused = refund_tenders(self.loaded_sale, amount, till.cash_step, self.all_cash) if amount else ((), 0)
        to = ", ".join(tender_text(t.kind, fmt(-t.amount)) for t in tenders) or "-"
        return Text.assemble((_("BACK") + " ", "bold"), (fmt(amount, True), "bold reverse"),
                             "  " + _("to {tenders}").format(tenders=to),
                             "   " + _("(all in cash)") if self.all_cash else "",
                             "\n" + _("Reason: {reason}").format(reason=self.reason or _("(not chosen yet)")))

    def no_sale_text(self) -> str:
        return ""

    def action_move(self, step: int) -> None:
        self.query_one(CartView).move(step)

    def selected_line(self) -> int | None:
        row = self.query_one(CartView).selected
        return None if row is None else row.number

    # -- reason and the reversal itself ---------------------------------------------------------
    def action_reason(self, then: Callable[[], None] | None = None) -> None:
        """Choose the reason code (then: what to do once it is chosen)."""
        def chosen(reason: str | None) -> None:
            if reason:
                self.reason = reason
                self.show_sale()
                if then is not None:
                    then()

        self.app.push_screen(ReasonScreen(_(REASON_TITLES[self.KIND]), self.KIND), chosen)

    def action_commit(self) -> None:
        problem = self.not_ready()
        if problem:
            self.say(problem, error=True)
            return
        if not self.reason:
            self.action_reason(then=self.action_commit)
            return
        self.core_in_thread(self.reverse, self.stored, reason=self.reason)

    def not_ready(self) -> str:
        """Why the reversal cannot be asked for yet ("" when it can: the core has the last word)."""
        raise NotImplementedError

    def reverse(self, approval: Approval | None) -> Paid:
        raise NotImplementedError

    def stored(self, paid: Paid) -> None:
        fmt = self.app.till.currency.format
        sale = paid.sale
        self.app.sale_paid()  # its receipt is waiting, like a sale's
        self.app.refresh_status()
        to = ", ".join(tender_text(t.kind, fmt(-t.amount)) for t in sale.tenders) or _("nothing")
        self.reload(_(STORED[self.KIND]).format(receipt=sale.receipt, original=self.loaded_sale.receipt,
                                                amount=fmt(-sale.total, True), to=to, stored=_(STORED_AT[paid.stored])))

    def reload(self, message: str) -> None:
        raise NotImplementedError

    def action_back(self) -> None:
        if not self.working:
            self.dismiss(None)


class RefundScreen(ReversalScreen):
    BINDINGS = [
        Binding("f3,ctrl+n", "quantity", N_("Qty"), id="refund.quantity"),
        Binding("f4,ctrl+e", "everything", N_("All"), id="refund.all"),
        Binding("f5,ctrl+x", "clear", N_("None"), id="refund.none"),
        Binding("f6,ctrl+r", "reason", N_("Reason"), id="refund.reason"),
        Binding("f7,ctrl+t", "tender", N_("Cash/orig"), id="refund.tender"),
        Binding("f10,ctrl+p", "commit", N_("Refund"), id="refund.commit"),
        Binding("escape", "back", N_("Back"), id="refund.back"),
    ]

    def compose_entry(self) -> ComposeResult:
        yield EntryLine(_("Receipt> "), id="entry")

    def on_mount(self) -> None:
        self.query_one(EntryLine).focus()
        self.show_sale()
        self.say(_("Type the receipt number (or scan its QR code) and Enter."))

    def no_sale_text(self) -> str:
        return _("Refund: type the receipt number (e.g. 123 or T1-000123) or scan the receipt's QR code.")

    def not_ready(self) -> str:
        if self.sale is None:
            return _("Type the receipt number or scan its QR code first.")
        if not any(self.quantities.values()):
            return _("Nothing is coming back: scan the items or choose the lines first.")
        return ""

    # -- the entry line: a receipt, a quantity, or an item coming back -------------------------
    @on(EntryLine.Submitted, "#entry")
    def entered(self, event: EntryLine.Submitted) -> None:
        text = event.value
        if not text:
            return
        qty_text, star, code = text.rpartition("*")
        qty = parse_count(qty_text) if star else None
        if self.sale is None or (star and qty is None) or parse_count(code) is None:
            self.load(text)
        elif qty is not None:
            self.set_code(code, qty)
        elif len(text) <= QTY_DIGITS:
            line_no = self.selected_line()
            if line_no is not None:
                self.set_quantity(line_no, int(text))
        else:
            self.set_code(code, None)

    def load(self, text: str, message: str = "") -> None:
        """A receipt number (this till's: the number alone will do), or a scanned QR payload."""
        till = self.app.till
        number = parse_count(text) if len(text) <= 6 else None
        receipt = receipt_number(till.config.till_id, number) if number is not None else text
        self.core_in_thread(lambda _r: till.find_refundable(receipt), lambda sale: self.loaded(sale, message))

    def loaded(self, sale: Refundable, message: str) -> None:
        same = self.sale is not None and self.sale.receipt == sale.receipt
        self.sale, self.quantities = sale, {}
        if not same:
            self.reason, self.all_cash = "", False
            self.query_one(CartView).cursor = 0  # the first line
        entry = self.query_one(EntryLine)
        entry.prompt = _("Return> ")
        entry.refresh()
        self.show_sale()
        if sale.fully_returned:
            self.say(message or _("Everything on {receipt} has already been returned.").format(receipt=sale.receipt),
                     error=not message)
        else:
            self.say(message or _("Scan the items coming back, or choose a line (Up/Down) and type how many; "
                                  "F4: everything. F10 refunds."))

    def set_quantity(self, line_no: int, qty: int) -> None:
        line = self.loaded_sale.line(line_no)
        if qty > line.left:
            self.say(_("{name}: {left} of {sold} can still be returned, not {qty}").format(
                name=line.name, left=line.left, sold=line.sold, qty=qty), error=True)
            return
        self.quantities[line_no] = qty
        self.show_sale()
        self.say(_("{qty} x {name} coming back.").format(qty=qty, name=line.name))

    def set_code(self, code: str, qty: int | None) -> None:
        """A scanned item: one more of it coming back (qty: exactly that many)."""
        try:
            line = self.loaded_sale.line_for_code(code)
        except CartError as err:
            self.say(message(err), error=True)
            return
        self.set_quantity(line.line_no, qty if qty is not None else self.quantities.get(line.line_no, 0) + 1)

    # -- actions ------------------------------------------------------------------------------
    def action_quantity(self) -> None:
        line_no = self.selected_line()
        if self.sale is None or line_no is None:
            self.say(_("Choose a line first (Up/Down)."), error=True)
            return
        line = self.sale.line(line_no)

        def answered(text: str | None) -> None:
            if text:
                count = parse_count(text)
                if count is not None:
                    self.set_quantity(line_no, count)
                else:
                    self.say(_("'{text}' is not a quantity").format(text=text), error=True)

        self.app.push_screen(AskScreen(_("How many {name} come back? ({left} left)").format(name=line.name, left=line.left),
                                       str(line.left),
                                       str(self.quantities.get(line_no, 0))), answered)

    def action_everything(self) -> None:
        if self.sale is not None:
            self.quantities = {line.line_no: line.left for line in self.sale.lines if line.left}
            self.show_sale()

    def action_clear(self) -> None:
        if self.sale is not None:
            self.quantities = {}
            self.show_sale()

    def action_tender(self) -> None:
        """Back to the original tenders (card and mobile first), or everything in cash."""
        self.all_cash = not self.all_cash
        self.show_sale()

    def reverse(self, approval: Approval | None) -> Paid:
        return self.app.till.refund(self.loaded_sale.receipt, dict(self.quantities), self.reason, approval, self.all_cash)

    def reload(self, message: str) -> None:
        self.load(self.loaded_sale.receipt, message)


class VoidScreen(ReversalScreen):
    """The till's last sale, reversed whole (e.g. rung up by mistake): shown first, then voided
    with a reason code and a manager's approval."""

    KIND = "void"
    BINDINGS = [
        Binding("f6,ctrl+r", "reason", N_("Reason"), id="void.reason"),
        Binding("f10,ctrl+p", "commit", N_("Void"), id="void.commit"),
        Binding("escape", "back", N_("Back"), id="void.back"),
    ]

    def on_mount(self) -> None:
        self.show_sale()
        self.reload("")

    def no_sale_text(self) -> str:
        return _("This till has no sale to void.")

    def reload(self, message: str) -> None:
        self.core_in_thread(lambda _r: self.app.till.last_sale(), lambda sale: self.loaded(sale, message))

    def loaded(self, sale: Refundable | None, message: str) -> None:
        self.sale = sale
        self.quantities = {line.line_no: line.left for line in sale.lines if line.left} if sale else {}
        self.show_sale()
        problem = self.not_ready()
        if message or problem:
            self.say(message or problem, error=not message)
        else:
            self.say(_("Void {receipt}: everything comes back. F6 reason, F10 void (a manager approves).").format(
                receipt=self.loaded_sale.receipt))

    def not_ready(self) -> str:
        if self.sale is None:
            return self.no_sale_text()
        if self.sale.reversals:
            return _("{receipt} already has a refund or void: refund what is left instead (^Z).").format(
                receipt=self.sale.receipt)
        return ""

    def reverse(self, approval: Approval | None) -> Paid:
        return self.app.till.void_last_sale(self.reason, approval, shown=self.loaded_sale.original["uuid"])
