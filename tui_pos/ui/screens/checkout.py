"""The checkout: entry line, cart, totals, and every action on the sale in progress."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Static

from tui_pos.app.till import Paid
from tui_pos.domain.auth import Approval
from tui_pos.domain.errors import BadInput, OpenPriceRequired, PosError
from tui_pos.domain.money import parse_count, percent_to_bp
from tui_pos.domain.payments import recognise_code
from tui_pos.domain.pricing import Discount
from tui_pos.i18n import N_, _, message
from tui_pos.ui.screens.base import STORED_AT, TillScreen
from tui_pos.ui.screens.dialogs import AskScreen, ConfirmScreen
from tui_pos.ui.screens.pickers import HeldScreen, HelpScreen, LookupScreen
from tui_pos.ui.widgets.big_amount import BigAmount
from tui_pos.ui.widgets.cart_view import CartRow, CartView, header
from tui_pos.ui.widgets.entry import EntryLine
from tui_pos.ui.widgets.key_bar import KeyBar
from tui_pos.ui.widgets.status_bar import StatusBar

ENTRY_HELP = N_("""\
The entry line at the bottom takes:
  a code, Enter          adds one (scanned or typed)
  3*CODE, Enter          adds three (any number before the *)
  part of a name, Enter  finds the product (Chinese or Latin, with or
                         without accents): Enter adds the first found,
                         Down chooses another, Esc adds nothing
Up/Down select a cart line for Qty, Void, Disc and Price.""")

PRICE_HINT = N_("type the price")  # in an empty price field: no digits, it cannot be taken for a price


class CheckoutScreen(TillScreen):
    last_paid: dict | None = None  # the sale paid last at this screen, as stored: Ctrl+Y shows its receipt
    BINDINGS = [
        Binding("f1,ctrl+g", "help", N_("Help"), id="help"),
        Binding("f2,ctrl+f", "lookup", N_("Find"), id="lookup"),
        Binding("f3,ctrl+n", "quantity", N_("Qty"), id="quantity"),
        Binding("f4,ctrl+d", "void", N_("Void"), id="void"),
        Binding("f5,ctrl+t", "discount", N_("Disc"), id="discount"),
        Binding("f6,ctrl+o", "order_discount", N_("Order%"), id="order_discount"),
        Binding("f7,ctrl+w", "hold", N_("Hold"), id="hold"),
        Binding("f8,ctrl+r", "recall", N_("Recall"), id="recall"),
        Binding("f9,ctrl+x", "cancel_sale", N_("Cancel"), id="cancel_sale"),
        Binding("f10,ctrl+p", "pay", N_("Pay"), id="pay"),
        Binding("ctrl+u", "price", N_("Price"), id="price"),
        Binding("ctrl+l", "lock", N_("Lock"), id="lock"),
        Binding("ctrl+e", "receipts", N_("Receipts"), id="receipts"),
        Binding("ctrl+y", "last_receipt", N_("Last rcpt"), show=False, id="last_receipt"),  # offered after a sale
        Binding("ctrl+k", "no_sale", N_("Drawer"), id="no_sale"),
        Binding("f11,ctrl+s", "menu", N_("Menu"), id="menu"),
        Binding("ctrl+z", "refund", N_("Refund"), id="refund"),
        Binding("up", "move(-1)", N_("Up"), show=False, id="line_up"),
        Binding("down", "move(1)", N_("Down"), show=False, id="line_down"),
    ]

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        yield Static(id="cart-header")
        yield CartView(id="cart")
        with Horizontal(id="summary"):
            yield Static(id="details")
            yield BigAmount(id="total")
        yield Static(id="message")
        yield EntryLine(id="entry")
        yield KeyBar(id="keys")

    def on_mount(self) -> None:
        self.query_one(EntryLine).focus()
        self.show_cart(select_last=True)
        notice = self.app.till.restored_notice()
        if notice == "unverified":
            self.say(_("Sale in progress restored, but the database cannot be read: it MAY ALREADY BE PAID. "
                       "Check the customer's receipt (Ctrl+E) before taking payment."), error=True)
        elif notice == "restored":
            self.say(_("The sale in progress was restored after a restart."))
        # another process (the CLI) may have opened or closed the shift: ask the storage, then
        # send a cashier who has no open shift to count the float
        self.core_in_thread(lambda _r: self.app.till.refresh_shift(), lambda shift: shift or self.open_shift())

    def on_screen_resume(self) -> None:
        self.app.show_settled()  # code payments settled at start-up: once the cashier is here

    def open_shift(self) -> None:
        from tui_pos.ui.screens.shift import OpenShiftScreen, shift_summary

        self.app.push_screen(OpenShiftScreen(), lambda shift: shift and self.say(
            shift_summary(shift, self.app.till.currency.format)))

    def on_resize(self) -> None:
        self.query_one("#cart-header", Static).update(header(self.query_one(CartView).size.width))

    # -- showing the sale -------------------------------------------------------------------
    def show_cart(self, select_last: bool = False) -> None:
        till = self.app.till
        fmt = till.currency.format
        cart = till.cart
        totals = cart.totals(till.config.prices_include_tax)
        rows = []
        for number, (line, priced) in enumerate(zip(cart.lines, totals.lines), start=1):
            note = " ".join(filter(None, [
                f"-{fmt(priced.line_discount)}" if priced.line_discount else "",
                _("(price keyed)") if line.price_keyed else "",
            ]))
            rows.append(CartRow(number, line.name, line.qty, fmt(line.unit_price), fmt(priced.total), note, line.voided))
        self.query_one(CartView).show(rows, select_last)
        details = Text(_("Items {items}   Discount {discount}   Tax {tax}").format(
            items=cart.units, discount=fmt(totals.discount), tax=fmt(totals.tax)))
        if cart.tenders:  # taken on the payment screen, then Esc: the cashier must see it here
            due = till.due()
            details.append("\n" + _("Paid so far {paid}   To pay {left}").format(paid=fmt(due.paid), left=fmt(due.left)),
                           style="bold")
        if till.cart_save_error:  # the sale is in memory only: a crash now would lose it
            details.append("\n" + _("SALE IN PROGRESS NOT SAVED"), style="bold red")
        self.query_one("#details", Static).update(details, layout=False)  # fixed size: #summary
        self.query_one(BigAmount).show(_("TOTAL"), till.currency.symbol, fmt(totals.total))

    def show_paid(self, paid: Paid) -> None:
        fmt = self.app.till.currency.format
        sale = paid.sale
        self.show_cart()
        self.query_one(BigAmount).show(_("CHANGE"), self.app.till.currency.symbol, fmt(sale.change), "bold reverse")
        self.last_paid = sale.to_record()
        self.say(_("Sale {receipt} paid: total {total}, change {change}, {stored}. Next customer. "
                   "{key}: this receipt on screen.").format(
            receipt=sale.receipt, total=fmt(sale.total, True), change=fmt(sale.change, True),
            stored=_(STORED_AT[paid.stored]), key=self.app.key_of("last_receipt")))
        self.app.refresh_status()

    def selected_line(self) -> int | None:
        row = self.query_one(CartView).selected
        if row is None or row.voided:
            self.say(_("Select a line first (Up/Down)."), error=True)
            return None
        return self.app.till.cart.lines[row.number - 1].line_id

    def changed(self, _r: object = None) -> None:
        self.show_cart()
        self.say("")

    # -- entry: scan, QTY*CODE, or a name to look up ------------------------------------------
    @on(EntryLine.Submitted, "#entry")
    def entered(self, event: EntryLine.Submitted) -> None:
        text = event.value
        if not text:
            return
        qty_text, star, code = text.rpartition("*")
        qty = parse_count(qty_text) if star else 1
        if qty is None:
            self.say(_("'{text}': quantity first, in digits 0-9, e.g. 3*6900000000014").format(text=text), error=True)
            return
        if not (code.isascii() and code.isdigit()):
            self.app.push_screen(LookupScreen(code), lambda barcode: barcode and self.add(barcode, qty))
            return
        if not star and recognise_code(code) and not self.is_product(code):
            self.action_pay(code)  # the customer's Alipay/WeChat code: pay the sale with it (never logged as a product code)
            return
        self.add(code, qty)

    def is_product(self, code: str) -> bool:
        try:
            self.app.till.catalog.lookup(code)
        except PosError:
            return False
        return True

    def add(self, code: str, qty: int) -> None:
        till = self.app.till
        try:
            till.scan(code, qty)
        except OpenPriceRequired:
            product = till.catalog.lookup(code)

            def priced(price: str | None) -> None:
                if not price:
                    self.say(_("{name}: no price typed, nothing added.").format(name=product.name))
                    return
                self.core(lambda _r: till.scan(code, qty, till.currency.parse(price)), lambda _r: self.changed())

            self.app.push_screen(AskScreen(_("Price of {name} (open price):").format(name=product.name), _(PRICE_HINT),
                                           required=_("Type the price, e.g. 12.50 (Esc: add nothing).")), priced)
            return
        except PosError as err:  # unknown code, bad quantity: a message, nothing added
            self.say(message(err), error=True)
            return
        self.show_cart(select_last=True)
        line = till.cart.lines[-1]
        self.say(_("{qty} x {name}").format(qty=line.qty, name=line.name))

    # -- actions ------------------------------------------------------------------------------
    def action_move(self, delta: int) -> None:
        self.query_one(CartView).move(delta)

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen(self.app.describe_keys(self), _(ENTRY_HELP)))

    def action_lookup(self) -> None:
        self.app.push_screen(LookupScreen(), lambda barcode: barcode and self.add(barcode, 1))

    def action_quantity(self) -> None:
        line_id = self.selected_line()
        if line_id is None:
            return
        till = self.app.till

        def set_qty(text: str | None) -> None:
            if text:
                qty = parse_count(text)
                if qty is None:
                    self.say(_("'{text}' is not a quantity (digits 0-9)").format(text=text), error=True)
                    return
                self.core(lambda _r: till.set_qty(line_id, qty), lambda _r: (
                    self.changed(), self.say(_("{qty} x {name}").format(qty=till.cart.line(line_id).qty, name=line.name))))

        line = till.cart.line(line_id)
        self.app.push_screen(AskScreen(_("New quantity of {name}:").format(name=line.name), "1", str(line.qty)), set_qty)

    def action_void(self) -> None:
        line_id = self.selected_line()
        if line_id is None:
            return
        till = self.app.till
        selected = self.query_one(CartView).selected
        assert selected is not None  # selected_line() said so
        number = selected.number
        line = till.cart.line(line_id)
        was = till.cart.totals(till.config.prices_include_tax).lines[number - 1].total
        self.core(lambda _r: till.void_line(line_id), lambda _r: (
            self.changed(), self.say(_("Line {number} voided: {name} (-{amount}).").format(
                number=number, name=line.name, amount=till.currency.format(was)))))

    def ask_discount(self, title: str, said: tuple[str, str], apply, amount_off, name: str = "") -> None:
        """apply(discount, approval) -> Cart; amount_off(totals) -> what it takes off, for the
        confirmation `said` ({discount}, {off} and {name} filled in; the second one, with {manager}, when a
        manager approved it)."""
        till = self.app.till

        def parsed(text: str | None) -> None:
            if not text:
                return
            try:
                discount = (Discount("percent", percent_to_bp(text)) if text.endswith("%")
                            else Discount("amount", till.currency.parse(text)))
            except BadInput as err:
                self.say(message(err), error=True)
                return
            approved: list[Approval] = []  # the manager's, when one was asked

            def run(approval: Approval | None):
                cart = apply(discount, approval)
                approved.extend(filter(None, [approval]))
                return cart

            def applied(_r: object) -> None:
                self.changed()
                off = till.currency.format(amount_off(till.cart.totals(till.config.prices_include_tax)))
                manager = approved[-1].manager if approved else ""
                self.say(said[bool(approved)].format(discount=text, off=off, manager=manager, name=name))

            self.core(run, applied)

        self.app.push_screen(AskScreen(title, _("10% or 5.00")), parsed)

    def action_discount(self) -> None:
        line_id = self.selected_line()
        if line_id is not None:
            index, name = self.query_one(CartView).cursor, self.app.till.cart.line(line_id).name
            self.ask_discount(_("Discount on {name} (10% or 5.00):").format(name=name),
                              (_("Discount {discount} on {name}: -{off}."),
                               _("Discount {discount} on {name}: -{off}, approved by {manager}.")),
                              lambda d, approval: self.app.till.discount_line(line_id, d, approval),
                              lambda totals: totals.lines[index].line_discount, name)

    def action_order_discount(self) -> None:
        self.ask_discount(_("Discount on the whole sale (10% or 5.00):"), (_("Discount {discount} on the sale: -{off}."),
                           _("Discount {discount} on the sale: -{off}, approved by {manager}.")),
                          lambda d, approval: self.app.till.discount_order(d, approval),
                          lambda totals: sum(line.order_discount for line in totals.lines))

    def action_price(self) -> None:
        line_id = self.selected_line()
        if line_id is None:
            return
        till = self.app.till

        def priced(text: str | None) -> None:
            if text:
                self.core(lambda approval: till.set_price(line_id, till.currency.parse(text), approval), self.changed)

        self.app.push_screen(AskScreen(_("New unit price:"), _(PRICE_HINT)), priced)

    def action_hold(self) -> None:
        self.core(lambda _r: self.app.till.hold(), lambda _r: (self.changed(), self.say(_("Sale held. {key} recalls it.").format(key=self.app.key_of("recall")))))

    def action_recall(self) -> None:
        """Recall a held sale, or delete one (a manager's decision). Refused at once while a sale
        is in progress (the core would refuse the recall only after a held sale was chosen)."""
        till = self.app.till
        if not till.cart.is_empty:
            self.say(_("Finish, hold ({hold}) or cancel ({cancel}) this sale before recalling a held one.").format(
                hold=self.app.key_of("hold"), cancel=self.app.key_of("cancel_sale")), error=True)
            return

        def chosen(choice: tuple[str, str] | None) -> None:
            if choice and choice[0] == "recall":
                self.core(lambda _r: till.recall(choice[1]),
                          lambda _r: (self.show_cart(select_last=True), self.say(_("Held sale recalled."))))
            elif choice:
                self.core_in_thread(lambda approval: till.delete_held(choice[1], approval),
                                    lambda _r: self.say(_("Held sale deleted.")))

        self.app.push_screen(HeldScreen(), chosen)

    def action_cancel_sale(self) -> None:
        if self.app.till.cart.is_empty and not self.app.till.cart.tenders:
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.core(lambda _r: self.app.till.cancel(), lambda _r: (self.changed(), self.say(_("Sale cancelled."))))

        self.app.push_screen(ConfirmScreen(_("Cancel this sale?")), answered)

    def action_pay(self, code: str = "") -> None:
        """The payment screen; code: a payment code scanned here, charged there at once."""
        if self.app.till.cart.is_empty:
            self.say(_("The sale is empty: scan an item first."), error=True)
            return
        if self.app.till.shift is None:
            self.say(_("No shift is open: count the float first."), error=True)
            self.open_shift()
            return
        from tui_pos.ui.screens.tender import TenderScreen

        self.app.push_screen(TenderScreen(code), lambda paid: self.show_paid(paid) if paid else self.show_cart())

    def action_lock(self) -> None:
        self.app.lock()

    def action_last_receipt(self) -> None:
        """The receipt of the sale just paid, on screen (the customer asking is that one): laid out
        from the record kept at payment, never read back from storage on the UI thread."""
        from tui_pos.ui.screens.receipts import ReceiptScreen

        if self.last_paid is None:
            self.say(_("No sale paid at this till since it started: {key} lists the receipts.").format(
                key=self.app.key_of("receipts")))
        else:
            self.app.push_screen(ReceiptScreen(self.app.print_queue.layout(self.last_paid), self.last_paid["receipt"]))

    def action_receipts(self) -> None:
        from tui_pos.ui.screens.receipts import UnprintedScreen

        self.app.push_screen(UnprintedScreen())

    def action_menu(self) -> None:
        """The function menu; a checkout action chosen there (the drawer, held sales) runs here."""
        from tui_pos.ui.screens.manager_menu import ManagerMenuScreen

        self.app.push_screen(ManagerMenuScreen(), lambda action: action and getattr(self, f"action_{action}")())

    def action_refund(self) -> None:
        from tui_pos.ui.screens.refund import RefundScreen

        self.app.push_screen(RefundScreen())

    def action_no_sale(self) -> None:
        """Open the cash drawer without a sale: a manager's decision."""
        def opened(result: tuple[bool, str]) -> None:
            self.say(_("Drawer opened.") if result[0] else _("Drawer not opened: {why}").format(why=result[1]),
                     error=not result[0])

        self.core_in_thread(lambda approval: self.app.till.no_sale(approval),  # an audit entry first: it waits on storage
                            lambda _r: opened(self.app.print_worker.open_drawer()))
