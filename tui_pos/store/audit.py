"""The audit log: one hash chain over everything that happened at the till.

Each entry carries the hash of the entry before it, and its own hash covers its position (seq)
and every field, so editing, deleting or reordering entries breaks the chain. An entry for a
stored record (a sale, a refund, a shift, a Z report...) also carries a digest of the rows the
record was stored as, so editing the sale itself is detected too. Entries are appended inside
the transaction that stores their record; journaled records get theirs when replay stores them,
in replay order, so the chain stays one unbroken line.

What a chain inside the database cannot show on its own is the loss of its newest entries
together with their records; verify() therefore also checks receipt numbers for gaps, and every
Z report carries the head of the chain when it was taken.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import uuid as uuid_module
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterable, Sequence

GENESIS = "0" * 64
RECORD_TABLES = {"sale": "sale", "shift_open": "shift", "cash_movement": "cash_movement", "shift_close": "z_report"}
_ACTION_TYPES = {"sale": "sale", "refund": "sale", "void": "sale", "shift_open": "shift_open",
                 "paid_in": "cash_movement", "paid_out": "cash_movement", "z_report": "shift_close"}
EVENTS_ONLY = f"action NOT IN ({', '.join(repr(a) for a in _ACTION_TYPES)})"  # the entries that are events
COLUMNS = ("seq", "uuid", "at", "till_id", "action", "actor", "approved_by", "subject", "amount", "detail")
_INSERT = (f"INSERT INTO audit ({', '.join(COLUMNS)}, prev_hash, hash) "
           f"VALUES ({', '.join('?' * len(COLUMNS))}, ?, ?)")


def create_table(db: Any) -> None:
    """db is a sqlite_utils.Database (only the schema code imports sqlite-utils)."""
    db["audit"].create(
        {"seq": int, **{c: str for c in COLUMNS if c not in ("seq", "amount")}, "amount": int,
         "prev_hash": str, "hash": str},
        pk="seq", not_null=["uuid", "at", "action", "prev_hash", "hash"], if_not_exists=True,
    )
    # Events are only in the audit log: their uuids are indexed here (replay skips what exists).
    # A stored record's uuid is the key of its own table already; indexing it twice would cost
    # every sale one more page written.
    db.execute(f"CREATE UNIQUE INDEX IF NOT EXISTS idx_audit_event_uuid ON audit (uuid) WHERE {EVENTS_ONLY}")


def _canonical(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def digest(rows: Sequence[Sequence[Any]]) -> str:
    """Of the rows a record was stored as (db.sale_rows / db.stored_rows)."""
    return hashlib.sha256(_canonical(rows).encode()).hexdigest()


def entry_hash(prev_hash: str, values: Sequence[Any]) -> str:
    return hashlib.sha256((prev_hash + _canonical(list(values))).encode()).hexdigest()


def entries_for(record: dict[str, Any], rows: Sequence[Sequence[Any]]) -> list[dict[str, Any]]:
    """The audit entries for one record: an event is its own entry; any other record gets one
    entry with the digest of the rows it was stored as."""
    kind = record.get("type", "sale")
    if kind == "event":
        return [{c: record.get(c) for c in COLUMNS if c != "seq"} | {"detail": _canonical(record.get("detail") or {})}]
    detail: dict[str, Any] = {"digest": digest(rows)}
    if kind == "sale":
        sale_kind = record.get("kind", "sale")
        entry = {"action": sale_kind, "at": record["completed_at"], "actor": record["cashier"],
                 "subject": record["receipt"], "amount": record["total"],
                 "approved_by": record.get("approved_by")}
        if record.get("original_uuid"):
            detail["original"] = record["original_uuid"]
        if record.get("shift_uuid"):
            detail["shift"] = record["shift_uuid"]
    elif kind == "shift_open":
        entry = {"action": "shift_open", "at": record["opened_at"], "actor": record["opened_by"],
                 "subject": f"shift {record['number']}", "amount": record["float"], "approved_by": None}
    elif kind == "cash_movement":
        entry = {"action": record["kind"], "at": record["at"], "actor": record["user"],
                 "subject": record["reason"], "amount": record["amount"], "approved_by": record.get("approved_by")}
        detail["shift"] = record["shift_uuid"]
    elif kind == "shift_close":
        entry = {"action": "z_report", "at": record["closed_at"], "actor": record["closed_by"],
                 "subject": f"Z {record['z_number']}", "amount": record["counted"],
                 "approved_by": record.get("approved_by")}
        detail |= {"shift": record["shift_uuid"], "expected": record["expected"], "difference": record["difference"]}
    else:
        raise KeyError(f"unknown record type {kind!r}")
    return [entry | {"uuid": record["uuid"], "till_id": record["till_id"], "detail": _canonical(detail)}]


def event_record(till_id: str, action: str, actor: str | None, *, subject: str | None = None,
                 amount: int | None = None, approved_by: str | None = None,
                 detail: dict[str, Any] | None = None, at: str | None = None) -> dict[str, Any]:
    """A record that is only an audit entry (a login, a failed login, a no-sale, an approval, a
    replay, a configuration change): committed through the ledger like any other record."""
    return {"type": "event", "uuid": str(uuid_module.uuid4()), "till_id": till_id,
            "at": at or datetime.now(timezone.utc).isoformat(timespec="milliseconds"), "action": action,
            "actor": actor, "approved_by": approved_by, "subject": subject, "amount": amount, "detail": detail or {}}


def head(conn: sqlite3.Connection) -> tuple[int, str]:
    """(seq, hash) of the newest entry; (0, GENESIS) for an empty log."""
    row = conn.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    return (row[0], row[1]) if row else (0, GENESIS)


def append(conn: sqlite3.Connection, entries: Iterable[dict[str, Any]],
           at_head: tuple[int, str] | None = None) -> tuple[int, str]:
    """Chain entries onto the head (at_head: the head as the caller already knows it, inside the
    same transaction); return the new head. The caller holds the write transaction."""
    seq, prev = at_head or head(conn)
    for entry in entries:
        seq += 1
        values = [seq] + [entry.get(c) for c in COLUMNS[1:]]
        digest_ = entry_hash(prev, values)
        conn.execute(_INSERT, values + [prev, digest_])
        prev = digest_
    return seq, prev


def backfill(conn: sqlite3.Connection, records: Iterable[dict[str, Any] | None]) -> None:
    """Chain the sales of a database made before the audit log existed (schema 1)."""
    from tui_pos.store import db  # the row layout lives with the schema

    for record in records:
        if record is not None:
            append(conn, entries_for(record, db.stored_sale_rows(conn, record["uuid"])))


@dataclass(frozen=True)
class Problem:
    seq: int | None  # the first audit entry concerned (None: a record with no entry at all)
    what: str


@dataclass(frozen=True)
class Verification:
    entries: int
    records_checked: int
    problems: tuple[Problem, ...]

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first_broken(self) -> Problem | None:
        return self.problems[0] if self.problems else None




def verify(conn: sqlite3.Connection, max_problems: int = 20) -> Verification:
    """Walk the chain; recompute every hash and every stored record's digest; check that every
    stored record has its entry and that receipt numbers have no gaps."""
    from tui_pos.store import db

    problems: list[Problem] = []
    prev, expected_seq, entries, checked = GENESIS, 1, 0, 0
    for row in conn.execute(f"SELECT {', '.join(COLUMNS)}, prev_hash, hash FROM audit ORDER BY seq"):
        entries += 1
        values, prev_hash, stored_hash = list(row[:len(COLUMNS)]), row[-2], row[-1]
        seq = values[0]
        if seq != expected_seq:
            problems.append(Problem(seq, f"entry {expected_seq}{'-' + str(seq - 1) if seq - 1 > expected_seq else ''} "
                                         "is missing (deleted)"))
        elif prev_hash != prev:
            problems.append(Problem(seq, "does not follow the entry before it (entries deleted or reordered)"))
        elif entry_hash(prev_hash, values) != stored_hash:
            problems.append(Problem(seq, f"entry {seq} ({values[4]} {values[7] or ''}) was modified"))
        kind = _ACTION_TYPES.get(values[4])
        if kind is not None:
            checked += 1
            try:
                wanted = json.loads(values[9] or "{}").get("digest")
            except (ValueError, AttributeError):
                wanted = None  # the detail itself was mangled: the entry's hash says so already
            if digest(db.stored_rows(conn, kind, values[1])) != wanted:
                problems.append(Problem(seq, f"the {values[4]} {values[7] or values[1]} it records was modified "
                                             "or deleted"))
        prev, expected_seq = stored_hash, seq + 1
        if len(problems) >= max_problems:
            break
    for table in RECORD_TABLES.values():
        for (uuid,) in conn.execute(f"SELECT uuid FROM {table} EXCEPT SELECT uuid FROM audit LIMIT ?", (max_problems,)):
            problems.append(Problem(None, f"{table} {uuid} has no audit entry (its entry was deleted)"))
    for till_id, seq, gap_to in conn.execute(
            "SELECT till_id, seq, next FROM (SELECT till_id, seq, LEAD(seq) OVER (PARTITION BY till_id ORDER BY seq) "
            "AS next FROM sale) WHERE next > seq + 1 UNION ALL "  # receipts start at 1: a missing first one is a gap too
            "SELECT till_id, 0, MIN(seq) FROM sale GROUP BY till_id HAVING MIN(seq) > 1 LIMIT ?", (max_problems,)):
        problems.append(Problem(None, f"receipts {till_id} {seq + 1}-{gap_to - 1} are missing (deleted sales?)"))
    return Verification(entries, checked, tuple(problems))
