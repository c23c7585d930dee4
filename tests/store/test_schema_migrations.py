"""Named migrations (store/schema.py): a database at each older schema upgrades in order and keeps
its data; what ran is recorded by name and never runs twice; a database from a newer tui-pos is
left alone. (Schema 1, from before the audit log: tests/store/test_audit.py.)
Named test_schema_migrations.py: tests/hq/test_schema.py has the basename test_schema.py."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import sqlite_utils

from tui_pos.store import audit, codec, db, schema
from tui_pos.store.verification import verify

from .records import SCHEMA_1, make_record, new_ledger, query, write_schema_1_sale


def schema_2_database(path: Path, sale: dict, refund: dict) -> None:
    """A database as tui-pos wrote it at schema 2 (user_version 2, nothing recorded by name): its
    tables, a sale and a refund in the rows and audit entries of that version (no approved_by column)."""
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        conn.execute("BEGIN")
        schema._tables(sqlite_utils.Database(conn))
        for record in (sale, refund):
            rows = codec.sale_rows(record)
            conn.execute(f"INSERT INTO sale ({', '.join(codec.SALE_COLUMNS)}, stored_via) "
                         f"VALUES ({', '.join('?' * len(codec.SALE_COLUMNS))}, 'sqlite')", rows[0])
            n = len(record["lines"])
            conn.executemany(f"INSERT INTO sale_line (sale_uuid, {', '.join(codec.LINE_COLUMNS)}) "
                             f"VALUES (?{', ?' * len(codec.LINE_COLUMNS)})", rows[1:1 + n])
            conn.executemany("INSERT INTO tender (sale_uuid, tender_no, kind, amount, reference) VALUES (?, ?, ?, ?, ?)",
                             rows[1 + n:])
            audit.append(conn, audit.entries_for(record, rows))
        conn.execute("PRAGMA user_version = 2")
        conn.execute("COMMIT")
    assert "approved_by" not in {c[1] for c in query(path, "PRAGMA table_info(sale)")}


def dump(path: Path) -> dict[str, list[tuple]]:
    tables = ("sale", "sale_line", "tender", "audit", "user", "product", "shift", "cash_movement", "z_report")
    return {t: query(path, f"SELECT * FROM {t} ORDER BY rowid") for t in tables}


def test_a_schema_2_database_gets_the_refunds_manager_back_and_keeps_everything_else(tmp_path):
    sale = make_record(1)
    refund = {**make_record(2), "kind": "refund", "original_uuid": sale["uuid"], "original_receipt": sale["receipt"],
              "reason": "Damaged", "approved_by": "manager"}
    path = tmp_path / "pos.sqlite3"
    schema_2_database(path, sale, refund)
    before = dump(path)

    ledger = new_ledger(tmp_path)
    try:
        ledger.connection()
        [stored] = ledger.find_sales(receipt="T1-000002")
    finally:
        ledger.close()
    assert stored["approved_by"] == "manager"  # from the refund's audit entry
    assert query(path, "SELECT receipt, approved_by FROM sale ORDER BY seq") == [("T1-000001", None),
                                                                                ("T1-000002", "manager")]
    after = dump(path)
    assert after["audit"] == before["audit"]  # recorded as run at schema 2, not run again: no entry twice
    assert [row[:-1] for row in after["sale"]] == before["sale"]  # the new column is the last
    assert {t: rows for t, rows in after.items() if t != "sale"} == {t: rows for t, rows in before.items() if t != "sale"}
    assert query(path, "SELECT migration_set, name FROM _sqlite_migrations ORDER BY id") == [
        ("tui_pos", name) for name, _ in schema.MIGRATIONS]  # tables and audit_backfill recorded, the rest run
    assert query(path, "PRAGMA user_version") == [(2,)]
    with closing(db.connect(path, 100)) as conn:
        assert verify(conn).ok
        assert schema.pending(conn) == []


def test_a_schema_1_database_runs_every_migration_in_order(tmp_path):
    path = tmp_path / "pos.sqlite3"
    with closing(sqlite3.connect(path)) as conn:
        conn.executescript(SCHEMA_1)
        write_schema_1_sale(conn, make_record(1))
        conn.commit()
    with closing(db.connect(path, 100)) as conn:
        assert schema.pending(conn) == [name for name, _ in schema.MIGRATIONS]
        db.ensure_schema(conn)
        assert schema.applied(conn) == [name for name, _ in schema.MIGRATIONS]
        assert query(path, "SELECT action, subject FROM audit") == [("sale", "T1-000001")]
        assert codec.load_sale_record(conn, make_record(1, uuid="x")["uuid"]) is None
        assert verify(conn).ok


def test_a_new_database_records_every_migration_and_runs_none_twice(tmp_path):
    path = tmp_path / "pos.sqlite3"
    with closing(db.connect(path, 100)) as conn:
        db.ensure_schema(conn)
        ran = query(path, "SELECT name, applied_at FROM _sqlite_migrations ORDER BY id")
        assert [name for name, _ in ran] == [name for name, _ in schema.MIGRATIONS]
        db.ensure_schema(conn)
    with closing(db.connect(path, 100)) as conn:
        db.ensure_schema(conn)
    assert query(path, "SELECT name, applied_at FROM _sqlite_migrations ORDER BY id") == ran


def test_a_failing_migration_changes_nothing(tmp_path, monkeypatch):
    path = tmp_path / "pos.sqlite3"
    sale = make_record(1)
    refund = {**make_record(2), "kind": "void", "original_uuid": sale["uuid"], "original_receipt": sale["receipt"],
              "reason": "Wrong", "approved_by": "manager"}
    schema_2_database(path, sale, refund)
    before = dump(path)

    def broken(database):
        database["sale"].add_column("approved_by", str)
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(schema, "MIGRATIONS", tuple((name, broken if name == "sale_approved_by" else function)
                                                    for name, function in schema.MIGRATIONS))
    with closing(db.connect(path, 100)) as conn:
        try:
            db.ensure_schema(conn)
        except sqlite3.OperationalError:
            pass
        else:
            raise AssertionError("the migration's error was swallowed")
        assert schema.applied(conn) == []
    assert dump(path) == before
    assert "approved_by" not in {c[1] for c in query(path, "PRAGMA table_info(sale)")}


def test_a_database_from_a_newer_tui_pos_is_left_alone(tmp_path):
    path = tmp_path / "pos.sqlite3"
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("CREATE TABLE sale (uuid TEXT PRIMARY KEY)")
        conn.execute("PRAGMA user_version = 3")
    with closing(db.connect(path, 100)) as conn:
        db.ensure_schema(conn)
        assert schema.pending(conn) == [] and schema.applied(conn) == []
    assert query(path, "SELECT name FROM sqlite_master WHERE type = 'table'") == [("sale",)]
