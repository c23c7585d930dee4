"""A WeChat Pay API v3 gateway for the tests, on tests/payments/simulator.py: it speaks JSON over
HTTP with v3's signatures both ways, well enough that the wechatpayv3 SDK (and so WeChatGateway)
talks to it unmodified, in WeChat-Pay public-key mode.

- Each request must carry `Authorization: WECHATPAY2-SHA256-RSA2048 mchid="...",nonce_str="...",
  signature="...",timestamp="...",serial_no="..."`, signed with the merchant's private key over
  "METHOD\\nPATH?QUERY\\nTIMESTAMP\\nNONCE\\nBODY\\n"; the simulator checks it with the merchant's
  public key (401 SIGN_ERROR when it does not verify).
- Each reply is signed with the platform's private key over "TIMESTAMP\\nNONCE\\nBODY\\n", in the
  Wechatpay-Signature / -Timestamp / -Nonce / -Serial (= the public key id, "PUB_KEY_ID_...") /
  -Signature-Type headers; `break_signature = True` corrupts the signature, `unsigned = True` sends
  none (the SDK refuses both).

Routes (direct merchant): POST /v3/pay/transactions/codepay (through Simulator.charge, so
faults.pay applies), GET /v3/pay/transactions/out-trade-no/{no}?mchid=, POST
/v3/pay/transactions/out-trade-no/{no}/reverse, POST /v3/refund/domestic/refunds, GET
/v3/refund/domestic/refunds/{out_refund_no} (through Simulator.network: queries, reverses and refund
queries meet faults.query, a refund faults.refund). The money is the Engine's: one trade per
out_trade_no, one refund per out_refund_no.

How the simulator renders WeChat's answers: a code pay waiting for the customer's password is
HTTP 202 {"code": "USERPAYING"} (signed, as every 2xx); a refused pay is 403 with faults.fail_code
(the shared default, Alipay's PAYMENT_AUTH_CODE_INVALID, reads as WeChat's AUTH_CODE_INVALID) and
faults.fail_reason; a reverse while the customer is still confirming is 403 USERPAYING; a paid
trade later refunded queries as trade_state REFUND, a reversed one as REVOKED.

    def test_x(wechat_sim):
        wechat_sim.sim.faults.pay = "userpaying"
        gateway = wechat_sim.gateway()          # WeChatGateway(**wechat_sim.settings)
        ...
        assert wechat_sim.sim.charged() == {...}
"""

from __future__ import annotations

import json
import re
import time
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from payments.simulator import Drop, Hang, ProviderSim, Reply, Simulator, TradeRecord, sign, verify
from tui_pos.payments.wechat import WeChatGateway

MCHID = "1900000109"
APPID = "wxd678efh567hg6787"
CERT_SERIAL_NO = "3775B6A45ACD588826D15E583A95F5DD00000001"  # the merchant's API certificate
PUBLIC_KEY_ID = "PUB_KEY_ID_0119000001092024120400000000000001"  # WeChat Pay's platform public key
APIV3_KEY = "0123456789abcdef0123456789abcdef"  # 32 characters
TIMEOUT = 1.5  # the gateway's timeout in the tests: longer than a loopback reply, shorter than faults.hang
CST = timezone(timedelta(hours=8))

_AUTHORIZATION = re.compile(r'(\w+)="([^"]*)"')
_TRADE = re.compile(r"/v3/pay/transactions/out-trade-no/([^/?]+)(/reverse)?(?:\?(.*))?")
_REFUND = re.compile(r"/v3/refund/domestic/refunds/([^/?]+)")


class WeChatSim(ProviderSim):
    """The simulator (`.sim`: faults, charged()), the settings a WeChatGateway needs to reach it
    (`.settings`, as config.toml's [payments.wechat] would give them) and `.gateway()`; the keys
    (the merchant's, and WeChat Pay's platform key: keys.provider_*) are simulator.py's."""

    gateway_class = WeChatGateway

    def __init__(self, *args: Any, **kwargs: Any):
        self.break_signature = False
        self.unsigned = False
        super().__init__(*args, **kwargs)

    @property
    def settings(self) -> dict[str, Any]:
        return {"mchid": MCHID, "appid": APPID, "private_key": self.keys.merchant_private,
                "cert_serial_no": CERT_SERIAL_NO, "apiv3_key": APIV3_KEY, "public_key": self.keys.provider_public,
                "public_key_id": PUBLIC_KEY_ID, "gateway": self.sim.url, "timeout": TIMEOUT}

    # -- the wire ---------------------------------------------------------------------------------

    def reply(self, status: int, payload: dict[str, Any] | None) -> Reply:
        """A reply signed as WeChat Pay signs it (or with a broken signature, when asked)."""
        body = json.dumps(payload, ensure_ascii=False) if payload is not None else ""
        timestamp, nonce = str(int(time.time())), uuid.uuid4().hex.upper()
        signature = sign(self.keys.provider_private, f"{timestamp}\n{nonce}\n{body}{' ' if self.break_signature else ''}\n")
        headers = {"Content-Type": "application/json; charset=utf-8", "Request-ID": uuid.uuid4().hex}
        if not self.unsigned:
            headers.update({"Wechatpay-Signature": signature, "Wechatpay-Timestamp": timestamp,
                            "Wechatpay-Nonce": nonce, "Wechatpay-Serial": PUBLIC_KEY_ID,
                            "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048"})
        return Reply(status, body.encode(), headers)

    def error(self, status: int, code: str, message: str) -> Reply:
        return self.reply(status, {"code": code, "message": message})

    def authorized(self, method: str, path: str, headers: dict[str, str], body: bytes) -> bool:
        scheme, _, params = headers.get("authorization", "").partition(" ")
        fields = dict(_AUTHORIZATION.findall(params))
        if scheme != "WECHATPAY2-SHA256-RSA2048" or fields.get("mchid") != MCHID:
            return False
        if fields.get("serial_no") != CERT_SERIAL_NO:
            return False
        message = f"{method}\n{path}\n{fields.get('timestamp', '')}\n{fields.get('nonce_str', '')}\n{body.decode()}\n"
        return verify(self.keys.merchant_public, message, fields.get("signature", ""))

    def route(self, sim: Simulator, method: str, path: str, headers: dict[str, str], body: bytes) -> Reply | Drop | Hang:
        if not self.authorized(method, path, headers, body):
            return self.error(401, "SIGN_ERROR", "签名错误")
        if headers.get("wechatpay-serial", PUBLIC_KEY_ID) != PUBLIC_KEY_ID:  # the platform key the client holds
            return self.error(400, "PARAM_ERROR", "Wechatpay-Serial 错误")
        try:
            data = json.loads(body) if body else {}
        except ValueError:
            return self.error(400, "PARAM_ERROR", "请求体不是 JSON")
        server_error = self.error(500, "SYSTEM_ERROR", "系统错误")
        trade = _TRADE.fullmatch(path)
        refund = _REFUND.fullmatch(path)
        if method == "POST" and path == "/v3/pay/transactions/codepay":
            return self.codepay(data, server_error)
        if method == "GET" and trade and not trade.group(2):
            no = trade.group(1)
            if f"mchid={MCHID}" not in (trade.group(3) or ""):
                return self.error(400, "PARAM_ERROR", "缺少 mchid")
            return sim.network(sim.faults.query, lambda: self.query(no), server_error)
        if method == "POST" and trade and trade.group(2):
            no = trade.group(1)
            return sim.network(sim.faults.query, lambda: self.reverse(no, data), server_error)
        if method == "POST" and path == "/v3/refund/domestic/refunds":
            return sim.network(sim.faults.refund if sim.faults.refund != "processing" else "ok",
                               lambda: self.refund(data), server_error)
        if method == "GET" and refund:
            return sim.network(sim.faults.query, lambda: self.query_refund(refund.group(1)), server_error)
        return self.error(404, "NOT_FOUND", "接口不存在")

    # -- the operations ---------------------------------------------------------------------------

    def codepay(self, data: dict[str, Any], server_error: Reply) -> Reply | Drop | Hang:
        no, amount = data.get("out_trade_no"), (data.get("amount") or {}).get("total")
        code = (data.get("payer") or {}).get("auth_code")
        store = ((data.get("scene_info") or {}).get("store_info") or {}).get("out_id")
        if (data.get("appid"), data.get("mchid")) != (APPID, MCHID):
            return self.error(400, "APPID_MCHID_NOT_MATCH", "appid 和 mch_id 不匹配")
        if not (no and data.get("description") and isinstance(amount, int) and amount > 0 and code and store):
            return self.error(400, "PARAM_ERROR", "参数错误")

        def answer(trade: TradeRecord) -> Reply:
            if trade.state == "paid":
                return self.reply(200, self.transaction(trade, "SUCCESS"))
            if trade.state == "paying":
                return self.error(202, "USERPAYING", "需要用户输入支付密码")
            if trade.state == "closed":
                return self.error(403, "ORDER_REVERSED", "订单已撤销")
            fail_code = {"PAYMENT_AUTH_CODE_INVALID": "AUTH_CODE_INVALID"}.get(self.sim.faults.fail_code,
                                                                             self.sim.faults.fail_code)
            return self.error(403, fail_code, self.sim.faults.fail_reason)

        return self.sim.charge(no, amount, code, answer, server_error)

    def query(self, no: str) -> Reply:
        trade = self.sim.engine.query(no)
        if trade is None:
            return self.error(404, "ORDER_NOT_EXIST", "订单不存在")
        state = {"paid": "REFUND" if trade.refunded else "SUCCESS", "paying": "USERPAYING", "failed": "PAYERROR",
                 "closed": "REVOKED"}[trade.state]
        return self.reply(200, self.transaction(trade, state))

    def reverse(self, no: str, data: dict[str, Any]) -> Reply:
        if (data.get("appid"), data.get("mchid")) != (APPID, MCHID):
            return self.error(400, "APPID_MCHID_NOT_MATCH", "appid 和 mch_id 不匹配")
        done, _trade = self.sim.engine.cancel(no)
        if not done:
            return self.error(403, "USERPAYING", "用户支付中，请稍后再撤销")
        return self.reply(200, {"appid": APPID, "mchid": MCHID, "out_trade_no": no})

    def refund(self, data: dict[str, Any]) -> Reply:
        no, refund_no = data.get("out_trade_no"), data.get("out_refund_no")
        amount = data.get("amount") or {}
        if not (no and refund_no and isinstance(amount.get("refund"), int) and amount["refund"] > 0):
            return self.error(400, "PARAM_ERROR", "参数错误")
        trade = self.sim.engine.trades.get(no)
        if trade is not None and refund_no not in trade.refunded and amount.get("total") != trade.amount:
            return self.error(400, "INVALID_REQUEST", "订单金额与原订单不一致")
        outcome, trade = self.sim.engine.refund(no, refund_no, amount["refund"])
        if outcome == "no_trade" or trade is None:
            return self.error(404, "RESOURCE_NOT_EXISTS", "订单不存在")
        if outcome == "not_paid":
            return self.error(400, "INVALID_REQUEST", "订单未支付")
        if outcome == "too_much":
            return self.error(400, "INVALID_REQUEST", "申请退款金额超过订单可退金额")
        status = "PROCESSING" if self.sim.faults.refund == "processing" else "SUCCESS"
        return self.reply(200, self.refund_body(trade, refund_no, status))

    def query_refund(self, refund_no: str) -> Reply:
        trade, _amount = self.sim.engine.refund_query(refund_no)
        if trade is None:
            return self.error(404, "RESOURCE_NOT_EXISTS", "退款单不存在")
        return self.reply(200, self.refund_body(trade, refund_no, "SUCCESS"))

    # -- WeChat's records -------------------------------------------------------------------------

    @staticmethod
    def transaction(trade: TradeRecord, state: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "appid": APPID, "mchid": MCHID, "out_trade_no": trade.out_trade_no, "trade_type": "MICROPAY",
            "trade_state": state, "trade_state_desc": {"SUCCESS": "支付成功", "USERPAYING": "用户支付中",
                                                       "PAYERROR": "支付失败", "REVOKED": "已撤销",
                                                       "REFUND": "转入退款"}[state],
            "amount": {"total": trade.amount, "currency": "CNY"}}
        if state in ("SUCCESS", "REFUND"):
            body.update(transaction_id=trade.transaction_id, bank_type="OTHERS",
                        success_time=datetime.now(CST).isoformat(timespec="seconds"),
                        payer={"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"})
            body["amount"].update(payer_total=trade.amount, payer_currency="CNY")
        return body

    @staticmethod
    def refund_body(trade: TradeRecord, refund_no: str, status: str) -> dict[str, Any]:
        refunded = trade.refunded[refund_no]
        return {
            "refund_id": trade.refund_ids[refund_no], "out_refund_no": refund_no,
            "transaction_id": trade.transaction_id, "out_trade_no": trade.out_trade_no, "channel": "ORIGINAL",
            "user_received_account": "支付用户零钱", "create_time": datetime.now(CST).isoformat(timespec="seconds"),
            "status": status, "funds_account": "AVAILABLE",
            "amount": {"total": trade.amount, "refund": refunded, "payer_total": trade.amount,
                       "payer_refund": refunded, "settlement_refund": refunded, "settlement_total": trade.amount,
                       "discount_refund": 0, "currency": "CNY"}}


@pytest.fixture
def wechat_sim():
    """A fresh WeChat Pay simulator per test (its own money and faults), keys made once."""
    sim = WeChatSim()
    yield sim
    sim.close()
