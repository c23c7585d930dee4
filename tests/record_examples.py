"""Hypothesis strategies for every record type (domain.records), shared by the pure tests
(tests/domain/test_records.py) and the store's round trips (tests/store/test_codec.py)."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from tui_pos.domain.payments import out_refund_no, out_trade_no
from tui_pos.domain.records import (
    USER_ACTIONS,
    AuditEvent,
    CashMovement,
    PaymentAttempt,
    PaymentOutcome,
    Record,
    Sale,
    SaleLine,
    ShiftClosed,
    ShiftOpened,
    StockMoved,
    UserChanged,
)
from tui_pos.domain.stock import ADJUST_REASONS
from tui_pos.domain.tender import Tender

uuids = st.uuids().map(str)
names = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=12)
maybe_names = st.none() | names
times = st.datetimes().map(lambda t: t.isoformat(timespec="milliseconds") + "+00:00")
amounts = st.integers(-10**9, 10**9)
json_values = st.recursive(st.none() | st.booleans() | st.integers(-10**12, 10**12) | names,
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(names, inner, max_size=3),
                           max_leaves=8)
details = st.dictionaries(names, json_values, max_size=4)


@st.composite
def sales(draw: Any, kind: str | None = None) -> Sale:
    kind = kind or draw(st.sampled_from(["sale", "refund", "void"]))
    sign = 1 if kind == "sale" else -1
    till_id, seq = draw(st.sampled_from(["T1", "T2"])), draw(st.integers(1, 999_999))
    lines = tuple(SaleLine(n, draw(st.text("0123456789", min_size=1, max_size=13)), draw(names),
                           sign * draw(st.integers(1, 50)), draw(st.integers(0, 10**6)), draw(st.integers(0, 10**4)),
                           draw(st.integers(0, 10**4)), draw(st.sampled_from("ABZ")), draw(st.sampled_from([0, 900, 1300])),
                           draw(amounts), draw(amounts), draw(st.booleans()))
                  for n in range(1, draw(st.integers(0, 4)) + 1))
    tenders = []
    for _ in range(draw(st.integers(0, 3))):
        kind_ = draw(st.sampled_from(["cash", "card", "mobile"]))
        reference = draw(st.text("0123456789ABC", min_size=1 if kind_ == "mobile" else 0, max_size=32))
        tenders.append(Tender(kind_, sign * draw(st.integers(1, 10**8)), reference))
    reversal = kind != "sale"
    return Sale(
        uuid=draw(uuids), receipt=f"{till_id}-{seq:06d}", till_id=till_id, seq=seq, cashier=draw(names),
        opened_at=draw(times), completed_at=draw(times), currency=draw(st.sampled_from(["CNY", "EUR"])),
        tax_included=draw(st.booleans()), lines=lines, tenders=tuple(tenders), gross=draw(amounts), discount=draw(amounts),
        tax=draw(amounts), total=draw(amounts), rounding=draw(st.integers(-50, 50)), paid=draw(amounts),
        change=draw(st.integers(0, 10**6)), kind=kind,
        original_uuid=draw(uuids) if reversal else None,
        original_receipt=f"{till_id}-{draw(st.integers(1, 999_999)):06d}" if reversal else None,
        shift_uuid=draw(st.none() | uuids), reason=draw(names) if reversal else None,
        approved_by=draw(names) if reversal else None,
    )


shifts_opened = st.builds(ShiftOpened, uuids, st.sampled_from(["T1", "T2"]), st.integers(1, 10**6), times, maybe_names,
                          st.integers(0, 10**8))
cash_movements = st.builds(CashMovement, uuids, uuids, st.sampled_from(["T1", "T2"]),
                           st.sampled_from(["paid_in", "paid_out"]), st.integers(1, 10**8), names, maybe_names,
                           maybe_names, times)
shifts_closed = st.builds(ShiftClosed, uuids, uuids, st.sampled_from(["T1", "T2"]), st.integers(1, 10**6), times,
                          maybe_names, maybe_names, st.integers(0, 10**8), amounts, amounts, details)
audit_events = st.builds(AuditEvent, uuids, st.none() | st.sampled_from(["T1", "T2"]), times,
                         st.sampled_from(["login", "login_failed", "no_sale", "price_override", "replay"]), maybe_names,
                         maybe_names, maybe_names, st.none() | amounts, details)


@st.composite
def user_changes(draw: Any) -> UserChanged:
    action = draw(st.sampled_from(USER_ACTIONS))
    return UserChanged(draw(uuids), draw(st.sampled_from(["T1", "T2"])), draw(times), action, draw(names),
                       draw(maybe_names), draw(maybe_names),
                       role=draw(st.sampled_from(["cashier", "manager"])) if action == "user_add" else None,
                       pin_hash=f"scrypt$16384$8$1${draw(st.text('0123456789abcdef', min_size=32, max_size=32))}$ab"
                       if action in ("user_add", "user_set_pin") else None,
                       detail=draw(st.dictionaries(st.sampled_from(["demo", "reason"]), st.booleans() | names,
                                                   max_size=2)))


@st.composite
def stock_moves(draw: Any) -> StockMoved:
    kind = draw(st.sampled_from(["receive", "adjust", "count", "transfer_out", "transfer_in"]))
    expected = draw(st.integers(-10**9, 10**9)) if kind == "count" else draw(st.none() | st.integers(-10**9, 10**9))
    counted = draw(st.integers(0, 10**9)) if kind == "count" else None
    qty = counted - expected if counted is not None and expected is not None else draw(st.integers(-10**9, 10**9))
    qty = -abs(qty) if kind == "transfer_out" else abs(qty) if kind in ("receive", "transfer_in") else qty
    return StockMoved(draw(uuids), draw(st.sampled_from(["T1", "T2"])), draw(times), kind,
                      draw(st.text("0123456789", min_size=1, max_size=13)), qty, expected, counted,
                      unit_cost=draw(st.none() | st.integers(0, 10**8)) if kind == "receive" else None,
                      reason=draw(st.sampled_from(ADJUST_REASONS)) if kind == "adjust" else None,
                      supplier=draw(st.just("") | names), reference=draw(st.just("") | names),
                      peer=draw(maybe_names) if kind.startswith("transfer") else None, batch=draw(st.none() | uuids),
                      actor=draw(maybe_names), approved_by=draw(maybe_names))


@st.composite
def payment_attempts(draw: Any) -> PaymentAttempt:
    kind = draw(st.sampled_from(["pay", "refund"]))
    sale, number = draw(uuids), draw(st.integers(1, 999))
    return PaymentAttempt(draw(uuids), draw(st.sampled_from(["T1", "T2"])), draw(times), sale, kind,
                          draw(st.sampled_from(["alipay", "wechat"])), number, out_trade_no(draw(uuids), number),
                          out_refund_no(sale, number) if kind == "refund" else "", draw(st.integers(1, 10**8)),
                          "" if kind == "refund" else draw(st.text("0123456789*", min_size=8, max_size=24)),
                          draw(maybe_names), draw(uuids) if kind == "refund" else None)


payment_outcomes = st.builds(PaymentOutcome, uuids, uuids, st.sampled_from(["T1", "T2"]), times,
                             st.sampled_from(["paid", "failed", "cancelled", "refunded", "unknown"]),
                             st.just("") | st.text("0123456789", min_size=1, max_size=32),
                             st.none() | st.integers(0, 10**8), st.just("") | names, st.just("") | names)


def records() -> st.SearchStrategy[Record]:
    """Any record of any type."""
    return st.one_of(sales(), shifts_opened, cash_movements, shifts_closed, audit_events, user_changes(),
                     stock_moves(), payment_attempts(), payment_outcomes)
