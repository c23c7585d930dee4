"""An Alipay open-platform gateway on loopback, for the tests: it speaks Alipay's wire format well
enough that python-alipay-sdk talks to it unmodified, and keeps the money in simulator.Engine.

Requests: the gateway path (/gateway.do) with the public parameters (app_id, method, charset,
sign_type, timestamp, version, biz_content) and sign, in the query string (the SDK's way: urlopen
of gateway?params) or as a form POST body (both are Alipay's); sign is RSA2 (SHA256withRSA) over
the parameters but sign, sorted, `k=v` joined by `&`, verified with the app's public key: a bad
one gets Alipay's 40002 isv.invalid-signature. Replies: JSON
`{"alipay_trade_pay_response": {...}, "sign": "..."}`, sign over the exact text of the inner
object with the simulator's "Alipay" private key (the SDK verifies it with Alipay's public key).
The keys (the app's: keys.merchant_*, Alipay's: keys.provider_*), the signatures and what every
simulator offers (settings, gateway(), charged(), close()) are simulator.py's.

    alipay_sim.sim.faults.pay = "userpaying"      # the shared knobs (simulator.Faults)
    alipay_sim.bad_signature = True               # replies whose signature does not verify
    alipay_sim.unsigned = True                    # replies with no signature at all
    gw = alipay_sim.gateway()                     # a real AlipayGateway pointed here (1.5 s timeout)
    alipay_sim.settings                           # its constructor kwargs (for config.toml)

pay goes through Simulator.charge (faults.pay), query and cancel through Simulator.network
(faults.query), refund and its query through Simulator.network (faults.refund).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from payments import simulator
from payments.simulator import Drop, Faults, Hang, Keys, ProviderSim, Reply, Simulator, TradeRecord
from tui_pos.payments.alipay import AlipayGateway

GATEWAY_PATH = "/gateway.do"
APP_ID = "2021000000000001"
SELLER_ID = "2088000000000001"
BUYER_LOGON_ID = "159****5620"
HANG = 3.0  # a timeout keeps the client waiting this long: twice the gateways' 1.5 s


def yuan(fen: int) -> str:
    return str((Decimal(fen) / 100).quantize(Decimal("0.01")))


def fen(text: str) -> int:
    return int(Decimal(text) * 100)


class AlipaySim(ProviderSim):
    """The simulator (sim: the HTTP server, its faults and its money) with Alipay's wire format."""

    gateway_class = AlipayGateway

    def __init__(self, faults: Faults | None = None, keys: Keys | None = None):
        self.bad_signature = False  # replies signed over other text: the SDK's verification fails
        self.unsigned = False  # replies without a sign (as Alipay's are for some errors)
        self.requests: list[dict[str, str]] = []  # every request's parameters, as received
        super().__init__(faults, keys)

    @staticmethod
    def default_faults() -> Faults:
        return Faults(hang=HANG)

    @property
    def url(self) -> str:
        return self.sim.url + GATEWAY_PATH

    @property
    def settings(self) -> dict[str, Any]:
        """AlipayGateway's constructor kwargs for this simulator."""
        return {"app_id": APP_ID, "private_key": self.keys.merchant_private,
                "alipay_public_key": self.keys.provider_public, "gateway": self.url, "timeout": 1.5}

    # -- the wire ------------------------------------------------------------------------------
    def route(self, sim: Simulator, method: str, path: str, headers: dict[str, str], body: bytes) -> Reply | Drop | Hang:
        url = urlsplit(path)
        if url.path != GATEWAY_PATH:
            return Reply(404, b"Not Found", {"Content-Type": "text/plain"})
        params = dict(parse_qsl(url.query, keep_blank_values=True))
        if method == "POST" and "x-www-form-urlencoded" in headers.get("content-type", ""):
            params.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        self.requests.append(params)
        api = params.get("method", "")
        response_key = api.replace(".", "_") + "_response"
        if not self._signed_by_app(params):
            return self.reply(response_key, {"code": "40002", "msg": "Invalid Arguments",
                                             "sub_code": "isv.invalid-signature",
                                             "sub_msg": "验签出错，建议检查签名字符串或签名私钥与应用公钥是否匹配"})
        try:
            biz = json.loads(params.get("biz_content") or "{}")
        except ValueError:
            biz = None
        if params.get("app_id") != APP_ID or not isinstance(biz, dict):
            return self.reply(response_key, {"code": "40002", "msg": "Invalid Arguments",
                                             "sub_code": "isv.invalid-parameter", "sub_msg": "参数无效"})
        handler: Callable[[dict[str, Any]], Reply | Drop | Hang] | None = {
            "alipay.trade.pay": self.pay, "alipay.trade.query": self.query, "alipay.trade.cancel": self.cancel,
            "alipay.trade.refund": self.refund, "alipay.trade.fastpay.refund.query": self.query_refund,
        }.get(api)
        if handler is None:
            return self.reply("error_response", {"code": "40002", "msg": "Invalid Arguments",
                                                 "sub_code": "isv.invalid-method", "sub_msg": "不存在的方法名"})
        return handler(biz)

    def _signed_by_app(self, params: dict[str, str]) -> bool:
        signature = params.get("sign", "")
        if params.get("sign_type") != "RSA2" or not signature:
            return False
        unsigned = "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k != "sign")
        return simulator.verify(self.keys.merchant_public, unsigned, signature)

    def reply(self, key: str, content: dict[str, Any]) -> Reply:
        """Alipay's signed reply: the inner object's exact text is what is signed."""
        text = json.dumps(content, ensure_ascii=False, separators=(",", ":"))
        signature = simulator.sign(self.keys.provider_private, (text + " tampered") if self.bad_signature else text)
        body = (f'{{"{key}":{text}}}' if self.unsigned else f'{{"{key}":{text},"sign":"{signature}"}}').encode()
        return Reply(200, body, {"Content-Type": "text/html;charset=utf-8"})

    @staticmethod
    def server_error() -> Reply:
        return Reply(500, b"<html><body><h1>500 Internal Server Error</h1></body></html>",
                     {"Content-Type": "text/html"})

    # -- the methods -----------------------------------------------------------------------------
    def pay(self, biz: dict[str, Any]) -> Reply | Drop | Hang:
        key = "alipay_trade_pay_response"
        no, code = str(biz.get("out_trade_no", "")), str(biz.get("auth_code", ""))
        if biz.get("scene") != "bar_code" or not no or not code or "total_amount" not in biz:
            return self.reply(key, {"code": "40002", "msg": "Invalid Arguments",
                                    "sub_code": "isv.missing-parameter", "sub_msg": "缺少必选参数"})
        existed = no in self.sim.engine.trades

        def answer(trade: TradeRecord) -> Reply:
            base = {"out_trade_no": no, "trade_no": trade.transaction_id}
            if trade.state == "paid" and existed:
                return self.business_failed(key, "ACQ.TRADE_HAS_SUCCESS", "交易已被支付")
            if trade.state == "paid":
                return self.reply(key, {"code": "10000", "msg": "Success", **base, "buyer_logon_id": BUYER_LOGON_ID,
                                        "total_amount": yuan(trade.amount), "receipt_amount": yuan(trade.amount),
                                        "buyer_pay_amount": yuan(trade.amount), "gmt_payment": "2026-12-04 22:00:00",
                                        "buyer_user_id": "2088102169481075"})
            if trade.state == "paying":
                return self.reply(key, {"code": "10003", "msg": " order success pay inprocess", **base,
                                        "buyer_logon_id": BUYER_LOGON_ID, "total_amount": yuan(trade.amount)})
            if trade.state == "closed":
                return self.business_failed(key, "ACQ.TRADE_HAS_CLOSE", "交易已经关闭")
            fail = self.sim.faults.fail_code
            return self.business_failed(key, fail if fail.startswith("ACQ.") else "ACQ." + fail,
                                        self.sim.faults.fail_reason)

        return self.sim.charge(no, fen(str(biz["total_amount"])), code, answer, self.server_error())

    def business_failed(self, key: str, sub_code: str, sub_msg: str, **more: str) -> Reply:
        return self.reply(key, {"code": "40004", "msg": "Business Failed", "sub_code": sub_code, "sub_msg": sub_msg,
                                **more})

    def query(self, biz: dict[str, Any]) -> Reply | Drop | Hang:
        key = "alipay_trade_query_response"
        no = str(biz.get("out_trade_no", ""))

        def answer() -> Reply:
            trade = self.sim.engine.query(no)
            if trade is None:
                return self.business_failed(key, "ACQ.TRADE_NOT_EXIST", "交易不存在")
            refunded = sum(trade.refunded.values())
            status = {"paid": "TRADE_SUCCESS", "paying": "WAIT_BUYER_PAY"}.get(trade.state, "TRADE_CLOSED")
            if trade.state == "paid" and refunded >= trade.amount:
                status = "TRADE_CLOSED"  # Alipay: a trade refunded in full is closed
            return self.reply(key, {"code": "10000", "msg": "Success", "out_trade_no": no,
                                    "trade_no": trade.transaction_id, "trade_status": status,
                                    "total_amount": yuan(trade.amount), "buyer_logon_id": BUYER_LOGON_ID,
                                    "buyer_pay_amount": yuan(trade.amount) if trade.state == "paid" else "0.00"})

        return self.sim.network(self.sim.faults.query, answer, self.server_error())

    def cancel(self, biz: dict[str, Any]) -> Reply | Drop | Hang:
        key = "alipay_trade_cancel_response"
        no = str(biz.get("out_trade_no", ""))

        def answer() -> Reply:
            was_charged = no in self.sim.charged()
            done, trade = self.sim.engine.cancel(no)
            if not done:  # the customer is still confirming on the phone: ask again later
                return self.business_failed(key, "ACQ.SYSTEM_ERROR", "系统错误", out_trade_no=no, retry_flag="Y")
            content = {"code": "10000", "msg": "Success", "out_trade_no": no, "retry_flag": "N"}
            if trade is not None:
                content.update(trade_no=trade.transaction_id, action="refund" if was_charged else "close")
            return self.reply(key, content)

        return self.sim.network(self.sim.faults.query, answer, self.server_error())

    def refund(self, biz: dict[str, Any]) -> Reply | Drop | Hang:
        key = "alipay_trade_refund_response"
        no, request_no = str(biz.get("out_trade_no", "")), str(biz.get("out_request_no", ""))

        def answer() -> Reply:
            before = self.sim.engine.trades.get(no)
            again = before is not None and request_no in before.refunded
            result, trade = self.sim.engine.refund(no, request_no, fen(str(biz.get("refund_amount", "0"))))
            if result == "no_trade" or trade is None:
                return self.business_failed(key, "ACQ.TRADE_NOT_EXIST", "交易不存在")
            if result == "not_paid":
                return self.business_failed(key, "ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
            if result == "too_much":
                return self.business_failed(key, "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "退款金额超限")
            moved = not again and self.sim.faults.refund != "processing"
            return self.reply(key, {"code": "10000", "msg": "Success", "out_trade_no": no,
                                    "trade_no": trade.transaction_id, "buyer_logon_id": BUYER_LOGON_ID,
                                    "fund_change": "Y" if moved else "N",
                                    "refund_fee": yuan(sum(trade.refunded.values()))})

        return self.sim.network(self.sim.faults.refund, answer, self.server_error())

    def query_refund(self, biz: dict[str, Any]) -> Reply | Drop | Hang:
        key = "alipay_trade_fastpay_refund_query_response"
        no, request_no = str(biz.get("out_trade_no", "")), str(biz.get("out_request_no", ""))

        def answer() -> Reply:
            trade, amount = self.sim.engine.refund_query(request_no, no)
            if trade is None:
                return self.business_failed(key, "ACQ.TRADE_NOT_EXIST", "交易不存在")
            content = {"code": "10000", "msg": "Success", "out_trade_no": no, "trade_no": trade.transaction_id}
            if amount is not None:
                content.update(out_request_no=request_no, refund_status="REFUND_SUCCESS",
                               refund_amount=yuan(amount), total_amount=yuan(trade.amount))
            return self.reply(key, content)

        return self.sim.network(self.sim.faults.refund, answer, self.server_error())


@pytest.fixture(scope="session")
def alipay_keys() -> Keys:
    return simulator.shared_keys()


@pytest.fixture
def alipay_sim(alipay_keys: Keys) -> Iterator[AlipaySim]:
    """An Alipay gateway simulator on loopback (fresh money, default faults), closed afterwards."""
    simulator = AlipaySim(keys=alipay_keys)
    yield simulator
    simulator.close()
