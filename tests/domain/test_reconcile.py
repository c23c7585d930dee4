"""Matching a provider's statement against the till's payments (domain/reconcile.py): pure, no disk.
Properties over generated days of trading: a statement that is exactly what the till recorded
matches whole; each kind of damage (a row missing, a row the till never made, an amount changed, a
sale never completed) shows as exactly one mismatch of its kind, naming the trade."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from tui_pos.domain.payments import out_refund_no, out_trade_no
from tui_pos.domain.reconcile import (
    MISMATCH_KINDS,
    MISMATCH_TEXT,
    Statement,
    StatementRow,
    TillPayment,
    from_view,
    reconcile,
    till_payments,
)

DAY = date(2026, 12, 3)


def uuid_of(n: int, prefix: str = "5a1e") -> str:
    return f"{prefix}{n:04d}-0000-4000-8000-{n:012d}"


@st.composite
def trading_days(draw):
    """(statement, till payments): the till's charges of the day (some refunded), each on the statement."""
    count = draw(st.integers(1, 12))
    amounts = draw(st.lists(st.integers(1, 10**7), min_size=count, max_size=count))
    refunded = draw(st.lists(st.booleans(), min_size=count, max_size=count))
    provider = draw(st.sampled_from(["alipay", "wechat"]))
    till, rows = [], []
    for n, (amount, refund) in enumerate(zip(amounts, refunded, strict=True)):
        sale, trade = uuid_of(n), out_trade_no(uuid_of(n), 1)
        at = f"2026-12-03T{n % 24:02d}:{n:02d}:00+08:00"
        till.append(TillPayment(attempt_uuid=f"a{n}", provider=provider, kind="pay", out_trade_no=trade,
                                out_refund_no="", amount=amount, state="paid", transaction_id=f"TX{n}", sale_uuid=sale,
                                receipt=f"T1-{n:06d}", sale_completed=True, at=at, till_id="T1"))
        rows.append(StatementRow(provider, trade, f"TX{n}", "pay", amount, at, line=n + 2))
        if refund:
            back = draw(st.integers(1, amount))
            refund_no = out_refund_no(uuid_of(n, "4ef0"), 1)
            till.append(TillPayment(attempt_uuid=f"r{n}", provider=provider, kind="refund", out_trade_no=trade,
                                    out_refund_no=refund_no, amount=back, state="refunded", transaction_id=f"RF{n}",
                                    sale_uuid=uuid_of(n, "4ef0"), receipt=f"T1-{n + 100:06d}", sale_completed=True,
                                    at=at, till_id="T1"))
            rows.append(StatementRow(provider, trade, f"TX{n}", "refund", back, at, out_refund_no=refund_no,
                                     line=n + 50))
    order = draw(st.permutations(range(len(rows))))
    statement = Statement(provider, tuple(rows[i] for i in order), DAY, DAY)
    return statement, till


@given(trading_days(), st.randoms())
def test_a_statement_of_exactly_what_the_till_recorded_matches_whole(day, rnd):
    statement, till = day
    rnd.shuffle(till)
    result = reconcile(statement, till)
    assert result.ok and result.mismatches == ()
    pays = [r for r in statement.rows if r.kind == "pay"]
    refunds = [r for r in statement.rows if r.kind == "refund"]
    assert result.matched_pays.count == len(pays) == result.till_pays.count == result.statement_pays.count
    assert result.matched_pays.amount == sum(r.amount for r in pays) == result.till_pays.amount
    assert result.matched_refunds.count == len(refunds) == result.till_refunds.count
    assert result.matched_refunds.amount == sum(r.amount for r in refunds) == result.till_refunds.amount


@given(trading_days(), st.data())
def test_a_charge_missing_from_the_statement_is_a_sale_not_charged(day, data):
    statement, till = day
    pays = [r for r in statement.rows if r.kind == "pay"]
    gone = data.draw(st.sampled_from(pays))
    rows = tuple(r for r in statement.rows if r is not gone and not (r.kind == "refund" and r.out_trade_no == gone.out_trade_no))
    result = reconcile(replace(statement, rows=rows), till)
    lacking = [m for m in result.mismatches if m.kind == "sale_not_charged"]
    [m] = lacking
    charged = next(t for t in till if t.out_trade_no == gone.out_trade_no and t.kind == "pay")
    assert (m.out_trade_no, m.till_amount, m.statement_amount, m.sale_uuid, m.receipt) == (
        gone.out_trade_no, gone.amount, None, charged.sale_uuid, charged.receipt)
    assert {m.kind for m in result.mismatches} <= {"sale_not_charged", "refund_not_in_statement"}
    assert result.matched_pays.count == len(pays) - 1


@given(trading_days(), st.integers(1, 10**6))
def test_a_charge_the_till_never_made_is_charged_no_sale(day, amount):
    statement, till = day
    stray = StatementRow(statement.provider, "P" + "f" * 28 + "001", "TXSTRAY", "pay", amount,
                         "2026-12-03T12:00:00+08:00", line=999)
    result = reconcile(replace(statement, rows=(*statement.rows, stray)), till)
    [m] = result.mismatches
    assert (m.kind, m.out_trade_no, m.transaction_id, m.statement_amount, m.till_amount, m.sale_uuid, m.state, m.line) == (
        "charged_no_sale", stray.out_trade_no, "TXSTRAY", amount, None, "", "", 999)
    assert result.statement_pays.amount == result.till_pays.amount + amount


@given(trading_days(), st.data(), st.sampled_from(["open", "unknown", "cancelled", "failed", "not_completed"]))
def test_a_charge_the_till_does_not_hold_as_a_completed_sale_is_charged_no_sale(day, data, how):
    """Paid at the provider: the till's attempt is unresolved, thought cancelled or failed, or paid
    with no sale carrying it ("paid, sale not completed")."""
    statement, till = day
    pays = [t for t in till if t.kind == "pay"]
    victim = data.draw(st.sampled_from(pays))
    changed = replace(victim, sale_completed=False) if how == "not_completed" else replace(victim, state=how)
    result = reconcile(statement, [changed if t is victim else t for t in till])
    [m] = [m for m in result.mismatches if m.out_trade_no == victim.out_trade_no and m.kind == "charged_no_sale"]
    assert m.state == changed.state and m.sale_uuid == victim.sale_uuid and m.statement_amount == victim.amount
    assert [x.kind for x in result.mismatches] == ["charged_no_sale"]


@given(trading_days(), st.data(), st.integers(-500, 500).filter(bool))
def test_an_amount_changed_is_amount_differs(day, data, delta):
    statement, till = day
    pays = [r for r in statement.rows if r.kind == "pay" and r.amount + delta > 0]
    if not pays:
        return
    row = data.draw(st.sampled_from(pays))
    rows = tuple(replace(r, amount=r.amount + delta) if r is row else r for r in statement.rows)
    result = reconcile(replace(statement, rows=rows), till)
    [m] = result.mismatches
    assert (m.kind, m.out_trade_no, m.statement_amount, m.till_amount) == (
        "amount_differs", row.out_trade_no, row.amount + delta, row.amount)


@given(trading_days(), st.data())
def test_refunds_likewise(day, data):
    statement, till = day
    refunds = [r for r in statement.rows if r.kind == "refund"]
    if not refunds:
        return
    row = data.draw(st.sampled_from(refunds))
    missing = reconcile(replace(statement, rows=tuple(r for r in statement.rows if r is not row)), till)
    assert [(m.kind, m.out_refund_no, m.till_amount) for m in missing.mismatches] == [
        ("refund_not_in_statement", row.out_refund_no, row.amount)]
    unrecorded = reconcile(statement, [t for t in till if t.out_refund_no != row.out_refund_no])
    assert [(m.kind, m.out_refund_no, m.statement_amount) for m in unrecorded.mismatches] == [
        ("refund_not_recorded", row.out_refund_no, row.amount)]
    more = tuple(replace(r, amount=r.amount + 1) if r is row else r for r in statement.rows)
    differs = reconcile(replace(statement, rows=more), till)
    assert [(m.kind, m.statement_amount, m.till_amount) for m in differs.mismatches] == [
        ("refund_amount_differs", row.amount + 1, row.amount)]


@given(trading_days())
def test_every_statement_row_is_accounted_for_once(day):
    """Matched, or a mismatch naming it: never both, never lost; the till's other days are not checked."""
    statement, till = day
    elsewhere = [replace(t, attempt_uuid=t.attempt_uuid + "x", out_trade_no=t.out_trade_no[:-3] + "002",
                         out_refund_no=t.out_refund_no and t.out_refund_no[:-3] + "002", at="2026-12-04T09:00:00+08:00")
                 for t in till]
    half = statement.rows[: len(statement.rows) // 2]
    result = reconcile(replace(statement, rows=half), till + elsewhere)
    from_statement = [m for m in result.mismatches if m.statement_amount is not None]
    assert result.matched_pays.count + result.matched_refunds.count + len(from_statement) == len(half)
    assert all(not m.out_trade_no.endswith("002") for m in result.mismatches)  # the 4th is not the statement's day


@settings(max_examples=30)
@given(trading_days())
def test_another_providers_payments_are_not_looked_at(day):
    statement, till = day
    other = "wechat" if statement.provider == "alipay" else "alipay"
    result = reconcile(statement, till + [replace(t, provider=other, attempt_uuid=t.attempt_uuid + "o") for t in till])
    assert result.ok


def test_a_cancelled_charge_the_provider_charged_and_gave_back_is_settled():
    """An Alipay cancel of a paid trade (or a WeChat reverse) shows as the charge and a refund of it
    under the trade's number: nothing is owed either way."""
    trade = out_trade_no(uuid_of(1), 1)
    till = [TillPayment("a1", "alipay", "pay", trade, "", 500, "cancelled", "", uuid_of(1), "", False,
                        "2026-12-03T10:00:00+08:00")]
    rows = (StatementRow("alipay", trade, "TX1", "pay", 500, "2026-12-03T10:00:02+08:00", line=6),
            StatementRow("alipay", trade, "TX1", "refund", 500, "2026-12-03T10:00:20+08:00", line=7))
    result = reconcile(Statement("alipay", rows, DAY, DAY), till)
    assert result.ok and result.reversed.count == 1 and result.reversed.amount == 500
    only_charged = reconcile(Statement("alipay", rows[:1], DAY, DAY), till)
    assert [m.kind for m in only_charged.mismatches] == ["charged_no_sale"]


def test_without_days_only_the_statements_rows_are_checked():
    till = [TillPayment("a1", "wechat", "pay", "P1", "", 500, "paid", "TX1", uuid_of(1), "T1-000001", True,
                        "2026-12-03T10:00:00+08:00")]
    assert reconcile(Statement("wechat", ()), till).ok
    [m] = reconcile(Statement("wechat", ()), till, first_day=DAY, last_day=DAY).mismatches
    assert m.kind == "sale_not_charged" and m.receipt == "T1-000001"


def test_the_till_side_from_its_records():
    """An attempt's state is its last outcome's; a sale carries a charge by a mobile tender of its
    transaction id; an attempt without an outcome is open."""
    attempts = [
        {"type": "payment_attempt", "uuid": "a1", "till_id": "T1", "at": "2026-12-03T02:00:00.000+00:00",
         "sale_uuid": "s1", "kind": "pay", "provider": "alipay", "attempt_no": 1, "out_trade_no": "P1",
         "out_refund_no": "", "amount": 1234, "code_mask": "2800**********1234", "cashier": "amy",
         "original_sale_uuid": None},
        {"type": "payment_attempt", "uuid": "a2", "till_id": "T1", "at": "2026-12-03T02:10:00.000+00:00",
         "sale_uuid": "s2", "kind": "pay", "provider": "alipay", "attempt_no": 1, "out_trade_no": "P2",
         "out_refund_no": "", "amount": 700, "code_mask": "", "cashier": "amy", "original_sale_uuid": None},
        {"type": "payment_attempt", "uuid": "a3", "till_id": "T1", "at": "2026-12-03T02:20:00.000+00:00",
         "sale_uuid": "s3", "kind": "pay", "provider": "wechat", "attempt_no": 1, "out_trade_no": "P3",
         "out_refund_no": "", "amount": 300, "code_mask": "", "cashier": "amy", "original_sale_uuid": None},
    ]
    outcomes = [
        {"type": "payment_outcome", "uuid": "o1", "attempt_uuid": "a1", "till_id": "T1",
         "at": "2026-12-03T02:00:01.000+00:00", "state": "unknown", "transaction_id": "", "amount": None},
        {"type": "payment_outcome", "uuid": "o2", "attempt_uuid": "a1", "till_id": "T1",
         "at": "2026-12-03T02:00:09.000+00:00", "state": "paid", "transaction_id": "TX1", "amount": 1234},
        {"type": "payment_outcome", "uuid": "o3", "attempt_uuid": "a2", "till_id": "T1",
         "at": "2026-12-03T02:10:05.000+00:00", "state": "paid", "transaction_id": "TX2", "amount": 700},
    ]
    sales = [{"uuid": "s1", "receipt": "T1-000001", "tenders": [{"kind": "mobile", "amount": 1234, "reference": "TX1"}]},
             {"uuid": "s2", "receipt": "T1-000002", "tenders": [{"kind": "cash", "amount": 700, "reference": ""}]}]
    one, two, three = till_payments(attempts, outcomes, sales)
    assert (one.state, one.transaction_id, one.amount, one.sale_completed, one.receipt, one.at) == (
        "paid", "TX1", 1234, True, "T1-000001", "2026-12-03T02:00:09.000+00:00")
    assert (two.state, two.sale_completed, two.receipt) == ("paid", False, "T1-000002")  # paid in cash too
    assert (three.state, three.amount, three.sale_completed, three.provider) == ("open", 300, False, "wechat")


def test_every_kind_has_its_words():
    assert set(MISMATCH_TEXT) == set(MISMATCH_KINDS)
    assert reconcile(Statement("alipay", ()), []).to_dict()["mismatches"] == []


def test_the_till_side_from_its_store_view():
    """The view's rows carry the state and sale_completed worked out (journaled records included)."""
    rows = [{"uuid": "a1", "till_id": "T1", "at": "2026-12-03T02:00:00.000+00:00", "sale_uuid": "s1", "kind": "pay",
             "provider": "wechat", "attempt_no": 1, "out_trade_no": "P1", "out_refund_no": "", "amount": 1234,
             "state": "paid", "transaction_id": "TX1", "charged": 1200, "outcome_at": "2026-12-03T02:00:09.000+00:00",
             "sale_completed": True},
            {"uuid": "a2", "till_id": "T1", "at": "2026-12-03T03:00:00.000+00:00", "sale_uuid": "s2", "kind": "pay",
             "provider": "wechat", "attempt_no": 1, "out_trade_no": "P2", "out_refund_no": "", "amount": 500,
             "state": "open", "transaction_id": "", "charged": None, "outcome_at": None, "sale_completed": False}]
    one, two = from_view(rows, {"s1": "T1-000001"})
    assert (one.amount, one.state, one.receipt, one.sale_completed, one.at, one.till_id) == (
        1200, "paid", "T1-000001", True, "2026-12-03T02:00:09.000+00:00", "T1")
    assert (two.amount, two.state, two.receipt, two.sale_completed, two.at) == (
        500, "open", "", False, "2026-12-03T03:00:00.000+00:00")
