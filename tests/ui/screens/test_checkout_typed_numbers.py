"""Quantities typed at the till are ASCII digits only: '３' and '٣' are not silently read as 3, and
'²' or '①' (which str.isdigit() accepts and int() refuses) are a message, never a crash of the UI."""

from __future__ import annotations

import pytest

from conftest import COLA, WATER
from tui_pos.ui.screens.checkout import CheckoutScreen
from tui_pos.ui.screens.dialogs import AskScreen

from .test_checkout_flows import demo_shop_template, lines, message, on_screen, pilot, scan, shop_dir, type_text  # noqa: F401

pytestmark = pytest.mark.asyncio

HOSTILE = ["３", "٣", "²", "①", "9" * 30]


async def test_a_quantity_in_other_digits_adds_nothing(pilot):
    await scan(pilot, COLA)
    for qty in HOSTILE:
        await scan(pilot, f"{qty}*{WATER}")
        assert lines(pilot) == [(COLA, 1, False)], qty
        assert "quantity first, in digits 0-9" in message(pilot)
    assert pilot.app.is_running


async def test_f3_refuses_a_quantity_in_other_digits(pilot):
    await scan(pilot, COLA)
    for qty in HOSTILE:
        await pilot.press("f3")
        await on_screen(pilot, AskScreen)
        await pilot.press("backspace")
        await type_text(pilot, qty, "enter")
        await on_screen(pilot, CheckoutScreen)
        assert lines(pilot) == [(COLA, 1, False)], qty
        assert "is not a quantity (digits 0-9)" in message(pilot)
