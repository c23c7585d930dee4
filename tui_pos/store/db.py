"""SQLite: connection settings, schema, and the statements that write and read sale records.

WAL + synchronous=FULL: one fdatasync of the WAL per commit and no acknowledged commit lost at
a power cut (tests/faults/test_power_loss.py proves it; NORMAL loses commits). The schema is
created with sqlite-utils, imported only when the schema version is behind.
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

SCHEMA_VERSION = 1
SALE_COLUMNS = (
    "uuid", "receipt", "till_id", "seq", "cashier", "opened_at", "completed_at", "currency",
    "tax_included", "gross", "discount", "tax", "total", "rounding", "paid", "change",
)
LINE_COLUMNS = (
    "line_no", "barcode", "name", "qty", "unit_price", "line_discount", "order_discount",
    "tax_code", "rate_bp", "tax", "total", "voided",
)
TENDER_COLUMNS = ("kind", "amount", "reference")
PRODUCT_COLUMNS = ("barcode", "name", "price", "tax_code", "department", "open_price", "stock")

_INSERT_SALE = (
    f"INSERT INTO sale ({', '.join(SALE_COLUMNS)}, stored_via) "
    f"VALUES ({', '.join('?' * len(SALE_COLUMNS))}, ?)"
)
_INSERT_LINE = (
    f"INSERT INTO sale_line (sale_uuid, {', '.join(LINE_COLUMNS)}) VALUES (?{', ?' * len(LINE_COLUMNS)})"
)
_INSERT_TENDER = "INSERT INTO tender (sale_uuid, tender_no, kind, amount, reference) VALUES (?, ?, ?, ?, ?)"
_INSERT_MOVEMENT = "INSERT INTO stock_movement (sale_uuid, barcode, qty_delta, at) VALUES (?, ?, ?, ?)"
_UPDATE_STOCK = "UPDATE product SET stock = stock - ? WHERE barcode = ? AND stock IS NOT NULL"
_INSERT_PRINT_JOB = "INSERT INTO print_job (sale_uuid, kind, state, created_at) VALUES (?, 'receipt', 'pending', ?)"


def connect(path: Path, busy_timeout_ms: int, readonly: bool = False) -> sqlite3.Connection:
    """Open with the durability settings; autocommit mode so that we issue BEGIN/COMMIT ourselves."""
    if readonly:
        conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, isolation_level=None,
                               check_same_thread=False)
    else:
        fresh = not path.exists()
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        if fresh:
            os.chmod(path, 0o600)
    conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    if not readonly:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


def close_quietly(conn: sqlite3.Connection | None) -> None:
    """Close a connection after an error; a failing close has nothing more to tell."""
    if conn is not None:
        try:
            conn.close()
        except sqlite3.Error:
            pass


def ensure_schema(conn: sqlite3.Connection) -> None:
    if conn.execute("PRAGMA user_version").fetchone()[0] >= SCHEMA_VERSION:
        return
    import sqlite_utils  # lazy: 100 ms of imports, needed only to create or migrate

    db = sqlite_utils.Database(conn)
    db["meta"].create({"key": str, "value": str}, pk="key", if_not_exists=True)
    db["product"].create(
        {"barcode": str, "name": str, "price": int, "tax_code": str, "department": str,
         "open_price": int, "stock": int, "updated_at": str},
        pk="barcode", not_null=["name", "price", "tax_code"], if_not_exists=True,
    )
    db["sale"].create(
        {**{c: str for c in SALE_COLUMNS},
         **{c: int for c in ("seq", "tax_included", "gross", "discount", "tax", "total", "rounding", "paid", "change")},
         "stored_via": str, "recorded_at": str},
        pk="uuid", not_null=["receipt", "till_id", "seq", "total"], if_not_exists=True,
        defaults={"recorded_at": "CURRENT_TIMESTAMP"},
    )
    db["sale"].create_index(["receipt"], unique=True, if_not_exists=True)
    db["sale"].create_index(["till_id", "seq"], unique=True, if_not_exists=True)
    db["sale"].create_index(["completed_at"], if_not_exists=True)
    db["sale_line"].create(
        {"sale_uuid": str, **{c: str for c in ("barcode", "name", "tax_code")},
         **{c: int for c in LINE_COLUMNS if c not in ("barcode", "name", "tax_code")}},
        pk=("sale_uuid", "line_no"), foreign_keys=[("sale_uuid", "sale", "uuid")], if_not_exists=True,
    )
    db["tender"].create(
        {"sale_uuid": str, "tender_no": int, "kind": str, "amount": int, "reference": str},
        pk=("sale_uuid", "tender_no"), foreign_keys=[("sale_uuid", "sale", "uuid")], if_not_exists=True,
    )
    db["stock_movement"].create(
        {"id": int, "sale_uuid": str, "barcode": str, "qty_delta": int, "at": str},
        pk="id", foreign_keys=[("sale_uuid", "sale", "uuid")], if_not_exists=True,
    )
    db["stock_movement"].create_index(["sale_uuid"], if_not_exists=True)
    db["print_job"].create(
        {"id": int, "sale_uuid": str, "kind": str, "state": str, "created_at": str, "updated_at": str,
         "attempts": int, "last_error": str},
        pk="id", foreign_keys=[("sale_uuid", "sale", "uuid")], if_not_exists=True,
        defaults={"attempts": 0},
    )
    db["print_job"].create_index(["state"], if_not_exists=True)
    db["user"].create(
        {"name": str, "role": str, "pin_hash": str, "active": int}, pk="name", if_not_exists=True,
    )
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any error (for writes other than sales)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def insert_sale(conn: sqlite3.Connection, record: dict[str, Any], stored_via: str) -> None:
    """Every row of one sale: the sale, lines, tenders, stock movements and its print job.

    The caller owns the transaction; all of this commits or none of it does.
    """
    uuid = record["uuid"]
    conn.execute(_INSERT_SALE, [record[c] for c in SALE_COLUMNS] + [stored_via])
    lines = record["lines"]
    conn.executemany(_INSERT_LINE, [[uuid] + [line[c] for c in LINE_COLUMNS] for line in lines])
    conn.executemany(
        _INSERT_TENDER,
        [[uuid, n, t["kind"], t["amount"], t["reference"]] for n, t in enumerate(record["tenders"], 1)],
    )
    sold = [line for line in lines if not line["voided"]]
    conn.executemany(_INSERT_MOVEMENT, [(uuid, l["barcode"], -l["qty"], record["completed_at"]) for l in sold])
    conn.executemany(_UPDATE_STOCK, [(l["qty"], l["barcode"]) for l in sold])
    conn.execute(_INSERT_PRINT_JOB, (uuid, record["completed_at"]))


def _chunks(items: Sequence[Any], size: int = 500) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def existing(conn: sqlite3.Connection, column: str, values: Sequence[str]) -> dict[str, str]:
    """For sale.uuid or sale.receipt values: which exist, mapped to the uuid that holds them."""
    assert column in ("uuid", "receipt")
    found: dict[str, str] = {}
    for chunk in _chunks(values):
        marks = ", ".join("?" * len(chunk))
        found.update(conn.execute(f"SELECT {column}, uuid FROM sale WHERE {column} IN ({marks})", chunk))
    return found


def max_seq(conn: sqlite3.Connection, till_id: str) -> int:
    return conn.execute("SELECT COALESCE(MAX(seq), 0) FROM sale WHERE till_id = ?", (till_id,)).fetchone()[0]


def list_sales(conn: sqlite3.Connection, since: str | None) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT uuid, receipt, seq, till_id, cashier, completed_at, total, change, stored_via FROM sale "
        "WHERE completed_at >= ? ORDER BY completed_at, seq",
        (since or "",),
    )
    names = [d[0] for d in rows.description]
    return [dict(zip(names, row)) for row in rows]


def load_products(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    rows = conn.execute(f"SELECT {', '.join(PRODUCT_COLUMNS)} FROM product")
    return [dict(zip(PRODUCT_COLUMNS, row)) for row in rows]


def upsert_products(conn: sqlite3.Connection, products: Iterable[dict[str, Any]], now: str) -> int:
    """Insert or update products in one transaction: a CSV import is all or nothing."""
    rows = [[p[c] for c in PRODUCT_COLUMNS] + [now] for p in products]
    updates = ", ".join(f"{c} = excluded.{c}" for c in PRODUCT_COLUMNS[1:] + ("updated_at",))
    with transaction(conn):
        conn.executemany(
            f"INSERT INTO product ({', '.join(PRODUCT_COLUMNS)}, updated_at) "
            f"VALUES ({', '.join('?' * (len(PRODUCT_COLUMNS) + 1))}) "
            f"ON CONFLICT(barcode) DO UPDATE SET {updates}",
            rows,
        )
    return len(rows)


def upsert_users(conn: sqlite3.Connection, users: Iterable[dict[str, Any]]) -> None:
    with transaction(conn):
        conn.executemany(
            "INSERT INTO user (name, role, pin_hash, active) VALUES (:name, :role, :pin_hash, 1) "
            "ON CONFLICT(name) DO UPDATE SET role = excluded.role, pin_hash = excluded.pin_hash",
            list(users),
        )


def load_users(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    rows = conn.execute("SELECT name, role, pin_hash, active FROM user")
    return [dict(zip(("name", "role", "pin_hash", "active"), row)) for row in rows]
