"""Pilot tests for every checkout flow of issue 3, at 80x24, on a fresh demo shop on disk.

Each test drives the real PosApp with keys only and checks both what the core now holds (the
till's cart, tenders, stored sales) and what the cashier is told (message line, dialogs, key bar).
Amounts are worked out by hand from the demo catalog: COLA 3.50, WATER 2.00, NOODLES 4.50.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import pytest
from textual import events
from textual.command import CommandPalette
from textual.pilot import Pilot
from textual.widgets import Input, OptionList

from conftest import (
    COLA,
    NOODLES,
    WATER,
    cli_json,
    database_write_locked,
    journal_dir_replaced_by_a_file,
    set_config,
)
from tui_pos.bootstrap.till import open_till
from tui_pos.config import load_config
from tui_pos.domain.auth import hash_pin
from tui_pos.domain.tender import Tender
from tui_pos.store import db
from tui_pos.ui.screens.checkout import CheckoutScreen
from tui_pos.ui.screens.dialogs import AskScreen, ConfirmScreen, ManagerScreen
from tui_pos.ui.screens.login import LoginScreen
from tui_pos.ui.screens.pickers import HeldScreen, HelpScreen, LookupScreen
from tui_pos.ui.screens.tender import TenderScreen
from tui_pos.ui.widgets.cart_view import CartView
from tui_pos.ui.widgets.entry import EntryLine

from ..pilot import (
    BURST_CODES,
    OREO,
    RED_BULL,
    approve,
    ask,
    enter_pin,
    lines,
    log_in,
    message,
    on_screen,
    paid_and_back,
    post_keys,
    running,
    scan,
    screen_text,
    settle,
    stored_sales,
    text_of,
    till_of,
    total,
    type_text,
    unlock_as,
    wait_for,
)

pytestmark = pytest.mark.asyncio

NOT_IN_CATALOG = "6900000009999"


# -- log in, scan, look up ---------------------------------------------------------------------------
async def test_wrong_pin_stays_on_login_then_right_pin_opens_the_checkout(shop_dir):
    async with running(shop_dir, user=None) as pilot:
        app = pilot.app
        await log_in(pilot, "demo", "0000")
        assert isinstance(app.screen, LoginScreen)
        assert screen_text(pilot, "#login-message").startswith("unknown user or wrong PIN (4 more tries")
        assert app.screen.query_one("#login-pin", Input).value == ""
        assert till_of(pilot).user is None
        await enter_pin(pilot, "1234")  # the PIN field has the focus again
        await on_screen(pilot, CheckoutScreen)
        assert till_of(pilot).user.name == "demo"
        status = screen_text(pilot, "#status")
        assert "| demo |" in status and "Till T1" in status and "STORAGE OK" in status
        assert app.focused is app.screen.query_one(EntryLine)


async def test_scan_adds_a_line_and_qty_star_code_multiplies(pilot):
    await scan(pilot, COLA)
    assert lines(pilot) == [(COLA, 1, False)]
    assert message(pilot) == "1 x 可口可乐 330ml"
    assert screen_text(pilot, "#total") == "TOTAL ￥3.50"
    assert pilot.app.screen.query_one(EntryLine).value == ""
    await scan(pilot, f"3*{WATER}")
    assert lines(pilot) == [(COLA, 1, False), (WATER, 3, False)]
    assert message(pilot) == "3 x 农夫山泉 550ml"
    assert screen_text(pilot, "#total") == "TOTAL ￥9.50"
    assert "Items 4" in screen_text(pilot, "#details")


async def test_unknown_code_adds_nothing_and_says_so(pilot):
    await scan(pilot, COLA, NOT_IN_CATALOG)
    assert lines(pilot) == [(COLA, 1, False)]
    assert NOT_IN_CATALOG in message(pilot) and "nothing added" in message(pilot)
    assert screen_text(pilot, "#total") == "TOTAL ￥3.50"


async def test_a_name_opens_the_lookup_and_enter_adds(pilot):
    """Anything not numeric is a name to look up (Chinese or Latin); QTY* still applies."""
    for typed, query, code in [("可乐", "可乐", COLA), ("oreo", "oreo", OREO), ("2*red b", "red b", RED_BULL)]:
        await scan(pilot, typed)
        await on_screen(pilot, LookupScreen)
        assert pilot.app.screen.query_one("#lookup-query", Input).value == query
        results = pilot.app.screen.query_one(OptionList)
        assert [results.get_option_at_index(i).id for i in range(results.option_count)] == [code]
        await pilot.press("enter")
        await on_screen(pilot, CheckoutScreen)
    assert lines(pilot) == [(COLA, 1, False), (OREO, 1, False), (RED_BULL, 2, False)]


async def test_lookup_is_incremental_and_esc_adds_nothing(pilot):
    await pilot.press("f2")
    await on_screen(pilot, LookupScreen)
    results = pilot.app.screen.query_one(OptionList)
    await type_text(pilot, "啤酒")  # 青岛啤酒, 燕京啤酒
    assert results.option_count == 2
    await type_text(pilot, " b")  # narrows as the cashier types: 燕京啤酒 Beer
    assert results.option_count == 1
    await pilot.press("escape")
    await on_screen(pilot, CheckoutScreen)
    assert lines(pilot) == []


# -- changing lines ----------------------------------------------------------------------------------
async def test_f3_changes_the_quantity_of_the_selected_line(pilot):
    await scan(pilot, COLA, WATER)
    await pilot.press("up")
    await pilot.press("f3")
    await on_screen(pilot, AskScreen)
    assert pilot.app.screen.query_one(Input).value == "1"
    await pilot.press("backspace", "4", "enter")
    await on_screen(pilot, CheckoutScreen)
    assert lines(pilot) == [(COLA, 4, False), (WATER, 1, False)]
    await pilot.press("down", "f3")
    await on_screen(pilot, AskScreen)
    await pilot.press("backspace", "x", "enter")
    await on_screen(pilot, CheckoutScreen)
    assert lines(pilot) == [(COLA, 4, False), (WATER, 1, False)]
    assert "'x' is not a quantity" in message(pilot)


async def test_f4_voids_the_selected_line(pilot):
    await scan(pilot, COLA, WATER)
    await pilot.press("up", "f4")
    assert lines(pilot) == [(COLA, 1, True), (WATER, 1, False)]
    assert screen_text(pilot, "#total") == "TOTAL ￥2.00"
    assert pilot.app.screen.query_one(CartView).rows[0].voided
    await pilot.press("f4")  # a voided line cannot be voided again
    assert "Select a line first" in message(pilot)


async def test_discounts_within_the_limit_need_no_manager(pilot):
    """F5 on the selected line, F6 on the whole sale, both at most 10%: no manager prompt."""
    await scan(pilot, f"2*{WATER}", COLA)  # 4.00 + 3.50
    await pilot.press("up")
    await ask(pilot, "f5", "5%")  # 0.20 off the water
    await on_screen(pilot, CheckoutScreen)
    assert total(pilot) == 730
    assert "Discount 0.20" in screen_text(pilot, "#details")
    await ask(pilot, "f6", "10%")  # 0.73 off 7.30
    await on_screen(pilot, CheckoutScreen)
    assert total(pilot) == 657
    assert screen_text(pilot, "#total") == "TOTAL ￥6.57"
    assert "Discount 0.93" in screen_text(pilot, "#details")


async def test_big_line_discount_asks_a_manager_inline(pilot):
    """50% is over the 10% limit: the manager prompt refuses a wrong PIN and a cashier, then a
    manager approves and the discount is applied."""
    await scan(pilot, f"2*{COLA}")  # 7.00
    await ask(pilot, "f5", "50%")
    await on_screen(pilot, ManagerScreen)
    assert "needs a manager" in text_of(pilot.app.screen.query_one("Label"))
    await log_in(pilot, "manager", "1234")
    assert isinstance(pilot.app.screen, ManagerScreen)
    assert screen_text(pilot, "#manager-message").startswith("unknown user or wrong PIN (4 more tries")
    await unlock_as(pilot, "demo", "1234")  # after a refusal the PIN field keeps the focus: back to the name
    assert isinstance(pilot.app.screen, ManagerScreen)
    assert screen_text(pilot, "#manager-message") == "demo is not a manager"
    assert total(pilot) == 700
    await unlock_as(pilot, "manager", "9999")
    await on_screen(pilot, CheckoutScreen)
    assert total(pilot) == 350
    assert screen_text(pilot, "#total") == "TOTAL ￥3.50"
    assert till_of(pilot).cashier == "demo"  # approving does not log the manager in


async def test_price_override_needs_a_manager_even_when_small(pilot):
    await scan(pilot, COLA)
    await ask(pilot, "ctrl+u", "3.40")
    await on_screen(pilot, ManagerScreen)
    await pilot.press("escape")
    await on_screen(pilot, CheckoutScreen)
    assert message(pilot) == "Not approved: nothing changed."
    assert till_of(pilot).cart.lines[0].unit_price == 350
    await ask(pilot, "ctrl+u", "3.40")
    await approve(pilot)
    await on_screen(pilot, CheckoutScreen)
    assert till_of(pilot).cart.lines[0].unit_price == 340
    assert "(price keyed)" in pilot.app.screen.query_one(CartView).rows[0].note


# -- hold, recall, cancel --------------------------------------------------------------------------
async def test_hold_and_recall(pilot):
    await scan(pilot, f"2*{COLA}")
    held_uuid = till_of(pilot).cart.uuid
    await pilot.press("f7")
    assert lines(pilot) == [] and message(pilot) == "Sale held. F8 recalls it."
    await scan(pilot, WATER)
    await pilot.press("f8")  # the current sale has a line: refused at once (tests/ui/screens/test_checkout.py)
    assert isinstance(pilot.app.screen, CheckoutScreen) and "before recalling a held one" in message(pilot)
    assert lines(pilot) == [(WATER, 1, False)]
    await pilot.press("f7", "f8")
    await on_screen(pilot, HeldScreen)
    assert pilot.app.screen.query_one(OptionList).option_count == 2
    await pilot.press("enter")  # the first held: the cola sale
    await on_screen(pilot, CheckoutScreen)
    assert till_of(pilot).cart.uuid == held_uuid and lines(pilot) == [(COLA, 2, False)]
    assert message(pilot) == "Held sale recalled."
    assert screen_text(pilot, "#total") == "TOTAL ￥7.00"
    assert [h.cart.lines[0].barcode for h in till_of(pilot).held_sales()] == [WATER]


async def test_f9_cancel_asks_first(pilot):
    await scan(pilot, COLA)
    uuid = till_of(pilot).cart.uuid
    await pilot.press("f9")
    await on_screen(pilot, ConfirmScreen)
    await pilot.press("n")
    await on_screen(pilot, CheckoutScreen)
    assert lines(pilot) == [(COLA, 1, False)] and till_of(pilot).cart.uuid == uuid
    await pilot.press("f9")
    await on_screen(pilot, ConfirmScreen)
    await pilot.press("y")
    await on_screen(pilot, CheckoutScreen)
    assert lines(pilot) == [] and till_of(pilot).cart.uuid != uuid
    assert message(pilot) == "Sale cancelled."
    assert stored_sales(pilot) == []


# -- paying ---------------------------------------------------------------------------------------------
async def test_enter_pays_exact_cash_and_the_sale_is_stored(pilot, shop_dir):
    await scan(pilot, f"2*{COLA}", NOODLES)  # 11.50
    uuid = till_of(pilot).cart.uuid
    await pilot.press("f10")
    await on_screen(pilot, TenderScreen)
    assert screen_text(pilot, "#due") == "TOTAL ￥11.50"
    assert screen_text(pilot, "#left") == "TO PAY ￥11.50"
    await pilot.press("enter")
    await paid_and_back(pilot)
    assert screen_text(pilot, "#total") == "CHANGE ￥0.00"
    assert "T1-000001" in message(pilot) and "stored in the database" in message(pilot)
    assert lines(pilot) == [] and till_of(pilot).cart.uuid != uuid
    sales = cli_json(shop_dir, "sales")
    assert [(s["uuid"], s["receipt"], s["total"], s["cashier"], s["stored"]) for s in sales] == [
        (uuid, "T1-000001", "11.50", "demo", "sqlite")]


async def test_cash_with_change_typed_or_quick(pilot):
    """Four customers in a row, each paying 11.50 in cash a different way; the change is shown big."""
    ways = [(("2", "0", "enter"), "8.50"),  # typed amount, Enter
            (("2", "0", "f2"), "8.50"),  # typed amount, F2 cash
            (("f6",), "8.50"),  # next note: 20.00
            (("f7",), "38.50")]  # the one after: 50.00
    for receipt, (keys, change) in enumerate(ways, start=1):
        await scan(pilot, f"2*{COLA}", NOODLES)  # 11.50
        await pilot.press("f10")
        await on_screen(pilot, TenderScreen)
        assert screen_text(pilot, "#quick") == "Quick cash:  F5 ￥11.50   F6 ￥20.00   F7 ￥50.00   F8 ￥100.00"
        await pilot.press(*keys)
        await paid_and_back(pilot)
        assert screen_text(pilot, "#total") == f"CHANGE ￥{change}"
        assert f"T1-{receipt:06d} paid" in message(pilot) and f"change ￥{change}" in message(pilot)
    assert [sale["change"] for sale in stored_sales(pilot)] == [850, 850, 850, 3850]


async def test_card_with_an_optional_reference(pilot):
    for reference in ("", "C-0042"):
        await scan(pilot, NOODLES)
        await pilot.press("f10")
        await on_screen(pilot, TenderScreen)
        await ask(pilot, "f3", reference)
        await paid_and_back(pilot)
    assert [(sale["receipt"], sale["change"]) for sale in stored_sales(pilot)] == [("T1-000001", 0), ("T1-000002", 0)]
    assert stored_tenders(pilot) == [("card", 450, ""), ("card", 450, "C-0042")]


def stored_tenders(pilot: Pilot) -> list[tuple[str, int, str]]:
    """The tenders of the stored sales, read back from the database file itself."""
    conn = sqlite3.connect(till_of(pilot).config.db_path)
    try:
        return conn.execute("SELECT t.kind, t.amount, t.reference FROM tender t JOIN sale s ON s.uuid = t.sale_uuid "
                            "ORDER BY s.seq, t.tender_no").fetchall()
    finally:
        conn.close()


async def test_mobile_needs_its_reference(pilot):
    """Mobile without a transaction number takes nothing; Esc takes nothing; with one it pays."""
    await scan(pilot, NOODLES)
    await pilot.press("f10")
    await on_screen(pilot, TenderScreen)
    for answer in (("enter",), ("escape",)):
        await pilot.press("f4")
        await on_screen(pilot, AskScreen)
        await pilot.press(*answer)
        await on_screen(pilot, TenderScreen)
        assert message(pilot) == "No mobile payment taken (it needs its transaction number)."
        assert till_of(pilot).cart.tenders == ()
    await ask(pilot, "f4", "WX4200001234")
    await paid_and_back(pilot)
    assert stored_tenders(pilot) == [("mobile", 450, "WX4200001234")]


async def test_split_tender_card_then_cash(pilot):
    await scan(pilot, f"2*{COLA}", NOODLES)  # 11.50
    await pilot.press("f10")
    await on_screen(pilot, TenderScreen)
    await type_text(pilot, "5")
    await ask(pilot, "f3", "C-1")  # card of 5.00
    await on_screen(pilot, TenderScreen)
    assert till_of(pilot).cart.tenders == (Tender("card", 500, "C-1"),)
    assert screen_text(pilot, "#left") == "TO PAY ￥6.50"
    await type_text(pilot, "10", "enter")  # cash 10.00
    await paid_and_back(pilot)
    assert screen_text(pilot, "#total") == "CHANGE ￥3.50"
    assert stored_tenders(pilot) == [("card", 500, "C-1"), ("cash", 1000, "")]


async def test_esc_backs_out_keeping_cart_and_tenders(pilot):
    await scan(pilot, f"2*{COLA}", NOODLES)  # 11.50
    await pilot.press("f10")
    await on_screen(pilot, TenderScreen)
    await type_text(pilot, "5", "enter")  # 5.00 cash, not enough
    assert till_of(pilot).cart.tenders == (Tender("cash", 500),)
    await pilot.press("escape")
    await on_screen(pilot, CheckoutScreen)
    assert lines(pilot) == [(COLA, 2, False), (NOODLES, 1, False)]
    assert till_of(pilot).cart.tenders == (Tender("cash", 500),)
    assert stored_sales(pilot) == []
    back_at_the_cart = screen_text(pilot, "#details")
    await pilot.press("f10")
    await on_screen(pilot, TenderScreen)
    assert screen_text(pilot, "#left") == "TO PAY ￥6.50"
    assert "cash" in screen_text(pilot, "#taken") and "5.00" in screen_text(pilot, "#taken")
    assert "Paid so far 5.00" in back_at_the_cart, "the checkout must show what was already paid"


# -- keys -----------------------------------------------------------------------------------------------
async def test_every_checkout_action_has_a_second_key_without_f_keys(pilot):
    """Some SSH clients lose F-keys: each main action also works with its Ctrl key."""
    await scan(pilot, COLA, WATER)
    for key, opens in [("ctrl+g", HelpScreen), ("ctrl+f", LookupScreen), ("ctrl+n", AskScreen),
                       ("ctrl+t", AskScreen), ("ctrl+o", AskScreen),
                       ("ctrl+x", ConfirmScreen), ("ctrl+u", AskScreen)]:
        await pilot.press(key)
        await on_screen(pilot, opens)
        await pilot.press("escape")
        await on_screen(pilot, CheckoutScreen)
    assert lines(pilot) == [(COLA, 1, False), (WATER, 1, False)]
    await pilot.press("ctrl+d")  # void the selected (last) line
    assert lines(pilot) == [(COLA, 1, False), (WATER, 1, True)]
    await pilot.press("ctrl+w")  # hold
    assert lines(pilot) == [] and len(till_of(pilot).held_sales()) == 1
    await pilot.press("ctrl+r", "enter")  # recall
    await wait_for(pilot, lambda: lines(pilot) == [(COLA, 1, False), (WATER, 1, True)])
    await pilot.press("ctrl+p")  # pay
    await on_screen(pilot, TenderScreen)
    await pilot.press("enter")
    await paid_and_back(pilot)
    assert [s["total"] for s in stored_sales(pilot)] == [350]


async def test_every_tender_key_has_a_letter(pilot):
    """On the tender screen letters work too (the amount line takes digits only)."""
    await scan(pilot, f"2*{COLA}", NOODLES)  # 11.50
    await pilot.press("ctrl+p")
    await on_screen(pilot, TenderScreen)
    await type_text(pilot, "1", "c")  # cash 1.00
    await pilot.press("x")  # undo it
    assert till_of(pilot).cart.tenders == ()
    await type_text(pilot, "2")
    await ask(pilot, "k", "")  # card 2.00
    await on_screen(pilot, TenderScreen)
    await type_text(pilot, "3")
    await ask(pilot, "m", "WX9")  # mobile 3.00
    await on_screen(pilot, TenderScreen)
    assert till_of(pilot).cart.tenders == (Tender("card", 200), Tender("mobile", 300, "WX9"))
    assert screen_text(pilot, "#quick").startswith("Quick cash:  F5 ￥6.50   F6 ￥10.00")
    await pilot.press("n")  # next note: 10.00 for the 6.50 left
    await paid_and_back(pilot)
    assert screen_text(pilot, "#total") == "CHANGE ￥3.50"
    await scan(pilot, NOODLES)
    await pilot.press("ctrl+p")
    await on_screen(pilot, TenderScreen)
    await pilot.press("e")  # exact
    await paid_and_back(pilot)
    assert stored_tenders(pilot) == [("card", 200, ""), ("mobile", 300, "WX9"), ("cash", 1000, ""),
                                     ("cash", 450, "")]


async def test_a_key_remapped_in_config_toml_works_and_shows(shop_dir):
    set_config(shop_dir, "keys", "pay", '"f12"')
    async with running(shop_dir) as pilot:
        keys = screen_text(pilot, "#keys")
        assert "F12 Pay" in keys and "F10 Pay" not in keys
        await scan(pilot, COLA)
        await pilot.press("f12")
        await on_screen(pilot, TenderScreen)


async def test_the_command_palette_is_off(shop_dir):
    async with running(shop_dir, user=None) as pilot:
        await pilot.press("ctrl+p")
        assert not any(isinstance(s, CommandPalette) for s in pilot.app.screen_stack)
        await log_in(pilot, "demo", "1234")
        await on_screen(pilot, CheckoutScreen)
        await pilot.press("ctrl+p")  # on the checkout it is Pay: an empty sale says so
        assert not any(isinstance(s, CommandPalette) for s in pilot.app.screen_stack)
        assert message(pilot) == "The sale is empty: scan an item first."


# -- storage failing, restart ----------------------------------------------------------------------
async def test_sale_not_stored_keeps_everything_and_f10_retries(pilot, shop_dir):
    """Every store fails at payment: the cashier is told plainly, the cart and tenders stay, and
    once storage is back F10 stores the same sale. (SQLite fails by being write-locked by another
    connection: renaming pos.sqlite3 away would not fail, the open connection keeps its files.)"""
    await scan(pilot, f"2*{COLA}", NOODLES)  # 11.50
    uuid = till_of(pilot).cart.uuid
    await pilot.press("f10")
    await on_screen(pilot, TenderScreen)
    with database_write_locked(shop_dir), journal_dir_replaced_by_a_file(shop_dir):
        await type_text(pilot, "20", "enter")
        await wait_for(pilot, lambda: "SALE NOT STORED" in message(pilot))
        assert isinstance(pilot.app.screen, TenderScreen)
        assert "Press F10 (or r) to try again." in message(pilot)
        assert "FAILING" in screen_text(pilot, "#status")
        assert lines(pilot) == [(COLA, 2, False), (NOODLES, 1, False)]
        assert till_of(pilot).cart.tenders == (Tender("cash", 2000),)
        assert stored_sales(pilot) == []
    await pilot.press("f10")
    await paid_and_back(pilot)
    assert screen_text(pilot, "#total") == "CHANGE ￥8.50"
    assert [(s["uuid"], s["receipt"]) for s in stored_sales(pilot)] == [(uuid, "T1-000001")]
    assert "STORAGE OK" in screen_text(pilot, "#status")


async def test_a_restored_sale_is_announced(shop_dir):
    """After a crash the sale in progress comes back, and the cashier is told."""
    crashed = open_till(load_config(shop_dir), cashier="demo")
    crashed.scan(COLA, 2)
    crashed.add_tender(Tender("mobile", 300, "WX77"))
    uuid = crashed.cart.uuid
    crashed.close()  # the process died (the sale in progress is on disk, nothing else is done)
    async with running(shop_dir) as pilot:
        assert message(pilot) == "The sale in progress was restored after a restart."
        assert till_of(pilot).cart.uuid == uuid and lines(pilot) == [(COLA, 2, False)]
        assert "Paid so far 3.00" in screen_text(pilot, "#details")
        assert screen_text(pilot, "#total") == "TOTAL ￥7.00"


# -- lock and leaving ---------------------------------------------------------------------------------------
@pytest.fixture
def second_cashier(shop_dir: Path) -> None:
    conn = sqlite3.connect(shop_dir / "pos.sqlite3")
    db.upsert_users(conn, [{"name": "bob", "role": "cashier", "pin_hash": hash_pin("5555")}])
    conn.close()


async def test_lock_only_that_cashier_or_a_manager_unlocks(pilot, second_cashier):
    await scan(pilot, COLA)
    await pilot.press("ctrl+l")
    await on_screen(pilot, LoginScreen)
    assert "Locked by demo" in str(pilot.app.screen.query("Label")[1].content)
    assert pilot.app.screen.query_one("#login-user", Input).value == "demo"
    await unlock_as(pilot, "bob", "5555")
    assert isinstance(pilot.app.screen, LoginScreen)
    assert screen_text(pilot, "#login-message") == "only demo or a manager can unlock this till"
    assert till_of(pilot).cashier == "demo", "a refused unlock must not make bob the cashier"
    await unlock_as(pilot, "manager", "9999")
    await on_screen(pilot, CheckoutScreen)
    assert lines(pilot) == [(COLA, 1, False)]
    assert till_of(pilot).cashier == "demo", "a manager unlocking demo's session does not take it over"
    await pilot.press("ctrl+l")
    await on_screen(pilot, LoginScreen)
    await enter_pin(pilot, "1234")  # the PIN field has the focus: demo's own PIN
    await on_screen(pilot, CheckoutScreen)
    assert till_of(pilot).user.name == "demo" and not till_of(pilot).user.is_manager


async def test_quitting_needs_confirmation_and_a_manager(pilot):
    """Ctrl+Q and Ctrl+C: 'no' keeps the till, a cashier's PIN or Esc keeps it, a manager lets it go."""
    app = pilot.app

    async def leave(key: str, answer: str) -> None:
        await pilot.press(key)
        await on_screen(pilot, ConfirmScreen)
        await pilot.press(answer)

    await leave("ctrl+c", "n")
    await on_screen(pilot, CheckoutScreen)
    await leave("ctrl+q", "n")
    await on_screen(pilot, CheckoutScreen)
    for key in ("ctrl+q", "ctrl+c"):
        await leave(key, "y")
        await approve(pilot, "demo", "1234")  # a cashier cannot let the till quit
        assert isinstance(app.screen, ManagerScreen) and app.return_code is None
        assert screen_text(pilot, "#manager-message") == "demo is not a manager"
        await pilot.press("escape")
        await on_screen(pilot, CheckoutScreen)
        assert app.return_code is None and app.is_running
    await leave("ctrl+c", "y")
    await on_screen(pilot, ManagerScreen)
    await type_text(pilot, "manager\n")
    post_keys(app, "9999\n")  # the app ends: no waiting on its screens from here
    deadline = time.monotonic() + 5
    while app.return_code is None and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    assert app.return_code == 0


# -- the scanner --------------------------------------------------------------------------------------------
async def scan_burst(pilot: Pilot, codes: list[str], from_input_thread: bool) -> list[str]:
    """Send every code + Enter as one burst; return the codes of the cart's lines once settled.
    from_input_thread: post from another thread while the app works, as the terminal driver's
    input thread does; else queue the whole burst before the app handles the first key."""
    till, entry = till_of(pilot), pilot.app.screen.query_one(EntryLine)
    burst = "".join(code + "\n" for code in codes)
    if from_input_thread:
        await asyncio.to_thread(post_keys, pilot.app, burst)
    else:
        post_keys(pilot.app, burst)
    await settle(pilot, lambda: (len(till.cart.lines), entry.value))
    return [line.barcode for line in till.cart.lines]


@pytest.mark.parametrize("from_input_thread", [False, True], ids=["queued", "input-thread"])
async def test_a_burst_of_100_scans_arrives_exactly(pilot, from_input_thread):
    """100 codes of 13 digits + Enter sent as a wedge scanner types them give exactly 100 lines
    with the right codes in the right order, and nothing is left in the entry line."""
    codes = [BURST_CODES[(i * 3) % len(BURST_CODES)] for i in range(100)]
    assert await scan_burst(pilot, codes, from_input_thread) == codes
    till = till_of(pilot)
    assert all(line.qty == 1 for line in till.cart.lines)
    assert pilot.app.screen.query_one(EntryLine).value == ""
    assert message(pilot) == f"1 x {till.cart.lines[-1].name}"
    assert len(pilot.app.screen.query_one(CartView).rows) == 100


def submit_on_next_turn(self: EntryLine, event: events.Key) -> None:
    """A plausible entry-line bug: Enter submits a moment later, reading the value then."""
    if event.key != "enter":
        return ENTRY_ON_KEY(self, event)

    def submit() -> None:
        value, self.value = self.value, ""
        self.post_message(self.Submitted(self, value.strip()))

    self.call_later(submit)
    event.stop()


ENTRY_ON_KEY = EntryLine.on_key


async def test_the_burst_reveals_an_entry_line_that_submits_late(pilot, monkeypatch):
    """The burst test can fail: with Enter handled one turn late, codes run into each other (Pilot's
    press(), which waits after every key, does not show this bug)."""
    monkeypatch.setattr(EntryLine, "on_key", submit_on_next_turn)
    codes = BURST_CODES * 2
    assert await scan_burst(pilot, codes, from_input_thread=False) != codes


async def test_a_sale_in_progress_that_cannot_be_saved_is_flagged_on_screen(pilot: Pilot) -> None:
    """If the cart cannot be saved anywhere (a crash would lose it), the cashier sees it at once;
    the warning goes when saving works again. Slot files replaced by directories make every save fail."""
    till = till_of(pilot)
    dirs = [till.config.data_dir, *till.config.storage.journal_dirs]
    blockers = [d / f"cart.json.{slot}" for d in dirs for slot in (0, 1)]
    for blocker in blockers:
        if blocker.exists():
            blocker.unlink()
        blocker.mkdir()
    await type_text(pilot, COLA, "enter")
    await wait_for(pilot, lambda: len(till.cart.lines) == 1)
    assert "SALE IN PROGRESS NOT SAVED" in screen_text(pilot, "#details")

    for blocker in blockers:
        blocker.rmdir()
    await type_text(pilot, WATER, "enter")
    await wait_for(pilot, lambda: len(till.cart.lines) == 2)
    assert "NOT SAVED" not in screen_text(pilot, "#details")
    reopened = open_till(till.config, cashier="t", replay=False)
    try:
        assert reopened.cart.uuid == till.cart.uuid  # saved again
    finally:
        reopened.close()
