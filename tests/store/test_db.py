"""The user writes of store/db.py: a user change (UserChanged) is its row, the user table's
table_state entry and its own audit entry, all in the caller's transaction; names are taken
whatever their case; the entry never holds the PIN hash. Read back with our own connection."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from tui_pos.domain.auth import NameTaken, NoSuchUser
from tui_pos.domain.records import UserChanged
from tui_pos.store import db
from tui_pos.store.verification import verify

AT = "2026-12-04T10:00:00.000+00:00"


@pytest.fixture
def conn(tmp_path: Path):
    with closing(db.connect(tmp_path / "pos.sqlite3", busy_timeout_ms=20)) as connection:
        db.ensure_schema(connection)
        yield connection


def change(action, name, **fields) -> dict:
    return UserChanged.new("T1", action, name, actor="boss", approved_by="boss", at=AT, **fields).to_record()


def store(conn: sqlite3.Connection, record: dict) -> None:
    with db.transaction(conn):
        db.insert_record(conn, record, stored_via="sqlite")


def entries(conn: sqlite3.Connection) -> list[tuple]:
    return conn.execute("SELECT action, actor, approved_by, subject, amount, detail FROM audit ORDER BY seq").fetchall()


def test_a_user_change_is_its_row_the_tables_cover_and_its_entry(conn):
    store(conn, change("user_add", "lin", role="cashier", pin_hash="scrypt$secret-hash"))
    store(conn, change("user_disable", "lin"))
    store(conn, change("user_set_pin", "lin", pin_hash="scrypt$other-hash"))
    assert conn.execute("SELECT name, role, pin_hash, active FROM user").fetchall() == \
        [("lin", "cashier", "scrypt$other-hash", 0)]
    found = entries(conn)
    assert [e[0] for e in found] == ["table_state", "user_add", "table_state", "user_disable", "table_state",
                                     "user_set_pin"]
    assert found[1] == ("user_add", "boss", "boss", "lin", None, '{"role":"cashier"}')
    assert found[3] == ("user_disable", "boss", "boss", "lin", None, "{}")
    assert not any("hash" in str(value) for row in conn.execute("SELECT * FROM audit WHERE action LIKE 'user_%'")
                   for value in row)
    assert verify(conn).ok


def test_a_name_is_taken_in_any_case_and_nothing_is_written(conn):
    store(conn, change("user_add", "Demo", role="cashier", pin_hash="h1"))
    before = entries(conn)
    with pytest.raises(NameTaken, match="Demo already exists"):
        store(conn, change("user_add", "demo", role="manager", pin_hash="h2"))
    with pytest.raises(NoSuchUser, match="there is no user 'nobody'"):
        store(conn, change("user_enable", "nobody"))
    assert entries(conn) == before
    assert conn.execute("SELECT name, role FROM user").fetchall() == [("Demo", "cashier")]
