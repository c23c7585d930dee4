"""Records <-> SQLite rows, in one place: which tables and columns each record type is stored in,
how its rows are written, and how it is read back as the record it was.

A record reaches the store typed (tui_pos.domain.records) or as its dict (to_record(), a journal
line); as_dict() and as_record() turn either into the other at the boundary. The rows are made
from the dict form, the one the journal has always carried, so journal lines written by any
version replay exactly as they were written.

"Digest rows" are the rows of a record as its audit entry's digest covers them, with the values
exactly as SQLite returns them (store/audit.py). They never change for a record once stored:
columns added later (a sale's approved_by) are outside them (the audit entry carries its own
copy of who approved). Audit entries and the anchor are not written here (store/db.py
insert_record appends them in the same transaction).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from tui_pos.domain.auth import NameTaken, NoSuchUser
from tui_pos.domain.records import USER_ACTIONS, Record, UserChanged, record_from_dict, record_type
from tui_pos.domain.stock import MOVE_KINDS
from tui_pos.store import payments, stock_daily, stock_level
from tui_pos.store.payments import PAYMENT_ATTEMPT_COLUMNS, PAYMENT_OUTCOME_COLUMNS

__all__ = ["as_dict", "as_record", "insert", "load", "load_record", "load_sale_record", "record_numbers",
           "record_type", "row_record", "sale_rows", "stored_rows", "stored_sale_rows"]

RecordLike = Record | Mapping[str, Any]

SALE_COLUMNS = (  # the sale row as its digest covers it
    "uuid", "receipt", "till_id", "seq", "cashier", "opened_at", "completed_at", "currency",
    "tax_included", "gross", "discount", "tax", "total", "rounding", "paid", "change",
    "kind", "original_uuid", "original_receipt", "shift_uuid", "reason",
)
SALE_EXTRA_COLUMNS = ("approved_by",)  # stored, outside the digest (migration sale_approved_by)
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
STOCK_MOVE_COLUMNS = ("uuid", "till_id", "at", "kind", "barcode", "qty", "expected", "counted", "unit_cost", "reason",
                      "supplier", "reference", "peer", "batch", "actor", "approved_by")
AUDIT_EVENT_COLUMNS = ("uuid", "till_id", "at", "action", "actor", "approved_by", "subject", "amount", "detail")

# record type -> (table, columns) for the records stored as one row of their own table
ROW_TABLES = {
    "shift_open": ("shift", SHIFT_COLUMNS),
    "cash_movement": ("cash_movement", CASH_MOVEMENT_COLUMNS),
    "shift_close": ("z_report", Z_REPORT_COLUMNS),
    "stock_move": ("stock_move", STOCK_MOVE_COLUMNS),
    "payment_attempt": ("payment_attempt", PAYMENT_ATTEMPT_COLUMNS),
    "payment_outcome": ("payment_outcome", PAYMENT_OUTCOME_COLUMNS),
}
# record type -> the tables whose table_state entry must follow the record's change (audit.COVERED_TABLES)
COVERS = {"user_change": ("user",)}
# record type -> the counter a record uses (ledger numbering, anchor floors)
NUMBER_COLUMNS = {"sale": "seq", "shift_open": "number", "shift_close": "z_number"}
# an audit entry's action -> the type of the record whose rows it covers (entries of other actions are events)
RECORD_ACTIONS = {"sale": "sale", "refund": "sale", "void": "sale", "shift_open": "shift_open",
                  "paid_in": "cash_movement", "paid_out": "cash_movement", "z_report": "shift_close",
                  **{f"stock_{kind}": "stock_move" for kind in MOVE_KINDS},
                  "payment_attempt": "payment_attempt", "payment_outcome": "payment_outcome"}

_SALE_STORED = SALE_COLUMNS + SALE_EXTRA_COLUMNS
_INSERT_SALE = (
    f"INSERT INTO sale ({', '.join(_SALE_STORED)}, stored_via) VALUES ({', '.join('?' * len(_SALE_STORED))}, ?)"
)
_INSERT_LINE = (
    f"INSERT INTO sale_line (sale_uuid, {', '.join(LINE_COLUMNS)}) VALUES (?{', ?' * len(LINE_COLUMNS)})"
)
_INSERT_TENDER = "INSERT INTO tender (sale_uuid, tender_no, kind, amount, reference) VALUES (?, ?, ?, ?, ?)"
_INSERT_MOVEMENT = "INSERT INTO stock_movement (sale_uuid, barcode, qty_delta, at) VALUES (?, ?, ?, ?)"
# product.stock from before the migration stock_level (held, not a record yet: store/stock_level.py) goes
# down with sales until the till records it as the opening count, so the product table's digest
# (stock + sold: db.covered_rows) stays as it was; stock on hand never reads it
_UPDATE_STOCK = "UPDATE product SET stock = stock - ? WHERE barcode = ? AND stock IS NOT NULL"
_INSERT_PRINT_JOB = "INSERT INTO print_job (sale_uuid, kind, state, created_at) VALUES (?, 'receipt', 'pending', ?)"
_SALE_DEFAULTS = {"kind": "sale", "original_uuid": None, "original_receipt": None, "shift_uuid": None, "reason": None,
                  "approved_by": None}
_USER_ACTIONS_SQL = ", ".join(f"'{a}'" for a in USER_ACTIONS)
_NOT_EVENTS_SQL = ", ".join(f"'{a}'" for a in (*USER_ACTIONS, *RECORD_ACTIONS))


# -- the boundary ------------------------------------------------------------------------------------
def as_dict(record: RecordLike) -> dict[str, Any]:
    """The dict form (what a journal line carries) of a typed record; a dict is taken as it is."""
    if isinstance(record, dict):
        return record
    if isinstance(record, Mapping):
        return dict(record)
    return record.to_record()


def as_record(record: RecordLike) -> Record:
    """The typed record of a dict (KeyError, ValueError or a PosError when it cannot be one)."""
    return record_from_dict(record) if isinstance(record, Mapping) else record


def record_numbers(record: RecordLike) -> dict[str, int]:
    """The number a record uses, keyed as db.number_floors() keys it ({} for unnumbered records)."""
    record = as_dict(record)
    column = NUMBER_COLUMNS.get(record_type(record))
    return {f"floor:{record['till_id']}:{column}": int(record[column])} if column else {}


# -- writing -----------------------------------------------------------------------------------------
def sale_rows(record: Mapping[str, Any]) -> list[list[Any]]:
    """The digest rows of a sale (sale, lines..., tenders...)."""
    uuid = record["uuid"]
    sale = [record.get(c, _SALE_DEFAULTS.get(c)) for c in SALE_COLUMNS]
    sale[SALE_COLUMNS.index("tax_included")] = int(sale[SALE_COLUMNS.index("tax_included")])
    lines = [[uuid] + [int(l[c]) if c == "voided" else l[c] for c in LINE_COLUMNS] for l in record["lines"]]
    tenders = [[uuid, n, t["kind"], t["amount"], t["reference"]] for n, t in enumerate(record["tenders"], 1)]
    return [sale, *lines, *tenders]


def insert(conn: sqlite3.Connection, record: RecordLike, stored_via: str) -> list[list[Any]]:
    """Write every row of one record (and what it adds to stock_daily); return its digest rows. The caller owns the transaction
    (and appends the audit entries: db.insert_record). KeyError: an unknown record type."""
    record = as_dict(record)
    kind = record_type(record)
    if kind not in _INSERTERS:
        raise KeyError(f"unknown record type {kind!r}")
    rows = _INSERTERS[kind](conn, record, stored_via)
    stock_daily.add(conn, record)  # a sale's or a stock movement's products' day (store/stock_daily.py)
    stock_level.add(conn, record)  # and their stock on hand (store/stock_level.py)
    payments.settle(conn, record)  # a sale's code payments: do they still need someone (store/payments.py)
    return rows


def _insert_sale(conn: sqlite3.Connection, record: dict[str, Any], stored_via: str) -> list[list[Any]]:
    """A sale, refund or void: its rows, stock movements (a refund puts stock back) and receipt job."""
    rows = sale_rows(record)
    n_lines = len(record["lines"])
    conn.execute(_INSERT_SALE, rows[0] + [record.get(c) for c in SALE_EXTRA_COLUMNS] + [stored_via])
    conn.executemany(_INSERT_LINE, rows[1:1 + n_lines])
    conn.executemany(_INSERT_TENDER, rows[1 + n_lines:])
    uuid = record["uuid"]
    sold = [line for line in record["lines"] if not line["voided"]]
    conn.executemany(_INSERT_MOVEMENT, [(uuid, l["barcode"], -l["qty"], record["completed_at"]) for l in sold])
    conn.executemany(_UPDATE_STOCK, [(l["qty"], l["barcode"]) for l in sold])
    conn.execute(_INSERT_PRINT_JOB, (uuid, record["completed_at"]))
    return rows


def _insert_row(table: str, columns: tuple[str, ...]) -> Callable[[sqlite3.Connection, dict[str, Any], str],
                                                                     list[list[Any]]]:
    statement = f"INSERT INTO {table} ({', '.join(columns)}, stored_via) VALUES ({', '.join('?' * len(columns))}, ?)"

    def insert_row(conn: sqlite3.Connection, record: dict[str, Any], stored_via: str) -> list[list[Any]]:
        row = [json.dumps(record[c], sort_keys=True) if c == "report" else record[c] for c in columns]
        conn.execute(statement, row + [stored_via])
        return [row]

    return insert_row


def _insert_user_change(conn: sqlite3.Connection, record: dict[str, Any], stored_via: str) -> list[list[Any]]:
    """The user row a user change sets: user_add adds an active user (NameTaken when the name is
    taken in any case: names are never reused, the audit log names people; 'Demo' is demo); the
    others change one (NoSuchUser). No digest rows: the user table's table_state entry covers it
    (db.insert_record appends it before the change's own entry)."""
    change = UserChanged.from_record(record)
    if change.action == "user_add":
        taken = next((t for (t,) in conn.execute("SELECT name FROM user") if t.casefold() == change.name.casefold()),
                     None)
        if taken is not None:
            raise NameTaken(taken)
        conn.execute("INSERT INTO user (name, role, pin_hash, active) VALUES (?, ?, ?, 1)",
                     (change.name, change.role, change.pin_hash))
        return []
    column, value = ("pin_hash", change.pin_hash) if change.action == "user_set_pin" else \
        ("active", int(bool(change.active)))
    if conn.execute(f"UPDATE user SET {column} = ? WHERE name = ?", (value, change.name)).rowcount != 1:
        raise NoSuchUser(change.name)
    return []


_INSERTERS: dict[str, Callable[[sqlite3.Connection, dict[str, Any], str], list[list[Any]]]] = {
    "sale": _insert_sale,
    "event": lambda conn, record, stored_via: [],  # only its audit entry
    "user_change": _insert_user_change,
    **{kind: _insert_row(table, columns) for kind, (table, columns) in ROW_TABLES.items()},
}


# -- reading back ------------------------------------------------------------------------------------
def stored_sale_rows(conn: sqlite3.Connection, uuid: str) -> list[list[Any]]:
    """sale_rows() as read back from the database (for audit verification)."""
    sale = conn.execute(f"SELECT {', '.join(SALE_COLUMNS)} FROM sale WHERE uuid = ?", (uuid,)).fetchall()
    lines = conn.execute(f"SELECT sale_uuid, {', '.join(LINE_COLUMNS)} FROM sale_line WHERE sale_uuid = ? "
                         "ORDER BY line_no", (uuid,)).fetchall()
    tenders = conn.execute("SELECT sale_uuid, tender_no, kind, amount, reference FROM tender WHERE sale_uuid = ? "
                           "ORDER BY tender_no", (uuid,)).fetchall()
    return [list(row) for row in (*sale, *lines, *tenders)]


def stored_rows(conn: sqlite3.Connection, record_type_: str, uuid: str) -> list[list[Any]]:
    """The digest rows a record of this type was stored as ([] for records that are only an audit entry)."""
    if record_type_ == "sale":
        return stored_sale_rows(conn, uuid)
    if record_type_ not in ROW_TABLES:
        return []
    table, columns = ROW_TABLES[record_type_]
    return [list(r) for r in conn.execute(f"SELECT {', '.join(columns)} FROM {table} WHERE uuid = ?", (uuid,))]


def approval_matches(conn: sqlite3.Connection, uuid: str, approved_by: str | None) -> bool:
    """Does the stored sale say approved_by approved it (as its audit entry says)? True for a
    database from before the column (nothing to compare)."""
    try:
        row = conn.execute("SELECT approved_by FROM sale WHERE uuid = ?", (uuid,)).fetchone()
    except sqlite3.OperationalError:
        return True
    return row is None or row[0] == approved_by


def load_sale_record(conn: sqlite3.Connection, uuid: str, *, extra: bool = True) -> dict[str, Any] | None:
    """The sale as Sale.to_record() made it (the format journal lines carry), or None. extra
    False, or a database whose migrations have not run (read read-only by status or from a
    backup): without the columns added by named migrations."""
    columns = _SALE_STORED if extra else SALE_COLUMNS
    try:
        row = conn.execute(f"SELECT {', '.join(columns)} FROM sale WHERE uuid = ?", (uuid,)).fetchone()
    except sqlite3.OperationalError as err:  # a database not migrated yet, read read-only (status, a backup)
        if not extra or "no such column" not in str(err):
            raise
        return load_sale_record(conn, uuid, extra=False)
    if row is None:
        return None
    record = dict(zip(columns, row))
    record["tax_included"] = bool(record["tax_included"])
    lines = conn.execute(f"SELECT {', '.join(LINE_COLUMNS)} FROM sale_line WHERE sale_uuid = ? ORDER BY line_no",
                         (uuid,))
    record["lines"] = [{**dict(zip(LINE_COLUMNS, line)), "voided": bool(line[-1])} for line in lines]
    tenders = conn.execute(
        f"SELECT {', '.join(TENDER_COLUMNS)} FROM tender WHERE sale_uuid = ? ORDER BY tender_no", (uuid,)
    )
    record["tenders"] = [dict(zip(TENDER_COLUMNS, t)) | {"reference": t[2] or ""} for t in tenders]
    return record


def _load_event(conn: sqlite3.Connection, uuid: str, actions_sql: str) -> dict[str, Any] | None:
    row = conn.execute(f"SELECT {', '.join(AUDIT_EVENT_COLUMNS)} FROM audit WHERE uuid = ? AND action {actions_sql} "
                       "ORDER BY seq LIMIT 1", (uuid,)).fetchone()
    if row is None:
        return None
    record = {"type": "event", **dict(zip(AUDIT_EVENT_COLUMNS, row))}
    record["detail"] = json.loads(record["detail"] or "{}")
    return record


def _load_user_change(conn: sqlite3.Connection, uuid: str) -> dict[str, Any] | None:
    """A user change as its audit entry recorded it. Its PIN hash is the person's hash as stored
    now (the database keeps no superseded hashes): the one it set while no later change set another."""
    event = _load_event(conn, uuid, f"IN ({_USER_ACTIONS_SQL})")
    if event is None:
        return None
    detail = dict(event["detail"])
    role = detail.pop("role", None) if event["action"] == "user_add" else None
    pin_hash = None
    if event["action"] in ("user_add", "user_set_pin"):
        found = conn.execute("SELECT pin_hash FROM user WHERE name = ?", (event["subject"],)).fetchone()
        pin_hash = found[0] if found else None
    return {"type": "user_change", "uuid": uuid, "till_id": event["till_id"], "at": event["at"],
            "action": event["action"], "name": event["subject"], "actor": event["actor"],
            "approved_by": event["approved_by"], "role": role, "pin_hash": pin_hash, "detail": detail}


def load_record(conn: sqlite3.Connection, record_type_: str, uuid: str) -> dict[str, Any] | None:
    """Any stored record as the ledger took it (the format journal lines carry), or None."""
    if record_type_ == "sale":
        return load_sale_record(conn, uuid)
    if record_type_ == "event":
        return _load_event(conn, uuid, f"NOT IN ({_NOT_EVENTS_SQL})")
    if record_type_ == "user_change":
        return _load_user_change(conn, uuid)
    table, columns = ROW_TABLES[record_type_]
    row = conn.execute(f"SELECT {', '.join(columns)} FROM {table} WHERE uuid = ?", (uuid,)).fetchone()
    return row_record(record_type_, row) if row is not None else None


def row_record(record_type_: str, row: Sequence[Any]) -> dict[str, Any]:
    """The record (its dict) of a row of a one-row record type (ROW_TABLES), its columns selected
    in ROW_TABLES' order: for queries that find such records by more than their uuid."""
    record = {"type": record_type_, **dict(zip(ROW_TABLES[record_type_][1], row))}
    if "report" in record:
        record["report"] = json.loads(record["report"])
    return record


def load(conn: sqlite3.Connection, record_type_: str, uuid: str) -> Record | None:
    """Any stored record, typed, or None."""
    found = load_record(conn, record_type_, uuid)
    return record_from_dict(found) if found is not None else None
