"""A till paying by code in a test: the customers' codes, the till's waiting on the test's clock
(a sleep moves it at once, so a 60 s wait takes no time; a Stepper's can be held), its gateways
set, a charge advanced step by step until it ends, and a payment left open as a crash leaves it.
Written once for the app, adapter, CLI and UI tests of code payments."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from conftest import COLA
from payments.fake_gateway import LOST, FakeGateway
from tui_pos.app.payments import Charge
from tui_pos.app.ports import CodeGateway
from tui_pos.app.till import Till
from tui_pos.bootstrap.till import open_till
from tui_pos.config import load_config

ALIPAY_CODE = "287654321098765432"  # 18 digits starting 28: Alipay
WECHAT_CODE = "134567890123456789"  # 18 digits starting 13: WeChat
CODES = {"alipay": ALIPAY_CODE, "wechat": WECHAT_CODE}  # a customer's code for each provider


class TillTime:
    """monotonic() and sleep() for the till's waiting: sleeping moves the time, at once."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


class Stepper(TillTime):
    """The till's waiting on the test's clock; while held, the sleeping worker waits for release()
    (never longer than the test's own patience), so a screen can be read while it waits."""

    def __init__(self) -> None:
        super().__init__()
        self.free = threading.Event()
        self.free.set()

    def sleep(self, seconds: float) -> None:
        self.free.wait(60)
        super().sleep(seconds)

    def hold(self) -> None:
        self.free.clear()

    def release(self) -> None:
        self.free.set()


def wire(till: Any, *gateways: CodeGateway, time: TillTime | None = None) -> TillTime:
    """The till's code payments waiting on `time` (a new TillTime if none) and paying through these gateways."""
    time = time or TillTime()
    till.payments.sleep, till.payments.monotonic = time.sleep, time.monotonic
    for gateway in gateways:
        till.payments.use_gateway(gateway)
    return time


def until_done(till: Any, charge: Charge, seen: list[Charge] | None = None) -> Charge:
    """The charge advanced until it is done (each step appended to seen); a charge that never ends fails the test."""
    for _ in range(1000):
        if charge.done:
            return charge
        charge = till.payments.advance(charge)
        if seen is not None:
            seen.append(charge)
    raise AssertionError(f"the charge never ended: {charge}")


def ahead(seconds: float = 30) -> Callable[[], str]:
    """A till clock this far ahead of now: a till opened with it comes after a pay still on its way
    could have reached the provider (before that, "no such trade" is not final)."""
    return lambda: (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat(timespec="milliseconds")


def open_wired(shop_dir: Path, *gateways: CodeGateway, stepper: Stepper | None = None,
               clock: Callable[[], str] | None = None) -> Till:
    """The shop's till (no one logged in) paying through these gateways, waiting on stepper's clock."""
    till = open_till(load_config(shop_dir), cashier="", **({"clock": clock} if clock else {}))
    wire(till, *gateways, time=stepper or Stepper())
    return till


def paid_by_code(till: Any, code: str) -> str:
    """The sale in progress charged by code, every step of it; the charge's state."""
    return until_done(till, till.payments.start(code)).state


def interrupted_payment(shop_dir: Path, gateway: FakeGateway, code: str = ALIPAY_CODE, charge: bool = True,
                        hold: bool = False) -> str:
    """A sale whose code payment was stored and (charge) sent to the provider, and then the till
    stopped before it learnt the answer (hold: with the sale put on hold first): the attempt is
    open. Returns the sale's uuid."""
    till = open_wired(shop_dir, gateway)
    try:
        till.scan(COLA)
        started = till.payments.start(code)
        if charge:
            gateway.script("pay", LOST)  # the customer is charged, the answer is lost
            assert till.payments.advance(started).state == "unknown"
        sale_uuid = till.cart.uuid
        if hold:
            till.hold()
        return sale_uuid
    finally:
        till.close()
