"""Alipay barcode pay (当面付 条码支付) through python-alipay-sdk, as an app.ports.CodeGateway.

The SDK (module `alipay`, class AliPay) is used unmodified and imported on first use, never when
this module is imported: it signs each request with the app's private key (RSA2: SHA256withRSA
over the sorted parameters) and verifies each reply with Alipay's public key. Its one HTTP call
is a urlopen of the gateway with the signed parameters; every failure of it (a timeout, a
refused or dropped connection, an HTTP 5xx, a reply that is not JSON or whose signature does not
verify) is a GatewayReply "unknown", never an exception.

Alipay's answers, in the one vocabulary of domain.payments.GatewayReply:

    code 10000 (Success)         pay: paid; query: by trade_status (below); cancel: closed
                                 (retry_flag Y, or no answer at all: unknown with retry);
                                 refund: refunded (fund_change Y) or paying (N: ask query_refund)
    code 10003 (pay in process)  paying: the customer confirms on the phone (WAIT_BUYER_PAY)
    trade_status                 TRADE_SUCCESS, TRADE_FINISHED: paid; WAIT_BUYER_PAY: paying;
                                 TRADE_CLOSED: closed (never paid, cancelled, or refunded in full)
    code 40004 (Business Failed) failed, sub_msg the reason (ACQ.PAYMENT_AUTH_CODE_INVALID,
                                 ACQ.BUYER_BALANCE_NOT_ENOUGH...); except ACQ.SYSTEM_ERROR and
                                 ACQ.TRADE_HAS_SUCCESS (the trade exists and is paid: query it),
                                 unknown; ACQ.TRADE_HAS_CLOSE, closed; ACQ.TRADE_NOT_EXIST below
    code 40001/40002/40006/20001 the request was refused before it was processed (a bad
                                 signature, a missing permission): pay failed; anything else unknown
    code 20000 (Service Currently Unavailable), anything else: unknown

ACQ.TRADE_NOT_EXIST from a query: "no such trade" is the truth only once the pay request cannot
still be on its way. Alipay's own guidance for barcode pay (and its face-to-face demo) treats a
missing trade while polling after an unanswered pay as "no result yet" and settles it with a
cancel, which closes the trade number for good. So: while this gateway sent a pay for that trade
less than `not_exist_grace` seconds ago (by default twice the timeout plus 5 s), the query says
unknown (code ACQ.TRADE_NOT_EXIST: the caller keeps querying, then cancels at its deadline);
after that, or when this process never sent one (a till restarted after a crash, resolving an
attempt whose request may never have left), it says closed: nothing was charged. A cancel of a
trade that does not exist succeeds (Alipay closes the number), so the safest way for a caller to
make "closed" final is still a cancel.

Never in a log or a reason: the customer's code (mask_code) nor any key.
"""

from __future__ import annotations

import base64
import json
import logging
import sys
import threading
import time
import types
from collections.abc import Callable
from dataclasses import replace
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from tui_pos.domain.errors import N_
from tui_pos.domain.payments import GatewayReply, Provider, ReplyStatus, Trade, mask_code
from tui_pos.payments.gateway import GatewayBase, masked_reply

log = logging.getLogger("tui_pos.payments.alipay")

PAID_STATES = ("TRADE_SUCCESS", "TRADE_FINISHED")
REFUSED_CODES = ("40001", "40002", "40006", "20001")  # refused before any business was done
UNCERTAIN_SUB_CODES = ("ACQ.SYSTEM_ERROR", "AQC.SYSTEM_ERROR", "ACQ.TRADE_HAS_SUCCESS")
NOT_EXIST = "ACQ.TRADE_NOT_EXIST"

# Reasons the adapter gives itself (the provider's own are its sub_msg, as it says them).
TIMED_OUT = N_("no answer from Alipay in time")
CONNECTION_FAILED = N_("could not reach Alipay")
HTTP_ERROR = N_("Alipay answered with an HTTP error")
BAD_SIGNATURE = N_("Alipay's reply does not verify (bad signature)")
BAD_REPLY = N_("Alipay's reply cannot be read")
BAD_KEYS = N_("the Alipay keys in the configuration cannot be read")
MAYBE_NOT_YET = N_("Alipay does not know the trade yet")
NO_SUCH_TRADE = N_("Alipay has no such trade: nothing was charged")
NO_SUCH_REFUND = N_("Alipay has no such refund")
CANCEL_AGAIN = N_("Alipay asks for the cancel to be sent again")


def to_yuan(fen: int) -> str:
    """12345 -> "123.45" (Alipay's amounts: yuan, two decimals, as strings)."""
    return str((Decimal(fen) / 100).quantize(Decimal("0.01")))


def to_fen(yuan: object) -> int | None:
    """"123.45" -> 12345; None when it is missing or not an amount."""
    try:
        return int((Decimal(str(yuan)) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    except (InvalidOperation, ValueError, TypeError):
        return None


def _key(text: str) -> str | bytes:
    """A key as the SDK reads it: PEM text as it is; the bare base64 that Alipay's console shows
    (no BEGIN/END lines) as its DER bytes."""
    if "-----BEGIN" in text:
        return text
    return base64.b64decode("".join(text.split()))


_import_lock = threading.Lock()


def _sdk() -> types.ModuleType:
    """The SDK, imported on first use. Its alipay/loggers.py runs logging.config.dictConfig() on
    import, which closes every logging handler of the process (the till's log file, syslog) and
    puts a DEBUG console handler on its logger: that module alone is given here as what the rest
    of the SDK takes from it (its logger), so importing the SDK leaves the process's logging alone."""
    with _import_lock:
        if "alipay" not in sys.modules and "alipay.loggers" not in sys.modules:
            loggers = types.ModuleType("alipay.loggers")
            loggers.logger = logging.getLogger("python-alipay-sdk")  # type: ignore[attr-defined]
            sys.modules["alipay.loggers"] = loggers
        import alipay  # type: ignore[import-untyped]

        return alipay


PAY_EXPIRES = "10m"  # Alipay's timeout_express of a barcode pay (1m to 15d)


class AlipayGateway(GatewayBase):
    """Alipay's barcode pay, query, cancel, refund and refund query (python-alipay-sdk, RSA2)."""

    provider: Provider = "alipay"

    def __init__(self, *, app_id: str, private_key: str, alipay_public_key: str,
                 gateway: str = "https://openapi.alipay.com/gateway.do", timeout: float = 10.0):
        super().__init__(gateway, timeout)
        self.app_id = app_id
        self._private_key = private_key
        self._alipay_public_key = alipay_public_key

    def __repr__(self) -> str:  # never the keys
        return f"AlipayGateway(app_id={self.app_id!r}, gateway={self.gateway!r}, timeout={self.timeout})"

    # -- the SDK ------------------------------------------------------------------------------
    def _sdk_client(self) -> Any:
        with self._lock:
            if self._client is None:
                alipay = _sdk()
                from alipay.utils import AliPayConfig  # type: ignore[import-untyped]

                client = alipay.AliPay(appid=self.app_id, app_private_key_string=_key(self._private_key),
                                       alipay_public_key_string=_key(self._alipay_public_key), sign_type="RSA2",
                                       config=AliPayConfig(timeout=self.timeout))
                # The SDK knows two gateways (production; the sandbox with debug=True) and keeps it
                # in this attribute, read at each call: the one way to point it at another.
                client._gateway = self.gateway
                self._client = client
            return self._client

    def _call(self, api: str, read: Callable[[str, dict[str, Any]], GatewayReply], *args: Any,
              unusable: ReplyStatus = "unknown", retry: bool = False, **kwargs: Any) -> GatewayReply:
        """The SDK's `api` called with args and kwargs; Alipay's verified response read by
        read(its code, it). Without one, an unknown reply saying why (retry: `retry`), or, when the
        client cannot be made (nothing was sent), `unusable`."""
        try:
            client = self._sdk_client()
        except Exception as err:  # a key that is no RSA key, no SDK
            log.error("Alipay %s: the client cannot be made (%s)", api, type(err).__name__)
            return GatewayReply(unusable, reason=BAD_KEYS, code="KEYS")
        from alipay.exceptions import AliPayException, AliPayValidationError  # type: ignore[import-untyped]

        try:
            response = getattr(client, api)(*args, **kwargs)
        except AliPayValidationError:
            reply = GatewayReply("unknown", reason=BAD_SIGNATURE, code="BAD_SIGNATURE")
        except AliPayException as err:  # an unsigned reply or an error_response
            code = _exception_code(err)
            reply = GatewayReply("unknown", reason=BAD_SIGNATURE, code=code or "UNSIGNED")
        except TimeoutError:
            reply = GatewayReply("unknown", reason=TIMED_OUT, code="TIMEOUT")
        except Exception as err:  # urllib's HTTPError, URLError, a dropped connection, bad JSON
            reply = _transport_failure(err)
        else:
            if isinstance(response, dict):
                return read(str(response.get("code", "")), response)
            reply = GatewayReply("unknown", reason=BAD_REPLY, code="BAD_REPLY")
        log.warning("Alipay %s: %s (%s)", api, reply.reason, reply.code)
        return replace(reply, retry=retry)

    # -- CodeGateway --------------------------------------------------------------------------
    def pay(self, trade: Trade) -> GatewayReply:
        log.info("Alipay pay %s: %s fen, code %s", trade.out_trade_no, trade.amount, mask_code(trade.code))
        # timeout_express: a trade the customer never confirmed closes itself at Alipay, so one left
        # waiting by a till that died just before midnight (too late for the same-day cancel) is
        # found closed by the next day's resolve() and blocks no code payment for long
        extra: dict[str, Any] = {"total_amount": to_yuan(trade.amount), "timeout_express": PAY_EXPIRES}
        if trade.till_id:
            extra["terminal_id"] = trade.till_id
        self._note_sent(trade.out_trade_no, time.monotonic())
        reply = self._call("api_alipay_trade_pay", lambda code, response: _pay_reply(code, response, trade.amount),
                           unusable="failed",  # nothing was sent: the customer cannot have been charged
                           out_trade_no=trade.out_trade_no, scene="bar_code", auth_code=trade.code,
                           subject=trade.subject or "tui-pos", **extra)
        return masked_reply(reply, trade.code)

    def query(self, out_trade_no: str) -> GatewayReply:
        def read(code: str, response: dict[str, Any]) -> GatewayReply:
            if code == "40004" and response.get("sub_code") == NOT_EXIST:
                if self._maybe_on_its_way(out_trade_no):
                    return GatewayReply("unknown", reason=MAYBE_NOT_YET, code=NOT_EXIST)
                return GatewayReply("closed", reason=NO_SUCH_TRADE, code=NOT_EXIST)
            return _query_reply(code, response)

        return self._call("api_alipay_trade_query", read, out_trade_no=out_trade_no)

    def cancel(self, out_trade_no: str) -> GatewayReply:
        # no answer: Alipay's rule is to send the cancel again
        return self._call("api_alipay_trade_cancel", _cancel_reply, retry=True, out_trade_no=out_trade_no)

    def refund(self, out_trade_no: str, out_refund_no: str, amount: int, total: int, reason: str) -> GatewayReply:
        log.info("Alipay refund %s of %s: %s of %s fen", out_refund_no, out_trade_no, amount, total)
        return self._call("api_alipay_trade_refund", lambda code, response: _refund_reply(code, response, amount),
                          to_yuan(amount), out_trade_no=out_trade_no, out_request_no=out_refund_no,
                          refund_reason=reason)

    def query_refund(self, out_trade_no: str, out_refund_no: str) -> GatewayReply:
        return self._call("api_alipay_trade_fastpay_refund_query", _query_refund_reply, out_refund_no,
                          out_trade_no=out_trade_no)


# -- Alipay's answers (code: the response's code) -------------------------------------------------
def _pay_reply(code: str, response: dict[str, Any], asked: int) -> GatewayReply:
    if code == "10000":
        return _paid(response, asked)
    if code == "10003":
        return GatewayReply("paying", transaction_id=str(response.get("trade_no", "")),
                            reason=str(response.get("sub_msg") or response.get("msg") or ""), code="WAIT_BUYER_PAY")
    return _not_done(code, response)


def _not_done(code: str, response: dict[str, Any]) -> GatewayReply:
    """A pay's or a refund's answer that is neither done nor waiting: refused for a business reason
    (40004), refused outright (REFUSED_CODES), or not to be trusted (unknown: asked again)."""
    if code == "40004":
        return _business_failure(response)
    if code in REFUSED_CODES:
        return _failed(response)
    return _unknown(response)


def _query_reply(code: str, response: dict[str, Any]) -> GatewayReply:
    """A query's answer (but ACQ.TRADE_NOT_EXIST: AlipayGateway.query)."""
    if code != "10000":
        return _unknown(response)
    status = str(response.get("trade_status", ""))
    if status in PAID_STATES:
        return _paid(response, None, code=status)
    if status == "WAIT_BUYER_PAY":
        return GatewayReply("paying", transaction_id=str(response.get("trade_no", "")), code=status)
    if status == "TRADE_CLOSED":
        return GatewayReply("closed", transaction_id=str(response.get("trade_no", "")), code=status)
    return _unknown(response, status)


def _cancel_reply(code: str, response: dict[str, Any]) -> GatewayReply:
    retry = str(response.get("retry_flag", "")).upper() == "Y"
    if code == "10000" and not retry:
        action = str(response.get("action", ""))  # close | refund | "" (no such trade)
        return GatewayReply("closed", transaction_id=str(response.get("trade_no", "")), code=action.upper() or "CLOSE")
    if retry:
        return GatewayReply("unknown", reason=str(response.get("sub_msg") or CANCEL_AGAIN),
                            code=str(response.get("sub_code") or "RETRY"), retry=True)
    if code == "40004" and str(response.get("sub_code", "")) not in UNCERTAIN_SUB_CODES:
        return _failed(response)  # refused for good (too late: refund instead; not allowed)
    return replace(_unknown(response), retry=True)


def _refund_reply(code: str, response: dict[str, Any], amount: int) -> GatewayReply:
    trade_no = str(response.get("trade_no", ""))
    if code == "10000":
        if str(response.get("fund_change", "")).upper() == "Y":
            return GatewayReply("refunded", transaction_id=trade_no, amount=amount, code="REFUND_SUCCESS")
        # No money moved by this request: already refunded before, or still being processed:
        # Alipay says to ask the refund query.
        return GatewayReply("paying", transaction_id=trade_no, code="FUND_CHANGE_N")
    return _not_done(code, response)


def _query_refund_reply(code: str, response: dict[str, Any]) -> GatewayReply:
    if code == "10000":
        status = str(response.get("refund_status", ""))
        if status == "REFUND_SUCCESS":
            return GatewayReply("refunded", transaction_id=str(response.get("trade_no", "")),
                                amount=to_fen(response.get("refund_amount")), code=status)
        # No refund_status: Alipay did not receive this refund, or it failed (send it again).
        return GatewayReply("failed", reason=NO_SUCH_REFUND, code=status or "REFUND_NOT_EXIST")
    if code == "40004" and response.get("sub_code") == NOT_EXIST:
        return GatewayReply("failed", reason=NO_SUCH_TRADE, code=NOT_EXIST)
    return _unknown(response)


def _paid(response: dict[str, Any], asked: int | None, code: str = "TRADE_SUCCESS") -> GatewayReply:
    amount = to_fen(response.get("total_amount"))
    return GatewayReply("paid", transaction_id=str(response.get("trade_no", "")),
                        amount=amount if amount is not None else asked, code=code)


def _business_failure(response: dict[str, Any]) -> GatewayReply:
    sub_code = str(response.get("sub_code", ""))
    if sub_code in UNCERTAIN_SUB_CODES:
        return _unknown(response)
    if sub_code == "ACQ.TRADE_HAS_CLOSE":
        return GatewayReply("closed", reason=str(response.get("sub_msg", "")), code=sub_code)
    return _failed(response)


def _failed(response: dict[str, Any]) -> GatewayReply:
    return GatewayReply("failed", reason=str(response.get("sub_msg") or response.get("msg") or ""),
                        code=str(response.get("sub_code") or response.get("code") or ""))


def _unknown(response: dict[str, Any], status: str = "") -> GatewayReply:
    return GatewayReply("unknown", reason=str(response.get("sub_msg") or response.get("msg") or ""),
                        code=status or str(response.get("sub_code") or response.get("code") or ""))


def _exception_code(err: Exception) -> str:
    """The code of an AliPayException (its message is the raw reply: not kept)."""
    text = str(err)
    start = text.find("code:")
    return text[start + 5:text.find(",", start)].strip() if start >= 0 else ""


def _transport_failure(err: Exception) -> GatewayReply:
    """A urllib failure as an unknown reply: its class and status only (its URL carries the
    signed request, the customer's code included)."""
    import urllib.error

    if isinstance(err, urllib.error.HTTPError):
        return GatewayReply("unknown", reason=HTTP_ERROR, code=f"HTTP_{err.code}")
    if isinstance(err, urllib.error.URLError) and isinstance(err.reason, TimeoutError):
        return GatewayReply("unknown", reason=TIMED_OUT, code="TIMEOUT")
    if isinstance(err, (json.JSONDecodeError, UnicodeDecodeError)):
        return GatewayReply("unknown", reason=BAD_REPLY, code="BAD_REPLY")
    return GatewayReply("unknown", reason=CONNECTION_FAILED, code=type(err).__name__.upper())
