"""Pilot tests of the pickers (tui_pos/ui/screens/pickers.py) at 80x24 on a fresh demo shop: the
product look-up (issue 10 item 11: accents, "nothing found"; issue 16: pinyin) and the help screen (item 15)."""

from __future__ import annotations

import pytest
from textual.widgets import OptionList

from tui_pos.ui.screens.checkout import CheckoutScreen
from tui_pos.ui.screens.pickers import HelpScreen, LookupScreen

from ..pilot import dialog_text, lines, on_screen, scan, wait_for

pytestmark = pytest.mark.asyncio

COLA = "6900000000014"  # 可口可乐 330ml
CAFE_CREME = "6900000000090"  # Café Crème latte, 12.00
CREME_PAPER = "6900000000496"  # Crème de papier A4 500, 29.00
SUSHI = "6900000000588"  # 寿司 Sushi box, 26 in stock
WEIGHED = "6900000000595"  # 散装称重 Weighed goods, no stock


def results(pilot) -> list[str]:
    found = pilot.app.screen.query_one(OptionList)
    return [found.get_option_at_index(i).id for i in range(found.option_count)]


async def test_a_name_typed_without_accents_finds_the_accented_products(pilot):
    await scan(pilot, "creme")
    await on_screen(pilot, LookupScreen)
    assert results(pilot) == [CREME_PAPER, CAFE_CREME]  # the name that starts with it first
    await pilot.press("enter")
    await on_screen(pilot, CheckoutScreen)
    assert lines(pilot) == [(CREME_PAPER, 1, False)]


@pytest.mark.parametrize("typed", ["kkkl", "kekoukele", "kkkl330"])
async def test_pinyin_finds_a_chinese_name_issue_16(pilot, typed):
    """Initials, full pinyin, or with the Latin part of the name: Enter adds 可口可乐 330ml."""
    await scan(pilot, typed)
    await on_screen(pilot, LookupScreen)
    assert results(pilot)[0] == COLA
    await pilot.press("enter")
    await on_screen(pilot, CheckoutScreen)
    assert lines(pilot) == [(COLA, 1, False)]


def prompt(pilot, barcode: str) -> str:
    return str(pilot.app.screen.query_one(OptionList).get_option(barcode).prompt)


async def test_the_look_up_shows_stock_on_hand_as_tui_pos_stock_does(pilot):
    """Issue 14: each product found shows its stock on hand (the one stock answer, read beside the
    typing); a product whose stock is not tracked shows none."""
    till = pilot.app.till
    till.stock.receive(till.stock.lines([f"{COLA}x3"], "receive"))  # the demo catalog's 27, and 3 in
    [level] = till.stock.levels(COLA)
    assert level.on_hand == 30_000
    await scan(pilot, "kkkl")
    await on_screen(pilot, LookupScreen)
    await wait_for(pilot, lambda: "on hand 30" in prompt(pilot, COLA))
    await pilot.press("end", *["backspace"] * 4, *"deli")
    await wait_for(pilot, lambda: "on hand 26" in prompt(pilot, SUSHI))  # the same read as the weighed goods'
    assert "on hand" not in prompt(pilot, WEIGHED)  # no stock in the demo catalog, nothing moved: not tracked
    await pilot.press("escape")
    await on_screen(pilot, CheckoutScreen)


async def test_a_look_up_that_finds_nothing_says_so(pilot):
    await scan(pilot, "zzqx")
    await on_screen(pilot, LookupScreen)
    assert results(pilot) == []
    assert "Nothing found for 'zzqx'" in dialog_text(pilot)
    await pilot.press("enter")  # nothing to add: the dialog stays and still says why
    assert isinstance(pilot.app.screen, LookupScreen) and "Nothing found" in dialog_text(pilot)
    await pilot.press("end", *["backspace"] * 4, *"oreo")  # something found: the message goes
    assert results(pilot) and "Nothing found" not in dialog_text(pilot)
    await pilot.press("escape")
    await on_screen(pilot, CheckoutScreen)
    assert lines(pilot) == []


async def test_help_explains_the_entry_line_not_only_the_keys(pilot):
    """F1 tells a new cashier what the entry line takes: a code, QTY*CODE, a name to look up."""
    await pilot.press("f1")
    await on_screen(pilot, HelpScreen)
    shown = dialog_text(pilot)
    assert "3*" in shown and "three" in shown  # 3*CODE adds three
    assert "part of a name" in shown and "finds the product" in shown  # a name looks the product up
    assert "F10" in shown and "Pay" in shown  # and the keys are still listed


async def test_held_sales_by_chinese_and_latin_cashiers_line_up_issue_16(pilot):
    """A cashier named in Chinese takes two columns a character: the item counts stay in one column,
    and the time is the till's local time (not the stored UTC)."""
    from rich.cells import cell_len

    from tui_pos.app.selling import HeldSale
    from tui_pos.domain.shop_time import shop_clock
    from tui_pos.ui.screens.pickers import held_row

    till = pilot.app.till
    at = "2026-12-04T06:05:00.000+00:00"
    rows = [held_row(HeldSale(till.cart, at, cashier), till) for cashier in ("张伟", "demo", "欧阳娜娜")]
    assert {cell_len(row[:row.index(" items")]) for row in rows} == {len(rows[1][:rows[1].index(" items")])}
    assert all(row.startswith(shop_clock(at) + "  ") for row in rows)
