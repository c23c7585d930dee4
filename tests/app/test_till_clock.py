"""A clock set back (an RTC battery, a wrong NTP server, a hand-set date) is warned about and
audited at the sale, and doctor flags the sales it stamped. The till's clock is injected (Till's
`clock`); the database is real and doctor is the real CLI."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from conftest import AS_DEMO, COLA, WATER
from tests.ops.helpers import doctor
from tui_pos.app.till import Till
from tui_pos.bootstrap.shop import init_shop
from tui_pos.bootstrap.till import open_till
from tui_pos.config import load_config
from tui_pos.domain.tender import Tender


class FakeClock:
    def __init__(self, now: str):
        self.now = now

    def __call__(self) -> str:
        return self.now


def sell(till: Till, code: str = COLA):
    till.scan(code)
    return till.pay([Tender("cash", till.due().cash_left)])


def audit_actions(shop: Path) -> list[tuple[str, str]]:
    with closing(sqlite3.connect(shop / "pos.sqlite3")) as conn:
        return conn.execute("SELECT action, subject FROM audit WHERE action = 'clock_back' ORDER BY seq").fetchall()


def test_a_clock_set_back_is_warned_audited_and_flagged(tmp_path: Path):
    shop = tmp_path / "shop"
    init_shop(shop, demo=True)
    clock = FakeClock("2026-03-02T08:00:00.000+00:00")
    till = open_till(load_config(shop), cashier="test", clock=clock)
    try:
        till.open_shift(10000)
        clock.now = "2026-03-02T10:00:00.000+00:00"
        on_time = sell(till)
        assert on_time.warning == ""
        clock.now = "2026-03-02T09:00:00.000+00:00"  # an hour back: after the shift opened, before the last sale
        back = sell(till, WATER)
        assert "before the last sale" in back.warning and on_time.sale.receipt in back.warning
        clock.now = "2020-01-01T12:00:00.000+00:00"  # back to 2020, inside a shift opened in 2026
        old = sell(till)
        assert "2020-01-01" in old.warning and "shift" in old.warning
    finally:
        till.close()
    assert [s for _, s in audit_actions(shop)] == [back.sale.receipt, old.sale.receipt]
    code, checks = doctor(shop)
    assert code == 1 and checks["clock"]["level"] == "fail"
    detail = checks["clock"]["detail"]
    assert back.sale.receipt in detail and old.sale.receipt in detail and on_time.sale.receipt not in detail


def test_a_right_clock_gives_no_warning(shop_dir: Path):
    till = open_till(load_config(shop_dir), cashier="test")
    try:
        assert sell(till).warning == "" and sell(till).warning == ""
    finally:
        till.close()
    assert audit_actions(shop_dir) == []
    assert doctor(shop_dir)[1]["clock"]["level"] == "ok"


def test_the_cli_says_so_on_stderr_and_in_json(shop_dir: Path):
    """A sale stored at a later time (the clock was ahead, then set right, or set back since):
    the next real `tui-pos sell` warns, and still succeeds (the sale is stored)."""
    from conftest import cli_json, run_cli

    till = open_till(load_config(shop_dir), cashier="test", clock=FakeClock("2099-01-01T00:00:00.000+00:00"))
    try:
        later = sell(till)
    finally:
        till.close()
    proc = run_cli(shop_dir, "sell", *AS_DEMO, "--item", COLA, "--tender", "cash", "--no-print")
    assert "Warning: the clock reads" in proc.stderr and later.sale.receipt in proc.stderr
    data = cli_json(shop_dir, "sell", *AS_DEMO, "--item", COLA, "--tender", "cash", "--no-print")
    assert later.sale.receipt in data["warning"]
