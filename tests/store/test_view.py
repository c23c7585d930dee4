"""store/view.py: one read of what is stored, the same answer for every consumer.

Real shops on disk, real SQLite files, real journals: a sale only in SQLite, one in both (a COMMIT
whose outcome was unknown, journaled too), one only in the journal (the database was
write-locked). The till's ledger, the print queue (its own connection), the read-only view ops
uses and `status` must say the same about each, with the database readable and corrupt; the
read-only view creates no file; and the till and `status` agree on the open shift whatever
storage holds (a shift shown open by one and closed by the other was the last bug of this kind).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from conftest import COLA, FLOAT, NOODLES, WATER, break_sqlite, database_write_locked
from tui_pos.app.till import SHIFT_DOCUMENT, Till
from tui_pos.bootstrap.till import open_ledger, open_till
from tui_pos.config import Config, load_config
from tui_pos.domain.commits import GENESIS, first_break
from tui_pos.domain.tender import Tender
from tui_pos.ops.readonly import journal_of, read_only_view
from tui_pos.ops.status import till_status
from tui_pos.printing.queue import PrintQueue
from tui_pos.store.documents import DurableDocument
from tui_pos.store.print_jobs import PrintStateLog
from tui_pos.store.view import StoreView

EVER = ("2000-01-01T00:00:00.000+00:00", "2100-01-01T00:00:00.000+00:00")  # a period holding every sale


def sell(till: Till, code: str) -> dict[str, Any]:
    till.scan(code, 1)
    return till.pay([Tender("cash", till.cart.totals(till.config.prices_include_tax).total)]).sale.to_record()


@pytest.fixture
def shop(shop_dir: Path) -> tuple[Config, dict[str, dict[str, Any]], str]:
    """(config, {"sqlite": sale A, "both": sale B, "journal": sale C}, the open shift's uuid)."""
    config = load_config(shop_dir)
    till = open_till(config, cashier="demo", keep_cart=False)
    try:
        sales = {"sqlite": sell(till, COLA), "both": sell(till, NOODLES)}
        with database_write_locked(shop_dir):
            sales["journal"] = sell(till, WATER)
        shift_uuid = till.shift["uuid"]
    finally:
        till.close()
    journal_of(config).append(sales["both"])  # its outcome was unknown: journaled as well
    return config, sales, shift_uuid


def answers(view: StoreView, config: Config, sales: dict[str, dict[str, Any]], shift_uuid: str) -> dict[str, Any]:
    """Everything a StoreView answers about the shop, in comparable form."""
    found = {name: view.sale_by_receipt(s["receipt"]) for name, s in sales.items()}
    shift, shift_readable = view.open_shift(config.till_id)
    return {
        "where": {name: view.where(s["uuid"]) for name, s in sales.items()},
        "recorded": {name: view.is_recorded(s["uuid"]) for name, s in sales.items()},
        "backlog": [r["uuid"] for r in view.backlog().waiting],
        "by_receipt": {name: f and (f[0]["uuid"], f[1]) for name, f in found.items()},
        "records": {name: f and f[0] for name, f in found.items()},
        "sales": [(r["uuid"], r["stored"]) for r in view.sales(None)[0]],
        "last_sale": view.last_sale(),
        "unprinted": [(r["uuid"], r["stored"]) for r in view.without_receipt(
            PrintStateLog(config.storage.journal_dirs).states())],
        "open_shift": (shift and shift["uuid"], shift_readable),
        "shift_totals": view.shift_totals(shift_uuid),
        "period_totals": view.period_totals(*EVER),
    }


def every_consumer(config: Config, sales: dict[str, dict[str, Any]], shift_uuid: str) -> dict[str, dict[str, Any]]:
    """What the till's ledger, the print queue and the read-only view (ops) each answer."""
    ledger, queue = open_ledger(config), PrintQueue(config)
    try:
        with read_only_view(config) as ops:
            return {"ledger": answers(ledger.view, config, sales, shift_uuid),
                    "queue": answers(queue.view, config, sales, shift_uuid),
                    "ops": answers(ops, config, sales, shift_uuid)}
    finally:
        ledger.close()
        queue.close()


def test_every_consumer_sees_what_is_stored_the_same(shop):
    config, sales, shift_uuid = shop
    seen = every_consumer(config, sales, shift_uuid)
    assert seen["ledger"] == seen["queue"] == seen["ops"]
    got = seen["ops"]
    assert got["where"] == {"sqlite": ("sqlite", True), "both": ("sqlite", True), "journal": ("journal", True)}
    assert got["backlog"] == [sales["journal"]["uuid"]]
    assert got["by_receipt"] == {name: (s["uuid"], "sqlite" if name != "journal" else "journal")
                                 for name, s in sales.items()}
    assert got["sales"] == [(s["uuid"], "sqlite" if name != "journal" else "journal") for name, s in sales.items()]
    assert got["last_sale"]["receipt"] == sales["journal"]["receipt"]
    assert got["unprinted"] == got["sales"]  # the demo shop has no printer: every receipt waits
    assert got["open_shift"] == (shift_uuid, True)
    totals, journaled, readable = got["shift_totals"]
    assert (totals["kinds"]["sale"]["count"], journaled, readable) == (3, 1, True)
    assert got["period_totals"][1:] == (1, True)

    # and through each consumer's own surface
    ledger, queue = open_ledger(config), PrintQueue(config)
    try:
        ledger.refresh_backlog()
        assert ledger.state().journal_backlog == 1
        assert [(r["uuid"], r["stored"]) for r in ledger.sales(None)] == got["sales"]
        assert [ledger.is_recorded(s["uuid"]) for s in sales.values()] == [True, True, True]
        for name, s in sales.items():
            assert ledger.find_sales(receipt=s["receipt"]) == [got["records"][name]]
            assert queue.find_sale(s["receipt"]) == (got["records"][name], name != "journal")
        assert [(u.uuid, u.stored) for u in queue.unprinted()] == got["unprinted"]
    finally:
        ledger.close()
        queue.close()
    status = till_status(config)
    assert (status["journal_backlog"], status["database"]["state"]) == (1, "ok")
    assert (status["last_sale"]["receipt"], status["printer"]["unprinted"]) == (sales["journal"]["receipt"], 3)
    assert status["shift"]["sales"] == 3


def test_a_corrupt_database_is_the_journal_alone_for_everyone(shop, tmp_path):
    """What only SQLite held is unknown (not "absent"); what the journal holds is found, and
    every consumer says so the same way."""
    config, sales, shift_uuid = shop
    break_sqlite(config.data_dir, tmp_path / "aside")
    seen = every_consumer(config, sales, shift_uuid)
    assert seen["ledger"] == seen["queue"] == seen["ops"]
    got = seen["ops"]
    assert got["where"] == {"sqlite": (None, False), "both": ("journal", False), "journal": ("journal", False)}
    assert got["recorded"] == {"sqlite": None, "both": True, "journal": True}
    assert sorted(got["backlog"]) == sorted([sales["journal"]["uuid"], sales["both"]["uuid"]])
    assert got["by_receipt"] == {"sqlite": None, "both": (sales["both"]["uuid"], "journal"),
                                 "journal": (sales["journal"]["uuid"], "journal")}
    assert got["sales"] == [(sales[n]["uuid"], "journal") for n in ("both", "journal")]  # in time order
    assert got["last_sale"]["stored"] == "journal"
    assert got["shift_totals"][1:] == (2, False) and got["period_totals"][1:] == (2, False)
    with read_only_view(config) as view:
        view.backlog()
        assert view.database.state == "corrupt"
    status = till_status(config)
    assert (status["journal_backlog"], status["database"]["state"]) == (2, "corrupt")
    assert status["last_sale"]["receipt"] == sales["journal"]["receipt"]
    assert status["printer"]["unprinted"] == 2


def files(directory: Path) -> dict[str, str]:
    """Every file's content hash and every directory, under directory."""
    return {str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
            for p in sorted(directory.rglob("*"))}


def test_read_only_use_creates_no_file(shop):
    """Without a database (deleted) the read-only view answers from the journal and creates
    nothing: no database, no -wal or -shm, no journal file, no lock, no directory."""
    config, sales, shift_uuid = shop
    for name in ("pos.sqlite3", "pos.sqlite3-wal", "pos.sqlite3-shm"):
        (config.data_dir / name).unlink(missing_ok=True)
    spare = config.data_dir / "spare" / "journal"  # a second journal directory, not there (yet)
    config = replace(config, storage=replace(config.storage, journal_dirs=(*config.storage.journal_dirs, spare)))
    before = files(config.data_dir)
    with read_only_view(config) as view:
        got = answers(view, config, sales, shift_uuid)
        assert view.database.state == "missing"
    assert files(config.data_dir) == before
    assert got["where"]["journal"] == ("journal", False) and got["where"]["sqlite"] == (None, False)
    assert sorted(got["backlog"]) == sorted([sales["journal"]["uuid"], sales["both"]["uuid"]])


def test_read_only_use_of_a_database_writes_none_of_it(shop):
    """With the database there, only SQLite's reader files may appear (-shm, an empty -wal)."""
    config, sales, shift_uuid = shop
    before = files(config.data_dir)
    with read_only_view(config) as view:
        got = answers(view, config, sales, shift_uuid)
        assert view.database.state == "ok"
    after = files(config.data_dir)
    for reader_file in ("pos.sqlite3-shm", "pos.sqlite3-wal"):
        after.pop(reader_file, None)
        before.pop(reader_file, None)
    assert after == before
    assert got["where"]["sqlite"] == ("sqlite", True)


# -- the till and `status` agree on the open shift ------------------------------------------------
def close_shift(till: Till) -> None:
    till.refresh_shift()
    till.close_shift(till.x_report().expected_cash)


def z_waits_in_the_journal(config: Config) -> int | None:
    """The Z is taken while the database is write-locked: the shift is closed (the bug status had)."""
    till = open_till(config, cashier="demo", keep_cart=False)
    try:
        sell(till, COLA)
        with database_write_locked(config.data_dir):
            close_shift(till)
    finally:
        till.close()
    return None


def opening_waits_in_the_journal_z_in_the_database(config: Config) -> int | None:
    """Shift 2 is opened by one process while the database is write-locked (journal); a till
    started before, with nothing to replay, closes it into the database: shift 2 is closed."""
    earlier = open_till(config, cashier="demo", keep_cart=False)
    try:
        close_shift(earlier)
        other = open_till(config, cashier="demo", keep_cart=False)
        try:
            with database_write_locked(config.data_dir):
                assert other.open_shift(FLOAT)["number"] == 2
        finally:
            other.close()
        close_shift(earlier)
    finally:
        earlier.close()
    return None


def database_corrupt(config: Config) -> int | None:
    """The database cannot be read: the till's saved copy of the shift says shift 1."""
    break_sqlite(config.data_dir, config.data_dir.parent / "aside")
    return 1


def database_corrupt_and_the_saved_copy_lost(config: Config) -> int | None:
    """Shift 2 was opened into the journal; then the database became unreadable and the saved
    copy of the shift was lost: the journal still says shift 2 is open."""
    till = open_till(config, cashier="demo", keep_cart=False)
    try:
        close_shift(till)
        with database_write_locked(config.data_dir):
            till.open_shift(FLOAT)
    finally:
        till.close()
    break_sqlite(config.data_dir, config.data_dir.parent / "aside")
    DurableDocument(SHIFT_DOCUMENT, [config.data_dir, *config.storage.journal_dirs]).discard()
    return 2


@pytest.mark.parametrize("situation", [z_waits_in_the_journal, opening_waits_in_the_journal_z_in_the_database,
                                       database_corrupt, database_corrupt_and_the_saved_copy_lost],
                         ids=lambda f: f.__name__)
def test_status_and_the_till_agree_on_the_open_shift(shop_dir: Path, situation: Callable[[Config], int | None]):
    config = load_config(shop_dir)
    expected = situation(config)
    shown = (till_status(config)["shift"] or {}).get("number")
    till = open_till(config, cashier="demo", replay=False, keep_cart=False)
    try:
        assert (shown, (till.shift or {}).get("number")) == (expected, expected)
    finally:
        till.close()


def test_the_ledger_reads_through_its_view(shop_dir):
    """The till's reads are the view's, on the ledger's own connection and lock (no second
    connection, no second merge)."""
    config = load_config(shop_dir)
    ledger = open_ledger(config)
    try:
        assert ledger.view.journal is ledger.journal and ledger.view._lock is ledger._lock
        assert ledger.products() == ledger.view.products() and len(ledger.products() or []) == 59
        assert ledger.view.query(lambda conn: conn is ledger.connection(), False)
    finally:
        ledger.close()


def test_commits_after_is_sqlites_commits_then_the_journals_records_each_once(shop, tmp_path):
    """The commit order (StoreView.commits_after): a record in SQLite and the journal (an unknown
    COMMIT outcome) is SQLite's commit only; one only in the journal follows SQLite's last commit,
    the chain continued; the till's view and ops' read-only one say the same; batches split anywhere."""
    config, sales, _ = shop
    ledger = open_ledger(config)
    try:
        everything = ledger.view.commits_after(0, 10_000)
        with read_only_view(config) as ops:
            assert ops.commits_after(0, 10_000) == everything
            assert ops.last_commit() == len(everything)
        assert [e["commit_seq"] for e in everything] == list(range(1, len(everything) + 1))
        assert first_break(everything, after=(0, GENESIS)) is None
        numbers = {e["record"]["uuid"]: e["commit_seq"] for e in everything}
        assert len(numbers) == len(everything)
        in_sqlite = ledger.view.query(lambda c: c.execute("SELECT MAX(commit_seq) FROM commit_log").fetchone()[0], 0)
        assert numbers[sales["sqlite"]["uuid"]] < numbers[sales["both"]["uuid"]] <= in_sqlite
        assert numbers[sales["journal"]["uuid"]] > in_sqlite
        n = len(everything)
        assert ledger.view.commits_after(in_sqlite - 1, 2) == everything[in_sqlite - 1:in_sqlite + 1]  # across the two
        assert ledger.view.commits_after(n - 1, 5) == everything[n - 1:]
        assert ledger.view.commits_after(n, 5) == []
    finally:
        ledger.close()
    break_sqlite(config.data_dir, tmp_path / "aside")
    with read_only_view(config) as ops:  # the journal's records cannot be numbered without the database
        assert (ops.commits_after(0), ops.last_commit()) == ([], None)
