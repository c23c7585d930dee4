"""tui_pos/payments/alipay.py against the Alipay simulator (tests/payments/alipay_sim.py), through the
real python-alipay-sdk: every Alipay answer in the one vocabulary, and the money as the simulator
kept it (never charged twice, nothing charged that a reply hid)."""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys

import pytest

from payments.simulator import Clock
from tui_pos.domain.payments import Trade, out_refund_no, out_trade_no
from tui_pos.payments.alipay import to_fen, to_yuan

CODE = "284567890123456789"  # the customer's Alipay payment code (18 digits starting 28)
SALE = "6f1c2d3e-0000-4000-8000-000000000001"
REFUND = "9a8b7c6d-0000-4000-8000-000000000002"


def trade(n: int = 1, amount: int = 1234) -> Trade:
    return Trade(out_trade_no(SALE, n), amount, "tui-pos sale", CODE, "till-1")


@pytest.fixture
def clock(alipay_sim) -> Clock:
    """The simulator's clock, moved by the test: the customer confirms when the test says."""
    alipay_sim.sim.engine.clock = clock = Clock()
    return clock


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- pay and query ----------------------------------------------------------------------------
def test_a_barcode_pay_that_succeeds_is_paid_with_alipays_trade_number_and_amount(alipay_sim):
    gateway = alipay_sim.gateway()
    reply = gateway.pay(trade())
    assert reply.status == "paid", reply
    assert reply.amount == 1234 and reply.transaction_id.startswith("4200")
    assert alipay_sim.charged() == {trade().out_trade_no: 1234}
    sent = alipay_sim.requests[-1]
    biz = json.loads(sent["biz_content"])
    assert sent["method"] == "alipay.trade.pay" and sent["sign_type"] == "RSA2"
    assert biz == {"out_trade_no": trade().out_trade_no, "scene": "bar_code", "auth_code": CODE,
                   "subject": "tui-pos sale", "total_amount": "12.34", "terminal_id": "till-1",
                   "timeout_express": "10m"}
    queried = gateway.query(trade().out_trade_no)
    assert (queried.status, queried.transaction_id, queried.amount, queried.code) == \
        ("paid", reply.transaction_id, 1234, "TRADE_SUCCESS")


def test_a_subject_in_chinese_is_signed_and_verified_like_any_other(alipay_sim):
    sale = Trade(out_trade_no(SALE, 1), 350, "便利店 一号收银台", CODE)
    assert alipay_sim.gateway().pay(sale).status == "paid"
    assert json.loads(alipay_sim.requests[-1]["biz_content"])["subject"] == "便利店 一号收银台"


def test_the_simulator_takes_a_form_post_too_as_alipays_gateway_does(alipay_sim):
    import urllib.request

    client = alipay_sim.gateway()._sdk_client()
    form = client.sign_data(client.build_body("alipay.trade.query", {"out_trade_no": "P-none"}))
    with urllib.request.urlopen(urllib.request.Request(alipay_sim.url, data=form.encode(), headers={
            "Content-Type": "application/x-www-form-urlencoded;charset=utf-8"}), timeout=5) as answer:
        raw = answer.read().decode()
    verified = client._verify_and_return_sync_response(raw, "alipay_trade_query_response")
    assert (verified["code"], verified["sub_code"]) == ("40004", "ACQ.TRADE_NOT_EXIST")


def test_the_customer_confirming_on_the_phone_is_paying_then_the_query_says_paid(alipay_sim, clock):
    alipay_sim.sim.faults.pay, alipay_sim.sim.faults.paying_for = "userpaying", 10
    gateway = alipay_sim.gateway()
    reply = gateway.pay(trade())
    assert (reply.status, reply.code) == ("paying", "WAIT_BUYER_PAY")
    assert gateway.query(trade().out_trade_no).status == "paying"
    clock.now += 10  # the customer confirmed
    final = gateway.query(trade().out_trade_no)
    assert (final.status, final.amount) == ("paid", 1234)
    assert alipay_sim.charged() == {trade().out_trade_no: 1234}


def test_a_customer_who_gives_up_on_the_phone_leaves_the_trade_closed_and_nothing_charged(alipay_sim, clock):
    faults = alipay_sim.sim.faults
    faults.pay, faults.paying_for, faults.then = "userpaying", 10, "fail"
    gateway = alipay_sim.gateway()
    assert gateway.pay(trade()).status == "paying"
    clock.now += 10  # the customer gave up
    assert (gateway.query(trade().out_trade_no).status, alipay_sim.charged()) == ("closed", {})


@pytest.mark.parametrize("sub_code, sub_msg", [("ACQ.PAYMENT_AUTH_CODE_INVALID", "支付失败，获取顾客账户信息失败"),
                                               ("ACQ.BUYER_BALANCE_NOT_ENOUGH", "买家余额不足")])
def test_a_refused_payment_fails_with_alipays_reason_and_charges_nothing(alipay_sim, sub_code, sub_msg):
    faults = alipay_sim.sim.faults
    faults.pay, faults.fail_code, faults.fail_reason = "fail", sub_code, sub_msg
    reply = alipay_sim.gateway().pay(trade())
    assert (reply.status, reply.code, reply.reason) == ("failed", sub_code, sub_msg)
    assert alipay_sim.charged() == {}
    assert alipay_sim.gateway().query(trade().out_trade_no).status == "closed"


@pytest.mark.parametrize("fault", ["timeout_before", "http500"])
def test_no_answer_before_the_charge_is_unknown_and_the_query_finds_nothing_charged(alipay_sim, fault):
    alipay_sim.sim.faults.pay = fault
    gateway = alipay_sim.gateway()
    reply = gateway.pay(trade())
    assert reply.status == "unknown", reply
    assert reply.code == ("TIMEOUT" if fault == "timeout_before" else "HTTP_500")
    # Right after its own unanswered pay, "no such trade" may mean "not created yet": unknown.
    soon = gateway.query(trade().out_trade_no)
    assert (soon.status, soon.code) == ("unknown", "ACQ.TRADE_NOT_EXIST")
    # A gateway that sent no pay for it (a till restarted after a crash): nothing was charged.
    later = alipay_sim.gateway().query(trade().out_trade_no)
    assert (later.status, later.code) == ("closed", "ACQ.TRADE_NOT_EXIST")
    assert alipay_sim.charged() == {}


def test_no_such_trade_is_closed_once_the_grace_after_the_pay_is_over(alipay_sim):
    alipay_sim.sim.faults.pay = "http500"
    gateway = alipay_sim.gateway()
    assert gateway.pay(trade()).status == "unknown"
    gateway.not_exist_grace = 0.0
    assert gateway.query(trade().out_trade_no).status == "closed"


@pytest.mark.parametrize("fault", ["timeout_after", "drop_after"])
def test_a_reply_lost_after_the_charge_is_unknown_and_the_query_tells_the_truth(alipay_sim, fault):
    alipay_sim.sim.faults.pay = fault
    gateway = alipay_sim.gateway()
    reply = gateway.pay(trade())
    assert reply.status == "unknown", reply
    assert reply.code == ("TIMEOUT" if fault == "timeout_after" else "REMOTEDISCONNECTED")
    queried = gateway.query(trade().out_trade_no)
    assert (queried.status, queried.amount) == ("paid", 1234) and queried.transaction_id
    assert alipay_sim.charged() == {trade().out_trade_no: 1234}
    # Asking again with the same trade number charges nothing more: Alipay says it is paid already.
    alipay_sim.sim.faults.pay = "success"
    again = gateway.pay(trade())
    assert (again.status, again.code) == ("unknown", "ACQ.TRADE_HAS_SUCCESS")
    assert alipay_sim.charged() == {trade().out_trade_no: 1234}


@pytest.mark.parametrize("fault, code", [("http500", "HTTP_500"), ("drop", "REMOTEDISCONNECTED"),
                                         ("timeout", "TIMEOUT")])
def test_a_query_that_meets_the_network_is_unknown(alipay_sim, fault, code):
    gateway = alipay_sim.gateway()
    assert gateway.pay(trade()).status == "paid"
    alipay_sim.sim.faults.query = fault
    reply = gateway.query(trade().out_trade_no)
    assert (reply.status, reply.code) == ("unknown", code)
    alipay_sim.sim.faults.query = "ok"
    assert gateway.query(trade().out_trade_no).status == "paid"


def test_a_system_error_is_unknown(alipay_sim):
    alipay_sim.sim.faults.pay, alipay_sim.sim.faults.fail_code = "fail", "ACQ.SYSTEM_ERROR"
    reply = alipay_sim.gateway().pay(trade())
    assert (reply.status, reply.code) == ("unknown", "ACQ.SYSTEM_ERROR")


def test_a_reply_whose_signature_does_not_verify_is_unknown(alipay_sim):
    alipay_sim.bad_signature = True
    gateway = alipay_sim.gateway()
    reply = gateway.pay(trade())
    assert (reply.status, reply.code) == ("unknown", "BAD_SIGNATURE")
    assert gateway.query(trade().out_trade_no).status == "unknown"
    alipay_sim.bad_signature = False  # the charge behind the forged reply is found by a true one
    assert gateway.query(trade().out_trade_no).status == "paid"


def test_a_reply_without_a_signature_is_unknown_whatever_it_says(alipay_sim):
    alipay_sim.unsigned = True
    alipay_sim.sim.faults.pay = "fail"  # "refused", unsigned: it cannot be taken as Alipay's word
    reply = alipay_sim.gateway().pay(trade())
    assert (reply.status, reply.code) == ("unknown", "40004")


def test_a_request_signed_with_another_key_is_refused_by_alipay_and_charges_nothing(alipay_sim):
    from payments.simulator import Keys

    gateway = alipay_sim.gateway(private_key=Keys.new().merchant_private)
    reply = gateway.pay(trade())
    assert (reply.status, reply.code) == ("failed", "isv.invalid-signature")
    assert alipay_sim.charged() == {}
    assert gateway.query(trade().out_trade_no).status == "unknown"


def test_keys_that_are_no_keys_fail_the_pay_without_sending_it(alipay_sim):
    gateway = alipay_sim.gateway(private_key="not a key")
    reply = gateway.pay(trade())
    assert (reply.status, reply.code) == ("failed", "KEYS")
    assert gateway.query(trade().out_trade_no).status == "unknown"
    assert alipay_sim.requests == []


def test_keys_as_alipays_console_shows_them_bare_base64_work(alipay_sim):
    def bare(pem: str) -> str:
        return "".join(line for line in pem.splitlines() if not line.startswith("-----"))

    gateway = alipay_sim.gateway(private_key=bare(alipay_sim.keys.merchant_private),
                                 alipay_public_key=bare(alipay_sim.keys.provider_public))
    assert gateway.pay(trade()).status == "paid"


# -- cancel -----------------------------------------------------------------------------------
def test_a_cancel_while_the_customer_confirms_is_refused_with_retry(alipay_sim):
    faults = alipay_sim.sim.faults
    faults.pay, faults.paying_for = "userpaying", 30.0
    gateway = alipay_sim.gateway()
    assert gateway.pay(trade()).status == "paying"
    reply = gateway.cancel(trade().out_trade_no)
    assert (reply.status, reply.retry) == ("unknown", True)
    assert gateway.query(trade().out_trade_no).status == "paying"


def test_a_cancel_of_a_waiting_trade_closes_it_when_alipay_allows(alipay_sim):
    faults = alipay_sim.sim.faults
    faults.pay, faults.paying_for, faults.cancel_refused_while_paying = "userpaying", 30.0, False
    gateway = alipay_sim.gateway()
    assert gateway.pay(trade()).status == "paying"
    reply = gateway.cancel(trade().out_trade_no)
    assert (reply.status, reply.code, reply.retry) == ("closed", "CLOSE", False)
    assert gateway.query(trade().out_trade_no).status == "closed"
    assert alipay_sim.charged() == {}


def test_a_cancel_after_the_charge_closes_the_trade_and_returns_the_money(alipay_sim):
    alipay_sim.sim.faults.pay = "timeout_after"
    gateway = alipay_sim.gateway()
    assert gateway.pay(trade()).status == "unknown"
    assert alipay_sim.charged() == {trade().out_trade_no: 1234}
    reply = gateway.cancel(trade().out_trade_no)
    assert (reply.status, reply.code) == ("closed", "REFUND") and reply.transaction_id
    assert alipay_sim.charged() == {}
    assert gateway.query(trade().out_trade_no).status == "closed"
    alipay_sim.sim.faults.pay = "success"  # the same trade number can never charge again
    assert (gateway.pay(trade()).status, alipay_sim.charged()) == ("closed", {})


def test_a_cancel_of_a_trade_alipay_never_saw_is_closed(alipay_sim):
    reply = alipay_sim.gateway().cancel(trade().out_trade_no)
    assert (reply.status, reply.code) == ("closed", "CLOSE")


def test_a_cancel_that_meets_the_network_is_unknown(alipay_sim):
    gateway = alipay_sim.gateway()
    assert gateway.pay(trade()).status == "paid"
    alipay_sim.sim.faults.query = "http500"
    reply = gateway.cancel(trade().out_trade_no)
    assert (reply.status, reply.retry) == ("unknown", True)  # Alipay: no answer, send the cancel again
    assert alipay_sim.charged() == {trade().out_trade_no: 1234}
    alipay_sim.sim.faults.query = "ok"
    assert (gateway.cancel(trade().out_trade_no).status, alipay_sim.charged()) == ("closed", {})


# -- refund -----------------------------------------------------------------------------------
def test_a_refund_asked_twice_with_the_same_number_refunds_once(alipay_sim):
    gateway = alipay_sim.gateway()
    assert gateway.pay(trade()).status == "paid"
    no, refund_no = trade().out_trade_no, out_refund_no(REFUND, 1)
    first = gateway.refund(no, refund_no, 500, 1234, "damaged")
    assert (first.status, first.amount) == ("refunded", 500) and first.transaction_id
    sent = json.loads(alipay_sim.requests[-1]["biz_content"])
    assert (sent["refund_amount"], sent["out_request_no"]) == ("5.00", refund_no)
    # The same refund again moves no money: Alipay says so (fund_change N), the refund query says refunded.
    again = gateway.refund(no, refund_no, 500, 1234, "damaged")
    assert again.status == "paying"
    assert alipay_sim.charged() == {no: 734}
    looked = gateway.query_refund(no, refund_no)
    assert (looked.status, looked.amount) == ("refunded", 500)


def test_a_refund_of_more_than_is_left_fails_and_a_refund_alipay_never_saw_is_not_found(alipay_sim):
    gateway = alipay_sim.gateway()
    assert gateway.pay(trade()).status == "paid"
    no = trade().out_trade_no
    too_much = gateway.refund(no, out_refund_no(REFUND, 1), 2000, 1234, "")
    assert (too_much.status, too_much.code) == ("failed", "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL")
    assert gateway.query_refund(no, out_refund_no(REFUND, 1)).status == "failed"
    assert gateway.query_refund(trade(2).out_trade_no, out_refund_no(REFUND, 1)).code == "ACQ.TRADE_NOT_EXIST"
    assert alipay_sim.charged() == {no: 1234}


def test_a_trade_refunded_in_full_is_closed(alipay_sim):
    gateway = alipay_sim.gateway()
    assert gateway.pay(trade()).status == "paid"
    assert gateway.refund(trade().out_trade_no, out_refund_no(REFUND, 1), 1234, 1234, "").status == "refunded"
    assert gateway.query(trade().out_trade_no).status == "closed"
    assert alipay_sim.charged() == {trade().out_trade_no: 0}


@pytest.mark.parametrize("fault", ["http500", "drop", "timeout"])
def test_a_refund_that_meets_the_network_is_unknown_and_the_refund_query_tells(alipay_sim, fault):
    gateway = alipay_sim.gateway()
    assert gateway.pay(trade()).status == "paid"
    alipay_sim.sim.faults.refund = fault
    no, refund_no = trade().out_trade_no, out_refund_no(REFUND, 1)
    assert gateway.refund(no, refund_no, 500, 1234, "").status == "unknown"
    assert gateway.query_refund(no, refund_no).status == "unknown"
    alipay_sim.sim.faults.refund = "ok"
    assert gateway.query_refund(no, refund_no).status == "failed"  # it never arrived: send it again
    assert gateway.refund(no, refund_no, 500, 1234, "").status == "refunded"
    assert alipay_sim.charged() == {no: 734}


def test_a_refund_still_processing_is_paying_until_the_refund_query_says_refunded(alipay_sim):
    gateway = alipay_sim.gateway()
    assert gateway.pay(trade()).status == "paid"
    alipay_sim.sim.faults.refund = "processing"
    no, refund_no = trade().out_trade_no, out_refund_no(REFUND, 1)
    assert gateway.refund(no, refund_no, 500, 1234, "").status == "paying"
    assert gateway.query_refund(no, refund_no).status == "refunded"


# -- online, secrets, import ------------------------------------------------------------------
def test_online_is_a_connect_to_the_gateway_and_false_when_nothing_listens(alipay_sim):
    assert alipay_sim.gateway().online() is True
    dead = alipay_sim.gateway(gateway=f"http://127.0.0.1:{free_port()}/gateway.do")
    assert dead.online() is False
    assert alipay_sim.requests == []  # a connect, no request
    reply = dead.pay(trade())
    assert (reply.status, reply.code) == ("unknown", "URLERROR")


def test_the_customers_code_and_the_keys_are_never_in_a_log_nor_a_reply(alipay_sim, caplog):
    faults = alipay_sim.sim.faults
    faults.pay, faults.fail_code, faults.fail_reason = "fail", "ACQ.PAYMENT_AUTH_CODE_INVALID", f"{CODE} 已过期"
    gateway = alipay_sim.gateway()
    with caplog.at_level(logging.DEBUG):
        reply = gateway.pay(trade())
        alipay_sim.sim.faults.pay = "drop_after"
        gateway.pay(trade(2))
    assert reply.status == "failed" and CODE not in reply.reason and "2845" in reply.reason
    assert caplog.records and CODE not in caplog.text and "2845**********6789" in caplog.text
    key_body = alipay_sim.keys.merchant_private.splitlines()[1]
    assert key_body not in caplog.text and key_body not in repr(gateway)


def test_amounts_are_fen_in_the_till_and_yuan_strings_at_alipay():
    assert [to_yuan(n) for n in (1, 10, 1234, 100000)] == ["0.01", "0.10", "12.34", "1000.00"]
    assert [to_fen(s) for s in ("0.01", "0.1", "12.34", "1000")] == [1, 10, 1234, 100000]
    assert to_fen(None) is None and to_fen("twelve") is None


def test_importing_the_adapter_does_not_import_the_sdk_until_it_is_used_nor_touch_the_logging(alipay_keys):
    script = f"""
import logging, os, sys
import tui_pos.payments.alipay as module
closed = []
class Handler(logging.Handler):
    def emit(self, record): pass
    def close(self):
        closed.append(self); super().close()
logging.getLogger("tui_pos").addHandler(Handler())
gateway = module.AlipayGateway(app_id="1", private_key=os.environ["APP_PRIVATE"],
                               alipay_public_key=os.environ["ALIPAY_PUBLIC"],
                               gateway="http://127.0.0.1:{free_port()}/gateway.do")
assert "alipay" not in sys.modules and "Cryptodome" not in sys.modules, "imported too soon"
assert gateway.query("P1").code == "URLERROR"
assert "alipay" in sys.modules
assert closed == [], "the SDK's import closed the process's log handlers"
assert logging.getLogger("python-alipay-sdk").handlers == []
"""
    env = {**os.environ, "APP_PRIVATE": alipay_keys.merchant_private, "ALIPAY_PUBLIC": alipay_keys.provider_public}
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, env=env)
    assert proc.returncode == 0, proc.stderr
