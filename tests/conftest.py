"""Shared fixtures: a real shop in a real directory on disk, and helpers to run the real CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tui_pos.config import load_config
from tui_pos.core.shop import init_shop
from tui_pos.core.till import Till

# Demo catalog codes used across tests (see tui_pos/demo_catalog.csv).
COLA = "6900000000014"  # 3.50, tax A (13%)
WATER = "6900000000021"  # 2.00, tax A
NOODLES = "6900000000113"  # 4.50, tax B (9%)
WEIGHED = "6900000000595"  # open price (0 in the catalog), tax B


@pytest.fixture
def shop_dir(tmp_path: Path) -> Path:
    """A fresh demo shop on disk."""
    data_dir = tmp_path / "shop"
    init_shop(data_dir, demo=True)
    return data_dir


@pytest.fixture
def till(shop_dir: Path):
    t = Till.open(load_config(shop_dir), cashier="test")
    yield t
    t.close()


def run_cli(data_dir: Path, *args: str, env: dict[str, str] | None = None, check: bool = True,
            timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run the real `tui-pos` entry point in a subprocess."""
    full_env = {**os.environ, "TUI_POS_DATA_DIR": str(data_dir), **(env or {})}
    proc = subprocess.run([sys.executable, "-m", "tui_pos", *args], capture_output=True, text=True,
                          env=full_env, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"tui-pos {' '.join(args)} failed ({proc.returncode}): {proc.stderr}")
    return proc


def cli_json(data_dir: Path, *args: str, **kwargs):
    return json.loads(run_cli(data_dir, *args, "--json", **kwargs).stdout)


# -- storage made unusable without fault injection (shared by test_till.py and test_cli.py) ------
import sqlite3  # noqa: E402
from contextlib import contextmanager  # noqa: E402


@contextmanager
def database_write_locked(data_dir: Path):
    """Another process holds SQLite's write lock: every write gets 'database is locked' (reads work)."""
    conn = sqlite3.connect(data_dir / "pos.sqlite3", isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        conn.execute("ROLLBACK")
        conn.close()


@contextmanager
def journal_dir_replaced_by_a_file(data_dir: Path):
    """The journal directory is gone and a regular file sits in its place; put back afterwards."""
    journal, moved = data_dir / "journal", data_dir / "journal.moved"
    journal.rename(moved)
    journal.write_text("the journal disk is gone")
    try:
        yield
    finally:
        journal.unlink()
        moved.rename(journal)
