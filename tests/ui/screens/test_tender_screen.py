"""Pilot tests of the payment screen's keys and help (tui_pos/ui/screens/tender.py; issue 10
item 15): every letter key is on the key bar, Retry shows only when there is something to retry,
and F1 explains the screen, Retry included."""

from __future__ import annotations

import pytest

from conftest import COLA, database_write_locked, journal_dir_replaced_by_a_file
from tui_pos.ui.screens.pickers import HelpScreen
from tui_pos.ui.screens.tender import TenderScreen

from ..pilot import (
    dialog_text,
    message,
    on_screen,
    paid_and_back,
    screen_text,
    stored_sales,
    to_payment,
    type_text,
    wait_for,
)

pytestmark = pytest.mark.asyncio


async def test_the_key_bar_shows_the_letter_of_every_payment_key(pilot):
    await to_payment(pilot, COLA)
    keys = screen_text(pilot, "#keys")
    for label in ["F2/c Cash", "F3/k Card", "F4/m Mobile", "F5/e Exact", "F6/n Note 1", "F7/o Note 2",
                  "F8/h Note 3", "F9/x Undo pay", "Esc Back"]:
        assert label in keys, f"{label!r} not on the key bar:\n{keys}"


async def test_retry_shows_only_after_a_failed_store_and_help_explains_it(pilot, shop_dir):
    await to_payment(pilot, COLA)
    assert "Retry" not in screen_text(pilot, "#keys")  # nothing to retry: no key that does nothing
    await pilot.press("f1")
    await on_screen(pilot, HelpScreen)
    shown = dialog_text(pilot)
    assert "Retry (F10 or r) stores the same sale again" in shown  # what F10 is for
    assert "Enter" in shown and "typed" in shown  # and what Enter and the letters do
    await pilot.press("escape")
    await on_screen(pilot, TenderScreen)
    with database_write_locked(shop_dir), journal_dir_replaced_by_a_file(shop_dir):
        await type_text(pilot, "5", "enter")
        await wait_for(pilot, lambda: "SALE NOT STORED" in message(pilot), timeout=30)
        await wait_for(pilot, lambda: "F10/r Retry" in screen_text(pilot, "#keys"), timeout=30)
    await pilot.press("r")
    await paid_and_back(pilot)
    assert len(stored_sales(pilot)) == 1
