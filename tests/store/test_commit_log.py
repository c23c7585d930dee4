"""The till's commit order (store/commit_log.py): every record numbered and chained in the order it
entered SQLite, the same whether it was committed directly or through the journal and replay;
records stored before it existed numbered in audit-chain order; never a number used twice."""

from __future__ import annotations

import json
from contextlib import closing

from conftest import database_write_locked
from tui_pos.domain.commits import GENESIS, canonical_json, chained, first_break
from tui_pos.domain.records import UserChanged
from tui_pos.store import audit, commit_log, db, verification

from .records import make_record, new_ledger, query

AT = "2026-11-21T10:00:00.000+00:00"


def some_records() -> list[dict]:
    """A sale, a login, two more sales, and a shift's opening: each with its uuid fixed once."""
    return [make_record(1), audit.event_record("T1", "login", "测试", at=AT), make_record(2), make_record(3),
            {"type": "shift_open", "uuid": "5b7c0b8e-8f1f-4f55-9a39-52a5d3b1d001", "till_id": "T1", "number": 1,
             "opened_at": AT, "opened_by": "测试", "float": 10000}]


def commit_rows(path) -> list[dict]:
    """commit_log as envelopes, read with our own connection."""
    return [{"commit_seq": n, "prev_hash": prev, "hash": digest, "record": json.loads(text)}
            for n, prev, digest, text in query(path, "SELECT commit_seq, prev_hash, hash, record FROM commit_log "
                                                     "ORDER BY commit_seq")]


def test_every_record_committed_gets_the_next_number_and_a_hash_over_the_chain(tmp_path):
    ledger = new_ledger(tmp_path)
    records = some_records()
    try:
        for record in records:
            assert ledger.commit(record) == "sqlite"
    finally:
        ledger.close()
    assert commit_rows(tmp_path / "pos.sqlite3") == list(chained(records))
    assert query(tmp_path / "pos.sqlite3", "SELECT type FROM commit_log ORDER BY commit_seq") == [
        ("sale",), ("event",), ("sale",), ("sale",), ("shift_open",)]


def test_records_through_the_journal_and_replay_get_the_numbers_and_hashes_committed_ones_get(tmp_path):
    records = some_records()
    (tmp_path / "direct").mkdir()
    direct = new_ledger(tmp_path / "direct")
    try:
        assert [direct.commit(r) for r in records] == ["sqlite"] * len(records)
    finally:
        direct.close()
    (tmp_path / "failing").mkdir()
    failing = new_ledger(tmp_path / "failing")
    try:
        assert failing.commit(records[0]) == "sqlite"
        with database_write_locked(tmp_path / "failing"):
            assert [failing.commit(r) for r in records[1:]] == ["journal"] * (len(records) - 1)
            promised = failing.view.commits_after(0)  # what a push sends while they wait in the journal
            assert failing.view.last_commit() == len(records)
        assert failing.replay().replayed == len(records) - 1
        assert failing.view.commits_after(0) == promised
    finally:
        failing.close()
    assert commit_rows(tmp_path / "failing" / "pos.sqlite3") == promised == commit_rows(tmp_path / "direct" / "pos.sqlite3")


def test_a_catalog_or_people_change_waits_for_the_journal_to_be_replayed_first(tmp_path):
    """A change to people or prices needs the database: the records waiting in the journal were
    committed before it and keep the numbers they were promised."""
    ledger = new_ledger(tmp_path)
    records = some_records()[:3]
    change = UserChanged.new("T1", "user_add", "王芳", actor=None, approved_by=None, at=AT, role="cashier",
                             pin_hash="$argon2id$not-a-real-hash").to_record()
    try:
        ledger.commit(records[0])
        with database_write_locked(tmp_path):
            for record in records[1:]:
                assert ledger.commit(record) == "journal"
            promised = ledger.view.commits_after(0)
        ledger.change_shop([change])
        assert ledger.state().journal_backlog == 0
    finally:
        ledger.close()
    rows = commit_rows(tmp_path / "pos.sqlite3")
    assert rows[:3] == promised
    assert [(r["commit_seq"], r["record"]["uuid"], r["prev_hash"]) for r in rows[3:]] == [
        (4, change["uuid"], promised[-1]["hash"])]


def test_a_database_from_before_the_commit_log_numbers_its_records_in_audit_chain_order(tmp_path):
    ledger = new_ledger(tmp_path)
    records = some_records()
    change = UserChanged.new("T1", "user_add", "王芳", actor=None, approved_by=None, at=AT, role="cashier",
                             pin_hash="$argon2id$not-a-real-hash").to_record()
    try:
        ledger.commit(records[0])
        ledger.change_shop([change])  # a table_state entry, then the change's own
        assert ledger.note_config("T1", {"printer": "x"}) == ["printer"]  # an entry of the store's own: no record
        for record in records[1:]:
            ledger.commit(record)
        before = ledger.view.commits_after(0)
    finally:
        ledger.close()
    path = tmp_path / "pos.sqlite3"
    with closing(db.connect(path, 100)) as conn:  # as the version before commit_log left it
        conn.execute("DROP TABLE commit_log")
        conn.execute("DELETE FROM _sqlite_migrations WHERE name = 'commit_log'")
        db.ensure_schema(conn)
        after = commit_log.after(conn, 0, 100)
    assert [(e["commit_seq"], e["record"]["uuid"]) for e in after] == [(e["commit_seq"], e["record"]["uuid"])
                                                                      for e in before]
    assert [e["record"].get("type", "sale") for e in after] == ["sale", "user_change", "event", "sale", "sale",
                                                                 "shift_open"]
    assert first_break(after, after=(0, GENESIS)) is None
    assert after[1]["record"] == change  # read back from its row and audit entry as it was committed
    assert after[2]["record"] == records[1] and after[5]["record"] == records[4]


def test_after_a_restore_over_newer_commits_no_number_is_used_twice(tmp_path):
    """The floor a restore keeps: the next commit follows it, chained to the last commit held (a
    break HQ stores and reports), never a number HQ holds for another record."""
    ledger = new_ledger(tmp_path)
    first, second = make_record(1), make_record(2)
    try:
        ledger.commit(first)
        with closing(db.connect(tmp_path / "pos.sqlite3", 100)) as conn:
            db.raise_floors(conn, {commit_log.FLOOR_KEY: 7})
        ledger.commit(second)
    finally:
        ledger.close()
    rows = commit_rows(tmp_path / "pos.sqlite3")
    assert [(r["commit_seq"], r["prev_hash"]) for r in rows] == [(1, GENESIS), (8, rows[0]["hash"])]
    assert rows[1]["hash"] == list(chained([second], after=(1, rows[0]["hash"])))[0]["hash"]
    assert canonical_json(rows[1]["record"]) == canonical_json(second)


def test_audit_verify_finds_a_commit_edited_deleted_or_missing(tmp_path):
    ledger = new_ledger(tmp_path)
    records = some_records()
    try:
        for record in records:
            ledger.commit(record)
    finally:
        ledger.close()
    path = tmp_path / "pos.sqlite3"
    with closing(db.connect(path, 100)) as conn:
        assert verification.verify(conn).ok
        conn.execute("UPDATE commit_log SET record = replace(record, '\"total\":700', '\"total\":1') WHERE commit_seq = 3")
        conn.execute("DELETE FROM commit_log WHERE commit_seq = 4")
        assert [p.what for p in verification.verify(conn).problems] == [
            "commit 3 was modified, or does not follow the commit before it", "commits 4-4 are missing (deleted)",
            "commit 5 was modified, or does not follow the commit before it",
            f"sale {records[3]['uuid']} has no commit (its commit was deleted)"]
