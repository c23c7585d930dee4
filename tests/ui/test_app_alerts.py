"""Alerts at the till (issue 6, "Alerts"), under Pilot on a real shop: a raised alert takes the
status line without taking the keyboard, hides on F12 leaving a count, goes to the hook, clears
by itself; a change of storage state is checked at once; the backup timer runs on the same check.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import COLA, WATER, database_write_locked, set_config
from tui_pos.app.till import Till
from tui_pos.bootstrap.till import open_till
from tui_pos.config import load_config
from tui_pos.ui import app as app_module
from tui_pos.ui.app import PosApp
from tui_pos.ui.screens.checkout import CheckoutScreen
from tui_pos.ui.widgets.entry import EntryLine

HUGE_MB = 10**9  # [alerts] disk_low_mb: every disk is "low", the data and the journal directory


async def until(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


def status_line(app: PosApp) -> str:
    return app.screen.query_one("#status").content.plain


def hook_events(path: Path) -> list[tuple[str, str]]:
    lines = path.read_text().splitlines() if path.exists() else []
    return [(event["event"], event["key"]) for event in map(json.loads, lines)]


@pytest.fixture
def no_timed_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Checks only when the test (or a storage change) asks: nothing on a timer."""
    monkeypatch.setattr(app_module, "HEALTH_FIRST_S", 1000.0)
    monkeypatch.setattr(app_module, "HEALTH_EVERY_S", 1000.0)


def till_app(shop_dir: Path) -> tuple[Till, PosApp]:
    till = open_till(load_config(shop_dir), cashier="")
    return till, PosApp(till)


async def log_in(pilot) -> None:
    await pilot.press(*"demo", "enter", *"1234", "enter")
    await until(lambda: isinstance(pilot.app.screen, CheckoutScreen))


@pytest.mark.asyncio
async def test_a_raised_alert_takes_the_status_line_not_the_keyboard_and_hides_on_f12(
        shop_dir: Path, no_timed_checks) -> None:
    hook = shop_dir.parent / "alerts.jsonl"
    set_config(shop_dir, "alerts", "disk_low_mb", str(HUGE_MB))
    set_config(shop_dir, "alerts", "hook", json.dumps(f"(cat; echo) >> {hook}"))
    till, app = till_app(shop_dir)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await log_in(pilot)
            await pilot.press(*COLA, "enter")
            app.check_health()  # what the 30 s timer does
            await until(lambda: app.alert_banner is not None)
            await pilot.pause()
            assert status_line(app).startswith(
                f" STORAGE OK  F12 hides  ALERT: data directory {shop_dir}: only ")
            assert isinstance(app.focused, EntryLine)  # the cashier keeps typing into the sale
            await pilot.press(*WATER, "enter")
            assert [line.barcode for line in till.cart.lines] == [COLA, WATER]

            await pilot.press("f12")
            assert status_line(app).startswith(" STORAGE OK  2 ALERTS | Printer ")
            await until(lambda: len(hook_events(hook)) == 2)
            assert sorted(hook_events(hook)) == [("raised", f"disk_low:{shop_dir}"),
                                                 ("raised", f"disk_low:{shop_dir / 'journal'}")]
            # the first check also ran the backup timer: a fresh shop has never been backed up
            assert len(list((shop_dir / "backups").glob("tui-pos-T1-*.sqlite3"))) == 1

            app.check_health()  # nothing new: no banner again, no hook call, no second backup
            await until(lambda: not app.checking_health)
            await pilot.pause()
            assert app.alert_banner is None and len(app.alerts) == 2
            assert status_line(app).startswith(" STORAGE OK  2 ALERTS | Printer ")
            assert len(list((shop_dir / "backups").glob("tui-pos-T1-*.sqlite3"))) == 1
            assert len(hook_events(hook)) == 2
    finally:
        till.close()


@pytest.mark.asyncio
async def test_storage_going_degraded_is_checked_at_once_and_the_alert_clears_by_itself(
        shop_dir: Path, no_timed_checks) -> None:
    """A sale journaled while another process holds the database: the till raises the storage
    alert right away (no timer); once replay has brought the sale in, the alert clears."""
    hook = shop_dir.parent / "alerts.jsonl"
    set_config(shop_dir, "alerts", "hook", json.dumps(f"(cat; echo) >> {hook}"))
    set_config(shop_dir, "storage", "replay_interval_s", "0.2")
    set_config(shop_dir, "backup", "every_hours", "0")
    till, app = till_app(shop_dir)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await log_in(pilot)
            with database_write_locked(shop_dir):
                await pilot.press(*COLA, "enter", "f10", "enter")  # 3.50, exact cash
                await until(lambda: app.alert_banner is not None)
                await pilot.pause()
                assert app.alert_banner.key == "storage"
                assert status_line(app).startswith(" DEGRADED: 1 sale in the journal  F12 hides  ALERT: storage degraded")
            await until(lambda: not app.alerts and app.alert_banner is None)  # replayed, checked again
            await pilot.pause()
            assert status_line(app).startswith(" STORAGE OK | Printer ")
            await until(lambda: len(hook_events(hook)) == 2)
            assert hook_events(hook) == [("raised", "storage"), ("cleared", "storage")]
    finally:
        till.close()


@pytest.mark.asyncio
async def test_the_first_check_runs_by_itself_soon_after_start(shop_dir: Path, monkeypatch) -> None:
    monkeypatch.setattr(app_module, "HEALTH_FIRST_S", 0.2)
    set_config(shop_dir, "alerts", "disk_low_mb", str(HUGE_MB))
    till, app = till_app(shop_dir)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await until(lambda: app.alert_banner is not None)  # on the login screen: nobody typed anything
            await pilot.pause()
            assert " ALERT: data directory " in status_line(app)
            assert app.focused.id == "login-user"
    finally:
        till.close()


def test_alerts_backups_and_the_monitor_are_not_on_the_till_start_up_path() -> None:
    """What `tui-pos` imports before the first screen: the alert check imports its modules in its
    worker thread, seconds later; the monitor only under `tui-pos monitor`."""
    code = ("import sys, tui_pos.cli, tui_pos.ops.instance, tui_pos.ui.app; "
            "print(' '.join(sorted(m for m in sys.modules if m.startswith(('tui_pos.ops.', 'tui_pos.ui.monitor')))))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert not {"tui_pos.ops.alerts", "tui_pos.ops.status", "tui_pos.ops.backup", "tui_pos.ops.monitor",
                "tui_pos.ui.monitor"} & set(loaded), loaded
