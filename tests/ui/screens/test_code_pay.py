"""Pilot tests of code payments on screen (issue 15; tui_pos/ui/screens/code_pay.py and the payment
screen that opens it): a real shop on disk, the real Till and its CodePayments, and the in-process
scripted gateway (tests/payments/fake_gateway.py) in place of Alipay or WeChat.

The till's waiting clock is the test's (Stepper): a sleep moves it at once, so a 60 s wait takes
no time; held, it stops the payment's worker at its next wait, so the dialog can be read while
the customer "confirms" or the provider does not answer.
"""

from __future__ import annotations

import logging
import re
import sqlite3

import pytest

from conftest import COLA, WATER
from payments.fake_gateway import EXPIRED, PAID, UNKNOWN, USERPAYING, FakeGateway
from payments.paying import ALIPAY_CODE, WECHAT_CODE, Stepper, ahead, interrupted_payment
from tui_pos.domain.payments import out_trade_no
from tui_pos.ui.screens.checkout import CheckoutScreen
from tui_pos.ui.screens.code_pay import CodePayScreen, SettledScreen
from tui_pos.ui.screens.dialogs import AskScreen
from tui_pos.ui.screens.tender import TenderScreen

from ..pilot import (
    message,
    on_screen,
    paid_and_back,
    paying_app,
    scan,
    screen_text,
    stored_sales,
    to_payment,
    type_text,
    wait_for,
)

pytestmark = pytest.mark.asyncio



def dialog(pilot) -> str:
    """Everything the waiting dialog says, one widget a line."""
    screen = pilot.app.screen
    assert isinstance(screen, CodePayScreen), f"not the waiting dialog: {screen!r}"
    return "\n".join(str(getattr(w.content, "plain", w.content)) for w in screen.query("#code-pay > *"))


async def dialog_says(pilot, text: str) -> str:
    """Wait until the waiting dialog is up and says text; all it says."""
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, CodePayScreen) and text in dialog(pilot))
    return dialog(pilot)


async def held_at(pilot, stepper: Stepper, code: str, text: str) -> str:
    """Scan code with the till's clock held: the payment's worker stops at its first wait, and the
    dialog, once it says text, stays as it is until stepper.release(). All it says."""
    stepper.hold()
    await scan(pilot, code)
    return await dialog_says(pilot, text)


def tenders_of(pilot, sale: dict) -> list[tuple[str, int, str]]:
    """(kind, amount, reference) of a stored sale's tenders, as the database holds them."""
    conn = sqlite3.connect(pilot.app.till.config.db_path)
    try:
        return conn.execute("SELECT kind, amount, reference FROM tender WHERE sale_uuid = ? ORDER BY tender_no",
                            (sale["uuid"],)).fetchall()
    finally:
        conn.close()


def cart_state(pilot) -> tuple:
    till = pilot.app.till
    return [line.barcode for line in till.cart.lines], till.cart.tenders, till.due().left


# -- paid ------------------------------------------------------------------------------------------
async def test_a_scanned_code_pays_the_sale_and_it_completes_as_after_any_tender(shop_dir):
    alipay = FakeGateway("alipay")
    async with paying_app(shop_dir, alipay) as pilot:
        await to_payment(pilot, COLA)
        sale_uuid = pilot.app.till.cart.uuid
        await scan(pilot, ALIPAY_CODE)  # the scanner's burst and Enter, into the amount line
        await paid_and_back(pilot)
        [sale] = stored_sales(pilot)
        [(kind, amount, reference)] = tenders_of(pilot, sale)
        assert (kind, amount) == ("mobile", 350) and reference.startswith("TALIPAY")  # the provider's number
        assert alipay.charged() == {out_trade_no(sale_uuid, 1): 350}
        assert alipay.methods() == ["online", "pay"]
        assert re.search(r"Sale T1-\d+ paid: total ￥3\.50, change ￥0\.00", message(pilot)), message(pilot)
        assert sale["receipt"] in [item.receipt for item in pilot.app.print_queue.unprinted()]  # its receipt, as today
        [view] = pilot.app.till.payments.list()
        assert (view.state, view.sale_completed, view.code_mask) == ("paid", True, "2876**********5432")


async def test_a_code_scanned_at_the_checkout_pays_from_there(shop_dir, caplog):
    """The cashier scans the customer's code where the items are scanned: the payment screen
    opens and charges it (a payment code is never looked up, nor logged, as a product code)."""
    caplog.set_level(logging.DEBUG)
    wechat = FakeGateway("wechat")
    async with paying_app(shop_dir, wechat) as pilot:
        await scan(pilot, COLA, WATER)
        await scan(pilot, WECHAT_CODE)
        await paid_and_back(pilot)
        assert [(kind, amount) for kind, amount, _r in tenders_of(pilot, stored_sales(pilot)[0])] == [("mobile", 550)]
        assert wechat.methods() == ["online", "pay"]
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "1345**********6789" in logged and WECHAT_CODE not in logged  # the code is logged masked only


async def test_an_amount_then_the_code_key_pays_part_of_the_sale(shop_dir):
    alipay = FakeGateway("alipay")
    async with paying_app(shop_dir, alipay) as pilot:
        await to_payment(pilot, COLA, WATER)  # 5.50
        await type_text(pilot, "2")
        await pilot.press("f11")
        await on_screen(pilot, AskScreen)
        await type_text(pilot, ALIPAY_CODE, "enter")
        await wait_for(pilot, lambda: pilot.app.till.due().left == 350 and isinstance(pilot.app.screen, TenderScreen))
        await wait_for(pilot, lambda: "Paid 2.00" in message(pilot))
        assert [(t.kind, t.amount) for t in pilot.app.till.cart.tenders] == [("mobile", 200)]
        await pilot.press("enter")  # the rest in cash
        await paid_and_back(pilot)
        assert sorted(kind for kind, _a, _r in tenders_of(pilot, stored_sales(pilot)[0])) == ["cash", "mobile"]


async def test_an_amount_and_a_code_run_together_are_refused(shop_dir):
    async with paying_app(shop_dir, FakeGateway("alipay")) as pilot:
        await to_payment(pilot, COLA)
        await scan(pilot, "2" + ALIPAY_CODE)
        assert "not an amount nor a payment code" in message(pilot) and "F11" in message(pilot)
        assert cart_state(pilot) == ([COLA], (), 350)


# -- waiting for the customer ---------------------------------------------------------------------
async def test_while_the_customer_confirms_the_dialog_counts_down_then_the_sale_is_paid(shop_dir):
    stepper = Stepper()
    alipay = FakeGateway("alipay").script("pay", USERPAYING).script("query", USERPAYING, PAID)
    async with paying_app(shop_dir, alipay, stepper=stepper) as pilot:
        await to_payment(pilot, COLA)
        shown = await held_at(pilot, stepper, ALIPAY_CODE, "Waiting for the customer")  # the pay said USERPAYING
        assert "Alipay ￥3.50" in shown and "2876**********5432" in shown and ALIPAY_CODE not in shown
        assert "60 s left" in shown, shown  # the provider's wait, by the till's clock (the test's: held)
        assert "Esc: give up" in shown
        stepper.release()
        await paid_and_back(pilot)
        assert alipay.methods() == ["online", "pay", "query", "query"]
        assert len(stored_sales(pilot)) == 1


async def test_esc_while_waiting_gives_up_and_the_trade_is_cancelled(shop_dir):
    stepper = Stepper()
    alipay = FakeGateway("alipay").script("pay", USERPAYING)
    async with paying_app(shop_dir, alipay, stepper=stepper) as pilot:
        await to_payment(pilot, COLA)
        await held_at(pilot, stepper, ALIPAY_CODE, "Waiting for the customer")
        await pilot.press("escape")
        assert "this can take a minute" in await dialog_says(pilot, "Giving up")
        stepper.release()
        assert "nothing was charged" in await dialog_says(pilot, "CANCELLED")
        assert "cancel" in alipay.methods() and alipay.charged() == {}
        await pilot.press("enter")
        await on_screen(pilot, TenderScreen)
        assert cart_state(pilot) == ([COLA], (), 350)


# -- not paid ----------------------------------------------------------------------------------------
async def test_a_refused_code_says_why_and_the_cart_is_intact(shop_dir):
    alipay = FakeGateway("alipay").script("pay", EXPIRED)
    async with paying_app(shop_dir, alipay) as pilot:
        await to_payment(pilot, COLA, WATER)
        await scan(pilot, ALIPAY_CODE)
        shown = await dialog_says(pilot, "NOT PAID")
        assert "the payment code has expired" in shown and "Enter or Esc" in shown
        await pilot.press("enter")
        await on_screen(pilot, TenderScreen)
        assert "the payment code has expired" in message(pilot)
        assert cart_state(pilot) == ([COLA, WATER], (), 550)
        assert stored_sales(pilot) == [] and alipay.charged() == {}
        await scan(pilot, ALIPAY_CODE)  # a fresh code: a new trade, paid
        await paid_and_back(pilot)
        assert list(alipay.charged()) == [out_trade_no(stored_sales(pilot)[0]["uuid"], 2)]


async def test_no_answer_is_asked_again_then_cancelled_at_the_deadline(shop_dir):
    stepper = Stepper()
    alipay = FakeGateway("alipay").script("pay", UNKNOWN).script("query", *[UNKNOWN] * 40)
    async with paying_app(shop_dir, alipay, stepper=stepper) as pilot:
        await to_payment(pilot, COLA)
        assert re.search(r"\d+ s left", await held_at(pilot, stepper, ALIPAY_CODE, "No clear answer"))
        stepper.release()
        assert "nothing was charged" in await dialog_says(pilot, "CANCELLED")
        assert alipay.methods()[:3] == ["online", "pay", "query"] and alipay.methods()[-1] == "cancel"
        await pilot.press("escape")
        await on_screen(pilot, TenderScreen)
        assert cart_state(pilot) == ([COLA], (), 350)
        assert [view.state for view in pilot.app.till.payments.list()] == ["cancelled"]


async def test_an_outcome_still_unknown_says_so_plainly(shop_dir):
    """Nothing answers, not even the cancel: the till does not guess. The cashier is told not to
    charge the code again and what to do; the next code payment is refused until it is settled."""
    alipay = FakeGateway("alipay").script("pay", UNKNOWN).script("query", *[UNKNOWN] * 40)
    alipay.script("cancel", *[UNKNOWN] * 10)
    async with paying_app(shop_dir, alipay) as pilot:
        await to_payment(pilot, COLA)
        await scan(pilot, ALIPAY_CODE)
        shown = await dialog_says(pilot, "OUTCOME NOT KNOWN")
        assert "do not charge the customer again" in shown
        assert "if the phone shows no payment, take cash or card" in shown
        await pilot.press("enter")
        await on_screen(pilot, TenderScreen)
        assert cart_state(pilot) == ([COLA], (), 350)
        assert [view.state for view in pilot.app.till.payments.list()] == ["unknown"]
        await scan(pilot, ALIPAY_CODE)  # again: the provider is asked first, and still does not know
        await on_screen(pilot, SettledScreen)
        assert "still not known" in screen_text(pilot, "#settled-list")
        await pilot.press("enter")
        await wait_for(pilot, lambda: "not settled yet" in message(pilot))
        assert alipay.methods().count("pay") == 1 and cart_state(pilot) == ([COLA], (), 350)


async def test_offline_the_code_is_refused_at_once_and_cash_still_works(shop_dir):
    wechat = FakeGateway("wechat", online=False)
    async with paying_app(shop_dir, wechat) as pilot:
        await to_payment(pilot, COLA)
        await scan(pilot, WECHAT_CODE)
        await wait_for(pilot, lambda: "offline: take cash or card" in message(pilot))
        assert isinstance(pilot.app.screen, TenderScreen)
        assert pilot.app.till.payments.list() == [] and wechat.methods() == ["online"]
        assert cart_state(pilot) == ([COLA], (), 350)
        await pilot.press("enter")
        await paid_and_back(pilot)


async def test_a_provider_not_set_up_is_refused_plainly(shop_dir):
    async with paying_app(shop_dir) as pilot:  # no gateway, nothing in config.toml
        await to_payment(pilot, COLA)
        await scan(pilot, ALIPAY_CODE)
        await wait_for(pilot, lambda: "not set up on this till: take cash or card" in message(pilot))
        assert ALIPAY_CODE not in message(pilot)
        assert cart_state(pilot) == ([COLA], (), 350)


# -- after a crash: settled at start-up --------------------------------------------------------------
async def test_a_payment_charged_before_a_crash_is_settled_at_start_up_and_the_sale_finished(shop_dir):
    alipay = FakeGateway("alipay")
    sale_uuid = interrupted_payment(shop_dir, alipay)
    async with paying_app(shop_dir, alipay) as pilot:
        await on_screen(pilot, SettledScreen)
        shown = screen_text(pilot, "#settled-list")
        assert "Alipay ￥3.50 (2876**********5432): paid: the payment is on the sale in progress" in shown, shown
        await pilot.press("enter")
        await on_screen(pilot, CheckoutScreen)
        assert "Paid so far 3.50   To pay 0.00" in screen_text(pilot, "#details")
        await pilot.press("f10")
        await on_screen(pilot, TenderScreen)
        assert message(pilot) == "The sale is covered: F10 (or r) stores it."
        await pilot.press("r")
        await paid_and_back(pilot)
        [sale] = stored_sales(pilot)
        assert sale["uuid"] == sale_uuid and [kind for kind, _a, _r in tenders_of(pilot, sale)] == ["mobile"]
        assert alipay.charged() == {out_trade_no(sale_uuid, 1): 350}  # charged once
        assert [(v.state, v.sale_completed) for v in pilot.app.till.payments.list()] == [("paid", True)]


async def test_a_payment_never_sent_is_closed_at_start_up_and_the_cashier_told(shop_dir):
    wechat = FakeGateway("wechat")
    interrupted_payment(shop_dir, wechat, WECHAT_CODE, charge=False)
    async with paying_app(shop_dir, wechat, clock=ahead()) as pilot:
        await on_screen(pilot, SettledScreen)
        assert "closed: the customer was not charged" in screen_text(pilot, "#settled-list")
        await pilot.press("escape")
        await on_screen(pilot, CheckoutScreen)
        assert wechat.charged() == {}
        assert pilot.app.till.cart.tenders == ()
