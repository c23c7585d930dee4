"""Pilot tests of the dialogs' text fields (tui_pos/ui/screens/dialogs.py, login.py, pickers.py;
their field is tui_pos/ui/widgets/entry.py's FieldInput), at 80x24 on a fresh demo shop.

Issue 10: a refused PIN leaves the focus in the PIN field, with the name kept, wherever a PIN is
asked (a retyped PIN used to land in the name field, in clear text); and every dialog field takes
keys sent in one burst as the terminal sends them (Backspaces used to arrive after the letters
typed behind them, so `abc` + Backspace Backspace x y stayed `abc`).
"""

from __future__ import annotations

import ast
import asyncio
import json
import sqlite3
import time
from contextlib import closing
from pathlib import Path

import pytest
from textual._xterm_parser import XTermParser
from textual.pilot import Pilot
from textual.widgets import Input, OptionList

import tui_pos.ui
from conftest import COLA, set_config
from tui_pos.config import load_config
from tui_pos.domain.errors import BadInput
from tui_pos.domain.tender import Tender
from tui_pos.ui.screens.checkout import CheckoutScreen
from tui_pos.ui.screens.dialogs import AskScreen, ConfirmScreen, ManagerScreen
from tui_pos.ui.screens.login import LoginScreen
from tui_pos.ui.screens.pickers import LookupScreen, ReasonScreen
from tui_pos.ui.screens.refund import VoidScreen

from ..pilot import (
    approve,
    ask,
    dialog_text,
    enter_pin,
    lines,
    log_in,
    message,
    on_screen,
    running,
    scan,
    screen_text,
    settle,
    text_of,
    till_of,
    total,
    type_text,
    wait_for,
)


def send_raw(pilot: Pilot, data: str) -> None:
    """Send what a terminal writes in one go (tmux send-keys, a fast typist, a paste without
    bracketed-paste mode): parsed into keys by Textual's own parser and handed to the app all at
    once, as its driver does, without waiting between keys."""
    for key in XTermParser().feed(data):
        pilot.app._driver.process_message(key)


def field(pilot: Pilot, selector: str) -> Input:
    return pilot.app.screen.query_one(selector, Input)


# -- item 3: a refused PIN keeps the focus in the PIN field ------------------------------------------
async def refused_then_retyped(pilot: Pilot, name_id: str, pin_id: str, name: str, wrong: str) -> None:
    """Name + wrong PIN; then the focus must be in the PIN field, the name kept, the PIN cleared."""
    await log_in(pilot, name, wrong)
    assert pilot.app.focused is field(pilot, pin_id), "after a refused PIN the focus must stay in the PIN field"
    assert field(pilot, name_id).value == name and field(pilot, pin_id).value == ""


@pytest.mark.asyncio
async def test_a_refused_manager_pin_keeps_the_focus_in_the_pin_field(pilot):
    """F5 20%: the manager mistypes the PIN, retypes it at once, and the discount is approved;
    the PIN never reaches the (clear-text) name field."""
    await scan(pilot, f"2*{COLA}")  # 7.00
    await ask(pilot, "f5", "20%")
    await on_screen(pilot, ManagerScreen)
    await refused_then_retyped(pilot, "#manager-name", "#manager-pin", "manager", "0000")
    assert screen_text(pilot, "#manager-message").startswith("unknown user or wrong PIN")
    await enter_pin(pilot, "9999")
    await on_screen(pilot, CheckoutScreen)
    assert total(pilot) == 560


@pytest.mark.asyncio
async def test_a_refused_pin_keeps_the_focus_when_leaving_the_till(pilot):
    app = pilot.app
    await pilot.press("ctrl+q")
    await on_screen(pilot, ConfirmScreen)
    await pilot.press("y")
    await on_screen(pilot, ManagerScreen)
    await refused_then_retyped(pilot, "#manager-name", "#manager-pin", "manager", "1111")
    send_raw(pilot, "9999\r")  # the app ends: no waiting on its screens from here
    deadline = time.monotonic() + 30
    while app.return_code is None and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    assert app.return_code == 0


@pytest.mark.asyncio
async def test_a_refused_pin_keeps_the_focus_at_login_and_unlock(shop_dir):
    async with running(shop_dir, user=None) as pilot:
        await refused_then_retyped(pilot, "#login-user", "#login-pin", "demo", "0000")
        await enter_pin(pilot, "1234")
        await on_screen(pilot, CheckoutScreen)
        await pilot.press("ctrl+l")
        await on_screen(pilot, LoginScreen)
        await enter_pin(pilot, "4321")  # the lock screen opens in the PIN field
        assert pilot.app.focused is field(pilot, "#login-pin") and field(pilot, "#login-user").value == "demo"
        await enter_pin(pilot, "1234")
        await on_screen(pilot, CheckoutScreen)


# -- item 10: every dialog field takes a burst as the entry line does ----------------------------------
async def burst_into(pilot: Pilot, selector: str) -> None:
    """`abc`, then Backspace Backspace x y written at once: `axy`, as in the entry line."""
    await type_text(pilot, "abc")
    assert field(pilot, selector).value == "abc"
    send_raw(pilot, "\x7f\x7fxy")
    await settle(pilot, lambda: field(pilot, selector).value)
    assert field(pilot, selector).value == "axy"


@pytest.mark.asyncio
async def test_the_find_dialog_takes_a_burst(pilot):
    await pilot.press("f2")
    await on_screen(pilot, LookupScreen)
    await burst_into(pilot, "#lookup-query")
    send_raw(pilot, "\x7f\x7f\x7f可乐\r")  # corrected and chosen in one go: the cola is added
    await on_screen(pilot, CheckoutScreen)
    assert [line.barcode for line in till_of(pilot).cart.lines] == [COLA]


@pytest.mark.asyncio
async def test_the_ask_dialog_takes_a_burst(pilot):
    await scan(pilot, COLA)
    await pilot.press("f3")
    await on_screen(pilot, AskScreen)
    await burst_into(pilot, "#answer")
    send_raw(pilot, "\x7f\x7f\x7f12\x7f3\r")  # quantity 13
    await on_screen(pilot, CheckoutScreen)
    assert till_of(pilot).cart.lines[0].qty == 13


@pytest.mark.asyncio
async def test_the_manager_dialog_takes_a_burst_and_the_pin_typed_ahead_stays_hidden(pilot):
    """Name, Enter and PIN in one write: the PIN goes to the PIN field, never the name field."""
    await scan(pilot, f"2*{COLA}")
    await ask(pilot, "f5", "50%")
    await on_screen(pilot, ManagerScreen)
    await burst_into(pilot, "#manager-name")
    send_raw(pilot, "\x7f\x7f\x7fmanagr\x7fer\r99\x7f99")
    await settle(pilot, lambda: (field(pilot, "#manager-name").value, field(pilot, "#manager-pin").value))
    assert field(pilot, "#manager-name").value == "manager"
    assert field(pilot, "#manager-pin").value == "999"
    send_raw(pilot, "9\r")  # the PIN field has the focus by now: its typed-ahead digits are kept
    await on_screen(pilot, CheckoutScreen)
    assert total(pilot) == 350


@pytest.mark.asyncio
async def test_the_login_fields_take_a_burst(shop_dir):
    async with running(shop_dir, user=None) as pilot:
        await burst_into(pilot, "#login-user")
        send_raw(pilot, "\x7f\x7f\x7fdemx\x7fo\r12345\x7f\r")
        await pilot.app.workers.wait_for_complete()
        await on_screen(pilot, CheckoutScreen)
        assert till_of(pilot).user.name == "demo"


@pytest.mark.asyncio
async def test_tab_after_the_name_hands_the_pin_typed_ahead_to_the_pin_field(shop_dir):
    """Name, Tab, PIN, Enter in one write: Tab moves on in key order, as Enter does."""
    async with running(shop_dir, user=None) as pilot:
        send_raw(pilot, "demo\t1234\r")
        await pilot.app.workers.wait_for_complete()
        await on_screen(pilot, CheckoutScreen)
        assert till_of(pilot).user.name == "demo"


def test_every_text_field_of_the_ui_is_a_field_input():
    """A dialog added later with a plain Input would lose keys sent in a burst again."""
    plain = []
    for path in Path(tui_pos.ui.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "Input":
                plain.append(f"{path.name}:{node.lineno}")
            if isinstance(node, ast.ClassDef) and node.name != "FieldInput" and any(
                    getattr(base, "id", "") == "Input" for base in node.bases):
                plain.append(f"{path.name}:{node.lineno} class {node.name}")
    assert plain == [], "use tui_pos.ui.widgets.entry.FieldInput, not Input"


# -- the open-price prompt and reason codes (was tests/ui/screens/test_dialogs_answers.py) ---------
# Pilot tests of the small dialogs (tui_pos/ui/screens/dialogs.py) at 80x24 on a fresh demo
# shop: the open-price prompt (issue 10 item 17) and the manager's reason codes per kind of
# approval (item 18).


WEIGHED = "6900000000595"  # 散装称重 Weighed goods: open price


def audited_reasons(shop_dir, action: str) -> list[str]:
    """The reason codes of the audit entries of one action, read from the database file itself."""
    with closing(sqlite3.connect(shop_dir / "pos.sqlite3")) as conn:
        details = conn.execute("SELECT detail FROM audit WHERE action = ? ORDER BY seq", (action,)).fetchall()
    return [json.loads(detail or "{}").get("reason") for (detail,) in details]


@pytest.mark.asyncio
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


@pytest.mark.asyncio
async def test_leaving_the_open_price_prompt_says_nothing_was_added(pilot):
    await scan(pilot, WEIGHED)
    await on_screen(pilot, AskScreen)
    await pilot.press("escape")
    await on_screen(pilot, CheckoutScreen)
    assert lines(pilot) == []
    assert "nothing added" in message(pilot) and "Weighed goods" in message(pilot)


@pytest.mark.asyncio
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


@pytest.mark.asyncio
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


@pytest.mark.asyncio
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
