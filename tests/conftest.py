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


FLOAT = 10000  # 100.00 in the drawer when the test shop's shift opens


def open_shift_in(data_dir: Path) -> None:
    """Open a shift (float 100.00, by the demo cashier) in an existing shop: sales need one."""
    till = Till.open(load_config(data_dir), cashier="demo", keep_cart=False)
    try:
        till.open_shift(FLOAT)
    finally:
        till.close()


def open_demo_shop(data_dir: Path) -> Path:
    """A demo shop with a shift open: ready to sell."""
    init_shop(data_dir, demo=True)
    open_shift_in(data_dir)
    return data_dir


@pytest.fixture
def shop_dir(tmp_path: Path) -> Path:
    """A fresh demo shop on disk, its shift open."""
    return open_demo_shop(tmp_path / "shop")


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


# -- editing config.toml in a test (shared by test_till_api.py and tests/ui) ---------------------
import re  # noqa: E402


def set_config(data_dir: Path, section: str, key: str, toml_value: str) -> None:
    """Set `key = toml_value` in [section] of the shop's config.toml (replacing the key if it is
    there, else adding it under the section header, or adding the section)."""
    path = data_dir / "config.toml"
    text = path.read_text(encoding="utf-8")
    header = re.search(rf"^\[{re.escape(section)}\][^\n]*\n", text, re.M)
    if header is None:
        text += f"\n[{section}]\n{key} = {toml_value}\n"
    else:
        end = re.search(r"^\[", text[header.end():], re.M)
        body_end = header.end() + (end.start() if end else len(text) - header.end())
        body = text[header.end():body_end]
        line = re.compile(rf"^{re.escape(key)}\s*=.*$", re.M)
        body = line.sub(lambda _: f"{key} = {toml_value}", body, count=1) if line.search(body) \
            else f"{key} = {toml_value}\n{body}"
        text = text[:header.end()] + body + text[body_end:]
    path.write_text(text, encoding="utf-8")


# -- what the Linux console cannot draw (shared by tests/ui/test_snapshots.py and tests/e2e) -------
# Its fonts (TERM=linux) lack the half blocks, the eighth blocks (Textual's scrollbars and "tall"
# borders use ▔▁▎▊▕) and the rounded corners; issue 3 requires the console theme to use none.
CONSOLE_MISSING_GLYPHS = frozenset("▀▄▐▔▕▁▂▃▅▆▇▉▊▋▌▍▎▏╭╮╰╯")
