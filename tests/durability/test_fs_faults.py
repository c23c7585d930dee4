"""Real faults on a real file system, under the real `tui-pos sell` in subprocesses.

The data directory (pos.sqlite3, till.lock) is made to fail: disk full (a small
tmpfs), read-only (a read-only bind mount), I/O errors (libfiu), locked by another process for
longer than the retry budget, corrupted. The journal is configured on a healthy directory. In
each case, sales keep being acknowledged via the journal with consecutive receipt numbers, and
once the fault is removed `tui-pos replay` brings every one into SQLite exactly once, checked
here with our own queries. Disk full and read-only need root (mount); libfiu needs Debian's
fiu-utils (fiu-run, libfiu.so.0); each test skips with the reason when that is missing.
"""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, closing, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import AS_DEMO, COLA, NOODLES, WATER, cli_json, open_shift_in, run_cli
from mounts import fill, mount, mount_tmpfs, need_root, umount
from tui_pos.store.documents import DurableDocument

pytestmark = pytest.mark.fault

DB = "pos.sqlite3"
BEFORE, DURING = 2, 10  # sales before the fault (SQLite), sales while it lasts (journal)
RETRY_BUDGET_S = 0.3  # the default [storage] retry_budget_ms

# Baskets sold in turn: CLI arguments, sale_line rows, total in fen worked out by hand from the
# demo catalog (COLA 3.50, WATER 2.00, NOODLES 4.50; prices include tax).
BASKETS = (
    (("--item", f"{COLA}x2", "--item", NOODLES), 2, 2 * 350 + 450),
    (("--item", f"{WATER}x3",), 1, 3 * 200),
    (("--item", COLA, "--item", WATER, "--item", NOODLES), 3, 350 + 200 + 450),
)

FIU_SELL = Path(__file__).with_name("fiu_sell.py")


@dataclass(frozen=True)
class Ack:
    """One acknowledged sale as `sell --json` reported it, with the basket it was made of."""

    uuid: str
    receipt: str
    stored: str
    lines: int
    total: int  # fen, from the basket (not from the output)
    wall_s: float


Seller = Callable[[Path, int], Ack]


# -- the shop, selling ----------------------------------------------------------------------------
def make_shop(data_dir: Path, journal_dir: Path) -> None:
    """A demo shop whose journal (and catalog snapshot) lives outside the data directory."""
    data_dir.mkdir(exist_ok=True)
    (data_dir / "config.toml").write_text(f"[storage]\njournal_dirs = [{json.dumps(str(journal_dir))}]\n")
    assert cli_json(data_dir, "init", "--demo")["products_imported"] == 59
    open_shift_in(data_dir)
    assert DurableDocument("shop.json", [journal_dir]).load()["products"], "no catalog snapshot by the journal"


def sell_args(n: int) -> list[str]:
    """`tui-pos sell` arguments for sale number n (0-based), paid exactly in cash."""
    return ["sell", *BASKETS[n % len(BASKETS)][0], "--tender", "cash", *AS_DEMO, "--json"]


def acknowledged(proc: subprocess.CompletedProcess[str], n: int, wall_s: float) -> Ack:
    assert proc.returncode == 0, f"sale {n} was not acknowledged: {proc.stderr}"
    out = json.loads(proc.stdout)
    _, lines, total = BASKETS[n % len(BASKETS)]
    assert out["lines"] == lines
    return Ack(out["uuid"], out["receipt"], out["stored"], lines, total, wall_s)


def cli_sale(data_dir: Path, n: int) -> Ack:
    """Sale number n through the real CLI."""
    start = time.monotonic()
    proc = run_cli(data_dir, *sell_args(n), check=False, timeout=20)
    return acknowledged(proc, n, time.monotonic() - start)


def fiu_seller(mode: str, log: Path) -> Seller:
    """Sales through the real CLI run by fiu_sell.py under `fiu-run -x` with FIU_MODE=mode."""

    def sell(data_dir: Path, n: int) -> Ack:
        env = {**os.environ, "TUI_POS_DATA_DIR": str(data_dir), "FIU_MODE": mode, "FIU_LOG": str(log)}
        cmd = ["fiu-run", "-x", "-f", "", sys.executable, str(FIU_SELL), *sell_args(n)]
        with log.open("a") as f:
            f.write(f"-- sale {n}\n")
        start = time.monotonic()
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=20)
        return acknowledged(proc, n, time.monotonic() - start)

    return sell


# -- the scenario every fault goes through ----------------------------------------------------------
def sell_through_fault(data_dir: Path, journal_dir: Path, fault: AbstractContextManager[Seller | None], *,
                       before: Seller = cli_sale, commit_may_land: bool = False) -> list[Ack]:
    """BEFORE sales to SQLite, DURING sales while the fault lasts, replay, then check everything.

    commit_may_land: the fault strikes at COMMIT, so a journaled sale may be in SQLite too.
    """
    acks = [before(data_dir, n) for n in range(BEFORE)]
    assert [a.stored for a in acks] == ["sqlite"] * BEFORE
    with fault as seller:
        acks += [(seller or cli_sale)(data_dir, n) for n in range(BEFORE, BEFORE + DURING)]
        assert [a.stored for a in acks[BEFORE:]] == ["journal"] * DURING
        if not commit_may_land:
            state = cli_json(data_dir, "status")
            assert (state["storage"], state["journal_backlog"]) == ("degraded", DURING)
    assert [a.receipt for a in acks] == [f"T1-{n:06d}" for n in range(1, BEFORE + DURING + 1)]
    assert len({a.uuid for a in acks}) == len(acks)

    journaled = {a.uuid for a in acks[BEFORE:]}
    if not commit_may_land:
        assert not journaled & set(stored_via(data_dir)), "the fault did not keep these sales out of SQLite"

    result = cli_json(data_dir, "replay")
    assert (result["error"], result["storage"], result["remaining"], result["quarantined"]) == ("", "ok", 0, 0)
    if not commit_may_land:
        assert (result["replayed"], result["skipped"]) == (DURING, 0)
    # stored_via 'sqlite' on a journaled sale: its failed COMMIT did land (replay inserts as 'journal').
    # Whether it lands depends on SQLite's WAL state at that moment; both outcomes must end exactly once.
    landed = {u for u, via in stored_via(data_dir).items() if via == "sqlite"} & journaled
    assert commit_may_land or not landed
    assert_exactly_once(data_dir, acks, journaled - landed)
    state = cli_json(data_dir, "status")
    assert (state["storage"], state["journal_backlog"], state["quarantined"]) == ("ok", 0, 0)
    assert not list(journal_dir.glob("*.jsonl")), "journal files left unretired after a full replay"
    return acks


def stored_via(data_dir: Path) -> dict[str, str]:
    with closing(sqlite3.connect(data_dir / DB)) as conn:
        return dict(conn.execute("SELECT uuid, stored_via FROM sale"))


def assert_exactly_once(data_dir: Path, acks: list[Ack], replayed: set[str]) -> None:
    """Our own queries: each acknowledged sale once, whole, and nothing else; the file is sound."""
    with closing(sqlite3.connect(data_dir / DB)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        assert conn.execute("SELECT COUNT(*) FROM sale").fetchone()[0] == len(acks)
        for ack in acks:
            rows = conn.execute("SELECT receipt, total, stored_via FROM sale WHERE uuid = ?", (ack.uuid,)).fetchall()
            via = "journal" if ack.uuid in replayed else "sqlite"
            assert rows == [(ack.receipt, ack.total, via)], ack
            for table in ("sale_line", "tender", "print_job"):
                count = conn.execute(f"SELECT COUNT(*) FROM {table} WHERE sale_uuid = ?", (ack.uuid,)).fetchone()[0]
                assert count == {"sale_line": ack.lines}.get(table, 1), (table, ack)


# -- the faults -------------------------------------------------------------------------------------
@contextmanager
def disk_full(data_dir: Path) -> Iterator[None]:
    """Fill the file system under data_dir until ENOSPC; free it again on exit."""
    filler = fill(data_dir)
    yield
    filler.unlink()


@contextmanager
def read_only(request: pytest.FixtureRequest, data_dir: Path) -> Iterator[None]:
    """Make data_dir read-only in place (a read-only bind mount on itself); unmount on exit."""
    mount(request, data_dir, "--bind", str(data_dir), str(data_dir))
    mount(request, data_dir, "-o", "remount,bind,ro", str(data_dir))
    with pytest.raises(OSError):
        (data_dir / "probe").touch()
    yield
    umount(data_dir)


HOLDER = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN EXCLUSIVE")
start = time.monotonic()
print("locked", flush=True)
sys.stdin.readline()
conn.execute("ROLLBACK")
print(time.monotonic() - start, flush=True)
"""


@contextmanager
def locked(data_dir: Path) -> Iterator[None]:
    """Another process holds the database's write lock until we leave (far beyond the budget)."""
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(data_dir / DB)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "locked\n"
        yield
        assert holder.poll() is None, "the lock holder died while the sales were made"
        held_s = float(holder.communicate("release\n", timeout=10)[0])
        assert held_s > 3 * RETRY_BUDGET_S
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()


@contextmanager
def corrupted(data_dir: Path) -> Iterator[None]:
    """Overwrite the first two pages of the database with garbage; put the good copy back on exit."""
    db = data_dir / DB
    assert not (data_dir / f"{DB}-wal").exists()  # every CLI process closed cleanly: the file is whole
    good = db.with_name("good-copy.sqlite3")
    shutil.copy2(db, good)
    with db.open("r+b") as f:
        f.write(b"\xa5\x5a" * 4096)
        os.fsync(f.fileno())
    yield
    for leftover in (f"{DB}-wal", f"{DB}-shm"):
        (data_dir / leftover).unlink(missing_ok=True)
    os.replace(good, db)


# -- the tests ----------------------------------------------------------------------------------------
@pytest.fixture
def dirs(tmp_path: Path) -> tuple[Path, Path]:
    """(data directory, journal directory on a healthy file system)."""
    return tmp_path / "shop", tmp_path / "journal"


def test_disk_full(request, dirs):
    """A full disk under the database must not stop sales: the journal on another disk takes them."""
    data_dir, journal_dir = dirs
    mount_tmpfs(request, data_dir, "1m")
    make_shop(data_dir, journal_dir)
    sell_through_fault(data_dir, journal_dir, disk_full(data_dir))


def test_read_only(request, dirs):
    """A data directory remounted read-only (as after an ext4 error) keeps the till selling."""
    need_root()
    data_dir, journal_dir = dirs
    make_shop(data_dir, journal_dir)
    sell_through_fault(data_dir, journal_dir, read_only(request, data_dir))


@pytest.mark.parametrize("mode", ["pwrite", "fdatasync-at-commit"])
def test_io_errors_libfiu(dirs, tmp_path, mode):
    """EIO from SQLite's own writes (pwrite) or from its sync at COMMIT (outcome unknown: the sale
    may be in SQLite and in the journal), while the journal's write/fdatasync work."""
    if shutil.which("fiu-run") is None:
        pytest.skip("fiu-run is missing: apt-get install fiu-utils")
    try:
        ctypes.CDLL("libfiu.so.0")
    except OSError:
        pytest.skip("libfiu.so.0 is missing: apt-get install fiu-utils")
    data_dir, journal_dir = dirs
    make_shop(data_dir, journal_dir)
    control_log, fault_log = tmp_path / "fiu-control.log", tmp_path / "fiu-fault.log"
    sell_through_fault(data_dir, journal_dir, nullcontext(fiu_seller(mode, fault_log)),
                       before=fiu_seller("none", control_log), commit_may_land=mode == "fdatasync-at-commit")

    # What really failed, from the crash points each process reached.
    assert "sqlite_after_commit" in control_log.read_text()
    sales = fault_log.read_text().split("-- sale ")[1:]
    assert len(sales) == DURING
    for points in (s.splitlines()[1:] for s in sales):
        assert "sqlite_after_commit" not in points and points[-1] == "journal_after_append", points
        if mode == "fdatasync-at-commit":  # COMMIT was issued and failed, then the journal took it
            assert points[-3:] == ["sqlite_before_commit", "journal_before_append", "journal_after_append"]
        else:  # SQLite failed before ever reaching COMMIT
            assert "sqlite_before_commit" not in points


def test_locked_longer_than_retry_budget(dirs):
    """A database write-locked by another process for seconds: each sale goes to the journal after
    a bounded wait instead of hanging the till."""
    data_dir, journal_dir = dirs
    make_shop(data_dir, journal_dir)
    acks = sell_through_fault(data_dir, journal_dir, locked(data_dir))
    # The lock is held until every sale is done, so a till that waited for it would never finish.
    # A bounded wait is a CLI sale's own cost (the slowest before the fault, same machine, same
    # load) plus the retry budget; the margin is wide because CI is busy, far below "hanging".
    limit = max(a.wall_s for a in acks[:BEFORE]) + 10 * RETRY_BUDGET_S + 3.0
    slow = [(a.receipt, round(a.wall_s, 2)) for a in acks[BEFORE:] if a.wall_s >= limit]
    assert not slow, f"sales blocked on the lock for too long (limit {limit:.1f} s): {slow}"


def test_corrupted_database(dirs):
    """A database whose first pages are garbage: the catalog comes from the snapshot beside the
    journal and sales are journaled; restoring the good copy lets replay bring them in."""
    data_dir, journal_dir = dirs
    make_shop(data_dir, journal_dir)
    sell_through_fault(data_dir, journal_dir, corrupted(data_dir))
