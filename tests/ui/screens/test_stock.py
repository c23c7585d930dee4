"""Pilot tests for the stock screens (issue 14) at 80x24 on a fresh demo shop: receiving goods by
scanning, a blind count by scanning with its variance reviewed and a manager's approval inline,
and a burst of 100 scans arriving exactly. What was stored is read back with sqlite3."""

from __future__ import annotations

import pytest

from conftest import COLA, WATER
from tui_pos.ui.screens.stock import StockScreen

from ..pilot import BURST_CODES, approve, menu, message, on_screen, rows, scan, scanning_screen_burst, shown, wait_for

pytestmark = pytest.mark.asyncio


def moves(pilot) -> list[tuple]:
    """The movements stored since the demo shop was loaded (its catalog's opening counts left out)."""
    return rows(pilot, "SELECT kind, barcode, qty, expected, counted, actor, approved_by FROM stock_move "
                       "WHERE reason IS NOT 'opening' ORDER BY rowid")


async def test_receiving_goods_by_scanning(pilot):
    await menu(pilot, "r")
    await on_screen(pilot, StockScreen)
    await scan(pilot, COLA, COLA, f"5*{WATER}", "6900000009999")
    assert message(pilot) == "unknown code '6900000009999': nothing added"
    await scan(pilot, "3*")  # said as typed, not as the CODExQTY it would have become ('x3')
    assert message(pilot).startswith("'3*': quantity first")
    assert moves(pilot) == []  # nothing stored while scanning
    await pilot.press("f10")
    await wait_for(pilot, lambda: "stored" in message(pilot))
    assert moves(pilot) == [("receive", COLA, 2_000, 27_000, None, "demo", None),
                            ("receive", WATER, 5_000, 34_000, None, "demo", None)]
    assert "on hand 29" in shown(pilot) and "on hand 39" in shown(pilot)


async def test_a_blind_count_asks_a_manager_to_approve_its_variance(pilot):
    await menu(pilot, "t")
    await on_screen(pilot, StockScreen)
    await scan(pilot, *[COLA] * 10, WATER)
    assert "27" not in shown(pilot) and "expected" not in shown(pilot)  # blind: what is expected is not shown
    await pilot.press("f5")  # the last scan undone
    assert message(pilot) == "Undone: 1 x 农夫山泉 550ml"
    await pilot.press("f10")
    await approve(pilot)  # 10 counted, 27 expected: a manager approves it
    await wait_for(pilot, lambda: "stored" in message(pilot))
    assert moves(pilot) == [("count", COLA, -17_000, 27_000, 10_000, "demo", "manager")]
    assert "expected 27, variance -17" in shown(pilot)  # reviewed once stored


async def test_a_burst_of_100_scans_is_counted_exactly(pilot):
    await menu(pilot, "t")
    await on_screen(pilot, StockScreen)
    codes = await scanning_screen_burst(pilot)
    assert {barcode: line.qty for barcode, line in pilot.app.screen.tally.items()} == {
        code: 1_000 * codes.count(code) for code in BURST_CODES}
