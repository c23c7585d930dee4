"""THE read of what is stored: rows in SQLite plus records still only in the fallback journal.

A record is stored when SQLite holds it or a journal line does (store/ledger.py: SQLite first,
else the journal). Every question about what is stored is answered here, in one way, for
everyone who asks: the till (through its Ledger, on the Ledger's connection and lock), the print
queue (on its own connection), and ops (status, and so doctor, monitor and alerts; audit
verify) on the database opened read-only (ReadOnlyView: nothing is created, migrated, written or
locked).

Two sets of journal records matter:
- the backlog: records in journal files not yet retired that SQLite does not hold, i.e. what
  replay has still to bring in (all of those files' records when SQLite cannot be read). This
  is what is counted as waiting and what the print queue prints from the journal.
- the pending records behind every answer: the backlog while SQLite can be read; when it
  cannot, every journaled record, retired files included (the database's copy of them is out
  of reach), and the answer says the database could not be read.

A database that cannot be opened, is missing or is corrupt is never an error here: the answer
comes from the journal alone, and says so (a `readable` flag, or None for "unknown").
"""

from __future__ import annotations

import functools
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, TypeVar

from tui_pos.domain.commits import chained
from tui_pos.store import audit, commit_log, db, payments, period_totals, print_jobs, shift_totals, stock, stock_daily
from tui_pos.store.journal import Journal, JournalScan

Where = Literal["sqlite", "journal"]
DatabaseState = Literal["ok", "missing", "corrupt", "unreadable"]
T = TypeVar("T")
_UNREADABLE: Any = object()


class DatabaseUnavailable(Exception):
    """The database cannot be read; state says how (missing, corrupt, unreadable)."""

    def __init__(self, state: DatabaseState, detail: str):
        self.state = state
        super().__init__(detail)


def database_state(err: sqlite3.Error) -> DatabaseState:
    """Corrupt (a DatabaseError that is not an OperationalError: malformed, not a database) or merely unreadable."""
    return "corrupt" if isinstance(err, sqlite3.DatabaseError) and not isinstance(err, sqlite3.OperationalError) \
        else "unreadable"


def open_read_only(path: Path, busy_timeout_ms: int) -> sqlite3.Connection:
    """The database opened mode=ro (never created, migrated or checkpointed); DatabaseUnavailable
    when it cannot be. A WAL reader still maps the -shm file and may create an empty -wal beside
    the database, as any reader must; it never writes a page of the database."""
    try:
        if not path.is_file():
            raise DatabaseUnavailable("missing", f"{path} does not exist")
    except PermissionError as err:  # the data directory cannot be entered (mode 000?)
        raise DatabaseUnavailable("unreadable", f"{path}: {err.strerror}") from None
    try:
        return db.connect(path, busy_timeout_ms, readonly=True)
    except sqlite3.Error as err:
        raise DatabaseUnavailable(database_state(err), f"{path}: {err}") from None


@dataclass
class Backlog:
    """The journal as replay would find it now, without replaying anything."""

    scan: JournalScan
    waiting: list[dict[str, Any]]  # records SQLite does not hold (yet), in the order they were written
    readable: bool  # SQLite said which records it holds (if not, every record counts as waiting)

    @property
    def sales(self) -> list[dict[str, Any]]:
        """The waiting sales, refunds and voids."""
        return [r for r in self.waiting if db.record_type(r) == "sale"]

    @property
    def oldest_waiting_at(self) -> str | None:
        times = [r.get("completed_at") or r.get("at") or r.get("opened_at") or "" for r in self.waiting]
        return min((t for t in times if t), default=None)


class StoreView:
    """The merged read. connect() returns the database connection (None, or sqlite3.Error, when
    there is none to read now); failed(err) is told of every database error met, so that its
    owner can drop or reopen the connection. lock: held around every answer (the Ledger's, whose
    connection the till's threads share)."""

    def __init__(self, journal: Journal, connect: Callable[[], sqlite3.Connection | None],
                 failed: Callable[[sqlite3.Error], None], lock: threading.RLock | None = None,
                 anchor: Callable[[], dict[str, Any] | None] | None = None):
        self.journal = journal
        self._read_anchor = anchor  # the audit anchor's merged copy (audit.Anchor.read), if any
        self._connect = connect
        self._failed = failed
        self._lock = lock if lock is not None else threading.RLock()
        self.error = ""  # the last database error met

    # -- the database ----------------------------------------------------------------------
    def _fail(self, err: sqlite3.Error) -> None:
        self.error = str(err)
        self._failed(err)

    def _connection(self) -> sqlite3.Connection | None:
        try:
            return self._connect()
        except sqlite3.Error as err:
            self._fail(err)
            return None

    def query(self, query: Callable[[sqlite3.Connection], T], default: T) -> T:
        """query(connection) on the database (SQLite alone), or default when it cannot be read."""
        with self._lock:
            conn = self._connection()
            if conn is None:
                return default
            try:
                return query(conn)
            except sqlite3.Error as err:
                self._fail(err)
                return default

    # -- the journal -----------------------------------------------------------------------
    def _scan(self, include_replayed: bool = False) -> JournalScan:
        return self.journal.scan(include_replayed=include_replayed)

    def backlog(self) -> Backlog:
        """What replay has still to bring in: journal records SQLite does not hold (every record
        of the journal's files when SQLite cannot be read)."""
        with self._lock:
            return self._backlog(self._connection())

    def _backlog(self, conn: sqlite3.Connection | None) -> Backlog:
        scan = self._scan()
        records = [entry.record for entry in scan.unique]
        present: dict[str, str] = {}
        readable = conn is not None
        if conn is not None and records:
            try:
                present = db.existing(conn, "uuid", [r["uuid"] for r in records])
            except sqlite3.Error as err:
                self._fail(err)
                readable = False
        return Backlog(scan, [r for r in records if r["uuid"] not in present], readable)

    def _pending(self, unreadable: bool = False) -> tuple[list[dict[str, Any]], bool]:
        """Journaled records SQLite does not hold, and whether SQLite could be read. Unreadable
        (or unreadable=True: the caller's own query failed): every journaled record, retired ones
        included (the database's own copy is out of reach)."""
        conn = None if unreadable else self._connection()
        if conn is not None:
            backlog = self._backlog(conn)
            if backlog.readable:
                return backlog.waiting, True
        scans = (self._scan(include_replayed=True), self._scan())
        by_uuid = {e.record["uuid"]: e.record
                   for scan in scans for e in sorted(scan.records, key=lambda e: (e.file.name, e.line_no))}
        return list(by_uuid.values()), False

    def journaled_sales(self) -> list[dict[str, Any]]:
        """The sale records of the journal's files not yet retired (already in SQLite or not)."""
        return [e.record for e in self._scan().unique if db.record_type(e.record) == "sale"]

    # -- records ---------------------------------------------------------------------------
    def where(self, uuid: str) -> tuple[Where | None, bool]:
        """Where this record is stored ("sqlite", "journal", or None: found nowhere), and whether
        the database could be read (if not, None means unknown)."""
        with self._lock:
            in_sqlite = self.query(lambda c: bool(db.existing(c, "uuid", [uuid])), None)
            if in_sqlite:
                return "sqlite", True
            scan = self._scan()
            if any(e.record["uuid"] == uuid for e in scan.records) or any(r["uuid"] == uuid for r in scan.held):
                return "journal", in_sqlite is not None  # held (its key missing): stored all the same
            return None, in_sqlite is not None

    def is_recorded(self, uuid: str) -> bool | None:
        """Is this record stored anywhere (SQLite or journal)? None: unknown, the database is unreadable."""
        where, readable = self.where(uuid)
        return True if where else False if readable else None

    def products(self) -> list[dict[str, Any]] | None:
        """The catalog rows, or None when the database cannot be read."""
        return self.query(db.load_products, None)

    def users(self) -> list[dict[str, Any]] | None:
        """The user rows (with PIN hashes), or None when the database cannot be read."""
        return self.query(db.load_users, None)

    # -- the commit order ------------------------------------------------------------------
    def commits_after(self, commit_seq: int, limit: int = 500, *, anchored: bool = False) -> list[dict[str, Any]]:
        """THE answer to "what is recorded after commit commit_seq": at most limit envelopes
        ({"commit_seq", "prev_hash", "hash", "record"}) in commit order, SQLite's commits then the
        records only in the journal, numbered and chained as replay will commit them (store/
        commit_log.py). [] when the database cannot be read, unless anchored: then the journal's
        records numbered after the anchor's commit (anchored_commit(); the caller checks that
        number and hash against HQ's before trusting them)."""
        with self._lock:
            found = self._commits(lambda conn: commit_log.after(conn, commit_seq, limit))
            if found is None:
                unread = self._journal_only() if anchored else None
                if unread is None:
                    return []
                return [e for e in chained(unread[1], after=unread[0]) if e["commit_seq"] > commit_seq][:limit]
            stored, head, waiting = found
            if len(stored) >= limit or not waiting:
                return stored
            journaled = [e for e in chained(waiting, after=head) if e["commit_seq"] > commit_seq]
            return stored + journaled[:limit - len(stored)]

    def last_commit(self, *, anchored: bool = False) -> int | None:
        """The number of the last commit, records only in the journal included (as commits_after
        numbers them); None when the database cannot be read (anchored: numbered after the
        anchor's commit then, None without one)."""
        with self._lock:
            found = self._commits(lambda conn: [])
            if found is None:
                unread = self._journal_only() if anchored else None
                return None if unread is None else unread[0][0] + len(unread[1])
            return found[1][0] + len(found[2])

    def anchored_commit(self) -> tuple[int, str] | None:
        """When the database cannot be read: the last SQLite commit the audit anchor saw (number,
        hash), after which the journal's records are numbered (commits_after(anchored=True)). The
        anchor is written after each COMMIT, so it can lag the database, never lead it: a caller
        trusts it only when another witness (HQ's last commit) holds the same number and hash.
        None when the database can be read, or there is no anchor with a commit."""
        with self._lock:
            if self._commits(lambda conn: []) is not None:
                return None
            unread = self._journal_only()
            return None if unread is None else unread[0]

    def _journal_only(self) -> tuple[tuple[int, str], list[dict[str, Any]]] | None:
        """(the anchor's commit, the journal records after it in journal order): the journal's
        records not yet retired, after the anchored commit's own record when the journal holds it
        (replay had brought it in); None without an anchored commit."""
        anchor = self._read_anchor() if self._read_anchor is not None else None
        commit = (anchor or {}).get("commit")
        if not commit:
            return None
        records = [entry.record for entry in self._scan().unique]
        uuids = [r["uuid"] for r in records]
        if commit[2] in uuids:
            records = records[uuids.index(commit[2]) + 1:]
        return (int(commit[0]), str(commit[1])), records

    def _commits(self, read: Callable[[sqlite3.Connection], list[dict[str, Any]]]
                 ) -> tuple[list[dict[str, Any]], tuple[int, str], list[dict[str, Any]]] | None:
        """(read(conn), the head of SQLite's commits, the journal's records SQLite does not hold),
        in one go; None when the database cannot be read."""
        conn = self._connection()
        if conn is None:
            return None
        try:
            stored, head = read(conn), commit_log.head(conn)
        except sqlite3.Error as err:
            self._fail(err)
            return None
        backlog = self._backlog(conn)
        return (stored, head, backlog.waiting) if backlog.readable else None

    # -- sales -----------------------------------------------------------------------------
    def sales(self, since: str | None) -> tuple[list[dict[str, Any]], bool]:
        """Sales in SQLite plus those only in the journal, oldest first, with where each is; and
        whether the database could be read."""
        with self._lock:
            listed = self.query(lambda c: db.list_sales(c, since), None)
            stored = listed or []
            for row in stored:
                row["stored"] = "sqlite"
            known = {row["uuid"] for row in stored}
            journaled = [
                {**{k: r[k] for k in ("uuid", "receipt", "seq", "till_id", "cashier", "completed_at", "total", "change")},
                 "kind": r.get("kind", "sale"), "original_uuid": r.get("original_uuid"),
                 "original_receipt": r.get("original_receipt"), "stored_via": "journal", "stored": "journal"}
                for r in self.journaled_sales()
                if r["uuid"] not in known and (since is None or r["completed_at"] >= since)
            ]
            return sorted(stored + journaled, key=lambda r: (r["completed_at"], r["seq"])), listed is not None

    def last_sale(self) -> dict[str, Any] | None:
        """The newest sale (by completed_at), wherever it is stored: receipt, completed_at, total, stored."""
        with self._lock:
            newest = self.query(_newest_sale, None)
            candidates = [newest] if newest else []
            candidates += [{"receipt": r["receipt"], "completed_at": r["completed_at"], "total": r["total"],
                            "stored": "journal"} for r in self.backlog().waiting if "receipt" in r and "completed_at" in r]
            return max(candidates, key=lambda s: s["completed_at"], default=None)

    def last_sale_at(self, till_id: str, before_seq: int) -> tuple[str, str] | None:
        """(completed_at, receipt) of the till's latest stored sale numbered before before_seq (in
        time order), or None (none, or the database cannot be read)."""
        return self.query(lambda c: c.execute(
            "SELECT completed_at, receipt FROM sale WHERE till_id = ? AND seq < ? ORDER BY completed_at DESC "
            "LIMIT 1", (till_id, before_seq)).fetchone(), None)

    def find_sales(self, *, receipt: str | None = None, original_uuid: str | None = None,
                   last_of_till: str | None = None) -> list[dict[str, Any]]:
        """Sale records (sales, refunds, voids) by receipt number, by the sale they reverse, or
        a till's last one, from the database and the journal."""
        return [record for record, _ in self._find(receipt=receipt, original_uuid=original_uuid,
                                                   last_of_till=last_of_till)]

    def sale_by_receipt(self, receipt: str) -> tuple[dict[str, Any], Where] | None:
        """The sale record with this receipt number, and where it is stored."""
        found = self._find(receipt=receipt)
        return found[0] if found else None

    def _find(self, *, receipt: str | None = None, original_uuid: str | None = None,
              last_of_till: str | None = None) -> list[tuple[dict[str, Any], Where]]:
        with self._lock:
            pending, readable = self._pending()
            stored: list[dict[str, Any] | None] = self.query(lambda c: [db.load_sale_record(c, u) for u in db.sale_uuids(
                c, receipt=receipt, original_uuid=original_uuid, last_of_till=last_of_till)], []) if readable else []
            journaled = [r for r in pending if db.record_type(r) == "sale" and (
                r["receipt"] == receipt if receipt is not None else
                r.get("original_uuid") == original_uuid if original_uuid is not None else
                r["till_id"] == last_of_till and r.get("kind", "sale") == "sale")]
            found: list[tuple[dict[str, Any], Where]] = [(r, "sqlite") for r in stored if r is not None]
            found += [(r, "journal") for r in journaled]
            if last_of_till is not None:
                return sorted(found, key=lambda f: f[0]["seq"])[-1:]
            return found

    def without_receipt(self, states: dict[tuple[str, str], dict[str, Any]], *,
                        tenders: bool = True) -> list[dict[str, Any]]:
        """print_jobs.without_receipt (THE list of paid sales without a receipt) over the database
        and the backlog's sales; states: the PrintStateLog's."""
        with self._lock:
            conn = self._connection()
            backlog = self._backlog(conn)
            try:
                return print_jobs.without_receipt(conn if backlog.readable else None, backlog.sales, states,
                                                  tenders=tenders)
            except sqlite3.Error as err:
                self._fail(err)
                return print_jobs.without_receipt(None, self._backlog(None).sales, states, tenders=tenders)

    # -- code payments ---------------------------------------------------------------------
    def payment_attempts(self, *, unresolved: bool = False,
                         sale_uuid: str | None = None) -> tuple[list[dict[str, Any]], bool]:
        """THE answer to "which code payments, in which state, and is each paid one in a stored
        sale" (store/payments.py): every attempt (unresolved: those that may need someone: open
        or unknown, or paid/refunded and in no stored sale; sale_uuid: that sale's; both: either,
        in one read: what a new code payment checks), oldest first, each its record's fields with state, transaction_id, charged, reason, code,
        outcome_at, sale_completed and stored ("sqlite" or "journal"); journaled records
        included. And whether the database could be read (if not: the journal's alone)."""
        with self._lock:
            pending, readable = self._pending()
            mine = [r for r in pending if db.record_type(r) in ("payment_attempt", "payment_outcome", "sale")]
            # unresolved: the database's attempts that need someone (indexed) are enough: what the
            # journal holds only settles them further (its outcomes, its sales carrying them)
            stored: list[dict[str, Any]] | None = self.query(
                lambda c: payments.attempts(c, needs_someone=unresolved, sale_uuid=sale_uuid), None) \
                if readable else None
            readable = readable and stored is not None
            found, recheck = payments.merge(stored or [], mine)
            if recheck and readable:
                no_pairs: set[tuple[str, str]] = set()
                carried = self.query(lambda c: payments.sales_carrying(c, [payments.carried_by(a) for a in recheck]),
                                     no_pairs)
                for attempt in recheck:
                    attempt["sale_completed"] = payments.carried_by(attempt) in carried
            if sale_uuid is not None or unresolved:
                found = [a for a in found if a["sale_uuid"] == sale_uuid or unresolved and payments.needs_someone(a)]
            return found, readable

    # -- shifts ----------------------------------------------------------------------------
    def open_shift(self, till_id: str) -> tuple[dict[str, Any] | None, bool]:
        """The open shift's shift_open record (or None), and whether the database could say."""
        with self._lock:
            pending, readable = self._pending()
            stored = self.query(lambda c: db.open_shift_row(c, till_id), _UNREADABLE) if readable else None
            readable = readable and stored is not _UNREADABLE  # the shift pages alone may be damaged
            stored = stored if readable else None
            closed = {r["shift_uuid"] for r in pending if db.record_type(r) == "shift_close"}
            candidates = [r for r in pending if db.record_type(r) == "shift_open" and r["till_id"] == till_id]
            candidates = [r for r in candidates + ([stored] if stored else []) if r["uuid"] not in closed]
            if readable and candidates:
                closed |= self.query(lambda c: db.closed_shifts(c, [r["uuid"] for r in candidates]), set())
                candidates = [r for r in candidates if r["uuid"] not in closed]
            return max(candidates, key=lambda r: r["number"], default=None), readable

    def current_shift(self, till_id: str, saved: Callable[[], dict[str, Any] | None]) -> dict[str, Any] | None:
        """The open shift as the till takes it: what is stored says, when the database could be
        read; else the shift the till last saved (saved(): its shift document), else the journal's."""
        record, certain = self.open_shift(till_id)
        if certain:
            return record
        document = saved()
        return document["shift"] if document and document.get("shift") else record

    def shift_closed(self, shift_uuid: str) -> bool:
        """Does the database hold this shift's Z report? One indexed lookup (False: no, or unreadable)."""
        return self.query(lambda c: bool(db.closed_shifts(c, [shift_uuid])), False)

    def shift_totals(self, shift_uuid: str) -> tuple[dict[str, Any], int, bool]:
        """(the shift's totals, how many of its records are only in the journal, whether the
        database could be read: if not, the totals are the journal's alone)."""
        with self._lock:
            pending, readable = self._pending()
            stored = self.query(lambda c: shift_totals.shift_totals(c, shift_uuid), None) if readable else None
            if readable and stored is None:  # only the sales pages are damaged: the journal's full copy
                pending, readable = self._pending(unreadable=True)
            journaled = [r for r in pending if r.get("shift_uuid") == shift_uuid]
            extra = shift_totals.journal_shift_totals(journaled, shift_uuid)
            totals = shift_totals.add_totals(stored or shift_totals.empty_shift_totals(), extra)
            return totals, len(journaled), stored is not None

    def unapproved_paid_out(self, shift_uuid: str) -> int:
        """What the shift's paid-outs without a manager add up to, journaled ones included."""
        with self._lock:
            pending, readable = self._pending()
            stored = self.query(lambda c: db.unapproved_paid_out(c, shift_uuid), 0) if readable else 0
            return stored + sum(r["amount"] for r in pending if db.record_type(r) == "cash_movement"
                                and r["shift_uuid"] == shift_uuid and r["kind"] == "paid_out"
                                and not r.get("approved_by"))

    def z_reports(self, till_id: str, number: int | None = None) -> list[dict[str, Any]]:
        """Stored Z reports (shift_close records), newest first; journaled ones included."""
        with self._lock:
            pending, readable = self._pending()
            stored: list[dict[str, Any]] = self.query(lambda c: db.z_report_rows(c, till_id, number), []) \
                if readable else []
            journaled = [r for r in pending if db.record_type(r) == "shift_close" and r["till_id"] == till_id
                         and (number is None or r["z_number"] == number)]
            return sorted(stored + journaled, key=lambda r: -r["z_number"])

    # -- periods ---------------------------------------------------------------------------
    def period_totals(self, start: str, end: str) -> tuple[dict[str, Any], int, bool]:
        """(the totals of the sales, refunds and voids completed in [start, end) (stored UTC
        times), how many of them are only in the journal, whether the database could be read)."""
        with self._lock:
            pending, readable = self._pending()
            stored = self.query(lambda c: period_totals.period_totals(c, start, end), None) if readable else None
            journaled = [r for r in pending if period_totals.in_period(r, start, end)]
            totals = stored or period_totals.empty_period_totals()
            if journaled:  # adding walks every figure: only when there is something to add
                products: list[dict[str, Any]] = self.query(db.load_products, []) if readable else []
                totals = shift_totals.add_totals(
                    totals, period_totals.journal_period_totals(journaled, products, start, end))
            return totals, len(journaled), stored is not None

    # -- stock -----------------------------------------------------------------------------
    def stock_levels(self, barcodes: list[str] | None = None,
                     with_level: bool = False) -> tuple[list[dict[str, Any]] | None, int]:
        """Every product (or these, or those with a reorder level) with its stock on hand (store/stock.py levels: milli-units),
        what the journal holds and SQLite does not yet included; and how many such journaled
        records moved stock. None: the database (the catalog) cannot be read."""
        with self._lock:
            pending, readable = self._pending()
            rows = self.query(lambda c: stock.levels(c, barcodes, with_level), None) if readable else None
            if rows is None:
                return None, 0
            moving = [r for r in pending if db.record_type(r) in ("sale", "stock_move")]
            deltas = stock.journal_deltas(moving)
            for row in rows:
                if row["barcode"] in deltas:
                    row["on_hand"] += deltas[row["barcode"]]
                    row["tracked"] = True
            return rows, len(moving)

    def stock_period(self, lookback: str, first: str, last: str, outflow_min: int) -> dict[str, Any] | None:
        """What moved stock over the local days first..last (YYYY-MM-DD; store/stock_daily.py),
        journaled records included: {"outflow": barcode -> day -> milli-units sold, over the days
        lookback..last, of the products that sold at least outflow_min on a day of the period (and
        of any a journaled record moved), "last_moved": barcode -> the last day it moved at all,
        "moved_after": barcode -> net movement after the period, "came_in": barcode -> what came
        in during it}. None: the database cannot be read."""
        with self._lock:
            pending, readable = self._pending()
            journaled = stock_daily.summed(row for r in pending for row in stock_daily.contributions(r))
            also = sorted({barcode for _, barcode in journaled})

            def read(conn: sqlite3.Connection) -> dict[str, Any]:
                return {"outflow": stock_daily.outflow(conn, lookback, first, last, outflow_min, also),
                        "last_moved": stock_daily.last_moved(conn), "moved_after": stock_daily.net_after(conn, last),
                        "came_in": stock_daily.came_in(conn, first, last)}

            found: dict[str, Any] | None = self.query(read, None) if readable else None
            if found is None:
                return None
            for (day, barcode), (sold, qty_in, qty_out) in journaled.items():
                if sold and lookback <= day <= last:
                    days = found["outflow"].setdefault(barcode, {})
                    days[day] = days.get(day, 0) + sold
                found["last_moved"][barcode] = max(found["last_moved"].get(barcode, ""), day)
                if day > last:
                    found["moved_after"][barcode] = found["moved_after"].get(barcode, 0) + qty_in - qty_out
                elif day >= first and qty_in:
                    found["came_in"][barcode] = found["came_in"].get(barcode, 0) + qty_in
            return found

    def stock_days(self, barcode: str, first: str, last: str) -> dict[str, list[int]] | None:
        """One product's days first..last (YYYY-MM-DD) that moved: day -> [sold, qty_in, qty_out]
        (store/stock_daily.py), journaled records included. None: the database cannot be read."""
        with self._lock:
            pending, readable = self._pending()
            found = self.query(lambda c: stock_daily.of_product(c, barcode, first, last), None) if readable else None
            if found is None:
                return None
            journaled = stock_daily.summed(row for r in pending for row in stock_daily.contributions(r))
            for (day, code), figures in journaled.items():
                if code == barcode and first <= day <= last:
                    found[day] = [a + b for a, b in zip(found.get(day, [0, 0, 0]), figures)]
            return found

    def stock_moves(self, start: str, end: str, kinds: tuple[str, ...] = (),
                    barcodes: list[str] | None = None) -> list[dict[str, Any]] | None:
        """Stock movement records in [start, end) (stored UTC times; of these kinds, of these
        products), journaled ones included, in the order stored. None: the database cannot be read."""
        with self._lock:
            pending, readable = self._pending()
            found = self.query(lambda c: stock.moves(c, start=start, end=end, kinds=kinds, barcodes=barcodes),
                               None) if readable else None
            if found is None:
                return None
            wanted = None if barcodes is None else set(barcodes)
            return found + [r for r in stock.journal_moves(pending) if start <= r["at"] < end
                            and (not kinds or r["kind"] in kinds) and (wanted is None or r["barcode"] in wanted)]

    def stock_sold(self, start: str, end: str, barcodes: list[str]) -> list[tuple[str, str, int]] | None:
        """(barcode, at, qty milli-units: negative for a sale) of these products' sale lines
        completed in [start, end), journaled ones included. None: the database cannot be read."""
        with self._lock:
            pending, readable = self._pending()
            found = self.query(lambda c: stock.sold(c, start, end, barcodes), None) if readable else None
            if found is None:
                return None
            wanted = set(barcodes)
            return found + [(line["barcode"], r["completed_at"], -line["qty"] * stock.QTY_SCALE) for r in pending
                            if db.record_type(r) == "sale" and start <= r["completed_at"] < end
                            for line in r["lines"] if not line["voided"] and line["barcode"] in wanted]

    def stock_receipts(self, until: str, barcodes: list[str] | None = None) -> list[tuple[Any, ...]] | None:
        """(barcode, expected, qty, unit_cost) of every receive stored before until (of these
        products), journaled ones included, in the order stored: what the moving average cost is
        made of. None: the database cannot be read."""
        with self._lock:
            pending, readable = self._pending()
            found = self.query(lambda c: stock.receipt_lots(c, until, barcodes), None) if readable else None
            if found is None:
                return None
            wanted = None if barcodes is None else set(barcodes)
            return found + [(r["barcode"], r["expected"], r["qty"], r["unit_cost"]) for r in stock.journal_moves(pending)
                            if r["kind"] == "receive" and r["at"] < until and (wanted is None or r["barcode"] in wanted)]

    def risk_facts(self, start: str, end: str) -> dict[str, Any] | None:
        """What the operation-risk warnings read over [start, end), journaled records included:
        {"per_cashier": cashier -> counts (store/stock.py risk_counts), "refunds": [(refund,
        original sale)]}. None: the database cannot be read."""
        with self._lock:
            pending, readable = self._pending()

            def read(conn: sqlite3.Connection) -> dict[str, Any]:
                pairs = [(db.load_sale_record(conn, r), db.load_sale_record(conn, o))
                         for r, o in stock.refund_uuids(conn, start, end)]
                return {"per_cashier": stock.risk_counts(conn, start, end), "refunds": pairs}

            found: dict[str, Any] | None = self.query(read, None) if readable else None
            if found is None:
                return None
            stock.journal_risk_counts(pending, start, end, found["per_cashier"])
            journaled = {r["uuid"]: r for r in pending if db.record_type(r) == "sale"}
            for refund in journaled.values():
                if refund.get("kind") == "refund" and start <= refund["completed_at"] < end:
                    original = journaled.get(refund["original_uuid"]) or self.query(
                        functools.partial(db.load_sale_record, uuid=refund["original_uuid"]), None)
                    found["refunds"].append((refund, original))
            found["refunds"] = [(r, o) for r, o in found["refunds"] if r is not None and o is not None]
            return found


def _newest_sale(conn: sqlite3.Connection) -> dict[str, Any] | None:
    row = conn.execute("SELECT receipt, completed_at, total FROM sale ORDER BY completed_at DESC, seq DESC "
                       "LIMIT 1").fetchone()
    return None if row is None else {"receipt": row[0], "completed_at": row[1], "total": row[2], "stored": "sqlite"}


class ReadOnlyDatabase:
    """The database opened read-only on first use, in one read transaction (every answer from one
    snapshot). Once it could not be opened or a read failed, it stays unread (what is read after
    comes from the journal alone) and state and error say why."""

    def __init__(self, path: Path, busy_timeout_ms: int):
        self.path = path
        self.busy_timeout_ms = busy_timeout_ms
        self.state: DatabaseState = "ok"
        self.error = ""
        self._conn: sqlite3.Connection | None = None

    def connection(self) -> sqlite3.Connection | None:
        if self._conn is None and self.state == "ok":
            try:
                conn = open_read_only(self.path, self.busy_timeout_ms)
            except DatabaseUnavailable as err:
                self.state, self.error = err.state, str(err)
                return None
            self._conn = conn
            try:
                conn.execute("BEGIN")  # one snapshot for every answer
            except sqlite3.Error as err:
                self.failed(err)
        return self._conn

    def failed(self, err: sqlite3.Error) -> None:
        if self.state == "ok":
            self.state, self.error = database_state(err), str(err)
        self.close()

    def close(self) -> None:
        db.close_quietly(self._conn)
        self._conn = None


class ReadOnlyView(StoreView):
    """The view for those who must not write (ops status, doctor, monitor): the database opened
    read-only, never created; the journal only scanned. self.database says whether the database
    could be read and, if not, why. A context manager (closes the connection)."""

    def __init__(self, db_path: Path, journal: Journal, busy_timeout_ms: int):
        self.database = ReadOnlyDatabase(db_path, busy_timeout_ms)
        super().__init__(journal, self.database.connection, self.database.failed,
                         anchor=audit.Anchor([db_path.parent, *journal.dirs]).read)
        self.database.connection()  # open now: state says at once whether it can be read
        self._scans: dict[bool, JournalScan] = {}

    def _scan(self, include_replayed: bool = False) -> JournalScan:
        """The journal read once, like the database (one snapshot of what is stored)."""
        if include_replayed not in self._scans:
            self._scans[include_replayed] = super()._scan(include_replayed)
        return self._scans[include_replayed]

    def close(self) -> None:
        self.database.close()

    def __enter__(self) -> ReadOnlyView:
        return self

    def __exit__(self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None) -> None:
        self.close()
