"""Importing the catalog (`tui-pos catalog import`): a manager's decision, every product and the
import's audit entry (each old and new price) in one transaction, then the snapshot.

The CSV's `stock` column is a product's opening stock at this till: recorded once, in the import's
transaction, as an opening count (opening_count: a stock movement record like
any other, audited, in the commit order, pushed, summed at HQ). A product that has its opening
keeps it: a later import's stock does not reset what sales, receipts and counts have moved since
(the import says which kept theirs; a count changes stock). What a till held from before
openings were records (product.stock) becomes each product's opening count at its next start
(record_held_stock), with the same uuid whoever stores it, so it is never recorded twice."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any, Protocol

from tui_pos.app.ports import Document, ShopChanges, ShopQueries
from tui_pos.app.snapshot import refresh_snapshot
from tui_pos.app.till import Till, currency_of, tax_rates_of
from tui_pos.config import Config
from tui_pos.domain.auth import Approval
from tui_pos.domain.catalog import Product, parse_catalog_csv
from tui_pos.domain.errors import N_, StorageError
from tui_pos.domain.records import AuditEvent, StockMoved, new_uuid
from tui_pos.domain.stock import OPENING, opening_uuid


def catalog_event(config: Config, actor: str | None, manager: str | None, source: str,
                  before: list[dict[str, Any]], products: list[Product], now: str,
                  action: str = "catalog_import") -> dict[str, Any]:
    """The audit event of a catalog import (or of HQ's catalog pulled, action "catalog_pull"): what
    was added, every price that changed (old and new), which products changed otherwise."""
    old = {row["barcode"]: row for row in before}
    added = [{"barcode": p.barcode, "price": p.price} for p in products if p.barcode not in old]
    changed = [{"barcode": p.barcode, "was": old[p.barcode]["price"], "now": p.price} for p in products
               if p.barcode in old and old[p.barcode]["price"] != p.price]
    details = [p.barcode for p in products if p.barcode in old and any(
        (bool(old[p.barcode].get(c)) if c in ("open_price", "weighed") else old[p.barcode].get(c)) != getattr(p, c)
        for c in ("name", "tax_code", "department", "open_price", "weighed", "reorder_level", "reorder_qty"))]
    unchanged = sum(1 for p in products if p.barcode in old) - len({c["barcode"] for c in changed} | set(details))
    return AuditEvent.new(config.till_id, action, actor, subject=f"{len(products)} products",
                          approved_by=manager, at=now,
                          detail={"file": source, "added": added, "changed": changed, "details_changed": details,
                                  "unchanged": unchanged}).to_record()


def opening_count(till_id: str, at: str, barcode: str, counted: int, moved: int, *, batch: str | None = None,
                  actor: str | None = None, approved_by: str | None = None) -> StockMoved:
    """A product's opening stock as a count (reason OPENING, the product's one uuid at this till):
    counted, against what its stored movements add up to (expected; the variance is its quantity,
    so on hand = the sum of every movement still holds)."""
    return StockMoved(opening_uuid(till_id, barcode), till_id, at, "count", barcode, counted - moved, moved,
                      counted=counted, reason=OPENING, batch=batch, actor=actor, approved_by=approved_by)


class ShopStore(ShopChanges, ShopQueries, Protocol):
    """What a catalog import asks of storage."""


class Openings:
    """The opening counts of a catalog change, made in its transaction from what the store knows
    then (ShopChanges.change_shop's openings): each product given a stock that has no opening yet,
    and each holding stock unrecorded (its holding, whatever the file says). Afterwards: records,
    and kept, the products given a stock that had their opening already."""

    def __init__(self, till_id: str, products: Sequence[Product], actor: str | None, manager: str | None, at: str):
        self.till_id, self.actor, self.manager, self.at = till_id, actor, manager, at
        self.given = {p.barcode: p.stock for p in products if p.stock is not None}
        self.records: list[dict[str, Any]] = []
        self.kept: list[str] = []

    def __call__(self, known: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
        batch = new_uuid()
        self.records, self.kept = [], []
        for barcode, state in sorted(known.items()):
            given = self.given.get(barcode)
            if state["opened"] or state["unrecorded"] is not None:
                if given is not None:
                    self.kept.append(barcode)
                if state["opened"]:
                    continue
            counted = state["moved"] + state["unrecorded"] if state["unrecorded"] is not None else given
            if counted is None:
                continue
            self.records.append(opening_count(self.till_id, self.at, barcode, counted, state["moved"], batch=batch,
                                              actor=self.actor, approved_by=self.manager).to_record())
        return self.records


@dataclass(frozen=True)
class Imported:
    """What a catalog import did: products written, opening counts recorded, and the products whose
    stock in the file was not used (they had their opening stock already)."""

    products: int
    openings: int
    kept: tuple[str, ...]


def store_catalog(config: Config, store: ShopStore, snapshot: Document, products: list[Product], actor: str | None,
                  manager: str | None, source: str, now: str,
                  storing: Callable[[], AbstractContextManager[Any]]) -> Imported:
    """Every product, their opening counts and the import's audit entry in one transaction (no
    entry, no change); then the snapshot beside the journal."""
    openings = Openings(config.till_id, products, actor, manager, now)
    with storing():
        store.change_shop(products=[p.__dict__ for p in products], at=now, openings=openings,
                          catalog_event=lambda before: catalog_event(config, actor, manager, source, before,
                                                                      products, now))
        refresh_snapshot(snapshot, store)
    return Imported(len(products), len(openings.records), tuple(openings.kept))


def record_held_stock(till_id: str, store: ShopStore, actor: str, now: str) -> int:
    """What this till held before opening stock was a record, recorded now as each product's opening
    count (at the first start after the upgrade; once: the store has nothing unrecorded after it,
    and the count's uuid is the product's). How many were recorded; StorageError when the
    database cannot take them (the next start tries again; stock on hand counts them meanwhile)."""
    if not store.stock_unrecorded():
        return 0
    openings = Openings(till_id, [], actor, None, now)
    store.change_shop(openings=openings)
    return len(openings.records)


def import_catalog(till: Till, text: str, approval: Approval | None = None, source: str = "",
                   storing: Callable[[], AbstractContextManager[Any]] = nullcontext) -> Imported:
    """Validate the whole CSV, then write every product, its opening stock (if the file gives one
    and the product has none yet) and the import's audit entry (each old and new price) in one
    transaction, and refresh the snapshot. A manager's decision (an Approval for "catalog", or a
    manager logged in), except while the shop has no active manager (a new shop being set up).
    storing: entered around the storing part (the CLI holds interrupts there: the outcome is
    reported once it is decided)."""
    config = till.config
    products = parse_catalog_csv(text, tax_rates_of(config), currency_of(config))
    users = till.ledger.users()
    if users is None:
        raise StorageError(N_("the database cannot be read: the catalog can be changed only when it can"))
    manager = None
    if any(u["active"] and u["role"] == "manager" for u in users):
        manager = till.require_manager(approval, "catalog", N_("changing the catalog needs a manager"))
    imported = store_catalog(config, till.ledger, till.session.snapshot, products, manager or till.cashier or None,
                             manager, source, till.clock(), storing)
    till.reload_catalog()  # this till sells at the new prices at once
    return imported
