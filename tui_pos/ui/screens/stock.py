"""Stock at the till, by scanning: goods received, and the stock take (app/stock.py decides).

Each scan (or QTY*CODE typed, 1.25*CODE for weighed goods) adds to the list in memory; nothing is
stored until F10, so a scanner's burst is only key presses. A count is blind: what is expected is
never shown while counting; F10 compares, shows each variance, and a count off by more than the
thresholds asks a manager to approve it inline (the core says why, with the numbers).
"""

from __future__ import annotations

from typing import Any, Literal

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from tui_pos.app.stock import Line
from tui_pos.domain.errors import PosError
from tui_pos.domain.stock import MoveKind, format_qty
from tui_pos.i18n import N_, _, message
from tui_pos.ui.screens.base import TillScreen
from tui_pos.ui.widgets.entry import EntryLine
from tui_pos.ui.widgets.key_bar import KeyBar
from tui_pos.ui.widgets.status_bar import StatusBar

StockMode = Literal["receive", "count"]
TITLES = {"receive": N_("Receive goods: scan each item (QTY*CODE for many)"),
          "count": N_("Stock take: scan what is on the shelf (a blind count)")}
STORED = {"receive": N_("{n} product(s) received and stored."), "count": N_("{n} product(s) counted and stored.")}


class ScanningScreen(TillScreen[None]):
    """Scan goods into a list in memory (app.stock's lines of `kind`), undo the last, store with
    F10, leave with Esc (twice when scans would be lost): receiving, counting, transfers."""

    BINDINGS = [
        Binding("f10,ctrl+p", "commit", N_("Store"), id="stock.commit"),
        Binding("f5,ctrl+x", "undo", N_("Undo last"), id="stock.undo"),
        Binding("escape", "back", N_("Back"), id="stock.back"),
    ]

    def __init__(self, kind: MoveKind) -> None:
        super().__init__()
        self.kind = kind
        self.items: list[str] = []  # CODExQTY as scanned, in order
        self.tally: dict[str, Line] = {}  # barcode -> the product and its quantity so far
        self.leaving = False  # Esc once with scans pending: a second Esc discards them
        self.reviewing = False  # F10 pressed once where the list is shown for review first
        self.closed = ""  # set once there is nothing more to scan here: what a scan is told

    review_first = False  # F10 shows what will be stored (review()); F10 again stores it

    def heading(self) -> str:
        raise NotImplementedError

    def review(self) -> None:
        raise NotImplementedError

    def store(self) -> None:
        """Store the list (a core call in a thread)."""
        raise NotImplementedError

    def refused_now(self) -> bool:
        """A scan or an undo that cannot change the list now (closed, or being stored) is refused, said."""
        if self.closed:
            self.say(self.closed, error=True)
        elif self.working:
            self.say(_("One moment: the list is being stored; scan that again afterwards."), error=True)
        return bool(self.closed) or self.working

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        yield Static(Text(self.heading(), style="bold"), id="stock-title")
        yield Static(id="stock-lines", classes="fill")
        yield Static(id="message")
        yield EntryLine(id="entry")
        yield KeyBar(id="keys")

    def on_mount(self) -> None:
        self.query_one(EntryLine).focus()
        self.show_lines()

    def show_lines(self) -> None:
        text = Text()
        for line in self.tally.values():  # counted quantities only: never what is expected
            text.append(f"{format_qty(line.qty):>9}  {line.product.name}  ({line.product.barcode})\n")
        if not self.tally:
            text.append(_("Nothing scanned yet."), style="dim")
        self.query_one("#stock-lines", Static).update(text)

    def scanned(self, line: Line) -> None:
        """Say what the last scan added (a screen may say more about it)."""
        self.say(_("{qty} x {name}").format(qty=format_qty(line.qty), name=line.product.name))

    @on(EntryLine.Submitted, "#entry")
    def entered(self, event: EntryLine.Submitted) -> None:
        text = event.value
        if not text:
            return
        qty, star, code = text.rpartition("*")
        if star and not (qty.strip() and code.strip() and "*" not in qty and "x" not in qty.lower()):
            # said with the text as typed, not the CODExQTY it would become
            self.say(_("'{text}': quantity first, e.g. 3*6900000000014 (1.25*CODE for weighed goods)")
                     .format(text=text), error=True)
            return
        item = f"{code}x{qty}" if star else code
        if self.refused_now():
            return
        try:
            [line] = self.app.till.stock.lines([item], self.kind)
        except PosError as err:  # an unknown code, a bad quantity: a message, nothing added
            self.say(message(err), error=True)
            return
        self.items.append(item)
        before = self.tally.get(line.product.barcode)
        self.tally[line.product.barcode] = Line(line.product, line.qty + (before.qty if before else 0), line.kind)
        self.leaving = self.reviewing = False
        self.show_lines()
        self.scanned(line)

    def action_undo(self) -> None:
        if self.refused_now():
            return
        if not self.items:
            self.say(_("Nothing to undo."), error=True)
            return
        item = self.items.pop()
        stock = self.app.till.stock
        self.tally = {line.product.barcode: line for line in stock.lines(self.items, self.kind)} if self.items else {}
        [undone] = stock.lines([item], self.kind)
        self.leaving = self.reviewing = False
        self.show_lines()
        self.say(_("Undone: {qty} x {name}").format(qty=format_qty(undone.qty), name=undone.product.name))

    def action_commit(self) -> None:
        if self.closed:
            self.say(self.closed, error=True)
            return
        if not self.tally:
            self.say(_("Scan the items first."), error=True)
            return
        if self.review_first and not self.reviewing:
            self.reviewing = True
            self.review()
            return
        self.store()

    def action_back(self) -> None:
        if self.working:
            return
        if self.tally and not self.leaving:
            self.leaving = True
            self.say(_("{n} product(s) scanned and not stored: Esc again discards them, F10 stores them.")
                     .format(n=len(self.tally)), error=True)
            return
        self.dismiss(None)


class StockScreen(ScanningScreen):
    """Goods received, or a stock take (blind), by scanning."""

    def __init__(self, mode: StockMode) -> None:
        super().__init__(mode)
        self.mode = mode

    def heading(self) -> str:
        return _(TITLES[self.mode])

    def store(self) -> None:
        stock = self.app.till.stock
        lines = list(self.tally.values())
        if self.mode == "receive":
            self.core_in_thread(lambda _r: stock.receive(lines), self.stored)
        else:
            self.core_in_thread(lambda approval: stock.count(lines, approval), self.stored)

    def stored(self, records: list[dict[str, Any]]) -> None:
        """The movements stored: what each changed (a count: its variance, for review)."""
        text = Text()
        for record in records:
            name = self.tally[record["barcode"]].product.name
            if record["kind"] == "count":
                text.append(f"{format_qty(record['counted']):>9}  " + _("{name}: expected {expected}, variance {variance}")
                            .format(name=name, expected=format_qty(record["expected"]),
                                    variance=format_qty(record["qty"])) + "\n", style="bold" if record["qty"] else "")
            else:
                on_hand = "" if record["expected"] is None else \
                    _(", on hand {qty}").format(qty=format_qty(record["expected"] + record["qty"]))
                text.append(f"{format_qty(record['qty']):>9}  {name}{on_hand}\n")
        self.query_one("#stock-lines", Static).update(text)
        approved = records[0].get("approved_by") if records else None
        self.say(_(STORED[self.mode]).format(n=len(records))
                 + (" " + _("Approved by {manager}.").format(manager=approved) if approved else "") + " " + _("Esc: back."))
        self.items, self.tally = [], {}
        self.app.refresh_status()
