"""`tui-pos payments reconcile FILE` (tui_pos/cli/payments.py, shown by cli/reconcile.py): the real
CLI in a subprocess, on a real shop whose code payments were made through the till with the
scripted gateway (tests/payments/fake_gateway.py), against a provider's statement written in its
real format from what the gateway charged (tests/payments/statement_files.py)."""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path

import pytest

from conftest import COLA, WATER, run_cli
from payments.fake_gateway import FakeGateway
from payments.paying import ALIPAY_CODE, WECHAT_CODE, until_done
from payments.statement_files import Trade, alipay_bill, wechat_bill
from tui_pos.bootstrap.till import open_till
from tui_pos.config import load_config

DAY = date(2026, 12, 3)
AT = "2026-12-03T02:00:00.000+00:00"  # 10:00 in Beijing, the providers' time


def code_sale(till, gateway: FakeGateway, *barcodes: str, complete: bool = True) -> str:
    """A sale paid by a scanned payment code; its uuid (complete=False: paid, the sale not completed)."""
    for barcode in barcodes:
        till.scan(barcode)
    sale_uuid = till.cart.uuid
    charge = until_done(till, till.payments.start(WECHAT_CODE))
    assert charge.state == "paid", charge
    if complete:
        till.pay()
    return sale_uuid


@pytest.fixture
def paid_shop(shop_dir: Path) -> dict:
    """Three code payments at WeChat Pay on 3 December (the till's clock set to that day): a cola (3.50)
and water with a cola (5.50) completed, water (2.00) paid and its sale not completed."""
    gateway = FakeGateway("wechat")
    till = open_till(load_config(shop_dir), cashier="test")
    try:
        till.clock = lambda: AT
        till.payments.use_gateway(gateway)
        first = code_sale(till, gateway, COLA)
        second = code_sale(till, gateway, WATER, COLA)
        third = code_sale(till, gateway, WATER, complete=False)
    finally:
        till.close()
    trades = {t.out_trade_no: t for t in gateway.trades.values()}
    assert len(trades) == 3
    return {"gateway": gateway, "sales": [first, second, third], "trades": trades}


def statement_of(trades) -> list[Trade]:
    return [Trade(t.out_trade_no, t.transaction_id, t.amount, "2026-12-03 10:00:01") for t in trades]


def by_sale(paid_shop: dict, n: int):
    from tui_pos.domain.payments import out_trade_no

    return paid_shop["trades"][out_trade_no(paid_shop["sales"][n], 1)]


def test_a_statement_of_what_was_charged_shows_the_sale_never_completed(shop_dir, paid_shop, tmp_path):
    bill = tmp_path / "wechat.csv"
    bill.write_bytes(wechat_bill(statement_of(paid_shop["trades"].values())))
    proc = run_cli(shop_dir, "payments", "reconcile", str(bill), "--json", check=False)
    assert proc.returncode == 1, proc.stderr  # a mismatch: exit 1
    data = json.loads(proc.stdout)
    third = by_sale(paid_shop, 2)
    [m] = data["mismatches"]
    assert {k: m[k] for k in ("kind", "provider", "out_trade_no", "transaction_id", "statement_amount", "till_amount",
                              "sale_uuid", "receipt", "state", "till_id")} == {
        "kind": "charged_no_sale", "provider": "wechat", "out_trade_no": third.out_trade_no,
        "transaction_id": third.transaction_id, "statement_amount": "2.00", "till_amount": "2.00",
        "sale_uuid": paid_shop["sales"][2], "receipt": None, "state": "paid", "till_id": "T1"}
    assert (data["provider"], data["first_day"], data["till"]) == ("wechat", "2026-12-03", {
        "pays": {"count": 3, "amount": "11.00"}, "refunds": {"count": 0, "amount": "0.00"}})
    assert data["matched"]["pays"] == {"count": 2, "amount": "9.00"}


def test_every_kind_of_mismatch_both_ways_in_json_csv_and_text(shop_dir, paid_shop, tmp_path):
    first, second, third = (by_sale(paid_shop, n) for n in range(3))
    rows = [*statement_of([first, third]),  # the second sale's charge is not on it
            Trade(second.out_trade_no + "X", "4200000000000000000000000099", 990, "2026-12-03 18:00:00")]
    rows[0] = Trade(first.out_trade_no, first.transaction_id, first.amount + 1, "2026-12-03 10:00:01")
    bill = tmp_path / "alipay.csv"  # the statement of the wrong provider is refused; then a WeChat one
    bill.write_bytes(alipay_bill(rows, DAY))
    refused = run_cli(shop_dir, "payments", "reconcile", str(bill), "--provider", "wechat", check=False)
    assert refused.returncode == 1 and refused.stdout == "" and refused.stderr.count("\n") == 1
    assert "a statement of alipay, not of wechat" in refused.stderr
    bill.write_bytes(wechat_bill(rows))
    data = json.loads(run_cli(shop_dir, "payments", "reconcile", str(bill), "--json", check=False).stdout)
    assert [(m["kind"], m["out_trade_no"], m["statement_amount"], m["till_amount"]) for m in data["mismatches"]] == [
        ("amount_differs", first.out_trade_no, "3.51", "3.50"),
        ("charged_no_sale", third.out_trade_no, "2.00", "2.00"),
        ("charged_no_sale", second.out_trade_no + "X", "9.90", None),
        ("sale_not_charged", second.out_trade_no, None, "5.50"),
    ]
    assert data["mismatches"][3]["receipt"] == "T1-000002"

    out = tmp_path / "mismatches.csv"
    written = json.loads(run_cli(shop_dir, "payments", "reconcile", str(bill), "--csv", str(out), "--json",
                                 check=False).stdout)
    assert written["rows"] == 4
    with out.open(encoding="utf-8") as file:
        table = list(csv.DictReader(file))
    assert [(r["kind"], r["statement_amount"], r["till_amount"], r["receipt"]) for r in table] == [
        ("amount_differs", "3.51", "3.50", "T1-000001"), ("charged_no_sale", "2.00", "2.00", ""),
        ("charged_no_sale", "9.90", "", ""), ("sale_not_charged", "", "5.50", "T1-000002")]

    text = run_cli(shop_dir, "payments", "reconcile", str(bill), check=False, env={"LANG": "C.UTF-8"}).stdout
    assert "4 mismatches:" in text and "amounts differ" in text and "receipt T1-000002" in text
    assert "WeChat Pay statement of 2026-12-03: 3 charges 15.41" in text


def test_a_statement_with_nothing_to_answer_for_exits_0_and_says_so(shop_dir, paid_shop, tmp_path):
    """A bill with no trades names no day: its rows (none) are all there is to look for."""
    empty = tmp_path / "empty.csv"
    empty.write_bytes(wechat_bill([]))
    proc = run_cli(shop_dir, "payments", "reconcile", str(empty), env={"LANG": "C.UTF-8"})
    assert "The statement names no day" in proc.stdout and "Everything matches." in proc.stdout
    assert json.loads(run_cli(shop_dir, "payments", "reconcile", str(empty), "--json").stdout)["ok"] is True
    dated = json.loads(run_cli(shop_dir, "payments", "reconcile", str(empty), "--day", "2026-12-03", "--json",
                               check=False).stdout)  # that day's charges: none on the statement
    assert [(m["kind"], m["till_amount"]) for m in dated["mismatches"]] == [
        ("sale_not_charged", "3.50"), ("sale_not_charged", "5.50"), ("sale_not_charged", "2.00")]
    assert "Error: --day" in run_cli(shop_dir, "payments", "reconcile", str(empty), "--day", "3 Dec", check=False).stderr


def test_a_file_that_is_no_statement_is_one_line(shop_dir, tmp_path):
    for content, says in [(b"barcode,name,price,tax\n", "not an Alipay business detail"),
                          (wechat_bill([]).split(b"\r\n")[0], "no totals line")]:
        bad = tmp_path / "bad.csv"
        bad.write_bytes(content)
        proc = run_cli(shop_dir, "payments", "reconcile", str(bad), check=False)
        assert proc.returncode == 1 and "Traceback" not in proc.stderr and says in proc.stderr, proc.stderr
    proc = run_cli(shop_dir, "payments", "reconcile", str(tmp_path / "missing.csv"), check=False)
    assert proc.returncode == 1 and "cannot read" in proc.stderr


def test_refunds_through_the_provider_reconciled(shop_dir, tmp_path):
    """A sale paid by code, one of its items refunded through the provider by a manager: on an
    Alipay statement with both rows everything matches; without the refund's row it is named."""
    gateway = FakeGateway("alipay")
    till = open_till(load_config(shop_dir), cashier="")
    try:
        till.login("manager", "9999")
        till.clock = lambda: AT
        till.payments.use_gateway(gateway)
        till.scan(COLA)
        till.scan(WATER)
        until_done(till, till.payments.start(ALIPAY_CODE))
        receipt = till.pay().sale.receipt
        refund = till.refund(receipt, {1: 1}, "Damaged").sale
    finally:
        till.close()
    [trade] = gateway.trades.values()
    [(refund_no, back)] = gateway.refunded().items()
    pay_row = Trade(trade.out_trade_no, trade.transaction_id, trade.amount, "2026-12-03 10:00:01")
    refund_row = Trade(trade.out_trade_no, trade.transaction_id, back, "2026-12-03 10:05:00", kind="refund",
                       out_refund_no=refund_no)
    bill = tmp_path / "alipay.csv"
    bill.write_bytes(alipay_bill([pay_row, refund_row], DAY))
    data = json.loads(run_cli(shop_dir, "payments", "reconcile", str(bill), "--json").stdout)
    assert data["ok"] and data["matched"] == {"pays": {"count": 1, "amount": "5.50"},
                                              "refunds": {"count": 1, "amount": "3.50"},
                                              "reversed": {"count": 0, "amount": "0.00"}}
    bill.write_bytes(alipay_bill([pay_row], DAY))
    data = json.loads(run_cli(shop_dir, "payments", "reconcile", str(bill), "--json", check=False).stdout)
    [m] = data["mismatches"]
    assert (m["kind"], m["out_refund_no"], m["till_amount"], m["sale_uuid"], m["receipt"], m["state"]) == (
        "refund_not_in_statement", refund_no, "3.50", refund.uuid, refund.receipt, "refunded")
