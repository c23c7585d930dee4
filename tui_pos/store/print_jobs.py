"""Print jobs in SQLite, and a print-state log for sales that are only in the journal.

A sale's receipt job is written in the sale's own transaction (db.insert_record: kind 'receipt',
state 'pending'). The queue (tui_pos/printing/queue.py) moves it, one durable statement at a
time, through

    pending -> printing -> printed | failed | uncertain        failed -> printing (retried)

- ``printing`` is written (and synced) before the first byte goes to the printer, so a crash
  mid-receipt leaves ``printing``, which recovery turns into ``uncertain``: never reprinted
  without the cashier.
- ``failed``: nothing of the receipt reached the printer (absent, busy, offline, no paper):
  printed again automatically when the printer is back.
- ``uncertain``: something may have printed (a write failed or timed out halfway, the printer
  reported no paper right after): the cashier decides (reprint as COPY, or confirm printed).
- A reprint is a 'copy' job, inserted as ``printing`` when it is sent. A sale has its receipt
  when its receipt job or any copy job is ``printed``.

Degraded mode: a journaled sale has no row here until replay inserts it (as pending). Its
states go to PrintStateLog, an append-only, checksummed, fsync'd file beside the journal; once
replay has brought the sale in, reconcile() copies the last state onto the new row.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tui_pos.store import db
from tui_pos.store.journal import decode_line, encode_line, make_private_dir

RECEIPT, COPY = "receipt", "copy"
PENDING, PRINTING, PRINTED, FAILED, UNCERTAIN = "pending", "printing", "printed", "failed", "uncertain"
STATES = (PENDING, PRINTING, PRINTED, FAILED, UNCERTAIN)
TO_PRINT = (PENDING, FAILED)
NOT_PRINTED = (PENDING, PRINTING, FAILED, UNCERTAIN)


@dataclass(frozen=True)
class Job:
    id: int
    sale_uuid: str
    kind: str
    state: str
    attempts: int
    last_error: str
    created_at: str
    updated_at: str


_JOB_COLUMNS = "id, sale_uuid, kind, state, attempts, last_error, created_at, updated_at"


def _job(row: Sequence[Any]) -> Job:
    return Job(row[0], row[1], row[2], row[3], row[4] or 0, row[5] or "", row[6] or "", row[7] or "")


def ensure_indexes(conn: sqlite3.Connection) -> None:
    """print_job is looked up by sale; the schema (v1) indexes only its state."""
    conn.execute("CREATE INDEX IF NOT EXISTS idx_print_job_sale_uuid ON print_job (sale_uuid, kind)")


# -- sales as records -------------------------------------------------------------------------
def receipts_of(conn: sqlite3.Connection, uuids: Sequence[str]) -> dict[str, str]:
    """uuid -> receipt number, for the uuids SQLite holds."""
    found: dict[str, str] = {}
    for start in range(0, len(uuids), 500):
        chunk = list(uuids[start:start + 500])
        marks = ", ".join("?" * len(chunk))
        found.update(conn.execute(f"SELECT uuid, receipt FROM sale WHERE uuid IN ({marks})", chunk))
    return found


# -- the queue's state machine --------------------------------------------------------------
def jobs_to_print(conn: sqlite3.Connection) -> list[Job]:
    """Receipt jobs waiting for the printer, oldest first. Copies are never queued, and a sale
    whose copy was printed (the cashier reprinted it) needs no original any more."""
    rows = conn.execute(
        f"SELECT {_JOB_COLUMNS} FROM print_job j WHERE state IN (?, ?) AND kind = ? "
        "AND NOT EXISTS (SELECT 1 FROM print_job c WHERE c.sale_uuid = j.sale_uuid AND c.kind = ? AND c.state = ?) "
        "ORDER BY id",
        (*TO_PRINT, RECEIPT, COPY, PRINTED),
    )
    return [_job(r) for r in rows]


def receipt_job(conn: sqlite3.Connection, uuid: str) -> Job | None:
    row = conn.execute(
        f"SELECT {_JOB_COLUMNS} FROM print_job WHERE sale_uuid = ? AND kind = ? ORDER BY id LIMIT 1",
        (uuid, RECEIPT),
    ).fetchone()
    return _job(row) if row else None


def get_job(conn: sqlite3.Connection, job_id: int) -> Job | None:
    row = conn.execute(f"SELECT {_JOB_COLUMNS} FROM print_job WHERE id = ?", (job_id,)).fetchone()
    return _job(row) if row else None


def claim(conn: sqlite3.Connection, job_id: int, now: str) -> bool:
    """pending|failed -> printing, one committed statement. False: someone else has it, or it is
    done, or it is waiting for the cashier (uncertain)."""
    cur = conn.execute(
        "UPDATE print_job SET state = ?, attempts = COALESCE(attempts, 0) + 1, updated_at = ? "
        "WHERE id = ? AND state IN (?, ?)",
        (PRINTING, now, job_id, *TO_PRINT),
    )
    return cur.rowcount == 1


def finish(conn: sqlite3.Connection, job_id: int, state: str, error: str, now: str) -> bool:
    """printing -> printed|failed|uncertain."""
    assert state in (PRINTED, FAILED, UNCERTAIN)
    cur = conn.execute(
        "UPDATE print_job SET state = ?, last_error = ?, updated_at = ? WHERE id = ? AND state = ?",
        (state, error, now, job_id, PRINTING),
    )
    return cur.rowcount == 1


def stale_printing(conn: sqlite3.Connection, reason: str, now: str) -> int:
    """Jobs left in 'printing' by a process that died mid-receipt -> uncertain. Call only while
    holding the printer lock (then nobody is really printing)."""
    if not conn.execute("SELECT 1 FROM print_job WHERE state = ? LIMIT 1", (PRINTING,)).fetchone():
        return 0  # no write, no sync, when there is nothing to recover
    cur = conn.execute(
        "UPDATE print_job SET state = ?, last_error = ?, updated_at = ? WHERE state = ?",
        (UNCERTAIN, reason, now, PRINTING),
    )
    return cur.rowcount


def insert_copy(conn: sqlite3.Connection, uuid: str, now: str) -> int:
    """A reprint about to be sent: a 'copy' job, already 'printing'."""
    cur = conn.execute(
        "INSERT INTO print_job (sale_uuid, kind, state, created_at, updated_at, attempts) VALUES (?, ?, ?, ?, ?, 1)",
        (uuid, COPY, PRINTING, now, now),
    )
    assert cur.lastrowid is not None  # set by the INSERT
    return int(cur.lastrowid)


def confirm_printed(conn: sqlite3.Connection, uuid: str, note: str, now: str) -> bool:
    """The cashier saw the receipt come out: the receipt job (uncertain, failed or pending) is printed."""
    cur = conn.execute(
        "UPDATE print_job SET state = ?, last_error = ?, updated_at = ? "
        "WHERE sale_uuid = ? AND kind = ? AND state IN (?, ?, ?)",
        (PRINTED, note, now, uuid, RECEIPT, PENDING, FAILED, UNCERTAIN),
    )
    return cur.rowcount > 0


def without_receipt(conn: sqlite3.Connection | None, journal_sales: Sequence[dict[str, Any]],
                    states: dict[tuple[str, str], dict[str, Any]], *, tenders: bool = True) -> list[dict[str, Any]]:
    """THE list of paid sales whose customer has no receipt yet: neither the receipt nor a copy
    printed, nor handed over on screen (confirmed). Everyone who counts "paid but no receipt"
    calls this (the till's status line and Ctrl+E list, `receipts --unprinted`, `status`, and so
    monitor, doctor and alerts): it is never worked out another way. A printer or none makes no
    difference: without one every receipt waits here until the cashier hands it over.

    conn: the database (a read-only connection will do) or None when it cannot be read;
    journal_sales: the sale records SQLite does not hold (yet); states: PrintStateLog.states().
    StoreView.without_receipt (store/view.py) feeds it what is stored.
    Rows are oldest first: uuid, receipt, total, completed_at, cashier, state, attempts,
    last_error, stored ("sqlite" | "journal") and, with tenders, the tenders (kind, amount, reference)."""
    rows: list[dict[str, Any]] = []
    if conn is not None:
        for row in _unprinted_in_sqlite(conn):
            entry = states.get((row["uuid"], RECEIPT))
            if row["state"] == PENDING and not row["attempts"] and entry:  # printed while it was journaled
                row["state"] = logged_state(entry)
                if row["state"] == PRINTED or _copy_printed(states, row["uuid"]):
                    continue
            rows.append({**row, "stored": "sqlite"})
    for record in journal_sales:
        if record.get("type", "sale") != "sale":
            continue
        entry = states.get((record["uuid"], RECEIPT), {})
        if entry.get("state") == PRINTED or _copy_printed(states, record["uuid"]):
            continue
        rows.append({"uuid": record["uuid"], "receipt": record["receipt"], "total": record["total"],
                     "completed_at": record["completed_at"], "cashier": record.get("cashier", ""),
                     "state": entry.get("state", PENDING), "attempts": entry.get("attempts", 0),
                     "last_error": entry.get("error", ""), "stored": "journal",
                     "tenders": [{"kind": t["kind"], "amount": t["amount"], "reference": t.get("reference") or ""}
                                 for t in record.get("tenders", [])]})
    refs = tender_summaries(conn, [r["uuid"] for r in rows if r["stored"] == "sqlite"]) if tenders and conn else {}
    for row in rows:
        row["tenders"] = (refs.get(row["uuid"], []) if row["stored"] == "sqlite" else row["tenders"]) if tenders else []
    rows.sort(key=lambda r: r["completed_at"])
    return rows


def logged_state(entry: dict[str, Any]) -> str:
    """A state from the print-state log as it stands now: 'printing' there was interrupted."""
    return UNCERTAIN if entry["state"] == PRINTING else entry["state"]


def _copy_printed(states: dict[tuple[str, str], dict[str, Any]], uuid: str) -> bool:
    return states.get((uuid, COPY), {}).get("state") == PRINTED


def _unprinted_in_sqlite(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """Receipt jobs in SQLite not printed, whose sale has no printed copy (for without_receipt only)."""
    rows = conn.execute(
        "SELECT s.uuid, s.receipt, s.total, s.completed_at, s.cashier, j.id, j.state, j.attempts, j.last_error "
        "FROM print_job j JOIN sale s ON s.uuid = j.sale_uuid "
        "WHERE j.kind = ? AND j.state IN (?, ?, ?, ?) "
        "AND NOT EXISTS (SELECT 1 FROM print_job c WHERE c.sale_uuid = j.sale_uuid AND c.kind = ? AND c.state = ?) "
        "ORDER BY s.completed_at, s.seq",
        (RECEIPT, *NOT_PRINTED, COPY, PRINTED),
    ).fetchall()
    names = ("uuid", "receipt", "total", "completed_at", "cashier", "job_id", "state", "attempts", "last_error")
    result = [dict(zip(names, row)) for row in rows]
    for row in result:
        row["attempts"] = row["attempts"] or 0
        row["last_error"] = row["last_error"] or ""
        row["cashier"] = row["cashier"] or ""
    return result


def tender_summaries(conn: sqlite3.Connection, uuids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for start in range(0, len(uuids), 500):
        chunk = list(uuids[start:start + 500])
        marks = ", ".join("?" * len(chunk))
        for uuid, kind, amount, reference in conn.execute(
            f"SELECT sale_uuid, kind, amount, reference FROM tender WHERE sale_uuid IN ({marks}) "
            "ORDER BY sale_uuid, tender_no", chunk,
        ):
            found.setdefault(uuid, []).append({"kind": kind, "amount": amount, "reference": reference or ""})
    return found


# -- journaled sales --------------------------------------------------------------------------
class PrintStateLog:
    """Print states of sales SQLite does not hold yet: one checksummed, fsync'd line per change,
    in the first journal directory that takes it (``print-states.log``: not ``*.jsonl``, so the
    journal's replay never reads it)."""

    NAME = "print-states.log"

    def __init__(self, dirs: Sequence[Path]):
        self.dirs = list(dirs)

    def record(self, uuid: str, kind: str, state: str, attempts: int, error: str, at: str) -> None:
        """Durably append one state; OSError if no directory took it."""
        line = encode_line({"uuid": uuid, "kind": kind, "state": state, "attempts": attempts, "error": error,
                            "at": at, "n": time.time_ns()})
        errors = []
        for directory in self.dirs:
            try:
                make_private_dir(directory)
                fd = os.open(directory / self.NAME, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
                try:
                    if os.write(fd, line) != len(line):
                        raise OSError("short write")
                    os.fdatasync(fd)
                finally:
                    os.close(fd)
                return
            except OSError as err:
                errors.append(f"{directory}: {err.strerror or err}")
        raise OSError("print state not recorded: " + "; ".join(errors))

    def _entries(self) -> list[tuple[Path, dict[str, Any]]]:
        entries = []
        for directory in self.dirs:
            path = directory / self.NAME
            try:
                data = path.read_bytes()
            except OSError:
                continue
            for line in data.split(b"\n")[:-1]:  # a torn last line was never acknowledged
                try:
                    entries.append((path, decode_line(line)))
                except ValueError:
                    continue
        return entries

    def states(self) -> dict[tuple[str, str], dict[str, Any]]:
        """(uuid, kind) -> its latest entry. For 'copy' the latest is a printed one if any is."""
        latest: dict[tuple[str, str], dict[str, Any]] = {}
        for _, entry in sorted(self._entries(), key=lambda e: e[1].get("n", 0)):
            key = (entry["uuid"], entry["kind"])
            if key[1] == COPY and latest.get(key, {}).get("state") == PRINTED:
                continue
            latest[key] = entry
        return latest

    def reconcile(self, conn: sqlite3.Connection, now: str) -> int:
        """Copy the states of sales replay has since brought into SQLite onto their rows, then
        retire log files whose every sale is in SQLite. Returns the rows changed.

        A receipt row is changed only while it is still as replay inserted it (pending, never
        attempted), so running this twice changes nothing the second time."""
        entries = self._entries()
        if not entries:
            return 0
        states = self.states()
        present = set(receipts_of(conn, sorted({uuid for uuid, _ in states})))
        changed = 0
        with db.transaction(conn):
            for (uuid, kind), entry in states.items():
                if uuid not in present:
                    continue
                state = UNCERTAIN if entry["state"] == PRINTING else entry["state"]
                if kind == RECEIPT:
                    changed += conn.execute(
                        "UPDATE print_job SET state = ?, attempts = ?, last_error = ?, updated_at = ? "
                        "WHERE sale_uuid = ? AND kind = ? AND state = ? AND COALESCE(attempts, 0) = 0",
                        (state, entry["attempts"], entry["error"], now, uuid, RECEIPT, PENDING),
                    ).rowcount
                elif kind == COPY and state == PRINTED and not conn.execute(
                    "SELECT 1 FROM print_job WHERE sale_uuid = ? AND kind = ? AND state = ?", (uuid, COPY, PRINTED)
                ).fetchone():
                    conn.execute(
                        "INSERT INTO print_job (sale_uuid, kind, state, created_at, updated_at, attempts, last_error) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?)", (uuid, COPY, PRINTED, entry["at"], now, 1, entry["error"]),
                    )
                    changed += 1
        for path in {p for p, _ in entries}:
            if all(e["uuid"] in present for p, e in entries if p == path):
                stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
                try:
                    os.rename(path, path.with_name(f"print-states-{stamp}-{time.time_ns() % 10**6}.applied"))
                except OSError:
                    pass  # applied again next time: harmless
        return changed
