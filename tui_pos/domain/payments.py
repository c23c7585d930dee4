"""Code payments (付款码): the customer's Alipay or WeChat payment code, scanned at the till and
charged by the till itself. Pure: which provider a code belongs to, how it is shown (masked),
the trade numbers derived from the sale's uuid (so that a retry is the same trade), and what a
gateway answers, in one vocabulary for every provider.

Every network call has an unknown outcome: the attempt is made durable before the call (a
PaymentAttempt record) and each outcome after it (a PaymentOutcome record), both in records.py.
The gateway adapters (tui_pos/payments/) turn each provider's wire answers into a GatewayReply;
they never raise for the network or the provider (a timeout, a dropped connection, an HTTP 500
or a reply whose signature does not verify is status "unknown").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from tui_pos.domain.errors import N_

Provider = Literal["alipay", "wechat"]
PROVIDERS: tuple[Provider, ...] = ("alipay", "wechat")
# A provider and an attempt's state as people read them (marked here, translated where shown:
# the till's screens and the CLI alike say "Alipay", "WeChat Pay", "paid"... in one wording)
PROVIDER_NAMES: dict[str, str] = {"alipay": N_("Alipay"), "wechat": N_("WeChat Pay")}
STATE_WORDS: dict[str, str] = {"open": N_("open"), "unknown": N_("unknown"), "paid": N_("paid"), "failed": N_("failed"),
                               "cancelled": N_("cancelled"), "refunded": N_("refunded")}

# WeChat: 18 digits starting 10-15. Alipay: 16-24 digits starting 25-30 (the common 18 included).
_WECHAT_CODE = re.compile(r"1[0-5][0-9]{16}")
_ALIPAY_CODE = re.compile(r"(2[5-9]|30)[0-9]{14,22}")

# An attempt's state as stored: "open" (no outcome yet) or its last outcome's. Unresolved: the
# provider must be asked before anything else is charged. Paid (or refunded) and in no stored
# sale: someone must finish that sale. The one definition of both: the store keeps its needs
# flag by them, the till, the CLI, status and alerts read them.
UNRESOLVED: tuple[str, ...] = ("open", "unknown")
CHARGED: tuple[str, ...] = ("paid", "refunded")


def is_unresolved(state: str) -> bool:
    """Open or unknown: the provider must be asked before anything else is charged."""
    return state in UNRESOLVED


def paid_not_completed(state: str, sale_completed: bool) -> bool:
    """Paid (refunded) and no stored sale carries it: someone must finish that sale."""
    return state in CHARGED and not sale_completed


def needs_someone(state: str, sale_completed: bool) -> bool:
    """Unresolved, or paid and in no stored sale: what `tui-pos payments --unresolved` lists."""
    return is_unresolved(state) or paid_not_completed(state, sale_completed)


TRADE_NO_LENGTH = 32  # WeChat's out_trade_no takes at most 32 characters (Alipay 64)


def recognise_code(code: str) -> Provider | None:
    """The provider whose payment code this is (None: not a payment code, e.g. a product barcode)."""
    code = code.strip()
    if _WECHAT_CODE.fullmatch(code):
        return "wechat"
    if _ALIPAY_CODE.fullmatch(code):
        return "alipay"
    return None


def mask_code(code: str) -> str:
    """The code as logs, records, screens and receipts may show it: its first 4 and last 4 digits."""
    code = code.strip()
    return code[:4] + "*" * max(len(code) - 8, 0) + code[-4:] if len(code) > 8 else "*" * len(code)


def out_trade_no(sale_uuid: str, attempt_no: int) -> str:
    """The provider's trade number of a sale's attempt_no-th code payment (1, 2, ...): derived,
    never random, so that asking again after a crash or a timeout is the same trade."""
    return _derived("P", sale_uuid, attempt_no)


def out_refund_no(refund_uuid: str, attempt_no: int) -> str:
    """The provider's refund number of a refund's attempt_no-th code refund (derived, as above)."""
    return _derived("R", refund_uuid, attempt_no)


def _derived(prefix: str, uuid: str, attempt_no: int) -> str:
    if not 1 <= attempt_no <= 999:
        raise ValueError("attempt numbers run from 1 to 999")
    return f"{prefix}{uuid.replace('-', '')[:28]}{attempt_no:03d}"


@dataclass(frozen=True)
class Trade:
    """One charge asked of a provider. code: the customer's payment code (never logged or stored:
    records keep mask_code(code)); amount in fen; subject: what the customer's phone shows."""

    out_trade_no: str
    amount: int
    subject: str
    code: str = field(repr=False)
    till_id: str = ""


ReplyStatus = Literal["paid", "paying", "failed", "closed", "refunded", "unknown"]


@dataclass(frozen=True)
class GatewayReply:
    """A provider's answer, in one vocabulary:
    - paid: the customer is charged (transaction_id: the provider's number; amount: what was charged);
    - paying: waiting for the customer to confirm on the phone (USERPAYING / WAIT_BUYER_PAY),
      or a refund still being processed;
    - failed: not charged, and it never will be under this trade number (reason says why: a
      code expired, not enough balance...);
    - closed: cancelled or reversed (any charge is returned to the customer), or no such trade;
    - refunded: a refund done;
    - unknown: no answer that can be trusted (timeout, connection dropped, HTTP 5xx, a system
      error, a bad signature): ask again (query), never guess.
    code: the provider's own status or error code (USERPAYING, ACQ.TRADE_NOT_EXIST, SYSTEMERROR...);
    retry: for a cancel, the provider asks for the cancel to be sent again."""

    status: ReplyStatus
    transaction_id: str = ""
    amount: int | None = None
    reason: str = ""
    code: str = ""
    retry: bool = False


# -- what to do next: the step plan of one charge ------------------------------------------------
Action = Literal["pay", "query", "cancel", "stop"]
FINAL_REPLIES: tuple[ReplyStatus, ...] = ("paid", "failed", "closed", "refunded")


@dataclass(frozen=True)
class Schedule:
    """How long a charge may take and how often the provider is asked ([payments] in config.toml).
    wait: seconds the customer gets (from the pay call) before the trade is cancelled or
    reversed; query_every: between two queries; reverse_after: WeChat takes no reverse sooner
    after the pay call; cancel_tries: cancels/reverses sent before the charge ends unknown."""

    wait: float = 60
    query_every: float = 5
    reverse_after: float = 15
    cancel_tries: int = 3


@dataclass(frozen=True)
class Progress:
    """Where one charge stands, as the plan needs it. last: the provider's last answer about the
    trade (None: the pay call was not made yet); elapsed: seconds since the pay call was sent;
    since_call: since the last call returned; deadline: seconds after the pay call at which the
    till stops waiting (the schedule's wait, or sooner when the cashier gave up); cancels: the
    cancels/reverses sent so far, last_was_cancel: the last answer was a cancel's; same_day: the
    pay call was made on the shop's day of today (Alipay cancels only those)."""

    provider: Provider
    last: ReplyStatus | None
    elapsed: float = 0
    since_call: float = 0
    deadline: float = 60
    cancels: int = 0
    last_was_cancel: bool = False
    same_day: bool = True


@dataclass(frozen=True)
class Step:
    """The next step: wait `after` seconds, then do `action` (stop: the charge is over, in
    `state`: paid, failed, cancelled or unknown)."""

    action: Action
    after: float = 0
    state: str = ""


def final_state(last: ReplyStatus | None) -> str:
    """The charge's state when it stops after this answer."""
    return {"paid": "paid", "failed": "failed", "closed": "cancelled", "refunded": "refunded"}.get(last or "", "unknown")


def next_step(progress: Progress, schedule: Schedule) -> Step:
    """What to do next for one charge (pure). The pay call first; then, while the customer
    confirms (paying) or the answer is unknown, a query every query_every seconds until the
    deadline; at the deadline a cancel (Alipay: the same day only) or a reverse (WeChat: never
    sooner than reverse_after seconds after the pay call, and never while the customer is still
    confirming: then it is queried on, for reverse_after seconds more, and the charge ends
    unknown if that does not settle it). A final answer (paid, failed, closed) ends it; an
    unknown cancel is sent again, up to cancel_tries, and then the charge ends unknown (the
    attempt stays unresolved: resolve() asks again before the next payment)."""
    last = progress.last
    if last is None:
        return Step("pay")
    if last in FINAL_REPLIES:
        return Step("stop", state=final_state(last))
    interval = max(schedule.query_every - progress.since_call, 0.0)
    if progress.last_was_cancel and last != "paying":  # unknown (or to be retried): send it again, or stop
        if progress.cancels >= schedule.cancel_tries:
            return Step("stop", state="unknown")
        return Step("cancel", interval)
    if progress.elapsed < progress.deadline:
        return Step("query", min(interval, progress.deadline - progress.elapsed))
    if progress.provider == "alipay":
        return Step("cancel") if progress.same_day and progress.cancels < schedule.cancel_tries \
            else Step("stop", state="unknown")
    # WeChat
    if last == "paying":  # never reversed while the customer confirms: asked again for a while, then left unknown
        if progress.elapsed < max(progress.deadline, schedule.reverse_after) + schedule.reverse_after:
            return Step("query", interval)
        return Step("stop", state="unknown")
    if progress.cancels >= schedule.cancel_tries:
        return Step("stop", state="unknown")
    return Step("cancel", max(schedule.reverse_after - progress.elapsed, 0.0))
