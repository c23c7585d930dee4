"""SIGKILL the real `tui-pos sell` process at each named crash point of the durable path.

A kill is a crash without power loss: the page cache survives, so every file the process
wrote is there afterwards. What must hold after recovery (`tui-pos replay`): every sale that
was acknowledged before the kill is in SQLite exactly once, the killed sale (never
acknowledged) at most once, receipt numbers stay unique and continue after the highest one
present, and the database and the journal are clean.
"""

from __future__ import annotations

import signal
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from conftest import AS_DEMO, COLA, NOODLES, WATER, cli_json, run_cli
from tui_pos.store.crash import POINTS

DB_FILES = ("pos.sqlite3", "pos.sqlite3-wal", "pos.sqlite3-shm")

# point -> (SQLite unusable while the killed process runs, journaled sales before the kill,
#           is the killed sale stored afterwards; for replay_* the killed `sell` dies in its
#           start-up replay, before its own sale is opened).
SCENARIOS = {
    "journal_before_append": (True, 1, False),  # killed before a byte of it was written
    "journal_after_append": (True, 1, True),  # fsync'd: durable though never acknowledged
    "sqlite_before_commit": (False, 0, False),  # rows written but never committed
    "sqlite_after_commit": (False, 0, True),  # committed: durable though never acknowledged
    "replay_before_commit": (False, 2, False),  # killed while replaying at start-up
    "replay_after_commit": (False, 2, False),  # replay committed, journal files not retired
}

# Sales made before the kill, with their line count and total worked out by hand from the
# demo catalog: COLA 3.50, WATER 2.00, NOODLES 4.50.
FIRST_SALE = (("--item", COLA, "--item", WATER), 2, 550)
JOURNALED_SALE = (("--item", f"{NOODLES}x3",), 1, 1350)
KILLED_SALE = ("--item", COLA, "--item", NOODLES)
KILLED_LINES, KILLED_TOTAL = 2, 800


def test_every_crash_point_has_a_scenario():
    """A crash point added to the product must get a kill test here."""
    assert set(SCENARIOS) == set(POINTS)


def break_sqlite(shop: Path, aside: Path) -> None:
    """Move the database aside and put garbage in its place: every SQLite call fails."""
    aside.mkdir()
    for name in DB_FILES:
        if (shop / name).exists():
            (shop / name).rename(aside / name)
    (shop / "pos.sqlite3").write_bytes(b"this is not an SQLite database\n" * 200)


def restore_sqlite(shop: Path, aside: Path) -> None:
    for name in DB_FILES:
        (shop / name).unlink(missing_ok=True)
    for name in DB_FILES:
        if (aside / name).exists():
            (aside / name).rename(shop / name)
    aside.rmdir()


def sell(shop: Path, items: tuple[str, ...]) -> dict:
    return cli_json(shop, "sell", *AS_DEMO, *items, "--tender", "cash")


def query(shop: Path, sql: str, *params) -> list[tuple]:
    with closing(sqlite3.connect(shop / "pos.sqlite3")) as conn:
        return conn.execute(sql, params).fetchall()


def assert_ledger_clean(shop: Path, acked: dict[str, tuple[int, int]]) -> None:
    """Acknowledged sales once each with all their lines, unique receipts, a sound database."""
    for uuid, (lines, total) in acked.items():
        assert query(shop, "SELECT COUNT(*), MAX(total) FROM sale WHERE uuid = ?", uuid) == [(1, total)], uuid
        assert query(shop, "SELECT COUNT(*) FROM sale_line WHERE sale_uuid = ?", uuid) == [(lines,)], uuid
    assert query(shop, "SELECT receipt FROM sale GROUP BY receipt HAVING COUNT(*) > 1") == []
    assert query(shop, "PRAGMA integrity_check") == [("ok",)]
    assert query(shop, "PRAGMA foreign_key_check") == []
    listed = cli_json(shop, "sales")
    assert sorted(r["uuid"] for r in listed) == sorted(r[0] for r in query(shop, "SELECT uuid FROM sale"))
    assert all(r["stored"] == "sqlite" for r in listed)
    assert len({r["receipt"] for r in listed}) == len(listed)
    journal = shop / "journal"
    assert sorted(p.name for p in journal.glob("*.jsonl")) == [], "journal files left un-replayed"
    quarantine = journal / "quarantine"
    assert not quarantine.exists() or not any(quarantine.iterdir()), "nothing may be quarantined"


def max_seq(shop: Path) -> int:
    return query(shop, "SELECT MAX(seq) FROM sale WHERE till_id = 'T1'")[0][0]


@pytest.mark.parametrize("point", list(SCENARIOS))
def test_sigkill_at_crash_point(shop_dir: Path, tmp_path: Path, point: str):
    """The real process is killed at `point`; nothing acknowledged is lost or doubled."""
    sqlite_broken, journaled, killed_must_exist = SCENARIOS[point]
    aside = tmp_path / "db-aside"
    acked: dict[str, tuple[int, int]] = {}

    first = sell(shop_dir, FIRST_SALE[0])
    assert first["stored"] == "sqlite"
    acked[first["uuid"]] = FIRST_SALE[1:]

    if journaled:
        break_sqlite(shop_dir, aside)
        for _ in range(journaled):
            sale = sell(shop_dir, JOURNALED_SALE[0])
            assert sale["stored"] == "journal"
            acked[sale["uuid"]] = JOURNALED_SALE[1:]
        if not sqlite_broken:
            restore_sqlite(shop_dir, aside)
    assert len(set(acked)) == 1 + journaled

    killed = run_cli(shop_dir, "sell", *AS_DEMO, *KILLED_SALE, "--tender", "cash", "--json",
                     env={"TUI_POS_CRASH_AT": point}, check=False)
    assert killed.returncode == -signal.SIGKILL, (killed.returncode, killed.stderr)
    assert killed.stdout == "", "a killed sale must never have been acknowledged"

    if sqlite_broken:
        restore_sqlite(shop_dir, aside)
    replayed = cli_json(shop_dir, "replay")
    assert replayed["error"] == "" and replayed["remaining"] == 0 and replayed["quarantined"] == 0
    if point == "replay_after_commit":  # the killed replay had committed both: none inserted twice
        assert (replayed["replayed"], replayed["skipped"]) == (0, journaled)
    elif point == "replay_before_commit":  # the killed replay's transaction was rolled back
        assert (replayed["replayed"], replayed["skipped"]) == (journaled, 0)
    assert_ledger_clean(shop_dir, acked)

    # The killed sale (never acknowledged) is whatever is stored beyond the acknowledged ones:
    # at most one sale, and it must be the killed one, whole.
    extra = query(shop_dir, f"SELECT uuid, total FROM sale WHERE uuid NOT IN ({', '.join('?' * len(acked))})",
                  *acked)
    assert len(extra) == (1 if killed_must_exist else 0), extra
    for uuid, total in extra:
        assert total == KILLED_TOTAL
        acked[uuid] = (KILLED_LINES, KILLED_TOTAL)
    assert_ledger_clean(shop_dir, acked)

    highest = max_seq(shop_dir)
    following = sell(shop_dir, ("--item", WATER))
    assert following["stored"] == "sqlite"
    assert following["receipt"] == f"T1-{highest + 1:06d}", "the next receipt number, none reused"
    acked[following["uuid"]] = (1, 200)
    assert_ledger_clean(shop_dir, acked)
    assert query(shop_dir, "SELECT COUNT(*) FROM sale")[0][0] == len(acked)
