"""Pick something from a list: a product by name (incremental search), a held sale, a reason code,
or read the keys."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from tui_pos.app.stock import Level
from tui_pos.app.till import HeldSale, Till
from tui_pos.domain.catalog import Product
from tui_pos.domain.columns import pad
from tui_pos.domain.shop_time import shop_clock
from tui_pos.domain.stock import format_qty
from tui_pos.i18n import N_, _, ngettext
from tui_pos.ui.widgets.entry import FieldInput

if TYPE_CHECKING:
    from textual import getters

    from tui_pos.ui.app import PosApp


class LookupScreen(ModalScreen["str | None"]):
    """Type part of a name (Chinese or Latin), a code or a department; Enter/Down to the list."""

    if TYPE_CHECKING:
        app = getters.app(PosApp)  # self.app, typed as the till's app (Textual's way)

    BINDINGS = [Binding("escape", "cancel", N_("Back"), id="lookup.cancel"),
                Binding("down", "to_list", N_("List"), show=False, id="lookup.list")]

    def __init__(self, query: str = ""):
        super().__init__()
        self.initial = query
        self.found: list[Product] = []  # the products listed now
        self.stock_of: list[Product] | None = None  # the products whose stock on hand is shown (read)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Label(_("Find a product"))
            yield FieldInput(value=self.initial, placeholder=_("name, code or department"), id="lookup-query")
            yield OptionList(id="lookup-results")
            yield Static("", id="lookup-message", classes="error")
            yield Label(_("Enter: add    Down: choose    Esc: back"), classes="hint")

    def on_mount(self) -> None:
        self.query_one(Input).cursor_blink = False
        self.search(self.initial)

    @on(Input.Changed)
    def changed(self, event: Input.Changed) -> None:
        self.search(event.value)

    def search(self, text: str) -> None:
        till = self.app.till
        results = self.query_one(OptionList)
        results.clear_options()
        products: list[Product] = till.catalog.search(text) if text.strip() else []
        self.found = products
        results.add_options(Option(self.row(p), id=p.barcode) for p in products)
        if products:
            results.highlighted = 0
            self.read_stock(products)
        self.query_one("#lookup-message", Static).update(
            "" if products or not text.strip() else _("Nothing found for '{text}'.").format(text=text.strip()))

    def row(self, product: Product, level: Level | None = None) -> str:
        """Name, code, price and, once read, stock on hand (tracked products only)."""
        text = f"{product.name}  {product.barcode}  {self.app.till.currency.format(product.price, True)}"
        if level is not None and level.tracked:
            text += "  " + _("on hand {qty}").format(qty=format_qty(level.on_hand))
        return self.app.shown(text)

    # Stock on hand is read beside the typing, not in it: the list shows at once and the figures
    # follow (a product that sells all year is a few milliseconds to sum; a keystroke meanwhile
    # starts a new read and this one's answer is dropped).
    @work(thread=True, exclusive=True, group="lookup-stock", exit_on_error=False)
    def read_stock(self, products: list[Product]) -> None:
        try:
            levels = self.app.till.stock.of([p.barcode for p in products])
        except Exception:  # noqa: BLE001 - the look-up works without stock figures
            levels = None
        self.app.call_from_thread(self.show_stock, products, levels or {})

    def show_stock(self, products: list[Product], levels: dict[str, Level]) -> None:
        if products is not self.found:
            return  # typed on meanwhile: another list is shown
        results = self.query_one(OptionList)
        for product in products:
            if product.barcode in levels:
                results.replace_option_prompt(product.barcode, self.row(product, levels[product.barcode]))
        self.stock_of = products

    @on(Input.Submitted)
    def pick_first(self) -> None:
        results = self.query_one(OptionList)
        if results.option_count:
            self.dismiss(results.get_option_at_index(results.highlighted or 0).id)
        elif self.query_one(Input).value.strip():
            self.app.bell()  # the message says why nothing is added

    @on(OptionList.OptionSelected)
    def picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_to_list(self) -> None:
        self.query_one(OptionList).focus()

    def action_cancel(self) -> None:
        self.dismiss(None)


def held_row(held: HeldSale, till: Till) -> str:
    """When, who, how many items (units, as the cart counts them), the total and, when some was
    paid before the sale was held, what was paid and what is still to pay."""
    fmt = lambda amount: till.currency.format(amount, True)  # noqa: E731
    total = held.cart.totals(till.config.prices_include_tax).total
    paid = sum(tender.amount for tender in held.cart.tenders)
    units = held.cart.units
    items = ngettext("{n} item", "{n} items", units).format(n=f"{units:>3}")
    return (f"{shop_clock(held.held_at)}  {pad(held.cashier, 10)} {items}  {fmt(total)}"
            + ("  " + _("paid {paid}, to pay {left}").format(paid=fmt(paid), left=fmt(max(total - paid, 0)))
               if paid else ""))


class HeldScreen(ModalScreen["tuple[str, str] | None"]):
    """A held sale to recall ("recall", uuid) or to throw away ("delete", uuid: the caller asks
    a manager, as the core requires)."""

    if TYPE_CHECKING:
        app = getters.app(PosApp)  # self.app, typed as the till's app (Textual's way)

    BINDINGS = [
        Binding("escape", "cancel", N_("Back"), id="held.cancel"),
        Binding("f4,delete", "delete", N_("Delete"), id="held.delete"),
    ]

    def compose(self) -> ComposeResult:
        till = self.app.till
        with Vertical(classes="dialog wide"):
            yield Label(_("Held sales"))
            options = [Option(held_row(h, till), id=h.cart.uuid) for h in till.held_sales()]
            yield OptionList(*options, id="held-list")
            yield Label(_("Enter: recall    F4/Del: delete (manager)    Esc: back") if options
                        else _("No held sales.    Esc: back"), classes="hint")

    @on(OptionList.OptionSelected)
    def picked(self, event: OptionList.OptionSelected) -> None:
        assert event.option.id is not None  # every row is made with its sale's uuid as its id
        self.dismiss(("recall", event.option.id))

    def action_delete(self) -> None:
        held = self.query_one(OptionList)
        if held.highlighted is not None:
            uuid = held.get_option_at_index(held.highlighted).id
            assert uuid is not None  # as above
            self.dismiss(("delete", uuid))

    def action_cancel(self) -> None:
        self.dismiss(None)


class ReasonScreen(ModalScreen["str | None"]):
    """A reason code from [till.reasons] for one kind ("refund", "void"): its digit, or Up/Down and Enter."""

    if TYPE_CHECKING:
        app = getters.app(PosApp)  # self.app, typed as the till's app (Textual's way)

    BINDINGS = [Binding("escape", "cancel", N_("Back"), id="reason.cancel")]

    def __init__(self, title: str = "", kind: str = "refund"):
        super().__init__()
        self.title_text, self.kind = title or _("Reason"), kind

    @property
    def reasons(self) -> tuple[str, ...]:
        return self.app.till.config.reasons_for(self.kind)

    def compose(self) -> ComposeResult:
        reasons = self.reasons
        with Vertical(classes="dialog"):
            yield Label(self.title_text)
            yield OptionList(*(f"{n}  {reason}" for n, reason in enumerate(reasons, 1)), id="reason-list")
            yield Label(_("Digit or Enter: choose    Esc: back"), classes="hint")

    def on_mount(self) -> None:
        self.query_one(OptionList).highlighted = 0

    def on_key(self, event: events.Key) -> None:
        reasons = self.reasons
        if event.character and event.character in "123456789" and int(event.character) <= len(reasons):
            event.stop()
            self.dismiss(reasons[int(event.character) - 1])

    @on(OptionList.OptionSelected)
    def picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.reasons[event.option_index])

    def action_cancel(self) -> None:
        self.dismiss(None)


class HelpScreen(ModalScreen[None]):
    """What the screen below takes (`about`), then every key of it, both bindings, as remapped."""

    if TYPE_CHECKING:
        app = getters.app(PosApp)  # self.app, typed as the till's app (Textual's way)

    BINDINGS = [Binding("escape,f1,enter", "close", N_("Close"), id="help.close")]

    def __init__(self, lines: list[str], about: str = ""):
        super().__init__()
        self.lines, self.about = lines, about

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog wide"):
            yield Label(_("Help (Up/Down scroll)    Esc: close"), classes="hint")
            if self.about:
                yield Static(self.about, id="help-about")
            yield Label(_("Keys"), classes="heading")
            yield Static("\n".join(self.lines))

    def action_close(self) -> None:
        self.dismiss(None)
