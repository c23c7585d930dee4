"""Reconciling a shop's code payments at HQ (hq/payments.py, `tui-pos hq payments reconcile`) on a
real PostgreSQL: tills push payment_attempt/payment_outcome records and the sales carrying them
(record JSON as the till writes it) under their own roles; the sample Alipay statement
(tests/payments/statements/) is reconciled against the shop's tills, and only that shop's."""

from __future__ import annotations

import json
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from conftest import run_cli
from hq_cluster import till_dir
from tui_pos.domain.reconcile import from_view, reconcile, till_payments
from tui_pos.domain.records import PaymentAttempt, PaymentOutcome
from tui_pos.hq.connection import connect
from tui_pos.hq.payments import payment_records
from tui_pos.payments.statements import load_statement

from .tills import push_till

pytest.importorskip("psycopg", reason="psycopg (3) is not installed: pip install -e .[test] (make venv)")

ALIPAY = Path(__file__).parent.parent / "payments" / "statements" / "alipay_20261203_business_detail.csv"
DAY = date(2026, 12, 3)


def new_uuid() -> str:
    return str(uuid.uuid4())


def charge(till: str, n: int, amount: int, trade: str, transaction_id: str, at: str, *, kind: str = "pay",
           refund_no: str = "", state: str = "paid", sale: bool = True) -> list[dict[str, Any]]:
    """A code payment's records as the till commits them (the domain's records): the attempt, its
    outcome, and (sale) the sale (or refund) completed with its mobile tender."""
    sale_uuid = new_uuid()
    attempt = PaymentAttempt.new(
        till, at=at, sale_uuid=sale_uuid, kind="refund" if kind == "refund" else "pay", provider="alipay",
        attempt_no=1, out_trade_no=trade, amount=amount, cashier="amy", out_refund_no=refund_no,
        code_mask="" if kind == "refund" else "2800**********1234",
        original_sale_uuid=new_uuid() if kind == "refund" else None)
    records: list[dict[str, Any]] = [
        attempt.to_record(),
        PaymentOutcome.new(attempt, "refunded" if state == "refunded" else "paid", at=at,
                           transaction_id=transaction_id, amount=amount).to_record()]
    if sale:
        sign = -1 if kind == "refund" else 1
        records.append({"uuid": sale_uuid, "receipt": f"{till}-{n:06d}", "till_id": till, "seq": n, "cashier": "amy",
                        "opened_at": at, "completed_at": at, "currency": "CNY", "tax_included": True, "lines": [],
                        "tenders": [{"kind": "mobile", "amount": sign * amount, "reference": transaction_id}],
                        "gross": sign * amount, "discount": 0, "tax": 0, "total": sign * amount, "rounding": 0,
                        "paid": sign * amount, "change": 0, "kind": kind if kind == "refund" else "sale"})
    return records


@pytest.fixture
def shop_payments(hq: str, tmp_path: Path) -> dict[str, Any]:
    """T1 (shop S1): the statement's two charges and its refund, and a charge of that day the
    statement lacks; T2 (shop S2): a charge of that day too (another shop's merchant account)."""
    t1 = [*charge("T1", 1, 700, "P5a1e00010000400080000000001", "2026120322001400001000000001",
                  "2026-12-03T01:15:05.000+00:00"),
          *charge("T1", 2, 3580, "P5a1e00020000400080000000002", "2026120322001400001000000002",
                  "2026-12-03T04:01:48.000+00:00"),
          *charge("T1", 3, 580, "P5a1e00020000400080000000002", "", "2026-12-03T07:30:02.000+00:00",
                  kind="refund", refund_no="R4ef000020000400080000000001", state="refunded"),
          *charge("T1", 4, 990, "P5a1e00090000400080000000001", "2026120322001400001000000009",
                  "2026-12-03T09:00:00.000+00:00"),
          *charge("T1", 5, 100, "P5a1e00080000400080000000001", "2026120222001400001000000008",
                  "2026-12-02T09:00:00.000+00:00")]  # the day before: not this statement's
    push_till(hq, till_dir(tmp_path / "t1", "T1"), "S1", t1)
    t2 = charge("T2", 1, 1234, "P5a1e00770000400080000000001", "2026120322001400001000000077",
                "2026-12-03T02:00:00.000+00:00")
    push_till(hq, till_dir(tmp_path / "t2", "T2"), "S2", t2)
    return {"t1": t1, "t2": t2}


def test_a_shops_payments_reconciled_at_hq(hq, shop_payments):
    statement = load_statement(ALIPAY)
    with connect(hq) as conn:
        attempts, outcomes, sales = payment_records(conn, "S1", DAY, DAY, [r.out_trade_no for r in statement.rows],
                                                    [r.out_refund_no for r in statement.rows])
    assert {a["till_id"] for a in attempts} == {"T1"}
    assert len(attempts) == len(outcomes) == len(sales) == 5  # the day before too: within a day's margin
    result = reconcile(statement, till_payments(attempts, outcomes, sales))
    assert [(m.kind, m.out_trade_no, m.statement_amount, m.till_amount, m.receipt) for m in result.mismatches] == [
        ("charged_no_sale", "", 120000, None, ""),  # paid to the shop's QR code: no till made it
        ("sale_not_charged", "P5a1e00090000400080000000001", None, 990, "T1-000004"),
    ]
    assert (result.matched_pays.count, result.matched_pays.amount) == (2, 700 + 3580)
    assert (result.matched_refunds.count, result.matched_refunds.amount) == (1, 580)
    assert (result.till_pays.count, result.till_pays.amount) == (3, 700 + 3580 + 990)


def test_another_day_is_found_by_its_trade_number_alone(hq, shop_payments):
    with connect(hq) as conn:
        attempts, _, _ = payment_records(conn, "S1", date(2026, 11, 1), date(2026, 11, 1),
                                         ["P5a1e00010000400080000000001"], ["R4ef000020000400080000000001"])
        none, _, _ = payment_records(conn, "S1", None, None)
    assert sorted((a["kind"], a["amount"]) for a in attempts) == [("pay", 700), ("refund", 580)]
    assert none == []


def test_the_command_line_json_csv_and_text(hq, shop_payments, tmp_path):
    nowhere = tmp_path / "not-a-till"
    env = {"TUI_POS_HQ_DSN": hq, "LANG": "C.UTF-8", "LC_ALL": "", "LANGUAGE": ""}
    proc = run_cli(nowhere, "hq", "payments", "reconcile", str(ALIPAY), "--shop", "S1", "--json", env=env, check=False)
    assert proc.returncode == 1, proc.stderr  # mismatches: exit 1, as hq verify
    data = json.loads(proc.stdout)
    assert (data["shop"], data["provider"], data["first_day"], data["ok"]) == ("S1", "alipay", "2026-12-03", False)
    lacking = data["mismatches"][1]
    assert {k: lacking[k] for k in ("kind", "provider", "out_trade_no", "transaction_id", "statement_amount",
                                    "till_amount", "receipt", "state", "till_id")} == {
        "kind": "sale_not_charged", "provider": "alipay", "out_trade_no": "P5a1e00090000400080000000001",
        "transaction_id": "2026120322001400001000000009", "statement_amount": None, "till_amount": "9.90",
        "receipt": "T1-000004", "state": "paid", "till_id": "T1"}
    assert lacking["sale_uuid"] == shop_payments["t1"][11]["uuid"]
    assert data["matched"]["pays"] == {"count": 2, "amount": "42.80"}
    assert data["statement"]["pays"] == {"count": 3, "amount": "1242.80"}

    csv_out = run_cli(nowhere, "hq", "payments", "reconcile", str(ALIPAY), "--shop", "S1", "--csv", env=env,
                      check=False).stdout.splitlines()
    assert csv_out[0].startswith("kind,provider,out_trade_no,transaction_id,out_refund_no,statement_amount,till_amount")
    assert csv_out[2].startswith("sale_not_charged,alipay,P5a1e00090000400080000000001,2026120322001400001000000009,,,9.90,")

    text = run_cli(nowhere, "hq", "payments", "reconcile", str(ALIPAY), "--shop", "S1", env=env, check=False).stdout
    assert "2 mismatches:" in text and "receipt T1-000004" in text and "Matched: 2 charges 42.80, 1 refunds 5.80" in text
    chinese = run_cli(nowhere, "hq", "payments", "reconcile", str(ALIPAY), "--shop", "S1",
                      env={**env, "LANG": "zh_CN.UTF-8"}, check=False).stdout
    assert "2 处不一致：" in chinese and "记录为已支付，对账单中没有" in chinese

    s2 = run_cli(nowhere, "hq", "payments", "reconcile", str(ALIPAY), "--shop", "S2", "--json", env=env, check=False)
    assert [m["kind"] for m in json.loads(s2.stdout)["mismatches"]] == [
        "charged_no_sale", "charged_no_sale", "refund_not_recorded", "charged_no_sale", "sale_not_charged"]


def test_bad_input_is_one_line(hq, tmp_path):
    nowhere = tmp_path / "not-a-till"
    env = {"TUI_POS_HQ_DSN": hq}
    for args, says in [
        (("--shop", "S9"), "Error: HQ has no shop S9"),
        (("--shop", "S1", "--provider", "wechat"), "is a statement of alipay, not of wechat"),
    ]:
        proc = run_cli(nowhere, "hq", "payments", "reconcile", str(ALIPAY), *args, env=env, check=False)
        assert proc.returncode == 1 and "Traceback" not in proc.stderr and says in proc.stderr, proc.stderr
    broken = tmp_path / "cut.csv"
    broken.write_bytes(ALIPAY.read_bytes().split("#-----------------------------------------业务明细列表结束".encode("gbk"))[0])
    proc = run_cli(nowhere, "hq", "payments", "reconcile", str(broken), "--shop", "S1", env=env, check=False)
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1 and "cut short" in proc.stderr, proc.stderr


def test_a_tills_own_payments_reconcile_at_hq_as_at_the_till(hq, shop_dir, tmp_path):
    """A till that took code payments (the scripted gateway) pushes its commits; HQ's reconciliation
    of its shop is the till's own."""
    from conftest import COLA, WATER
    from payments.fake_gateway import FakeGateway
    from payments.paying import WECHAT_CODE, until_done
    from payments.statement_files import Trade, wechat_bill
    from tui_pos.bootstrap.till import open_till
    from tui_pos.config import load_config
    from tui_pos.ops.readonly import read_only_view
    from tui_pos.payments.statements import read_statement

    gateway = FakeGateway("wechat")
    till = open_till(load_config(shop_dir), cashier="test")
    try:
        till.clock = lambda: "2026-12-03T02:00:00.000+00:00"
        till.payments.use_gateway(gateway)
        for barcodes, complete in (((COLA,), True), ((WATER, COLA), True), ((WATER,), False)):
            for barcode in barcodes:
                till.scan(barcode)
            assert until_done(till, till.payments.start(WECHAT_CODE)).state == "paid"
            if complete:
                till.pay()
    finally:
        till.close()
    trades = list(gateway.trades.values())
    rows = [Trade(t.out_trade_no, t.transaction_id, t.amount, "2026-12-03 10:00:01") for t in trades[:2]]
    statement = read_statement(wechat_bill([*rows, Trade("P" + "e" * 31, "4200000000000000000000000042", 990,
                                                          "2026-12-03 12:00:00")]))
    push_till(hq, shop_dir, "S1")
    with read_only_view(load_config(shop_dir)) as view:
        stored, _readable = view.payment_attempts()
        receipts = {s["uuid"]: s["receipt"] for s in view.sales(None)[0]}
    at_till = reconcile(statement, from_view(stored, receipts))
    with connect(hq) as conn:
        at_hq = reconcile(statement, till_payments(*payment_records(
            conn, "S1", statement.first_day, statement.last_day, [r.out_trade_no for r in statement.rows])))
    assert [(m.kind, m.out_trade_no) for m in at_hq.mismatches] == [
        ("charged_no_sale", "P" + "e" * 31), ("sale_not_charged", trades[2].out_trade_no)]
    assert at_hq == at_till
    assert at_hq.mismatches[1].receipt == "" and at_hq.matched_pays.count == 2
