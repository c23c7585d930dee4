"""Pilot tests of the cart view (tui_pos/ui/widgets/cart_view.py) on the checkout at 80x24.

Issue 10: rows scrolled off the cart gave no sign that there were more. The sign must say how
many, and in the console theme (TERM=linux) use only glyphs the Linux console's font has.
"""

from __future__ import annotations

import re

import pytest
from textual.pilot import Pilot

from conftest import COLA, set_config

from ..pilot import assert_console_glyphs_only, running, scan, svg_text

pytestmark = pytest.mark.asyncio


def cart_on_screen(pilot: Pilot) -> tuple[str, list[int]]:
    """The screen's text and the numbers of the cart rows it shows."""
    text = svg_text(pilot.app.export_screenshot())
    return text, [int(n) for n in re.findall(r"^\s*(\d+) (?:可口可乐|KeKouKeLe) 330ml", text, re.M)]


@pytest.mark.parametrize("theme, above, below", [("default", "▲", "▼"), ("console", "^", "v")])
async def test_rows_off_the_cart_are_counted_on_screen(shop_dir, theme, above, below):
    set_config(shop_dir, "ui", "theme", f'"{theme}"')
    async with running(shop_dir) as pilot:
        await scan(pilot, *[COLA] * 25)
        text, rows = cart_on_screen(pilot)
        assert rows[-1] == 25 and rows == list(range(rows[0], 26)), text  # the newest line is shown
        assert f"{above} {rows[0] - 1} more" in text and "more" not in text.replace(f"{above} {rows[0] - 1} more", ""), text
        if theme == "console":
            assert_console_glyphs_only(text, "a long cart")

        await pilot.press(*["up"] * 24)  # to the first line: now the rest is below
        text, rows = cart_on_screen(pilot)
        assert rows[0] == 1 and rows == list(range(1, rows[-1] + 1)), text
        assert f"{below} {25 - rows[-1]} more" in text and f"{above} " not in text, text

        await pilot.press(*["down"] * rows[-1])  # one past the last row shown: in the middle, both signs
        text, rows = cart_on_screen(pilot)
        assert rows[0] > 1 and rows[-1] < 25, text
        assert f"{above} {rows[0] - 1} more" in text and f"{below} {25 - rows[-1]} more" in text, text


async def test_a_cart_that_fits_shows_no_sign(shop_dir):
    async with running(shop_dir) as pilot:
        await scan(pilot, *[COLA] * 5)
        text, rows = cart_on_screen(pilot)
        assert rows == [1, 2, 3, 4, 5] and "more" not in text, text
