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
import time
from pathlib import Path

import pytest
from textual._xterm_parser import XTermParser
from textual.pilot import Pilot
from textual.widgets import Input

import tui_pos.ui
from conftest import COLA
from tui_pos.ui.screens.checkout import CheckoutScreen
from tui_pos.ui.screens.dialogs import AskScreen, ConfirmScreen, ManagerScreen
from tui_pos.ui.screens.login import LoginScreen
from tui_pos.ui.screens.pickers import LookupScreen

from .test_checkout_flows import (  # noqa: F401
    ask,
    demo_shop_template,
    enter_pin,
    log_in,
    on_screen,
    pilot,
    running,
    scan,
    screen_text,
    settle,
    shop_dir,
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
