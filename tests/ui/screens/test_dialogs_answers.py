"""Pilot tests of the small dialogs (tui_pos/ui/screens/dialogs.py) at 80x24 on a fresh demo
shop: the open-price prompt (issue 10 item 17) and the manager's reason codes per kind of
approval (item 18)."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing

import pytest
from textual.widgets import Input, OptionList

from conftest import COLA, set_config
from tui_pos.config import load_config
from tui_pos.domain.errors import BadInput
from tui_pos.domain.tender import Tender
from tui_pos.ui.screens.checkout import CheckoutScreen
from tui_pos.ui.screens.dialogs import AskScreen, ManagerScreen
from tui_pos.ui.screens.pickers import ReasonScreen
from tui_pos.ui.screens.refund import VoidScreen

from .test_checkout_flows import (  # noqa: F401
    approve,
    ask,
    demo_shop_template,
    lines,
    message,
    on_screen,
    pilot,
    running,
    scan,
    shop_dir,
    text_of,
    till_of,
    type_text,
    wait_for,
)
from .test_pickers import dialog_text

pytestmark = pytest.mark.asyncio

WEIGHED = "6900000000595"  # 散装称重 Weighed goods: open price


def audited_reasons(shop_dir, action: str) -> list[str]:
    """The reason codes of the audit entries of one action, read from the database file itself."""
    with closing(sqlite3.connect(shop_dir / "pos.sqlite3")) as conn:
        details = conn.execute("SELECT detail FROM audit WHERE action = ? ORDER BY seq", (action,)).fetchall()
    return [json.loads(detail or "{}").get("reason") for (detail,) in details]


async def test_an_open_price_item_says_what_it_needs_and_adds_nothing_silently(pilot):
    await scan(pilot, WEIGHED)
    await on_screen(pilot, AskScreen)
    placeholder = pilot.app.screen.query_one(Input).placeholder
    with pytest.raises(BadInput):  # the hint in the empty field cannot be taken for a price
        till_of(pilot).currency.parse(placeholder)
    assert "price" in placeholder
    await pilot.press("enter")  # nothing typed: it says what is needed and waits
    assert isinstance(pilot.app.screen, AskScreen)
    assert "Type the price" in dialog_text(pilot)
    await type_text(pilot, "7.30", "enter")
    await on_screen(pilot, CheckoutScreen)
    assert lines(pilot) == [(WEIGHED, 1, False)] and till_of(pilot).cart.lines[0].unit_price == 730


async def test_leaving_the_open_price_prompt_says_nothing_was_added(pilot):
    await scan(pilot, WEIGHED)
    await on_screen(pilot, AskScreen)
    await pilot.press("escape")
    await on_screen(pilot, CheckoutScreen)
    assert lines(pilot) == []
    assert "nothing added" in message(pilot) and "Weighed goods" in message(pilot)


async def test_a_discount_approval_offers_discount_reasons_not_return_reasons(pilot, shop_dir):
    """Item 18: the manager's reason codes are the discount's own ([till.reasons] discount), the
    first preselected; a return reason such as Damaged is neither offered nor preselected."""
    await scan(pilot, COLA)
    await ask(pilot, "f5", "50%")
    await on_screen(pilot, ManagerScreen)
    offered = text_of(pilot.app.screen.query_one("#manager-reason"))
    discount_reasons = load_config(shop_dir).reasons_for("discount")
    assert all(reason in offered for reason in discount_reasons)
    assert pilot.app.screen.reasons == discount_reasons  # what Up/Down go through
    assert not {"Damaged", "Changed mind", "Wrong item"} & set(pilot.app.screen.reasons)
    assert pilot.app.screen.reason == discount_reasons[0]
    await pilot.press("down")  # the next one
    await approve(pilot)
    await on_screen(pilot, CheckoutScreen)
    assert audited_reasons(shop_dir, "discount_approval") == [discount_reasons[1]]


async def test_a_void_of_the_last_sale_offers_the_void_reasons(shop_dir):
    set_config(shop_dir, "till.reasons", "void", '["Till error", "Other"]')
    async with running(shop_dir) as pilot:
        till_of(pilot).scan(COLA)
        till_of(pilot).pay([Tender("cash", 350)])
        await pilot.press("f11", "6")
        await on_screen(pilot, VoidScreen)
        await wait_for(pilot, lambda: pilot.app.screen.sale is not None)
        await pilot.press("f10")
        await on_screen(pilot, ReasonScreen)
        listed = pilot.app.screen.query_one(OptionList)
        assert [str(listed.get_option_at_index(i).prompt) for i in range(listed.option_count)] == \
            ["1  Till error", "2  Other"]
        await pilot.press("1")
        await approve(pilot)
        await wait_for(pilot, lambda: "Void T1-000002" in message(pilot), timeout=30)
    with closing(sqlite3.connect(shop_dir / "pos.sqlite3")) as conn:
        assert conn.execute("SELECT reason FROM sale WHERE kind = 'void'").fetchall() == [("Till error",)]


@pytest.mark.parametrize("keys", [("ctrl+u",), ("f11", "3"), ("f11", "4")])  # price override, paid-in, paid-out
async def test_no_amount_prompt_shows_a_value_in_its_empty_field(pilot, keys):
    """Item 17: an empty field's hint that reads as an amount (12.50) is taken for one; none does."""
    await scan(pilot, COLA)
    await pilot.press(*keys)
    await on_screen(pilot, AskScreen)
    placeholder = pilot.app.screen.query_one(Input).placeholder
    with pytest.raises(BadInput):
        till_of(pilot).currency.parse(placeholder)
    assert placeholder
