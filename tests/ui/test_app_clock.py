"""The status line's clock (tui_pos/ui/app.py tick; issue 10 item 14): one timer set to the next
minute boundary, and every status line the cashier can see or come back to shows the new minute,
not only the one of the screen on top. The wall clock is faked: no test waits for a real minute."""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest

from conftest import COLA
from tui_pos.ui import app as app_module
from tui_pos.ui.screens.checkout import CheckoutScreen
from tui_pos.ui.screens.pickers import HelpScreen
from tui_pos.ui.screens.tender import TenderScreen
from tui_pos.ui.widgets import status_bar

from .pilot import on_screen, scan, screen_text

pytestmark = pytest.mark.asyncio


class FakeClock:
    """What time.time() and time.strftime() say, for the status line and the tick."""

    def __init__(self, now: float):
        self.now = now

    def time(self) -> float:
        return self.now

    def strftime(self, fmt: str, t=None) -> str:
        return time.strftime(fmt, time.gmtime(self.now))


@pytest.fixture
def clock(monkeypatch) -> FakeClock:
    fake = FakeClock(1_795_000_000.0 - 1_795_000_000.0 % 60 + 42.0)  # hh:mm:42
    monkeypatch.setattr(status_bar, "time", SimpleNamespace(strftime=fake.strftime))
    monkeypatch.setattr(app_module, "time", SimpleNamespace(time=fake.time))
    return fake


def minute(clock: FakeClock, later_s: float = 0) -> str:
    return time.strftime("%H:%M", time.gmtime(clock.now + later_s))


async def test_the_next_tick_is_set_for_the_next_minute_not_polled(pilot, clock, monkeypatch):
    timers: list[float] = []
    monkeypatch.setattr(pilot.app, "set_timer", lambda delay, callback, *a, **k: timers.append(delay))
    pilot.app.tick()
    assert len(timers) == 1 and 18 <= timers[0] <= 19  # from hh:mm:42 to just after the next minute
    clock.now += timers[0]
    pilot.app.tick()
    assert 59 <= timers[1] <= 61  # then once a minute


async def test_a_status_line_under_a_dialog_or_another_screen_keeps_the_minute(pilot, clock):
    await scan(pilot, COLA)
    pilot.app.tick()
    assert minute(clock) in screen_text(pilot, "#status")
    await pilot.press("f1")  # a dialog over the checkout: its status line stays visible behind it
    await on_screen(pilot, HelpScreen)
    clock.now += 60
    pilot.app.tick()  # the timer fires on the next minute
    await pilot.pause()
    checkout = pilot.app.screen_stack[-2]
    assert minute(clock) in str(checkout.query_one("#status").content)
    await pilot.press("escape")
    await on_screen(pilot, CheckoutScreen)
    await pilot.press("f10")  # the payment screen over the checkout
    await on_screen(pilot, TenderScreen)
    clock.now += 60
    pilot.app.tick()
    await pilot.press("escape")  # back at the cart: its clock says the minute now, not one before
    await on_screen(pilot, CheckoutScreen)
    assert minute(clock) in screen_text(pilot, "#status")
