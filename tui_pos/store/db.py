"""SQLite: connection settings, schema, and the statements that write and read sale records.

WAL + synchronous=FULL: one fdatasync of the WAL per commit and no acknowledged commit lost at
a power cut (tests/durability/test_power_loss.py proves it; NORMAL loses commits). The schema is
created with sqlite-utils, imported only when the schema version is behind.
"""

from __future__ import annotations

import json
import os
import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

from tui_pos.domain.auth import NameTaken, NoSuchUser
from tui_pos.store import audit
from tui_pos.store.crash import crash_point

SCHEMA_VERSION = 2
SALE_COLUMNS = (
    "uuid", "receipt", "till_id", "seq", "cashier", "opened_at", "completed_at", "currency",
    "tax_included", "gross", "discount", "tax", "total", "rounding", "paid", "change",
    "kind", "original_uuid", "original_receipt", "shift_uuid", "reason",
)
SALE_KINDS = ("sale", "refund", "void")  # refunds and voids are linked reversals, never edits
LINE_COLUMNS = (
    "line_no", "barcode", "name", "qty", "unit_price", "line_discount", "order_discount",
    "tax_code", "rate_bp", "tax", "total", "voided",
)
TENDER_COLUMNS = ("kind", "amount", "reference")
SHIFT_COLUMNS = ("uuid", "till_id", "number", "opened_at", "opened_by", "float")
CASH_MOVEMENT_COLUMNS = ("uuid", "shift_uuid", "till_id", "kind", "amount", "reason", "user", "approved_by", "at")
Z_REPORT_COLUMNS = ("uuid", "shift_uuid", "till_id", "z_number", "closed_at", "closed_by", "approved_by",
                    "counted", "expected", "difference", "report")
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
    """Create the tables, or migrate an older database in one transaction."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version >= SCHEMA_VERSION:
        return
    import sqlite_utils  # lazy: 100 ms of imports, needed only to create or migrate

    with transaction(conn):
        _create_tables(sqlite_utils.Database(conn))
        if version == 1:
            audit.backfill(conn, [(record, stored_sale_rows(conn, uuid)) for (uuid,) in
                                  conn.execute("SELECT uuid FROM sale ORDER BY completed_at, seq").fetchall()
                                  if (record := load_sale_record(conn, uuid)) is not None])
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def _create_tables(db: Any) -> None:
    """Every table, created if missing, and the columns schema 2 added to a schema 1 sale."""
    db["meta"].create({"key": str, "value": str}, pk="key", if_not_exists=True)
    db["product"].create(
        {"barcode": str, "name": str, "price": int, "tax_code": str, "department": str,
         "open_price": int, "stock": int, "updated_at": str},
        pk="barcode", not_null=["name", "price", "tax_code"], if_not_exists=True,
    )
    sale_types = {**{c: str for c in SALE_COLUMNS},
                  **{c: int for c in ("seq", "tax_included", "gross", "discount", "tax", "total", "rounding", "paid",
                                      "change")},
                  "stored_via": str, "recorded_at": str}
    db["sale"].create(sale_types, pk="uuid", not_null=["receipt", "till_id", "seq", "total"], if_not_exists=True,
                      defaults={"recorded_at": "CURRENT_TIMESTAMP", "kind": "sale"})
    for column in ("kind", "original_uuid", "original_receipt", "shift_uuid", "reason"):  # added by schema 2
        if column not in db["sale"].columns_dict:
            db["sale"].add_column(column, str, not_null_default="sale" if column == "kind" else None)
    db["sale"].create_index(["receipt"], unique=True, if_not_exists=True)
    db["sale"].create_index(["till_id", "seq"], unique=True, if_not_exists=True)
    db["sale"].create_index(["completed_at"], if_not_exists=True)
    db["sale"].create_index(["shift_uuid"], if_not_exists=True)
    # only refunds and voids have an original: a partial index costs ordinary sales nothing
    db.execute("CREATE INDEX IF NOT EXISTS idx_sale_original_uuid ON sale (original_uuid) "
               "WHERE original_uuid IS NOT NULL")
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
    db["shift"].create(
        {"uuid": str, "till_id": str, "number": int, "opened_at": str, "opened_by": str, "float": int,
         "stored_via": str},
        pk="uuid", not_null=["till_id", "number", "opened_at", "float"], if_not_exists=True,
    )
    db["shift"].create_index(["till_id", "number"], unique=True, if_not_exists=True)
    db["cash_movement"].create(
        {**{c: str for c in CASH_MOVEMENT_COLUMNS}, "amount": int, "stored_via": str},
        pk="uuid", not_null=["shift_uuid", "kind", "amount"], if_not_exists=True,
    )
    db["cash_movement"].create_index(["shift_uuid"], if_not_exists=True)
    db["z_report"].create(
        {**{c: str for c in Z_REPORT_COLUMNS}, **{c: int for c in ("z_number", "counted", "expected", "difference")},
         "stored_via": str},
        pk="uuid", not_null=["shift_uuid", "till_id", "z_number", "report"], if_not_exists=True,
    )
    db["z_report"].create_index(["shift_uuid"], unique=True, if_not_exists=True)
    db["z_report"].create_index(["till_id", "z_number"], unique=True, if_not_exists=True)
    audit.create_table(db)


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
    return bool(conn.execute("SELECT EXISTS (SELECT 1 FROM sale) OR EXISTS (SELECT 1 FROM shift) "
                             "OR EXISTS (SELECT 1 FROM cash_movement)").fetchone()[0])


def record_type(record: dict[str, Any]) -> str:
    """What a ledger record is: 'sale' (sales, refunds and voids), 'shift_open', 'cash_movement',
    'shift_close' or 'event' (audited only). Journal lines written before schema 2 are sales."""
    return record.get("type", "sale")


def insert_record(conn: sqlite3.Connection, record: dict[str, Any], stored_via: str,
                  audit_head: tuple[int, str] | None = None) -> tuple[int, str]:
    """Every row of one record, and its audit entries at the head of the chain; returns the new
    head (replay passes it to the next record instead of reading it again).

    The caller owns the transaction; all of this commits or none of it does.
    """
    kind = record_type(record)
    if kind not in _INSERTERS:
        raise KeyError(f"unknown record type {kind!r}")
    rows = _INSERTERS[kind](conn, record, stored_via)
    return audit.append(conn, audit.entries_for(record, rows), audit_head)


def sale_rows(record: dict[str, Any]) -> list[list[Any]]:
    """The rows a sale is stored as, in table order (sale, lines..., tenders...), with the values
    exactly as SQLite returns them: what the audit digest covers."""
    uuid = record["uuid"]
    sale = [record.get(c, _SALE_DEFAULTS.get(c)) for c in SALE_COLUMNS]
    sale[SALE_COLUMNS.index("tax_included")] = int(sale[SALE_COLUMNS.index("tax_included")])
    lines = [[uuid] + [int(l[c]) if c == "voided" else l[c] for c in LINE_COLUMNS] for l in record["lines"]]
    tenders = [[uuid, n, t["kind"], t["amount"], t["reference"]] for n, t in enumerate(record["tenders"], 1)]
    return [sale, *lines, *tenders]


def stored_sale_rows(conn: sqlite3.Connection, uuid: str) -> list[list[Any]]:
    """sale_rows() as read back from the database (for audit verification)."""
    sale = conn.execute(f"SELECT {', '.join(SALE_COLUMNS)} FROM sale WHERE uuid = ?", (uuid,)).fetchall()
    lines = conn.execute(f"SELECT sale_uuid, {', '.join(LINE_COLUMNS)} FROM sale_line WHERE sale_uuid = ? "
                         "ORDER BY line_no", (uuid,)).fetchall()
    tenders = conn.execute("SELECT sale_uuid, tender_no, kind, amount, reference FROM tender WHERE sale_uuid = ? "
                           "ORDER BY tender_no", (uuid,)).fetchall()
    return [list(row) for row in (*sale, *lines, *tenders)]


_SALE_DEFAULTS = {"kind": "sale", "original_uuid": None, "original_receipt": None, "shift_uuid": None, "reason": None}


def _insert_sale(conn: sqlite3.Connection, record: dict[str, Any], stored_via: str) -> list[list[Any]]:
    """A sale, refund or void: its rows, stock movements (a refund puts stock back) and receipt job."""
    rows = sale_rows(record)
    n_lines = len(record["lines"])
    conn.execute(_INSERT_SALE, rows[0] + [stored_via])
    conn.executemany(_INSERT_LINE, rows[1:1 + n_lines])
    conn.executemany(_INSERT_TENDER, rows[1 + n_lines:])
    uuid = record["uuid"]
    sold = [line for line in record["lines"] if not line["voided"]]
    conn.executemany(_INSERT_MOVEMENT, [(uuid, l["barcode"], -l["qty"], record["completed_at"]) for l in sold])
    conn.executemany(_UPDATE_STOCK, [(l["qty"], l["barcode"]) for l in sold])
    conn.execute(_INSERT_PRINT_JOB, (uuid, record["completed_at"]))
    return rows


def _insert_row(table: str, columns: tuple[str, ...]) -> Callable[[sqlite3.Connection, dict[str, Any], str], list[list[Any]]]:
    statement = f"INSERT INTO {table} ({', '.join(columns)}, stored_via) VALUES ({', '.join('?' * len(columns))}, ?)"

    def insert(conn: sqlite3.Connection, record: dict[str, Any], stored_via: str) -> list[list[Any]]:
        row = [json.dumps(record[c], sort_keys=True) if c == "report" else record[c] for c in columns]
        conn.execute(statement, row + [stored_via])
        return [row]

    return insert


def stored_rows(conn: sqlite3.Connection, record_type_: str, uuid: str) -> list[list[Any]]:
    """The rows a record of this type was stored as (what its audit digest covers)."""
    if record_type_ == "sale":
        return stored_sale_rows(conn, uuid)
    if record_type_ == "event":
        return []
    table, columns = _ROW_TABLES[record_type_]
    return [list(r) for r in conn.execute(f"SELECT {', '.join(columns)} FROM {table} WHERE uuid = ?", (uuid,))]


_ROW_TABLES = {
    "shift_open": ("shift", SHIFT_COLUMNS),
    "cash_movement": ("cash_movement", CASH_MOVEMENT_COLUMNS),
    "shift_close": ("z_report", Z_REPORT_COLUMNS),
}
_INSERTERS: dict[str, Callable[[sqlite3.Connection, dict[str, Any], str], list[list[Any]]]] = {
    "sale": _insert_sale,
    "event": lambda conn, record, stored_via: [],
    "user_change": lambda conn, record, stored_via: write_user_change(conn, record),
    **{kind: _insert_row(table, columns) for kind, (table, columns) in _ROW_TABLES.items()},
}


def load_sale_record(conn: sqlite3.Connection, uuid: str) -> dict[str, Any] | None:
    """The sale as Sale.to_record() made it (the format journal lines carry), or None."""
    row = conn.execute(f"SELECT {', '.join(SALE_COLUMNS)} FROM sale WHERE uuid = ?", (uuid,)).fetchone()
    if row is None:
        return None
    record = dict(zip(SALE_COLUMNS, row))
    record["tax_included"] = bool(record["tax_included"])
    lines = conn.execute(f"SELECT {', '.join(LINE_COLUMNS)} FROM sale_line WHERE sale_uuid = ? ORDER BY line_no",
                         (uuid,))
    record["lines"] = [{**dict(zip(LINE_COLUMNS, line)), "voided": bool(line[-1])} for line in lines]
    tenders = conn.execute(
        f"SELECT {', '.join(TENDER_COLUMNS)} FROM tender WHERE sale_uuid = ? ORDER BY tender_no", (uuid,)
    )
    record["tenders"] = [dict(zip(TENDER_COLUMNS, t)) | {"reference": t[2] or ""} for t in tenders]
    return record


def load_record(conn: sqlite3.Connection, record_type_: str, uuid: str) -> dict[str, Any] | None:
    """Any stored record as the ledger took it (the format journal lines carry), or None."""
    if record_type_ == "sale":
        record = load_sale_record(conn, uuid)
        return {"type": "sale", **record} if record else None
    table, columns = _ROW_TABLES[record_type_]
    row = conn.execute(f"SELECT {', '.join(columns)} FROM {table} WHERE uuid = ?", (uuid,)).fetchone()
    if row is None:
        return None
    record = {"type": record_type_, **dict(zip(columns, row))}
    if "report" in record:
        record["report"] = json.loads(record["report"])
    return record


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


def record_numbers(record: dict[str, Any]) -> dict[str, int]:
    """The number a record uses, keyed as number_floors() keys it ({} for events and cash movements)."""
    column = {"sale": "seq", "shift_open": "number", "shift_close": "z_number"}.get(record_type(record))
    return {f"floor:{record['till_id']}:{column}": int(record[column])} if column else {}


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
    rows = conn.execute(f"SELECT {', '.join(PRODUCT_COLUMNS)} FROM product")
    return [dict(zip(PRODUCT_COLUMNS, row)) for row in rows]


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
    rows = [[p[c] for c in PRODUCT_COLUMNS] + [now] for p in products]
    updates = ", ".join(f"{c} = excluded.{c}" for c in PRODUCT_COLUMNS[1:] + ("updated_at",))
    conn.executemany(
        f"INSERT INTO product ({', '.join(PRODUCT_COLUMNS)}, updated_at) "
        f"VALUES ({', '.join('?' * (len(PRODUCT_COLUMNS) + 1))}) "
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
    return {"type": "shift_open", **dict(zip(SHIFT_COLUMNS, row))} if row else None


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
    return [{"type": "shift_close", **dict(zip(Z_REPORT_COLUMNS, row))} | {"report": json.loads(row[-1])}
            for row in rows]


def unapproved_paid_out(conn: sqlite3.Connection, shift_uuid: str) -> int:
    """What a shift's paid-outs without a manager's approval add up to."""
    return conn.execute("SELECT COALESCE(SUM(amount), 0) FROM cash_movement WHERE shift_uuid = ? "
                        "AND kind = 'paid_out' AND approved_by IS NULL", (shift_uuid,)).fetchone()[0]


def write_user_change(conn: sqlite3.Connection, change: dict[str, Any]) -> list[list[Any]]:
    """The user row a user change (a UserChanged record's dict) sets, and the user table's
    table_state entry; insert_record appends the change's own audit entry after it, in the same
    transaction: both or neither. user_add adds an active user (NameTaken when the name is taken
    in any case: names are never reused, the audit log names people; 'Demo' is demo); the others
    change one (NoSuchUser). The caller holds the transaction. Returns no rows: the change's entry
    carries no digest (the table_state entry covers the whole table)."""
    name, action = change["name"], change["action"]
    if action == "user_add":
        taken = next((t for (t,) in conn.execute("SELECT name FROM user") if t.casefold() == name.casefold()), None)
        if taken is not None:
            raise NameTaken(taken)
        conn.execute("INSERT INTO user (name, role, pin_hash, active) VALUES (?, ?, ?, 1)",
                     (name, change["role"], change["pin_hash"]))
    else:
        column, value = ("pin_hash", change["pin_hash"]) if action == "user_set_pin" else \
            ("active", int(action == "user_enable"))
        if conn.execute(f"UPDATE user SET {column} = ? WHERE name = ?", (value, name)).rowcount != 1:
            raise NoSuchUser(name)
    crash_point("user_before_audit")
    cover(conn, "user")
    return []


def last_audit_entries(conn: sqlite3.Connection, count: int) -> list[dict[str, Any]]:
    """The newest `count` audit entries, oldest first (for `tui-pos audit show`)."""
    names = ("seq", "at", "till_id", "action", "actor", "approved_by", "subject", "amount")
    rows = conn.execute(f"SELECT {', '.join(names)} FROM audit ORDER BY seq DESC LIMIT ?", (count,)).fetchall()
    return [dict(zip(names, row)) for row in reversed(rows)]
