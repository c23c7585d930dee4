"""Pilot tests of the checkout screen (tui_pos/ui/screens/checkout.py) and its held-sales list
(pickers.py) at 80x24 on a fresh demo shop: what a new cashier missed in issue 10.

What is on screen is read from the exported screenshot (what the terminal shows), not from a
widget's content: a second line of a one-row widget is in its content but not on screen.
Amounts from the demo catalog: COLA 3.50, WATER 2.00.
"""

from __future__ import annotations

import threading

import pytest
from textual.pilot import Pilot
from textual.widgets import OptionList

from conftest import COLA, WATER
from tui_pos.domain.tender import Tender
from tui_pos.ui.screens.checkout import CheckoutScreen
from tui_pos.ui.screens.dialogs import AskScreen, ManagerScreen
from tui_pos.ui.screens.pickers import HeldScreen
from tui_pos.ui.screens.tender import TenderScreen

from ..pilot import approve, ask, lines, message, on_screen, scan, svg_text, till_of, type_text, wait_for

pytestmark = pytest.mark.asyncio


def shown(pilot: Pilot) -> str:
    """What the terminal shows now."""
    return svg_text(pilot.app.export_screenshot())


def held_rows(pilot: Pilot) -> list[str]:
    held = pilot.app.screen.query_one(OptionList)
    return [str(held.get_option_at_index(i).prompt) for i in range(held.option_count)]


# -- item 5: a partial payment is shown wherever the total is -----------------------------------------
async def test_a_partial_payment_shows_paid_and_still_to_pay_on_the_checkout_and_held_list(pilot):
    await scan(pilot, f"10*{COLA}")  # 35.00
    await pilot.press("f10")
    await on_screen(pilot, TenderScreen)
    await type_text(pilot, "5", "enter")  # 5.00 cash of 35.00
    await wait_for(pilot, lambda: till_of(pilot).cart.tenders == (Tender("cash", 500),))
    await pilot.press("escape")
    await on_screen(pilot, CheckoutScreen)
    screen = shown(pilot)
    assert "Paid so far 5.00" in screen and "To pay 30.00" in screen, screen
    await pilot.press("f7")  # held with its payment: the list says so too
    await wait_for(pilot, lambda: till_of(pilot).cart.is_empty)
    assert "Paid" not in shown(pilot)  # the fresh sale has none
    await pilot.press("f8")
    await on_screen(pilot, HeldScreen)
    [row] = held_rows(pilot)
    assert "￥35.00" in row and "paid ￥5.00" in row and "to pay ￥30.00" in row, row


# -- item 13: the held list counts units, as the cart does ------------------------------------------
async def test_the_held_list_counts_units_as_the_cart_does(pilot):
    await scan(pilot, f"2*{COLA}", WATER)  # two lines, three units
    assert "Items 3" in shown(pilot)
    await pilot.press("f7")
    await wait_for(pilot, lambda: till_of(pilot).cart.is_empty)
    await scan(pilot, WATER)
    await pilot.press("f7")
    await wait_for(pilot, lambda: till_of(pilot).cart.is_empty)
    await pilot.press("f8")
    await on_screen(pilot, HeldScreen)
    first, second = held_rows(pilot)
    assert " 3 items " in first and " 1 item " in second, (first, second)


# -- item 16: a void and a discount are confirmed; the quantity dialog names the product -------------
async def test_a_void_and_an_approved_discount_are_confirmed(pilot):
    await scan(pilot, COLA, f"2*{WATER}")
    await pilot.press("f4")  # the selected (last) line
    await wait_for(pilot, lambda: till_of(pilot).cart.lines[1].voided)
    assert message(pilot) == "Line 2 voided: 农夫山泉 550ml (-4.00)."
    await pilot.press("up")
    await ask(pilot, "f5", "20%")  # over the 10% limit: a manager
    await approve(pilot)
    await on_screen(pilot, CheckoutScreen)
    assert message(pilot) == "Discount 20% on 可口可乐 330ml: -0.70, approved by manager."
    await ask(pilot, "f6", "0.20")  # 0.20 of 2.80, within the limit: no manager, still confirmed
    await on_screen(pilot, CheckoutScreen)
    assert message(pilot) == "Discount 0.20 on the sale: -0.20."


async def test_the_quantity_dialog_names_the_product(pilot):
    await scan(pilot, COLA, WATER)
    await pilot.press("up", "f3")
    await on_screen(pilot, AskScreen)
    assert "可口可乐 330ml" in shown(pilot)
    await type_text(pilot, "3\n")
    await on_screen(pilot, CheckoutScreen)
    assert message(pilot) == "3 x 可口可乐 330ml"


# -- item 19: F8 with a sale in progress refuses at once -------------------------------------------
async def test_recall_with_a_sale_in_progress_is_refused_up_front(pilot):
    await scan(pilot, COLA)
    await pilot.press("f7")
    await wait_for(pilot, lambda: till_of(pilot).cart.is_empty)
    await scan(pilot, WATER)
    await pilot.press("f8")
    assert isinstance(pilot.app.screen, CheckoutScreen), "the held list must not open over a sale in progress"
    assert message(pilot) == "Finish, hold (F7) or cancel (F9) this sale before recalling a held one."
    assert not isinstance(pilot.app.screen, ManagerScreen)
    await pilot.press("f7", "f8")  # held: now the list opens
    await on_screen(pilot, HeldScreen)
    assert len(held_rows(pilot)) == 2


# -- blocking work never on the UI thread (issue 12) ----------------------------------------------------
async def test_a_price_overrides_audit_entry_is_written_off_the_ui_thread(pilot):
    """The audit entry waits on storage (an fsync, or a failing disk's timeouts): written on the
    UI thread it would freeze the till. The price is changed at once all the same."""
    ledger = till_of(pilot).ledger
    ui_thread = threading.get_ident()  # the app runs on the test's event loop
    written: list[tuple[str, int]] = []
    commit = ledger.commit

    def recorded(record):
        written.append((record.get("action", record.get("type", "sale")), threading.get_ident()))
        return commit(record)

    ledger.commit = recorded
    await scan(pilot, COLA)
    await ask(pilot, "ctrl+u", "3.40")
    await approve(pilot)
    await on_screen(pilot, CheckoutScreen)
    assert till_of(pilot).cart.lines[0].unit_price == 340
    await wait_for(pilot, lambda: any(action == "price_override" for action, _ in written))
    assert [thread for action, thread in written if action == "price_override"] != [ui_thread]


# -- quantities typed in other digits (was tests/ui/screens/test_checkout_typed_numbers.py) --------
# Quantities typed at the till are ASCII digits only: '３' and '٣' are not silently read as 3, and
# '²' or '①' (which str.isdigit() accepts and int() refuses) are a message, never a crash of the UI.


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
