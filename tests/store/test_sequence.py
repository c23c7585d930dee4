"""The numbering lock (tui_pos/store/sequence.py) against a real process stopped while it holds
it (SIGSTOP at a crash point, as Ctrl-Z over SSH does): other sales wait a bounded time, then
are refused with a message naming the holder; no receipt number is ever issued twice."""

from __future__ import annotations

import os
import signal
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from conftest import AS_DEMO, COLA, WATER, cli_json, run_cli
from tests.cli.stopped import signal_and_continue, start_stopped
from tui_pos.bootstrap.till import open_till
from tui_pos.config import load_config
from tui_pos.domain.errors import NotDurable
from tui_pos.domain.tender import Tender

SELL = ("sell", *AS_DEMO, "--item", COLA, "--tender", "cash", "--no-print", "--json")


def receipts(data_dir: Path) -> list[str]:
    with closing(sqlite3.connect(f"{(data_dir / 'pos.sqlite3').as_uri()}?mode=ro", uri=True)) as conn:
        return [r for (r,) in conn.execute("SELECT receipt FROM sale ORDER BY seq")]


@pytest.fixture
def stopped_seller(shop_dir: Path):
    """A `tui-pos sell` stopped while it holds the numbering lock (its sale written, not committed)."""
    proc = start_stopped(shop_dir, "sqlite_before_commit", *SELL)
    yield proc
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
        os.kill(proc.pid, signal.SIGCONT)
        proc.communicate(timeout=60)


def test_a_sale_beside_a_stopped_holder_is_refused_naming_it(shop_dir: Path, stopped_seller):
    proc = run_cli(shop_dir, *SELL, check=False, timeout=60)  # before: waited forever
    assert proc.returncode == 1
    message = proc.stderr.strip()
    assert message.count("\n") == 0 and "NOT RECORDED" in message
    assert f"pid {stopped_seller.pid}" in message and "STOPPED" in message and "kill -CONT" in message
    assert receipts(shop_dir) == []  # nothing stored by the refused sale
    status, out, err = signal_and_continue(stopped_seller)  # resumed: the held sale completes...
    assert status == 0, err
    after = cli_json(shop_dir, "sell", *AS_DEMO, "--item", WATER, "--tender", "cash", "--no-print")  # ...and selling goes on
    stored = receipts(shop_dir)
    assert len(stored) == len(set(stored)) == 2 and stored[1] == after["receipt"]
    assert [int(r.rsplit("-", 1)[1]) for r in stored] == [1, 2]  # consecutive: the refusal took no number


def test_the_till_api_refuses_and_keeps_the_cart(shop_dir: Path, stopped_seller):
    """What the till UI calls: the same bound, and the cart (tenders included) is kept to retry."""
    till = open_till(load_config(shop_dir), cashier="test")
    try:
        till.scan(COLA)
        till.add_tender(Tender("cash", 500))
        with pytest.raises(NotDurable, match=f"pid {stopped_seller.pid}"):
            till.pay()
        assert len(till.cart.lines) == 1 and len(till.cart.tenders) == 1
        signal_and_continue(stopped_seller)
        paid = till.pay()
        assert paid.stored == "sqlite"
    finally:
        till.close()
    stored = receipts(shop_dir)
    assert len(stored) == len(set(stored)) == 2
