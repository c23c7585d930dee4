"""Shifts, Z numbers and receipt numbers over crashes and failing storage (issue 5): one open shift
per till; Z numbers (and shift numbers) sequential and never reused: after a real process is
SIGKILLed at each crash point while closing, after a COMMIT whose outcome is unknown, when the Z
was journaled, when the database cannot be read; a till whose shift another process closed
neither closes it again nor sells into it; refunds and voids share the receipt sequence with
sales, without a gap or a reused number, even when the process dies while storing one.

What is stored is always read back with our own SQL, and the audit chain verified.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing, contextmanager, nullcontext
from pathlib import Path
from typing import Any

import pytest

from conftest import (
    COLA,
    FLOAT,
    WATER,
    break_sqlite,
    database_write_locked,
    journal_dir_replaced_by_a_file,
    restore_sqlite,
)
from tui_pos.app.till import Till
from tui_pos.bootstrap.till import open_till
from tui_pos.config import load_config
from tui_pos.domain.errors import CartError, NoShiftOpen, NotDurable, ShiftAlreadyOpen, ShiftClosedMeanwhile
from tui_pos.domain.tender import Tender
from tui_pos.store import db, verification

from .counting import counting


@contextmanager
def till_on(shop: Path, user: str = "manager", pin: str = "9999") -> Iterator[Till]:
    """A till process (start-up replay included) with someone logged in."""
    till = open_till(load_config(shop), cashier="", keep_cart=False)
    till.login(user, pin)
    try:
        yield till
    finally:
        till.close()


def query(shop: Path, sql: str, *params: Any) -> list[tuple]:
    with closing(sqlite3.connect(shop / "pos.sqlite3")) as conn:
        return conn.execute(sql, params).fetchall()


def z_numbers(shop: Path) -> list[int]:
    return [n for (n,) in query(shop, "SELECT z_number FROM z_report WHERE till_id = 'T1' ORDER BY z_number")]


def shift_numbers(shop: Path) -> list[int]:
    return [n for (n,) in query(shop, "SELECT number FROM shift WHERE till_id = 'T1' ORDER BY number")]


def receipts(shop: Path) -> list[tuple[int, str]]:
    return query(shop, "SELECT seq, kind FROM sale WHERE till_id = 'T1' ORDER BY seq")


def quarantined(shop: Path) -> list[Path]:
    return [p for p in (shop / "journal").rglob("quarantine*") if p.is_file()]


def assert_sound(shop: Path) -> None:
    """Everything replayed, nothing set aside, numbers 1..n without a gap or a double, chain intact."""
    with till_on(shop) as till:
        assert till.storage().journal_backlog == 0
    assert quarantined(shop) == [], "a record was rejected at replay"
    zs, shifts, seqs = z_numbers(shop), shift_numbers(shop), [s for s, _ in receipts(shop)]
    for numbers in (zs, shifts, seqs):
        assert numbers == list(range(1, len(numbers) + 1)), numbers
    with closing(sqlite3.connect(shop / "pos.sqlite3")) as conn:
        verified = verification.verify(conn)
    assert verified.ok, verified.problems


def sell_water(till: Till):
    till.scan(WATER)
    return till.pay([Tender("cash", 2_00)]).sale


def close_and_reopen(till: Till) -> int:
    """Close the open shift (counted exactly) and open the next one; the Z number."""
    z = till.close_shift(till.x_report().expected_cash)
    till.open_shift(FLOAT)
    return z.z_number


# -- one open shift, numbers in order ------------------------------------------------------------------
def test_only_one_open_shift_per_till(shop_dir):
    """Refused by the till that has it and by another process on the same till; a new shift can
    open only once the Z is taken, wherever it was taken."""
    with till_on(shop_dir) as ui, till_on(shop_dir) as cli:
        for till in (ui, cli):
            with pytest.raises(CartError, match="already open"):
                till.open_shift(FLOAT)
        ui.close_shift(FLOAT)
        cli.open_shift(5_000)
        with pytest.raises(CartError, match="already open"):
            ui.open_shift(FLOAT)
        assert ui.refresh_shift()["uuid"] == cli.shift["uuid"]
    assert shift_numbers(shop_dir) == [1, 2]
    assert query(shop_dir, "SELECT COUNT(*) FROM shift s WHERE NOT EXISTS "
                           "(SELECT 1 FROM z_report z WHERE z.shift_uuid = s.uuid)") == [(1,)]


def test_only_one_open_shift_while_it_is_only_in_the_journal(shop_dir):
    with till_on(shop_dir) as ui, till_on(shop_dir) as cli:
        ui.close_shift(FLOAT)
        with database_write_locked(shop_dir):
            opened = ui.open_shift(FLOAT)
            assert ui.storage().journal_backlog > 0
            with pytest.raises(CartError, match="already open"):
                cli.open_shift(FLOAT)
            assert cli.refresh_shift()["uuid"] == opened["uuid"]
    assert_sound(shop_dir)
    assert shift_numbers(shop_dir) == [1, 2]


def test_z_numbers_are_sequential_and_each_z_can_be_read_again(shop_dir):
    with till_on(shop_dir) as till:
        assert [close_and_reopen(till) for _ in range(3)] == [1, 2, 3]
        assert [z.z_number for z in till.z_reports()] == [3, 2, 1]
        assert [(z.z_number, z.shift_number) for z in till.z_reports(2)] == [(2, 2)]
    assert (z_numbers(shop_dir), shift_numbers(shop_dir)) == ([1, 2, 3], [1, 2, 3, 4])
    assert_sound(shop_dir)


# -- a shift closed by another process ------------------------------------------------------------------
def test_a_shift_closed_elsewhere_is_not_closed_twice(shop_dir):
    """The CLI took the Z while the UI was running: the UI's 'close shift' must not print a second
    Z (with a new number) for a shift that is already closed."""
    with till_on(shop_dir) as ui, till_on(shop_dir) as cli:
        sell_water(ui)
        assert cli.close_shift(FLOAT + 2_00).z_number == 1
        with pytest.raises(CartError):
            ui.close_shift(FLOAT + 2_00)
        assert [z.z_number for z in ui.z_reports()] == [1]
    assert z_numbers(shop_dir) == [1]
    assert_sound(shop_dir)


def test_no_sale_goes_into_a_shift_closed_elsewhere(shop_dir):
    """A sale rung up on a shift whose Z is already taken would be in no Z at all: money the
    settlement never sees. It is refused until a shift is open."""
    with till_on(shop_dir) as ui, till_on(shop_dir) as cli:
        cli.close_shift(FLOAT)
        ui.scan(COLA)
        with pytest.raises(CartError):
            ui.pay([Tender("cash", 3_50)])
    assert query(shop_dir, "SELECT COUNT(*) FROM sale") == [(0,)]


# -- crashes while closing ---------------------------------------------------------------------------------
CHILD = r"""
import sys
from pathlib import Path
from tui_pos.config import load_config
from tui_pos.app.till import Till
from tui_pos.bootstrap.till import open_till

data_dir, op, *args = sys.argv[1:]
till = open_till(load_config(Path(data_dir)), cashier="demo", keep_cart=False)
if op == "close":
    till.close_shift(int(args[0]))
elif op == "refund":
    till.refund(args[0], {1: 1}, "Damaged", till.approve("manager", "9999", "refund"))
elif op == "void":
    till.void_last_sale("Wrong item", till.approve("manager", "9999", "void"))
print("acknowledged", flush=True)
"""

# crash point -> (SQLite write-locked while the child runs, so that the record goes to the journal;
#                 is the record stored once the process is dead?)
POINTS = {
    "sqlite_before_commit": (False, False),
    "sqlite_after_commit": (False, True),
    "journal_before_append": (True, False),
    "journal_after_append": (True, True),
}


def killed_at(shop: Path, point: str, *args: str) -> None:
    """Run one operation in a real child process that SIGKILLs itself at `point`; it records
    nothing before that operation (no login), so the point is hit by that record."""
    locked, _ = POINTS[point]
    with database_write_locked(shop) if locked else nullcontext():
        child = subprocess.run([sys.executable, "-c", CHILD, str(shop), *args], capture_output=True, text=True,
                               env={**os.environ, "TUI_POS_CRASH_AT": point}, timeout=60)
    assert child.returncode == -signal.SIGKILL, child.stderr
    assert "acknowledged" not in child.stdout


@pytest.mark.parametrize("point", list(POINTS))
def test_a_z_interrupted_by_a_crash_keeps_the_numbers(shop_dir, point):
    """Killed while storing the Z: either the shift is still open and the next Z takes number 1, or
    the Z is stored (journaled ones replayed at start-up) and the next shift's Z is number 2."""
    stored = POINTS[point][1]
    with till_on(shop_dir) as till:
        sell_water(till)
    killed_at(shop_dir, point, "close", str(FLOAT + 2_00))
    with till_on(shop_dir) as till:
        assert (till.shift is None) == stored
        if stored:
            till.open_shift(FLOAT)
        assert till.close_shift(till.x_report().expected_cash).z_number == (2 if stored else 1)
    assert z_numbers(shop_dir) == ([1, 2] if stored else [1])
    if stored:  # the killed process's Z, whole: what it counted and expected
        assert query(shop_dir, "SELECT counted, expected FROM z_report WHERE z_number = 1") == [
            (FLOAT + 2_00, FLOAT + 2_00)]
    assert_sound(shop_dir)


class CommitFails:
    """A real connection whose COMMIT fails: before committing ('before') or after it really
    committed ('after'); either way the caller cannot know (outcome unknown)."""

    def __init__(self, conn: sqlite3.Connection, when: str):
        self._conn, self._when = conn, when

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        if sql == "COMMIT" and self._when == "before":
            raise sqlite3.OperationalError("disk I/O error")
        cursor = self._conn.execute(sql, *args)
        if sql == "COMMIT" and self._when == "after":
            raise sqlite3.OperationalError("disk I/O error")
        return cursor


@pytest.mark.parametrize("when", ["before", "after"])
def test_a_z_with_an_unknown_outcome_is_never_doubled(shop_dir, monkeypatch, when):
    """COMMIT of the Z fails and no journal takes it: NotDurable, outcome unknown. Closing again
    (same till, storage back) gives either that Z (never stored) or a refusal (it was stored):
    never a second Z for the shift, never a number used twice."""
    with till_on(shop_dir) as till:
        sell_water(till)
        counted = till.x_report().expected_cash
        real_connect = db.connect
        till.ledger._drop_connection()
        monkeypatch.setattr(db, "connect", lambda *a, **k: CommitFails(real_connect(*a, **k), when))
        with journal_dir_replaced_by_a_file(shop_dir), pytest.raises(NotDurable):
            till.close_shift(counted)
        monkeypatch.setattr(db, "connect", real_connect)
        till.ledger._drop_connection()
        if when == "before":
            assert till.close_shift(counted).z_number == 1
        else:
            with pytest.raises(CartError):
                till.close_shift(counted)
        assert [z.z_number for z in till.z_reports()] == [1]
        till.open_shift(FLOAT)
        assert till.close_shift(FLOAT).z_number == 2
    assert z_numbers(shop_dir) == [1, 2]
    assert_sound(shop_dir)


def test_numbers_are_not_reused_while_the_database_cannot_be_read(shop_dir, tmp_path):
    """Z 1 and shift 2 are in SQLite only. Then the database becomes unreadable: the Z of shift 2
    and the shift after it must still get numbers 2 and 3 (not 1 and 1 again), or replay would
    reject them (a lost Z report) once the database is back."""
    with till_on(shop_dir) as till:
        assert close_and_reopen(till) == 1
        sell_water(till)
    break_sqlite(shop_dir, tmp_path / "aside")
    with till_on(shop_dir) as till:
        assert till.shift["number"] == 2
        sell_water(till)
        z = till.close_shift(till.x_report().expected_cash)
        opened = till.open_shift(FLOAT)
        assert (z.z_number, opened["number"]) == (2, 3)
    restore_sqlite(shop_dir, tmp_path / "aside")
    assert_sound(shop_dir)
    assert (z_numbers(shop_dir), shift_numbers(shop_dir)) == ([1, 2], [1, 2, 3])


def corrupt_tables(shop: Path, *tables: str) -> None:
    """Overwrite the root pages of these tables (and their indexes) on disk: the database still
    opens and the rest of it reads, but any query on them fails ('database disk image is malformed')."""
    with closing(sqlite3.connect(shop / "pos.sqlite3")) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        marks = ", ".join("?" * len(tables))
        pages = [p for (p,) in conn.execute(f"SELECT rootpage FROM sqlite_master WHERE tbl_name IN ({marks})", tables)]
    with open(shop / "pos.sqlite3", "r+b") as f:
        for page in pages:
            f.seek((page - 1) * page_size)
            f.write(b"\xde\xad\xbe\xef" * (page_size // 4))


def test_a_database_that_cannot_read_its_shifts_does_not_close_the_shift(shop_dir):
    """The shift pages are corrupt, the rest of the database is fine: 'no shift is open' would
    be a guess. The till keeps the shift it saved beside the journal and goes on selling."""
    opened = query(shop_dir, "SELECT uuid FROM shift")[0][0]
    corrupt_tables(shop_dir, "shift", "z_report")
    with till_on(shop_dir, "demo", "1234") as till:
        assert till.shift is not None and till.shift["uuid"] == opened
        sale = sell_water(till)
        assert sale.shift_uuid == opened
        assert till.x_report().sales.total == 2_00


# -- receipt numbers of refunds and voids --------------------------------------------------------------------
@pytest.mark.parametrize("op", ["refund", "void"])
@pytest.mark.parametrize("point", list(POINTS))
def test_refunds_and_voids_share_the_receipt_sequence_across_a_crash(shop_dir, point, op):
    """Sales 1 and 2, then a refund of 1 or a void of 2 killed at `point`, then a sale: receipts
    stay 1..n with no gap and none used twice; the reversal is there once (linked to its sale) or
    not at all, and the next sale's number follows whatever was stored."""
    stored = POINTS[point][1]
    with till_on(shop_dir, "demo", "1234") as till:
        first, second = sell_water(till), sell_water(till)
    killed_at(shop_dir, point, op, first.receipt)
    with till_on(shop_dir, "demo", "1234") as till:
        following = sell_water(till)
    assert following.seq == (4 if stored else 3)
    original = first if op == "refund" else second
    assert query(shop_dir, "SELECT seq FROM sale WHERE kind = ? AND original_uuid = ?", op, original.uuid) == (
        [(3,)] if stored else [])
    assert receipts(shop_dir) == [(1, "sale"), (2, "sale")] + ([(3, op)] if stored else []) + [
        (following.seq, "sale")]
    assert_sound(shop_dir)


def test_a_sale_stored_while_the_z_is_taken_is_in_that_z(shop_dir):
    """Another process sells between the X the closing till computed and the moment it stores the
    Z: the Z is computed again under the numbering lock, so that sale and its cash are in it."""
    with till_on(shop_dir) as ui, till_on(shop_dir) as cli:
        store_z = ui.ledger.numbered

        def a_sale_first(*args, **kwargs):
            sell_water(cli)
            return store_z(*args, **kwargs)

        ui.ledger.numbered = a_sale_first
        z = ui.close_shift(FLOAT + 2_00)
    assert (z.sales.count, z.expected_cash, z.difference) == (1, FLOAT + 2_00, 0)


def test_no_paid_out_goes_into_a_shift_closed_elsewhere(shop_dir):
    """Like a sale, a paid-out into a shift whose Z is taken would be in no Z report."""
    with till_on(shop_dir) as ui, till_on(shop_dir) as cli:
        cli.close_shift(FLOAT)
        with pytest.raises(CartError):
            ui.cash_movement("paid_out", 5_00, "window cleaner")
    assert query(shop_dir, "SELECT COUNT(*) FROM cash_movement") == [(0,)]


# -- each shift record in one unit of work (was tests/app/test_shifts_numbering.py) ----------------
# Shifts (tui_pos/app/shifts.py) through the Till on a real shop: each shift record is stored in
# one unit of work under the numbering lock, and the shift's states have their own error types.

def test_a_paid_out_and_the_z_each_take_the_numbering_lock_once_and_commit_once(till):
    taken, commits = counting(till)

    till.cash_movement("paid_out", 5_00, "window cleaner")
    z = till.close_shift(FLOAT - 5_00)

    assert (z.z_number, z.expected_cash, z.difference) == (1, FLOAT - 5_00, 0)
    assert len(taken) == 2 and [kind for kind, _ in commits] == ["cash_movement", "shift_close"]
    assert till.shift is None and till.z_reports(1)[0].counted == FLOAT - 5_00


def test_opening_a_shift_takes_the_numbering_lock_once(till):
    till.close_shift(FLOAT)
    taken, commits = counting(till)

    shift = till.open_shift(50_00)

    assert shift["number"] == 2 and shift["float"] == 50_00 and till.shift == shift
    assert len(taken) == 1 and [kind for kind, _ in commits] == ["shift_open"]


def test_shift_states_have_their_own_errors_which_are_still_cart_errors(till, shop_dir):
    with pytest.raises(ShiftAlreadyOpen):
        till.open_shift(FLOAT)
    till.close_shift(FLOAT)
    with pytest.raises(NoShiftOpen):
        till.x_report()
    with pytest.raises(NoShiftOpen):
        till.close_shift(FLOAT)
    assert issubclass(ShiftAlreadyOpen, CartError) and issubclass(NoShiftOpen, CartError)


def test_a_paid_in_into_a_shift_closed_by_another_till_process_is_refused(shop_dir):
    ui, cli = (open_till(load_config(shop_dir), cashier="demo") for _ in range(2))
    try:
        cli.close_shift(FLOAT)
        with pytest.raises(ShiftClosedMeanwhile):
            ui.cash_movement("paid_in", 5_00, "float top-up")
        assert ui.shift is None
    finally:
        ui.close()
        cli.close()
