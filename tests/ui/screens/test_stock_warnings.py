"""Pilot tests of the stock warnings screen (issue 14: "a chart in the TUI where people would
rather look than read") at 80x24 on a fresh demo shop: the week's warnings, a product's daily
sales as a sparkline, the write-offs by reason as bars, the week moved with Left/Right."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from textual.widgets import OptionList, Sparkline

from conftest import COLA, WATER, sell_at
from tui_pos.domain.stock import format_qty
from tui_pos.domain.tender import Tender
from tui_pos.ui.screens.manager_menu import ManagerMenuScreen
from tui_pos.ui.screens.stock_warnings import CHART_DAYS, StockWarningsScreen
from tui_pos.ui.widgets.bars import FULL, Bars, DailyChart

from ..pilot import assert_console_glyphs_only, at_checkout, menu, on_screen, rendered_text, shown, svg_text, wait_for


def stored_at(delta: timedelta = timedelta(0)) -> str:
    return (datetime.now(UTC) + delta).isoformat(timespec="milliseconds")


def a_week_of_stock(till) -> None:
    """Cola: 2 sold yesterday and 5 today, counted 10 when 26 were expected (a variance), 3 written
    off for theft and 1 damaged at the 2.00 it was received at; water: 1 expired (no cost known)."""
    till.stock.receive(till.stock.lines([f"{COLA}x6"], "receive", unit_cost=200))
    sell_at(till, stored_at(-timedelta(days=1)), {COLA: 2}, [Tender("cash", 700)])
    sell_at(till, stored_at(), {COLA: 5}, [Tender("cash", 1750)])
    till.clock = stored_at
    till.stock.count(till.stock.lines([f"{COLA}x10"], "count"), till.approve("manager", "9999", "stock_count"))
    till.stock.adjust(till.stock.lines([f"{COLA}x-3"], "adjust"), "theft")
    till.stock.adjust(till.stock.lines([f"{COLA}x-1"], "adjust"), "damaged")
    till.stock.adjust(till.stock.lines([f"{WATER}x-1"], "adjust"), "expired")


@pytest.mark.asyncio
async def test_the_week_s_warnings_with_daily_sales_and_write_offs_as_charts(pilot):
    a_week_of_stock(pilot.app.till)
    await menu(pilot, "w")
    await on_screen(pilot, StockWarningsScreen)
    screen = pilot.app.screen
    await wait_for(pilot, lambda: screen.query_one(OptionList).option_count > 0)
    assert "可口可乐 330ml: counted 10, expected 26: -16" in shown(pilot)  # the warning says why
    chart = screen.query_one(DailyChart)
    await wait_for(pilot, lambda: len(chart.values) == CHART_DAYS)
    assert chart.values[-2:] == [2_000, 5_000] and sum(chart.values) == 7_000  # yesterday's 2, today's 5
    assert screen.query_one(Sparkline).data == [float(v) for v in chart.values]
    assert "Daily sales of 可口可乐 330ml, the last 35 days: 5 at most, 7 in all" in shown(pilot)
    bars = dict(zip(("damaged", "expired", "theft", "other"), screen.query_one(Bars).lines))
    assert bars["theft"].split()[1] == FULL * 30 and "6.00" in bars["theft"] and "3 units" in bars["theft"]
    assert bars["damaged"].count(FULL) == 10 and "2.00" in bars["damaged"]  # a third of theft's
    assert FULL not in bars["expired"] and "1 units" in bars["expired"]  # no cost known: no value to draw
    await pilot.press("left")  # the week before: nothing happened
    await wait_for(pilot, lambda: screen.query_one(OptionList).option_count == 0 and "No stock warnings" in shown(pilot))
    assert all(FULL not in line for line in screen.query_one(Bars).lines)
    await pilot.press("escape")


@pytest.mark.asyncio
async def test_the_sparkline_follows_the_highlighted_product(pilot):
    till = pilot.app.till
    sell_at(till, stored_at(), {WATER: 4}, [Tender("cash", 800)])
    till.clock = stored_at
    till.stock.count(till.stock.lines([f"{WATER}x0"], "count"), till.approve("manager", "9999", "stock_count"))
    till.stock.count(till.stock.lines([f"{COLA}x0"], "count"), till.approve("manager", "9999", "stock_count"))
    await menu(pilot, "w")
    await on_screen(pilot, StockWarningsScreen)
    screen = pilot.app.screen
    await wait_for(pilot, lambda: screen.query_one(OptionList).option_count >= 2)
    subjects = [w.subject for w in screen.warnings]
    assert subjects[:2] == [WATER, COLA]  # the counts' variances, as stored
    chart = screen.query_one(DailyChart)
    await wait_for(pilot, lambda: screen.charted == WATER and chart.values[-1:] == [4_000])
    await pilot.press("down")
    await wait_for(pilot, lambda: screen.charted == COLA and len(chart.values) == CHART_DAYS and sum(chart.values) == 0)
    assert f"{format_qty(0)} in all" in shown(pilot)


def test_the_console_theme_draws_the_charts_with_the_consoles_glyphs_and_chinese_reads_them(make_app) -> None:
    """TERM=linux: the sparkline becomes columns of full blocks (the console's font lacks eighth
    blocks), the bars whole blocks; in Chinese the screen says its titles and reasons in Chinese."""
    seen: dict[str, str] = {}

    def visiting(name: str):
        async def visit(pilot) -> None:
            await at_checkout(pilot)
            a_week_of_stock(pilot.app.till)
            await pilot.press("f11")
            await wait_for(pilot, lambda: isinstance(pilot.app.screen, ManagerMenuScreen), "the menu")
            await pilot.press("w")
            await wait_for(pilot, lambda: isinstance(pilot.app.screen, StockWarningsScreen), "the warnings")
            chart = pilot.app.screen.query_one(DailyChart)
            await wait_for(pilot, lambda: len(chart.values) == CHART_DAYS, "the daily sales")
            await pilot.pause()
            seen[name] = svg_text(pilot.app.export_screenshot())
        return visit

    asyncio.run(rendered_text(make_app("console"), visiting("console")))
    assert_console_glyphs_only(seen["console"], "the stock warnings")
    assert FULL * 30 in seen["console"]  # theft's bar
    columns = [line for line in seen["console"].splitlines() if line.strip() and set(line.strip()) <= {FULL, " "}]
    assert columns and columns[-1].rstrip().endswith(FULL * 2)  # yesterday's and today's sales, the last columns
    asyncio.run(rendered_text(make_app("default", "zh_CN"), visiting("chinese")))
    assert "按原因的报损（成本）" in seen["chinese"] and "失窃" in seen["chinese"] and "每日销量" in seen["chinese"]
