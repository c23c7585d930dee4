"""`tui-pos monitor` beside a running till (issue 6, "Remote support"): it shows what other
processes record, keeps refreshing while the till holds every lock it has (the instance lock,
till.lock and SQLite's write lock), and never writes the database."""

from __future__ import annotations

import asyncio
import hashlib
import re
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from conftest import AS_DEMO, COLA, WATER, cli_json, run_cli
from tui_pos.config import load_config
from tui_pos.ui.monitor import MonitorApp


@contextmanager
def till_holding_its_locks(data_dir: Path) -> Iterator[int]:
    """Another process holds what a selling till can hold: the instance lock for its whole life,
    till.lock (receipt numbers) and SQLite's write lock (mid-commit). Yields its pid."""
    code = textwrap.dedent(f"""
        import sqlite3, time
        from pathlib import Path
        from tui_pos.ops.instance import TillInstanceLock
        from tui_pos.store.sequence import SequenceLock
        data_dir = Path({str(data_dir)!r})
        TillInstanceLock(data_dir).acquire()
        with SequenceLock(data_dir / "till.lock").held():
            conn = sqlite3.connect(data_dir / "pos.sqlite3", isolation_level=None)
            conn.execute("BEGIN IMMEDIATE")
            print("held", flush=True)
            time.sleep(600)
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "held"
        yield proc.pid
    finally:
        proc.kill()
        proc.wait()


def text(app: MonitorApp, selector: str) -> str:
    content = app.query_one(selector).content
    return getattr(content, "plain", str(content))


async def until(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


def sale_line(receipt: str, total: str) -> str:
    """A line of "Last sales" as the monitor prints it (time: local, to the second)."""
    return rf"{receipt}  \d\d-\d\d \d\d:\d\d:\d\d +{re.escape(total)}  demo  sqlite"


@pytest.mark.asyncio
async def test_the_live_view_shows_a_sale_from_another_process_and_reads_on_while_the_till_holds_its_locks(
        shop_dir: Path) -> None:
    app = MonitorApp(load_config(shop_dir), interval_s=0.2)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(lambda: app.snapshot is not None)
        assert "till UI NOT running" in text(app, "#headline")
        assert text(app, "#section-last-sales") == "none"

        run_cli(shop_dir, "sell", *AS_DEMO, "--item", f"{COLA}x2", "--tender", "cash:10")  # 2 x 3.50
        await until(lambda: "T1-000001" in text(app, "#section-last-sales"))
        assert re.fullmatch(sale_line("T1-000001", "7.00"), text(app, "#section-last-sales"))

        with till_holding_its_locks(shop_dir) as pid:
            await until(lambda: f"till UI running (pid {pid})" in text(app, "#headline"))
            seen = app.snapshot["checked_at"]
            await until(lambda: app.snapshot["checked_at"] != seen)  # still refreshing, nothing blocks it
            assert re.fullmatch(sale_line("T1-000001", "7.00"), text(app, "#section-last-sales"))
            assert text(app, "#section-storage").startswith("OK\ndatabase ok")
        await pilot.press("q")
    assert app.return_code == 0


@pytest.mark.asyncio
async def test_the_headline_is_whole_at_80_columns_with_a_long_data_directory(tmp_path: Path) -> None:
    """Issue 10.22: the headline was one row, so the state and the time were cut off by the path."""
    data_dir = tmp_path / ("a-data-directory-with-a-rather-long-name-" * 2) / "shop"
    run_cli(data_dir, "init", "--demo")
    app = MonitorApp(load_config(data_dir), interval_s=60)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(lambda: app.snapshot is not None)
        await pilot.pause()  # the new headline laid out
        headline = app.query_one("#headline")
        shown = [strip.text.rstrip() for strip in headline.render_lines(headline.region.reset_offset)]
    assert all(len(line) <= 80 for line in shown)
    joined = "".join(shown)
    assert re.match(r"Till T1  till UI NOT running  checked \d\d-\d\d \d\d:\d\d:\d\d", joined), shown
    assert joined.endswith(str(data_dir)), shown  # wrapped, never cut


def test_once_prints_the_sale_in_progress_and_the_last_sales_while_the_till_holds_its_locks(
        shop_dir: Path, till) -> None:
    run_cli(shop_dir, "sell", *AS_DEMO, "--item", WATER, "--tender", "cash")  # 2.00
    till.scan(COLA)  # the till's sale in progress: 3.50, saved to cart.json
    with till_holding_its_locks(shop_dir) as pid:
        out = run_cli(shop_dir, "monitor", "--once", timeout=20).stdout
        snapshot = cli_json(shop_dir, "monitor", timeout=20)  # --json implies --once
    assert re.fullmatch(rf"Till T1  till UI running \(pid {pid}\)  checked \d\d-\d\d \d\d:\d\d:\d\d  {re.escape(str(shop_dir))}",
                        out.splitlines()[0])
    sections = dict(block.split(":\n", 1) for block in out.rstrip("\n").split("\n\n")[1:])
    assert sections["Alerts"] == "  none"
    assert re.fullmatch(r"  opened \d\d-\d\d \d\d:\d\d:\d\d, 1 line\(s\), total 3\.50\n"
                        r"  1 x 可口可乐 330ml @ 3\.50", sections["Sale in progress"])
    assert re.fullmatch(f"  {sale_line('T1-000001', '2.00')}", sections["Last sales"])
    assert snapshot["till_running_pid"] == pid
    assert [(s["receipt"], s["total"]) for s in snapshot["recent_sales"]] == [("T1-000001", "2.00")]
    assert [line["barcode"] for line in snapshot["cart"]["lines"]] == [COLA]
    assert snapshot["alerts"] == []


def test_the_monitor_never_writes_the_database(shop_dir: Path) -> None:
    for _ in range(3):
        run_cli(shop_dir, "sell", *AS_DEMO, "--item", COLA, "--tender", "cash")
    db = shop_dir / "pos.sqlite3"
    digest = lambda path: hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None  # noqa: E731
    before = (digest(db), digest(shop_dir / "pos.sqlite3-wal"))
    snapshot = cli_json(shop_dir, "monitor")
    run_cli(shop_dir, "monitor", "--once")
    assert [s["receipt"] for s in snapshot["recent_sales"]] == ["T1-000001", "T1-000002", "T1-000003"]
    wal = shop_dir / "pos.sqlite3-wal"
    assert digest(db) == before[0]
    assert digest(wal) == before[1] or wal.stat().st_size == 0  # a reader may only leave an empty WAL
