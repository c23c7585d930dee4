"""The till's sync worker: one thread with its own HQ connection that pushes what the till records
and tells HQ how the till is doing, without ever being in the way of a sale.

- It sleeps on an Event. A commit wakes it (the ledger calls wake() after each commit: the record
  is at HQ a round trip later), and so does a slow timer (every_s, [hq] sync_every_s): the
  heartbeat that carries the health report and finds what other processes (the CLI) committed.
- While HQ cannot be reached it backs off (1 s, 2 s, 4 s ... up to 60 s) and commits do not cut
  the wait short: a till selling offline does not try HQ on every sale. Meanwhile a commit only
  recounts what is waiting (locally, no network).
- Idle, it does one round trip per every_s, logs nothing and writes the state file only when its
  state changed (or, while syncing, every STATE_EVERY_S at most).
- It reads what is stored through its own read-only view (the step's business: sync_once) and
  never takes the till's locks: a scan or a payment never waits for it, and it never holds
  SQLite's write lock.

The step (one sync: push, and pull once there is one) and the health report are handed in:
step(connection, status) returns what it did (pending, high_water); health() returns the till's
health as JSON-ready data (bootstrap passes ops' report, the same facts `tui-pos status` shows).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any, Protocol

from tui_pos import __version__
from tui_pos.app.clock import utc_now
from tui_pos.config import Config
from tui_pos.domain.sync import SyncMode, SyncState
from tui_pos.hq.connection import HqError, first_line
from tui_pos.sync.run import state_of
from tui_pos.sync.state import load_state, save_state

log = logging.getLogger("tui_pos.sync.worker")

BACKOFF_FIRST_S = 1.0
BACKOFF_MAX_S = 60.0
STATE_EVERY_S = 10.0  # while syncing, the state file and the status line follow at least this often
STOP_WAIT_S = 3.0  # stop(): how long the thread may take to finish its step before it is cancelled
# libpq's TCP settings for the worker's connection: a link that died silently (a cable pulled, a
# router rebooted) fails the step within about a minute instead of TCP's quarter of an hour.
KEEPALIVES: dict[str, Any] = {"keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10, "keepalives_count": 3,
              "tcp_user_timeout": 60_000}


class Synced(Protocol):
    """What one sync step did, as far as the worker cares."""

    @property
    def pending(self) -> int | None: ...  # records still at the till only, after the step (None: cannot say)

    @property
    def high_water(self) -> int: ...  # HQ has every commit up to this one

    @property
    def catalog_version(self) -> int | None: ...  # HQ's catalog version applied (None: no pull)


Step = Callable[[Any, dict[str, Any]], Synced]  # (HQ connection, status to report) -> what it did


class SyncWorker:
    def __init__(self, config: Config, connect: Callable[[], Any], step: Step, health: Callable[[], dict[str, Any]],
                 on_change: Callable[[SyncState], None] | None = None, *, count_pending: Callable[[int], int | None] | None = None,
                 every_s: float | None = None, backoff: tuple[float, float] = (BACKOFF_FIRST_S, BACKOFF_MAX_S),
                 clock: Callable[[], str] = utc_now):
        """connect(): a new HQ connection (HqUnreachable when there is none); count_pending(high_water):
        how many records wait after that commit, counted at the till (None: it cannot say; no
        count_pending: not counted offline)."""
        self.config = config
        self.every_s = config.hq.sync_every_s if every_s is None else every_s
        self.backoff = backoff
        self.on_change = on_change
        self._connect, self._step, self._health, self._count_pending = connect, step, health, count_pending
        self._clock = clock
        self._conn: Any = None
        self._state = load_state(config)
        self._failures = 0
        self._health_report: dict[str, Any] | None = None
        self._health_at = -float("inf")  # monotonic
        self._written: SyncState | None = self._state if self._state.last_sync else None
        self._written_at = -float("inf")
        self._noticed: tuple[Any, ...] | None = None
        self._noticed_at = -float("inf")
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tui-pos-sync", daemon=True)

    # -- what the till calls ---------------------------------------------------------------------
    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        """Something was committed: push it (at once, unless HQ is unreachable and being waited for)."""
        self._wake.set()

    def status(self) -> SyncState:
        return self._state

    def stop(self) -> None:
        """Finish the step under way (or cancel it when it takes longer than STOP_WAIT_S) and close
        the connection; what was not pushed is pushed by the next start or `tui-pos sync`."""
        self._stopping.set()
        self._wake.set()
        if not self._thread.is_alive():
            return
        self._thread.join(STOP_WAIT_S)
        conn = self._conn
        if self._thread.is_alive() and conn is not None:
            try:
                conn.cancel_safe(timeout=STOP_WAIT_S)  # the query under way fails at once; the thread ends
            except Exception:  # noqa: BLE001 - nothing to cancel, or HQ gone: the thread is a daemon
                pass
            self._thread.join(STOP_WAIT_S)
        if self._thread.is_alive():
            log.warning("sync: the worker did not finish within %.0f s (HQ not answering); left behind", 2 * STOP_WAIT_S)

    # -- the thread ------------------------------------------------------------------------------
    def _run(self) -> None:
        delay = 0.0  # a sync at once on start
        try:
            while not self._stopping.is_set():
                if self._failures:
                    self._wait_offline(delay)
                else:
                    self._wake.wait(delay)
                if self._stopping.is_set():
                    break
                self._wake.clear()  # before the step: a commit made during it wakes the next one
                delay = self._attempt()
        except Exception:  # noqa: BLE001 - a bug must not take the till down: logged, the till sells on
            log.exception("sync: the worker stopped on an unexpected error")
        finally:
            self._disconnect()
            self._save(self._state, force=True)

    def _wait_offline(self, delay: float) -> None:
        """Back off for delay seconds; commits meanwhile only recount what waits."""
        deadline = time.monotonic() + delay
        while not self._stopping.is_set():
            left = deadline - time.monotonic()
            if left <= 0 or not self._wake.wait(left):
                return
            self._wake.clear()
            if self._stopping.is_set():
                return
            if self._count_pending is not None:
                self._set(replace(self._state, pending=self._recounted()))

    def _attempt(self) -> float:
        """One sync; the seconds until the next (unless woken first)."""
        before = self._state.high_water
        try:
            done = self._sync()
        except Exception as err:  # noqa: BLE001 - every failure is a state and a retry, never a crash
            return self._failed(err)
        pending = self._state.pending if done.pending is None else done.pending  # None: the database cannot say
        if self._failures or self._state.state != "synced":
            log.info("sync: HQ reached, %d record(s) waiting", pending)
        self._failures = 0
        version = self._state.catalog_version if done.catalog_version is None else done.catalog_version
        self._set(replace(self._state, state="synced", pending=pending, high_water=done.high_water,
                          last_sync=self._clock(), last_error="", catalog_version=version))
        more = pending > 0 and done.high_water > before  # it moves: carry on; stuck: wait for the timer
        return 0.0 if more else self.every_s

    def _recounted(self) -> int:
        """What waits, counted again at the till while HQ is not reached; as last known where it
        cannot be counted (no counter, the database unreadable, the count failed)."""
        counted = None
        if self._count_pending is not None:
            try:
                counted = self._count_pending(self._state.high_water)
            except Exception as err:  # noqa: BLE001 - counting is for show; the next sync counts again
                log.debug("sync: cannot count what waits: %s", err)
        return self._state.pending if counted is None else counted

    def _sync(self) -> Synced:
        """One step. A connection kept open since an earlier step and found dead (HQ restarted, an
        idle link cut by a proxy) is replaced at once, once: that is no outage (a step may be run
        again: HQ skips what it has, a pull applies what differs)."""
        kept = self._conn is not None and not self._conn.closed
        conn = self._connection()
        try:
            return self._step(conn, self._status(conn))
        except Exception:
            if not (kept and self._lost()):
                raise
        log.info("sync: the connection to HQ was gone; connecting again")
        self._disconnect()
        conn = self._connection()
        return self._step(conn, self._status(conn))

    def _lost(self) -> bool:
        conn = self._conn
        return conn is not None and (bool(getattr(conn, "closed", False)) or bool(getattr(conn, "broken", False)))

    def _failed(self, err: Exception) -> float:
        import psycopg  # loaded already: the connection is psycopg's

        offline = self._lost() or isinstance(err, psycopg.OperationalError) or state_of(err) == "offline"
        if not isinstance(err, (HqError, psycopg.Error)):
            log.exception("sync: unexpected error")  # a bug: its stack in the log, the sync retried
        message = str(err) if isinstance(err, HqError) else f"{type(err).__name__}: {first_line(err)}"
        self._disconnect()  # a fresh session next time, whatever state this one was left in
        self._failures += 1
        state: SyncMode = "offline" if offline else "conflict"
        if (state, message) != (self._state.state, self._state.last_error):
            log.warning("sync: %s: %s", "HQ offline" if offline else "HQ refused the sync", message)
        self._set(replace(self._state, state=state, last_error=message, pending=self._recounted()))
        return backoff_delay(self._failures, *self.backoff)

    def _connection(self) -> Any:
        if self._conn is None or self._conn.closed:
            self._conn = self._connect()
            self._health_at = -float("inf")  # a new connection: measure the clock again
        return self._conn

    def _disconnect(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # noqa: BLE001 - closing a broken connection
                pass

    def _status(self, conn: Any) -> dict[str, Any]:
        """What HQ is told of the till with this sync: till_report, gathered again after every_s."""
        now = time.monotonic()
        if self._health_report is None or now - self._health_at >= self.every_s:
            self._health_report = till_report(conn, self._health, self._clock)
            self._health_at = now
        return {**self._health_report, "sent_at": self._clock()}

    def _set(self, state: SyncState) -> None:
        self._save(state)  # first: whoever sees the new state finds it in the file too
        self._state = state
        key = (state.state, state.pending, state.last_error)
        now = time.monotonic()
        if self.on_change is not None and (key != self._noticed or now - self._noticed_at >= STATE_EVERY_S):
            self._noticed, self._noticed_at = key, now
            try:
                self.on_change(state)
            except Exception:  # noqa: BLE001 - the UI gone (the till closing)
                log.debug("sync: on_change failed", exc_info=True)

    def _save(self, state: SyncState, force: bool = False) -> None:
        """The state file follows the state: at once when what it says changed (state, pending, high
        water, error), else (last_sync) every STATE_EVERY_S at most, and whatever is new when stopping."""
        written = self._written
        if state == written:
            return
        now = time.monotonic()
        changed = written is None or (state.state, state.pending, state.high_water, state.last_error,
                                      state.catalog_version) != \
            (written.state, written.pending, written.high_water, written.last_error, written.catalog_version)
        if not (force or changed or now - self._written_at >= STATE_EVERY_S):
            return
        try:
            save_state(self.config.data_dir, state)
            self._written, self._written_at = state, now
        except OSError as err:
            log.warning("sync: cannot write the sync state: %s", err)


def till_report(conn: Any, health: Callable[[], dict[str, Any]], clock: Callable[[], str] = utc_now) -> dict[str, Any]:
    """What HQ is told of the till with a sync (the worker's and `tui-pos sync`'s): the health report
    (a failure to gather it is said in it, never raised: the records go up regardless), the version,
    and the till's clock with its offset from HQ's."""
    try:
        report = health()
    except Exception as err:  # noqa: BLE001 - a failing report must not stop the records
        log.exception("sync: the health report failed")
        report = {"health_error": f"{type(err).__name__}: {err}"[:300]}
    alerts = report.get("alerts")
    if isinstance(alerts, list):  # not the till's alert about reaching HQ: gathered before this sync, it is
        # stale once HQ has the records ("never synced"), and HQ knows its own stream and when it last saw the till
        report = {**report, "alerts": [a for a in alerts if not (isinstance(a, dict) and a.get("key") == "hq")]}
    return {**report, "clock_offset_s": clock_offset(conn, clock), "version": __version__, "sent_at": clock()}


def backoff_delay(failures: int, first: float = BACKOFF_FIRST_S, most: float = BACKOFF_MAX_S) -> float:
    """The wait after this many failures in a row: first, doubled each time, at most `most`."""
    return min(most, first * 2 ** min(max(failures, 1) - 1, 30))


def clock_offset(conn: Any, clock: Callable[[], str] = utc_now) -> float | None:
    """How far the till's clock is ahead of HQ's (seconds; negative: behind), measured over one round
    trip (its middle taken as HQ's moment); None when HQ cannot say."""
    try:
        before = datetime.fromisoformat(clock()).timestamp()
        row = conn.execute("SELECT extract(epoch FROM clock_timestamp())::float8").fetchone()
        after = datetime.fromisoformat(clock()).timestamp()
    except Exception:  # noqa: BLE001 - the step that follows says what is wrong with HQ
        return None
    return round((before + after) / 2 - float(row[0]), 3) if row else None
