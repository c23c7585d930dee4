"""End-to-end: a code payment (付款码) through the real `tui-pos` in tmux, against the Alipay
simulator (the real SDK over HTTP): the cashier scans an item, opens the payment (F10) and scans
the customer's payment code into the entry line; the till charges it, the sale is stored with the
mobile tender and the provider's transaction id, and its receipt goes to the printer's queue."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import COLA, cli_json, open_shift_in, run_cli, set_config
from payments.shop_config import point_at_simulator

from .tmux import TmuxTill, log_in, wait_until

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None,
                                reason="tmux is not installed (CI installs it: Makefile TEST_DEBS)")

ALIPAY_CODE = "287654321098765432"


def test_a_scanned_alipay_code_pays_the_sale_and_queues_its_receipt(tmp_path: Path, alipay_sim) -> None:
    data_dir = tmp_path / "shop"
    run_cli(data_dir, "init", "--demo")
    open_shift_in(data_dir)
    point_at_simulator(data_dir, "alipay", alipay_sim.settings)
    printed = tmp_path / "receipts.bin"
    set_config(data_dir, "printer", "connection", f'"file:{printed}"')
    alipay_sim.sim.faults.pay = "userpaying"  # the customer confirms on the phone for a moment
    alipay_sim.sim.faults.paying_for = 1.5

    till = TmuxTill()
    try:
        till.start(data_dir, "screen-256color")
        till.wait_for(r"┌.*Log in .*PIN .*┘")
        log_in(till)
        till.keys(COLA, "Enter")
        till.wait_for(r"Items 1 .*TOTAL")
        till.keys("F10")
        till.wait_for(r"TOTAL .*TO PAY")
        till.keys(*ALIPAY_CODE, "Enter")  # a scanner types the code and Enter into the entry line
        paid = till.wait_for(r"Sale (T1-\d{6}) paid: total ￥3\.50", timeout=30, forbid=r"Not paid|OUTCOME NOT KNOWN|unknown outcome")
        receipt = paid.group(1)
    finally:
        till.close()

    [trade_no] = alipay_sim.sim.charged()
    assert alipay_sim.sim.charged() == {trade_no: 350}
    assert [op for op, _ in alipay_sim.sim.engine.requests].count("pay") == 1
    [payment] = cli_json(data_dir, "payments")
    assert (payment["state"], payment["out_trade_no"], payment["sale_completed"]) == ("paid", trade_no, True)
    assert payment["code_mask"] != ALIPAY_CODE and ALIPAY_CODE not in (data_dir / "pos.sqlite3").read_bytes().decode(
        "latin-1")
    [sale] = cli_json(data_dir, "sales")
    assert (sale["receipt"], sale["total"]) == (receipt, "3.50")
    # the receipt went through the print queue to the printer (a file here)
    wait_until(lambda: printed.exists() and receipt.encode() in printed.read_bytes(), 10, "the receipt printed")
    assert cli_json(data_dir, "receipts", "--unprinted") == []
