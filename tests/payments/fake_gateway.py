"""An in-process, scripted CodeGateway (app.ports.CodeGateway) for fast app and UI tests.

It keeps the money like a provider would (which trades charged the customer, which were
cancelled, what was refunded), answers consistently by default, and takes scripted replies per
call, in order:

    gw = FakeGateway("alipay")                      # or "wechat"
    gw.script("pay", GatewayReply("paying", code="USERPAYING"))
    gw.script("query", PAID)                         # PAID: paid now (charged), with a transaction id
    gw.script("pay", LOST)                           # charged, and the answer lost (status unknown)
    gw.online_now = False                            # online() says False: code payments are refused
    ... till.payments.use_gateway(gw) ...
    assert gw.charged() == {"P...001": 350}          # what customers were really charged, net
    assert [c[0] for c in gw.calls] == ["pay", "query"]

Scripted replies: a GatewayReply (a "paid" one charges the trade, a "closed" one from cancel
gives the charge back, a "refunded" one refunds), or PAID / LOST / REFUNDED / REFUND_LOST
(markers filled in with the trade's amount and a transaction id). With nothing scripted a call
answers from the money: pay charges at once (paid); query says paid, closed (no such trade) or
failed; cancel closes the trade and gives any charge back; refund refunds (once per
out_refund_no); query_refund says refunded or closed (no such refund). The same out_refund_no
never refunds twice.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field, replace
from typing import Any

from tui_pos.domain.payments import GatewayReply, Provider, Trade

PAID = GatewayReply("paid", transaction_id="<paid>")  # charged now
LOST = GatewayReply("unknown", reason="timeout", transaction_id="<lost>")  # charged, answer lost
REFUNDED = GatewayReply("refunded", transaction_id="<refunded>")  # refunded now
REFUND_LOST = GatewayReply("unknown", reason="timeout", transaction_id="<refund lost>")  # refunded, answer lost
UNKNOWN = GatewayReply("unknown", reason="timeout", code="TIMEOUT")
USERPAYING = GatewayReply("paying", code="USERPAYING")
EXPIRED = GatewayReply("failed", reason="the payment code has expired", code="AUTH_CODE_INVALID")  # refused


@dataclass
class FakeTrade:
    out_trade_no: str
    amount: int
    state: str = "paying"  # paying | paid | failed | closed
    transaction_id: str = ""
    refunds: dict[str, int] = field(default_factory=dict)  # out_refund_no -> amount


class FakeGateway:
    def __init__(self, provider: Provider = "alipay", *, online: bool = True):
        self.provider: Provider = provider
        self.online_now = online
        self.calls: list[tuple[Any, ...]] = []  # (method, out_trade_no, ...) in order; never the code
        self.trades: dict[str, FakeTrade] = {}
        self._scripts: dict[str, deque[GatewayReply]] = {}
        self._numbers = 0
        self._lock = threading.Lock()

    # -- scripting --------------------------------------------------------------------------
    def script(self, method: str, *replies: GatewayReply) -> FakeGateway:
        assert method in ("pay", "query", "cancel", "refund", "query_refund"), method
        self._scripts.setdefault(method, deque()).extend(replies)
        return self

    def unscript(self) -> FakeGateway:
        """Forget the replies scripted and not used yet: answer from the money again."""
        self._scripts.clear()
        return self

    def charged(self) -> dict[str, int]:
        """Net money taken per trade: charged and not cancelled, less what was refunded."""
        return {t.out_trade_no: t.amount - sum(t.refunds.values()) for t in self.trades.values()
                if t.state == "paid" and t.amount - sum(t.refunds.values())}

    def refunded(self) -> dict[str, int]:
        """out_refund_no -> amount refunded."""
        return {no: amount for t in self.trades.values() for no, amount in t.refunds.items()}

    def methods(self) -> list[str]:
        return [call[0] for call in self.calls]

    def _next(self, method: str) -> GatewayReply | None:
        queue = self._scripts.get(method)
        return queue.popleft() if queue else None

    def _id(self, prefix: str) -> str:
        self._numbers += 1
        return f"{prefix}{self.provider.upper()}{self._numbers:08d}"

    def _charge(self, trade: FakeTrade) -> None:
        if trade.state != "paid":
            trade.state, trade.transaction_id = "paid", self._id("T")

    def _paid(self, trade: FakeTrade) -> GatewayReply:
        return GatewayReply("paid", transaction_id=trade.transaction_id, amount=trade.amount, code="SUCCESS")

    # -- the CodeGateway --------------------------------------------------------------------
    def online(self) -> bool:
        self.calls.append(("online",))
        return self.online_now

    def pay(self, trade: Trade) -> GatewayReply:
        with self._lock:
            self.calls.append(("pay", trade.out_trade_no, trade.amount))
            found = self.trades.setdefault(trade.out_trade_no, FakeTrade(trade.out_trade_no, trade.amount))
            reply = self._next("pay")
            if reply is None:
                if found.state == "paying":
                    self._charge(found)
                return self._paid(found) if found.state == "paid" else GatewayReply("failed", reason="trade closed",
                                                                                     code="TRADE_CLOSED")
            return self._apply(found, reply)

    def query(self, out_trade_no: str) -> GatewayReply:
        with self._lock:
            self.calls.append(("query", out_trade_no))
            found = self.trades.get(out_trade_no)
            reply = self._next("query")
            if reply is not None:
                return self._apply(found or self.trades.setdefault(out_trade_no, FakeTrade(out_trade_no, 0)), reply)
            if found is None:
                return GatewayReply("closed", reason="no such trade", code="TRADE_NOT_EXIST")
            if found.state == "paid":
                return self._paid(found)
            if found.state == "paying":
                return USERPAYING
            return GatewayReply("closed" if found.state == "closed" else "failed", code=found.state.upper())

    def cancel(self, out_trade_no: str) -> GatewayReply:
        with self._lock:
            self.calls.append(("cancel", out_trade_no))
            found = self.trades.setdefault(out_trade_no, FakeTrade(out_trade_no, 0, state="closed"))
            reply = self._next("cancel")
            if reply is not None:
                return self._apply(found, reply)
            found.state = "closed"  # any charge given back
            return GatewayReply("closed", code="CLOSED")

    def refund(self, out_trade_no: str, out_refund_no: str, amount: int, total: int, reason: str) -> GatewayReply:
        with self._lock:
            self.calls.append(("refund", out_trade_no, out_refund_no, amount))
            found = self.trades.get(out_trade_no)
            reply = self._next("refund")
            if found is None or found.state != "paid":
                return reply or GatewayReply("failed", reason="trade not paid", code="TRADE_NOT_PAID")
            if reply is None or reply in (REFUNDED, REFUND_LOST):
                found.refunds.setdefault(out_refund_no, amount)  # the same out_refund_no refunds once
                return replace(reply, transaction_id=f"R{out_refund_no}", amount=amount) if reply is REFUND_LOST \
                    else GatewayReply("refunded", transaction_id=f"R{out_refund_no}", amount=amount)
            return reply

    def query_refund(self, out_trade_no: str, out_refund_no: str) -> GatewayReply:
        with self._lock:
            self.calls.append(("query_refund", out_trade_no, out_refund_no))
            reply = self._next("query_refund")
            found = self.trades.get(out_trade_no)
            if reply is not None:
                if reply is REFUNDED and found is not None:
                    return GatewayReply("refunded", transaction_id=f"R{out_refund_no}",
                                        amount=found.refunds.get(out_refund_no))
                return reply
            if found is None or out_refund_no not in found.refunds:
                return GatewayReply("closed", reason="no such refund", code="REFUND_NOT_EXIST")
            return GatewayReply("refunded", transaction_id=f"R{out_refund_no}", amount=found.refunds[out_refund_no])

    # -- scripted replies applied to the money -----------------------------------------------------
    def _apply(self, trade: FakeTrade, reply: GatewayReply) -> GatewayReply:
        if reply is PAID or reply is LOST:
            trade.amount = trade.amount or 0
            self._charge(trade)
            return self._paid(trade) if reply is PAID else replace(LOST, transaction_id="")
        if reply.status == "paid":
            self._charge(trade)
            return replace(reply, transaction_id=reply.transaction_id or trade.transaction_id,
                           amount=reply.amount if reply.amount is not None else trade.amount)
        if reply.status == "failed" and trade.state == "paying":
            trade.state = "failed"
        if reply.status == "closed":
            trade.state = "closed"
        return reply
