"""Helpers for the store tests: hand-made sale records (the store speaks plain dicts), row counts
read back with our own sqlite3 connection, never through the code under test, a journal line
damaged in place, and a database as schema 1 (before the audit log) wrote it."""

from __future__ import annotations

import os
import sqlite3
import uuid as uuidlib
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from tui_pos.store import db
from tui_pos.store.journal import Journal
from tui_pos.store.ledger import Ledger

TABLES = ("sale", "sale_line", "tender", "stock_movement", "print_job")
# What one make_record() sale puts in each table: 2 lines (one voided, so 1 stock movement),
# 2 tenders, 1 print job.
ROWS_PER_SALE = {"sale": 1, "sale_line": 2, "tender": 2, "stock_movement": 1, "print_job": 1}


def make_record(seq: int, *, till_id: str = "T1", completed_at: str = "2026-11-21T10:00:00.000+00:00",
                uuid: str | None = None) -> dict[str, Any]:
    """A complete sale record: 2 x 可口可乐 at 3.50 (7.00) plus a voided water, paid 5.00 cash + 2.00 card."""
    return {
        "uuid": uuid or str(uuidlib.uuid4()), "receipt": f"{till_id}-{seq:06d}", "till_id": till_id, "seq": seq,
        "cashier": "测试", "opened_at": "2026-11-21T09:59:00.000+00:00", "completed_at": completed_at,
        "currency": "CNY", "tax_included": True, "gross": 700, "discount": 0, "tax": 81, "total": 700,
        "rounding": 0, "paid": 700, "change": 0,
        "lines": [
            {"line_no": 1, "barcode": "111", "name": "可口可乐 330ml", "qty": 2, "unit_price": 350,
             "line_discount": 0, "order_discount": 0, "tax_code": "A", "rate_bp": 1300, "tax": 81,
             "total": 700, "voided": False},
            {"line_no": 2, "barcode": "222", "name": "农夫山泉", "qty": 1, "unit_price": 200,
             "line_discount": 0, "order_discount": 0, "tax_code": "A", "rate_bp": 1300, "tax": 0,
             "total": 0, "voided": True},
        ],
        "tenders": [{"kind": "cash", "amount": 500, "reference": ""},
                    {"kind": "card", "amount": 200, "reference": "AUTH1"}],
    }


def new_ledger(root: Path, journal_dirs: list[Path] | None = None, retry_budget_ms: int = 50) -> Ledger:
    """A ledger on root/pos.sqlite3 with its journal in root/journal (as a process would open it)."""
    dirs = journal_dirs if journal_dirs is not None else [root / "journal"]
    return Ledger(root / "pos.sqlite3", Journal(dirs, "T1"), busy_timeout_ms=20, retry_budget_ms=retry_budget_ms)


def query(db_path: Path, sql: str, params: tuple = ()) -> list[tuple]:
    with closing(sqlite3.connect(db_path)) as conn:
        return conn.execute(sql, params).fetchall()


def row_counts(db_path: Path) -> dict[str, int]:
    return {table: query(db_path, f"SELECT COUNT(*) FROM {table}")[0][0] for table in TABLES}


def stored_sales(db_path: Path) -> dict[str, str]:
    """uuid -> stored_via for every sale row."""
    return dict(query(db_path, "SELECT uuid, stored_via FROM sale"))


@pytest.fixture
def umask_zero():
    """File modes must come from the code, not from a friendly umask."""
    old = os.umask(0)
    yield
    os.umask(old)


def legacy_database(root: Path, stock: dict[str, int]) -> None:
    """A database as tui-pos kept it before the migration stock_level: product.stock the catalog's
    opening stock less what sales took (whole units), covered by the product table's digest, and
    no stock_level table."""
    with closing(sqlite3.connect(root / "pos.sqlite3")) as conn, conn:
        for barcode, units in stock.items():
            sold = conn.execute("SELECT COALESCE(SUM(qty), 0) FROM sale_line WHERE barcode = ? AND voided = 0",
                                (barcode,)).fetchone()[0]
            conn.execute("UPDATE product SET stock = ? WHERE barcode = ?", (units - sold, barcode))
        conn.execute("DROP TABLE stock_level")
        conn.execute("DELETE FROM _sqlite_migrations WHERE name = 'stock_level'")
        db.cover(conn, "product")


def flip_middle_byte(path: Path, line_no: int) -> bytes:
    """Flip one bit in the middle of line line_no (1-based), in place; return the damaged line."""
    data = bytearray(path.read_bytes())
    lines = bytes(data).split(b"\n")
    start = sum(len(line) + 1 for line in lines[: line_no - 1])
    offset = start + len(lines[line_no - 1]) // 2
    data[offset] ^= 0x01
    with open(path, "r+b") as f:  # in place: a live writer's fd keeps pointing at this file
        f.write(data)
    return bytes(data).split(b"\n")[line_no - 1]


# -- a database as schema 1 wrote it (before the audit log) ---------------------------------------
SCHEMA_1 = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE product (barcode TEXT PRIMARY KEY, name TEXT NOT NULL, price INTEGER NOT NULL, tax_code TEXT NOT NULL,
    department TEXT, open_price INTEGER, stock INTEGER, updated_at TEXT);
CREATE TABLE sale (uuid TEXT PRIMARY KEY, receipt TEXT NOT NULL, till_id TEXT NOT NULL, seq INTEGER NOT NULL,
    cashier TEXT, opened_at TEXT, completed_at TEXT, currency TEXT, tax_included INTEGER, gross INTEGER,
    discount INTEGER, tax INTEGER, total INTEGER NOT NULL, rounding INTEGER, paid INTEGER, change INTEGER,
    stored_via TEXT, recorded_at TEXT DEFAULT CURRENT_TIMESTAMP);
CREATE UNIQUE INDEX idx_sale_receipt ON sale (receipt);
CREATE UNIQUE INDEX idx_sale_till_id_seq ON sale (till_id, seq);
CREATE INDEX idx_sale_completed_at ON sale (completed_at);
CREATE TABLE sale_line (sale_uuid TEXT REFERENCES sale(uuid), line_no INTEGER, barcode TEXT, name TEXT, qty INTEGER,
    unit_price INTEGER, line_discount INTEGER, order_discount INTEGER, tax_code TEXT, rate_bp INTEGER, tax INTEGER,
    total INTEGER, voided INTEGER, PRIMARY KEY (sale_uuid, line_no));
CREATE TABLE tender (sale_uuid TEXT REFERENCES sale(uuid), tender_no INTEGER, kind TEXT, amount INTEGER,
    reference TEXT, PRIMARY KEY (sale_uuid, tender_no));
CREATE TABLE stock_movement (id INTEGER PRIMARY KEY, sale_uuid TEXT REFERENCES sale(uuid), barcode TEXT,
    qty_delta INTEGER, at TEXT);
CREATE TABLE print_job (id INTEGER PRIMARY KEY, sale_uuid TEXT REFERENCES sale(uuid), kind TEXT, state TEXT,
    created_at TEXT, updated_at TEXT, attempts INTEGER DEFAULT 0, last_error TEXT);
CREATE TABLE user (name TEXT PRIMARY KEY, role TEXT, pin_hash TEXT, active INTEGER);
PRAGMA user_version = 1;
"""
V1_SALE = ("uuid", "receipt", "till_id", "seq", "cashier", "opened_at", "completed_at", "currency", "tax_included",
           "gross", "discount", "tax", "total", "rounding", "paid", "change")


def write_schema_1_sale(conn: sqlite3.Connection, record: dict[str, Any]) -> None:
    conn.execute(f"INSERT INTO sale ({', '.join(V1_SALE)}, stored_via) VALUES ({', '.join('?' * len(V1_SALE))}, "
                 "'sqlite')", [record[c] for c in V1_SALE])
    for line in record["lines"]:
        conn.execute("INSERT INTO sale_line VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     (record["uuid"], *[line[c] for c in ("line_no", "barcode", "name", "qty", "unit_price",
                                                          "line_discount", "order_discount", "tax_code", "rate_bp",
                                                          "tax", "total", "voided")]))
    for n, tender in enumerate(record["tenders"], 1):
        conn.execute("INSERT INTO tender VALUES (?, ?, ?, ?, ?)",
                     (record["uuid"], n, tender["kind"], tender["amount"], tender["reference"]))
