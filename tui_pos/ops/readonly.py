"""Read-only looks at a till's data directory, for status, doctor, alerts, backups and support bundles.

Nothing here writes: the database is opened ``mode=ro`` (never created, never migrated, never
checkpointed), journal files and saved documents are only read, and no lock of the till's is
taken (not ``till.lock``, not the printer lock), so every function works beside a running till
and on a damaged directory. What is stored, the database and the journal together, is read
through store/view.py's ReadOnlyView (read_only_view); the few database-only queries ops needs
are here, in one place.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tui_pos.config import Config
from tui_pos.store.journal import Journal
from tui_pos.store.view import Backlog, ReadOnlyView, StoreView, open_read_only

# what ops imports from here about a database that cannot be read (explicit re-exports)
from tui_pos.store.view import DatabaseState as DatabaseState
from tui_pos.store.view import DatabaseUnavailable as DatabaseUnavailable
from tui_pos.store.view import database_state as database_state


def journal_of(config: Config) -> Journal:
    """The till's journal, to be read (a Journal writes only when appended to)."""
    return Journal(config.storage.journal_dirs, config.till_id, config.data_dir)


@contextmanager
def read_only_view(config: Config) -> Iterator[ReadOnlyView]:
    """What is stored, read without writing: view.database.state says whether the database could
    be read (ok, missing, corrupt, unreadable) and error why not; the answers then come from the
    journal alone."""
    with ReadOnlyView(config.db_path, journal_of(config), config.storage.busy_timeout_ms) as view:
        yield view


def journal_backlog(config: Config, conn: sqlite3.Connection | None) -> Backlog:
    """The journal as replay would find it now, beside a database connection already open
    read-only (None: every record counts as waiting)."""
    return StoreView(journal_of(config), lambda: conn, lambda err: None).backlog()


@contextmanager
def read_only_database(config: Config, path: Path | None = None) -> Iterator[sqlite3.Connection]:
    """The database (or another SQLite file) opened read-only; DatabaseUnavailable when it cannot be."""
    with closing(open_read_only(path or config.db_path, config.storage.busy_timeout_ms)) as conn:
        yield conn


def schema_version(conn: sqlite3.Connection) -> int:
    return conn.execute("PRAGMA user_version").fetchone()[0]


def sales_figures(conn: sqlite3.Connection) -> tuple[int, int]:
    """(number of sale rows, sum of their totals in minor units): what a backup must match."""
    count, total = conn.execute("SELECT COUNT(*), COALESCE(SUM(total), 0) FROM sale").fetchone()
    return count, total


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
