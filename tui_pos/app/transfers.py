"""Transfers of stock between shops, through HQ, at the till (domain/transfers.py): send goods to
another shop (a transfer_out per product, stored through the ledger like every stock movement:
stock leaves this shop at once, HQ keeps the transfer open), and receive a transfer sent to this
till's shop (the open transfers the sync pulled from HQ: a transfer_in per product; a quantity
other than what was sent is the transfer's variance, HQ's report shows it).

Exactly once: a transfer's movements have UUIDs derived from it (domain.transfers.transfer_uuid);
under the numbering lock, a transfer this till has already sent (the same id) or received is
refused. Two tills of one shop receiving the same transfer before either has synced are caught at
HQ (the transfer received twice: a warning in `hq report anomalies`).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from tui_pos.app.context import log, storing
from tui_pos.app.stock import Stock, StockStore, stock_refusal
from tui_pos.domain.errors import N_, BadInput, PosError, StorageError
from tui_pos.domain.records import new_uuid
from tui_pos.domain.stock import format_qty
from tui_pos.domain.transfers import (
    OpenTransfer,
    check_transfer_id,
    received_moves,
    received_quantities,
    sent_moves,
    transfer_uuid,
    variances,
)


class TransferStore(StockStore, Protocol):
    def is_recorded(self, uuid: str) -> bool | None:
        """Stored anywhere? None: cannot say (the database cannot be read)."""
        ...


class TransferSource(Protocol):
    """The transfers HQ has open for this till's shop, and the chain's shops, as the last sync pulled them."""

    def open_transfers(self) -> list[dict[str, Any]] | None:
        """None: never pulled (the till has not synced with HQ since it could)."""
        ...

    def shops(self) -> list[dict[str, Any]] | None:
        """The chain's shops ({"shop", "name"}); None: no list pulled yet."""
        ...


SHOPS_NAMED = 10  # the chain's shops a refused destination names (then "...")


@dataclass(frozen=True)
class ChainShop:
    """A shop of the chain as HQ sends it to the tills: its id (what a transfer names) and its name."""

    shop: str
    name: str

    @classmethod
    def from_dict(cls, data: Any) -> ChainShop | None:
        """None for an entry that is not a shop (an edited file): it is left out, not an error."""
        if not isinstance(data, dict):
            return None
        shop, name = data.get("shop"), data.get("name")
        return cls(shop, name if isinstance(name, str) else "") if isinstance(shop, str) and shop else None

    def matches(self, text: str) -> bool:
        """Typed text found in the id or the name, whatever the case (a picker's filter)."""
        text = text.strip().casefold()
        return text in self.shop.casefold() or text in self.name.casefold()


class TransferRefused(PosError):
    """A transfer that cannot be sent or received as asked; str() says why."""


@dataclass(frozen=True)
class Moved:
    """What a transfer stored: its id, the other shop, the records, each product's variance (a receipt)."""

    transfer: str
    peer: str
    records: list[dict[str, Any]]
    variances: dict[str, int]


class Transfers:
    def __init__(self, stock: Stock, store: TransferStore, source: TransferSource):
        self.stock = stock
        self.store = store
        self.source = source

    @property
    def shop(self) -> str:
        shop = self.stock.ctx.config.hq.shop
        if not shop:
            raise TransferRefused(N_("this till has not joined HQ: transfers between shops go through HQ "
                                     "(tui-pos hq join DSN --shop SHOP)"))
        return shop

    def _recorded(self, uuids: Sequence[str]) -> bool:
        found = [self.store.is_recorded(u) for u in uuids]
        if any(found):
            return True
        if None in found:
            raise StorageError(N_("the database cannot be read: whether this transfer is stored already cannot be "
                                  "told, so it is not stored again now"))
        return False

    # -- sending --------------------------------------------------------------------------------
    def shops(self) -> list[ChainShop] | None:
        """The shops a transfer may go to: the chain's as HQ last sent them down, this till's own
        left out, by id; None: no list pulled yet (a destination cannot be checked)."""
        pulled = self.source.shops()
        if pulled is None:
            return None
        own = self.shop
        return [s for s in map(ChainShop.from_dict, pulled) if s is not None and s.shop != own]

    def destination(self, to_shop: str) -> str:
        """The shop a transfer may go to, as given (asked before the scanning starts, checked again
        by send): another shop, one of the chain's when the till has HQ's list (without one it
        cannot be checked: HQ flags a shop it does not have)."""
        shop, to_shop = self.shop, to_shop.strip()
        if not to_shop or to_shop == shop:
            raise BadInput(N_("a transfer goes to another shop than this till's ({shop})"), shop=shop)
        others = self.shops()
        if others is None or to_shop in {s.shop for s in others}:
            return to_shop
        like = [s.shop for s in others if s.shop.casefold() == to_shop.casefold()]
        if like:
            raise BadInput(N_("the chain has no shop {shop}: did you mean {like}?"), shop=to_shop, like=like[0])
        if not others:
            raise BadInput(N_("the chain has no shop {shop}: HQ lists no other shop than this one (tui-pos sync "
                              "pulls the list again)"), shop=to_shop)
        named = ", ".join(s.shop for s in others[:SHOPS_NAMED]) + (", ..." if len(others) > SHOPS_NAMED else "")
        raise BadInput(N_("the chain has no shop {shop}: HQ's shops are {shops} (tui-pos sync pulls the list again)"),
                       shop=to_shop, shops=named)

    def send(self, to_shop: str, items: Sequence[str], reference: str | None = None) -> Moved:
        """Goods out to another shop: CODE[xQTY] items; the transfer's id is reference, else a new one."""
        shop, ctx, to_shop = self.shop, self.stock.ctx, self.destination(to_shop)
        transfer_id = check_transfer_id(reference) if reference else f"{ctx.till_id}-{secrets.token_hex(3).upper()}"
        lines = self.stock.lines(items, "transfer_out")
        quantities = {line.product.barcode: line.qty for line in lines}
        with storing("a transfer", stock_refusal), self.store.locked():
            if self._recorded([transfer_uuid("transfer_out", shop, transfer_id, b) for b in quantities]):
                raise TransferRefused(N_("transfer {transfer} was sent from this till already: give another --ref"),
                                      transfer=transfer_id)
            moves = sent_moves(transfer_id, shop, to_shop, quantities, till_id=ctx.till_id, at=ctx.clock(),
                               expected=self.stock.on_hand(list(quantities), required=False), batch=new_uuid(),
                               actor=self.stock.session.cashier or None)
            records = self._commit(moves)
        log.info("transfer %s out to %s: %d product(s)", transfer_id, to_shop, len(records))
        return Moved(transfer_id, to_shop, records, {})

    def _commit(self, moves: Sequence[Any]) -> list[dict[str, Any]]:
        stored = []
        for move in moves:
            self.store.commit(move.to_record())
            stored.append(move.to_record())
        return stored

    # -- receiving ------------------------------------------------------------------------------
    def open(self) -> list[OpenTransfer]:
        """The transfers sent to this shop that it has not received (HQ's, as last pulled), less
        those this till has received since."""
        pulled = self.source.open_transfers()
        if pulled is None:
            return []
        found = [OpenTransfer.from_dict(t) for t in pulled]
        return [t for t in found if t.to_shop == self.shop and not self._recorded(
            [transfer_uuid("transfer_in", t.from_shop, t.transfer, b) for b, _ in t.lines])]

    def pulled(self) -> bool:
        return self.source.open_transfers() is not None

    def find(self, transfer_id: str | None) -> OpenTransfer:
        """The open transfer with this id (or an unambiguous start of it; none given: the only one)."""
        found = self.open()
        if transfer_id is None:
            if len(found) == 1:
                return found[0]
            if not found:
                raise TransferRefused(N_("no transfer is open for shop {shop} (tui-pos sync pulls them from HQ)"),
                                      shop=self.shop)
            raise TransferRefused(N_("{n} transfers are open: give one of {ids}"), n=len(found),
                                  ids=", ".join(t.transfer for t in found))
        exact = [t for t in found if t.transfer == transfer_id]
        starting = exact or [t for t in found if t.transfer.startswith(transfer_id)]
        if len(starting) == 1:
            return starting[0]
        if starting:
            raise TransferRefused(N_("{ref} could be any of {ids}"), ref=transfer_id,
                                  ids=", ".join(t.transfer for t in starting))
        pulled = [OpenTransfer.from_dict(t) for t in self.source.open_transfers() or ()]
        if any(t.transfer == transfer_id for t in pulled):
            raise TransferRefused(N_("transfer {transfer} was received at this till already"), transfer=transfer_id)
        raise TransferRefused(N_("no open transfer {transfer} for shop {shop} (tui-pos sync pulls them from HQ; "
                                 "tui-pos stock transfers lists them)"), transfer=transfer_id, shop=self.shop)

    def receive(self, transfer_id: str | None = None, items: Sequence[str] | None = None) -> Moved:
        """Take a transfer in: as sent (no items), or the CODE[xQTY] items that arrived (a product
        sent and not listed: none of it came). Refused if this till has received it already."""
        transfer = self.find(transfer_id)
        ctx = self.stock.ctx
        catalog = self.stock.catalog()
        for barcode, _ in transfer.lines:
            catalog.lookup(barcode)  # UnknownCode: the catalog lacks what was sent (tui-pos sync pulls it)
        counted = None if items is None else {line.product.barcode: line.qty
                                              for line in self.stock.lines(items, "transfer_in")}
        received = received_quantities(transfer.sent, counted)
        with storing("a transfer", stock_refusal), self.store.locked():
            if self._recorded([transfer_uuid("transfer_in", transfer.from_shop, transfer.transfer, b)
                               for b in received]):
                raise TransferRefused(N_("transfer {transfer} was received at this till already"),
                                      transfer=transfer.transfer)
            moves = received_moves(transfer, received, till_id=ctx.till_id, at=ctx.clock(),
                                   expected=self.stock.on_hand(list(received), required=False),
                                   batch=new_uuid(), actor=self.stock.session.cashier or None)
            records = self._commit(moves)
        off = variances(transfer.sent, received)
        log.info("transfer %s in from %s: %d product(s)%s", transfer.transfer, transfer.from_shop, len(records),
                 "; variance " + ", ".join(f"{b} {format_qty(v)}" for b, v in off.items()) if off else "")
        return Moved(transfer.transfer, transfer.from_shop, records, off)
