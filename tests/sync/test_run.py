"""sync/run.py: one sync step over a real PostgreSQL, and what a failed one means for the till."""

from __future__ import annotations

from pathlib import Path

from conftest import open_demo_shop
from hq_cluster import enrol
from tui_pos.bootstrap.till import open_ledger
from tui_pos.config import load_config
from tui_pos.hq.connection import HqError, HqUnreachable, connect
from tui_pos.hq.stream import StreamConflict
from tui_pos.sync.run import Synced, state_of, sync_once


def test_one_sync_step_pushes_everything_and_says_what_is_left(hq, tmp_path: Path):
    shop = open_demo_shop(tmp_path / "shop")
    dsn = enrol(hq, shop)
    ledger = open_ledger(load_config(shop))
    try:
        commits = ledger.view.last_commit()
        with connect(dsn) as conn:
            done = sync_once(conn, ledger.view, batch=3)
            assert done == Synced(commits, 0, 0, commits, "synced")
            assert sync_once(conn, ledger.view).as_dict() == {
                "pushed": 0, "pulled": 0, "pending": 0, "high_water": commits, "state": "synced", "breaks": 0,
                "catalog_version": None, "transfers": None}
    finally:
        ledger.close()


def test_a_sync_step_pushes_then_pulls_into_the_till_what_hq_changed(hq, tmp_path: Path):
    from conftest import COLA
    from tui_pos.bootstrap.till import open_till
    from tui_pos.domain.tender import Tender
    from tui_pos.hq.catalog import catalog_version, import_catalog
    from tui_pos.sync.pull import CatalogPull, PullRefused

    shop = open_demo_shop(tmp_path / "shop")
    dsn = enrol(hq, shop)
    with connect(hq) as admin:
        import_catalog(admin, f"barcode,name,price,tax\n{COLA},Cola,4.00,A\n")
        version = catalog_version(admin)
    till = open_till(load_config(shop), cashier="test")
    ledger = open_ledger(load_config(shop))
    try:
        pull = CatalogPull.into(till)
        with connect(dsn) as conn:
            done = sync_once(conn, ledger.view, pull=pull)
            assert (done.pushed, done.pulled, done.catalog_version, pull.since) == (done.high_water, 1, version, version)
            assert till.catalog.lookup(COLA).price == 400
            with connect(hq) as admin:
                admin.execute("UPDATE hq.setting SET value = '{\"code\": \"EUR\", \"exponent\": 2}' WHERE key = 'currency'")
            till.scan(COLA)
            till.pay([Tender("cash", 400)])  # a new commit to push
            try:
                sync_once(conn, ledger.view, pull=pull)
                raise AssertionError("another currency was applied")
            except PullRefused as refused:
                assert "HQ's currency is EUR" in str(refused)
            assert pull.since == version
            with connect(hq) as admin:  # what was pushed stays pushed
                assert admin.execute("SELECT max(commit_seq) FROM hq.record").fetchone()[0] == ledger.view.last_commit()
    finally:
        ledger.close()
        till.close()


def test_a_failed_step_is_offline_when_hq_cannot_be_reached_else_a_conflict():
    assert state_of(HqUnreachable("HQ cannot be reached at x: refused")) == "offline"
    assert state_of(StreamConflict("till T1 commit 3 is record a at HQ, not b")) == "conflict"
    assert state_of(HqError("role x is not an enrolled till")) == "conflict"
