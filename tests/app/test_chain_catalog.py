"""HQ's changes applied at a real till (SQLite, its snapshot, its running catalog): only what
differs, whole or not at all, audited; a sale in progress keeps its prices; again is nothing."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from conftest import COLA, WATER, break_sqlite, restore_sqlite
from tui_pos.app import chain_catalog
from tui_pos.app.chain_catalog import ChainChanges, ChainRefused, apply_chain_changes
from tui_pos.bootstrap.till import open_till
from tui_pos.config import load_config
from tui_pos.domain.auth import LoginFailed, hash_pin
from tui_pos.domain.errors import StorageError
from tui_pos.domain.tender import Tender

NEW = "6900000009999"


def product(barcode: str, name: str, price: int, tax: str = "A", department: str = "Drinks") -> dict:
    return {"barcode": barcode, "name": name, "price": price, "tax_code": tax, "department": department,
            "open_price": price == 0}


def user(name: str, pin: str, role: str = "cashier", active: bool = True) -> dict:
    return {"name": name, "role": role, "pin_hash": hash_pin(pin), "active": active}


def changes(version: int, products=(), users=(), **more) -> ChainChanges:
    return ChainChanges.from_dict({"version": version, "products": list(products), "users": list(users), **more})


def audit(shop: Path, action: str) -> list[tuple]:
    with sqlite3.connect(shop / "pos.sqlite3") as conn:
        return conn.execute("SELECT actor, subject, detail FROM audit WHERE action = ? ORDER BY seq", (action,)).fetchall()


def test_new_prices_reach_the_next_scan_while_the_sale_in_progress_keeps_its_own(till, shop_dir):
    till.scan(COLA)
    before = till.cart.lines[0].unit_price
    applied = apply_chain_changes(till, changes(7, [product(COLA, "Cola", before + 100), product(NEW, "Bun", 150)]))
    assert (applied.version, applied.products, applied.users) == (7, 2, 0)
    assert till.cart.lines[0].unit_price == before  # scanned before the change: its price stays
    till.scan(COLA)
    assert [line.unit_price for line in till.cart.lines] == [before, before + 100]
    till.scan(NEW)
    paid = till.pay([Tender("cash", till.due().cash_left)])
    assert [line.unit_price for line in paid.sale.lines] == [before, before + 100, 150]
    [(actor, subject, detail)] = audit(shop_dir, "catalog_pull")
    assert (actor, subject) == ("hq", "2 products")
    detail = json.loads(detail)
    assert detail["file"] == "HQ catalog version 7"
    assert detail["changed"] == [{"barcode": COLA, "was": before, "now": before + 100}]
    assert detail["added"] == [{"barcode": NEW, "price": 150}]
    snapshot = till.documents.snapshot.load()  # beside the journal: sells without the database
    assert {p["barcode"]: p["price"] for p in snapshot["products"]}[NEW] == 150


def test_applying_the_same_changes_again_changes_nothing_and_keeps_the_stock_count(till, shop_dir):
    stock_before = {level.barcode: level.on_hand for level in till.stock.levels()}
    pulled = changes(3, [product(COLA, "Cola", 999)], [user("ann", "4321", "manager")])
    assert (apply_chain_changes(till, pulled).products, apply_chain_changes(till, pulled).products) == (1, 0)
    again = apply_chain_changes(till, pulled)
    assert (again.products, again.users) == (0, 0)
    assert len(audit(shop_dir, "catalog_pull")) == 1
    assert [subject for actor, subject, _ in audit(shop_dir, "user_add") if actor == "hq"] == ["ann"]
    assert {level.barcode: level.on_hand for level in till.stock.levels()} == stock_before and stock_before[COLA] > 0


def test_users_from_hq_log_in_with_their_pin_and_a_disabled_one_no_longer_does(till, shop_dir):
    apply_chain_changes(till, changes(1, users=[user("ann", "4321", "manager"), user("bob", "5678")]))
    assert till.check_pin("ann", "4321").is_manager
    assert till.check_pin("BOB", "5678").name == "bob"
    applied = apply_chain_changes(till, changes(2, users=[user("bob", "1111", active=False)]))
    assert applied.users == 2  # a new PIN, then disabled
    with pytest.raises(LoginFailed):
        till.check_pin("bob", "1111")
    apply_chain_changes(till, changes(3, users=[user("bob", "1111")]))
    assert till.check_pin("bob", "1111").name == "bob"
    actions = [(actor, subject) for actor, subject, _ in audit(shop_dir, "user_disable")]
    assert actions == [("hq", "bob")]
    # a till user HQ has under another role keeps the till's role (HQ never changes one), and is named
    demo_role = next(u["role"] for u in till.ledger.users() if u["name"] == "demo")
    other = "cashier" if demo_role == "manager" else "manager"
    assert apply_chain_changes(till, changes(4, users=[user("demo", "2468", other)])).role_differs == ("demo",)
    assert till.check_pin("demo", "2468").role == demo_role


def test_a_failure_in_the_transaction_changes_nothing_at_all(till, shop_dir, monkeypatch):
    prices = {p["barcode"]: p["price"] for p in till.ledger.products()}

    def failing(*args, **kwargs):
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(chain_catalog, "catalog_event", failing)
    with pytest.raises(StorageError):
        apply_chain_changes(till, changes(5, [product(COLA, "Cola", 1)], [user("ann", "4321")]))
    assert {p["barcode"]: p["price"] for p in till.ledger.products()} == prices
    assert "ann" not in {u["name"] for u in till.ledger.users()}
    assert till.catalog.lookup(COLA).price == prices[COLA]


def test_what_this_till_cannot_take_is_refused_whole_in_one_line(till):
    prices = {p["barcode"]: p["price"] for p in till.ledger.products()}
    with pytest.raises(ChainRefused, match="HQ's currency is USD with 2 decimals, this till's CNY with 2"):
        apply_chain_changes(till, changes(1, [product(COLA, "Cola", 1)], settings={"currency": {"code": "USD",
                                                                                            "exponent": 2}}))
    with pytest.raises(ChainRefused, match="tax code\\(s\\) Z, which neither HQ's tax rates nor this till's"):
        apply_chain_changes(till, changes(1, [product(COLA, "Cola", 1), product(WATER, "Water", 1, tax="Z")]))
    assert {p["barcode"]: p["price"] for p in till.ledger.products()} == prices
    assert till.documents.chain.load() is None


def test_hqs_tax_rates_limits_and_reasons_are_laid_over_config_toml_now_and_at_every_start(till, shop_dir):
    till.scan(COLA)
    applied = apply_chain_changes(till, changes(
        4, [product(NEW, "Bun", 150, tax="C")], tax_rates=[{"code": "A", "rate_bp": 700}, {"code": "C", "rate_bp": 600}],
        settings={"discount_limit": "25", "paid_out_limit": "300", "reasons": {"refund": ["Broken", "Other"]}}))
    assert (applied.products, applied.settings) == (1, 4)
    assert till.cart.lines[0].rate_bp == 1300  # scanned before: its tax stays
    assert till.scan(COLA).lines[1].rate_bp == 700 and till.scan(NEW).lines[2].rate_bp == 600
    assert (till.config.discount_limit, till.config.paid_out_limit) == ("25", "300")
    assert till.selling.discount_limit_bp == 2500
    assert till.config.reasons_for("refund") == ("Broken", "Other") and till.config.reasons_for("void")
    assert till.config.tax_rates["B"] == "9"  # a code HQ does not name stays the till's
    reopened = open_till(load_config(shop_dir), cashier="test")
    try:
        assert reopened.catalog.rate_of(reopened.catalog.lookup(COLA)).rate_bp == 700
        assert reopened.config.reasons_for("refund") == ("Broken", "Other")
        assert load_config(shop_dir).tax_rates["A"] == "13"  # config.toml itself is untouched
    finally:
        reopened.close()
    again = apply_chain_changes(till, changes(4, tax_rates=[{"code": "A", "rate_bp": 700}]))
    assert (again.products, again.users, again.settings) == (0, 0, 0)


def test_nothing_is_applied_while_the_database_cannot_be_read(shop_dir, tmp_path):
    break_sqlite(shop_dir, tmp_path / "aside")
    till = open_till(load_config(shop_dir), cashier="test")  # it sells from the snapshot
    try:
        with pytest.raises(StorageError, match="HQ's changes are applied when it can"):
            apply_chain_changes(till, changes(1, [product(COLA, "Cola", 1)]))
        assert till.catalog.lookup(COLA).price != 1
    finally:
        till.close()
        restore_sqlite(shop_dir, tmp_path / "aside")
