"""Transfers between shops at the till, by scanning (issue 14; app/transfers.py decides).

Out: the shop the goods go to is picked first from the chain's shops as HQ last sent them down
(type to filter, Up/Down, Enter; this shop left out), or typed when the till has no list yet (said:
it cannot be checked then; the core checks either), then the goods are scanned as a delivery is
(nothing stored until F10). F10 shows what will leave, F10 again sends it: the
stock leaves this shop at once, under a new transfer id to write on the box; HQ gets it with the
till's sync and keeps the transfer open until the other shop receives it.

Sent, its slip (the transfer id, the shops, the lines) is printed on the receipt printer, when
there is one, to go in the box; a printer that fails is said, the transfer is stored regardless.

In: the transfers HQ has open for this shop, as the last sync pulled them, to pick one; what
arrived is then scanned against what was sent, line by line. Not blind: the packing slip travels
with the goods anyway, so hiding it proves nothing, while "sent 6, arrived 4" tells the receiver
what is still to find before anything is stored. F10 shows each difference, F10 again stores
them as the transfer's variance (HQ's reports show it).

HQ unreachable: a transfer sent is stored here and goes to HQ once it can be reached, and the
transfers to receive are those last pulled; the screen says which. Scans stay until stored: a
refusal keeps them, leaving with scans pending asks twice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from tui_pos.app.stock import Line
from tui_pos.app.transfers import ChainShop, Moved
from tui_pos.domain.columns import pad
from tui_pos.domain.errors import PosError, UnknownCode
from tui_pos.domain.shop_time import shop_time
from tui_pos.domain.stock import format_qty
from tui_pos.domain.transfers import OpenTransfer, received_quantities, variances
from tui_pos.i18n import N_, _, message
from tui_pos.printing.transfer_slip import TransferSlip, print_slip
from tui_pos.ui.screens.base import TillScreen
from tui_pos.ui.screens.dialogs import AskScreen
from tui_pos.ui.screens.stock import ScanningScreen
from tui_pos.ui.widgets.entry import FieldInput

if TYPE_CHECKING:
    from textual import getters

    from tui_pos.app.till import Till
    from tui_pos.ui.app import PosApp


def hq_reach(till: Till) -> str:
    """When HQ gets what this till stores now, in one sentence (the sync's state as last seen)."""
    state = till.sync_status()
    if state is not None and state.state == "offline":
        return _("HQ cannot be reached now: it is kept here and goes to HQ as soon as HQ can be reached.")
    if state is not None and state.state == "conflict":
        return _("HQ refuses this till's records for now (tui-pos status says why): it is kept here until then.")
    return _("HQ gets it with the next sync.")


def pulled_note(till: Till) -> str:
    """How fresh the open transfers are, when that matters: '' while the sync reaches HQ."""
    state = till.sync_status()
    if state is None or state.state == "synced":
        return ""
    if state.state == "conflict":
        return _("HQ refuses this till's sync for now (tui-pos status says why): the transfers as last pulled.")
    if state.last_sync:
        return _("HQ cannot be reached now: the transfers as pulled at {at}.").format(at=shop_time(state.last_sync))
    return _("HQ cannot be reached now: the transfers as last pulled.")


def send_transfer(screen: TillScreen[Any]) -> None:
    """Pick where the goods go (ShopPickScreen; typed when the till has no list of the chain's
    shops yet), then scan them (TransferOutScreen)."""
    transfers = screen.app.till.transfers
    try:
        shop = transfers.shop  # a till that has not joined HQ is told so before anything is asked
    except PosError as err:
        screen.say(message(err), error=True)
        return

    def got_shop(text: str | None) -> None:
        if not text:
            return
        try:
            to_shop = transfers.destination(text)
        except PosError as err:
            screen.say(message(err), error=True)
            return
        screen.app.push_screen(TransferOutScreen(to_shop))

    def listed(others: list[ChainShop] | None) -> None:
        if others is None:
            screen.app.push_screen(AskScreen(
                _("Send goods from shop {shop} to which shop? (its code at HQ; this till has no list of the chain's "
                  "shops yet, so it cannot be checked)").format(shop=shop), _("the shop's code, e.g. S2")), got_shop)
        elif not others:
            screen.say(_("HQ lists no other shop of the chain to send goods to (the list comes down with the till's "
                         "sync)."), error=True)
        else:
            screen.app.push_screen(ShopPickScreen(shop, others),
                                   lambda to: to and screen.app.push_screen(TransferOutScreen(to.shop, to.name)))

    screen.core_in_thread(lambda _r: transfers.shops(), listed)


def shop_row(shop: ChainShop) -> str:
    """A shop in the picker: its id (what the box and HQ name), then its name."""
    return f"{pad(shop.shop, 12)} {shop.name}".rstrip()


class ShopPickScreen(ModalScreen["ChainShop | None"]):
    """The shop goods go to, from the chain's as HQ sent them: type part of its id or name to
    filter, Up/Down to choose, Enter to send to it."""

    if TYPE_CHECKING:
        app = getters.app(PosApp)  # self.app, typed as the till's app (Textual's way)

    BINDINGS = [Binding("escape", "cancel", N_("Back"), id="shops.cancel"),
                Binding("down", "move(1)", N_("Next"), show=False, id="shops.down"),
                Binding("up", "move(-1)", N_("Previous"), show=False, id="shops.up")]

    def __init__(self, shop: str, shops: list[ChainShop]):
        super().__init__()
        self.shop, self.shops = shop, shops
        self.found = shops  # the shops listed now

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Label(_("Send goods from shop {shop} to which shop?").format(shop=self.shop))
            yield FieldInput(placeholder=_("part of its code or name"), id="shop-filter")
            yield OptionList(id="shop-list")
            yield Static("", id="shop-message", classes="error")
            yield Label(_("Type to find    Up/Down: choose    Enter: send to it    Esc: back"), classes="hint")

    def on_mount(self) -> None:
        self.query_one(Input).cursor_blink = False
        self.show("")

    @on(Input.Changed)
    def changed(self, event: Input.Changed) -> None:
        self.show(event.value)

    def show(self, text: str) -> None:
        self.found = [s for s in self.shops if s.matches(text)]
        listed = self.query_one(OptionList)
        listed.clear_options()
        listed.add_options(Option(self.app.shown(shop_row(s))) for s in self.found)
        listed.highlighted = 0 if self.found else None
        self.query_one("#shop-message", Static).update(
            "" if self.found else _("No shop of the chain matches '{text}'.").format(text=text.strip()))

    def action_move(self, step: int) -> None:
        listed = self.query_one(OptionList)
        if self.found:
            listed.highlighted = max(0, min(len(self.found) - 1, (listed.highlighted or 0) + step))

    @on(Input.Submitted)
    def pick_highlighted(self) -> None:
        highlighted = self.query_one(OptionList).highlighted
        if highlighted is None:
            self.app.bell()  # the message says why there is nothing to pick
            return
        self.dismiss(self.found[highlighted])

    @on(OptionList.OptionSelected)
    def picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.found[event.option_index])

    def action_cancel(self) -> None:
        self.dismiss(None)


def receive_transfer(screen: TillScreen[Any]) -> None:
    """The open transfers to this shop to pick one, then scan what arrived (TransferInScreen)."""
    transfers = screen.app.till.transfers

    def found(open_and_pulled: tuple[list[OpenTransfer], bool]) -> None:
        waiting, pulled = open_and_pulled
        note = pulled_note(screen.app.till)
        if not waiting:
            said = _("No transfer is waiting to be received.") if pulled else \
                _("No transfers pulled from HQ yet: they come down with the till's sync.")
            screen.say(" ".join(filter(None, [said, note])), error=bool(note))
            return
        screen.app.push_screen(TransferPickScreen(waiting, note),
                               lambda picked: picked and screen.app.push_screen(TransferInScreen(picked)))

    screen.core_in_thread(lambda _r: (transfers.open(), transfers.pulled()), found)


def transfer_row(transfer: OpenTransfer) -> str:
    """One open transfer in the list; its id whole (up to 40 characters: it is what the box says)."""
    return _("{transfer}  from shop {shop}, sent {sent_at}: {n} product(s)").format(
        transfer=transfer.transfer.ljust(16), shop=transfer.from_shop, sent_at=shop_time(transfer.sent_at),
        n=len(transfer.lines))


class TransferPickScreen(ModalScreen["OpenTransfer | None"]):
    """One of the transfers open for this shop: Up/Down and Enter."""

    if TYPE_CHECKING:
        app = getters.app(PosApp)  # self.app, typed as the till's app (Textual's way)

    BINDINGS = [Binding("escape", "cancel", N_("Back"), id="transfers.cancel")]

    def __init__(self, transfers: list[OpenTransfer], note: str = ""):
        super().__init__()
        self.transfers, self.note = transfers, note

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Label(_("Transfers sent to this shop, not received yet"))
            yield OptionList(*(Option(self.app.shown(transfer_row(t))) for t in self.transfers), id="transfer-list")
            if self.note:
                yield Label(self.note, classes="error")
            yield Label(_("Enter: receive    Esc: back"), classes="hint")

    def on_mount(self) -> None:
        self.query_one(OptionList).highlighted = 0

    @on(OptionList.OptionSelected)
    def picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.transfers[event.option_index])

    def action_cancel(self) -> None:
        self.dismiss(None)


class TransferOutScreen(ScanningScreen):
    """Goods to another shop, scanned; F10 reviews, F10 again sends."""

    review_first = True

    def __init__(self, to_shop: str, name: str = "") -> None:
        super().__init__("transfer_out")
        self.to_shop, self.shop_name = to_shop, name
        self.sent_said = ""  # what the screen said when the transfer was sent (the slip's outcome follows it)

    def heading(self) -> str:
        return _("Transfer to shop {shop}: scan each item (QTY*CODE for many)").format(
            shop=f"{self.to_shop} ({self.shop_name})" if self.shop_name else self.to_shop)

    def review(self) -> None:
        self.say(_("Send {n} product(s) to shop {shop}? They leave this shop's stock now. F10 again: send; "
                   "scan or F5 to change the list.").format(n=len(self.tally), shop=self.to_shop))

    def store(self) -> None:
        items, transfers = list(self.items), self.app.till.transfers
        self.core_in_thread(lambda _r: transfers.send(self.to_shop, items), self.stored)

    def stored(self, moved: Moved) -> None:
        text = Text()
        for record in moved.records:
            on_hand = "" if record["expected"] is None else \
                _(", on hand {qty}").format(qty=format_qty(record["expected"] + record["qty"]))
            text.append(f"{format_qty(-record['qty']):>9}  {self.tally[record['barcode']].product.name}{on_hand}\n")
        self.query_one("#stock-lines", Static).update(text)
        self.sent_said = _("Transfer {transfer} sent to shop {shop}: write {transfer} on the box.").format(
            transfer=moved.transfer, shop=moved.peer) + " " + hq_reach(self.app.till) + " " + _("Esc: back.")
        self.say(self.sent_said)
        till = self.app.till
        if till.config.printer.connection != "none":  # the slip goes in the box with the goods
            self.print_slip(TransferSlip.sent(moved.transfer, till.transfers.shop, moved.peer, self.shop_name,
                                              moved.records, {b: line.product.name for b, line in self.tally.items()}))
        self.items, self.tally = [], {}
        self.app.refresh_status()

    @work(thread=True)
    def print_slip(self, slip: TransferSlip) -> None:
        printed, why = print_slip(self.app.till.config, slip, self.app.print_queue)
        self.app.call_from_thread(self.slip_printed, printed, why)

    def slip_printed(self, printed: bool, why: str) -> None:
        if self.is_attached:
            self.say(self.sent_said + " " + (_("The slip is printed: put it in the box.") if printed else
                                             _("The slip was not printed: {why}.").format(why=why)), error=not printed)


class TransferInScreen(ScanningScreen):
    """A transfer from another shop: what arrived scanned against what was sent; F10 reviews the
    differences, F10 again stores them."""

    review_first = True

    def __init__(self, transfer: OpenTransfer) -> None:
        super().__init__("transfer_in")
        self.transfer = transfer

    def heading(self) -> str:
        return _("Transfer {transfer} from shop {shop}: scan what arrived").format(
            transfer=self.transfer.transfer, shop=self.transfer.from_shop)

    def arrived(self) -> dict[str, int]:
        return received_quantities(self.transfer.sent, {b: line.qty for b, line in self.tally.items()})

    def name_of(self, barcode: str) -> str:
        if barcode in self.tally:
            return self.tally[barcode].product.name
        try:
            return self.app.till.catalog.lookup(barcode).name
        except UnknownCode:
            return _("{code}: not in this till's catalog").format(code=barcode)

    def show_lines(self) -> None:
        sent, arrived = self.transfer.sent, self.arrived()
        off = variances(sent, arrived)
        sent_word, arrived_word, variance_word = _("sent"), _("arrived"), _("variance")
        text = Text(f"{pad(sent_word, 9, '>')} {pad(arrived_word, 9, '>')} {pad(variance_word, 9, '>')}  "
                    + _("product") + "\n", style="dim")
        for barcode, qty in arrived.items():
            variance = "" if barcode not in off else ("+" if off[barcode] > 0 else "") + format_qty(off[barcode])
            text.append(f"{format_qty(sent.get(barcode, 0)):>9} {format_qty(qty):>9} {variance:>9}  "
                        f"{self.name_of(barcode)}\n",
                        style="bold" if barcode in off else "")
        self.query_one("#stock-lines", Static).update(text)

    def scanned(self, line: Line) -> None:
        barcode = line.product.barcode
        if barcode not in self.transfer.sent:
            self.say(_("{qty} x {name}: not in this transfer; kept, it is stored as arrived without being sent "
                        "(F5 undoes it)").format(
                qty=format_qty(line.qty), name=line.product.name), error=True)
            return
        self.say(_("{qty} x {name}: {arrived} of {sent} arrived").format(
            qty=format_qty(line.qty), name=line.product.name, arrived=format_qty(self.tally[barcode].qty),
            sent=format_qty(self.transfer.sent[barcode])))

    def review(self) -> None:
        off = variances(self.transfer.sent, self.arrived())
        self.say(_("{n} product(s) differ from what was sent (in bold): F10 again stores them as the transfer's "
                   "variance; scan or F5 to change the list.").format(n=len(off)) if off else
                 _("Everything arrived as sent: F10 again stores it."), error=bool(off))

    def store(self) -> None:
        items, transfers, transfer = list(self.items), self.app.till.transfers, self.transfer.transfer
        self.core_in_thread(lambda _r: transfers.receive(transfer, items), self.stored)

    def stored(self, moved: Moved) -> None:
        self.closed = _("Transfer {transfer} is received: Esc to go back.").format(transfer=moved.transfer)
        self.show_lines()  # what was recorded: the list as reviewed
        said = _("Transfer {transfer} from shop {shop} received: {n} product(s) stored.").format(
            transfer=moved.transfer, shop=moved.peer, n=len(moved.records))
        if moved.variances:
            said += " " + _("Variance recorded for {n} product(s).").format(n=len(moved.variances))
        self.say(said + " " + hq_reach(self.app.till) + " " + _("Esc: back."))
        self.items, self.tally = [], {}
        self.app.refresh_status()
