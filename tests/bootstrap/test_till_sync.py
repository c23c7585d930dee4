"""Bootstrap starts the sync with HQ for a long-running till that has joined one (tui_pos/bootstrap/
till.py sync_worker): each commit wakes it and is at HQ a round trip later, with the till's health;
closing the till stops it; a one-shot till and a till without HQ start nothing. On a real
PostgreSQL (tests/hq_cluster.py); no timing asserted (the heartbeat is set to an hour, so only
the commit's wake can bring a sale to HQ within the deadline)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from conftest import COLA, open_demo_shop
from hq_cluster import enrol, wait_for
from tui_pos.bootstrap.till import open_till
from tui_pos.config import load_config
from tui_pos.domain.tender import Tender
from tui_pos.hq.connection import connect


def joined_shop(hq: str, path: Path) -> Path:
    """A demo shop (shift open) enrolled at HQ as T1 of S1, its heartbeat an hour."""
    data_dir = open_demo_shop(path)
    enrol(hq, data_dir)
    with open(data_dir / "config.toml", "a", encoding="utf-8") as config:  # [hq] is the file's last section
        config.write("sync_every_s = 3600\n")
    return data_dir


def at_hq(admin: str) -> tuple[set[str], dict[str, Any] | None]:
    with connect(admin) as conn:
        uuids = {r[0] for r in conn.execute("SELECT uuid::text FROM hq.record WHERE till_id = 'T1'").fetchall()}
        row = conn.execute("SELECT status FROM hq.till WHERE till_id = 'T1'").fetchone()
    return uuids, row[0] if row else None


def sync_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "tui-pos-sync"]


def test_a_sale_is_at_hq_once_committed_and_hq_sees_the_tills_health(hq, tmp_path):
    data_dir = joined_shop(hq, tmp_path / "shop")
    till = open_till(load_config(data_dir), cashier="demo")
    try:
        till.start_sync()
        wait_for(lambda: (till.sync_status() or None) and till.sync_status().state == "synced", "the first sync")
        till.scan(COLA)
        paid = till.pay([Tender("cash", 5_00)])
        wait_for(lambda: paid.sale.uuid in at_hq(hq)[0], "the sale at HQ")
        _, status = at_hq(hq)
        assert status is not None and status["storage"] == "ok" and status["shift"]["number"] == 1
        assert isinstance(status["alerts"], list) and "clock_offset_s" in status and status["version"]
        wait_for(lambda: till.sync_status().pending == 0, "nothing left waiting")
    finally:
        till.close()
    assert not sync_threads()  # closing the till stopped it


def test_a_one_shot_till_and_a_till_without_hq_start_no_sync(hq, tmp_path):
    joined = open_till(load_config(joined_shop(hq, tmp_path / "joined")), cashier="demo", keep_cart=False)
    try:  # a one-shot command's till: never asked to start it
        assert joined.sync_status() is None and not sync_threads()
    finally:
        joined.close()
    alone = open_till(load_config(open_demo_shop(tmp_path / "alone")), cashier="demo")
    try:
        alone.start_sync()
        assert alone.sync_status() is None and not sync_threads()
    finally:
        alone.close()


def test_the_running_till_takes_hqs_changes_and_a_sale_in_progress_keeps_its_prices(hq, tmp_path):
    from tui_pos.hq.catalog import catalog_version, import_catalog
    from tui_pos.hq.people import add_user
    from tui_pos.sync.state import load_state

    data_dir = joined_shop(hq, tmp_path / "shop")
    with connect(hq) as admin:
        import_catalog(admin, f"barcode,name,price,tax\n{COLA},Cola,4.00,A\n")
    till = open_till(load_config(data_dir), cashier="demo")
    try:
        till.start_sync()
        wait_for(lambda: till.catalog.lookup(COLA).price == 400, "HQ's price at the till")
        till.scan(COLA)  # at 4.00
        with connect(hq) as admin:
            import_catalog(admin, f"barcode,name,price,tax\n{COLA},Cola,4.50,A\n")
            add_user(admin, "ann", "manager", "4321")
            version = catalog_version(admin)
        till.pay([Tender("cash", 4_00)])  # a commit wakes the worker: it pushes the sale, then pulls
        wait_for(lambda: till.catalog.lookup(COLA).price == 450, "HQ's new price at the till")
        assert till.scan(COLA).lines[0].unit_price == 450
        assert till.check_pin("ann", "4321").is_manager
        wait_for(lambda: load_state(load_config(data_dir)).catalog_version == version, "the version kept")
    finally:
        till.close()
