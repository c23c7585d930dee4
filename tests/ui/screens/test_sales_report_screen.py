"""Pilot tests of the sales report screen at 80x24 on the sales of conftest.sell_two_days(), in UTC+8.

The bars are worked out by hand: on 1 March the hours 07, 09 and 10 took 5.50, 11.50 and 6.00
(11:00 only paid a refund back: no bar). Scaled to 8 rows of 8 eighths by the largest (11.50):
09 is 64 eighths (8 full rows), 10 is round(600 x 64 / 1150) = 33 (4 rows and an eighth), 07 is
round(550 x 64 / 1150) = 31 (3 rows and 7 eighths); on the console, whole rows: 8, 4 and 4.
"""

from __future__ import annotations

import asyncio
import html
import re
import shutil
import time
from datetime import date
from pathlib import Path

import pytest
from textual.widgets import Static

from conftest import CONSOLE_GLYPHS, CONSOLE_MISSING_GLYPHS, set_config
from tui_pos.bootstrap.till import open_till
from tui_pos.config import load_config
from tui_pos.ui.app import PosApp
from tui_pos.ui.screens.login import LoginScreen
from tui_pos.ui.screens.sales_report import SalesReportScreen
from tui_pos.ui.widgets.hour_chart import HourChart

pytestmark = pytest.mark.asyncio

DAY_1 = date(2026, 3, 1)
BLANK, FULL = "  ", "██"


async def until(pilot, condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting for the report"
        await asyncio.sleep(0.01)
    await pilot.pause()


def screen_text(svg: str) -> str:
    """The characters of a screenshot, in order (the SVG's text elements joined)."""
    return html.unescape("".join(re.findall(r">([^<]*)</text>", svg))).replace("\xa0", " ")


def column(chart: HourChart, hour: int) -> list[str]:
    """The cells of one hour's bar, top row first."""
    return [row[hour * 3:hour * 3 + 2].ljust(2) for row in chart.rows]


def shown(screen: SalesReportScreen, day: date) -> bool:
    return screen.report is not None and screen.report.first_day == day


@pytest.mark.parametrize("theme", ["default", "console"])
async def test_hourly_bars_and_moving_between_days(two_days_shop: Path, tmp_path: Path, utc_plus_8: str,
                                                   theme: str) -> None:
    shop = Path(shutil.copytree(two_days_shop, tmp_path / "shop"))
    set_config(shop, "ui", "theme", f'"{theme}"')
    till = open_till(load_config(shop), cashier="")
    app = PosApp(till)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: isinstance(app.screen, LoginScreen))
            screen = SalesReportScreen(till, day=DAY_1)
            app.push_screen(screen)
            await until(pilot, lambda: shown(screen, DAY_1))
            chart = screen.query_one(HourChart)
            assert len(chart.rows) == 8
            assert column(chart, 9) == [FULL] * 8
            if theme == "default":
                assert column(chart, 10) == [BLANK] * 3 + ["▁▁"] + [FULL] * 4
                assert column(chart, 7) == [BLANK] * 4 + ["▇▇"] + [FULL] * 3
            else:
                assert column(chart, 10) == column(chart, 7) == [BLANK] * 4 + [FULL] * 4
            assert all(column(chart, hour) == [BLANK] * 8 for hour in range(24) if hour not in (7, 9, 10))
            assert "Sun 2026-03-01" in str(screen.query_one("#report-title", Static).render())
            yen = "¥" if theme == "console" else "￥"  # the console's fonts have ¥ (U+00A5), not ￥ (issue 10)
            assert f"Busiest hour 09:00 {yen}11.50 (1 sale)" in str(screen.query_one("#report-message", Static).render())
            screenshot = screen_text(app.export_screenshot())
            # the console cannot draw CJK: a name in a fixed-width table keeps its columns, in pinyin
            cola = "KeKoKeLe 330ml" if theme == "console" else "可口可乐 330ml"
            assert cola in screenshot and "mobile" in screenshot and f"Net {yen}19.50" in screenshot
            missing = CONSOLE_MISSING_GLYPHS & set(screenshot)
            assert (not missing) if theme == "console" else {"▁", "▇"} <= missing
            if theme == "console":
                assert not sorted(c for c in set(screenshot) - {"\n"} if c not in CONSOLE_GLYPHS)

            await pilot.press("right")  # 2 March: the 00:30 sale, voided at 01:00
            await until(pilot, lambda: shown(screen, date(2026, 3, 2)))
            assert column(chart, 0) == [FULL] * 8 and column(chart, 1) == [BLANK] * 8
            assert "Mon 2026-03-02" in str(screen.query_one("#report-title", Static).render())

            await pilot.press("left", "left")  # 28 February: nothing sold
            await until(pilot, lambda: shown(screen, date(2026, 2, 28)))
            assert chart.rows == [""] * 8
            assert "No sales this day." in str(screen.query_one("#report-message", Static).render())

            await pilot.press("escape")
            await until(pilot, lambda: isinstance(app.screen, LoginScreen))
    finally:
        till.close()
