"""The Till API over a real shop on disk: the cart survives a restart, a stored sale's cart never
comes back, a refused sale is kept, and receipt numbers continue."""

from __future__ import annotations

import sqlite3
from contextlib import closing, contextmanager
from pathlib import Path

import pytest

from conftest import COLA, NOODLES, WATER, database_write_locked, journal_dir_replaced_by_a_file
from tui_pos.app.till import CART_DOCUMENT, Till
from tui_pos.bootstrap.till import open_till
from tui_pos.config import load_config
from tui_pos.domain.errors import NotDurable, UnknownCode
from tui_pos.domain.pricing import Discount
from tui_pos.domain.tender import Tender
from tui_pos.store.documents import DurableDocument

HUNDRED = Tender("cash", 100_00)  # covers every sale in this file


@contextmanager
def reopened(shop_dir: Path, replay: bool = True):
    """A new Till on the same data directory, as after a restart."""
    till = open_till(load_config(shop_dir), cashier="test", replay=replay)
    try:
        yield till
    finally:
        till.close()


def summary(till: Till) -> tuple[list[tuple[str, int, bool]], int]:
    return [(l.barcode, l.qty, l.voided) for l in till.cart.lines], till.cart.totals(True).total


def saved_cart(shop_dir: Path) -> DurableDocument:
    """The till's saved sale in progress, as its data and journal directories hold it."""
    return DurableDocument(CART_DOCUMENT, [shop_dir, shop_dir / "journal"])


def sale_receipts(shop_dir: Path) -> list[str]:
    with closing(sqlite3.connect(shop_dir / "pos.sqlite3")) as conn:
        return [r for (r,) in conn.execute("SELECT receipt FROM sale ORDER BY seq")]


# Each step, and by hand what the restored cart must be: (barcode, qty, voided) lines, total in fen.
CART_STEPS = [
    (lambda t: t.scan(COLA), [(COLA, 1, False)], 350),
    (lambda t: t.set_qty(1, 3), [(COLA, 3, False)], 1050),
    (lambda t: t.scan(WATER), [(COLA, 3, False), (WATER, 1, False)], 1250),
    (lambda t: t.scan(NOODLES), [(COLA, 3, False), (WATER, 1, False), (NOODLES, 1, False)], 1700),
    (lambda t: t.void_line(2), [(COLA, 3, False), (WATER, 1, True), (NOODLES, 1, False)], 1500),
    (lambda t: t.discount_line(3, Discount("percent", 1000)),  # 10% of 4.50 = 0.45 off
     [(COLA, 3, False), (WATER, 1, True), (NOODLES, 1, False)], 1455),
    (lambda t: t.discount_order(Discount("amount", 100)),
     [(COLA, 3, False), (WATER, 1, True), (NOODLES, 1, False)], 1355),
]


def test_every_cart_change_is_saved_and_restored(till, shop_dir):
    """A crash or power cut at any point brings back the exact sale in progress, same uuid."""
    for step, (change, lines, total) in enumerate(CART_STEPS):
        change(till)
        with reopened(shop_dir) as after_restart:
            assert after_restart.restored, f"step {step}"
            assert after_restart.cart.uuid == till.cart.uuid
            assert summary(after_restart) == (lines, total), f"step {step}"
    with reopened(shop_dir) as after_restart:
        assert after_restart.cart.lines[2].discount == Discount("percent", 1000)
        assert after_restart.cart.order_discount == Discount("amount", 100)


def test_after_payment_a_restart_finds_an_empty_cart(till, shop_dir):
    """A paid sale must never reappear as a sale in progress."""
    till.scan(COLA)
    paid = till.pay([HUNDRED])
    with reopened(shop_dir) as after_restart:
        assert not after_restart.restored
        assert after_restart.cart.is_empty and after_restart.cart.uuid != paid.sale.uuid
    assert saved_cart(shop_dir).load() is None


@pytest.mark.parametrize("stored_in", ["sqlite", "journal"])
def test_cart_of_an_already_recorded_sale_is_not_restored(till, shop_dir, stored_in):
    """Crash after the sale was stored but before its cart file was removed: selling it again would
    charge the customer twice, so the leftover cart is dropped (also when only the journal has it)."""
    till.scan(COLA, 2)
    leftover = till.cart.to_record()
    if stored_in == "journal":
        with database_write_locked(shop_dir):
            assert till.pay([HUNDRED]).stored == "journal"
    else:
        assert till.pay([HUNDRED]).stored == "sqlite"
    saved_cart(shop_dir).save(leftover)  # the cart file the crash left behind

    with reopened(shop_dir, replay=False) as after_restart:  # as `tui-pos status` opens it
        assert not after_restart.restored
        assert after_restart.cart.is_empty and after_restart.cart.uuid != leftover["uuid"]
    with reopened(shop_dir) as after_restart:
        assert not after_restart.restored and after_restart.cart.is_empty
    assert sale_receipts(shop_dir) == ["T1-000001"]


def test_not_durable_keeps_the_cart_and_says_sale_not_stored(till, shop_dir):
    """Neither SQLite nor the journal took the sale: the cashier is told, nothing is stored, and the
    same sale (same uuid, same receipt number) is paid once storage is back, even after a restart."""
    till.scan(COLA, 2)
    till.scan(NOODLES)
    before = till.cart
    with database_write_locked(shop_dir), journal_dir_replaced_by_a_file(shop_dir):
        with pytest.raises(NotDurable) as refused:
            till.pay([HUNDRED])
        assert sale_receipts(shop_dir) == []
    assert "SALE NOT STORED" in str(refused.value)
    assert "locked" in str(refused.value) and str(shop_dir / "journal") in str(refused.value)
    assert till.cart == before
    assert list((shop_dir / "journal").glob("*.jsonl")) == []

    till.close()
    with reopened(shop_dir) as after_restart:
        assert after_restart.restored and after_restart.cart.uuid == before.uuid
        assert summary(after_restart) == ([(COLA, 2, False), (NOODLES, 1, False)], 1150)
        paid = after_restart.pay([HUNDRED])
    assert (paid.sale.uuid, paid.sale.receipt, paid.stored) == (before.uuid, "T1-000001", "sqlite")


def test_unknown_code_adds_nothing(till, shop_dir):
    """A mistyped code is refused and changes neither the cart nor its saved copy."""
    with pytest.raises(UnknownCode):
        till.scan("6900000000000")
    assert till.cart.lines == ()
    assert saved_cart(shop_dir).load() is None
    till.scan(COLA)
    before = till.cart
    with pytest.raises(UnknownCode):
        till.scan("12345")
    assert till.cart == before
    with reopened(shop_dir) as after_restart:
        assert summary(after_restart) == ([(COLA, 1, False)], 350)


def test_receipt_numbers_continue_after_reopening(till, shop_dir):
    """T1-000001, T1-000002, then T1-000003 after a restart: never reused, never skipped."""
    receipts = []
    for _ in range(2):
        till.scan(WATER)
        receipts.append(till.pay([HUNDRED]).sale.receipt)
    till.close()
    with reopened(shop_dir) as after_restart:
        after_restart.scan(WATER)
        receipts.append(after_restart.pay([HUNDRED]).sale.receipt)
    assert receipts == ["T1-000001", "T1-000002", "T1-000003"]
    assert sale_receipts(shop_dir) == receipts


def test_the_look_up_index_is_built_off_the_caller_at_start_and_after_every_catalog_load(till: Till):
    """Issue 16: a long-running till has the pinyin index built through the runner it gives (the UI:
    a worker), for the catalog it starts with and for every catalog loaded later (an import)."""
    jobs: list = []
    till.prepare_lookup(jobs.append)
    assert [job.__self__ for job in jobs] == [till.catalog]
    reloaded = till.reload_catalog()
    assert [job.__self__ for job in jobs] == [jobs[0].__self__, reloaded] and reloaded is not jobs[0].__self__
    jobs[-1]()
    assert [p.barcode for p in till.catalog.search("kkkl")] == [COLA]
