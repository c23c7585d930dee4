"""The till's commit order: table commit_log, one row per record in the order records entered SQLite.

    commit_log(commit_seq INTEGER PRIMARY KEY, uuid TEXT NOT NULL UNIQUE, type TEXT NOT NULL,
               record TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL)

db.insert_record appends the row in the record's own transaction, so records committed directly
and records replayed from the journal are numbered alike, in the order they enter SQLite; the
record column is the canonical JSON of the record dict as committed (domain/commits.py: the
hash chains it). Entries the store appends to the audit log by itself (table states, replays,
anchor notes, configuration digests) are not records and have no commit.

Records only in the journal (SQLite failing) get, in StoreView.commits_after, the numbers and
hashes replay will give them: while the journal has a backlog every new record goes to the journal
and replay inserts in journal order, after the last SQLite commit. With SQLite unreadable that
commit is the audit anchor's (last(): written after each COMMIT, so it can lag, never lead; the
first record journaled spreads it to every anchor copy), and push trusts it only when HQ's last
commit from this till has the same number and hash (sync/push.py).

A floor (meta key FLOOR_KEY, raised by a restore as the receipt numbers' floors are)
keeps commit numbers from being used twice when an older backup is restored: the next commit
follows the floor, its prev_hash the last commit this database holds (a chain break HQ stores and
reports, never a number reused for another record).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from typing import Any

from tui_pos.domain.commits import GENESIS, canonical_json, commit_hash, envelope
from tui_pos.domain.errors import N_, Said
from tui_pos.domain.records import USER_ACTIONS
from tui_pos.store import audit, codec

# meta: commit numbers up to it were used (by a database restored over). Not a "floor:" key: those are
# the receipt, shift and Z numbers the anchor keeps (db.number_floors)
FLOOR_KEY = "commit_floor"
# audit entries the store appends by itself, never records committed (so never in commit_log)
STORE_ENTRIES = ("table_state", "anchor_mismatch", "replay", "journal_rejected", "config_change")

_CREATE = ("CREATE TABLE IF NOT EXISTS commit_log (commit_seq INTEGER PRIMARY KEY, uuid TEXT NOT NULL UNIQUE, "
           "type TEXT NOT NULL, record TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL)")
_INSERT = "INSERT INTO commit_log (commit_seq, uuid, type, record, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?)"


def create_table(conn: sqlite3.Connection) -> None:
    conn.execute(_CREATE)


def head(conn: sqlite3.Connection) -> tuple[int, str]:
    """(number, hash) the next commit follows: the last commit's (its number raised to the floor),
    (0, GENESIS) for none."""
    row = conn.execute("SELECT commit_seq, hash FROM commit_log ORDER BY commit_seq DESC LIMIT 1").fetchone()
    floor = conn.execute("SELECT value FROM meta WHERE key = ?", (FLOOR_KEY,)).fetchone()
    seq, digest = (row[0], row[1]) if row else (0, GENESIS)
    return max(seq, int(floor[0]) if floor else 0), digest


def last(conn: sqlite3.Connection) -> list[Any]:
    """[number, hash, uuid] of the head (head()), uuid that of the last commit (None: none, or the
    number raised to a floor past it): what the audit anchor keeps of the commit order."""
    seq, digest = head(conn)
    row = conn.execute("SELECT uuid FROM commit_log WHERE commit_seq = ?", (seq,)).fetchone()
    return [seq, digest, row[0] if row else None]


def highest(conn: sqlite3.Connection) -> int:
    """The highest commit number this database holds (0: none), floors not counted."""
    return conn.execute("SELECT COALESCE(MAX(commit_seq), 0) FROM commit_log").fetchone()[0]


def append(conn: sqlite3.Connection, record: dict[str, Any]) -> tuple[int, str]:
    """The record's commit, in the caller's transaction; its (number, hash)."""
    seq, prev = head(conn)
    text = canonical_json(record)
    digest = commit_hash(prev, text)
    conn.execute(_INSERT, (seq + 1, record["uuid"], codec.record_type(record), text, prev, digest))
    return seq + 1, digest


def after(conn: sqlite3.Connection, commit_seq: int, limit: int) -> list[dict[str, Any]]:
    """The envelopes of the commits after commit_seq, in order, at most limit."""
    rows = conn.execute("SELECT commit_seq, prev_hash, hash, record FROM commit_log WHERE commit_seq > ? "
                        "ORDER BY commit_seq LIMIT ?", (commit_seq, limit))
    return [envelope(n, prev, digest, json.loads(text)) for n, prev, digest, text in rows]


def records_by_audit(conn: sqlite3.Connection, after_seq: int = 0, *, skip: Iterable[str] = STORE_ENTRIES,
                     user_changes: bool = True) -> list[dict[str, Any]]:
    """The records the audit log chained after entry after_seq, in chain order, read back from
    their rows (events from their entries): a user change as its user_change record, or (False)
    as the event its entry is. Entries of the actions in skip are left out."""
    skipped = set(skip)
    records = []
    for uuid, action, till_id, at, actor, approved_by, subject, amount, detail in conn.execute(
            "SELECT uuid, action, till_id, at, actor, approved_by, subject, amount, detail FROM audit "
            "WHERE seq > ? ORDER BY seq", (after_seq,)).fetchall():
        if action in skipped:
            continue
        kind = audit.RECORD_ACTIONS.get(action) or ("user_change" if user_changes and action in USER_ACTIONS else None)
        record: dict[str, Any] | None
        if kind is not None:
            record = codec.load_record(conn, kind, uuid)
        else:
            record = {"type": "event", "uuid": uuid, "till_id": till_id, "at": at, "action": action, "actor": actor,
                      "approved_by": approved_by, "subject": subject, "amount": amount,
                      "detail": json.loads(detail or "{}")}
        if record is not None:
            records.append(record)
    return records


def backfill(conn: sqlite3.Connection) -> None:
    """Number the records of a database made before commit_log, in audit-chain order (the order
    they were committed in); the caller holds the transaction."""
    seen: set[str] = {u for (u,) in conn.execute("SELECT uuid FROM commit_log")}
    for record in records_by_audit(conn):
        if record["uuid"] not in seen:  # a record's entry is once in the chain; events' too
            seen.add(record["uuid"])
            append(conn, record)


def problems(conn: sqlite3.Connection, limit: int = 20) -> list[str]:
    """What is wrong with the commit order (for audit verify; each a Said): a commit that is not the hash of its
    record after the commit before it (edited, reordered or deleted commits), numbers skipped past
    the floor a restore set, stored records without a commit. [] for a database without one yet."""
    if conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'commit_log'").fetchone() is None:
        return []
    found: list[str] = []
    floor_row = conn.execute("SELECT value FROM meta WHERE key = ?", (FLOOR_KEY,)).fetchone()
    floor = int(floor_row[0]) if floor_row else 0
    last, prev = 0, GENESIS
    for n, prev_hash, digest, text in conn.execute("SELECT commit_seq, prev_hash, hash, record FROM commit_log "
                                                   "ORDER BY commit_seq"):
        if n != last + 1 and not last < floor < n:  # a restore's floor: the numbers the replaced database used
            found.append(Said(N_("commits {first}-{last} are missing (deleted)"), first=last + 1, last=n - 1))
        if prev_hash != prev or digest != commit_hash(prev_hash, text):
            found.append(Said(N_("commit {n} was modified, or does not follow the commit before it"), n=n))
        last, prev = n, digest
        if len(found) >= limit:
            return found
    for table in audit.RECORD_TABLES.values():
        for (uuid,) in conn.execute(f"SELECT uuid FROM {table} EXCEPT SELECT uuid FROM commit_log LIMIT ?",
                                    (limit - len(found),)):
            found.append(Said(N_("{table} {uuid} has no commit (its commit was deleted)"), table=table, uuid=uuid))
    return found[:limit]
