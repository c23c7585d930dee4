"""Start-up (tui_pos/bootstrap/till.py): config -> store -> services -> Till, on a real shop."""

from __future__ import annotations

from conftest import COLA, FLOAT
from tui_pos.bootstrap.till import open_till
from tui_pos.config import load_config
from tui_pos.domain.tender import Tender
from tui_pos.store.documents import DurableDocument
from tui_pos.store.ledger import Ledger


def test_open_till_hands_the_store_and_its_documents_to_the_till(shop_dir):
    config = load_config(shop_dir)
    till = open_till(config, cashier="demo")
    try:
        assert isinstance(till.ledger, Ledger)
        docs = till.documents
        assert all(isinstance(d, DurableDocument) for d in (docs.cart, docs.held, docs.shift, docs.snapshot))
        assert docs.cart.dirs == [config.data_dir, *config.storage.journal_dirs]
        assert docs.snapshot.dirs == list(config.storage.journal_dirs)
        assert till.shift is not None and till.shift["float"] == FLOAT
        assert till.catalog.lookup(COLA).price == 3_50
    finally:
        till.close()


def test_a_one_shot_till_keeps_no_sale_in_progress(shop_dir):
    ui = open_till(load_config(shop_dir), cashier="demo")
    try:
        ui.scan(COLA)
        cli = open_till(load_config(shop_dir), cashier="demo", keep_cart=False)
        try:
            assert cli.documents.cart is None and cli.cart.is_empty
            cli.scan(COLA)
            paid = cli.pay([Tender("cash", 5_00)])
            assert paid.stored == "sqlite"
        finally:
            cli.close()
    finally:
        ui.close()
    again = open_till(load_config(shop_dir), cashier="demo")
    try:
        assert [line.barcode for line in again.cart.lines] == [COLA]  # the till's own sale in progress, untouched
    finally:
        again.close()


def test_the_background_replay_is_started_by_the_till_from_bootstraps_factory(shop_dir):
    till = open_till(load_config(shop_dir), cashier="demo")
    try:
        till.start_background_replay()
        assert till.selling.replayer is not None
    finally:
        till.close()
    assert not till.selling.replayer._thread.is_alive()


def test_the_first_start_after_the_upgrade_records_what_the_till_held_once(shop_dir):
    """A till upgraded with stock kept the old way (product.stock, no record, so HQ never had it):
    its first start records each product's holding as its opening count (the product's one uuid at
    this till), on hand unchanged; later starts record nothing more."""
    import sqlite3
    from contextlib import closing

    from tests.store.records import legacy_database
    from tui_pos.bootstrap.shop import import_catalog_text
    from tui_pos.domain.stock import opening_uuid
    from tui_pos.store.verification import verify

    soap = "6933333333331"
    config = load_config(shop_dir)
    import_catalog_text(config, f"barcode,name,price,tax\n{soap},Soap,2.00,A\n")  # no stock given: no opening
    till = open_till(config, cashier="demo")
    try:
        till.scan(soap, 1)
        till.pay([Tender("cash", 2_00)])
    finally:
        till.close()
    legacy_database(shop_dir, {soap: 10})  # the old till: 10 in the catalog, 1 sold, 9 on hand

    def openings() -> list[tuple]:
        with closing(sqlite3.connect(shop_dir / "pos.sqlite3")) as conn:
            return conn.execute("SELECT uuid, qty, expected, counted, actor FROM stock_move WHERE barcode = ?",
                                (soap,)).fetchall()

    for _ in range(2):
        till = open_till(config, cashier="demo")
        try:
            [level] = till.stock.levels(soap)
            assert level.on_hand == 9_000
        finally:
            till.close()
        assert openings() == [(opening_uuid(config.till_id, soap), 10_000, -1_000, 9_000, "system")]
    with closing(sqlite3.connect(shop_dir / "pos.sqlite3")) as conn:
        assert conn.execute("SELECT stock FROM product WHERE barcode = ?", (soap,)).fetchone() == (None,)
        assert verify(conn).ok
