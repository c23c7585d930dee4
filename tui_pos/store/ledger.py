"""The ledger: the one way a sale becomes durable. SQLite first, else the journal, else refuse.

- A sale is acknowledged only after SQLite's COMMIT returned or the journal line was fsync'd.
- Failures before COMMIT are retried within a bounded budget; an error AT commit means the
  outcome is unknown, so the sale is journaled at once (replay skips what already exists).
- While sales wait in the journal (degraded), new sales go to the journal too, so that replay
  order follows receipt order and a failing disk is not hit on every sale; replay (at start,
  every few seconds in the background, and on demand) brings them back.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tui_pos.domain.errors import N_, DocumentFailed, Each, PosError, Said, StorageError, StorageFailed
from tui_pos.domain.records import Record
from tui_pos.domain.storage import Counter, ReplayResult, StorageMode, StorageState, Stored
from tui_pos.store import audit, codec, commit_log, db, stock_level, verification
from tui_pos.store.crash import crash_point
from tui_pos.store.journal import BadLine, Journal, JournalFailed, JournalScan, encode_line, key_missing
from tui_pos.store.sequence import SequenceLock
from tui_pos.store.view import StoreView

log = logging.getLogger("tui_pos.store.ledger")


class ShopNotEmpty(Exception):
    """The demo shop goes only into a shop with neither people nor products."""


class _CommitUnknown(Exception):
    """COMMIT itself raised: the sale may or may not be in the database."""


@dataclass
class _Health:
    sqlite_ok: bool = True
    refused: bool = False  # the last commit was refused by every store
    backlog: int = 0
    last_error: str = ""
    quarantined: int | None = None  # journal lines set aside; None until counted


_COUNTERS = {"seq": ("sale", "sale"), "z_number": ("z_report", "shift_close"), "number": ("shift", "shift_open")}


class NumberedUnit:
    """What Ledger.numbered and Ledger.locked yield: the number, and the one commit of the unit."""

    def __init__(self, ledger: Ledger, number: int, reserve: bool = False):
        self.number = number
        self._ledger = ledger
        self._reserve = reserve
        self._committed = False

    def commit(self, record: dict[str, Any]) -> Stored:
        if self._committed:
            raise RuntimeError("a unit of work commits one record")
        self._committed = True
        ledger = self._ledger
        if not self._reserve:
            return ledger.commit(record)
        ledger.sequence.record(self.number)  # reserved first: a crash after COMMIT must not free the number
        try:
            stored = ledger.commit(record)
        except StorageFailed as err:
            if err.outcome_unknown:
                ledger._use_seq(self.number)
            else:
                ledger.sequence.record(self.number - 1)  # certainly stored nowhere: free the number again
            raise
        ledger._use_seq(self.number)
        return stored


def _is_corrupt(err: sqlite3.Error) -> bool:
    return isinstance(err, sqlite3.DatabaseError) and not isinstance(err, sqlite3.OperationalError)


class Ledger:
    def __init__(self, db_path: Path, journal: Journal, *, busy_timeout_ms: int = 100, retry_budget_ms: int = 300):
        self.db_path = db_path
        self.journal = journal
        self.sequence = SequenceLock(db_path.parent / "till.lock")
        self._next_seq: int | None = None
        self.busy_timeout_ms = busy_timeout_ms
        self.retry_budget = retry_budget_ms / 1000
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.RLock()
        self._numbering = threading.Lock()  # held for a unit of work, with the numbering flock
        self._health = _Health()
        self.anchor = audit.Anchor([db_path.parent, *journal.dirs])
        self._anchor_failed = False
        self._anchor_unsynced = False  # a commit moved the anchor without an fsync since the last durable write
        self._commit_known: list[Any] | None = None  # the last SQLite commit read after a COMMIT (commit_log.last)
        self._commit_spread = True  # every anchor copy has it: False after a commit anchored in the data directory only
        self.view = StoreView(journal, self.connection, lambda err: self._drop_connection(), self._lock,
                              anchor=self.anchor.read)
        self.on_commit: list[Callable[[], None]] = []  # told after each commit, e.g. the sync worker's wake()

    # -- connection -------------------------------------------------------------------------
    def connection(self) -> sqlite3.Connection:
        """The open connection, (re)opened on demand; after an error it is closed and reopened."""
        if self._conn is None:
            conn = db.connect(self.db_path, self.busy_timeout_ms)
            try:
                db.ensure_schema(conn)
            except BaseException:
                conn.close()
                raise
            self._conn = conn
        return self._conn

    def _drop_connection(self) -> None:
        db.close_quietly(self._conn)
        self._conn = None

    def close(self) -> None:
        with self._numbering, self._lock:  # a unit of work under way (another thread) finishes first
            if self._conn is not None and self._anchor_unsynced:  # the anchor, durably, everywhere (this process's last word)
                try:
                    self._anchor(audit.head(self._conn), sync=True)
                except sqlite3.Error:
                    pass
            self._drop_connection()
            self.journal.close()
            self.sequence.close()

    # -- commit -----------------------------------------------------------------------------
    @contextmanager
    def numbered(self, till_id: str, counter: Counter = "seq", last_known: int = 0) -> Iterator[NumberedUnit]:
        """A unit of work under the numbering lock (this process's threads and every other
        process): the next number of the counter, and a commit that uses it. Checks made in the
        block (is the shift still open? what was returned already?) hold when the record is
        stored. Leaving without a commit, or with an exception, uses no number.

        Receipts ("seq") keep a reservation in the lock file: the number is used up only when
        the sale is stored, or when its outcome is unknown (it may be stored). Shifts and Z
        reports ("number", "z_number") are rare: a number is in SQLite or the journal once used
        (an unknown COMMIT outcome is journaled too). last_known: the highest number the caller
        saw used, for when SQLite cannot be read."""
        with self._numbering, self.sequence.held():
            if counter == "seq":
                yield NumberedUnit(self, self._claim_seq(till_id), reserve=True)
            else:
                first, readable = self._first_seq(till_id, counter)
                yield NumberedUnit(self, first if readable else max(first, last_known + 1))

    @contextmanager
    def locked(self) -> Iterator[NumberedUnit]:
        """A unit of work under the numbering lock for a record without a number (a paid-in or
        paid-out): a Z taken by another process cannot slip between its checks and its commit."""
        with self._numbering, self.sequence.held():
            yield NumberedUnit(self, 0)

    def _claim_seq(self, till_id: str) -> int:
        """The next receipt number; call under the numbering lock."""
        if self._next_seq is None:
            # Holding the lock, nobody is mid-commit: when SQLite can be read, it and the journal
            # are the whole truth, and a number reserved by a crashed attempt that stored nothing
            # is free again. Only when SQLite cannot be read does the reservation decide.
            self._next_seq, complete = self._first_seq(till_id)
            return self._next_seq if complete else max(self._next_seq, self.sequence.last_used() + 1)
        return max(self._next_seq, self.sequence.last_used() + 1)  # another live process may have sold since

    def _use_seq(self, seq: int) -> None:
        self._next_seq = seq + 1
        self.sequence.record(seq)

    def commit(self, record: Record | dict[str, Any]) -> Stored:
        """Make one record (typed, or its dict) durable; return where. Raises StorageFailed if
        nothing took it."""
        record = codec.as_dict(record)
        with self._lock:
            sqlite_error = "skipped: earlier sales are still in the journal"
            unknown = False
            if self._health.backlog == 0:
                try:
                    self._commit_sqlite(record)
                    self._health.sqlite_ok, self._health.refused = True, False
                    self._committed()
                    return "sqlite"
                except (sqlite3.Error, OSError, _CommitUnknown) as err:
                    sqlite_error = str(err) or type(err).__name__
                    unknown = isinstance(err, _CommitUnknown)
                    self._health.sqlite_ok = False
                    if unknown:  # committed or not: no number after it can be trusted until SQLite is read again
                        self._commit_known, self._commit_spread = self._doubt(), False
            try:
                self.journal.append(record)
            except JournalFailed as err:
                self._health.refused = True
                self._health.last_error = f"database: {sqlite_error}; journal: {err}"
                raise StorageFailed(sqlite_error, str(err), unknown or err.maybe_written) from None
            self._health.backlog += 1
            # its number is used: never handed out again, even if the line is lost; the first record
            # journaled after SQLite commits puts the last of them in every anchor copy, durably (the
            # data directory's copy may be on the failing disk): what push numbers the journal from
            spread = not self._commit_spread and self._commit_known is not None
            self._anchor(None, record, sync=spread, commit=self._commit_known if spread else None)
            self._commit_spread = self._commit_spread or spread
            self._health.refused = False
            self._health.last_error = sqlite_error
            self._committed()
            return "journal"

    def _committed(self) -> None:
        for tell in self.on_commit:  # an Event's set(): nothing here may block or fail a commit
            tell()

    def _commit_sqlite(self, record: dict[str, Any]) -> None:
        deadline = time.monotonic() + self.retry_budget
        pause = 0.01
        while True:
            try:
                self._write_once(record)
                return
            except _CommitUnknown:
                self._drop_connection()
                raise
            except (sqlite3.Error, OSError) as err:
                self._drop_connection()
                if (isinstance(err, sqlite3.Error) and _is_corrupt(err)) or time.monotonic() + pause > deadline:
                    raise
                time.sleep(pause)
                pause = min(pause * 2, 0.08)

    def _write_once(self, record: dict[str, Any]) -> None:
        conn = self.connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            chain = db.insert_record(conn, record, stored_via="sqlite")
        except sqlite3.IntegrityError:
            conn.execute("ROLLBACK")
            if db.existing(conn, "uuid", [record["uuid"]]):
                return  # already stored by an earlier attempt whose outcome was unknown
            raise
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        crash_point("sqlite_before_commit")
        try:
            conn.execute("COMMIT")
        except sqlite3.Error as err:
            raise _CommitUnknown(f"error at COMMIT, outcome unknown: {err}") from err
        crash_point("sqlite_after_commit")
        self._anchor(chain, record)

    def _anchor(self, head: tuple[int, str] | None, record: dict[str, Any] | None = None, *, sync: bool = False,
                numbers: dict[str, int] | None = None, commit: list[Any] | None = None) -> None:
        """Move the anchor to a committed head (and the record's number). Never fails a sale: it
        is stored already; a failure is logged once (the next commit or start tries again)."""
        numbers = {**(numbers or {}), **(db.record_numbers(record) if record else {})}
        try:
            if head is not None:
                commit = self._commit_head()
                self._commit_spread = sync
            self.anchor.advance(head, numbers, sync=sync, commit=commit)
            self._anchor_failed, self._anchor_unsynced = False, not sync
        except (OSError, DocumentFailed) as err:
            if not self._anchor_failed:
                log.warning("the audit anchor could not be written: %s", err)
            self._anchor_failed = True

    def _commit_head(self) -> list[Any] | None:
        """The last SQLite commit (commit_log.last) for the anchor, read under the lock after the
        COMMIT (so the anchor can lag it, never lead it); a doubt (_doubt) when it cannot be read."""
        try:
            last = commit_log.last(self._conn) if self._conn is not None else None
        except sqlite3.Error:
            last = None
        self._commit_known = last if last is not None else self._doubt()
        return self._commit_known

    def _doubt(self) -> list[Any]:
        """A commit this process cannot name (its COMMIT's outcome unknown, or the log unreadable
        after it): one past the last known, with a hash no HQ holds, so nothing is numbered from it."""
        known = self._commit_known or (self.anchor.read() or {}).get("commit") or [0]
        return [int(known[0]) + 1, audit.UNKNOWN_COMMIT, None]

    @staticmethod
    def _note_anchor(conn: sqlite3.Connection, till_id: str, now: str, note: dict[str, Any] | None,
                     had_one: bool) -> None:
        if note is not None:
            event = audit.event_record(till_id, "anchor_mismatch", "system", subject=note["kind"], detail=note)
            audit.append(conn, audit.entries_for(event, []))
        if not had_one:  # the first start of a version with anchors: tables made before are covered from now
            conn.execute("INSERT INTO meta (key, value) VALUES ('anchored', ?)", (now,))
            db.cover(conn, *[table for table in audit.COVERED_TABLES if conn.execute(
                "SELECT 1 FROM audit WHERE action = 'table_state' AND subject = ? LIMIT 1", (table,)).fetchone() is None])

    def check_anchor(self, till_id: str, now: str) -> list[str]:
        """At start, before anything is written: the chain against its anchor. A chain cut short or
        rewritten, entries written unanchored, or an anchor gone while the database says it had one,
        become an audit entry, a note kept in the anchor for good (audit verify reports it) and an
        error in the log; then the anchor follows the chain as it is. Returns what was found."""
        with self._lock:
            try:
                conn = self.connection()
                anchor = self.anchor.read()
                had_one = conn.execute("SELECT 1 FROM meta WHERE key = 'anchored'").fetchone() is not None
                found = audit.anchor_findings(conn, anchor, self.anchor.read) if anchor else []
                if anchor is None and had_one and audit.head(conn)[0]:
                    found = [audit.anchor_missing()]
                problem = any(kind != "unanchored" for kind, _ in found)
                note = audit.note(now, ",".join(k for k, _ in found), Each([w for _, w in found]), problem,
                                  anchor=[anchor["seq"], anchor["hash"]] if anchor else None) if found else None
                if note is not None or not had_one:
                    with db.transaction(conn):
                        self._note_anchor(conn, till_id, now, note, had_one)
                head, floors = audit.head(conn), db.number_floors(conn)
            except sqlite3.Error:
                self._drop_connection()
                return []  # unreadable: nothing to compare; the next start does it
            if note is not None:
                (log.error if problem else log.warning)("audit anchor: %s", note["what"])
            elif had_one and self.anchor.settled(head, floors):
                return []  # found as the last process left it: nothing to write
            try:
                self.anchor.advance(head, floors, note=note, reset=problem, sync=True, commit=self._commit_head())
            except (OSError, DocumentFailed) as err:
                log.warning("the audit anchor could not be written: %s", err)
            return [w for _, w in found]

    # -- replay -----------------------------------------------------------------------------
    def replay(self) -> ReplayResult:
        """Bring every journaled sale into SQLite exactly once, then retire the journal files."""
        with self._lock:
            self.journal.close()  # our own files become retirable; the next sale opens a new one
            scan = self.journal.scan()
            if not scan.files:
                self._health.backlog = 0
                return ReplayResult()
            if scan.unchecked:  # journal.key is gone: its lines are held as they are until it is back
                self._health.backlog = 0  # nothing replayable waits: new records go to SQLite
                self._health.last_error = key_missing(len(scan.unchecked))
                return ReplayResult(remaining=len(scan.unchecked), error=self._health.last_error)
            try:
                inserted, skipped, rejected, chain = self._replay_into_sqlite(scan)
            except (sqlite3.Error, OSError, _CommitUnknown) as err:
                self._drop_connection()
                self._health.sqlite_ok = False
                self._health.backlog = len(scan.unique)
                self._health.last_error = f"replay: {err}"
                return ReplayResult(remaining=self._health.backlog, error=str(err))
            crash_point("replay_after_commit")
            numbers: dict[str, int] = {}
            for entry in scan.records:
                for key, value in db.record_numbers(entry.record).items():
                    numbers[key] = max(numbers.get(key, 0), value)
            self._anchor(chain, sync=True, numbers=numbers)
            if not self._checkpoint():  # keep the files: the next replay retires them
                return ReplayResult(inserted, skipped, 0, 0, len(scan.unique), self._health.last_error)
            self._health.sqlite_ok, self._health.backlog, self._health.last_error = True, 0, ""
            bad = scan.bad + rejected + [BadLine(b.file, b.line_no, b.what, b"") for b in scan.breaks]
            try:
                self.journal.quarantine(bad)
                self._health.quarantined = None
                retired = self.journal.retire(scan.files)
            except OSError as err:
                return ReplayResult(inserted, skipped, 0, 0, 0, f"replayed, but could not retire files: {err}")
            return ReplayResult(inserted, skipped, len(bad), len(retired), 0)

    def _checkpoint(self) -> bool:
        """Copy the WAL into the database file and fsync it before any journal file is retired.

        A sale replay skips as "already present" may live only in WAL frames whose fsync failed
        (the outcome-unknown case); an empty replay transaction syncs nothing, so without this a
        power cut could lose a sale whose only durable copy was the retired journal line.
        """
        try:
            busy = self.connection().execute("PRAGMA wal_checkpoint(FULL)").fetchone()[0]
        except sqlite3.Error as err:
            self._drop_connection()
            busy, self._health.last_error = 1, f"replay checkpoint: {err}"
        if busy:
            self._health.last_error = self._health.last_error or "replay: the database could not be checkpointed"
        return not busy

    def _replay_into_sqlite(self, scan: JournalScan) -> tuple[int, int, list[BadLine], tuple[int, str]]:
        """One transaction for the whole backlog (fast); returns inserted, present, set aside."""
        entries = scan.unique
        conn = self.connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            present = db.existing(conn, "uuid", [e.record["uuid"] for e in entries])
            fresh = [e for e in entries if e.record["uuid"] not in present]
            holders = db.existing(conn, "receipt", [e.record["receipt"] for e in fresh if "receipt" in e.record])
            rejected: list[BadLine] = []
            chain = audit.head(conn)  # carried from record to record: one read of the head per replay
            for entry in fresh:
                record = entry.record
                if record.get("receipt") in holders:  # never expected; kept for support, never dropped
                    reason = Said(N_("receipt {receipt} already used by sale {uuid}"), receipt=record["receipt"],
                                  uuid=holders[record["receipt"]])
                    rejected.append(BadLine(entry.file, entry.line_no, reason, encode_line(record)))
                    continue
                conn.execute("SAVEPOINT replay_record")
                try:
                    chain = db.insert_record(conn, record, stored_via="journal", audit_head=chain)
                except (sqlite3.IntegrityError, KeyError, TypeError, ValueError, PosError) as err:
                    # one malformed record must not block every later sale: set it aside, loudly
                    conn.execute("ROLLBACK TO replay_record")
                    rejected.append(BadLine(entry.file, entry.line_no, Said(N_("rejected by the database: {error}"),
                                                                            error=repr(err)), encode_line(record)))
                    continue
                finally:
                    conn.execute("RELEASE replay_record")
                if "receipt" in record:
                    holders[record["receipt"]] = record["uuid"]
            chain = self._report_rejected(conn, scan, rejected, chain)
            if len(fresh) > len(rejected):
                replayed = audit.event_record(self.journal.till_id, "replay", "system",
                                              subject=f"{len(fresh) - len(rejected)} journaled records",
                                              detail={"inserted": len(fresh) - len(rejected), "present": len(present)})
                chain = audit.append(conn, audit.entries_for(replayed, []), chain)
            crash_point("replay_before_commit")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        try:
            conn.execute("COMMIT")
        except sqlite3.Error as err:
            raise _CommitUnknown(f"error at COMMIT, outcome unknown: {err}") from err
        return len(fresh) - len(rejected), len(present), rejected, chain

    def _report_rejected(self, conn: sqlite3.Connection, scan: JournalScan, rejected: list[BadLine],
                         chain: tuple[int, str]) -> tuple[int, str]:
        """Loudly: journal lines that failed their key (edited or invented), were refused by the
        database, or are missing from the middle of a file. An audit entry (not for lines already
        quarantined by an earlier replay) and an error in the log; the lines go to quarantine."""
        seen = {(q.get("file"), q.get("line")) for q in self.journal.quarantined()}
        found = [(b.file.name, b.line_no, b.reason) for b in scan.bad + rejected]
        found += [(b.file.name, b.line_no, b.what) for b in scan.breaks]
        fresh = [f for f in found if (f[0], f[1]) not in seen]
        if not fresh:
            return chain
        for name, line, reason in fresh:
            log.error("journal %s line %d NOT REPLAYED or out of place: %s", name, line, reason)
        event = audit.event_record(self.journal.till_id, "journal_rejected", "system",
                                   subject=f"{len(fresh)} journal line(s) quarantined",
                                   detail={"lines": [{"file": n, "line": l, "reason": str(r)} for n, l, r in fresh[:50]]})
        return audit.append(conn, audit.entries_for(event, []), chain)

    # -- state and queries --------------------------------------------------------------------
    def state(self) -> StorageState:
        with self._lock:
            h = self._health
            mode: StorageMode = "failing" if h.refused else "degraded" if h.backlog or not h.sqlite_ok else "ok"
            if h.quarantined is None:  # read once; only a replay changes it
                h.quarantined = len(self.journal.quarantined())
            return StorageState(mode, h.backlog, h.quarantined, h.last_error)

    def next_seq(self, till_id: str) -> int:
        """The next receipt sequence: after the highest in SQLite and in every journal file."""
        return self._first_seq(till_id)[0]

    def _first_seq(self, till_id: str, counter: str = "seq") -> tuple[int, bool]:
        """(next number of this counter, whether SQLite could be read, i.e. whether that is certain).

        Counters: "seq" (receipts), "z_number" (Z reports), "number" (shifts)."""
        table, record_type = _COUNTERS[counter]
        with self._lock:
            highest = 0
            readable = True
            try:
                highest = db.max_number(self.connection(), table, counter, till_id)
            except sqlite3.Error:
                self._drop_connection()
                readable = False  # the database is unreadable: replayed files still know
            anchored = (self.anchor.read() or {}).get("numbers", {})  # deleted records' numbers stay used
            highest = max(highest, anchored.get(f"floor:{till_id}:{counter}", 0))
            for record in self._journal_records(record_type, include_replayed=not readable):
                if record.get("till_id") == till_id:
                    try:
                        highest = max(highest, int(record[counter]))
                    except (KeyError, TypeError, ValueError):  # only a line held unchecked can lack it
                        continue
            return highest + 1, readable

    def _journal_records(self, record_type: str, include_replayed: bool = False) -> list[dict[str, Any]]:
        """Records of one type in the journal (not yet replayed; with include_replayed, those too), and
        those held unchecked while the journal key is missing (their numbers are used all the same)."""
        scans = [self.journal.scan()] + ([self.journal.scan(include_replayed=True)] if include_replayed else [])
        records = [e.record for scan in scans for e in scan.records]
        records += [r for scan in scans for r in scan.held]  # a number skipped costs nothing; one used twice does
        return [r for r in records if db.record_type(r) == record_type]

    def refresh_backlog(self) -> None:
        """Count journaled records not yet in SQLite (at start-up, before the first replay)."""
        with self._lock:
            backlog = self.view.backlog()
            if not backlog.readable:
                self._health.sqlite_ok, self._health.last_error = False, self.view.error
            self._health.backlog = len(backlog.waiting)

    # -- reads: store/view.py answers, on this ledger's connection and under its lock -------------
    def is_recorded(self, uuid: str) -> bool | None:
        """Is this sale stored anywhere (SQLite or journal)? None: unknown, the database is unreadable."""
        return self.view.is_recorded(uuid)

    def products(self) -> list[dict[str, Any]] | None:
        """The catalog rows, or None when the database cannot be read."""
        return self.view.products()

    def users(self) -> list[dict[str, Any]] | None:
        """The user rows (with PIN hashes), or None when the database cannot be read."""
        return self.view.users()

    def sales(self, since: str | None) -> list[dict[str, Any]]:
        """Sales in SQLite plus those only in the journal, oldest first, with where each is."""
        with self._lock:
            rows, readable = self.view.sales(since)
            if not readable:
                self._health.sqlite_ok, self._health.last_error = False, f"database unreadable: {self.view.error}"
            return rows

    def journaled_sales(self) -> list[dict[str, Any]]:
        return self.view.journaled_sales()

    def open_shift(self, till_id: str) -> tuple[dict[str, Any] | None, bool]:
        """The open shift's shift_open record (or None), and whether the database could say."""
        return self.view.open_shift(till_id)

    def current_shift(self, till_id: str, saved: Callable[[], dict[str, Any] | None]) -> dict[str, Any] | None:
        """The open shift as the till takes it (StoreView.current_shift: else the saved copy)."""
        return self.view.current_shift(till_id, saved)

    def shift_closed(self, shift_uuid: str) -> bool:
        """Does the database hold this shift's Z report (stored by any process)? One indexed
        lookup: it is asked before every sale (a Z only in the journal: see Till._record_sale)."""
        with self._lock:
            if not self._health.sqlite_ok:
                return False  # failing: not reopened on every sale (the caller asks the shift document)
            return self.view.shift_closed(shift_uuid)

    def shift_totals(self, shift_uuid: str) -> tuple[dict[str, Any], int, bool]:
        """(the shift's totals, how many of its records are only in the journal, whether the
        database could be read: if not, the totals are the journal's alone)."""
        return self.view.shift_totals(shift_uuid)

    def unapproved_paid_out(self, shift_uuid: str) -> int:
        """What the shift's paid-outs without a manager add up to, journaled ones included."""
        return self.view.unapproved_paid_out(shift_uuid)

    def period_totals(self, start: str, end: str) -> tuple[dict[str, Any], int, bool]:
        """(the totals of the sales, refunds and voids completed in [start, end) (stored UTC
        times), how many of them are only in the journal, whether the database could be read)."""
        return self.view.period_totals(start, end)

    def stock_levels(self, barcodes: list[str] | None = None) -> tuple[list[dict[str, Any]] | None, int]:
        """Products with their stock on hand, journaled records included (StoreView.stock_levels)."""
        return self.view.stock_levels(barcodes)

    def stock_period(self, lookback: str, first: str, last: str, outflow_min: int) -> dict[str, Any] | None:
        """What moved stock over the local days first..last, journaled included (StoreView.stock_period)."""
        return self.view.stock_period(lookback, first, last, outflow_min)

    def stock_days(self, barcode: str, first: str, last: str) -> dict[str, list[int]] | None:
        """One product's days that moved, journaled included (StoreView.stock_days)."""
        return self.view.stock_days(barcode, first, last)

    def stock_moves(self, start: str, end: str, kinds: tuple[str, ...] = (),
                    barcodes: list[str] | None = None) -> list[dict[str, Any]] | None:
        """Stock movement records of [start, end), journaled included (StoreView.stock_moves)."""
        return self.view.stock_moves(start, end, kinds, barcodes)

    def stock_sold(self, start: str, end: str, barcodes: list[str]) -> list[tuple[str, str, int]] | None:
        """These products' sale lines of [start, end), journaled included (StoreView.stock_sold)."""
        return self.view.stock_sold(start, end, barcodes)

    def stock_receipts(self, until: str, barcodes: list[str] | None = None) -> list[tuple[Any, ...]] | None:
        """Every receive's lot stored before until, journaled included (StoreView.stock_receipts)."""
        return self.view.stock_receipts(until, barcodes)

    def risk_facts(self, start: str, end: str) -> dict[str, Any] | None:
        """Per-cashier counts and refunds with their sales, journaled included (StoreView.risk_facts)."""
        return self.view.risk_facts(start, end)

    def payment_attempts(self, *, unresolved: bool = False,
                         sale_uuid: str | None = None) -> tuple[list[dict[str, Any]], bool]:
        """Code payments with their states, journaled included (StoreView.payment_attempts)."""
        return self.view.payment_attempts(unresolved=unresolved, sale_uuid=sale_uuid)

    def find_sales(self, *, receipt: str | None = None, original_uuid: str | None = None,
                   last_of_till: str | None = None) -> list[dict[str, Any]]:
        """Sale records (sales, refunds, voids) by receipt number, by the sale they reverse, or
        a till's last one, from the database and the journal."""
        return self.view.find_sales(receipt=receipt, original_uuid=original_uuid, last_of_till=last_of_till)

    def z_reports(self, till_id: str, number: int | None = None) -> list[dict[str, Any]]:
        """Stored Z reports (shift_close records), newest first; journaled ones included."""
        return self.view.z_reports(till_id, number)

    def note_config(self, till_id: str, key_digests: dict[str, str]) -> list[str] | None:
        """Audit a configuration change: compare each setting's digest with the last seen ones
        (kept in meta); when any differs, store the new ones and append a config_change entry,
        in one transaction. Returns the changed keys, or None when nothing changed or the
        database cannot be written now (it is checked again at the next start)."""
        with self._lock:
            try:
                conn = self.connection()
                seen = conn.execute("SELECT value FROM meta WHERE key = 'config_digests'").fetchone()
                if seen and json.loads(seen[0]) == key_digests:
                    return None  # the usual case, answered without taking the write lock
                with db.transaction(conn):
                    row = conn.execute("SELECT value FROM meta WHERE key = 'config_digests'").fetchone()
                    before = json.loads(row[0]) if row else {}
                    changed = sorted(k for k in before.keys() | key_digests.keys() if before.get(k) != key_digests.get(k))
                    if not changed:
                        return None
                    conn.execute("INSERT INTO meta (key, value) VALUES ('config_digests', ?) ON CONFLICT(key) DO "
                                 "UPDATE SET value = excluded.value", (json.dumps(key_digests, sort_keys=True),))
                    event = audit.event_record(till_id, "config_change", "system", subject=f"{len(changed)} settings",
                                               detail={"changed": changed, "first": not before})
                    head = audit.append(conn, audit.entries_for(event, []))
                self._anchor(head)
                return changed
            except sqlite3.Error:
                self._drop_connection()
                return None

    def last_sale_at(self, till_id: str, before_seq: int) -> tuple[str, str] | None:
        """(completed_at, receipt) of the till's latest stored sale numbered before before_seq (in
        time order), or None (none, or the database cannot be read)."""
        return self.view.last_sale_at(till_id, before_seq)

    def fix_currency(self, code: str, exponent: int) -> dict[str, Any] | None:
        """The currency stored amounts are in, when money is stored and it is not (code,
        exponent): read in another unit every amount would be wrong. Otherwise (code, exponent)
        is kept in meta as that currency (it may still change while no money is stored) and None
        is returned; None too when the database cannot be read or written now."""
        wanted = {"code": code, "exponent": exponent}
        with self._lock:
            try:
                conn = self.connection()
                stored = db.stored_currency(conn)
                if stored == wanted:
                    return None  # the usual case: one read
                if stored is not None and db.holds_money(conn):
                    return stored
                with db.transaction(conn):  # first start, or changed before anything was stored
                    conn.execute("INSERT INTO meta (key, value) VALUES ('currency', ?) ON CONFLICT(key) DO UPDATE "
                                 "SET value = excluded.value", (json.dumps(wanted, sort_keys=True),))
                return None
            except sqlite3.Error:
                self._drop_connection()
                return None

    def change_shop(self, records: Sequence[dict[str, Any]] = (), products: Sequence[dict[str, Any]] | None = None, *,
                    at: str = "", catalog_event: Callable[[list[dict[str, Any]]], dict[str, Any]] | None = None,
                    new_shop: bool = False,
                    openings: Callable[[dict[str, dict[str, Any]]], list[dict[str, Any]]] | None = None) -> None:
        """Changes to who may do what and at which price, with their audit entries, in ONE
        transaction: user changes (UserChanged records: each one's row and its entry, see
        codec's user rows), then the opening counts openings(what an opening needs to know of
        the products given a stock and of those holding stock unrecorded: stock_level.openings)
        returns, each a stock movement record (the product's legacy product.stock gone with it),
        then products (inserted or updated, at `at`) audited by catalog_event(the catalog as it
        was), pure functions called in the transaction. Never journaled: they need the database;
        StorageError when it cannot take them. Any error (a NameTaken, NoSuchUser) rolls all of
        it back. new_shop: ShopNotEmpty unless the shop has neither people nor products (the demo
        shop goes only into an empty one).

        Records waiting in the journal are replayed first: they were committed before this
        change, and the commit order (store/commit_log.py) numbers them before it, as it
        numbered them while they waited."""
        with self._lock:
            if self._health.backlog and self.replay().remaining:
                raise StorageError(N_("earlier records still wait in the journal ({error}); nothing was changed"),
                                   error=self._health.last_error)
            try:
                conn = self.connection()
                with db.transaction(conn):
                    if new_shop and (db.load_users(conn) or db.load_products(conn)):
                        raise ShopNotEmpty()
                    head = None
                    for record in records:  # the head is read each time: a change covers its table first
                        head = db.insert_record(conn, record, stored_via="sqlite")
                    if openings is not None:
                        head = self._store_openings(conn, openings, products, covered=products is None) or head
                    if products is not None:
                        before = db.load_products(conn) if catalog_event is not None else []
                        db.write_products(conn, products, at)
                        if catalog_event is not None:
                            head = db.insert_record(conn, catalog_event(before), stored_via="sqlite")
            except (sqlite3.Error, OSError) as err:
                self._drop_connection()
                raise StorageError(N_("the database cannot be written ({error}); nothing was changed"),
                                   error=str(err)) from None
            self._anchor(head)
            self._committed()
            if catalog_event is not None and not new_shop:
                crash_point("catalog_after_commit")

    @staticmethod
    def _store_openings(conn: sqlite3.Connection, openings: Callable[[dict[str, dict[str, Any]]], list[dict[str, Any]]],
                        products: Sequence[dict[str, Any]] | None, covered: bool) -> tuple[int, str] | None:
        """The opening counts openings() makes, in the caller's transaction; product.stock of their
        products cleared (covered, unless the products written next cover the table)."""
        given = [p["barcode"] for p in products or () if p.get("stock") is not None]
        head = None
        made = openings(stock_level.openings(conn, given))
        for record in made:
            head = db.insert_record(conn, record, stored_via="sqlite")
        cleared = sum(conn.execute("UPDATE product SET stock = NULL WHERE barcode = ? AND stock IS NOT NULL",
                                   (record["barcode"],)).rowcount for record in made)
        if cleared and covered:
            db.cover(conn, "product")
            head = audit.head(conn)
        return head

    def stock_unrecorded(self) -> bool | None:
        """Does a product hold stock from before openings were records (store/stock_level.py)?
        None: the database cannot be read."""
        return self.view.query(stock_level.held_unrecorded, None)

    def rebuild(self, records: Iterable[dict[str, Any]], till_id: str, detail: dict[str, Any],
                commit_floor: int = 0) -> int:
        """Fill an empty database with a till's records, in the order it committed them (as HQ holds
        them: `tui-pos hq restore-till`), each through insert_record as if committed now: rows,
        audit entries and commit order as the till made them, then a REBUILT event (detail: where
        from), in one transaction (all or none). The audit chain is a new one over the same
        records (entries that were no records, e.g. table states, are not at HQ): verification
        knows that Z reports taken before the rebuild name heads of the old box's chain. The
        anchor then follows the chain and the numbers used, so receipts, shifts and Z reports
        continue after them; commit_floor: the commit numbers HQ has used (the REBUILT event and
        every later commit come after it, never under a number HQ holds). ShopNotEmpty if the
        database or the journal holds anything already; a record the database refuses is an error
        naming it (nothing is kept)."""
        with self._numbering, self.sequence.held(), self._lock:
            if self.journal.scan().files:
                raise ShopNotEmpty()
            conn = self.connection()
            count, head = 0, None
            with db.transaction(conn):
                if conn.execute("SELECT EXISTS (SELECT 1 FROM audit) OR EXISTS (SELECT 1 FROM product) "
                                "OR EXISTS (SELECT 1 FROM user)").fetchone()[0]:
                    raise ShopNotEmpty()
                for record in records:
                    try:
                        head = db.insert_record(conn, record, stored_via="hq", audit_head=head)
                    except (sqlite3.IntegrityError, KeyError, TypeError, ValueError, PosError) as err:
                        raise StorageError(N_("record {uuid} ({type}, the {n}. in commit order) cannot be stored: "
                                              "{error}; nothing was restored"), uuid=record.get("uuid"),
                                           type=codec.record_type(record), n=count + 1, error=repr(err)) from None
                    count += 1
                if commit_floor > count:
                    db.keep_floors(conn, {commit_log.FLOOR_KEY: commit_floor})
                head = db.insert_record(conn, audit.event_record(till_id, verification.REBUILT, "system",
                                                                 subject=f"{count} records", detail=detail),
                                        stored_via="sqlite", audit_head=head)
                numbers = db.number_floors(conn)
            self._anchor(head, numbers=numbers, sync=True)
            return count

    def audit_head(self) -> tuple[int, str] | None:
        """The newest audit entry's (seq, hash), or None when the database cannot be read."""
        return self.view.query(audit.head, None)
