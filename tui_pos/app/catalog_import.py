"""Importing the catalog (`tui-pos catalog import`): a manager's decision, every product and the
import's audit entry (each old and new price) in one transaction, then the snapshot."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any, Protocol

from tui_pos.app.ports import Document, ShopChanges, ShopQueries
from tui_pos.app.snapshot import refresh_snapshot
from tui_pos.app.till import Till, currency_of, tax_rates_of
from tui_pos.config import Config
from tui_pos.domain.auth import Approval
from tui_pos.domain.catalog import Product, parse_catalog_csv
from tui_pos.domain.errors import N_, StorageError
from tui_pos.domain.records import AuditEvent


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
        for c in ("name", "tax_code", "department", "open_price", "stock", "weighed", "reorder_level", "reorder_qty"))]
    unchanged = sum(1 for p in products if p.barcode in old) - len({c["barcode"] for c in changed} | set(details))
    return AuditEvent.new(config.till_id, action, actor, subject=f"{len(products)} products",
                          approved_by=manager, at=now,
                          detail={"file": source, "added": added, "changed": changed, "details_changed": details,
                                  "unchanged": unchanged}).to_record()


class ShopStore(ShopChanges, ShopQueries, Protocol):
    """What a catalog import asks of storage."""


def store_catalog(config: Config, store: ShopStore, snapshot: Document, products: list[Product], actor: str | None,
                  manager: str | None, source: str, now: str,
                  storing: Callable[[], AbstractContextManager[Any]]) -> int:
    """Every product and the import's audit entry in one transaction (no entry, no change); then
    the snapshot beside the journal."""
    with storing():
        store.change_shop(products=[p.__dict__ for p in products], at=now,
                           catalog_event=lambda before: catalog_event(config, actor, manager, source, before,
                                                                      products, now))
        refresh_snapshot(snapshot, store)
    return len(products)


def import_catalog(till: Till, text: str, approval: Approval | None = None, source: str = "",
                   storing: Callable[[], AbstractContextManager[Any]] = nullcontext) -> int:
    """Validate the whole CSV, then write every product and the import's audit entry (each old
    and new price) in one transaction, and refresh the snapshot. A manager's decision (an
    Approval for "catalog", or a manager logged in), except while the shop has no active manager
    (a new shop being set up). storing: entered around the storing part (the CLI holds
    interrupts there: the outcome is reported once it is decided)."""
    config = till.config
    products = parse_catalog_csv(text, tax_rates_of(config), currency_of(config))
    users = till.ledger.users()
    if users is None:
        raise StorageError(N_("the database cannot be read: the catalog can be changed only when it can"))
    manager = None
    if any(u["active"] and u["role"] == "manager" for u in users):
        manager = till.require_manager(approval, "catalog", N_("changing the catalog needs a manager"))
    count = store_catalog(config, till.ledger, till.session.snapshot, products, manager or till.cashier or None,
                          manager, source, till.clock(), storing)
    till.reload_catalog()  # this till sells at the new prices at once
    return count
