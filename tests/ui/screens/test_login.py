"""The login and the manager approval check PINs in a worker (issue 10.2): the worker must be
complete before its screen goes away, so nothing waiting on it sees it cancelled. It used to
dismiss its own screen from inside itself, which cancelled it; under load a test waiting for the
PIN check (`workers.wait_for_complete()`) then failed with WorkerCancelled."""

from __future__ import annotations

import threading

import pytest

from tui_pos.ui.screens.checkout import CheckoutScreen
from tui_pos.ui.screens.dialogs import ManagerScreen

from ..pilot import ask, on_screen, post_keys, running, type_text, wait_for


def held_back(target, name: str, gate: threading.Event):
    """target.name, made to wait for the gate: the PIN check is still running when we look."""
    original = getattr(target, name)

    def slow(*args, **kwargs):
        assert gate.wait(30)
        return original(*args, **kwargs)
    setattr(target, name, slow)


@pytest.mark.asyncio
async def test_waiting_for_the_login_check_never_sees_it_cancelled(shop_dir) -> None:
    async with running(shop_dir, user=None) as pilot:
        gate = threading.Event()
        held_back(pilot.app.till, "login", gate)
        post_keys(pilot.app, "demo\n1234\n")
        await wait_for(pilot, lambda: any(w.name == "check" for w in pilot.app.workers))  # held at the gate
        threading.Timer(0.2, gate.set).start()
        await pilot.app.workers.wait_for_complete()  # raised WorkerCancelled
        await on_screen(pilot, CheckoutScreen)


@pytest.mark.asyncio
async def test_waiting_for_a_manager_approval_never_sees_it_cancelled(shop_dir) -> None:
    async with running(shop_dir) as pilot:
        await type_text(pilot, "6900000000014\n")
        await ask(pilot, "f5", "20%")
        await on_screen(pilot, ManagerScreen)
        gate = threading.Event()
        held_back(pilot.app.till, "approve", gate)
        await type_text(pilot, "manager\n")
        post_keys(pilot.app, "9999\n")
        await wait_for(pilot, lambda: any(w.name == "approve" for w in pilot.app.workers))  # held at the gate
        threading.Timer(0.2, gate.set).start()
        await pilot.app.workers.wait_for_complete()
        await on_screen(pilot, CheckoutScreen)
        assert pilot.app.till.cart.totals(tax_included=True).total == 280  # 3.50 less 20%
