"""Reconciling code payments against the provider's daily statement (issue 15): what the provider
says it charged and refunded, row by row, against what the till recorded (its payment attempts,
their outcomes and the sales that carry them), mismatches listed both ways.

Pure: the statement arrives parsed (tui_pos/payments/statements.py makes StatementRows of
Alipay's and WeChat Pay's bill files), the till's side as record dicts (the to_record() form:
what the till's store view holds and what HQ keeps as JSON alike), so the till and HQ reconcile
with one function.

A row and an attempt are the same trade when they carry the same provider trade number: the
out_trade_no for a charge, the out_refund_no for a refund (both derived from the sale's uuid,
domain/payments.py). What can be wrong:
- charged_no_sale: the provider charged the customer and no stored sale carries it (no attempt
  at all, an attempt the till never knew was paid, or "paid, sale not completed");
- sale_not_charged: the till holds a paid charge (in the statement's days) the statement lacks;
- amount_differs: both have it, with other amounts;
- refund_not_recorded / refund_not_in_statement / refund_amount_differs: the same for refunds.
A charge the till cancelled that the provider charged and then refunded under the same trade
number (an Alipay cancel of a paid trade, a WeChat reverse) is settled: it nets to nothing.

The statements' days are the providers' (Beijing time, UTC+8): the till's own charges are checked
for the statement's days only (a statement of 3 December says nothing of the 4th), while every
statement row is looked for in all the till holds (a charge started just before midnight is
still found).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any, Literal

from tui_pos.domain.errors import N_

PROVIDER_ZONE = timezone(timedelta(hours=8))  # both providers' statements run on Beijing time

StatementKind = Literal["pay", "refund"]
MismatchKind = Literal["charged_no_sale", "sale_not_charged", "amount_differs", "refund_not_recorded",
                       "refund_not_in_statement", "refund_amount_differs"]
MISMATCH_KINDS: tuple[MismatchKind, ...] = ("charged_no_sale", "sale_not_charged", "amount_differs",
                                            "refund_not_recorded", "refund_not_in_statement", "refund_amount_differs")

# What each mismatch means, for a person (translated where shown).
MISMATCH_TEXT: dict[str, str] = {
    "charged_no_sale": N_("charged at the provider, no sale recorded"),
    "sale_not_charged": N_("recorded as paid, not in the statement"),
    "amount_differs": N_("amounts differ"),
    "refund_not_recorded": N_("refunded at the provider, no refund recorded"),
    "refund_not_in_statement": N_("refund recorded, not in the statement"),
    "refund_amount_differs": N_("refund amounts differ"),
}


@dataclass(frozen=True)
class StatementRow:
    """One charge or refund on a provider's statement. amount: fen, > 0 (a refund's too);
    at: when the provider completed it (ISO, +08:00); transaction_id: the provider's trade number
    (a refund's row carries its trade's); refund_id: the provider's refund number (WeChat);
    line: where it is in the file."""

    provider: str
    out_trade_no: str
    transaction_id: str
    kind: StatementKind
    amount: int
    at: str
    out_refund_no: str = ""
    refund_id: str = ""
    line: int = 0


@dataclass(frozen=True)
class Statement:
    """A provider's statement: its rows, the days it covers (first_day..last_day, Beijing time;
    None when the file does not say and has no rows), and how many rows were neither a charge nor
    a refund (closed, reversed, refunds still in progress): skipped."""

    provider: str
    rows: tuple[StatementRow, ...]
    first_day: date | None = None
    last_day: date | None = None
    skipped: int = 0


@dataclass(frozen=True)
class TillPayment:
    """One payment attempt as the till knows it: its state (its last outcome's, or "open"), the
    amount charged or refunded (the outcome's, else the attempt's), and whether a stored sale
    carries it (a charge: the sale with a mobile tender of its transaction id; a refund: the
    refund sale)."""

    attempt_uuid: str
    provider: str
    kind: str  # pay | refund
    out_trade_no: str
    out_refund_no: str
    amount: int
    state: str
    transaction_id: str
    sale_uuid: str
    receipt: str
    sale_completed: bool
    at: str
    till_id: str = ""


@dataclass(frozen=True)
class Mismatch:
    kind: MismatchKind
    provider: str
    out_trade_no: str
    transaction_id: str
    statement_amount: int | None
    till_amount: int | None
    sale_uuid: str = ""
    receipt: str = ""
    out_refund_no: str = ""
    state: str = ""  # the till's attempt state ("" when the till has no attempt)
    at: str = ""  # the provider's time, else the till's
    till_id: str = ""
    line: int = 0  # the statement's line (0: not on the statement)

    def to_dict(self, money: Callable[[int], Any] = int) -> dict[str, Any]:
        """Its fields; money(amount) for each amount there is (the CLI: as decimal strings)."""
        return {"kind": self.kind, "provider": self.provider, "out_trade_no": self.out_trade_no,
                "transaction_id": self.transaction_id,
                "statement_amount": None if self.statement_amount is None else money(self.statement_amount),
                "till_amount": None if self.till_amount is None else money(self.till_amount), "sale_uuid": self.sale_uuid or None, "receipt": self.receipt or None,
                "out_refund_no": self.out_refund_no, "state": self.state, "at": self.at, "till_id": self.till_id,
                "line": self.line}


@dataclass(frozen=True)
class Totals:
    count: int = 0
    amount: int = 0

    def add(self, amount: int) -> Totals:
        return Totals(self.count + 1, self.amount + amount)

    @classmethod
    def of(cls, amounts: Iterable[int]) -> Totals:
        listed = list(amounts)
        return cls(len(listed), sum(listed))


@dataclass(frozen=True)
class Reconciliation:
    """What reconcile() found: the mismatches (statement's order, then the till's), what matched,
    and the totals of each side (the till's: its charges and refunds of the statement's days)."""

    provider: str
    first_day: date | None
    last_day: date | None
    mismatches: tuple[Mismatch, ...]
    matched_pays: Totals = field(default_factory=Totals)
    matched_refunds: Totals = field(default_factory=Totals)
    reversed: Totals = field(default_factory=Totals)  # charged and refunded at once under a cancelled attempt
    statement_pays: Totals = field(default_factory=Totals)
    statement_refunds: Totals = field(default_factory=Totals)
    till_pays: Totals = field(default_factory=Totals)
    till_refunds: Totals = field(default_factory=Totals)
    skipped: int = 0

    @property
    def ok(self) -> bool:
        return not self.mismatches

    def to_dict(self, money: Callable[[int], Any] = int) -> dict[str, Any]:
        """For --json and CSV; money(amount) for every amount (the CLI: as decimal strings)."""
        def totals(t: Totals) -> dict[str, Any]:
            return {"count": t.count, "amount": money(t.amount)}

        return {"provider": self.provider, "first_day": self.first_day and self.first_day.isoformat(),
                "last_day": self.last_day and self.last_day.isoformat(), "ok": self.ok,
                "mismatches": [m.to_dict(money) for m in self.mismatches],
                "matched": {"pays": totals(self.matched_pays), "refunds": totals(self.matched_refunds),
                            "reversed": totals(self.reversed)},
                "statement": {"pays": totals(self.statement_pays), "refunds": totals(self.statement_refunds),
                              "skipped": self.skipped},
                "till": {"pays": totals(self.till_pays), "refunds": totals(self.till_refunds)}}


# -- the till's side, from its records --------------------------------------------------------------
def till_payments(attempts: Iterable[Mapping[str, Any]], outcomes: Iterable[Mapping[str, Any]],
                  sales: Iterable[Mapping[str, Any]]) -> list[TillPayment]:
    """Every attempt with its state and its sale, from the records (to_record() dicts: payment_attempt,
    payment_outcome and sale records, each in commit order: an attempt's last outcome is its state)."""
    last: dict[str, Mapping[str, Any]] = {}
    for each in outcomes:
        last[str(each.get("attempt_uuid"))] = each
    by_uuid = {str(sale.get("uuid")): sale for sale in sales}
    found = []
    for attempt in attempts:
        outcome = last.get(str(attempt.get("uuid")))
        state = str(outcome.get("state")) if outcome is not None else "open"
        transaction_id = str(outcome.get("transaction_id") or "") if outcome is not None else ""
        amount = outcome.get("amount") if outcome is not None else None
        if not isinstance(amount, int) or isinstance(amount, bool):
            amount = attempt.get("amount")
        kind = str(attempt.get("kind") or "pay")
        sale_uuid = str(attempt.get("sale_uuid") or "")
        sale = by_uuid.get(sale_uuid)
        found.append(TillPayment(
            attempt_uuid=str(attempt.get("uuid") or ""), provider=str(attempt.get("provider") or ""), kind=kind,
            out_trade_no=str(attempt.get("out_trade_no") or ""), out_refund_no=str(attempt.get("out_refund_no") or ""),
            amount=int(amount or 0), state=state, transaction_id=transaction_id, sale_uuid=sale_uuid,
            receipt=str(sale.get("receipt") or "") if sale is not None else "",
            sale_completed=sale is not None and _carries(sale, kind, transaction_id),
            at=str((outcome if outcome is not None else attempt).get("at") or attempt.get("at") or ""), till_id=str(attempt.get("till_id") or "")))
    return found


def from_view(rows: Iterable[Mapping[str, Any]], receipts: Mapping[str, str] | None = None) -> list[TillPayment]:
    """The till's payments from its store view's rows (store.view payment_attempts: each attempt's
    fields with state, transaction_id, charged, outcome_at and sale_completed already worked out);
    receipts: sale uuid -> receipt number, where known."""
    found = []
    for row in rows:
        charged = row.get("charged")
        amount = charged if isinstance(charged, int) and not isinstance(charged, bool) else row.get("amount")
        sale_uuid = str(row.get("sale_uuid") or "")
        found.append(TillPayment(
            attempt_uuid=str(row.get("uuid") or ""), provider=str(row.get("provider") or ""),
            kind=str(row.get("kind") or "pay"), out_trade_no=str(row.get("out_trade_no") or ""),
            out_refund_no=str(row.get("out_refund_no") or ""), amount=int(amount or 0),
            state=str(row.get("state") or "open"), transaction_id=str(row.get("transaction_id") or ""),
            sale_uuid=sale_uuid, receipt=(receipts or {}).get(sale_uuid, ""),
            sale_completed=bool(row.get("sale_completed")), at=str(row.get("outcome_at") or row.get("at") or ""),
            till_id=str(row.get("till_id") or "")))
    return found


def _carries(sale: Mapping[str, Any], kind: str, transaction_id: str) -> bool:
    """The sale carries the charge: a mobile tender of its transaction id (a refund: the refund sale
    itself). A sale completed with other tenders does not carry a charge made for it."""
    if kind == "refund" or not transaction_id:
        return True
    return any(t.get("kind") == "mobile" and t.get("reference") == transaction_id for t in sale.get("tenders") or ())


# -- matching ---------------------------------------------------------------------------------------
def day_bounds(first: date, last: date) -> tuple[datetime, datetime]:
    """[start, end) of the provider's days first..last (Beijing time)."""
    start = datetime(first.year, first.month, first.day, tzinfo=PROVIDER_ZONE)
    end = datetime(last.year, last.month, last.day, tzinfo=PROVIDER_ZONE) + timedelta(days=1)
    return start, end


def _moment(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=PROVIDER_ZONE)


def _pick(candidates: list[TillPayment], settled: str) -> TillPayment:
    """Of several attempts under one trade number (a record written twice), the settled one."""
    return next((t for t in candidates if t.state == settled), candidates[-1])


@dataclass(frozen=True)
class _Rules:
    """A charge's or a refund's: the till's state that settles it, and its mismatches (on the
    statement and not settled at the till; both, other amounts; settled at the till, not on the
    statement)."""

    settled: str
    not_recorded: MismatchKind
    differs: MismatchKind
    not_in_statement: MismatchKind


RULES: dict[StatementKind, _Rules] = {
    "pay": _Rules("paid", "charged_no_sale", "amount_differs", "sale_not_charged"),
    "refund": _Rules("refunded", "refund_not_recorded", "refund_amount_differs", "refund_not_in_statement"),
}


def reconcile(statement: Statement, till: Iterable[TillPayment], first_day: date | None = None,
              last_day: date | None = None) -> Reconciliation:
    """The statement against the till's payments (any provider's: only the statement's are looked at).
    first_day/last_day: the days the till's own charges are checked for (default: the statement's)."""
    provider = statement.provider
    first_day = first_day or statement.first_day
    last_day = last_day or statement.last_day or first_day
    mine = [t for t in till if t.provider == provider]
    pays: dict[str, list[TillPayment]] = {}
    refunds: dict[str, list[TillPayment]] = {}
    for t in mine:
        (refunds.setdefault(t.out_refund_no, []) if t.kind == "refund" else pays.setdefault(t.out_trade_no, [])).append(t)

    # the statement's rows, added up per trade number (a row repeated in the file adds up: an amount differs)
    charged: dict[str, list[StatementRow]] = {}
    refunded: dict[tuple[str, str], list[StatementRow]] = {}
    for row in statement.rows:
        if row.kind == "refund":
            key = (row.out_refund_no, "") if row.out_refund_no else ("", f"{row.out_trade_no}#{row.line}#{row.at}")
            refunded.setdefault(key, []).append(row)
        else:
            charged.setdefault(row.out_trade_no, []).append(row)

    # each trade of the statement with the till's attempt for it (None: the till has none)
    paired: list[tuple[StatementRow, int, TillPayment | None]] = []
    seen: set[str] = set()  # attempt uuids the statement has
    reversed_ = Totals()
    reversed_trades: set[str] = set()

    for (out_refund_no, _unnamed), rows in refunded.items():
        amount = sum(r.amount for r in rows)
        row = rows[0]
        candidates = [t for t in refunds.get(out_refund_no, []) if t.attempt_uuid not in seen] if out_refund_no else []
        if not candidates:  # a refund the file names by its trade alone: the till's refund of that trade, same amount
            candidates = [t for ts in refunds.values() for t in ts if t.attempt_uuid not in seen
                          and t.out_trade_no == row.out_trade_no and t.amount == amount and not out_refund_no]
        if candidates:
            t = _pick(candidates, "refunded")
            seen.add(t.attempt_uuid)
            paired.append((row, amount, t))
            continue
        trade = [t for t in pays.get(row.out_trade_no, []) if t.state in ("cancelled", "failed", "closed")]
        charge = charged.get(row.out_trade_no)
        if (row.out_trade_no and trade and charge and row.out_trade_no not in reversed_trades
                and sum(r.amount for r in charge) == amount and not any(t.state == "paid" for t in pays[row.out_trade_no])):
            reversed_trades.add(row.out_trade_no)  # cancelled by the till, charged and given back by the provider
            seen.update(t.attempt_uuid for t in pays[row.out_trade_no])
            reversed_ = reversed_.add(amount)
            continue
        paired.append((row, amount, None))

    for out_trade_no, rows in charged.items():
        if out_trade_no in reversed_trades:
            continue
        candidates = pays.get(out_trade_no, []) if out_trade_no else []
        seen.update(c.attempt_uuid for c in candidates)
        paired.append((rows[0], sum(r.amount for r in rows), _pick(candidates, "paid") if candidates else None))

    mismatches: list[Mismatch] = []
    matched = {"pay": Totals(), "refund": Totals()}
    for row, amount, attempt in sorted(paired, key=lambda p: p[0].line):  # the statement's order
        rules = RULES[row.kind]
        if attempt is None or attempt.state != rules.settled or not attempt.sale_completed:
            mismatches.append(_from_row(rules.not_recorded, row, amount, attempt))
        elif attempt.amount != amount:
            mismatches.append(_from_row(rules.differs, row, amount, attempt))
        else:
            matched[row.kind] = matched[row.kind].add(amount)

    # the till's charges and refunds of the statement's days, each looked for on the statement
    recorded = {"pay": Totals(), "refund": Totals()}
    if first_day is not None and last_day is not None:
        start, end = day_bounds(first_day, last_day)
        for t in mine:
            kind: StatementKind = "refund" if t.kind == "refund" else "pay"
            moment = _moment(t.at)
            if t.state != RULES[kind].settled or moment is None or not start <= moment < end:
                continue
            recorded[kind] = recorded[kind].add(t.amount)
            if t.attempt_uuid not in seen:
                mismatches.append(_from_till(RULES[kind].not_in_statement, t))

    return Reconciliation(
        provider=provider, first_day=first_day, last_day=last_day, mismatches=tuple(mismatches),
        matched_pays=matched["pay"], matched_refunds=matched["refund"], reversed=reversed_,
        statement_pays=Totals.of(r.amount for r in statement.rows if r.kind == "pay"),
        statement_refunds=Totals.of(r.amount for r in statement.rows if r.kind == "refund"),
        till_pays=recorded["pay"], till_refunds=recorded["refund"], skipped=statement.skipped)


def _from_row(kind: MismatchKind, row: StatementRow, amount: int, t: TillPayment | None) -> Mismatch:
    return Mismatch(kind=kind, provider=row.provider, out_trade_no=row.out_trade_no,
                    transaction_id=row.transaction_id or (t.transaction_id if t else ""), statement_amount=amount,
                    till_amount=t.amount if t is not None else None, sale_uuid=t.sale_uuid if t else "",
                    receipt=t.receipt if t else "", out_refund_no=row.out_refund_no or (t.out_refund_no if t else ""),
                    state=t.state if t else "", at=row.at, till_id=t.till_id if t else "", line=row.line)


def _from_till(kind: MismatchKind, t: TillPayment) -> Mismatch:
    return Mismatch(kind=kind, provider=t.provider, out_trade_no=t.out_trade_no, transaction_id=t.transaction_id,
                    statement_amount=None, till_amount=t.amount, sale_uuid=t.sale_uuid, receipt=t.receipt,
                    out_refund_no=t.out_refund_no, state=t.state, at=t.at, till_id=t.till_id)
