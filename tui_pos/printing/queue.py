"""The print queue: every paid sale's receipt is printed after the sale, never on its path, and
nothing is printed twice unless it says COPY.

Where the jobs are (store/print_jobs.py has the states and the SQL):
- a sale in SQLite has a 'receipt' print_job row, written in the sale's own transaction;
- a sale only in the journal (degraded mode) has no row until replay inserts it: it counts as
  pending, and its print states go to the PrintStateLog beside the journal; once replay has
  brought it in, the log's last state is copied onto the new row (reconcile), so replay never
  makes a printed receipt print again.

One process prints at a time (flock on ``printer.lock`` in the data directory, plus a thread
lock): the till's worker, or a CLI command. Holding the lock means nobody is mid-receipt, so a
job found in 'printing' then was interrupted by a crash: it becomes 'uncertain'.
"""

from __future__ import annotations

import fcntl
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any

from tui_pos.app.clock import utc_now
from tui_pos.config import Config
from tui_pos.i18n import _
from tui_pos.printing.layout import Layout, ReceiptOptions, receipt_layout
from tui_pos.printing.printer import Printer
from tui_pos.printing.transports import PrinterUnavailable, WriteIncomplete, describe
from tui_pos.store import db
from tui_pos.store import print_jobs as pj
from tui_pos.store.journal import Journal
from tui_pos.store.view import StoreView

log = logging.getLogger("tui_pos.printing")
LOCK_NAME = "printer.lock"
WORKER_LOCK_NAME = "print-worker.lock"  # held by a running till's print worker for its lifetime
DRAWER_WINDOW_S = 60  # the drawer opens with a receipt only while the customer is still there
INTERRUPTED = "interrupted while printing (the till stopped): check whether the receipt came out"


@dataclass(frozen=True)
class PrintResult:
    uuid: str
    receipt: str
    kind: str  # receipt | copy
    state: str  # printed | failed | uncertain | pending (not attempted) | printing (someone else has it)
    error: str = ""
    busy: bool = False  # failed because another program or process holds the printer

    @property
    def printed(self) -> bool:
        return self.state == pj.PRINTED


@dataclass(frozen=True)
class Unprinted:
    """A paid sale whose customer has no receipt (yet)."""

    uuid: str
    receipt: str
    total: int
    completed_at: str
    cashier: str
    state: str  # pending | printing | failed | uncertain
    attempts: int
    last_error: str
    tenders: tuple[dict[str, Any], ...] = ()
    stored: str = "sqlite"  # or "journal": not in the database yet (degraded mode)

    @property
    def references(self) -> list[str]:
        return [t["reference"] for t in self.tenders if t.get("reference")]


@dataclass
class _Work:
    record: dict[str, Any]
    job_id: int | None  # None: the sale is only in the journal
    attempts: int
    state: str = pj.PENDING

    @property
    def uuid(self) -> str:
        return self.record["uuid"]


class PrinterLock:
    """At most one printing process per data directory, and one thread within it."""

    def __init__(self, path: Path):
        self.path = path
        self._thread_lock = threading.Lock()
        self._fd: int | None = None

    def acquire(self, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        if not self._thread_lock.acquire(timeout=max(timeout_s, 0)):
            return False
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError:
            self._thread_lock.release()
            return False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                self._fd = fd
                return True
            except OSError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    self._thread_lock.release()
                    return False
                time.sleep(0.05)

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None
            self._thread_lock.release()

    @contextmanager
    def held(self, timeout_s: float = 0) -> Iterator[bool]:
        got = self.acquire(timeout_s)
        try:
            yield got
        finally:
            if got:
                self.release()


def worker_running(data_dir: Path) -> bool:
    """Is a till's print worker running on this data directory (it will print what we cannot)?"""
    try:
        fd = os.open(data_dir / WORKER_LOCK_NAME, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return False
    except OSError:
        return True
    finally:
        os.close(fd)  # also drops the lock if we got it


def print_now(config: Config, layout_of: Callable[[ReceiptOptions], Layout], what: str,
              queue: PrintQueue | None = None, lock_timeout_s: float = 5.0) -> tuple[bool, str]:
    """Print a layout now, beside the receipts' queue, best effort (an X/Z report, a transfer's
    slip: stored before it is printed, so a printer that fails costs a reprint, never the record):
    (printed, why not). Never raises; with no printer configured touches nothing. queue: the
    caller's (a running till's), else one is opened for this and closed again; what: for the log."""
    if config.printer.connection == "none":
        return False, _("no receipt printer is configured")
    own = queue is None
    try:
        queue = queue or PrintQueue(config)
    except Exception as err:  # noqa: BLE001 - e.g. a bad [printer] connection: said, not raised
        return False, describe(err)
    try:
        with queue.lock.held(lock_timeout_s) as got:
            if not got:
                return False, _("the printer is busy printing")
            status = queue.printer.probe()
            if not status.can_print:
                return False, status.text
            queue.printer.send(queue.render(layout_of(queue.options)))
            return True, ""
    except (PrinterUnavailable, WriteIncomplete) as err:
        return False, str(err)
    except Exception as err:  # noqa: BLE001 - a printing bug must not reach the till closing its shift
        log.exception("printing the %s failed", what)
        return False, describe(err)
    finally:
        if own:
            queue.close()


class PrintQueue:
    def __init__(self, config: Config, printer: Printer | None = None, *, clock: Callable[[], str] = utc_now,
                 tz: tzinfo | None = None, render: Callable[[Layout], bytes] | None = None):
        self.config = config
        self.printer = printer if printer is not None else Printer.from_config(config)
        self.options = ReceiptOptions.from_config(config, tz)
        self.clock = clock
        self.journal = Journal(config.storage.journal_dirs, config.till_id, config.data_dir)  # read only: scan()
        self.state_log = pj.PrintStateLog(config.storage.journal_dirs)
        self.lock = PrinterLock(config.data_dir / LOCK_NAME)
        self._render = render
        self._conn: sqlite3.Connection | None = None
        self.view = StoreView(self.journal, self._db, self._db_failed)  # what is stored, on our own connection
        self._unrenderable: set[str] = set()  # sales whose record cannot be laid out (logged once)

    # -- storage ------------------------------------------------------------------------------
    def _db(self) -> sqlite3.Connection | None:
        """Our own connection (never the till's: the worker runs in its own thread)."""
        if self._conn is None:
            if not self.config.db_path.exists():
                return None
            try:
                self._conn = db.connect(self.config.db_path, self.config.storage.busy_timeout_ms)
                try:
                    pj.ensure_indexes(self._conn)
                except sqlite3.Error:
                    pass  # an index is an optimisation; a locked database must not stop printing
            except sqlite3.Error as err:
                log.warning("print queue: database unavailable: %s", err)
                self._conn = None
        return self._conn

    def _db_failed(self, err: Exception) -> None:
        log.warning("print queue: database error: %s", err)
        db.close_quietly(self._conn)
        self._conn = None

    def close(self) -> None:
        self.printer.close()
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _recover(self) -> None:
        """Under the printer lock: 'printing' left by a crash -> uncertain; apply the state log
        to sales replay has brought into SQLite."""
        now = self.clock()
        conn = self._db()
        if conn is not None:
            try:
                recovered = pj.stale_printing(conn, INTERRUPTED, now)
                if recovered:
                    log.warning("print queue: %d receipt(s) interrupted mid-print are now uncertain", recovered)
                self.state_log.reconcile(conn, now)
            except sqlite3.Error as err:
                self._db_failed(err)
        for (uuid, kind), entry in self.state_log.states().items():
            if entry["state"] == pj.PRINTING:
                try:
                    self.state_log.record(uuid, kind, pj.UNCERTAIN, entry["attempts"], INTERRUPTED, now)
                except OSError as err:
                    log.warning("print queue: %s", err)

    def _work(self) -> list[_Work]:
        """What should be printed now, oldest first: receipt jobs pending or failed, and
        journaled sales whose receipt has no state yet (or failed)."""
        conn = self._db()
        work: list[_Work] = []
        if conn is not None:
            try:
                for job in pj.jobs_to_print(conn):
                    record = db.load_sale_record(conn, job.sale_uuid)
                    if record is not None:
                        work.append(_Work(record, job.id, job.attempts, job.state))
            except sqlite3.Error as err:
                self._db_failed(err)
                conn = None
        states = self.state_log.states()
        for record in self.view.backlog().sales:
            entry = states.get((record["uuid"], pj.RECEIPT))
            state = entry["state"] if entry else pj.PENDING
            if state in pj.TO_PRINT and states.get((record["uuid"], pj.COPY), {}).get("state") != pj.PRINTED:
                work.append(_Work(record, None, entry["attempts"] if entry else 0, state))
        work.sort(key=lambda w: (w.record["completed_at"], w.record["seq"]))
        return work

    def _claim(self, work: _Work) -> bool:
        """pending|failed -> printing, durably, before the first byte is sent."""
        now = self.clock()
        if work.job_id is None:
            try:
                self.state_log.record(work.uuid, pj.RECEIPT, pj.PRINTING, work.attempts + 1, "", now)
                return True
            except OSError as err:
                log.warning("print queue: not printing %s: %s", work.record["receipt"], err)
                return False
        conn = self._db()
        if conn is None:
            return False
        try:
            return pj.claim(conn, work.job_id, now)
        except sqlite3.Error as err:
            self._db_failed(err)
            return False

    def _finish(self, work: _Work, kind: str, state: str, error: str, job_id: int | None = None) -> None:
        now = self.clock()
        job_id = work.job_id if job_id is None else job_id
        if job_id is None:
            try:
                self.state_log.record(work.uuid, kind, state, work.attempts + 1, error, now)
            except OSError as err:  # stays 'printing': recovery makes it uncertain, never reprinted
                log.warning("print queue: %s", err)
            return
        conn = self._db()
        try:
            if conn is None or not pj.finish(conn, job_id, state, error, now):
                log.warning("print queue: could not record %s for %s", state, work.record["receipt"])
        except sqlite3.Error as err:
            self._db_failed(err)

    # -- printing -------------------------------------------------------------------------------
    def layout(self, record: dict[str, Any], copy: bool = False, drawer: bool = False) -> Layout:
        return receipt_layout(record, self.options, copy=copy, drawer=drawer)

    def render(self, layout: Layout) -> bytes:
        if self._render is not None:
            return self._render(layout)
        from tui_pos.printing.render import render  # python-escpos: imported on the first receipt

        return render(layout)

    def _opens_drawer(self, work: _Work) -> bool:
        """The original receipt of a cash sale, on its first attempt, while the customer is there."""
        if not self.config.printer.drawer or work.attempts:
            return False
        if not any(t["kind"] == "cash" for t in work.record["tenders"]):
            return False
        try:
            age = datetime.fromisoformat(self.clock()) - datetime.fromisoformat(work.record["completed_at"])
        except (ValueError, TypeError):  # unreadable or naive time: no surprise drawer opening
            return False
        return age.total_seconds() <= DRAWER_WINDOW_S

    def _attempt(self, work: _Work, *, probed_ok: bool = False) -> PrintResult:
        """One receipt: claim, check the printer, send, record the outcome."""
        receipt = work.record.get("receipt", "?")
        try:
            data = self.render(self.layout(work.record, drawer=self._opens_drawer(work)))
        except Exception as err:  # noqa: BLE001 - a bad record must not stop the other receipts
            if work.uuid not in self._unrenderable:
                log.exception("print queue: cannot lay out receipt %s (it stays unprinted)", receipt)
                self._unrenderable.add(work.uuid)
            return PrintResult(work.uuid, receipt, pj.RECEIPT, pj.PENDING, f"cannot lay out the receipt: {err!r}")
        if not self._claim(work):
            return PrintResult(work.uuid, receipt, pj.RECEIPT, pj.PRINTING, "not claimed (taken, or state not recorded)")
        state, error, busy = self._send(data, probed_ok)
        self._finish(work, pj.RECEIPT, state, error)
        return PrintResult(work.uuid, receipt, pj.RECEIPT, state, error, busy)

    def _send(self, data: bytes, probed_ok: bool) -> tuple[str, str, bool]:
        if not probed_ok:
            status = self.printer.probe()
            if not status.can_print:
                return pj.FAILED, status.text, "busy" in status.error
        try:
            self.printer.send(data)
        except PrinterUnavailable as err:
            return pj.FAILED, str(err), err.busy
        except WriteIncomplete as err:
            return pj.UNCERTAIN, f"the printer stopped taking the receipt: {err}", False
        if self.printer.answers_status:
            after = self.printer.probe()
            if after.answered and not after.can_print:
                return pj.UNCERTAIN, f"sent, then {after.text}: it may print when the printer is fixed", False
        return pj.PRINTED, "", False

    def run_once(self, lock_timeout_s: float = 0) -> list[PrintResult]:
        """Print what is waiting, while the printer takes it. Nothing is touched when the printer
        is not ready (the jobs simply wait), so a printer that is off costs one probe per call."""
        with self.lock.held(lock_timeout_s) as got:
            if not got:
                return []
            self._recover()
            work = [w for w in self._work() if w.uuid not in self._unrenderable]
            if not work or not self.printer.probe().can_print:
                return []
            results = []
            for index, item in enumerate(work):
                # between receipts: the status read right after the last one (printers that
                # answer), else a fresh probe (cheap: a silent printer is not waited for)
                if index and not (self.printer.last_status if self.printer.answers_status
                                  else self.printer.probe()).can_print:
                    break
                result = self._attempt(item, probed_ok=True)  # probed just above (or before the loop)
                results.append(result)
                if result.state in (pj.FAILED, pj.UNCERTAIN):
                    break  # a printer problem: the rest wait for the next round
            return results

    def print_sale(self, uuid: str, wait_s: float = 4.0) -> PrintResult:
        """Print one sale's receipt now (`tui-pos sell`), waiting at most about wait_s. If a running
        till has the printer (printing, or holding the USB interface), let its worker print the
        receipt and report what it reached."""
        deadline = time.monotonic() + wait_s
        attempted = False
        while True:
            if not attempted:
                with self.lock.held(min(0.25, max(deadline - time.monotonic(), 0))) as got:
                    if got:
                        attempted = True
                        self._recover()
                        work = next((w for w in self._work() if w.uuid == uuid), None)
                        if work is not None:
                            result = self._attempt(work)
                            if not (result.busy and worker_running(self.config.data_dir)):
                                return result  # else the running till holds the printer: it prints it
            current = self.receipt_state(uuid)
            if current is None:
                return PrintResult(uuid, "", pj.RECEIPT, pj.FAILED, "no such sale")
            if current.state not in (pj.PENDING, pj.FAILED, pj.PRINTING) or time.monotonic() >= deadline:
                return current
            time.sleep(0.1)

    def receipt_state(self, uuid: str) -> PrintResult | None:
        """Where this sale's receipt stands (printed if a copy was printed)."""
        conn = self._db()
        if conn is not None:
            try:
                job = pj.receipt_job(conn, uuid)
                if job is not None:
                    receipt = pj.receipts_of(conn, [uuid]).get(uuid, "")
                    state = self._with_log(job.state, job.attempts, uuid)
                    return PrintResult(uuid, receipt, pj.RECEIPT, state, job.last_error)
            except sqlite3.Error as err:
                self._db_failed(err)
        states = self.state_log.states()
        for record in self.view.backlog().sales:
            if record["uuid"] == uuid:
                entry = states.get((uuid, pj.RECEIPT))
                return PrintResult(uuid, record["receipt"], pj.RECEIPT, entry["state"] if entry else pj.PENDING,
                                   entry["error"] if entry else "")
        return None

    def _with_log(self, state: str, attempts: int, uuid: str) -> str:
        """A row replay inserted (pending, never attempted) whose sale was printed while
        journaled: the log knows better until reconcile() has run."""
        if state == pj.PENDING and not attempts:
            entry = self.state_log.states().get((uuid, pj.RECEIPT))
            if entry:
                return pj.logged_state(entry)
        return state

    # -- the cashier's side ---------------------------------------------------------------------------
    def find_sale(self, receipt: str) -> tuple[dict[str, Any], bool] | None:
        """The sale record with this receipt number, and whether it is in SQLite."""
        found = self.view.sale_by_receipt(receipt)
        return None if found is None else (found[0], found[1] == "sqlite")

    def reprint(self, receipt: str, lock_timeout_s: float = 5.0) -> PrintResult:
        """Print a COPY of any receipt now. Nothing is recorded unless it was sent."""
        found = self.find_sale(receipt)
        if found is None:
            return PrintResult("", receipt, pj.COPY, pj.FAILED, f"no sale with receipt number {receipt}")
        record, in_sqlite = found
        with self.lock.held(lock_timeout_s) as got:
            if not got:
                return PrintResult(record["uuid"], receipt, pj.COPY, pj.FAILED, "the printer is busy printing", True)
            self._recover()
            try:
                data = self.render(self.layout(record, copy=True))
            except Exception as err:  # noqa: BLE001 - reported, not raised
                log.exception("print queue: cannot lay out receipt %s", receipt)
                return PrintResult(record["uuid"], receipt, pj.COPY, pj.FAILED, f"cannot lay out the receipt: {err!r}")
            status = self.printer.probe()
            if not status.can_print:
                return PrintResult(record["uuid"], receipt, pj.COPY, pj.FAILED, status.text, "busy" in status.error)
            work = _Work(record, None, 0)
            now = self.clock()
            job_id: int | None = None
            try:
                if in_sqlite:
                    conn = self._db()
                    if conn is None:
                        raise sqlite3.OperationalError("database unavailable")
                    job_id = pj.insert_copy(conn, record["uuid"], now)
                else:
                    self.state_log.record(record["uuid"], pj.COPY, pj.PRINTING, 1, "", now)
            except (sqlite3.Error, OSError) as err:
                return PrintResult(record["uuid"], receipt, pj.COPY, pj.FAILED, f"copy not recorded, not printed: {err}")
            state, error, busy = self._send(data, probed_ok=True)
            self._finish(work, pj.COPY, state, error, job_id=job_id if in_sqlite else None)
            return PrintResult(record["uuid"], receipt, pj.COPY, state, error, busy)

    def open_drawer(self, lock_timeout_s: float = 2.0) -> tuple[bool, str]:
        """Kick the cash drawer alone (a manager-approved "no sale": the caller checks the
        approval and keeps the audit record). Returns (done, why not)."""
        with self.lock.held(lock_timeout_s) as got:
            if not got:
                return False, "the printer is busy printing"
            status = self.printer.probe()
            if not status.available:  # the drawer hangs off the printer: paper does not matter
                return False, status.text
            from tui_pos.printing.render import drawer_kick

            try:
                self.printer.send(drawer_kick(self.config.printer.drawer_pin, self.config.printer.profile))
            except (PrinterUnavailable, WriteIncomplete) as err:
                return False, str(err)
            return True, ""

    def confirm_printed(self, receipt: str) -> bool:
        """The cashier saw the receipt come out after all (an uncertain or failed job)."""
        found = self.find_sale(receipt)
        if found is None:
            return False
        record, in_sqlite = found
        note = "confirmed printed by the cashier"
        if in_sqlite:
            conn = self._db()
            try:
                return conn is not None and pj.confirm_printed(conn, record["uuid"], note, self.clock())
            except sqlite3.Error as err:
                self._db_failed(err)
                return False
        with self.lock.held(2.0) as got:
            if not got:
                return False
            self.state_log.record(record["uuid"], pj.RECEIPT, pj.PRINTED, 0, note, self.clock())
            return True

    def unprinted(self, tenders: bool = True) -> list[Unprinted]:
        """Every paid sale without a receipt, SQLite and journal alike, oldest first
        (store/print_jobs.py's without_receipt: the one answer to that question).
        tenders=False: without the payments (enough to count them)."""
        rows = self.view.without_receipt(self.state_log.states(), tenders=tenders)
        return [Unprinted(r["uuid"], r["receipt"], r["total"], r["completed_at"], r["cashier"], r["state"],
                          r["attempts"], r["last_error"], tuple(r["tenders"]), r["stored"]) for r in rows]
