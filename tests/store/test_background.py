"""Background replay: while degraded the till retries the database on its own, then sleeps."""

from __future__ import annotations

import dataclasses
import shutil
import sqlite3
import threading

from conftest import COLA
from tui_pos.bootstrap.till import open_till
from tui_pos.config import load_config
from tui_pos.domain.tender import Tender


def test_journaled_sales_reach_sqlite_without_anyone_asking(shop_dir):
    loaded = load_config(shop_dir)
    config = dataclasses.replace(loaded, storage=dataclasses.replace(loaded.storage, replay_interval_s=0.05))
    good = shop_dir / "good.sqlite3"
    shutil.copy(config.db_path, good)
    config.db_path.write_bytes(b"not a database " * 512)  # the database is broken at start-up

    till = open_till(config, cashier="t")
    replayed = threading.Event()
    till.start_background_replay(lambda r: r.replayed and replayed.set())
    try:
        till.scan(COLA)
        paid = till.pay([Tender("cash", 350)])
        assert paid.stored == "journal"
        assert not replayed.wait(0.3), "replay cannot succeed while the database is broken"
        assert till.storage().mode == "degraded"

        shutil.copy(good, config.db_path)  # support fixes the database
        assert replayed.wait(5), "background replay did not bring the sale in"
        assert till.storage().mode == "ok"
    finally:
        till.close()
    with sqlite3.connect(config.db_path) as conn:
        rows = conn.execute("SELECT receipt, stored_via FROM sale WHERE uuid = ?", (paid.sale.uuid,)).fetchall()
    assert rows == [(paid.sale.receipt, "journal")]
