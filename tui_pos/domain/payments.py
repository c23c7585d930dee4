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

Provider = Literal["alipay", "wechat"]
PROVIDERS: tuple[Provider, ...] = ("alipay", "wechat")

# WeChat: 18 digits starting 10-15. Alipay: 16-24 digits starting 25-30 (the common 18 included).
_WECHAT_CODE = re.compile(r"1[0-5][0-9]{16}")
_ALIPAY_CODE = re.compile(r"(2[5-9]|30)[0-9]{14,22}")

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
