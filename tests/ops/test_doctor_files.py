"""`tui-pos doctor` checks that the till's user can write every file the till writes: the
database and its -wal and -shm, the journal directories, documents, lock files. Played by a real
non-root user (nobody), because root ignores chmod; and by mode bits, checked as root."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path

from conftest import AS_DEMO, COLA
from tests.nobody import as_nobody, nobody_shop  # noqa: F401 - a fixture

SELL = ("sell", *AS_DEMO, "--item", COLA, "--tender", "cash", "--no-print", "--json")


def doctor_checks(shop: Path) -> tuple[int, dict[str, dict]]:
    proc = as_nobody(shop, "doctor", "--json")
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, {c["name"]: c for c in json.loads(proc.stdout)["checks"]}


def test_a_read_only_database_and_its_leftovers_fail_doctor(nobody_shop: Path):
    shop = nobody_shop
    (shop / "pos.sqlite3").chmod(0o400)
    assert json.loads(as_nobody(shop, *SELL).stdout)["stored"] == "journal"  # sells on, into the journal
    replay = as_nobody(shop, "replay")
    assert replay.returncode == 1 and "readonly" in replay.stdout + replay.stderr
    status, checks = doctor_checks(shop)
    assert status == 1, checks  # before: "quick_check ok", exit 0
    assert checks["files"]["level"] == "fail" and "pos.sqlite3 (mode 0400)" in checks["files"]["detail"]
    assert f"chmod 600 {shop / 'pos.sqlite3'}" in checks["files"]["fix"]

    (shop / "pos.sqlite3").chmod(0o600)  # chmod back: SQLite's -wal and -shm, made 0400 like it, stay so
    assert as_nobody(shop, "replay").returncode == 1  # still broken...
    status, checks = doctor_checks(shop)
    assert status == 1  # ...and doctor points at them
    assert "pos.sqlite3-shm (mode 0400)" in checks["files"]["detail"]
    assert "pos.sqlite3 (" not in checks["files"]["detail"]

    for leftover in ("pos.sqlite3-wal", "pos.sqlite3-shm"):  # what the fix says
        (shop / leftover).chmod(0o600)
    assert as_nobody(shop, "replay").returncode == 0
    status, checks = doctor_checks(shop)
    assert checks["files"]["level"] == "ok", checks["files"]


def test_unwritable_journal_directory_document_and_lock_file(nobody_shop: Path):
    shop = nobody_shop
    assert as_nobody(shop, *SELL).returncode == 0  # till.lock exists now
    (shop / "journal").chmod(0o500)
    (shop / "till.lock").chmod(0o400)
    (shop / "shift.json.0").chmod(0o400)
    status, checks = doctor_checks(shop)
    assert status == 1
    detail = checks["files"]["detail"]
    assert "journal (mode 0500)" in detail and "till.lock (mode 0400)" in detail and "shift.json.0 (mode 0400)" in detail
    assert "config.toml" not in detail  # a read-only config.toml is the owner's choice, not a fault


def test_mode_bits_are_checked_even_as_root(shop_dir: Path):
    """Run as root, doctor cannot learn anything from access(2): it reads the mode bits."""
    from tests.ops.helpers import doctor

    with closing(sqlite3.connect(shop_dir / "pos.sqlite3")) as conn:
        conn.execute("SELECT 1").fetchall()
    (shop_dir / "pos.sqlite3").chmod(0o400)
    status, checks = doctor(shop_dir)
    assert status == 1 and "pos.sqlite3 (mode 0400)" in checks["files"]["detail"]
