"""Every record type survives both of its stored forms (store/codec.py, the journal): record ->
rows in a real SQLite file -> record, and record -> keyed journal line -> record, equal each time.
A refund's approved_by is among them: the database lost it before it had a column of its own."""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from record_examples import records, sales
from tui_pos.domain.records import Record, Sale, UserChanged, record_from_dict
from tui_pos.store import codec, db
from tui_pos.store.journal import Journal, encode_keyed, verify_line
from tui_pos.store.verification import verify

from .records import make_record, new_ledger


@pytest.fixture(scope="module")
def database() -> Iterator[sqlite3.Connection]:
    """One real database file for every example: each is written in a transaction, read back in
    it, and rolled back (uuids, receipts and shift numbers of different examples may collide)."""
    with tempfile.TemporaryDirectory() as root:
        conn = db.connect(Path(root) / "pos.sqlite3", busy_timeout_ms=100)
        db.ensure_schema(conn)
        yield conn
        conn.close()


def through_rows(conn: sqlite3.Connection, record: Record) -> Record | None:
    conn.execute("BEGIN IMMEDIATE")
    try:
        if isinstance(record, UserChanged) and record.action != "user_add":  # changes someone who exists
            db.insert_record(conn, UserChanged.new(record.till_id, "user_add", record.name, actor=None,
                                                   approved_by=None, at=record.at, role="cashier", pin_hash="old"),
                             "sqlite")
        db.insert_record(conn, record, stored_via="sqlite")
        return codec.load(conn, record.TYPE, record.uuid)
    finally:
        conn.execute("ROLLBACK")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(records())
def test_every_record_survives_its_rows(database, record):
    assert through_rows(database, record) == record


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sales(kind="refund"))
def test_a_refund_keeps_its_approving_manager_in_the_database(database, refund):
    assert refund.approved_by
    assert through_rows(database, refund).approved_by == refund.approved_by


@settings(max_examples=300, deadline=None)
@given(records())
def test_every_record_survives_its_journal_line(record):
    with tempfile.TemporaryDirectory() as root:
        journal = Journal([Path(root) / "journal"], "T1", key_dir=Path(root))
        journal.append(record)
        journal.close()
        [entry] = journal.scan().records
    assert record_from_dict(entry.record) == record


@settings(max_examples=50, deadline=None)
@given(sales(kind="void"))
def test_a_keyed_line_carries_a_voids_approving_manager(void):
    key = bytes(32)
    line, mac = encode_keyed(void, key, "T1-x.jsonl", 1, "-")
    assert verify_line(line, key, "T1-x.jsonl")[3]["approved_by"] == void.approved_by
    assert record_from_dict(verify_line(line, key, "T1-x.jsonl")[3]) == void


def test_a_refund_committed_by_the_ledger_reads_back_with_its_manager(tmp_path):
    """Through the ledger and a new process's connection: the database's copy and the journal's
    copy of a refund say the same about who approved it."""
    sale = make_record(1)
    refund = Sale.from_record({**make_record(2), "kind": "refund", "original_uuid": sale["uuid"],
                               "original_receipt": sale["receipt"], "reason": "Damaged", "approved_by": "manager"})
    ledger = new_ledger(tmp_path)
    try:
        assert ledger.commit(sale) == "sqlite" and ledger.commit(refund) == "sqlite"
    finally:
        ledger.close()
    again = new_ledger(tmp_path)
    try:
        [stored] = again.find_sales(receipt=refund.receipt)
        assert stored["approved_by"] == "manager"
        assert Sale.from_record(stored) == refund
    finally:
        again.close()
    with closing(sqlite3.connect(tmp_path / "pos.sqlite3")) as conn:
        assert conn.execute("SELECT approved_by FROM sale WHERE receipt = 'T1-000002'").fetchall() == [("manager",)]


def test_a_user_change_replayed_among_other_records_keeps_the_chain_whole(tmp_path):
    """Replay carries the chain's head from record to record: a user change's table_state entry
    must be chained at that head too, not at one read before the replay began."""
    ledger = new_ledger(tmp_path)
    try:
        ledger.connection()
        for record in (make_record(1), UserChanged.new("T1", "user_add", "lin", actor=None, approved_by=None,
                                                       at="2026-11-21T10:00:00.000+00:00", role="cashier",
                                                       pin_hash="scrypt$h"), make_record(2)):
            ledger.journal.append(record)
        result = ledger.replay()
        assert (result.replayed, result.quarantined, result.error) == (3, 0, "")
        with closing(db.connect(tmp_path / "pos.sqlite3", 100)) as conn:
            assert [a for (a,) in conn.execute("SELECT action FROM audit ORDER BY seq")] == [
                "sale", "table_state", "user_add", "sale", "replay"]
            assert verify(conn).ok
    finally:
        ledger.close()


def test_a_sale_reads_back_from_a_database_not_migrated_yet(tmp_path):
    """Read-only readers (status, a backup's copy) may meet a database the till has not opened
    since the upgrade: its sales read back, without what the migrations add."""
    sale = make_record(1)
    with closing(db.connect(tmp_path / "pos.sqlite3", 100)) as conn:
        db.ensure_schema(conn)
        with db.transaction(conn):
            db.insert_record(conn, sale, stored_via="sqlite")
        conn.execute("ALTER TABLE sale DROP COLUMN approved_by")  # as schema 2 stored it
    with closing(db.connect(tmp_path / "pos.sqlite3", 100, readonly=True)) as conn:
        assert codec.load(conn, "sale", sale["uuid"]) == Sale.from_record(sale)
