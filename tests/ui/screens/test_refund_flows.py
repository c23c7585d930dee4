"""Pilot tests for refunds and voids (issue 5) at 80x24, on a fresh demo shop on disk: a refund
against a scanned receipt QR code, partial, with a reason code and a manager's approval inline;
the limits (never more than was sold, a receipt that does not exist, an item not on it); a
cashier who cannot refund without a manager's PIN; the void of the last sale.

The sale most tests start from (sold through the Till API, the checkout is tested elsewhere):
T1-000001 = 3 x COLA (3.50) + NOODLES (4.50) = 15.00, paid card 5.00 (ref C1) + cash 20.00,
change 10.00. What was stored is read back from the database file with sqlite3.
"""

from __future__ import annotations

import re
import threading

import pytest
from textual import events

from conftest import COLA, NOODLES, WATER, set_config
from tui_pos.domain.tender import Tender
from tui_pos.ui.screens.dialogs import AskScreen, ManagerScreen
from tui_pos.ui.screens.manager_menu import ManagerMenuScreen
from tui_pos.ui.screens.pickers import ReasonScreen
from tui_pos.ui.screens.refund import RefundScreen, VoidScreen
from tui_pos.ui.widgets.cart_view import CartView

from ..pilot import (
    approve,
    in_dialog,
    log_in,
    message,
    on_screen,
    rows,
    running,
    scan,
    shown,
    text_of,
    till_of,
    type_text,
    wait_for,
)

pytestmark = pytest.mark.asyncio


def first_sale(pilot):
    till = till_of(pilot)
    till.scan(COLA, 3)
    till.scan(NOODLES)
    return till.pay([Tender("card", 500, "C1"), Tender("cash", 2000)]).sale


def reversals(pilot) -> list[tuple]:
    """(receipt, kind, original receipt, total, reason) of every refund and void, oldest first."""
    return rows(pilot, "SELECT s.receipt, s.kind, o.receipt, s.total, s.reason FROM sale s "
                       "JOIN sale o ON o.uuid = s.original_uuid ORDER BY s.seq")


def tenders_of(pilot, receipt: str) -> list[tuple]:
    return rows(pilot, "SELECT t.kind, t.amount, t.reference FROM tender t JOIN sale s ON s.uuid = t.sale_uuid "
                       "WHERE s.receipt = ? ORDER BY t.tender_no", receipt)


def lines_shown(pilot) -> list[tuple[int, int, str]]:
    """(line number, coming back, refund amount) as the refund screen lists them."""
    return [(row.number, row.qty, row.total) for row in pilot.app.screen.query_one(CartView).rows]


async def refund_screen_with(pilot, receipt_or_qr: str) -> None:
    await pilot.press("ctrl+z")
    await on_screen(pilot, RefundScreen)
    await type_text(pilot, receipt_or_qr, "enter")
    await wait_for(pilot, lambda: pilot.app.screen.sale is not None or "no sale" in message(pilot))


async def test_refund_against_a_scanned_receipt_partially_with_a_manager_and_a_reason(pilot):
    """The QR code on the receipt ("T1-000001 <uuid>") is scanned into the entry line; one COLA is
    scanned back: 3.50, which goes back to the card (the original tender, card first). The reason
    is chosen by its digit; the manager's dialog shows it and approves. Then the NOODLES line is
    chosen with Up/Down and 1 typed, in cash this time (F7): 4.50 in cash."""
    sale = first_sale(pilot)
    await refund_screen_with(pilot, f"{sale.receipt} {sale.uuid}")
    assert lines_shown(pilot) == [(1, 0, "0.00"), (2, 0, "0.00")]
    assert "Refund of T1-000001" in shown(pilot) and "Paid: card 5.00, cash 20.00, change 10.00" in shown(pilot)

    await scan(pilot, COLA)
    assert lines_shown(pilot) == [(1, 1, "3.50"), (2, 0, "0.00")]
    assert re.search(r"BACK ￥3\.50\s+to card 3\.50", shown(pilot))
    await pilot.press("f10")
    await on_screen(pilot, ReasonScreen)
    await pilot.press("2")  # Wrong item
    await on_screen(pilot, ManagerScreen)
    assert "a refund needs a manager" in in_dialog(pilot) and "Reason: Wrong item" in in_dialog(pilot)
    await log_in(pilot, "manager", "9999")
    await on_screen(pilot, RefundScreen)
    said = await said_after(pilot, "Refund T1-000002")
    assert said == ("Refund T1-000002 of T1-000001 stored: ￥3.50 back (card 3.50), stored in the database.")
    await wait_for(pilot, lambda: pilot.app.screen.sale.line(1).left == 2)
    assert "(3, 2)" in shown(pilot) and lines_shown(pilot) == [(1, 0, "0.00"), (2, 0, "0.00")]

    await pilot.press("down")
    await type_text(pilot, "1", "enter")
    await pilot.press("f7")  # all in cash
    assert re.search(r"BACK ￥4\.50\s+to cash 4\.50\s+\(all in cash\)", shown(pilot))
    await pilot.press("f10")  # the reason is still chosen: straight to the manager
    await approve(pilot)
    await said_after(pilot, "Refund T1-000003")

    assert reversals(pilot) == [("T1-000002", "refund", "T1-000001", -350, "Wrong item"),
                                ("T1-000003", "refund", "T1-000001", -450, "Wrong item")]
    assert tenders_of(pilot, "T1-000002") == [("card", -350, "C1")]
    assert tenders_of(pilot, "T1-000003") == [("cash", -450, "")]
    assert rows(pilot, "SELECT subject, actor, approved_by, amount FROM audit WHERE action = 'refund' "
                       "ORDER BY seq") == [("T1-000002", "demo", "manager", -350), ("T1-000003", "demo", "manager", -450)]


async def said_after(pilot, starts: str) -> str:
    await wait_for(pilot, lambda: message(pilot).startswith(starts))
    return message(pilot)


async def test_never_more_than_was_sold_and_clear_messages_for_the_rest(pilot):
    sale = first_sale(pilot)
    await refund_screen_with(pilot, "T1-000099")
    assert message(pilot) == "no sale with receipt number T1-000099"
    await type_text(pilot, "1", "enter")  # this till's receipt 1, by its number alone
    await wait_for(pilot, lambda: pilot.app.screen.sale is not None)
    assert pilot.app.screen.sale.receipt == sale.receipt
    await type_text(pilot, f"5*{COLA}", "enter")
    assert message(pilot) == "可口可乐 330ml: 3 of 3 can still be returned, not 5"
    await type_text(pilot, WATER, "enter")
    assert message(pilot) == f"{WATER} is not on receipt T1-000001"
    await pilot.press("f10")
    assert message(pilot) == "Nothing is coming back: scan the items or choose the lines first."
    await pilot.press("f4")  # everything
    assert lines_shown(pilot) == [(1, 3, "10.50"), (2, 1, "4.50")]
    assert re.search(r"BACK ￥15\.00\s+to card 5\.00, cash 10\.00", shown(pilot))
    assert rows(pilot, "SELECT count(*) FROM sale WHERE kind != 'sale'") == [(0,)]


async def test_a_cashier_cannot_refund_without_a_managers_pin(pilot):
    """The cashier's own name and PIN are refused in the manager's dialog; Esc leaves everything
    as it was: nothing stored, the sale still fully refundable."""
    sale = first_sale(pilot)
    await refund_screen_with(pilot, sale.receipt)
    await pilot.press("f4", "f6")
    await on_screen(pilot, ReasonScreen)
    await pilot.press("1")  # Damaged
    await on_screen(pilot, RefundScreen)
    await pilot.press("f10")
    await on_screen(pilot, ManagerScreen)
    await log_in(pilot, "demo", "1234")
    assert isinstance(pilot.app.screen, ManagerScreen)
    assert pilot.app.screen.query_one("#manager-message").content == "demo is not a manager"
    await pilot.press("escape")
    await on_screen(pilot, RefundScreen)
    assert message(pilot) == "Not approved: nothing changed."
    assert rows(pilot, "SELECT count(*) FROM sale WHERE kind != 'sale'") == [(0,)]
    assert till_of(pilot).find_refundable(sale.receipt).lines[0].left == 3


async def test_void_the_last_sale_with_a_reason_and_a_manager(pilot):
    """The void screen shows this till's last sale (T1-000002, WATER 2.00 cash) before anything
    happens; F10 asks the reason, then a manager; the void is a linked reversal of all of it.
    A second void of the same sale is refused."""
    first_sale(pilot)
    till = till_of(pilot)
    till.scan(WATER)
    last = till.pay([Tender("cash", 200)]).sale
    await pilot.press("f11", "6")
    await on_screen(pilot, VoidScreen)
    await wait_for(pilot, lambda: pilot.app.screen.sale is not None)
    assert "Void of T1-000002" in shown(pilot) and lines_shown(pilot) == [(1, 1, "2.00")]
    await pilot.press("f10")
    await on_screen(pilot, ReasonScreen)
    await pilot.press("5")  # Other
    await approve(pilot)
    await said_after(pilot, "Void T1-000003")
    assert reversals(pilot) == [("T1-000003", "void", last.receipt, -200, "Other")]
    assert tenders_of(pilot, "T1-000003") == [("cash", -200, "")]
    await wait_for(pilot, lambda: pilot.app.screen.sale.reversals)
    await pilot.press("f10")
    assert message(pilot) == "T1-000002 already has a refund or void: refund what is left instead (^Z)."
    assert len(reversals(pilot)) == 1
    await pilot.press("escape")
    await on_screen(pilot, ManagerMenuScreen)


async def test_a_manager_logged_in_refunds_at_once_and_a_double_press_stores_one_refund(shop_dir):
    """A manager at the till approves by being there: no dialog, the refund names them. F10 sent
    twice in a row (no waiting in between) stores one refund (the guard that makes this certain,
    whatever the timing, is tested below: test_one_storage_request_at_a_time)."""
    async with running(shop_dir, "manager", "9999") as pilot:
        sale = first_sale(pilot)
        await refund_screen_with(pilot, sale.receipt)
        await scan(pilot, NOODLES)
        await pilot.press("f6")
        await on_screen(pilot, ReasonScreen)
        await pilot.press("enter")  # the highlighted first reason: Damaged
        await on_screen(pilot, RefundScreen)
        for _ in range(2):
            pilot.app._driver.process_message(events.Key("f10", None))
        await said_after(pilot, "Refund T1-000002")
        await wait_for(pilot, lambda: pilot.app.screen.sale.line(2).left == 0)
        assert not any(isinstance(s, ManagerScreen) for s in pilot.app.screen_stack)
        assert len(reversals(pilot)) == 1
        assert rows(pilot, "SELECT actor, approved_by FROM audit WHERE action = 'refund'") == [("manager", "manager")]
        assert tenders_of(pilot, "T1-000002") == [("card", -450, "C1")]


async def test_quantity_key_asks_how_many_for_the_selected_line(pilot):
    sale = first_sale(pilot)
    await refund_screen_with(pilot, sale.receipt)
    await pilot.press("f3")  # the first line is selected when a receipt is shown
    await on_screen(pilot, AskScreen)
    assert "How many 可口可乐 330ml come back? (3 left)" in in_dialog(pilot)
    await pilot.press("backspace", "2", "enter")  # the answer starts as what is chosen now: 0
    await on_screen(pilot, RefundScreen)
    assert lines_shown(pilot) == [(1, 2, "7.00"), (2, 0, "0.00")]
    await pilot.press("f3")
    await on_screen(pilot, AskScreen)
    await pilot.press("backspace", "4", "enter")
    await on_screen(pilot, RefundScreen)
    assert message(pilot) == "可口可乐 330ml: 3 of 3 can still be returned, not 4"
    assert lines_shown(pilot)[0] == (1, 2, "7.00")


async def test_the_refund_key_can_be_remapped_in_config_toml(shop_dir):
    set_config(shop_dir, "keys", "refund", '"ctrl+y"')
    async with running(shop_dir) as pilot:
        keys = text_of(pilot.app.screen.query_one("#keys"))
        assert "^Y Refund" in keys and "^Z Refund" not in keys
        await pilot.press("ctrl+y")
        await on_screen(pilot, RefundScreen)


async def test_one_storage_request_at_a_time(pilot):
    """What makes the double press safe whatever the timing: while an operation runs in its thread,
    a second one is refused with a message, not started (here the first waits until released)."""
    release, calls, results = threading.Event(), [], []

    def slow(_approval) -> str:
        calls.append(1)
        release.wait(5)
        return "stored"

    screen = pilot.app.screen
    screen.core_in_thread(slow, results.append)
    screen.core_in_thread(slow, results.append)
    assert message(pilot) == "One moment: the last request is still being done."
    release.set()
    await wait_for(pilot, lambda: results == ["stored"])
    assert len(calls) == 1 and not screen.working
