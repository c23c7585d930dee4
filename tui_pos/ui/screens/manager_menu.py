"""The function menu: shift, X and Z reports, paid-in and paid-out, refunds, voids, the drawer,
held sales, stored reports, the sales report, receiving goods, the stock take, transfers between shops, the stock
warnings and code payments. Anyone may open it; what needs a manager asks for one inline
(the core decides). A digit runs an item, or Up/Down and Enter.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from tui_pos.domain.errors import BadInput
from tui_pos.domain.money import parse_count
from tui_pos.i18n import N_, _, message
from tui_pos.ui.screens.base import TillScreen
from tui_pos.ui.screens.dialogs import AskScreen
from tui_pos.ui.widgets.key_bar import KeyBar, bindings_by_action, key_label
from tui_pos.ui.widgets.status_bar import StatusBar

CASH_MOVES = {"paid_in": N_("Paid in"), "paid_out": N_("Paid out")}
# The list's wording for each item (the bindings' descriptions are the short key-bar names)
LABELS = {
    "menu.z_report": N_("Close the shift: count the drawer, Z report"),
    "menu.paid_in": N_("Paid in: cash put into the drawer"),
    "menu.paid_out": N_("Paid out: cash taken out of the drawer"),
    "menu.refund": N_("Refund against a receipt"),
    "menu.void_last": N_("Void the last sale"),
    "menu.no_sale": N_("No sale: open the drawer"),
    "menu.held": N_("Held sales: recall or delete"),
    "menu.stored_z": N_("Show a stored Z report again"),
    "menu.sales_report": N_("Sales report: the day by hour"),
    "menu.receive": N_("Receive goods: scan the delivery"),
    "menu.count": N_("Stock take: count by scanning"),
    "menu.transfer_out": N_("Transfer out: send goods to another shop"),
    "menu.transfer_in": N_("Transfer in: receive goods another shop sent"),
    "menu.payments": N_("Code payments: Alipay and WeChat attempts, settle, finish a sale"),
    "menu.stock_warnings": N_("Stock warnings: the week's anomalies, daily sales and write-offs as charts"),
}


class ManagerMenuScreen(TillScreen["str | None"]):
    """Dismissed with the name of a checkout action to run there ("no_sale", "recall"), or None."""

    BINDINGS = [
        # priority: the list has the focus; a digit always means its item
        Binding("1", "shift", N_("Shift / X"), show=False, priority=True, id="menu.x_report"),
        Binding("2", "close_shift", N_("Z report"), show=False, priority=True, id="menu.z_report"),
        Binding("3", "cash('paid_in')", N_("Paid in"), show=False, priority=True, id="menu.paid_in"),
        Binding("4", "cash('paid_out')", N_("Paid out"), show=False, priority=True, id="menu.paid_out"),
        Binding("5", "refund", N_("Refund"), show=False, priority=True, id="menu.refund"),
        Binding("6", "void_last", N_("Void last"), show=False, priority=True, id="menu.void_last"),
        Binding("7", "checkout('no_sale')", N_("No sale"), show=False, priority=True, id="menu.no_sale"),
        Binding("8", "checkout('recall')", N_("Held"), show=False, priority=True, id="menu.held"),
        Binding("9", "stored_z", N_("Stored Z"), show=False, priority=True, id="menu.stored_z"),
        Binding("0", "sales_report", N_("Sales"), show=False, priority=True, id="menu.sales_report"),
        Binding("r", "stock('receive')", N_("Receive"), show=False, priority=True, id="menu.receive"),
        Binding("t", "stock('count')", N_("Stock take"), show=False, priority=True, id="menu.count"),
        Binding("o", "transfer_out", N_("Transfer out"), show=False, priority=True, id="menu.transfer_out"),
        Binding("i", "transfer_in", N_("Transfer in"), show=False, priority=True, id="menu.transfer_in"),
        Binding("p", "payments", N_("Payments"), show=False, priority=True, id="menu.payments"),
        Binding("w", "stock_warnings", N_("Stock warnings"), show=False, priority=True, id="menu.stock_warnings"),
        Binding("escape", "back", N_("Back"), id="menu.back"),
    ]

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        yield Static(_("[b]Functions[/b]  (digit, or Up/Down and Enter; a manager approves what needs one)"),
                     id="menu-title")
        yield OptionList(id="menu", classes="fill")
        yield Static(id="message")
        yield KeyBar(id="keys")

    def on_mount(self) -> None:
        self.show_menu()
        self.query_one(OptionList).focus()

    def on_screen_resume(self) -> None:
        self.show_menu()  # a shift opened or closed meanwhile: item 1 says what it does now
        self.app.refresh_status()

    def show_menu(self) -> None:
        menu = self.query_one(OptionList)
        highlighted = menu.highlighted
        menu.clear_options()
        for binding, keys in bindings_by_action(self):
            if binding.id in LABELS or binding.id == "menu.x_report":
                label = _(LABELS[binding.id]) if binding.id in LABELS else (
                    _("X report: the shift so far") if self.app.till.shift else _("Open a shift: count the float"))
                menu.add_option(Option(f"{key_label(keys[0]):>3}  {label}", id=binding.action))
        menu.highlighted = highlighted or 0

    @on(OptionList.OptionSelected, "#menu")
    async def picked(self, event: OptionList.OptionSelected) -> None:
        assert event.option.id is not None  # every item is made with its action as its id
        await self.run_action(event.option.id)

    # -- the items ----------------------------------------------------------------------------
    def action_shift(self) -> None:
        """Open a shift when none is open, else the X report."""
        till = self.app.till
        if till.shift is None:
            from tui_pos.ui.screens.shift import OpenShiftScreen, shift_summary

            def opened(shift) -> None:
                if shift:
                    self.say(shift_summary(shift, till.currency.format))

            self.app.push_screen(OpenShiftScreen(), opened)
            return
        self.say(_("Reading the shift..."))
        self.core_in_thread(lambda _r: till.x_report(), self.show_report)

    def show_report(self, report) -> None:
        from tui_pos.ui.screens.shift import ReportScreen

        self.say("")
        self.app.push_screen(ReportScreen(report))

    def action_close_shift(self) -> None:
        if self.app.till.shift is None:
            self.say(_("No shift is open: there is nothing to close."), error=True)
            return
        from tui_pos.ui.screens.shift import CloseShiftScreen

        self.app.push_screen(CloseShiftScreen())

    def action_cash(self, kind: str) -> None:
        """Amount, then the reason (free text); a paid-out over the limit asks a manager. The drawer
        opens once the movement is recorded."""
        till = self.app.till
        label = _(CASH_MOVES[kind])

        def got_amount(text: str | None) -> None:
            if not text:
                return
            try:
                amount = till.currency.parse(text)
            except BadInput as err:
                self.say(message(err), error=True)
                return
            self.app.push_screen(AskScreen(_("{kind} {amount}: what for?").format(
                kind=label, amount=till.currency.format(amount, True)), _("e.g. window cleaner")),
                lambda reason: got_reason(amount, reason))

        def got_reason(amount: int, reason: str | None) -> None:
            if reason is not None:
                self.core_in_thread(lambda approval: (till.cash_movement(kind, amount, reason, approval),
                                                      self.app.print_worker.open_drawer()),
                                    lambda done: recorded(amount, reason, done[1]))

        def recorded(amount: int, reason: str, drawer: tuple[bool, str]) -> None:
            opened = _("Drawer opened.") if drawer[0] else _("Drawer not opened: {why}.").format(why=drawer[1])
            self.say(_("{kind} {amount} recorded ({reason}).").format(
                kind=label, amount=till.currency.format(amount, True), reason=reason) + " " + opened)

        self.app.push_screen(AskScreen(_("{kind}: amount").format(kind=label), _("type the amount")), got_amount)

    def action_refund(self) -> None:
        from tui_pos.ui.screens.refund import RefundScreen

        self.app.push_screen(RefundScreen())

    def action_void_last(self) -> None:
        from tui_pos.ui.screens.refund import VoidScreen

        self.app.push_screen(VoidScreen())

    def action_checkout(self, action: str) -> None:
        self.dismiss(action)

    def action_stored_z(self) -> None:
        till = self.app.till

        def got_number(text: str | None) -> None:
            if text is None:
                return
            number = parse_count(text) if text else None
            if text and number is None:
                self.say(_("'{text}' is not a Z number").format(text=text), error=True)
                return
            self.core_in_thread(lambda _r: till.z_reports(number), lambda found: shown(found, number))

        def shown(found, number: int | None) -> None:
            if found:
                self.show_report(found[0])
            else:
                self.say(_("Till {till} has no Z report {number}.").format(till=till.config.till_id, number=number)
                         if number else _("No shift has been closed on this till yet."), error=True)

        self.app.push_screen(AskScreen(_("Z report number (Enter: the last one):"), _("e.g. 12")), got_number)

    def action_stock(self, mode: str) -> None:
        from tui_pos.ui.screens.stock import StockScreen

        self.app.push_screen(StockScreen("receive" if mode == "receive" else "count"))

    def action_transfer_out(self) -> None:
        from tui_pos.ui.screens.stock_transfers import send_transfer

        send_transfer(self)

    def action_transfer_in(self) -> None:
        from tui_pos.ui.screens.stock_transfers import receive_transfer

        receive_transfer(self)

    def action_stock_warnings(self) -> None:
        from tui_pos.ui.screens.stock_warnings import StockWarningsScreen

        self.app.push_screen(StockWarningsScreen())

    def action_sales_report(self) -> None:
        from tui_pos.ui.screens.sales_report import SalesReportScreen

        self.app.push_screen(SalesReportScreen(self.app.till))

    def action_payments(self) -> None:
        from tui_pos.ui.screens.payments import PaymentsScreen

        self.app.push_screen(PaymentsScreen(), lambda action: action and self.dismiss(action))

    def action_back(self) -> None:
        if not self.working:
            self.dismiss(None)
