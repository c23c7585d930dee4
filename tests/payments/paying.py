"""A till paying by code in a test: the customers' codes, the till's waiting on the test's clock
(a sleep moves it at once, so a 60 s wait takes no time), its gateways set, and a charge advanced
step by step until it ends. Written once for the app, adapter and UI tests of code payments."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from tui_pos.app.payments import Charge
from tui_pos.app.ports import CodeGateway

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
