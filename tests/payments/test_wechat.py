"""WeChatGateway against the WeChat Pay simulator, through the real wechatpayv3 SDK: every answer
WeChat gives is read into the right GatewayReply, and no fault charges a customer twice."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from conftest import COLA, till_at
from payments.paying import WECHAT_CODE, until_done, wire
from payments.simulator import Clock
from tui_pos.domain.errors import CodePaymentRefused
from tui_pos.domain.payments import Trade, mask_code, out_refund_no, out_trade_no
from tui_pos.payments.wechat import WeChatGateway, _cancel_reply, _pay_reply, _query_reply, _refund_reply

CODE = WECHAT_CODE
SALE = "0b9f2c1e-5d4a-4f7e-9a63-2f1d8c7b6e5a"
NO = out_trade_no(SALE, 1)


def trade(amount: int = 350, no: str = NO) -> Trade:
    return Trade(out_trade_no=no, amount=amount, subject="tui-pos 便利店", code=CODE, till_id="T1")


def test_success_is_paid_with_the_transaction_id(wechat_sim):
    reply = wechat_sim.gateway().pay(trade())
    assert (reply.status, reply.amount, reply.code) == ("paid", 350, "SUCCESS")
    assert reply.transaction_id == wechat_sim.sim.engine.trades[NO].transaction_id != ""
    assert wechat_sim.sim.charged() == {NO: 350}
    assert wechat_sim.gateway().query(NO).status == "paid"


def test_the_same_trade_asked_twice_charges_once(wechat_sim):
    gateway = wechat_sim.gateway()
    assert gateway.pay(trade()).status == gateway.pay(trade()).status == "paid"
    assert wechat_sim.sim.charged() == {NO: 350}


@pytest.fixture
def clock(wechat_sim):
    wechat_sim.sim.engine.clock = clock = Clock()
    return clock


def test_userpaying_then_paid_by_query(wechat_sim, clock):
    wechat_sim.sim.faults.pay, wechat_sim.sim.faults.paying_for = "userpaying", 10
    gateway = wechat_sim.gateway()
    reply = gateway.pay(trade())
    assert (reply.status, reply.code) == ("paying", "USERPAYING")
    assert gateway.query(NO).status == "paying"
    assert wechat_sim.sim.charged() == {}
    clock.now += 10
    paid = gateway.query(NO)
    assert (paid.status, paid.amount) == ("paid", 350) and paid.transaction_id
    assert wechat_sim.sim.charged() == {NO: 350}


def test_userpaying_then_the_customer_fails(wechat_sim):
    faults = wechat_sim.sim.faults
    faults.pay, faults.then = "userpaying", "fail"
    gateway = wechat_sim.gateway()
    assert gateway.pay(trade()).status == "paying"
    reply = gateway.query(NO)
    assert (reply.status, reply.code) == ("failed", "PAYERROR")
    assert wechat_sim.sim.charged() == {}


@pytest.mark.parametrize(("fail_code", "reason"), [
    ("PAYMENT_AUTH_CODE_INVALID", "the payment code has expired"),  # the shared default reads as AUTH_CODE_INVALID
    ("NOTENOUGH", "余额不足"),
    ("AUTHCODEEXPIRE", "付款码已过期，请刷新再试"),
])
def test_a_refused_code_is_failed_with_wechats_reason(wechat_sim, fail_code, reason):
    faults = wechat_sim.sim.faults
    faults.pay, faults.fail_code, faults.fail_reason = "fail", fail_code, reason
    reply = wechat_sim.gateway().pay(trade())
    assert reply.status == "failed"
    assert reply.reason == reason
    assert reply.code == {"PAYMENT_AUTH_CODE_INVALID": "AUTH_CODE_INVALID"}.get(fail_code, fail_code)
    assert wechat_sim.sim.charged() == {}


@pytest.mark.parametrize(("fault", "truth"), [
    ("timeout_before", "unknown"),  # nothing reached WeChat: ORDER_NOT_EXIST, not yet final
    ("http500", "unknown"),
    ("timeout_after", "paid"),
    ("drop_after", "paid"),
])
def test_a_fault_is_unknown_and_the_query_tells_the_truth(wechat_sim, fault, truth):
    wechat_sim.sim.faults.pay = fault
    gateway = wechat_sim.gateway()
    gateway.not_exist_grace = 3600.0  # real seconds: however slow this machine is
    reply = gateway.pay(trade())
    assert reply.status == "unknown"
    assert reply.code == {"timeout_before": "TIMEOUT", "timeout_after": "TIMEOUT", "http500": "SYSTEM_ERROR",
                          "drop_after": "NETWORK"}[fault]
    asked = gateway.query(NO)
    assert asked.status == truth
    if truth == "paid":
        assert asked.amount == 350 and asked.transaction_id
        assert wechat_sim.sim.charged() == {NO: 350}
        wechat_sim.sim.faults.pay = "success"
        assert gateway.pay(trade()).status == "paid"  # asked again: the same trade, not a second charge
        assert wechat_sim.sim.charged() == {NO: 350}
    else:  # WeChat has no such trade: not yet (the request may still arrive), then closed
        assert (asked.status, asked.code) == ("unknown", "ORDER_NOT_EXIST")
        assert wechat_sim.gateway().query(NO).status == "closed"  # another process never sent it
        gateway.not_exist_grace = 0.0  # the grace after the unanswered pay is over
        assert (gateway.query(NO).status, gateway.query(NO).code) == ("closed", "ORDER_NOT_EXIST")
        assert wechat_sim.sim.charged() == {}


@pytest.mark.parametrize("fault", ["http500", "drop", "timeout"])
def test_a_query_that_gets_no_answer_is_unknown(wechat_sim, fault):
    gateway = wechat_sim.gateway()
    gateway.pay(trade())
    wechat_sim.sim.faults.query = fault
    assert gateway.query(NO).status == "unknown"
    wechat_sim.sim.faults.query = "ok"
    assert gateway.query(NO).status == "paid"


def test_a_lying_query_says_paying_until_it_knows(wechat_sim):
    wechat_sim.sim.faults.query_lies_for = 60
    gateway = wechat_sim.gateway()
    assert gateway.pay(trade()).status == "paid"
    assert gateway.query(NO).status == "paying"


def test_a_reply_with_a_broken_signature_is_unknown(wechat_sim):
    wechat_sim.break_signature = True
    gateway = wechat_sim.gateway()
    reply = gateway.pay(trade())
    assert (reply.status, reply.code) == ("unknown", "BAD_SIGNATURE")
    assert gateway.query(NO).status == "unknown"  # the query's reply is no better
    wechat_sim.break_signature = False
    assert gateway.query(NO).status == "paid"  # the charge happened: only a query with a good signature says so


def test_a_reply_without_a_signature_is_unknown_whatever_it_says(wechat_sim):
    wechat_sim.unsigned = True
    gateway = wechat_sim.gateway()
    assert gateway.pay(trade()).status == "unknown"
    assert (gateway.query(NO).status, gateway.query(NO).code) == ("unknown", "BAD_SIGNATURE")
    wechat_sim.unsigned = False
    assert gateway.query(NO).status == "paid"


def test_replies_signed_with_another_platform_key_are_unknown(wechat_sim):
    from payments.simulator import rsa_pair

    gateway = wechat_sim.gateway(public_key=rsa_pair()[1])
    assert gateway.pay(trade()).status == "unknown"


def test_a_request_signed_with_another_merchant_key_is_refused(wechat_sim):
    from payments.simulator import rsa_pair

    reply = wechat_sim.gateway(private_key=rsa_pair()[0]).pay(trade())
    assert (reply.status, reply.code) == ("failed", "SIGN_ERROR")
    assert wechat_sim.sim.charged() == {}


def test_settings_read_from_key_files_may_end_in_a_newline(wechat_sim):
    settings = {name: value + "\n" if name not in ("gateway", "timeout") else value
                for name, value in wechat_sim.settings.items()}
    assert WeChatGateway(**settings).pay(trade()).status == "paid"


def test_unusable_settings_charge_nothing_and_raise_nothing(wechat_sim):
    gateway = wechat_sim.gateway(private_key="not a key")
    assert gateway.pay(trade()).status == "failed"
    assert gateway.query(NO).status == "unknown"
    assert "not a key" not in repr(gateway) and "PRIVATE" not in repr(wechat_sim.gateway())


def test_reverse_while_the_customer_confirms_is_refused_then_closes(wechat_sim, clock):
    faults = wechat_sim.sim.faults
    faults.pay, faults.paying_for = "userpaying", 10
    gateway = wechat_sim.gateway()
    assert gateway.pay(trade()).status == "paying"
    refused = gateway.cancel(NO)
    assert (refused.status, refused.code, refused.retry) == ("paying", "USERPAYING", True)
    clock.now += 10  # the customer confirmed: charged
    assert wechat_sim.sim.charged() == {NO: 350}
    done = gateway.cancel(NO)
    assert (done.status, done.retry) == ("closed", False)
    assert wechat_sim.sim.charged() == {}  # the charge went back
    reply = gateway.query(NO)
    assert (reply.status, reply.code) == ("closed", "REVOKED")
    faults.pay = "success"
    assert gateway.pay(trade()).status == "closed"  # a reversed trade number never charges again
    assert wechat_sim.sim.charged() == {}


def test_reverse_of_a_trade_wechat_never_saw_is_closed(wechat_sim):
    assert wechat_sim.gateway().cancel(NO).status == "closed"


@pytest.mark.parametrize("fault", ["http500", "drop", "timeout"])
def test_reverse_without_an_answer_asks_to_be_sent_again(wechat_sim, fault):
    gateway = wechat_sim.gateway()
    gateway.pay(trade())
    wechat_sim.sim.faults.query = fault
    reply = gateway.cancel(NO)
    assert (reply.status, reply.retry) == ("unknown", True)
    wechat_sim.sim.faults.query = "ok"
    assert gateway.cancel(NO).status == "closed"
    assert wechat_sim.sim.charged() == {}


def test_refund_the_same_out_refund_no_twice_refunds_once(wechat_sim):
    gateway = wechat_sim.gateway()
    gateway.pay(trade(1000))
    refund_no = out_refund_no("7c1d2e3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f", 1)
    first = gateway.refund(NO, refund_no, 400, 1000, "退货")
    assert (first.status, first.amount, first.code) == ("refunded", 400, "SUCCESS") and first.transaction_id
    again = gateway.refund(NO, refund_no, 400, 1000, "退货")
    assert (again.status, again.transaction_id) == ("refunded", first.transaction_id)
    assert wechat_sim.sim.charged() == {NO: 600}
    asked = gateway.query_refund(NO, refund_no)
    assert (asked.status, asked.amount, asked.transaction_id) == ("refunded", 400, first.transaction_id)


def test_refund_processing_then_refunded_by_query(wechat_sim):
    gateway = wechat_sim.gateway()
    gateway.pay(trade())
    wechat_sim.sim.faults.refund = "processing"
    refund_no = out_refund_no(SALE, 1)
    reply = gateway.refund(NO, refund_no, 350, 350, "")
    assert (reply.status, reply.code) == ("paying", "PROCESSING")
    assert gateway.query_refund(NO, refund_no).status == "refunded"


@pytest.mark.parametrize("fault", ["http500", "drop", "timeout"])
def test_refund_without_an_answer_is_unknown_and_the_query_tells(wechat_sim, fault):
    gateway = wechat_sim.gateway()
    gateway.pay(trade())
    gateway.not_exist_grace = 3600.0
    wechat_sim.sim.faults.refund = fault
    refund_no = out_refund_no(SALE, 1)
    assert gateway.refund(NO, refund_no, 100, 350, "").status == "unknown"
    reply = gateway.query_refund(NO, refund_no)  # the fault met the refund before WeChat acted...
    assert (reply.status, reply.code) == ("unknown", "RESOURCE_NOT_EXISTS")  # ...but it might still land
    gateway.not_exist_grace = 0.0
    reply = gateway.query_refund(NO, refund_no)
    assert (reply.status, reply.code) == ("failed", "RESOURCE_NOT_EXISTS")
    gateway.not_exist_grace = 60.0
    wechat_sim.sim.faults.refund = "ok"
    assert gateway.refund(NO, refund_no, 100, 350, "").status == "refunded"
    assert wechat_sim.sim.charged() == {NO: 250}


def test_refund_refused(wechat_sim):
    gateway = wechat_sim.gateway()
    refund_no = out_refund_no(SALE, 1)
    assert gateway.refund(NO, refund_no, 100, 350, "").status == "failed"  # no such trade
    gateway.pay(trade())
    too_much = gateway.refund(NO, refund_no, 351, 350, "")
    assert (too_much.status, too_much.code) == ("failed", "INVALID_REQUEST")
    assert wechat_sim.sim.charged() == {NO: 350}


def test_online_is_a_connect_to_the_gateway(wechat_sim):
    assert wechat_sim.gateway().online()
    with socket.socket() as free:  # a port nothing listens on
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    assert not wechat_sim.gateway(gateway=f"http://127.0.0.1:{port}").online()
    assert not wechat_sim.gateway(gateway=f"http://:{wechat_sim.sim.server.server_address[1]}").online(), \
        "no host is not online (a connect to '' would reach this machine)"
    assert wechat_sim.sim.engine.requests == []  # no request was sent


def test_nothing_listening_is_unknown_not_an_exception(wechat_sim):
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    gateway = wechat_sim.gateway(gateway=f"http://127.0.0.1:{port}")
    for reply in (gateway.pay(trade()), gateway.query(NO), gateway.cancel(NO),
                  gateway.refund(NO, out_refund_no(SALE, 1), 1, 350, ""), gateway.query_refund(NO, "R1")):
        assert (reply.status, reply.code) == ("unknown", "NETWORK")


def test_the_code_never_reaches_a_log(wechat_sim, caplog):
    caplog.set_level("DEBUG")
    gateway = wechat_sim.gateway()
    gateway.pay(trade())
    gateway.query(NO)
    assert CODE not in caplog.text
    assert f"pay {NO} {mask_code(CODE)} 350: paid SUCCESS" in caplog.text  # logged, masked
    assert wechat_sim.sim.engine.trades[NO].code == CODE  # it did reach WeChat


def test_a_refusal_that_echoes_the_code_keeps_it_masked(wechat_sim):
    """A refusal's reason is stored with the payment's outcome: the code WeChat echoed is masked."""
    wechat_sim.sim.faults.pay, wechat_sim.sim.faults.fail_reason = "fail", f"付款码 {CODE} 已过期"
    reply = wechat_sim.gateway().pay(trade())
    assert reply.status == "failed" and CODE not in reply.reason and mask_code(CODE) in reply.reason


# What the simulator never says, read as WeChat would say it (the readers are pure: status, body).
@pytest.mark.parametrize(("read", "status", "body", "expected"), [
    (_pay_reply, 200, {"out_trade_no": NO, "trade_state": "USERPAYING"}, ("paying", "USERPAYING")),
    (_pay_reply, 403, {"code": "BANKERROR", "message": "银行系统异常"}, ("unknown", "BANKERROR")),
    (_pay_reply, 403, {"code": "ORDERPAID", "message": "订单已支付"}, ("unknown", "ORDERPAID")),
    (_pay_reply, 400, {"code": "INVALID_REQUEST", "message": "商户订单号重复"}, ("unknown", "INVALID_REQUEST")),
    (_pay_reply, 429, {"code": "FREQUENCY_LIMITED", "message": "频率超限"}, ("unknown", "FREQUENCY_LIMITED")),
    (_pay_reply, 403, {"code": "SOMETHING_NEW", "message": "?"}, ("unknown", "SOMETHING_NEW")),
    (_pay_reply, 404, {"code": "ORDERNOTEXIST", "message": "订单不存在"}, ("failed", "ORDERNOTEXIST")),
    (_pay_reply, 502, {}, ("unknown", "HTTP_502")),
    (_pay_reply, 200, {"out_trade_no": "P-another", "trade_state": "SUCCESS"}, ("unknown", "MISMATCH")),
    (_query_reply, 200, {"out_trade_no": NO, "trade_state": "NOTPAY"}, ("paying", "NOTPAY")),
    (_query_reply, 200, {"out_trade_no": NO, "trade_state": "CLOSED"}, ("closed", "CLOSED")),
    (_query_reply, 200, {"out_trade_no": NO, "trade_state": "WHATEVER"}, ("unknown", "WHATEVER")),
    (_query_reply, 200, {"out_trade_no": NO, "trade_state": "SUCCESS", "transaction_id": "42",
                         "amount": {"total": 350}}, ("paid", "SUCCESS")),
    (_query_reply, 429, {"code": "FREQUENCY_LIMITED"}, ("unknown", "FREQUENCY_LIMITED")),
    (_cancel_reply, 204, {}, ("closed", "REVERSED")),
    (_cancel_reply, 403, {"code": "REVERSE_EXPIRED", "message": "订单已过撤销期限"}, ("failed", "REVERSE_EXPIRED")),
    (_cancel_reply, 403, {"code": "BANKERROR"}, ("unknown", "BANKERROR")),
    (_refund_reply, 200, {"status": "ABNORMAL", "refund_id": "50"}, ("failed", "ABNORMAL")),
    (_refund_reply, 200, {"status": "CLOSED", "refund_id": "50"}, ("failed", "CLOSED")),
    (_refund_reply, 403, {"code": "NOT_ENOUGH", "message": "基本账户余额不足"}, ("failed", "NOT_ENOUGH")),
    (_refund_reply, 429, {"code": "FREQUENCY_LIMITED"}, ("unknown", "FREQUENCY_LIMITED")),
])
def test_answers_the_simulator_does_not_give(read, status, body, expected):
    reply = read(status, body, NO) if read in (_pay_reply, _query_reply) else read(status, body)
    assert (reply.status, reply.code) == expected
    if read is _cancel_reply and expected[0] == "unknown":
        assert reply.retry


def test_the_sdk_is_imported_on_first_use_only():
    script = ("import sys\n"
              "from tui_pos.payments.wechat import WeChatGateway\n"
              "assert 'wechatpayv3' not in sys.modules and 'requests' not in sys.modules, 'imported early'\n"
              "g = WeChatGateway(mchid='1', appid='a', private_key='k', cert_serial_no='s', apiv3_key='v',\n"
              "                  public_key='p', public_key_id='PUB_KEY_ID_1', gateway='http://127.0.0.1:9')\n"
              "assert 'wechatpayv3' not in sys.modules, 'imported by the constructor'\n"
              "g.query('P1')\n"
              "assert 'wechatpayv3' in sys.modules\n")
    subprocess.run([sys.executable, "-c", script], check=True)


def test_wechat_gateway_is_a_code_gateway(wechat_sim):
    from tui_pos.app.ports import CodeGateway

    gateway: CodeGateway = wechat_sim.gateway()
    assert isinstance(gateway, WeChatGateway) and gateway.provider == "wechat"


# -- the till's code payments (app/payments.py and its plan) through this adapter and the simulator --------------------

@pytest.fixture
def wechat_till(till, wechat_sim):
    """The test shop's till paying through WeChatGateway at the simulator, time shared and moved by sleeps."""
    wechat_sim.sim.engine.clock = wire(till, wechat_sim.gateway()).monotonic  # the till's waiting and WeChat's clock as one
    return till


def charge_through(till, code: str = CODE):
    till.scan(COLA)
    return until_done(till, till.payments.start(code))


def test_the_till_is_paid_and_completes_the_sale(wechat_till, wechat_sim):
    charge = charge_through(wechat_till)
    assert charge.state == "paid"
    [tender] = wechat_till.cart.tenders
    assert (tender.kind, tender.amount, tender.reference) == ("mobile", 350, charge.transaction_id)
    sale = wechat_till.pay().sale
    assert wechat_sim.sim.charged() == {out_trade_no(sale.uuid, 1): 350}


def test_the_till_waits_while_the_customer_confirms(wechat_till, wechat_sim):
    wechat_sim.sim.faults.pay, wechat_sim.sim.faults.paying_for = "userpaying", 20
    charge = charge_through(wechat_till)
    assert charge.state == "paid"
    assert [op for op, _ in wechat_sim.sim.engine.requests].count("cancel") == 0
    assert sum(wechat_sim.sim.charged().values()) == 350


@pytest.mark.parametrize("fault", ["timeout_after", "drop_after"])
def test_the_till_finds_a_charge_whose_reply_was_lost_and_keeps_it_once(wechat_till, wechat_sim, fault):
    wechat_sim.sim.faults.pay = fault
    charge = charge_through(wechat_till)
    assert charge.state == "paid"
    assert [t.amount for t in wechat_till.cart.tenders] == [350]
    assert list(wechat_sim.sim.charged().values()) == [350]


@pytest.mark.parametrize("fault", ["timeout_before", "http500"])
def test_the_till_reverses_a_trade_wechat_never_saw_and_charges_nothing(wechat_till, wechat_sim, fault):
    wechat_sim.sim.faults.pay = fault
    wechat_till.payments.gateway("wechat").not_exist_grace = 3600.0  # real seconds: however slow this machine is
    charge = charge_through(wechat_till)
    assert charge.state == "cancelled"
    ops = [op for op, _ in wechat_sim.sim.engine.requests]
    assert ops[-1] == "cancel" and set(ops[:-1]) == {"query"}  # "no such trade" is not final so soon: reversed
    assert wechat_till.cart.tenders == ()
    assert wechat_sim.sim.charged() == {}
    assert not wechat_till.payments.unresolved()


@pytest.fixture
def wechat_manager_till(shop_dir, wechat_sim):
    """A manager's till (refunds need one) paying through WeChatGateway at the simulator."""
    till = till_at(shop_dir, "manager", "9999")
    wechat_sim.sim.engine.clock = wire(till, wechat_sim.gateway()).monotonic  # the till's waiting and WeChat's clock as one
    yield till
    till.close()


def test_the_till_refunds_a_code_paid_sale_through_wechat(wechat_manager_till, wechat_sim):
    till = wechat_manager_till
    charge = charge_through(till)
    sale = till.pay().sale
    refund = till.refund(sale.receipt, {1: 1}, "Damaged").sale
    assert [(t.kind, t.amount, t.reference) for t in refund.tenders] == [("mobile", -350, charge.transaction_id)]
    assert wechat_sim.sim.charged() == {out_trade_no(sale.uuid, 1): 0}
    [trade_] = wechat_sim.sim.engine.trades.values()
    assert list(trade_.refunded) == [out_refund_no(refund.uuid, 1)]


def test_a_refund_whose_request_got_no_answer_is_not_called_refused_so_soon(wechat_manager_till, wechat_sim):
    till = wechat_manager_till
    charge_through(till)
    sale = till.pay().sale
    till.payments.gateway("wechat").not_exist_grace = 3600.0  # real seconds: however slow this machine is
    wechat_sim.sim.faults.refund = "timeout"
    with pytest.raises(CodePaymentRefused, match="not confirmed"):  # not "refused: refund in cash"
        till.refund(sale.receipt, {1: 1}, "Damaged")
    wechat_sim.sim.faults.refund = "ok"
    with pytest.raises(CodePaymentRefused, match="not confirmed"):  # asked again: WeChat has none, not yet final
        till.refund(sale.receipt, {1: 1}, "Damaged")
    till.payments.gateway("wechat").not_exist_grace = 0.0  # long after: no such refund is the truth, so the
    refund = till.refund(sale.receipt, {1: 1}, "Damaged").sale  # refund is sent now, under the same number
    assert refund.total == -350
    assert wechat_sim.sim.charged() == {out_trade_no(sale.uuid, 1): 0}  # given back once
    ops = [op for op, _ in wechat_sim.sim.engine.requests]
    assert ops.count("refund") == 1 and "query_refund" in ops  # the lost request never reached the money
