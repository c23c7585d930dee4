"""SQLite: connection settings, transactions, a record's commit with its audit entries, and the
queries of what is stored. Records <-> rows: store/codec.py; the schema and its named
migrations: store/schema.py.

WAL + synchronous=FULL: one fdatasync of the WAL per commit and no acknowledged commit lost at
a power cut (tests/durability/test_power_loss.py proves it; NORMAL loses commits).
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tui_pos.domain.records import Record
from tui_pos.store import audit, codec, commit_log
from tui_pos.store.codec import (  # noqa: F401  (re-exported: callers not moved to codec yet)
    CASH_MOVEMENT_COLUMNS,
    LINE_COLUMNS,
    SALE_COLUMNS,
    SALE_KINDS,
    SHIFT_COLUMNS,
    TENDER_COLUMNS,
    Z_REPORT_COLUMNS,
    load_record,
    load_sale_record,
    record_numbers,
    record_type,
    sale_rows,
    stored_rows,
    stored_sale_rows,
)
from tui_pos.store.crash import crash_point
from tui_pos.store.schema import SCHEMA_VERSION, ensure_schema  # noqa: F401  (re-exported)

PRODUCT_COLUMNS = ("barcode", "name", "price", "tax_code", "department", "open_price", "stock")
# added by the migration stock; outside the product table's table_state digest (covered_rows), which
# never changes for a table once covered: a catalog import's audit entry names what it changed
STOCK_COLUMNS = ("weighed", "reorder_level", "reorder_qty")
# product.stock is what tui-pos before the migration stock_level kept of the catalog's stock (no
# record): covered by the digest, cleared when the till records it (store/stock_level.py), never
# written by an import (a product's opening stock is an opening count), never read as a product's
_PRODUCT_READ = PRODUCT_COLUMNS[:-1]


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


def stored_currency(conn: sqlite3.Connection) -> dict[str, Any] | None:
    """The currency the stored amounts are in ({"code", "exponent"}, kept in meta), or None."""
    row = conn.execute("SELECT value FROM meta WHERE key = 'currency'").fetchone()
    return json.loads(row[0]) if row else None


def holds_money(conn: sqlite3.Connection) -> bool:
    """Are amounts stored that a currency change would revalue (a sale, a shift's float, a cash movement)?"""
    if conn.execute("SELECT EXISTS (SELECT 1 FROM sale) OR EXISTS (SELECT 1 FROM shift) "
                    "OR EXISTS (SELECT 1 FROM cash_movement)").fetchone()[0]:
        return True
    try:  # a receive's unit cost (a database from before the migration stock has none)
        return bool(conn.execute("SELECT EXISTS (SELECT 1 FROM stock_move WHERE unit_cost IS NOT NULL)").fetchone()[0])
    except sqlite3.OperationalError:
        return False


def insert_record(conn: sqlite3.Connection, record: Record | dict[str, Any], stored_via: str,
                  audit_head: tuple[int, str] | None = None) -> tuple[int, str]:
    """Every row of one record (typed or its dict), then its audit entries at the head of the
    chain, then its commit (store/commit_log.py: the till's commit order); returns the audit
    chain's new head (replay passes it to the next record instead of reading it again).
    A record that changes a covered table (a user change) is followed by that table's
    table_state entry, then its own entry (the crash point user_before_audit is between its row
    and them).

    The caller owns the transaction; all of this commits or none of it does.
    """
    record = codec.as_dict(record)
    rows = codec.insert(conn, record, stored_via)
    covered = codec.COVERS.get(codec.record_type(record), ())
    if covered:
        crash_point("user_before_audit")
    entries = [entry for table in covered for entry in audit.table_state(table, covered_rows(conn, table))]
    chain = audit.append(conn, entries + audit.entries_for(record, rows), audit_head)
    commit_log.append(conn, record)
    return chain


def _chunks(items: Sequence[Any], size: int = 500) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def existing(conn: sqlite3.Connection, column: str, values: Sequence[str]) -> dict[str, str]:
    """Which of these values exist, each mapped to the uuid that holds it: "uuid" for records of
    any type (in their own tables; events in the audit log), "receipt" for sales."""
    assert column in ("uuid", "receipt")
    found: dict[str, str] = {}
    for chunk in _chunks(values):
        marks = ", ".join("?" * len(chunk))
        if column == "receipt":
            found.update(conn.execute(f"SELECT receipt, uuid FROM sale WHERE receipt IN ({marks})", chunk))
            continue
        selects = [f"SELECT uuid, uuid FROM {table} WHERE uuid IN ({marks})" for table in audit.RECORD_TABLES.values()]
        selects.append(f"SELECT uuid, uuid FROM audit WHERE uuid IN ({marks}) AND {audit.EVENTS_ONLY}")
        found.update(conn.execute(" UNION ALL ".join(selects), list(chunk) * len(selects)))
    return found


NUMBERED = (("sale", "seq"), ("shift", "number"), ("z_report", "z_number"))


def max_number(conn: sqlite3.Connection, table: str, column: str, till_id: str) -> int:
    """The highest receipt sequence (sale.seq), shift number or Z number used on this till, or
    its floor (set when an older backup was restored: numbers printed since are never reused)."""
    assert (table, column) in NUMBERED
    highest = conn.execute(f"SELECT COALESCE(MAX({column}), 0) FROM {table} WHERE till_id = ?", (till_id,)).fetchone()[0]
    floor = conn.execute("SELECT value FROM meta WHERE key = ?", (f"floor:{till_id}:{column}",)).fetchone()
    return max(highest, int(floor[0]) if floor else 0)


def number_floors(conn: sqlite3.Connection, with_floors: bool = True) -> dict[str, int]:
    """Every till's highest numbers (meta keys floor:TILL:COLUMN), floors included (with_floors
    False: only the numbers of the records stored)."""
    floors = {key: int(value) for key, value in conn.execute("SELECT key, value FROM meta WHERE key LIKE 'floor:%'")} \
        if with_floors else {}
    for table, column in NUMBERED:
        for till_id, highest in conn.execute(f"SELECT till_id, MAX({column}) FROM {table} GROUP BY till_id"):
            key = f"floor:{till_id}:{column}"
            floors[key] = max(floors.get(key, 0), highest)
    return floors


def raise_floors(conn: sqlite3.Connection, floors: dict[str, int]) -> None:
    with transaction(conn):
        keep_floors(conn, floors)


def keep_floors(conn: sqlite3.Connection, floors: dict[str, int]) -> None:
    """Raise these meta floors (never lower them), in the caller's transaction."""
    conn.executemany("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = "
                     "MAX(CAST(value AS INTEGER), CAST(excluded.value AS INTEGER))", list(floors.items()))


def list_sales(conn: sqlite3.Connection, since: str | None) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT uuid, receipt, seq, till_id, cashier, completed_at, total, change, kind, original_uuid, original_receipt, "
        "stored_via FROM sale "
        "WHERE completed_at >= ? ORDER BY completed_at, seq",
        (since or "",),
    )
    names = [d[0] for d in rows.description]
    return [dict(zip(names, row)) for row in rows]


def load_products(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """Every product row (not its legacy product.stock: stock on hand is store/stock.py's); with
    its stock settings (STOCK_COLUMNS) unless the database is from before them (read read-only,
    not migrated yet)."""
    columns: tuple[str, ...] = _PRODUCT_READ + STOCK_COLUMNS
    try:
        rows = conn.execute(f"SELECT {', '.join(columns)} FROM product").fetchall()
    except sqlite3.OperationalError as err:
        if "no such column" not in str(err):
            raise
        columns = _PRODUCT_READ
        rows = conn.execute(f"SELECT {', '.join(columns)} FROM product").fetchall()
    products = [dict(zip(columns, row)) for row in rows]
    for product in products:
        if "weighed" in product:
            product["weighed"] = bool(product["weighed"])
    return products


_COVERED_QUERIES = {
    "user": "SELECT name, role, pin_hash, active FROM user ORDER BY name",
    # stock + every quantity sold (refunds and voids sell negative quantities): what sales leave unchanged
    "product": f"SELECT {', '.join('p.' + c for c in PRODUCT_COLUMNS[:-1])}, p.stock + COALESCE(s.sold, 0) FROM product p "
               "LEFT JOIN (SELECT barcode, SUM(qty) AS sold FROM sale_line WHERE voided = 0 GROUP BY barcode) s "
               "ON s.barcode = p.barcode ORDER BY p.barcode",
}


def covered_rows(conn: sqlite3.Connection, table: str) -> list[list[Any]]:
    """A covered table's rows as its table_state entry digests them (audit.COVERED_TABLES)."""
    return [list(row) for row in conn.execute(_COVERED_QUERIES[table])]


def cover(conn: sqlite3.Connection, *tables: str) -> None:
    """Append the table_state entries of tables changed in the caller's transaction."""
    for table in tables:
        audit.append(conn, audit.table_state(table, covered_rows(conn, table)))


def write_products(conn: sqlite3.Connection, products: Iterable[dict[str, Any]], now: str, covered: bool = True) -> int:
    """Insert or update products (and cover the table); the caller holds the transaction (and
    audits the import in it)."""
    columns = _PRODUCT_READ + STOCK_COLUMNS
    rows = [[p[c] for c in _PRODUCT_READ] + [int(p.get(c) or 0) if c == "weighed" else p.get(c) for c in STOCK_COLUMNS]
            + [now] for p in products]
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns[1:] + ("updated_at",))
    conn.executemany(
        f"INSERT INTO product ({', '.join(columns)}, updated_at) "
        f"VALUES ({', '.join('?' * (len(columns) + 1))}) "
        f"ON CONFLICT(barcode) DO UPDATE SET {updates}",
        rows,
    )
    if covered:
        cover(conn, "product")
    return len(rows)


def upsert_users(conn: sqlite3.Connection, users: Iterable[dict[str, Any]]) -> None:
    with transaction(conn):
        conn.executemany(
            "INSERT INTO user (name, role, pin_hash, active) VALUES (:name, :role, :pin_hash, 1) "
            "ON CONFLICT(name) DO UPDATE SET role = excluded.role, pin_hash = excluded.pin_hash",
            list(users),
        )
        cover(conn, "user")


def load_users(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    rows = conn.execute("SELECT name, role, pin_hash, active FROM user")
    return [dict(zip(("name", "role", "pin_hash", "active"), row)) for row in rows]


def open_shift_row(conn: sqlite3.Connection, till_id: str) -> dict[str, Any] | None:
    """The newest shift of this till without a Z report, as its shift_open record."""
    row = conn.execute(
        f"SELECT {', '.join(SHIFT_COLUMNS)} FROM shift s WHERE till_id = ? AND NOT EXISTS "
        "(SELECT 1 FROM z_report z WHERE z.shift_uuid = s.uuid) ORDER BY number DESC LIMIT 1", (till_id,)).fetchone()
    return codec.row_record("shift_open", row) if row else None


def closed_shifts(conn: sqlite3.Connection, shift_uuids: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for chunk in _chunks(shift_uuids):
        marks = ", ".join("?" * len(chunk))
        found.update(u for (u,) in conn.execute(f"SELECT shift_uuid FROM z_report WHERE shift_uuid IN ({marks})", chunk))
    return found


def sale_uuids(conn: sqlite3.Connection, *, receipt: str | None = None, original_uuid: str | None = None,
               last_of_till: str | None = None) -> list[str]:
    """The sale with this receipt number; the refunds and voids of a sale; or a till's last sale
    (not counting refunds and voids)."""
    if receipt is not None:
        rows = conn.execute("SELECT uuid FROM sale WHERE receipt = ?", (receipt,))
    elif original_uuid is not None:
        rows = conn.execute("SELECT uuid FROM sale WHERE original_uuid = ? ORDER BY seq", (original_uuid,))
    else:
        rows = conn.execute("SELECT uuid FROM sale WHERE till_id = ? AND kind = 'sale' ORDER BY seq DESC LIMIT 1",
                            (last_of_till,))
    return [uuid for (uuid,) in rows]


def z_report_rows(conn: sqlite3.Connection, till_id: str, number: int | None) -> list[dict[str, Any]]:
    """One Z report by number, or (number None) every Z report of the till, newest first."""
    query = f"SELECT {', '.join(Z_REPORT_COLUMNS)} FROM z_report WHERE till_id = ?"
    params: list[Any] = [till_id]
    if number is not None:
        query += " AND z_number = ?"
        params.append(number)
    rows = conn.execute(query + " ORDER BY z_number DESC", params)
    return [codec.row_record("shift_close", row) for row in rows]


def unapproved_paid_out(conn: sqlite3.Connection, shift_uuid: str) -> int:
    """What a shift's paid-outs without a manager's approval add up to."""
    return conn.execute("SELECT COALESCE(SUM(amount), 0) FROM cash_movement WHERE shift_uuid = ? "
                        "AND kind = 'paid_out' AND approved_by IS NULL", (shift_uuid,)).fetchone()[0]


def last_audit_entries(conn: sqlite3.Connection, count: int) -> list[dict[str, Any]]:
    """The newest `count` audit entries, oldest first (for `tui-pos audit show`)."""
    names = ("seq", "at", "till_id", "action", "actor", "approved_by", "subject", "amount")
    rows = conn.execute(f"SELECT {', '.join(names)} FROM audit ORDER BY seq DESC LIMIT ?", (count,)).fetchall()
    return [dict(zip(names, row)) for row in reversed(rows)]
