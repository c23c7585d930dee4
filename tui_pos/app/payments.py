"""Code payments (付款码) at the till: the customer's Alipay or WeChat payment code charged by the
till itself, through a CodeGateway (app/ports.py; tui_pos/payments/ fulfils it).

Every network call has an unknown outcome, so:
- the PaymentAttempt is durable BEFORE the gateway is called (start()), with an out_trade_no
  derived from the sale's uuid and the attempt's number: asking again is the same trade, and a
  new number is taken only once the last attempt of the sale ended without a charge;
- each final answer is a PaymentOutcome, durable after the call (advance()); one that cannot be
  stored is kept here and stored again, and after a restart the provider is asked (resolve()):
  an outcome is never guessed;
- a paid charge becomes a mobile tender on the sale in progress (saved with the cart), with the
  provider's transaction id: the cashier completes the sale as after any tender;
- no new code payment while an attempt is unresolved (open, or its outcome unknown): resolve()
  asks the provider first, and settles it (paid: the tender back on the sale, or listed as
  "paid, sale not completed"; not paid: cancelled or reversed as each provider's rules say).

The step plan (when to query, cancel or reverse) is pure: domain/payments.py next_step.
Gateway calls block up to their timeout: advance(), abandon() and resolve() are for a worker,
never the scan path. start() makes no call but the gateway's quick online() check.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal

from tui_pos.app.context import TillContext, log
from tui_pos.app.ports import CodeGateway, TillStore
from tui_pos.app.selling import Selling
from tui_pos.app.session import Session
from tui_pos.domain.cart import Cart
from tui_pos.domain.errors import N_, CartError, CodePaymentRefused, PosError, StorageFailed
from tui_pos.domain.payments import (
    CHARGED,
    UNRESOLVED,
    GatewayReply,
    Progress,
    Provider,
    Schedule,
    Trade,
    is_unresolved,
    mask_code,
    next_step,
    out_refund_no,
    out_trade_no,
    paid_not_completed,
    recognise_code,
)
from tui_pos.domain.records import OutcomeState, PaymentAttempt, PaymentOutcome
from tui_pos.domain.tender import Tender

ChargeState = Literal["charging", "paying", "paid", "failed", "cancelled", "unknown"]
TICK = 1.0  # advance() sleeps at most this long per call: the countdown on screen moves

# What the cashier reads, per state of a charge (templates: the UI translates them, i18n.message)
MESSAGES = {
    "charging": N_("Charging {amount}: waiting for the provider's answer"),
    "paying": N_("Waiting for the customer to confirm the payment on the phone"),
    "asking": N_("No clear answer from the provider yet: asking again"),
    "cancelling": N_("Cancelling the payment"),
    "paid": N_("Paid {amount}"),
    "paid_unsaved": N_("Paid {amount}, but it could not be stored yet: free disk space or plug in the journal "
                       "drive; the till keeps trying. Do not charge again"),
    "paid_elsewhere": N_("Paid {amount}, but the sale in progress is another one: finish that sale from the "
                         "payments list"),
    "failed": N_("Not paid: {reason}. The sale is unchanged: take another payment"),
    "cancelled": N_("Not paid: the payment was cancelled and nothing was charged. The sale is unchanged"),
    "unknown": N_("The outcome of the payment is unknown: do not charge the customer again. The till asks the "
                  "provider before the next code payment (or: tui-pos payments resolve)"),
}


@dataclass(frozen=True)
class Charge:
    """One code payment as the screen shows it. message: in English, filled in; template and
    params: the same to translate (i18n.message(charge)). seconds_left: until the deadline;
    done: nothing more will happen to it (paid, failed, cancelled, or unknown and left to resolve())."""

    attempt_uuid: str
    provider: Provider
    amount: int
    code_mask: str
    state: ChargeState
    message: str
    seconds_left: float
    done: bool
    transaction_id: str = ""
    template: str = ""
    params: dict[str, Any] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class PaymentView:
    """A code payment as stored (the store's view): the attempt, its state ("open" or its last
    outcome's), what the provider said, and whether a stored sale carries it."""

    uuid: str
    sale_uuid: str
    kind: str
    provider: str
    attempt_no: int
    out_trade_no: str
    out_refund_no: str
    amount: int
    code_mask: str
    cashier: str | None
    at: str
    original_sale_uuid: str | None
    state: str
    transaction_id: str
    charged: int | None
    reason: str
    code: str
    outcome_at: str | None
    sale_completed: bool
    stored: str

    @classmethod
    def of(cls, row: dict[str, Any]) -> PaymentView:
        fields: dict[str, Any] = {name: row.get(name) for name in cls.__dataclass_fields__}
        return cls(**fields)

    @property
    def unresolved(self) -> bool:
        """Open or unknown: the provider must be asked before anything else is charged."""
        return is_unresolved(self.state)

    @property
    def paid_not_completed(self) -> bool:
        """Paid (refunded) and no stored sale carries it: someone must finish that sale."""
        return paid_not_completed(self.state, self.sale_completed)

    def to_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__} | {
            "unresolved": self.unresolved, "paid_not_completed": self.paid_not_completed}


@dataclass
class _Live:
    """A charge this process is working on."""

    attempt: PaymentAttempt
    code: str  # the customer's code, in memory only until the pay call
    started: float  # monotonic, at start()
    sent: float | None = None  # monotonic, when the pay call was sent
    returned: float = 0.0  # monotonic, when the last call returned
    last: GatewayReply | None = None
    deadline: float = 0.0  # seconds after the pay call
    cancels: int = 0
    last_was_cancel: bool = False
    state: ChargeState = "charging"
    key: str = "charging"
    params: dict[str, Any] = field(default_factory=dict)
    unsaved: PaymentOutcome | None = None  # a final outcome not stored yet: stored again before anything else
    done: bool = False
    transaction_id: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)  # one step at a time (the worker, abandon)


Gateways = Callable[[Provider], CodeGateway | None]


def _transaction_id(attempt: PaymentAttempt, reply: GatewayReply, state: str) -> str:
    """The number a paid charge is known by: the provider's, else (a reply that left it out) the
    trade's own, so that the tender and the outcome always name the same payment."""
    if reply.transaction_id or state not in CHARGED:
        return reply.transaction_id
    return attempt.out_refund_no if state == "refunded" else attempt.out_trade_no


def _outcome(attempt: PaymentAttempt, reply: GatewayReply, state: str, at: str) -> PaymentOutcome:
    """The outcome record of an attempt that ended in state after this reply (a state that is
    not an outcome's is unknown): what was charged or refunded, and the number it is known by."""
    outcome_state: OutcomeState = state if state in ("paid", "failed", "cancelled", "refunded") \
        else "unknown"  # type: ignore[assignment]
    amount = (reply.amount if reply.amount is not None else attempt.amount) if outcome_state in CHARGED else None
    return PaymentOutcome.new(attempt, outcome_state, at=at, transaction_id=_transaction_id(attempt, reply, outcome_state),
                              amount=amount, reason=reply.reason, code=reply.code)


def _asked_online(gateway: CodeGateway) -> bool:
    try:
        return gateway.online()
    except Exception:  # noqa: BLE001 - a gateway that cannot say is not reachable
        return False


def _asked(call: Callable[[], GatewayReply]) -> GatewayReply:
    """A gateway's answer; one that raised anyway (a gateway must not) is an answer not known."""
    try:
        return call()
    except Exception as err:  # noqa: BLE001 - whatever it was, the outcome is not known: asked again
        log.error("code payment: the gateway failed (%s): the outcome is not known", type(err).__name__)
        return GatewayReply("unknown", reason=type(err).__name__, code="GATEWAY_ERROR")


class CodePayments:
    """till.payments. gateways(provider): the provider's gateway (None: not set up; raises a
    PosError when its settings are unusable); crash(name): the crash points of the payment flow
    (store/crash.py, given by bootstrap); sleep and monotonic: the waiting (tests pass their own)."""

    def __init__(self, ctx: TillContext, store: TillStore, session: Session, selling: Selling, *,
                 gateways: Gateways | None = None, crash: Callable[[str], None] | None = None,
                 sleep: Callable[[float], None] = time.sleep, monotonic: Callable[[], float] = time.monotonic):
        self.ctx = ctx
        self.store = store
        self.session = session
        self.selling = selling
        self._gateways = gateways or (lambda provider: None)
        self._chosen: dict[str, CodeGateway] = {}
        self._crash = crash or (lambda name: None)
        self.sleep = sleep
        self.monotonic = monotonic
        self._live: dict[str, _Live] = {}
        self._lock = threading.RLock()

    # -- gateways ------------------------------------------------------------------------------
    def use_gateway(self, gateway: CodeGateway) -> None:
        """Use this gateway for its provider (tests: a fake or a simulator's)."""
        self._chosen[gateway.provider] = gateway

    def gateway(self, provider: Provider) -> CodeGateway | None:
        """The provider's gateway, built from config.toml on first use (None: not set up)."""
        if provider not in self._chosen:
            found = self._gateways(provider)
            if found is None:
                return None
            self._chosen[provider] = found
        return self._chosen[provider]

    @property
    def schedule(self) -> Schedule:
        settings = self.ctx.config.payments
        return Schedule(wait=settings.wait, query_every=settings.query_every, reverse_after=settings.reverse_after)

    # -- starting ------------------------------------------------------------------------------
    def start(self, code: str, amount: int | None = None) -> Charge:
        """Check, then make the attempt durable (no charge yet: advance() calls the gateway).
        CodePaymentRefused (nothing recorded, the sale untouched) when this is not a payment
        code, the provider is not set up or cannot be reached, an earlier attempt is unresolved,
        the sale is empty, or the amount is more than what is left."""
        code = code.strip()
        provider = recognise_code(code)
        if provider is None:
            raise CodePaymentRefused(N_("that is not an Alipay or WeChat payment code"))
        if not self._lock.acquire(blocking=False):  # resolve() is asking the providers: never wait on the scan path
            raise CodePaymentRefused(N_("the till is checking earlier code payments: try again in a moment"))
        try:
            return self._start(code, provider, amount)
        finally:
            self._lock.release()

    def _start(self, code: str, provider: Provider, amount: int | None) -> Charge:
        selling = self.selling
        selling.refuse_if_pending("the last payment may already be stored: retry it first")
        cart = selling.cart
        if cart.is_empty:
            raise CodePaymentRefused(N_("the sale is empty: scan an item first"))
        selling.shifts.require()  # a sale needs an open shift: charged first, it could not be stored
        left = selling.due().left
        amount = left if amount is None else amount
        if amount <= 0:
            raise CodePaymentRefused(N_("nothing is left to pay") if left <= 0
                                     else N_("a tender amount must be more than zero"))
        if amount > left:
            raise CodePaymentRefused(N_("{amount} is more than what is left to pay ({left})"),
                                     amount=self._money(amount), left=self._money(left))
        if any(not live.done for live in self._live.values()):
            raise CodePaymentRefused(N_("a code payment is in progress: wait for its answer"))
        gateway = self._gateway_or_refuse(provider)
        # one read: every attempt that needs someone, and this sale's (its next attempt number)
        attempts, readable = self.store.payment_attempts(unresolved=True, sale_uuid=cart.uuid)
        if not readable:
            raise CodePaymentRefused(N_("the database cannot be read, so earlier code payments cannot be "
                                        "checked: take cash or card"))
        if any(is_unresolved(a["state"]) for a in attempts):
            raise CodePaymentRefused(N_("an earlier code payment is not settled yet: resolve it first (the "
                                        "payments list, or tui-pos payments resolve)"))
        carried = {t.reference for t in cart.tenders if t.kind == "mobile"}
        mine = [a for a in attempts if a["sale_uuid"] == cart.uuid and a["kind"] == "pay"]
        paid_here = [a for a in mine if paid_not_completed(a["state"], a["sale_completed"])
                     and (a["transaction_id"] or a["out_trade_no"]) not in carried]
        if paid_here:  # e.g. killed after the outcome, before its tender: a second charge would be twice for one sale
            raise CodePaymentRefused(N_("{amount} of this sale is already paid by code and not on the sale yet: "
                                        "finish it from the payments list; do not charge the customer again"),
                                     amount=self._money(sum(a["charged"] or a["amount"] for a in paid_here)))
        if not gateway.online():
            raise CodePaymentRefused(N_("offline: take cash or card"))
        number = max((a["attempt_no"] for a in mine), default=0) + 1
        attempt = PaymentAttempt.new(
            self.ctx.till_id, at=self.ctx.clock(), sale_uuid=cart.uuid, kind="pay", provider=provider,
            attempt_no=number, out_trade_no=out_trade_no(cart.uuid, number), amount=amount,
            cashier=self.session.cashier, code_mask=mask_code(code))
        self._crash("payment_before_attempt")
        try:
            self.store.commit(attempt.to_record())
        except StorageFailed as err:
            log.error("NOT STORED: code payment %s of %s (nothing charged); database: %s; journal: %s",
                      attempt.out_trade_no, self._money(amount), err.sqlite_error, err.journal_error)
            raise CodePaymentRefused(N_("the payment could not be stored before charging, so nothing was "
                                        "charged: take cash or card")) from None
        self._crash("payment_after_attempt")
        log.info("code payment %s: %s %s of sale %s, code %s, by %s", attempt.out_trade_no, provider,
                 self._money(amount), cart.uuid, attempt.code_mask, attempt.cashier)
        live = _Live(attempt, code, self.monotonic(), deadline=self.schedule.wait, params={"amount": self._money(amount)})
        self._live[attempt.uuid] = live
        return self._charge(live)

    def _gateway_or_refuse(self, provider: Provider) -> CodeGateway:
        try:
            gateway = self.gateway(provider)
        except PosError as err:
            log.error("code payment refused: the %s gateway cannot be set up: %s", provider, err)
            raise CodePaymentRefused(N_("{provider} payments are not set up right on this till ({error}): take cash "
                                        "or card"), provider=provider, error=str(err)) from None
        if gateway is None:
            raise CodePaymentRefused(N_("{provider} payments are not set up on this till: take cash or card"),
                                     provider=provider)
        return gateway

    # -- the charge ------------------------------------------------------------------------------
    def advance(self, charge: Charge) -> Charge:
        """The next step of the charge (blocking: a worker calls it until charge.done): the pay
        call, then queries at the interval, a cancel or reverse at the deadline; each final
        outcome stored. Paid: the outcome stored, then the mobile tender added to the sale."""
        live = self._live.get(charge.attempt_uuid)
        if live is None:
            raise CartError(N_("that code payment is not in progress here"))
        with live.lock:
            return self._advance(live)

    def _advance(self, live: _Live) -> Charge:
        if live.done:
            return self._charge(live)
        if live.unsaved is not None:
            self._store_outcome(live, live.unsaved)
            return self._charge(live)
        step = self._plan(live)
        if step.after > 0:
            wait = min(step.after, TICK)
            self.sleep(wait)
            if step.after > wait:
                return self._charge(live)
        self._do(live, step.action, step.state)
        if live.last is not None and live.last.status in ("paid", "failed", "closed") and not live.done \
                and live.unsaved is None:
            self._do(live, "stop", self._plan(live).state)
        return self._charge(live)

    def abandon(self, charge: Charge) -> Charge:
        """The cashier gives up: cancel or reverse the trade within each provider's rules (blocking;
        WeChat: not before reverse_after, nor while the customer confirms). Paid already: nothing
        is cancelled (the tender is on the sale)."""
        live = self._live.get(charge.attempt_uuid)
        if live is None:
            raise CartError(N_("that code payment is not in progress here"))
        with live.lock:
            if not live.done and live.sent is not None:
                live.deadline = min(live.deadline, self.monotonic() - live.sent)
            elif not live.done:  # never sent: nothing to cancel; the provider has no such trade
                live.last = GatewayReply("closed", reason="not sent")
        while not live.done and live.unsaved is None:
            self.advance(self._charge(live))
        return self._charge(live)

    def _plan(self, live: _Live) -> Any:
        now = self.monotonic()
        progress = Progress(
            live.attempt.provider, live.last.status if live.last is not None else None,
            elapsed=now - live.sent if live.sent is not None else 0.0,
            since_call=now - live.returned if live.last is not None else 0.0, deadline=live.deadline,
            cancels=live.cancels, last_was_cancel=live.last_was_cancel)
        return next_step(progress, self.schedule)

    def _do(self, live: _Live, action: str, state: str) -> None:
        attempt = live.attempt
        if action == "stop":
            self._finish(live, state)
            return
        gateway = self.gateway(attempt.provider)
        if gateway is None:  # unset meanwhile: nothing more can be asked
            self._finish(live, "unknown")
            return
        if action == "pay":
            live.sent = self.monotonic()
            trade = Trade(attempt.out_trade_no, attempt.amount, self.ctx.config.shop_name, live.code,
                          self.ctx.till_id)
            live.code = ""  # never kept longer than the call: a retry is a query of the same trade
            reply = _asked(lambda: gateway.pay(trade))
            self._crash("payment_after_call")
        elif action == "query":
            reply = _asked(lambda: gateway.query(attempt.out_trade_no))
        else:
            live.cancels += 1
            live.key, live.state = "cancelling", live.state
            reply = _asked(lambda: gateway.cancel(attempt.out_trade_no))
            if reply.status == "failed":  # refused: the trade's state is what matters, asked next
                reply = replace(reply, status="unknown")
        live.returned = self.monotonic()
        live.last, live.last_was_cancel = reply, action == "cancel"
        log.info("code payment %s: %s -> %s%s", attempt.out_trade_no, action, reply.status,
                 f" ({reply.code})" if reply.code else "")
        if reply.status == "paying":
            live.state, live.key = "paying", "paying"
        elif reply.status == "unknown":
            live.state, live.key = "unknown", "cancelling" if action == "cancel" else "asking"

    def _finish(self, live: _Live, state: str) -> None:
        self._store_outcome(live, _outcome(live.attempt, live.last or GatewayReply("unknown"), state, self.ctx.clock()))

    def _store_outcome(self, live: _Live, outcome: PaymentOutcome) -> None:
        """Store a final outcome; kept for another try if nothing took it (never guessed after)."""
        try:
            self.store.commit(outcome.to_record())
        except StorageFailed as err:
            log.error("NOT STORED: outcome %s of code payment %s; database: %s; journal: %s (kept: stored again, "
                      "or the provider asked after a restart)", outcome.state, live.attempt.out_trade_no,
                      err.sqlite_error, err.journal_error)
            live.unsaved = outcome
            if outcome.state == "paid":
                live.state, live.key = "paid", "paid_unsaved"
            self.sleep(TICK)
            return
        self._crash("payment_after_outcome")
        live.unsaved, live.done, live.transaction_id = None, True, outcome.transaction_id
        live.state = {"paid": "paid", "failed": "failed", "cancelled": "cancelled"}.get(  # type: ignore[assignment]
            outcome.state, "unknown")
        live.key = live.state
        if outcome.state == "failed":
            live.params["reason"] = outcome.reason or outcome.code or "refused"
        if outcome.state == "paid":
            live.params["amount"] = self._money(outcome.amount or live.attempt.amount)
            if not self._tender_back(live.attempt, outcome.transaction_id, outcome.amount or live.attempt.amount):
                live.key = "paid_elsewhere"
        log.info("code payment %s: %s%s", live.attempt.out_trade_no, outcome.state,
                 f" {outcome.transaction_id}" if outcome.transaction_id else "")

    def _tender_back(self, attempt: PaymentAttempt, transaction_id: str, amount: int) -> bool:
        """Put the paid charge on the sale in progress as a mobile tender (saved with the cart):
        True when it is there; False when the sale in progress is another (or takes it no more)."""
        cart = self.selling.cart
        if cart.uuid != attempt.sale_uuid:
            return False
        if any(t.kind == "mobile" and t.reference == transaction_id for t in cart.tenders):
            return True
        try:
            # the paid outcome is durable: the sale's own copy need not wait for the disk (one fsync
            # less between the scan and "paid"); a power cut that loses it is mended by resolve()
            self.selling.add_tender(Tender("mobile", amount, transaction_id), sync=False)
        except PosError as err:
            log.error("code payment %s is paid, but the sale in progress refused its tender: %s",
                      attempt.out_trade_no, err)
            return False
        return True

    def _charge(self, live: _Live) -> Charge:
        template = MESSAGES[live.key]
        params = dict(live.params)
        if "reason" in template and "reason" not in params:
            params["reason"] = "refused"
        left = live.deadline - (self.monotonic() - live.sent) if live.sent is not None else live.deadline
        return Charge(live.attempt.uuid, live.attempt.provider, live.attempt.amount, live.attempt.code_mask,
                      live.state, template.format(**params), max(left, 0.0) if not live.done else 0.0, live.done,
                      live.transaction_id, template, params)

    # -- refunds of a sale paid by code -------------------------------------------------------------
    def paid_by_code(self, sale_uuid: str, reference: str) -> dict[str, Any] | None:
        """The paid code payment of this sale whose transaction id is this tender's reference (None:
        the tender was not charged by the till, e.g. a reference typed by hand)."""
        rows, _ = self.store.payment_attempts(sale_uuid=sale_uuid)
        return next((r for r in rows if r["kind"] == "pay" and r["state"] == "paid" and reference
                     and r["transaction_id"] == reference), None)

    def open_refund(self, original_uuid: str) -> dict[str, Any] | None:
        """A code refund of this sale asked of its provider whose refund sale is not stored: unresolved,
        or refunded and not recorded (the refund is then stored under its uuid, never asked twice)."""
        rows, _ = self.store.payment_attempts(unresolved=True)
        return next((r for r in rows if r["kind"] == "refund" and r["original_sale_uuid"] == original_uuid
                     and r["state"] in (*UNRESOLVED, "refunded")), None)

    def refund(self, paid: dict[str, Any], refund_uuid: str, amount: int, reason: str) -> PaymentView:
        """Give amount of a paid code payment (paid: its view row) back through its provider, for the
        refund sale refund_uuid (blocking): the refund attempt durable before the call, its
        out_refund_no derived from refund_uuid; an unknown answer is asked again (query_refund, the
        same out_refund_no) until the wait is over, never sent twice. Returns the refund's view once
        the provider said refunded; CodePaymentRefused otherwise (failed: nothing given back; not
        confirmed: stored as unknown, settled by resolve() or the next try of this refund)."""
        provider: Provider = paid["provider"]
        with self._lock:
            gateway = self._gateway_or_refuse(provider)
            earlier = [r for r in self.store.payment_attempts(sale_uuid=refund_uuid)[0]
                       if r["kind"] == "refund" and r["out_trade_no"] == paid["out_trade_no"]]
            last = earlier[-1] if earlier else None
            if last is not None and last["state"] == "refunded":
                return PaymentView.of(last)
            if last is not None and is_unresolved(last["state"]):
                attempt, ask_first = PaymentAttempt.from_record(last), "query"
            else:
                if not gateway.online():
                    raise CodePaymentRefused(N_("offline: the refund cannot go back through {provider}; refund in cash "
                                                "instead"), provider=provider)
                number = len(earlier) + 1
                attempt = PaymentAttempt.new(
                    self.ctx.till_id, at=self.ctx.clock(), sale_uuid=refund_uuid, kind="refund", provider=provider,
                    attempt_no=number, out_trade_no=paid["out_trade_no"], amount=amount, cashier=self.session.cashier,
                    out_refund_no=out_refund_no(refund_uuid, number), original_sale_uuid=paid["sale_uuid"])
                self._crash("payment_before_attempt")
                try:
                    self.store.commit(attempt.to_record())
                except StorageFailed as err:
                    log.error("NOT STORED: code refund %s (nothing refunded); database: %s; journal: %s",
                              attempt.out_refund_no, err.sqlite_error, err.journal_error)
                    raise CodePaymentRefused(N_("the refund could not be stored before asking {provider}, so nothing "
                                                "was refunded: try again, or refund in cash"), provider=provider) from None
                self._crash("payment_after_attempt")
                ask_first = "refund"
            reply = self._ask_refund(gateway, attempt, ask_first, paid, reason)
            state = "refunded" if reply.status == "refunded" else "failed" if reply.status in ("failed", "closed") \
                else "unknown"
            self._record(attempt, reply, state)
            rows, _ = self.store.payment_attempts(sale_uuid=refund_uuid)
            view = next((PaymentView.of(r) for r in rows if r["uuid"] == attempt.uuid), None)
            if state == "refunded" and view is not None and view.state == "refunded":
                return view
            if state == "failed":
                raise CodePaymentRefused(N_("{provider} refused the refund: {reason}. Nothing was given back; refund "
                                            "in cash instead"), provider=provider,
                                         reason=reply.reason or reply.code or "refused")
            raise CodePaymentRefused(N_("{provider} has not confirmed the refund yet: nothing is stored. Try the same "
                                        "refund again later (it is never paid out twice), or: tui-pos payments resolve"),
                                     provider=provider)

    def _ask_refund(self, gateway: CodeGateway, attempt: PaymentAttempt, first: str, paid: dict[str, Any],
                    reason: str) -> GatewayReply:
        """refund (or query_refund first, for an attempt asked before), then query_refund at the
        interval while the answer is unknown or processing, until the wait is over."""
        total = paid["charged"] or paid["amount"]
        started = self.monotonic()
        ask = first
        while True:
            if ask == "refund":
                reply = _asked(lambda: gateway.refund(attempt.out_trade_no, attempt.out_refund_no, attempt.amount,
                                                      total, reason))
                self._crash("payment_after_call")
            else:
                reply = _asked(lambda: gateway.query_refund(attempt.out_trade_no, attempt.out_refund_no))
                if reply.status in ("closed", "failed") and first == "query" and ask == first:  # not there (Alipay: failed,
                    # REFUND_NOT_EXIST): ask now, the same number (the same refund: never refunded twice)
                    ask = "refund"
                    continue
            log.info("code refund %s: %s -> %s%s", attempt.out_refund_no, ask, reply.status,
                     f" ({reply.code})" if reply.code else "")
            if reply.status in ("refunded", "failed", "closed"):
                return reply
            if self.monotonic() - started >= self.schedule.wait:
                return reply
            self.sleep(self.schedule.query_every)
            ask = "query"

    # -- after a crash, a restart, an unknown outcome ------------------------------------------------
    def resolve(self) -> list[PaymentView]:
        """Settle every unresolved attempt (blocking: a worker runs it at start-up and before a new
        payment): outcomes kept unstored are stored again; each other is asked of its provider.
        Paid: stored, and the tender put back on the sale in progress when it is that sale (else it
        stays "paid, sale not completed"); not paid: stored as failed or cancelled, cancelling or
        reversing it first when its rules allow; still unknown: left for the next time. A paid one
        whose sale is the one in progress gets its tender back too. Returns the attempts looked at."""
        with self._lock:
            looked: dict[str, str] = {}  # attempt uuid -> its sale's, in the order looked at
            for live in list(self._live.values()):
                if live.unsaved is not None:
                    self._store_outcome(live, live.unsaved)
                    looked[live.attempt.uuid] = live.attempt.sale_uuid
            busy = {uuid for uuid, live in self._live.items() if not live.done}
            attempts, _ = self.store.payment_attempts(unresolved=True)
            for row in attempts:
                if row["uuid"] in busy:
                    continue
                looked[row["uuid"]] = row["sale_uuid"]
                attempt = PaymentAttempt.from_record(row)
                if is_unresolved(row["state"]):
                    try:
                        self._settle(attempt)
                    except PosError as err:
                        log.error("code payment %s could not be settled: %s", attempt.out_trade_no, err)
                elif row["state"] == "paid" and attempt.kind == "pay":
                    self._tender_back(attempt, row["transaction_id"], row["charged"] or attempt.amount)
            # as they are now: their sales' attempts (indexed), never every attempt of the years
            now = {r["uuid"]: r for sale_uuid in dict.fromkeys(looked.values())
                   for r in self.store.payment_attempts(sale_uuid=sale_uuid)[0]}
            return [PaymentView.of(now[uuid]) for uuid in looked if uuid in now]

    def _settle(self, attempt: PaymentAttempt) -> None:
        gateway = self.gateway(attempt.provider)
        if gateway is None or not _asked_online(gateway):  # offline: asked next time, at once
            return
        age = self._age(attempt.at)
        if attempt.kind == "refund":
            reply = _asked(lambda: gateway.query_refund(attempt.out_trade_no, attempt.out_refund_no))
            if reply.status in ("failed", "closed") and age < self._in_flight():
                return  # no such refund yet (or not done): its request may still be on its way, asked again
            if reply.status in ("refunded", "failed", "closed"):
                self._record(attempt, reply, "refunded" if reply.status == "refunded" else "failed")
            return
        reply = _asked(lambda: gateway.query(attempt.out_trade_no))
        if reply.status == "unknown":  # one answer lost on the way is common: asked once more
            self.sleep(min(self.schedule.query_every, 2.0))
            reply = _asked(lambda: gateway.query(attempt.out_trade_no))
        log.info("resolving code payment %s: query -> %s", attempt.out_trade_no, reply.status)
        if reply.status == "closed" and age < self._in_flight():
            # No such trade yet, but its pay may be on its way: sent by a till still charging it
            # (resolve from another process), or by one killed a moment ago. Taken as final, a
            # charge arriving after it would be "cancelled, nothing charged" for good: asked again.
            log.info("resolving code payment %s: no such trade yet, %.0f s after the attempt: asked again later",
                     attempt.out_trade_no, age)
            return
        progress = Progress(attempt.provider, reply.status, elapsed=age, since_call=self.schedule.query_every,
                            deadline=self.schedule.wait, same_day=self._same_day(attempt.at))
        step = next_step(progress, self.schedule)
        if step.action == "stop" and step.state != "unknown":
            self._record(attempt, reply, step.state)
        elif step.action == "cancel" and step.after == 0:
            cancelled = _asked(lambda: gateway.cancel(attempt.out_trade_no))
            log.info("resolving code payment %s: cancel -> %s", attempt.out_trade_no, cancelled.status)
            if cancelled.status in ("closed", "paid"):
                self._record(attempt, cancelled, "cancelled" if cancelled.status == "closed" else "paid")

    def _in_flight(self) -> float:
        """How long after its attempt a pay or refund request may still reach the provider (the
        adapters' not_exist_grace: twice the calls' timeout, and 5 s)."""
        return 2 * float(self.ctx.config.payments.timeout) + 5.0

    def _record(self, attempt: PaymentAttempt, reply: GatewayReply, state: str) -> None:
        """Store an outcome found by resolve(); StorageFailed: nothing stored, asked again next time."""
        outcome = _outcome(attempt, reply, state, self.ctx.clock())
        try:
            self.store.commit(outcome.to_record())
        except StorageFailed as err:
            log.error("NOT STORED: outcome %s of code payment %s (asked again next time); database: %s; journal: %s",
                      outcome.state, attempt.out_trade_no, err.sqlite_error, err.journal_error)
            return
        log.info("code payment %s resolved: %s%s", attempt.out_trade_no, outcome.state,
                 f" {reply.transaction_id}" if reply.transaction_id else "")
        if outcome.state == "paid" and attempt.kind == "pay":
            self._tender_back(attempt, outcome.transaction_id, outcome.amount or attempt.amount)

    def _age(self, at: str) -> float:
        try:
            return (datetime.fromisoformat(self.ctx.clock()) - datetime.fromisoformat(at)).total_seconds()
        except ValueError:
            return float("inf")

    def _same_day(self, at: str) -> bool:
        try:
            return datetime.fromisoformat(self.ctx.clock()).astimezone().date() == \
                datetime.fromisoformat(at).astimezone().date()
        except ValueError:
            return False

    # -- "paid, sale not completed" ----------------------------------------------------------------
    def finish(self, attempt_uuid: str) -> Cart:
        """Bring the sale of a payment listed "paid, sale not completed" back to the till with its
        mobile tender, for the cashier to complete (as after any tender): the sale in progress if
        it is that sale; a held sale of it, recalled; else the sale in progress (empty, or with no
        payment taken yet) takes that sale's identity, so that the stored sale carries the payment.
        CartError when the sale in progress has payments of its own (finish or hold it first)."""
        rows, _ = self.store.payment_attempts(unresolved=True)
        row = next((r for r in rows if r["uuid"] == attempt_uuid), None)
        if row is None or row["kind"] != "pay" or row["state"] != "paid" or row["sale_completed"]:
            raise CartError(N_("that code payment is not waiting for its sale"))
        attempt = PaymentAttempt.from_record(row)
        selling = self.selling
        if selling.cart.uuid != attempt.sale_uuid:
            held = [h.cart.uuid for h in selling.held_sales()]
            if attempt.sale_uuid in held and selling.cart.is_empty:
                selling.recall(attempt.sale_uuid)
            elif selling.cart.tenders:
                raise CartError(N_("the sale in progress has payments of its own: complete or hold it first"))
            else:
                selling.take_identity(attempt.sale_uuid)
        if not self._tender_back(attempt, row["transaction_id"], row["charged"] or attempt.amount):
            raise CartError(N_("the sale in progress cannot take that payment: it is more than the sale's total; "
                               "scan the items first"))
        return selling.cart

    # -- reading -------------------------------------------------------------------------------------
    def list(self, unresolved: bool = False) -> list[PaymentView]:
        """Code payments as stored, oldest first (unresolved: those that need someone: open,
        unknown, or paid and in no stored sale)."""
        rows, _ = self.store.payment_attempts(unresolved=unresolved)
        return [PaymentView.of(r) for r in rows]

    def unresolved(self) -> bool:
        """Is any attempt open or unknown (resolve() first, before the next code payment)?"""
        rows, _ = self.store.payment_attempts(unresolved=True)
        return any(is_unresolved(r["state"]) for r in rows) or any(
            live.unsaved is not None for live in self._live.values())

    def _money(self, amount: int) -> str:
        return self.ctx.currency.format(amount)
