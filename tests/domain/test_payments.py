"""The pure side of code payments (tui_pos/domain/payments.py): the step plan of one charge, and the
payment records (domain/records.py) that carry it. No disk, no network."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tui_pos.domain.payments import Progress, Schedule, Step, final_state, next_step, out_refund_no, out_trade_no
from tui_pos.domain.records import PaymentAttempt, PaymentOutcome, record_from_dict

SCHEDULE = Schedule(wait=60, query_every=5, reverse_after=15, cancel_tries=3)


def step(provider="alipay", last=None, **progress) -> Step:
    return next_step(Progress(provider, last, **{"deadline": 60, **progress}), SCHEDULE)


def test_the_pay_call_comes_first():
    assert step() == Step("pay")
    assert step("wechat") == Step("pay")


@pytest.mark.parametrize("last, state", [("paid", "paid"), ("failed", "failed"), ("closed", "cancelled")])
def test_a_final_answer_ends_the_charge(last, state):
    assert step(last=last, elapsed=3) == Step("stop", state=state)
    assert step("wechat", last, elapsed=70, cancels=1, last_was_cancel=True) == Step("stop", state=state)


@pytest.mark.parametrize("last", ["paying", "unknown"])
def test_before_the_deadline_the_trade_is_queried_at_the_interval(last):
    assert step(last=last, elapsed=1, since_call=1) == Step("query", 4)
    assert step(last=last, elapsed=10, since_call=7) == Step("query", 0)
    assert step(last=last, elapsed=58, since_call=0) == Step("query", 2)  # never past the deadline


@pytest.mark.parametrize("last", ["paying", "unknown"])
def test_alipay_cancels_at_the_deadline_the_same_day_only(last):
    assert step(last=last, elapsed=60) == Step("cancel")
    assert step(last=last, elapsed=60, same_day=False) == Step("stop", state="unknown")


def test_wechat_reverses_an_unknown_trade_never_sooner_than_15_s_after_the_pay_call():
    assert step("wechat", "unknown", elapsed=3, deadline=3) == Step("cancel", 12)
    assert step("wechat", "unknown", elapsed=15, deadline=3) == Step("cancel", 0)
    assert step("wechat", "unknown", elapsed=60) == Step("cancel", 0)


def test_wechat_never_reverses_while_the_customer_confirms():
    assert step("wechat", "paying", elapsed=60, since_call=5) == Step("query", 0)
    assert step("wechat", "paying", elapsed=74, since_call=2) == Step("query", 3)
    assert step("wechat", "paying", elapsed=75) == Step("stop", state="unknown")  # 15 s more, then left unknown
    assert step("wechat", "paying", elapsed=5, deadline=5, since_call=5).action == "query"  # the cashier gave up


def test_an_unknown_cancel_is_sent_again_then_the_charge_ends_unknown():
    assert step(last="unknown", elapsed=61, since_call=1, cancels=1, last_was_cancel=True) == Step("cancel", 4)
    assert step("wechat", "unknown", elapsed=80, since_call=5, cancels=2, last_was_cancel=True) == Step("cancel", 0)
    assert step(last="unknown", elapsed=80, cancels=3, last_was_cancel=True) == Step("stop", state="unknown")


@given(st.sampled_from(["alipay", "wechat"]), st.sampled_from([None, "paying", "unknown", "paid", "failed", "closed"]),
       st.floats(0, 1000), st.floats(0, 100), st.floats(0, 120), st.integers(0, 5), st.booleans(), st.booleans())
def test_every_plan_is_one_known_step_waiting_no_longer_than_an_interval_or_the_reverse_rule(
        provider, last, elapsed, since_call, deadline, cancels, last_was_cancel, same_day):
    planned = next_step(Progress(provider, last, elapsed, since_call, deadline, cancels, last_was_cancel, same_day),
                        SCHEDULE)
    assert planned.action in ("pay", "query", "cancel", "stop")
    assert 0 <= planned.after <= max(SCHEDULE.query_every, SCHEDULE.reverse_after)
    if planned.action == "cancel" and provider == "wechat" and not last_was_cancel:
        assert elapsed + planned.after >= SCHEDULE.reverse_after and last != "paying"
    if planned.action == "stop":
        assert planned.state in ("paid", "failed", "cancelled", "unknown")
    if planned.action == "cancel":
        assert cancels < SCHEDULE.cancel_tries


def test_final_states():
    assert [final_state(s) for s in ("paid", "failed", "closed", "refunded", "unknown", None)] == [
        "paid", "failed", "cancelled", "refunded", "unknown", "unknown"]


def test_a_payment_attempt_and_its_outcome_round_trip_as_dicts():
    attempt = PaymentAttempt.new("T1", at="2026-12-04T10:00:00.000+00:00", sale_uuid="s-1", kind="pay",
                                 provider="wechat", attempt_no=2, out_trade_no=out_trade_no("s-1", 2), amount=350,
                                 cashier="demo", code_mask="1345**********6789")
    assert record_from_dict(attempt.to_record()) == attempt
    assert attempt.to_record()["type"] == "payment_attempt" and attempt.out_refund_no == ""
    outcome = PaymentOutcome.new(attempt, "paid", at="2026-12-04T10:00:03.000+00:00", transaction_id="42", amount=350)
    assert record_from_dict(outcome.to_record()) == outcome
    assert outcome.attempt_uuid == attempt.uuid and outcome.till_id == "T1"


@pytest.mark.parametrize("changes", [{"kind": "charge"}, {"provider": "paypal"}, {"amount": 0},
                                     {"kind": "refund"}])  # a refund without its refund number and sale
def test_an_attempt_that_cannot_be_is_refused(changes):
    fields = {"uuid": "a", "till_id": "T1", "at": "t", "sale_uuid": "s", "kind": "pay", "provider": "alipay",
              "attempt_no": 1, "out_trade_no": "P1", "out_refund_no": "", "amount": 1, "code_mask": "",
              "cashier": None} | changes
    with pytest.raises(ValueError):
        PaymentAttempt(**fields)
    with pytest.raises(ValueError):
        PaymentOutcome("o", "a", "T1", "t", "maybe")  # type: ignore[arg-type]
    refund = PaymentAttempt("a", "T1", "t", "r", "refund", "alipay", 1, "P1", out_refund_no("r", 1), 5, "", None, "s")
    assert refund.original_sale_uuid == "s"
