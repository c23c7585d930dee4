"""Snapshots of the code payment dialogs at 80x24 (tui_pos/ui/screens/code_pay.py), in Chinese and in
English: the customer confirming on the phone (USERPAYING) with the countdown at 60 s, and what
the till found at start-up about a payment it had not finished. Update with
`pytest tests/ui/screens/test_code_pay_snapshots.py --snapshot-update` and look at the SVGs.

The till's waiting clock stands still (the payment stays "waiting" whatever the machine's speed),
and the dialog counts down by that clock, so every run draws the same screen."""

from __future__ import annotations

import time

import pytest

from conftest import COLA
from payments.fake_gateway import USERPAYING, FakeGateway
from payments.paying import ALIPAY_CODE, WECHAT_CODE, ahead, open_wired
from tui_pos.ui import app as ui_app
from tui_pos.ui.app import PosApp
from tui_pos.ui.screens.code_pay import CodePayScreen, SettledScreen
from tui_pos.ui.screens.tender import TenderScreen

from ..pilot import assert_console_glyphs_only, at_checkout, post_scans, rendered_text, svg_text, wait_for

SIZE = (80, 24)


async def waiting_for_the_customer(pilot) -> None:
    """A cola by Alipay: the customer has not confirmed yet (the provider keeps saying USERPAYING)."""
    payments = pilot.app.till.payments
    payments.use_gateway(FakeGateway("alipay").script("pay", USERPAYING).script("query", *[USERPAYING] * 10_000))
    payments.monotonic = lambda: 1000.0  # the till's clock stands still: 60 s left, always
    payments.sleep = lambda seconds: time.sleep(0.02)
    await at_checkout(pilot)
    post_scans(pilot.app, COLA)
    await wait_for(pilot, lambda: len(pilot.app.till.cart.lines) == 1, "one cart line")
    await pilot.press("f10")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, TenderScreen), "the payment screen")
    post_scans(pilot.app, ALIPAY_CODE)
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, CodePayScreen)
                     and pilot.app.screen.charge.state == "paying", "the customer confirming")


@pytest.fixture
def still(monkeypatch: pytest.MonkeyPatch) -> None:
    """The first health check waits (5 s after start-up: a slow run would draw its alerts on the
    status line, a fast one not). The dialog's countdown needs nothing: it runs on the till's
    clock, which stands still here."""
    monkeypatch.setattr(ui_app, "HEALTH_FIRST_S", 3600.0)


@pytest.mark.parametrize("language", ["zh_CN", "en"])
def test_the_waiting_dialog(snap_compare, make_app, still, language: str) -> None:
    shown: list[str] = []

    async def reach(pilot) -> None:
        await waiting_for_the_customer(pilot)
        shown.append(svg_text(pilot.app.export_screenshot()))

    assert snap_compare(make_app("default", language), terminal_size=SIZE, run_before=reach)
    text = shown[0]
    assert "2876**********5432" in text and ALIPAY_CODE not in text
    if language == "zh_CN":
        assert "支付宝 ￥3.50" in text and "60 秒" in text, text
    else:
        assert "Alipay ￥3.50" in text and "60 s left" in text, text


def test_the_waiting_dialog_on_the_console(make_app, still) -> None:
    """TERM=linux: the dialog draws nothing the console's fonts lack."""
    import asyncio

    text = asyncio.run(rendered_text(make_app("console"), waiting_for_the_customer))
    assert_console_glyphs_only(text, "the code payment dialog")
    assert "60 s left" in text


async def settled_at_start_up(pilot) -> None:
    """The payment of the sale in progress was stored and never sent (the till stopped): at
    start-up the provider knows no such trade, and the cashier is told it is closed."""
    await pilot.pause()
    await pilot.press(*"demo", "enter", *"1234", "enter")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, SettledScreen), "what the settling found")
    await wait_for(pilot, lambda: pilot.app.printer_state != "starting", "the printer state")


@pytest.mark.parametrize("language", ["zh_CN", "en"])
def test_what_the_settling_found(snap_compare, make_app, still, language: str) -> None:
    data_dir = make_app("default", language).till.config.data_dir  # the shop as make_app sets it up
    wechat = FakeGateway("wechat")
    before = open_wired(data_dir, wechat)
    before.scan(COLA)
    before.payments.start(WECHAT_CODE)  # durable, never sent: then the till stopped
    before.close()
    till = open_wired(data_dir, wechat, clock=ahead())  # the restart, past a pay still on its way
    app = PosApp(till)
    shown: list[str] = []

    async def reach(pilot) -> None:
        await settled_at_start_up(pilot)
        shown.append(svg_text(pilot.app.export_screenshot()))

    try:
        assert snap_compare(app, terminal_size=SIZE, run_before=reach)
    finally:
        till.close()
    closed = "已关闭：未向顾客扣款" if language == "zh_CN" else "closed: the customer was not charged"
    words = "".join(shown[0].replace("│", "").split())  # the dialog wraps its lines: compare the words
    assert "".join(closed.split()) in words and "1345**********6789" in words, shown[0]
