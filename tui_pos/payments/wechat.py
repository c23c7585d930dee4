"""WeChat Pay code pay (付款码支付, API v3) behind app.ports.CodeGateway, over the wechatpayv3 SDK
(WeChatPay with WeChatPayType.CODEPAY), unmodified, in WeChat-Pay public-key mode: the platform's
public key (public_key, public_key_id) verifies the signature of every 2xx reply.

The SDK is imported on first use (never when tui_pos.payments.wechat is imported) and is given no
logger: it would log each request's body, and a code pay's body carries the customer's payment
code. Nothing here logs the code or a key; a reply never raises for the network or the provider.

What WeChat answers, and what it means here (GatewayReply):

pay (POST /v3/pay/transactions/codepay)
- 200 trade_state SUCCESS -> paid (transaction_id; amount = amount.payer_total, else amount.total);
- 202 USERPAYING (the customer types the password on the phone) -> paying: query until it ends;
- a business refusal that certainly charged nothing (AUTH_CODE_INVALID / AUTHCODEEXPIRE: the code
  is used or expired; NOTENOUGH: not enough balance; PAYERROR, ORDER_NOT_EXIST, PARAM_ERROR...)
  -> failed, WeChat's own message as the reason;
- ORDER_CLOSED / ORDER_REVERSED (the same out_trade_no after a reverse) -> closed;
- SYSTEM_ERROR, BANK_ERROR, FREQUENCY_LIMITED, ORDERPAID / INVALID_REQUEST (the trade number is
  taken: it may be paid), any code not known here, HTTP 5xx, a timeout, a dropped connection, a
  2xx whose signature does not verify -> unknown: query, never guess.

query (GET /v3/pay/transactions/out-trade-no/{out_trade_no}?mchid=)
- trade_state SUCCESS -> paid; USERPAYING, NOTPAY, ACCEPT -> paying; PAYERROR -> failed;
  CLOSED, REVOKED (reversed) -> closed; REFUND -> closed too: an attempt still being resolved whose
  trade shows REFUND had its money sent back (a reverse of a paid code pay, or a refund made on the
  merchant platform), so it must not become a sale;
- 404 ORDER_NOT_EXIST -> closed: WeChat has no trade under this number, so nobody was charged
  under it. Except right after a pay call that got no answer: that request may still be on its
  way (held in a proxy, a retransmitting TCP stack, a queue at WeChat) and create the trade, and
  charge, a moment after a query said "no such trade", and a closed charge is never asked about
  again. So while this gateway sent such a pay less than `not_exist_grace` seconds ago (twice the
  timeout plus 5 s, as the Alipay adapter), the query says unknown (code ORDER_NOT_EXIST: the
  caller queries on, and reverses at its deadline); after that, or in a process that never sent it
  (a till resolving after a restart), closed. What is left, a request delayed past all of that, is
  what the daily statement's reconciliation (tui-pos payments reconcile) lists as "charged but no
  sale".

cancel (POST /v3/pay/transactions/out-trade-no/{out_trade_no}/reverse)
- 2xx -> closed (any charge returned to the customer); ORDER_NOT_EXIST -> closed (nothing to undo);
- USERPAYING (the customer is still confirming: WeChat does not reverse then) -> paying, retry;
- SYSTEM_ERROR, BANK_ERROR, FREQUENCY_LIMITED, HTTP 5xx, no reply -> unknown, retry;
- any other refusal (e.g. REVERSE_EXPIRED: too old to reverse, refund it instead) -> failed.
  WeChat's timing rule (no reverse sooner than ~15 s after the pay call, never while USERPAYING)
  is the app's plan (domain.payments.next_step), not this adapter's.

refund (POST /v3/refund/domestic/refunds) and its query (GET /v3/refund/domestic/refunds/{no})
- status SUCCESS -> refunded (refund_id, amount.refund); PROCESSING -> paying (query again);
  ABNORMAL, CLOSED -> failed; 404 (no such refund or trade) and a business refusal -> failed,
  except a refund query's 404 shortly after a refund request that got no answer: unknown, as a
  trade's ORDER_NOT_EXIST above (a "failed" there would offer cash while the refund may still
  land: refunded twice); SYSTEM_ERROR, FREQUENCY_LIMITED, HTTP 5xx, no reply, a bad signature
  -> unknown.
  The same out_refund_no asked twice is the same refund at WeChat (never refunded twice).

The SDK verifies only 2xx replies: a 4xx refusal is taken as WeChat's word, protected by HTTPS
(requests verifies the server's certificate), so "failed" is kept to codes that say nothing moved.

Amounts are int fen both ways (WeChat counts in fen too). The reasons this module writes itself
are N_() messages (the UI shows them translated); a refusal's reason is WeChat's own text.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

from tui_pos.domain.errors import N_
from tui_pos.domain.payments import GatewayReply, Provider, ReplyStatus, Trade, mask_code
from tui_pos.payments.gateway import GatewayBase, masked, masked_reply

log = logging.getLogger(__name__)

CURRENCY = "CNY"
DESCRIPTION_MAX = 127  # characters WeChat takes for a trade's description
REFUND_REASON_MAX = 80

# What each reply code means (WeChat spells some with and some without an underscore, v2 and v3).
_ASK_AGAIN = frozenset({"SYSTEM_ERROR", "SYSTEMERROR", "BANK_ERROR", "BANKERROR", "FREQUENCY_LIMITED",
                        "ORDERPAID", "ORDER_PAID", "OUT_TRADE_NO_USED", "INVALID_REQUEST"})
_PAYING = frozenset({"USERPAYING", "USER_PAYING"})
_CLOSED = frozenset({"ORDER_CLOSED", "ORDERCLOSED", "ORDER_REVERSED", "ORDERREVERSED"})
_NO_TRADE = frozenset({"ORDER_NOT_EXIST", "ORDERNOTEXIST", "RESOURCE_NOT_EXISTS", "NOT_FOUND"})
# A pay refused with one of these charged nothing, and never will under this trade number.
_PAY_FAILED = frozenset({"AUTH_CODE_INVALID", "AUTHCODEEXPIRE", "AUTH_CODE_EXPIRE", "AUTH_CODE_ERROR",
                         "NOTENOUGH", "NOT_ENOUGH", "PAYERROR", "PAY_ERROR", "TRADE_ERROR", "BUYER_MISMATCH",
                         "RULELIMIT", "RULE_LIMIT", "ACCOUNTERROR", "ACCOUNT_ERROR", "USER_ACCOUNT_ABNORMAL",
                         "PARAM_ERROR", "SIGN_ERROR", "NO_AUTH", "NOAUTH", "APPID_MCHID_NOT_MATCH",
                         "MCH_NOT_EXISTS", "OPENID_MISMATCH"} | _NO_TRADE)
_TRADE_STATES: dict[str, ReplyStatus] = {
    "SUCCESS": "paid", "USERPAYING": "paying", "NOTPAY": "paying", "ACCEPT": "paying",
    "PAYERROR": "failed", "CLOSED": "closed", "REVOKED": "closed", "REFUND": "closed",
}
_REFUND_STATES: dict[str, ReplyStatus] = {
    "SUCCESS": "refunded", "PROCESSING": "paying", "ABNORMAL": "failed", "CLOSED": "failed",
}


class WeChatGateway(GatewayBase):
    """WeChat Pay for one merchant (mchid/appid), with its API key pair (private_key PEM text,
    cert_serial_no), its APIv3 key, and WeChat Pay's platform public key (public_key PEM text,
    public_key_id "PUB_KEY_ID_..."). gateway: the API's base URL; timeout: seconds per call."""

    provider: Provider = "wechat"

    def __init__(self, *, mchid: str, appid: str, private_key: str, cert_serial_no: str, apiv3_key: str,
                 public_key: str, public_key_id: str, gateway: str = "https://api.mch.weixin.qq.com",
                 timeout: float = 10.0):
        # strip(): a setting read from a file (KEY_file in config.toml) ends in a newline
        super().__init__(gateway.strip().rstrip("/"), timeout)
        self.mchid = mchid.strip()
        self.appid = appid.strip()
        self._secrets = {"private_key": private_key.strip(), "cert_serial_no": cert_serial_no.strip(),
                         "apiv3_key": apiv3_key.strip(), "public_key": public_key.strip(),
                         "public_key_id": public_key_id.strip()}

    def __repr__(self) -> str:  # never the keys
        return f"WeChatGateway(mchid={self.mchid!r}, gateway={self.gateway!r})"

    # -- the port (online(): GatewayBase) --------------------------------------------------------

    def pay(self, trade: Trade) -> GatewayReply:
        def call(client: Any, codepay: Any) -> tuple[int, Any]:
            return client.pay(
                description=(trade.subject or "tui-pos")[:DESCRIPTION_MAX],
                out_trade_no=trade.out_trade_no,
                amount={"total": trade.amount, "currency": CURRENCY},
                payer={"auth_code": trade.code},
                scene_info={"store_info": {"out_id": trade.till_id or self.mchid}},
                pay_type=codepay)

        sent = time.monotonic()
        reply = self._call(call, lambda status, body: _pay_reply(status, body, trade.out_trade_no), "failed",
                           what=f"pay {trade.out_trade_no} {mask_code(trade.code)} {trade.amount}", code=trade.code)
        self._note(trade.out_trade_no, sent, reply)
        return masked_reply(reply, trade.code)

    def query(self, out_trade_no: str) -> GatewayReply:
        def read(status: int, body: dict[str, Any]) -> GatewayReply:
            reply = _query_reply(status, body, out_trade_no)
            if reply.status == "closed" and reply.code in _NO_TRADE and self._maybe_on_its_way(out_trade_no):
                return GatewayReply(status="unknown", code=reply.code, reason=N_("WeChat Pay does not know the trade yet"))
            return reply

        return self._call(lambda client, _: client.query(out_trade_no=out_trade_no), read,
                          what=f"query {out_trade_no}")

    def cancel(self, out_trade_no: str) -> GatewayReply:
        return self._call(lambda client, _: client.codepay_reverse(out_trade_no=out_trade_no), _cancel_reply,
                          retry=True, what=f"reverse {out_trade_no}")

    def refund(self, out_trade_no: str, out_refund_no: str, amount: int, total: int, reason: str) -> GatewayReply:
        sent = time.monotonic()
        reply = self._call(lambda client, _: client.refund(
            out_refund_no=out_refund_no, out_trade_no=out_trade_no, reason=reason[:REFUND_REASON_MAX] or None,
            amount={"refund": amount, "total": total, "currency": CURRENCY}), _refund_reply, "failed",
            what=f"refund {out_trade_no} {out_refund_no} {amount}")
        self._note(out_refund_no, sent, reply)
        return reply

    def query_refund(self, out_trade_no: str, out_refund_no: str) -> GatewayReply:
        def read(status: int, body: dict[str, Any]) -> GatewayReply:
            reply = _refund_reply(status, body)
            if status == 404 and self._maybe_on_its_way(out_refund_no):  # as a trade's ORDER_NOT_EXIST
                return GatewayReply(status="unknown", code=reply.code,
                                    reason=N_("WeChat Pay does not know the refund yet"))
            return reply

        return self._call(lambda client, _: client.query_refund(out_refund_no=out_refund_no), read,
                          what=f"query refund {out_refund_no}")

    # -- requests that got no answer --------------------------------------------------------------

    def _note(self, number: str, sent: float, reply: GatewayReply) -> None:
        """A pay or refund request that got no answer may still arrive: remembered (GatewayBase)."""
        if reply.status == "unknown":
            self._note_sent(number, sent)

    # -- the SDK ----------------------------------------------------------------------------------

    def _sdk(self) -> tuple[Any, Any]:
        """The SDK's client (made once, on first use) and WeChatPayType.CODEPAY."""
        from wechatpayv3 import WeChatPay, WeChatPayType  # type: ignore[import-untyped]  # no stubs

        with self._lock:
            if self._client is None:
                client = WeChatPay(wechatpay_type=WeChatPayType.CODEPAY, mchid=self.mchid, appid=self.appid,
                                   timeout=self.timeout, **self._secrets)
                client._core._gate_way = self.gateway  # the SDK's base URL (a simulator in the tests)
                self._client = client
            return self._client, WeChatPayType.CODEPAY

    def _call(self, call: Callable[[Any, Any], tuple[int, Any]], read: Callable[[int, dict[str, Any]], GatewayReply],
              unusable: ReplyStatus = "unknown", retry: bool = False, what: str = "", code: str = "") -> GatewayReply:
        """One request, logged as `what` (the payment code masked) with its reply's status and code."""
        reply = self._request(call, read, unusable, retry, code)
        log.info("wechat %s: %s %s", what, reply.status, reply.code)
        return reply

    def _request(self, call: Callable[[Any, Any], tuple[int, Any]], read: Callable[[int, dict[str, Any]], GatewayReply],
                 unusable: ReplyStatus, retry: bool, code: str) -> GatewayReply:
        """The SDK's (HTTP status, body) read into a GatewayReply; a timeout, a dropped connection or
        a bad signature is unknown. unusable: the status when the settings cannot make a client
        (nothing was sent: a pay or a refund failed, a query learned nothing)."""
        try:
            client, codepay = self._sdk()
        except Exception:  # a key that does not load, or the SDK missing: nothing sent
            return GatewayReply(status=unusable, reason=N_("the WeChat Pay settings cannot be used (check the keys)"),
                                code="SETTINGS")
        import requests

        try:
            status, text = call(client, codepay)
        except requests.Timeout:
            return GatewayReply(status="unknown", reason=N_("WeChat Pay did not reply in time"), code="TIMEOUT", retry=retry)
        except requests.RequestException:  # refused, reset, dropped before the reply, bad URL
            return GatewayReply(status="unknown", reason=N_("the connection to WeChat Pay failed"), code="NETWORK", retry=retry)
        except Exception as exc:  # the SDK raises a bare Exception when a reply's signature does not verify
            signature = "signature" in str(exc) or "algorithm" in str(exc)
            if not signature:  # what it was, for support: never the payment code
                log.warning("wechat: %s: %s", type(exc).__name__, masked(str(exc), code))
            return GatewayReply(status="unknown", code="BAD_SIGNATURE" if signature else "ERROR", retry=retry,
                                reason=N_("WeChat Pay's reply has a signature that does not verify") if signature
                                else N_("an unexpected error from WeChat Pay"))
        body = _body(text)
        if body is None:
            if status >= 300 or text:
                return GatewayReply(status="unknown", reason=N_("an unreadable reply from WeChat Pay"), code=f"HTTP_{status}",
                                    retry=retry)
            body = {}  # 204: no content
        return read(status, body)


def _body(text: Any) -> dict[str, Any] | None:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    if not text:
        return None
    try:
        body = json.loads(text)
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _error(status: int, body: dict[str, Any]) -> tuple[str, str]:
    """(code, message) of an error reply; HTTP_<status> when WeChat named none."""
    return str(body.get("code") or f"HTTP_{status}"), str(body.get("message") or "")


def _refused(status: int, body: dict[str, Any], failed: frozenset[str], retry: bool = False) -> GatewayReply:
    """An error reply: unknown unless its code says for certain what happened."""
    code, message = _error(status, body)
    if code in _PAYING:
        return GatewayReply(status="paying", reason=message, code=code, retry=retry)
    if status < 500 and code in _CLOSED:
        return GatewayReply(status="closed", reason=message, code=code)
    if status < 500 and code in failed:
        return GatewayReply(status="failed", reason=message, code=code)
    return GatewayReply(status="unknown", reason=message or N_("WeChat Pay could not answer"), code=code, retry=retry)


def _transaction(body: dict[str, Any], out_trade_no: str) -> GatewayReply:
    """A trade (the codepay reply or a query's): its trade_state in this vocabulary."""
    if body.get("out_trade_no", out_trade_no) != out_trade_no:  # a reply about another trade is no answer
        return GatewayReply(status="unknown", reason=N_("WeChat Pay replied about another trade"), code="MISMATCH")
    state = str(body.get("trade_state") or "")
    status = _TRADE_STATES.get(state, "unknown")
    reason = str(body.get("trade_state_desc") or "")
    if status != "paid":
        return GatewayReply(status=status, reason=reason, code=state)
    amount = body.get("amount") or {}
    charged = amount.get("payer_total") if amount.get("payer_total") is not None else amount.get("total")
    return GatewayReply(status="paid", transaction_id=str(body.get("transaction_id") or ""),
                        amount=int(charged) if charged is not None else None, reason=reason, code=state)


def _pay_reply(status: int, body: dict[str, Any], out_trade_no: str) -> GatewayReply:
    if status in (200, 201) and "trade_state" in body:
        return _transaction(body, out_trade_no)
    return _refused(status, body, _PAY_FAILED)


def _query_reply(status: int, body: dict[str, Any], out_trade_no: str) -> GatewayReply:
    if 200 <= status < 300:
        return _transaction(body, out_trade_no)
    code, message = _error(status, body)
    if status == 404 or code in _NO_TRADE:
        return GatewayReply(status="closed", reason=message, code=code)
    return GatewayReply(status="unknown", reason=message or N_("WeChat Pay could not answer"), code=code)


def _cancel_reply(status: int, body: dict[str, Any]) -> GatewayReply:
    if 200 <= status < 300:
        return GatewayReply(status="closed", code="REVERSED")
    code, message = _error(status, body)
    if status < 500 and (status == 404 or code in _NO_TRADE):
        return GatewayReply(status="closed", reason=message, code=code)
    if status >= 500 or code in _ASK_AGAIN - {"INVALID_REQUEST"} or code in _PAYING:
        return _refused(status, body, frozenset(), retry=True)
    return GatewayReply(status="failed", reason=message, code=code)


def _refund_reply(status: int, body: dict[str, Any]) -> GatewayReply:
    if 200 <= status < 300:
        state = str(body.get("status") or "")
        result = _REFUND_STATES.get(state, "unknown")
        amount = (body.get("amount") or {}).get("refund")
        return GatewayReply(status=result, transaction_id=str(body.get("refund_id") or ""),
                            amount=int(amount) if result == "refunded" and amount is not None else None,
                            code=state)
    code, message = _error(status, body)
    if status < 500 and code not in _ASK_AGAIN - {"INVALID_REQUEST"}:  # INVALID_REQUEST: too much, not paid...
        return GatewayReply(status="failed", reason=message, code=code)  # nothing was refunded
    return GatewayReply(status="unknown", reason=message or N_("WeChat Pay could not answer"), code=code)
