"""The HQ tests' PostgreSQL, a pytest plugin (see tests/conftest.py): a real, throwaway cluster
(scripts/pgcluster.py), one per test process (per xdist worker), run as nobody when the tests run
as root (as tests/nobody.py does), password authentication for everyone, fsync off (throwaway).
Each test gets a fresh database in it. Skips with the reason where PostgreSQL cannot be had."""

from __future__ import annotations

import itertools
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))  # the cluster is shared with the bench
from pgcluster import SUPERUSER, THROWAWAY, Cluster, Unavailable, new_cluster  # noqa: E402

__all__ = ["SUPERUSER", "Cluster"]


def throwaway_cluster(prefix: str = "tui-pos-pg-") -> Iterator[Cluster]:
    """A fixture's body: a throwaway cluster started, yielded, removed (the test skips with the reason
    where PostgreSQL cannot be had)."""
    try:
        cluster = new_cluster(THROWAWAY, prefix=prefix)
    except Unavailable as why:
        pytest.skip(str(why))
    try:
        yield cluster
    finally:
        cluster.remove()


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    """The process's throwaway PostgreSQL (started on first use, stopped at the end of the session)."""
    yield from throwaway_cluster()


_numbers = itertools.count(1)


@pytest.fixture
def hq_dsn(pg_cluster: Cluster) -> Iterator[str]:
    """A fresh, empty database of its own in the throwaway cluster: the superuser's DSN to it
    (dropped afterwards, whoever is still connected)."""
    import psycopg

    name = f"hq_{os.getpid()}_{next(_numbers)}"
    with psycopg.connect(pg_cluster.dsn(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield pg_cluster.dsn(name)
    with psycopg.connect(pg_cluster.dsn(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.fixture
def hq(hq_dsn: str) -> str:
    """An HQ made by `hq init` (in-process), with shops S1 and S2: its administrator's DSN."""
    from tui_pos.hq.chain import add_shop
    from tui_pos.hq.connection import connect
    from tui_pos.hq.schema import migrate

    with connect(hq_dsn) as conn:
        migrate(conn)
        add_shop(conn, "S1", "First")
        add_shop(conn, "S2", "Second")
    return hq_dsn


def till_dir(path: Path, till_id: str = "T1") -> Path:
    """A till's data directory with only its config.toml (enough to join HQ)."""
    path.mkdir(parents=True, mode=0o700)
    (path / "config.toml").write_text(f'[till]\nid = "{till_id}"\n\n[shop]\nname = "till {till_id}"\n')
    return path


def enrol(admin_dsn: str, data_dir: Path, shop: str = "S1") -> str:
    """Join the till in data_dir to HQ (as `hq join` does); the till's own DSN, password included."""
    from tui_pos.config import load_config
    from tui_pos.hq.enrol import join, till_dsn

    join(load_config(data_dir), admin_dsn, shop)
    return till_dsn(load_config(data_dir))


def wait_for(condition: Callable[[], Any], what: str, deadline_s: float = 60) -> None:
    """Until condition() holds (a background sync, a worker's thread): a generous deadline for a
    loaded CI machine, polled; never a sleep of a guessed length, never a timing assertion."""
    deadline = time.monotonic() + deadline_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)
