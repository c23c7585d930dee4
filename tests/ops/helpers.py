"""Helpers for the ops tests: sales through the real CLI, damage done by hand, our own queries."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

from conftest import AS_DEMO, COLA, cli_json, database_write_locked, run_cli

DB = "pos.sqlite3"


def sell(data_dir: Path, *items: str) -> dict:
    """One sale through the real `tui-pos sell`, paid exactly in cash."""
    args = [a for item in (items or (COLA,)) for a in ("--item", item)]
    return cli_json(data_dir, "sell", *AS_DEMO, *args, "--tender", "cash")


def sale_rows(db_path: Path) -> list[tuple[str, str, int]]:
    """(uuid, receipt, total) of every sale, read with our own connection."""
    with closing(sqlite3.connect(f"{db_path.as_uri()}?mode=ro", uri=True)) as conn:
        return conn.execute("SELECT uuid, receipt, total FROM sale ORDER BY seq").fetchall()


def corrupt_database(data_dir: Path) -> None:
    """Overwrite the first two pages with garbage (every CLI process closed it cleanly first)."""
    db = data_dir / DB
    with db.open("r+b") as f:
        f.write(b"\xa5\x5a" * 4096)


def flip_bytes(path: Path, offset: int, count: int = 16) -> None:
    data = bytearray(path.read_bytes())
    for i in range(offset, offset + count):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


def doctor(data_dir: Path, *args: str) -> tuple[int, dict[str, dict]]:
    """Exit status of the real `tui-pos doctor --json`, and its checks by name."""
    proc = run_cli(data_dir, "doctor", "--json", *args, check=False)
    assert proc.returncode in (0, 1), proc.stderr
    report = json.loads(proc.stdout)
    assert report["ok"] == (proc.returncode == 0)
    return proc.returncode, {c["name"]: c for c in report["checks"]}


def utc_iso(delta: timedelta) -> str:
    """Now plus delta, as the till writes times."""
    return (datetime.now(UTC) + delta).isoformat(timespec="milliseconds")


def journaled_without_key(data_dir: Path) -> dict:
    """One sale journaled (the database write-locked), then the till's journal.key lost; returns the sale."""
    with database_write_locked(data_dir):
        journaled = sell(data_dir)
    assert journaled["stored"] == "journal"
    (data_dir / "journal.key").unlink()
    return journaled
