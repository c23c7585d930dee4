"""Pilot tests of the code payments screen (tui_pos/ui/screens/payments.py), reached from the
function menu: attempts listed with those not known first, settled on demand, and a sale paid
but not completed finished from there. A real shop, the real Till, the scripted gateway."""

from __future__ import annotations

import pytest
from rich.cells import cell_len

from conftest import COLA, WATER, in_chinese
from payments.fake_gateway import EXPIRED, UNKNOWN, FakeGateway
from payments.paying import ALIPAY_CODE, WECHAT_CODE, ahead, interrupted_payment, open_wired, paid_by_code
from tui_pos.domain.payments import GatewayReply, out_trade_no
from tui_pos.ui.screens.checkout import CheckoutScreen
from tui_pos.ui.screens.code_pay import SettledScreen
from tui_pos.ui.screens.manager_menu import ManagerMenuScreen
from tui_pos.ui.screens.payments import PaymentsScreen
from tui_pos.ui.screens.tender import TenderScreen

from ..pilot import message, on_screen, paid_and_back, paying_app, screen_text, stored_sales, wait_for

pytestmark = pytest.mark.asyncio


def rows(pilot) -> list[str]:
    listing = pilot.app.screen.query_one("#payments")
    return [str(listing.get_option_at_index(i).prompt) for i in range(listing.option_count)]


async def to_payments(pilot) -> None:
    await pilot.press("f11")
    await on_screen(pilot, ManagerMenuScreen)
    await pilot.press("p")
    await on_screen(pilot, PaymentsScreen)
    await wait_for(pilot, lambda: not pilot.app.screen.working and rows(pilot))


async def test_the_list_puts_what_is_not_known_first_and_r_settles_it(shop_dir):
    alipay, wechat = FakeGateway("alipay"), FakeGateway("wechat")
    till = open_wired(shop_dir, alipay, wechat)  # a sale paid by Alipay
    till.scan(COLA)
    assert paid_by_code(till, ALIPAY_CODE) == "paid"
    till.pay()
    till.scan(WATER)  # a WeChat code refused, the sale cancelled
    wechat.script("pay", EXPIRED)
    assert paid_by_code(till, WECHAT_CODE) == "failed"
    till.cancel()
    till.scan(COLA)
    till.payments.start(ALIPAY_CODE)  # stored, never sent: the till stopped here
    till.close()
    alipay.script("query", UNKNOWN)  # at start-up the provider does not answer
    async with paying_app(shop_dir, alipay, wechat, clock=ahead()) as pilot:
        await on_screen(pilot, SettledScreen)
        assert "still not known" in screen_text(pilot, "#settled-list")
        await pilot.press("escape")
        await on_screen(pilot, CheckoutScreen)
        await to_payments(pilot)
        listed = rows(pilot)
        assert len(listed) == 3
        assert listed[0].startswith("NOT KNOWN") and "Alipay" in listed[0] and "￥3.50" in listed[0]
        assert "2876**********5432" in listed[0] and "no transaction number" in listed[0]
        assert listed[1].startswith("failed") and "WeChat Pay" in listed[1] and "the payment code has expired" in listed[1]
        assert listed[2].startswith("paid") and "transaction TALIPAY" in listed[2]
        assert ALIPAY_CODE not in "".join(listed) and WECHAT_CODE not in "".join(listed)
        assert "1 not known: R asks the provider now." in message(pilot)
        await pilot.press("f")  # the open one cannot be "finished"
        assert "Only a payment that is paid" in message(pilot)
        alipay.script("query", GatewayReply("closed", reason="no such trade", code="TRADE_NOT_EXIST"))  # now it answers
        await pilot.press("r")
        await on_screen(pilot, SettledScreen)
        assert "closed: the customer was not charged" in screen_text(pilot, "#settled-list")
        await pilot.press("enter")
        await on_screen(pilot, PaymentsScreen)
        await wait_for(pilot, lambda: rows(pilot)[0].startswith("cancelled"))
        assert message(pilot) == "Every code payment is settled."
        assert list(alipay.charged().values()) == [350] and wechat.charged() == {}  # the paid sale's, only


async def test_a_sale_paid_but_not_completed_is_finished_from_the_list(shop_dir):
    alipay = FakeGateway("alipay")
    sale_uuid = interrupted_payment(shop_dir, alipay)  # charged, the answer lost; then the till stopped
    async with paying_app(shop_dir, alipay) as pilot:
        await on_screen(pilot, SettledScreen)  # settled at start-up: paid, the tender back on the sale
        await pilot.press("escape")
        await on_screen(pilot, CheckoutScreen)
        await to_payments(pilot)
        assert rows(pilot)[0].startswith("NOT COMPLETED")
        assert "1 paid but not completed: F finishes the sale." in message(pilot)
        await pilot.press("f")
        await on_screen(pilot, TenderScreen)
        assert pilot.app.till.due().left == 0
        await pilot.press("r")
        await paid_and_back(pilot)
        assert [sale["uuid"] for sale in stored_sales(pilot)] == [sale_uuid]
        assert [(v.state, v.sale_completed) for v in pilot.app.till.payments.list()] == [("paid", True)]


async def test_a_held_sale_whose_payment_went_through_is_recalled_and_finished(shop_dir):
    """The payment's answer was lost and the sale was put on hold; after a restart the provider
    says paid: the sale in progress is another (empty), so F recalls the held sale with its payment."""
    alipay = FakeGateway("alipay")
    sale_uuid = interrupted_payment(shop_dir, alipay, hold=True)
    async with paying_app(shop_dir, alipay) as pilot:
        await on_screen(pilot, SettledScreen)
        assert "paid, sale not completed: finish it (Menu, Payments)" in screen_text(pilot, "#settled-list")
        await pilot.press("escape")
        await on_screen(pilot, CheckoutScreen)
        assert pilot.app.till.cart.is_empty
        await to_payments(pilot)
        await pilot.press("f")
        await on_screen(pilot, TenderScreen)
        assert pilot.app.till.cart.uuid == sale_uuid and pilot.app.till.due().left == 0
        await pilot.press("r")
        await paid_and_back(pilot)
        assert [sale["uuid"] for sale in stored_sales(pilot)] == [sale_uuid]
        assert alipay.charged() == {out_trade_no(sale_uuid, 1): 350}


async def test_in_chinese_the_columns_line_up(shop_dir):
    """Issue 16: 支付宝 and 微信支付 are two columns a character; the states and providers are padded
    by terminal columns, so every row's amount and code end in the same column."""
    alipay, wechat = FakeGateway("alipay"), FakeGateway("wechat")
    till = open_wired(shop_dir, alipay, wechat)
    till.scan(COLA)
    assert paid_by_code(till, ALIPAY_CODE) == "paid"
    till.pay()
    till.scan(WATER)
    wechat.script("pay", EXPIRED)
    assert paid_by_code(till, WECHAT_CODE) == "failed"
    till.close()
    in_chinese(shop_dir)
    async with paying_app(shop_dir, alipay, wechat) as pilot:
        await to_payments(pilot)
        firsts = [row.splitlines()[0] for row in rows(pilot)]
        assert "微信支付" in firsts[0] and "支付宝" in firsts[1], firsts
        ends = {(cell_len(row[:row.index("￥") + 5]), cell_len(row)) for row in firsts}
        assert len(ends) == 1, firsts  # the amounts (X.50) and the masked codes end alike
        assert "扫码付款" in screen_text(pilot, "#payments-title")
