"""A Hypothesis state machine over the till's durable path: sales, replays and restarts on a real
data directory, with named crash points and a fault-injecting SQLite connection and journal.

The one property: no acknowledged sale is ever lost or doubled. A sale is acknowledged only
when Till.pay() returns; a crash or NotDurable before that leaves it unacknowledged (it may then
be stored at most once, but it must never take the place of an acknowledged one).
"""

from __future__ import annotations

import errno
import itertools
import os
import random
import shutil
import sqlite3
import sys
import tempfile
import time as time_module
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from conftest import open_demo_shop
from tui_pos.app.till import Till
from tui_pos.bootstrap import till as till_module
from tui_pos.bootstrap.till import open_till
from tui_pos.config import CONFIG_NAME, load_config
from tui_pos.domain.errors import CartError, NotDurable
from tui_pos.domain.tender import Tender
from tui_pos.store import crash, db
from tui_pos.store import journal as journal_module
from tui_pos.store.journal import QUARANTINE, QUARANTINE_FILE, decode_line
from tui_pos.store.ledger import Ledger

# Demo catalog items and their prices in fen, read by hand from tui_pos/demo_catalog.csv.
# Prices include tax and the shop has no cash rounding, so a sale's total is the sum of these.
PRICES = {
    "6900000000014": 350,  # cola
    "6900000000021": 200,  # water
    "6900000000038": 300,  # ice tea
    "6900000000113": 450,  # noodles
}

# Two journal directories (one may fail alone); no SQLite retries (they only cost time here).
CONFIG = """\
[storage]
journal_dirs = ["journal", "journal2"]
retry_budget_ms = 0
busy_timeout_ms = 50
"""

SQLITE_FAULTS = (
    "down",  # the database cannot be opened or read at all
    "commit_after",  # COMMIT really commits, then raises: outcome unknown, but stored
    "commit_before",  # COMMIT raises, nothing committed: outcome unknown
    "insert",  # INSERT INTO sale fails (disk full): retried, then journaled
    "none",
)
JOURNAL_FAULTS = (
    "fsync",  # write() lands, fdatasync() fails with EIO: the line stays in the file, unacknowledged
    "write",  # write() fails with ENOSPC: nothing reaches the file
    "none",
)
SALE_POINTS = ("journal_before_append", "journal_after_append", "sqlite_before_commit", "sqlite_after_commit")
REPLAY_POINTS = ("replay_before_commit", "replay_after_commit")


class SimulatedCrash(BaseException):
    """The process dies at a crash point (a BaseException, so the product cannot handle it)."""


@dataclass
class Faults:
    """What is broken right now; the shims below read it at every call."""

    sqlite: str = "none"
    journal: tuple[str, str] = ("none", "none")
    journal_dirs: tuple[Path, ...] = ()
    crash_at: str | None = None
    names: random.Random = random.Random(0)

    def heal(self) -> None:
        self.sqlite, self.journal = "none", ("none", "none")

    @property
    def any(self) -> bool:
        return self.sqlite != "none" or self.journal != ("none", "none")


FAULTS = Faults()
LEDGERS: list[Ledger] = []  # every ledger the current "process" opened: its descriptors die with it


def crash_hook(name: str) -> None:
    if FAULTS.crash_at == name:
        FAULTS.crash_at = None
        raise SimulatedCrash(name)


class FaultyConnection:
    """A real sqlite3 connection whose statements fail as FAULTS.sqlite says."""

    def __init__(self, conn: sqlite3.Connection):
        self._conn = conn

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        mode = FAULTS.sqlite
        if mode == "down":
            raise sqlite3.OperationalError("disk I/O error")
        if mode == "insert" and sql.startswith("INSERT INTO sale "):
            raise sqlite3.OperationalError("database or disk is full")
        if sql == "COMMIT" and mode == "commit_before":
            raise sqlite3.OperationalError("disk I/O error")
        cursor = self._conn.execute(sql, *args)
        if sql == "COMMIT" and mode == "commit_after":
            raise sqlite3.OperationalError("disk I/O error")
        return cursor

    def executemany(self, sql: str, rows: Any) -> sqlite3.Cursor:
        if FAULTS.sqlite == "down":
            raise sqlite3.OperationalError("disk I/O error")
        return self._conn.executemany(sql, rows)


def faulty_connect(real_connect: Callable[..., sqlite3.Connection]) -> Callable[..., Any]:
    def connect(path: Path, busy_timeout_ms: int, readonly: bool = False) -> Any:
        if FAULTS.sqlite == "down":
            raise sqlite3.OperationalError("unable to open database file")
        return FaultyConnection(real_connect(path, busy_timeout_ms, readonly))

    return connect


class FaultyOs:
    """`os` as the journal module sees it: write/fdatasync fail in the directories FAULTS names."""

    def __getattr__(self, name: str) -> Any:
        return getattr(os, name)

    @staticmethod
    def _fault(fd: int) -> str:
        target = Path(os.readlink(f"/proc/self/fd/{fd}"))
        for directory, mode in zip(FAULTS.journal_dirs, FAULTS.journal):
            if target.is_relative_to(directory):
                return mode
        return "none"

    def write(self, fd: int, data: bytes) -> int:
        if self._fault(fd) == "write":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return os.write(fd, data)

    def fdatasync(self, fd: int) -> None:
        if self._fault(fd) == "fsync":
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        os.fdatasync(fd)


class JournalNames:
    """`secrets` and `time` as the journal module sees them when it names a new file.

    Files are named till-second-pid-random and read back in name order, so two files made in the
    same second are read in a random order. Here Hypothesis draws that order (one fixed second, a
    drawn prefix, then a counter for uniqueness), so an order-dependent failure reproduces and
    shrinks.
    """

    counter = itertools.count()

    def __getattr__(self, name: str) -> Any:
        return getattr(time_module, name)

    @staticmethod
    def gmtime(*args: Any) -> time_module.struct_time:
        return time_module.gmtime(0)

    def token_hex(self, nbytes: int) -> str:
        return f"{FAULTS.names.getrandbits(8):02x}{next(self.counter):06x}"


@dataclass(frozen=True)
class Ack:
    """What the cashier was told (receipt, total), and how many lines the sale had."""

    receipt: str
    total: int
    lines: int


def summary(record: dict[str, Any]) -> Ack:
    return Ack(record["receipt"], record["total"], len(record["lines"]))


# One row per stored sale, with the counts that show a sale stored twice or in part.
SALES_QUERY = """
SELECT s.uuid, s.receipt, s.total, s.paid, s.change,
  (SELECT COUNT(*) FROM sale_line l WHERE l.sale_uuid = s.uuid),
  (SELECT COALESCE(SUM(l.total), 0) FROM sale_line l WHERE l.sale_uuid = s.uuid),
  (SELECT COUNT(*) FROM sale_line l WHERE l.sale_uuid = s.uuid AND NOT l.voided),
  (SELECT COUNT(*) FROM tender t WHERE t.sale_uuid = s.uuid),
  (SELECT COALESCE(SUM(t.amount), 0) FROM tender t WHERE t.sale_uuid = s.uuid),
  (SELECT COUNT(*) FROM stock_movement m WHERE m.sale_uuid = s.uuid),
  (SELECT COUNT(*) FROM print_job p WHERE p.sale_uuid = s.uuid)
FROM sale s
"""


class TillMachine(RuleBasedStateMachine):
    template: Path  # a demo shop to copy, set by the faulty_store fixture

    def __init__(self) -> None:
        super().__init__()
        FAULTS.heal()
        FAULTS.crash_at, FAULTS.names = None, random.Random(0)
        self.root = Path(tempfile.mkdtemp(prefix="till-sm-"))
        self.data_dir = self.root / "shop"
        shutil.copytree(self.template, self.data_dir)
        self.config = load_config(self.data_dir)
        self.journal_dirs = tuple(d.resolve() for d in self.config.storage.journal_dirs)
        FAULTS.journal_dirs = self.journal_dirs
        with self._db() as conn:
            self.initial_stock = dict(conn.execute("SELECT barcode, moved FROM stock_level"))  # the demo's openings
        self.acked: dict[str, Ack] = {}  # the model: every acknowledged sale
        self.cart_uuid = ""
        self.cart_codes: list[str] = []  # what this machine scanned onto the sale in progress
        self.maybe_pending = False  # a payment was refused: the till may hold it for a retry
        self.till: Till
        self._start()

    # -- processes ----------------------------------------------------------------------------
    def _die(self) -> None:
        """Process death: every descriptor the process held closes, nothing else runs."""
        while LEDGERS:
            LEDGERS.pop().close()

    def _start(self) -> None:
        """A new process opens the till; a crash during its start-up replay starts another."""
        while True:
            try:
                self.till = open_till(self.config, cashier="sm")
                break
            except SimulatedCrash:
                self._die()
        self.maybe_pending = False
        cart, stored = self.till.cart, self._stored_uuids()
        if cart.lines:
            assert [line.barcode for line in cart.lines] == self.cart_codes, "restored a sale not in progress"
            # Paying a stored sale again under its uuid is acknowledged, but replay skips it.
            assert cart.uuid not in stored, "restored a sale that is already stored, under the same uuid"
            self.cart_uuid = cart.uuid
        else:
            assert not self.cart_codes or self.cart_uuid in stored, (
                "the sale in progress is stored nowhere, yet it was not restored after the restart"
            )
            self.cart_uuid, self.cart_codes = cart.uuid, []

    def _crashed(self) -> None:
        self._die()
        self._start()

    # -- reading the real files -----------------------------------------------------------------
    def _db(self) -> closing[sqlite3.Connection]:
        return closing(sqlite3.connect(self.config.db_path))

    def _sqlite_sales(self) -> dict[str, Ack]:
        with self._db() as conn:
            return {row[0]: Ack(*row[1:4]) for row in conn.execute(
                "SELECT uuid, receipt, total, (SELECT COUNT(*) FROM sale_line WHERE sale_uuid = uuid) FROM sale")}

    def _live_journal_files(self) -> list[Path]:
        return [p for d in self.journal_dirs if d.is_dir() for p in sorted(d.glob("*.jsonl"))]

    def _journal_records(self) -> list[dict[str, Any]]:
        records = []
        for path in self._live_journal_files():
            for line in path.read_bytes().split(b"\n")[:-1]:  # a torn last line was never acknowledged
                try:
                    records.append(decode_line(line))
                except ValueError:
                    continue
        return records

    def _stored_uuids(self) -> set[str]:
        return set(self._sqlite_sales()) | {r["uuid"] for r in self._journal_records()}

    def _quarantined(self) -> list[str]:
        files = [d / QUARANTINE / QUARANTINE_FILE for d in self.journal_dirs]
        return [line for f in files if f.exists() for line in f.read_text(encoding="utf-8").splitlines()]

    # -- rules ----------------------------------------------------------------------------------
    @initialize(names=st.randoms(use_true_random=False))
    def choose_journal_file_order(self, names: random.Random) -> None:
        FAULTS.names = names

    @rule(codes=st.lists(st.sampled_from(sorted(PRICES)), min_size=1, max_size=3),
          crash_at=st.sampled_from((*SALE_POINTS, None)))
    def sell(self, codes: list[str], crash_at: str | None) -> None:
        """Scan onto the sale in progress and pay cash: acknowledged only if pay() returns."""
        for code in codes:
            try:
                cart = self.till.scan(code)
            except CartError:
                assert self.maybe_pending, "scanning refused although no payment was refused"
                break  # the refused payment may be stored: it can only be retried as it was
            assert not self.cart_codes or cart.uuid == self.cart_uuid, "the sale changed identity"
            self.cart_uuid = cart.uuid
            self.cart_codes.append(code)
        total = sum(PRICES[code] for code in self.cart_codes)
        lines_before = self.till.cart.lines
        # A failing COMMIT cannot acknowledge a new sale; a retry of one SQLite already holds
        # succeeds without a COMMIT (its INSERT finds it there).
        in_sqlite = self.cart_uuid in self._sqlite_sales()
        sqlite_refuses = FAULTS.sqlite in ("insert", "down") or (FAULTS.sqlite != "none" and not in_sqlite)
        journal_failing = all(mode != "none" for mode in FAULTS.journal)
        FAULTS.crash_at = crash_at
        try:
            paid = self.till.pay([Tender("cash", total)])
        except NotDurable:
            assert journal_failing, "sale refused although a journal directory works"
            assert self.till.cart.uuid == self.cart_uuid and self.till.cart.lines == lines_before, (
                "a refused sale must keep its cart intact"
            )
            self.maybe_pending = True
            return
        except SimulatedCrash:
            self._crashed()
            return
        finally:
            FAULTS.crash_at = None
        sale = paid.sale
        assert not (sqlite_refuses and journal_failing), "acknowledged although every store fails"
        assert paid.stored == "journal" or not sqlite_refuses, "acknowledged from SQLite while it fails"
        assert sale.uuid == self.cart_uuid, "the paid sale is not the sale in progress"
        assert sale.uuid not in self.acked, "the same sale was acknowledged twice"
        assert sale.receipt not in {a.receipt for a in self.acked.values()}, "receipt number reused"
        assert (sale.total, len(sale.lines)) == (total, len(self.cart_codes))
        self.acked[sale.uuid] = Ack(sale.receipt, total, len(self.cart_codes))
        assert self.till.cart.is_empty and self.till.cart.uuid != sale.uuid, "a paid sale stays in the till"
        self.cart_uuid, self.cart_codes, self.maybe_pending = self.till.cart.uuid, [], False

    @rule()
    def cancel(self) -> None:
        """The customer walks away (refused unless a payment of unknown outcome waits)."""
        try:
            self.till.cancel()
        except CartError:
            assert self.maybe_pending, "cancel refused although no payment was refused"
            return
        self.cart_uuid, self.cart_codes, self.maybe_pending = self.till.cart.uuid, [], False

    @rule(crash_at=st.sampled_from((*REPLAY_POINTS, None)))
    def replay(self, crash_at: str | None) -> None:
        FAULTS.crash_at = crash_at
        try:
            result = self.till.replay()
        except SimulatedCrash:
            self._crashed()
            return
        finally:
            FAULTS.crash_at = None
        if not FAULTS.any:
            assert result.error == "", result.error
            assert not self._live_journal_files(), "a fault-free replay left journal files behind"

    @rule(crash_at=st.sampled_from((*REPLAY_POINTS, None)))
    def restart(self, crash_at: str | None) -> None:
        """Close the till and start another process; in-memory state (a pending retry) is gone."""
        self._die()
        FAULTS.crash_at = crash_at
        try:
            self._start()
        finally:
            FAULTS.crash_at = None

    @rule(sqlite=st.sampled_from(SQLITE_FAULTS), journal=st.tuples(*[st.sampled_from(JOURNAL_FAULTS)] * 2))
    def break_storage(self, sqlite: str, journal: tuple[str, str]) -> None:
        FAULTS.sqlite, FAULTS.journal = sqlite, journal

    @rule()
    def heal(self) -> None:
        FAULTS.heal()

    # -- invariants (on the real files, after every step) ---------------------------------------
    @invariant()
    def storage_invariants(self) -> None:
        """Read SQLite (with our own connection) and every live journal line, and check them."""
        with self._db() as conn:
            rows = conn.execute(SALES_QUERY).fetchall()
            moved = dict(conn.execute("SELECT barcode, SUM(qty_delta) FROM stock_movement GROUP BY barcode"))
            sold = dict(conn.execute("SELECT barcode, SUM(qty) FROM sale_line WHERE NOT voided GROUP BY barcode"))
            stock = dict(conn.execute("SELECT barcode, moved FROM stock_level"))
        stored = {row[0]: Ack(row[1], row[2], row[5]) for row in rows}
        journaled = self._journal_records()
        self._check_acknowledged_are_safe(stored, journaled)
        self._check_replay_is_determined(stored, journaled)
        self._check_whole_and_single(rows, moved, sold, stock)

    def _check_acknowledged_are_safe(self, stored: dict[str, Ack], journaled: list[dict[str, Any]]) -> None:
        """Each acknowledged sale is in SQLite as acknowledged, or in a live journal file."""
        for uuid, ack in self.acked.items():
            if uuid in stored:
                assert stored[uuid] == ack, f"acknowledged {ack}, SQLite holds {stored[uuid]}"
            else:
                assert any(r["uuid"] == uuid and summary(r) == ack for r in journaled), (
                    f"acknowledged {ack} is neither in SQLite nor in a live journal file"
                )

    @staticmethod
    def _check_replay_is_determined(stored: dict[str, Ack], journaled: list[dict[str, Any]]) -> None:
        """What replay will make of the journal does not depend on file names: a journaled sale has
        one version, and a receipt number names one sale (SQLite or journal).

        Replay keeps the first line of a uuid it meets, by directory and file name, and sets aside
        a sale whose receipt number is taken: either way the other copy, maybe the acknowledged
        one, would be dropped.
        """
        versions: dict[str, set[Ack]] = {}
        for record in journaled:
            if record["uuid"] not in stored:  # replay never replaces what SQLite holds
                versions.setdefault(record["uuid"], set()).add(summary(record))
        for uuid, found in versions.items():
            assert len(found) == 1, f"sale {uuid} waits in the journal in {len(found)} versions: {found}"
        holders: dict[str, set[str]] = {}
        for uuid, ack in stored.items():
            holders.setdefault(ack.receipt, set()).add(uuid)
        for record in journaled:
            holders.setdefault(record["receipt"], set()).add(record["uuid"])
        for receipt, uuids in holders.items():
            assert len(uuids) == 1, f"receipt {receipt} names {len(uuids)} sales: {uuids}"

    def _check_whole_and_single(self, rows: list[tuple[Any, ...]], moved: dict[str, int],
                                sold: dict[str, int], stock: dict[str, int]) -> None:
        """Every sale in SQLite has its rows exactly once, and stock moved exactly once per line."""
        for uuid, total, paid, change, lines, lines_total, active, tenders, tendered, moves, jobs in (
                (r[0], *r[2:]) for r in rows):
            assert lines >= 1 and lines_total == total, f"sale {uuid}: lines do not add up to its total"
            assert (tenders, tendered, paid - change) == (1, paid, total), f"sale {uuid}: tenders wrong"
            assert (moves, jobs) == (active, 1), f"sale {uuid}: {moves} stock movements, {jobs} print jobs"
        assert {b: -q for b, q in moved.items()} == sold, "stock movements do not match the lines sold"
        assert self.initial_stock, "the demo shop's opening stock is kept per product"
        for barcode in stock.keys() | self.initial_stock.keys():  # each product's level kept with its sales' rows
            assert stock.get(barcode, 0) == self.initial_stock.get(barcode, 0) + 1000 * moved.get(barcode, 0), \
                f"{barcode}: stock drifted"

    def teardown(self) -> None:
        """Heal everything, restart and replay: every acknowledged sale is now in SQLite, once."""
        try:
            if sys.exc_info()[0] is None:  # not while a failure (or Hypothesis stopping) is in flight
                FAULTS.heal()
                self._crashed()
                result = self.till.replay()
                assert result.error == "", result.error
                assert not self._live_journal_files(), "journal backlog remains after a fault-free replay"
                assert self.till.storage().journal_backlog == 0
                stored = self._sqlite_sales()
                for uuid, ack in self.acked.items():
                    assert stored.get(uuid) == ack, f"acknowledged {ack}, SQLite holds {stored.get(uuid)}"
                # Nothing here corrupts a line, so nothing may be set aside (a receipt collision would be).
                assert not self._quarantined(), f"journal lines set aside: {self._quarantined()}"
                self.storage_invariants()
        finally:
            self._die()
            shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One demo shop with two journal directories and a short retry budget, copied per example."""
    data_dir = tmp_path_factory.mktemp("sm-template") / "shop"
    data_dir.mkdir(mode=0o700)
    (data_dir / CONFIG_NAME).write_text(CONFIG, encoding="utf-8")
    open_demo_shop(data_dir)
    return data_dir


@pytest.fixture
def faulty_store(monkeypatch: pytest.MonkeyPatch, template: Path):
    """Install the shims: SQLite connection, journal writes and names, crash hook, ledger tracking."""
    real_open_ledger = till_module.open_ledger

    def tracked_open_ledger(config):
        ledger = real_open_ledger(config)
        LEDGERS.append(ledger)
        return ledger

    monkeypatch.setattr(db, "connect", faulty_connect(db.connect))
    monkeypatch.setattr(journal_module, "os", FaultyOs())
    monkeypatch.setattr(journal_module, "secrets", JournalNames())
    monkeypatch.setattr(journal_module, "time", JournalNames())
    monkeypatch.setattr(till_module, "open_ledger", tracked_open_ledger)
    monkeypatch.setattr(TillMachine, "template", template, raising=False)
    crash.set_hook(crash_hook)
    try:
        yield
    finally:
        crash.set_hook(None)
        LEDGERS.clear()


# One bug at a time: shrinking several distinct failures of this machine takes minutes.
MACHINE_SETTINGS = settings(max_examples=100, stateful_step_count=25, deadline=None, report_multiple_bugs=False,
                            suppress_health_check=[HealthCheck.too_slow])


def test_crash_points_cover_the_product() -> None:
    """The machine crashes at every named point the product has (a new point must be added here)."""
    assert sorted(SALE_POINTS + REPLAY_POINTS) == sorted(crash.POINTS)


def test_no_acknowledged_sale_is_lost_or_doubled(faulty_store: None) -> None:
    """Crashes at every named point, SQLite and journal faults, restarts, replays, in any order."""
    run_state_machine_as_test(TillMachine, settings=MACHINE_SETTINGS)


# -- what the machine found, as fixed sequences (shrunk by Hypothesis) ------------------------------
COLA, WATER = "6900000000014", "6900000000021"
FOUND = {
    # A refused sale (SQLite down, both journals' fdatasync failing after the write) leaves its
    # line in the journal; the cart stays editable, and its next, acknowledged version is journaled
    # beside it under the same uuid: replay keeps whichever it reads first.
    "refused_sale_left_in_journal": [
        ("break_storage", {"sqlite": "down", "journal": ("fsync", "fsync")}),
        ("sell", {"codes": [COLA], "crash_at": None}),
        ("break_storage", {"sqlite": "down", "journal": ("write", "none")}),
        ("sell", {"codes": [WATER], "crash_at": None}),
    ],
    # A crash after COMMIT leaves the number unrecorded in till.lock; with SQLite unreadable, the
    # next process numbers from the journal alone and acknowledges the same receipt number again.
    "receipt_reused_after_crash_with_db_unreadable": [
        ("sell", {"codes": [COLA], "crash_at": "sqlite_after_commit"}),
        ("break_storage", {"sqlite": "down", "journal": ("none", "none")}),
        ("sell", {"codes": [WATER], "crash_at": None}),
    ],
    # A crash after COMMIT: the next start sees the sale stored and opens a new cart, but keeps the
    # old cart.json; a start with SQLite unreadable then restores that stored sale, same uuid.
    "stored_sale_restored_when_db_unreadable": [
        ("sell", {"codes": [COLA], "crash_at": "sqlite_after_commit"}),
        ("break_storage", {"sqlite": "down", "journal": ("none", "none")}),
        ("restart", {"crash_at": None}),
    ],
}


@pytest.mark.parametrize("steps", FOUND.values(), ids=FOUND.keys())
def test_sequence_found_by_the_machine(faulty_store: None, steps: list[tuple[str, dict[str, Any]]]) -> None:
    """Each failed on the product when the machine found it; kept so that every run checks them."""
    machine = TillMachine()
    try:
        for name, arguments in steps:
            getattr(machine, name)(**arguments)
            machine.storage_invariants()
    finally:
        machine.teardown()


# -- the machine must be able to fail ------------------------------------------------------------
class ReadableStoreMachine(TillMachine):
    """The machine without the faults behind the product bugs it found (an unreadable database,
    a journal fdatasync failing after the write), so that a planted bug, and no real one, is what
    makes it fail (with no plant it passed 1,000 examples)."""

    @rule(sqlite=st.sampled_from(("commit_after", "commit_before", "insert", "none")),
          journal=st.tuples(*[st.sampled_from(("write", "none"))] * 2))
    def break_storage(self, sqlite: str, journal: tuple[str, str]) -> None:
        FAULTS.sqlite, FAULTS.journal = sqlite, journal


def plant_replay_without_existence_check(monkeypatch: pytest.MonkeyPatch) -> None:
    """Replay inserts every journaled sale again, even those SQLite already holds."""
    real_replay, real_existing = Ledger._replay_into_sqlite, db.existing

    def replay(self: Ledger, scan: Any) -> Any:
        with pytest.MonkeyPatch.context() as inner:
            inner.setattr(db, "existing", lambda conn, column, values:
                          {} if column == "uuid" else real_existing(conn, column, values))
            return real_replay(self, scan)

    monkeypatch.setattr(Ledger, "_replay_into_sqlite", replay)


def plant_retire_before_commit(monkeypatch: pytest.MonkeyPatch) -> None:
    """Replay retires the journal files before its COMMIT."""
    real_replay = Ledger._replay_into_sqlite

    def replay(self: Ledger, scan: Any) -> Any:
        self.journal.retire(scan.files)
        return real_replay(self, scan)

    monkeypatch.setattr(Ledger, "_replay_into_sqlite", replay)


@pytest.mark.parametrize("plant", [plant_replay_without_existence_check, plant_retire_before_commit])
def test_the_machine_finds_a_planted_bug(faulty_store: None, monkeypatch: pytest.MonkeyPatch, plant) -> None:
    """A state machine that cannot fail proves nothing: each planted replay bug is caught, fast.

    In 20 random runs each plant was found after 5 to 281 examples (median about 60, 3 s); the
    run stops at the first failure, and 1000 examples make a miss very unlikely."""
    plant(monkeypatch)
    planted = settings(MACHINE_SETTINGS, max_examples=1000, database=None, phases=[Phase.generate])
    with pytest.raises(AssertionError):
        run_state_machine_as_test(ReadableStoreMachine, settings=planted)
