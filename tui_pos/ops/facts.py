"""Read-only facts about a till's data directory, for status, doctor, alerts and support bundles.

Nothing here writes: the database is opened ``mode=ro`` (never created, never migrated, never
checkpointed), journal files and saved documents are only read, and no lock of the till's is
taken (not ``till.lock``, not the printer lock), so every function works beside a running till
and on a damaged directory. The few queries ops needs are here, in one place.
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Literal

from tui_pos.config import Config
from tui_pos.store import db
from tui_pos.store.journal import Journal, JournalScan

DatabaseState = Literal["ok", "missing", "corrupt", "unreadable"]


class DatabaseUnavailable(Exception):
    """The database cannot be read; state says how (missing, corrupt, unreadable)."""

    def __init__(self, state: DatabaseState, detail: str):
        self.state = state
        super().__init__(detail)


def database_state(err: sqlite3.Error) -> DatabaseState:
    """Corrupt (a DatabaseError that is not an OperationalError: malformed, not a database) or merely unreadable."""
    return "corrupt" if isinstance(err, sqlite3.DatabaseError) and not isinstance(err, sqlite3.OperationalError) \
        else "unreadable"


@contextmanager
def read_only_database(config: Config, path: Path | None = None) -> Iterator[sqlite3.Connection]:
    """The database (or another SQLite file) opened read-only; DatabaseUnavailable when it cannot be.

    A WAL reader still maps the -shm file and may create an empty -wal beside the database, as
    any reader must; it never writes a page of the database."""
    path = path or config.db_path
    try:
        if not path.is_file():
            raise DatabaseUnavailable("missing", f"{path} does not exist")
    except PermissionError as err:  # the data directory cannot be entered (mode 000?)
        raise DatabaseUnavailable("unreadable", f"{path}: {err.strerror}") from None
    try:
        conn = db.connect(path, config.storage.busy_timeout_ms, readonly=True)
    except sqlite3.Error as err:
        raise DatabaseUnavailable(database_state(err), f"{path}: {err}") from None
    with closing(conn):
        yield conn


def schema_version(conn: sqlite3.Connection) -> int:
    return conn.execute("PRAGMA user_version").fetchone()[0]


def sales_figures(conn: sqlite3.Connection) -> tuple[int, int]:
    """(number of sale rows, sum of their totals in minor units): what a backup must match."""
    count, total = conn.execute("SELECT COUNT(*), COALESCE(SUM(total), 0) FROM sale").fetchone()
    return count, total


def last_sale(conn: sqlite3.Connection) -> dict[str, Any] | None:
    """The newest sale in the database (by completed_at), or None."""
    row = conn.execute("SELECT receipt, completed_at, total FROM sale ORDER BY completed_at DESC, seq DESC "
                       "LIMIT 1").fetchone()
    return None if row is None else {"receipt": row[0], "completed_at": row[1], "total": row[2], "stored": "sqlite"}


def sales_out_of_time(conn: sqlite3.Connection) -> list[tuple[str, str, str]]:
    """Sales stamped before their shift opened or before a sale numbered earlier on the same till
    (the clock went back): (receipt, completed_at, what it is earlier than), in receipt order."""
    rows = conn.execute(
        "SELECT receipt, completed_at, opened_at, latest FROM (SELECT s.seq, s.till_id, s.receipt, s.completed_at, "
        "sh.opened_at, MAX(s.completed_at) OVER (PARTITION BY s.till_id ORDER BY s.seq ROWS BETWEEN UNBOUNDED "
        "PRECEDING AND 1 PRECEDING) AS latest FROM sale s LEFT JOIN shift sh ON sh.uuid = s.shift_uuid) "
        "WHERE completed_at < opened_at OR completed_at < latest ORDER BY till_id, seq").fetchall()
    return [(receipt, at, f"a sale before it ({latest})" if latest and at < latest else f"its shift's opening ({opened})")
            for receipt, at, opened, latest in rows]


def first_sale_at(conn: sqlite3.Connection) -> str | None:
    return conn.execute("SELECT MIN(completed_at) FROM sale").fetchone()[0]


def product_count(conn: sqlite3.Connection) -> int:
    return conn.execute("SELECT COUNT(*) FROM product").fetchone()[0]


def wal_bytes(config: Config) -> int:
    try:
        return (config.data_dir / f"{config.db_path.name}-wal").stat().st_size
    except OSError:
        return 0


@dataclass
class JournalFacts:
    """The journal as replay would find it now, without replaying anything."""

    scan: JournalScan
    waiting: list[dict[str, Any]] = field(default_factory=list)  # records the database does not hold (yet)
    quarantined: int = 0

    @property
    def oldest_waiting_at(self) -> str | None:
        times = [r.get("completed_at") or r.get("at") or r.get("opened_at") or "" for r in self.waiting]
        return min((t for t in times if t), default=None)


def journal_facts(config: Config, conn: sqlite3.Connection | None) -> JournalFacts:
    """Scan every journal directory; with a readable database, which records it does not hold yet
    (without one, or when it cannot say, every record counts as waiting)."""
    journal = Journal(config.storage.journal_dirs, config.till_id, config.data_dir)
    scan = journal.scan()
    facts = JournalFacts(scan, quarantined=len(journal.quarantined()))
    records = [entry.record for entry in scan.unique]
    present: dict[str, str] = {}
    if conn is not None and records:
        try:
            present = db.existing(conn, "uuid", [r["uuid"] for r in records])
        except sqlite3.Error:
            pass
    facts.waiting = [r for r in records if r["uuid"] not in present]
    return facts


@dataclass(frozen=True)
class DiskFacts:
    role: str  # data | journal | backup
    path: Path
    free_bytes: int
    total_bytes: int
    writable: bool  # a new file could be written there now (not read-only, not full, permitted)
    exists: bool

    def as_dict(self) -> dict[str, Any]:
        return {"role": self.role, "path": str(self.path), "free_bytes": self.free_bytes, "total_bytes": self.total_bytes,
                "free_mb": self.free_bytes // 2**20, "writable": self.writable, "exists": self.exists}


def existing_ancestor(path: Path) -> Path:
    """path, or its nearest parent that exists (a journal directory is created on first use)
    or that cannot be looked into (a parent at mode 000: its own file system is what counts)."""
    while path != path.parent:
        try:
            os.stat(path)
            return path
        except PermissionError:
            return path.parent
        except OSError:
            path = path.parent
    return path


def disk_facts(role: str, path: Path) -> DiskFacts:
    where = existing_ancestor(path)
    try:
        st = os.statvfs(where)
    except OSError:
        return DiskFacts(role, path, 0, 0, False, os.path.exists(path))
    free = st.f_bavail * st.f_frsize
    writable = free > 0 and not st.f_flag & os.ST_RDONLY and os.access(where, os.W_OK | os.X_OK)
    return DiskFacts(role, path, free, st.f_blocks * st.f_frsize, writable, where == path)


def disks(config: Config) -> list[DiskFacts]:
    """The data directory and every journal directory."""
    return [disk_facts("data", config.data_dir)] + [disk_facts("journal", d) for d in config.storage.journal_dirs]
