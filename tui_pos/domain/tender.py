"""Tenders and settlement: cash with change and cash rounding, card, mobile, split tender."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from tui_pos.domain.errors import N_, BadInput, TenderError, check_text
from tui_pos.domain.money import MAX_MINOR, Currency, round_to_step

TenderKind = Literal["cash", "card", "mobile"]
TENDER_KINDS: tuple[TenderKind, ...] = ("cash", "card", "mobile")
# a tender in running text, as a person reads it (N_-marked: _(TENDER_WORDS[kind]) where shown; the
# records keep the English kind; the receipt's TENDER_LABELS are its headings)
TENDER_WORDS = {"cash": N_("cash"), "card": N_("card"), "mobile": N_("mobile")}
REFERENCE_LENGTH = 64  # a card authorisation code, a WeChat/Alipay transaction number (28-32 digits)


@dataclass(frozen=True)
class Tender:
    """One payment. Card and mobile carry the external reference (e.g. the WeChat/Alipay number).
    A refund's tenders are money paid back: negative amounts (sales take only positive ones)."""

    kind: TenderKind
    amount: int
    reference: str = ""

    def __post_init__(self) -> None:
        if self.kind not in TENDER_KINDS:
            raise TenderError(N_("unknown tender '{kind}' (use cash, card or mobile)"), kind=self.kind)
        if self.amount == 0:
            raise TenderError(N_("a tender amount must be more than zero"))
        if abs(self.amount) >= MAX_MINOR:
            raise TenderError(N_("a tender amount that large is not possible"))
        if self.kind == "mobile" and not self.reference.strip():
            raise TenderError(N_("a mobile payment needs its transaction number"))


def require_taken(tender: Tender) -> Tender:
    """A tender a sale takes is money received: more than zero."""
    if tender.amount <= 0:
        raise TenderError(N_("a tender amount must be more than zero"))
    try:
        check_text(tender.reference, f"the {tender.kind} reference", REFERENCE_LENGTH)
    except BadInput as err:
        raise TenderError(str(err)) from None
    return tender


@dataclass(frozen=True)
class Settlement:
    """How tenders settle a total: rounding applies to the cash part only; change is cash only."""

    total: int
    rounding: int  # cash rounding adjustment, added to the total (may be negative)
    due: int  # total + rounding
    paid: int
    change: int


def settle(total: int, tenders: Sequence[Tender], cash_step: int, currency: Currency) -> Settlement:
    """Check that tenders cover total and compute change; raise TenderError saying what is missing.

    Non-cash tenders may not exceed what is due (nobody gives change on a card). The cash part of
    the total is rounded to cash_step only when cash is tendered.
    """
    for tender in tenders:
        require_taken(tender)
    non_cash = sum(t.amount for t in tenders if t.kind != "cash")
    cash = sum(t.amount for t in tenders if t.kind == "cash")
    if cash + non_cash >= MAX_MINOR:
        raise TenderError(N_("the payments add up to too large an amount"))
    if non_cash > total:
        raise TenderError(N_("card and mobile payments are more than the total; no change is given on them"))
    cash_part = total - non_cash
    rounded = round_to_step(cash_part, cash_step)
    # cash rounding applies when cash is paid, and when what is left for cash rounds to nothing
    # (due() says 0 is left: a card or mobile payment 0.04 short of a total rounded to 0.10)
    rounding = rounded - cash_part if cash or rounded == 0 else 0
    due = total + rounding
    if cash + non_cash < due:
        raise TenderError(N_("tenders are short by {amount}"), amount=currency.format(due - cash - non_cash, symbol=True))
    return Settlement(total=total, rounding=rounding, due=due, paid=cash + non_cash, change=cash + non_cash - due)

