"""`tui-pos status` is read-only and works whatever state the till is in: beside a till that holds
its locks, with a corrupt or missing database, with storage failing."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import sqlite3
import time
from pathlib import Path

from conftest import AS_DEMO, COLA, NOODLES, cli_json, database_write_locked, journal_dir_replaced_by_a_file, run_cli
from tui_pos.bootstrap.till import open_till
from tui_pos.config import load_config
from tui_pos.domain.tender import Tender

from .helpers import corrupt_database, journaled_without_key, sale_rows, sell

FIRST_STATUS_KEYS = {"storage", "journal_backlog", "quarantined", "last_error", "till_id", "data_dir", "journal_dirs",
                     "products", "cart"}


def fingerprint(directory: Path) -> dict[str, str]:
    """Every file's content hash, except SQLite's shared-memory index (readers map it)."""
    return {str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(directory.rglob("*")) if p.is_file() and not p.name.endswith("-shm")}


def test_status_shows_the_sale_in_progress_and_writes_nothing(shop_dir):
    """A cart left at the till (with a card payment taken) is shown; no file changes, the -wal
    reader file aside."""
    sold = sell(shop_dir, NOODLES)
    till = open_till(load_config(shop_dir), cashier="demo")
    till.scan(COLA, 2)
    till.add_tender(Tender("card", 300, "AUTH9"))
    cart_uuid = till.cart.uuid
    till.close()
    before = fingerprint(shop_dir)
    status = cli_json(shop_dir, "status")
    after = fingerprint(shop_dir)
    after.pop("pos.sqlite3-wal", None)
    before.pop("pos.sqlite3-wal", None)
    assert after == before
    assert set(status) >= FIRST_STATUS_KEYS
    assert (status["storage"], status["journal_backlog"], status["products"]) == ("ok", 0, 59)
    cart = status["cart"]
    assert (cart["uuid"], cart["restored"], cart["total"]) == (cart_uuid, True, "7.00")
    assert [(l["barcode"], l["qty"]) for l in cart["lines"]] == [(COLA, 2)]
    assert cart["tenders"] == [{"kind": "card", "amount": "3.00", "reference": "AUTH9"}]
    assert status["last_sale"]["receipt"] == sold["receipt"] and status["last_sale"]["total"] == "4.50"


def test_status_never_waits_for_the_tills_locks(shop_dir):
    """Another process holds till.lock (receipt numbering) and the database's write lock."""
    sell(shop_dir)
    fd = os.open(shop_dir / "till.lock", os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)
    writer = sqlite3.connect(shop_dir / "pos.sqlite3", isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    try:
        start = time.monotonic()
        status = cli_json(shop_dir, "status", timeout=30)
        assert time.monotonic() - start < 5
        assert status["database"]["state"] == "ok" and status["last_sale"]["receipt"] == "T1-000001"
    finally:
        writer.execute("ROLLBACK")
        writer.close()
        os.close(fd)


def test_status_with_a_corrupt_database(shop_dir):
    sell(shop_dir)
    corrupt_database(shop_dir)
    proc = run_cli(shop_dir, "status", "--json")
    status = json.loads(proc.stdout)
    assert proc.stderr == ""
    assert status["storage"] == "degraded"
    assert status["database"]["state"] == "corrupt"
    assert "database corrupt" in status["last_error"]
    assert status["products"] == 59  # from the catalog snapshot beside the journal
    assert status["cart"]["lines"] == []
    assert "DEGRADED" in run_cli(shop_dir, "status").stdout


def test_status_when_a_sale_could_not_be_stored_anywhere(shop_dir):
    """Database corrupt and the journal directory gone: a sale now would be refused."""
    corrupt_database(shop_dir)
    with journal_dir_replaced_by_a_file(shop_dir):
        status = cli_json(shop_dir, "status")
    assert status["storage"] == "failing"


def test_a_lost_journal_key_holds_the_journal_the_till_sells_on_and_its_return_replays_it(shop_dir):
    """journal.key gone with a sale waiting: status says so; the next till start neither replays nor sets
    the line aside, makes no new key, and sells into the database; the key put back, replay takes the sale."""
    key = (shop_dir / "journal.key").read_bytes()
    journaled = journaled_without_key(shop_dir)
    [held] = (shop_dir / "journal").glob("*.jsonl")
    line = held.read_bytes()
    status = cli_json(shop_dir, "status")
    assert (status["storage"], status["journal"]["unchecked"], status["journal_backlog"]) == ("degraded", 1, 0)
    assert "journal key missing: 1 record(s) cannot be checked; restore journal.key from a backup" in \
        status["storage_problems"]
    later = sell(shop_dir)  # a till start: replay at start, then the sale
    assert later["stored"] == "sqlite"
    assert held.read_bytes() == line and not (shop_dir / "journal" / "quarantine").exists()
    assert not (shop_dir / "journal.key").exists()
    (shop_dir / "journal.key").write_bytes(key)
    replayed = cli_json(shop_dir, "replay")
    assert (replayed["replayed"], replayed["quarantined"]) == (1, 0)
    assert {journaled["uuid"], later["uuid"]} <= {row[0] for row in sale_rows(shop_dir / "pos.sqlite3")}
    assert cli_json(shop_dir, "status")["journal"]["unchecked"] == 0


def test_status_with_the_database_missing_creates_none(shop_dir):
    (shop_dir / "pos.sqlite3").unlink()
    status = cli_json(shop_dir, "status")
    assert (status["storage"], status["database"]["state"]) == ("degraded", "missing")
    assert not (shop_dir / "pos.sqlite3").exists()


def test_status_shows_the_open_shift_and_the_cash_expected(shop_dir):
    """Support's first question after 'is it storing?': is a shift open, and what should be in the
    drawer. Float 100.00 + 2 colas paid 10.00 cash (change 3.00) = 107.00; from the shift.json copy
    when the database is unreadable."""
    run_cli(shop_dir, "sell", *AS_DEMO, "--item", f"{COLA}x2", "--tender", "cash:10")
    shift = cli_json(shop_dir, "status")["shift"]
    assert (shift["number"], shift["opened_by"], shift["float"]) == (1, "demo", "100.00")
    assert (shift["sales"], shift["net_sales"], shift["expected_cash"]) == (1, "7.00", "107.00")
    corrupt_database(shop_dir)
    shift = cli_json(shop_dir, "status")["shift"]
    assert (shift["number"], shift["figures_from_database"]) == (1, False) and "sales" not in shift


def test_status_counts_the_shift_from_the_journal_too(shop_dir):
    """While the database is write-locked, a sale and then the Z go to the journal: status must
    count that sale in the cash expected, and then say no shift is open (not show a closed one)."""
    run_cli(shop_dir, "sell", *AS_DEMO, "--item", f"{COLA}x2", "--tender", "cash:10")
    with database_write_locked(shop_dir):
        run_cli(shop_dir, "sell", *AS_DEMO, "--item", COLA, "--tender", "cash:3.50")
        shift = cli_json(shop_dir, "status")["shift"]
        assert (shift["sales"], shift["net_sales"], shift["expected_cash"]) == (2, "10.50", "110.50")
        run_cli(shop_dir, "shift", "close", "--counted", "110.50", *AS_DEMO)
        assert cli_json(shop_dir, "status")["shift"] is None


def test_paid_without_a_receipt_is_one_count_everywhere(shop_dir):
    """Issue 10 item 9: with no printer (the demo shop), the till's list, `receipts --unprinted`,
    `status`, `monitor --once` and `doctor` give the same number of paid sales without a receipt,
    a sale still in the journal included; marking one handed over takes it off everywhere."""
    from .helpers import doctor

    run_cli(shop_dir, "sell", *AS_DEMO, "--item", COLA, "--tender", "cash")
    run_cli(shop_dir, "sell", *AS_DEMO, "--item", NOODLES, "--tender", "cash")
    with database_write_locked(shop_dir):
        run_cli(shop_dir, "sell", *AS_DEMO, "--item", COLA, "--tender", "cash")  # stored in the journal

    def counts() -> dict[str, int]:
        listed = cli_json(shop_dir, "receipts", "--unprinted")
        status = cli_json(shop_dir, "status")["printer"]
        monitor = run_cli(shop_dir, "monitor", "--once").stdout
        [line] = [line for line in monitor.splitlines() if "paid sale(s) without" in line]
        _, checks = doctor(shop_dir)
        return {"receipts": len(listed), "status": status["unprinted"],
                "by_state": sum(status["unprinted_by_state"].values()),
                "monitor": int(line.split(":")[1].split()[0]),
                "doctor": int(checks["printer"]["detail"].split("; ")[1].split()[0])}

    listed = cli_json(shop_dir, "receipts", "--unprinted")
    assert [r["stored"] for r in listed] == ["sqlite", "sqlite", "journal"]
    assert counts() == dict.fromkeys(["receipts", "status", "by_state", "monitor", "doctor"], 3)
    run_cli(shop_dir, "receipts", "confirm", listed[0]["receipt"])
    assert counts() == dict.fromkeys(["receipts", "status", "by_state", "monitor", "doctor"], 2)


def test_status_says_how_the_sync_with_hq_is_doing_without_reaching_hq(shop_dir):
    """hq: from hq/sync-state.json as the sync last wrote it (the DSN below leads nowhere); pending:
    the commits the store holds after the last one HQ said it had (what the till sold since counts)."""
    from tui_pos.domain.sync import SyncState
    from tui_pos.hq.enrol import with_hq_section
    from tui_pos.ops.readonly import read_only_view
    from tui_pos.sync.state import save_state

    def last_commit() -> int:
        with read_only_view(load_config(shop_dir)) as view:
            last = view.last_commit()
        assert last is not None
        return last

    assert cli_json(shop_dir, "status")["hq"] == {"state": "off", "pending": 0, "last_sync": None, "last_error": "",
                                                  "high_water": 0, "shop": "", "catalog_version": 0}
    assert "HQ        not joined" in run_cli(shop_dir, "status").stdout
    config = shop_dir / "config.toml"
    config.write_text(with_hq_section(config.read_text(), "host=127.0.0.1 port=1 dbname=hq user=till_t1", "S1"))
    never = cli_json(shop_dir, "status")["hq"]
    assert (never["state"], never["last_sync"], never["pending"]) == ("offline", None, last_commit())
    save_state(shop_dir, SyncState("offline", 1, "2026-12-04T14:00:00.000+00:00", "HQ cannot be reached at ...", 2, 12))
    hq = cli_json(shop_dir, "status")["hq"]
    assert hq == {"state": "offline", "pending": last_commit() - 2, "last_sync": "2026-12-04T14:00:00.000+00:00",
                  "last_error": "HQ cannot be reached at ...", "high_water": 2, "shop": "S1", "catalog_version": 12}
    before = hq["pending"]
    sell(shop_dir, NOODLES)
    assert cli_json(shop_dir, "status")["hq"]["pending"] == last_commit() - 2 > before
    line = next(l for l in run_cli(shop_dir, "status").stdout.splitlines() if l.startswith("HQ "))
    assert "OFFLINE" in line and f"{last_commit() - 2} record(s) waiting" in line and "HQ cannot be reached" in line
    from tui_pos.ops.monitor import monitor_snapshot, sections

    assert sections(monitor_snapshot(load_config(shop_dir)))["HQ"] == [line.removeprefix("HQ").strip()]  # the monitor's too
