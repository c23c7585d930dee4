"""Tenders and settlement: change, cash rounding on the cash part only, no change on card or
mobile, mobile references, split tender, and the short-tender message. Expectations by hand."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tui_pos.domain.errors import TenderError
from tui_pos.domain.money import Currency
from tui_pos.domain.tender import Tender, settle

CNY = Currency()


def cash(amount: int) -> Tender:
    return Tender("cash", amount)


def card(amount: int, ref: str = "") -> Tender:
    return Tender("card", amount, ref)


def mobile(amount: int, ref: str = "4200001234") -> Tender:
    return Tender("mobile", amount, ref)


def summary(total: int, tenders: list[Tender], step: int = 0) -> tuple[int, int, int, int]:
    s = settle(total, tenders, step, CNY)
    assert s.total == total
    return s.rounding, s.due, s.paid, s.change


# -- Tender ------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind, amount, ref, message", [
    ("mobile", 100, "", "transaction number"),
    ("mobile", 100, "   ", "transaction number"),
    ("cash", 0, "", "more than zero"),
    ("cheque", 100, "", "unknown tender"),
])
def test_tender_refuses_what_cannot_be_paid(kind, amount, ref, message):
    """A mobile payment without its Alipay/WeChat number cannot be traced, so it is refused."""
    with pytest.raises(TenderError, match=message):
        Tender(kind, amount, ref)


def test_a_sale_takes_no_negative_tender():
    """Negative tenders exist only in refunds (money paid back); a sale refuses them."""
    with pytest.raises(TenderError, match="more than zero"):
        settle(100, [Tender("card", -100)], 0, CNY)


def test_card_needs_no_reference():
    assert card(100).reference == ""


# -- settle ------------------------------------------------------------------------------------

@pytest.mark.parametrize("total, tenders, step, expected", [
    # (rounding, due, paid, change)
    (1005, [cash(2000)], 0, (0, 1005, 2000, 995)),
    (1005, [cash(1005)], 0, (0, 1005, 1005, 0)),
    (1005, [cash(2000)], 10, (5, 1010, 2000, 990)),  # 10.05 -> 10.10 (half up)
    (1004, [cash(2000)], 10, (-4, 1000, 2000, 1000)),  # 10.04 -> 10.00
    (1004, [cash(1000)], 10, (-4, 1000, 1000, 0)),  # the rounded amount is enough
    (1237, [cash(1300)], 50, (13, 1250, 1300, 50)),
    (1234, [card(1234)], 10, (0, 1234, 1234, 0)),  # no cash, no cash rounding
    (1234, [mobile(1234)], 10, (0, 1234, 1234, 0)),
    # card 10.01 + cash: only the cash part 2.33 is rounded (-> 2.30, rounding -3);
    # rounding the whole 12.34 would have given -4.
    (1234, [card(1001), cash(300)], 10, (-3, 1231, 1301, 70)),
    (1234, [cash(300), card(1001)], 10, (-3, 1231, 1301, 70)),  # order does not matter
    # split tender: card 5.00 + mobile 3.00 + cash 5.00 for 12.34 -> 0.66 change (cash)
    (1234, [card(500, "AUTH77"), mobile(300), cash(500)], 0, (0, 1234, 1300, 66)),
    (1234, [card(1234), cash(100)], 10, (0, 1234, 1334, 100)),  # cash part 0: nothing to round
])
def test_settle_hand_examples(total, tenders, step, expected):
    assert summary(total, tenders, step) == expected


@pytest.mark.parametrize("tenders", [[card(1235)], [mobile(1235)], [card(1000), mobile(235)], [card(1235), cash(100)]])
def test_card_and_mobile_cannot_exceed_the_total(tenders):
    """Nobody gives change on a card: over-tendering it is refused, even alongside cash."""
    with pytest.raises(TenderError, match="no change"):
        settle(1234, tenders, 0, CNY)


@pytest.mark.parametrize("total, tenders, step, short", [
    (1234, [cash(1000)], 0, "￥2.34"),
    (1236, [cash(1000)], 10, "￥2.40"),  # short of the rounded cash due (12.40), not of 12.36
    (1234, [card(1000), mobile(200)], 0, "￥0.34"),
    (1234, [card(1001), cash(200)], 10, "￥0.30"),  # cash part 2.33 rounds to 2.30
])
def test_short_tender_says_by_how_much(total, tenders, step, short):
    with pytest.raises(TenderError) as err:
        settle(total, tenders, step, CNY)
    assert str(err.value) == f"tenders are short by {short}"


# -- property: settlement arithmetic -----------------------------------------------------------

@st.composite
def payments(draw):
    """A total, a cash step, card/mobile parts that do not exceed the total, and enough cash."""
    total = draw(st.integers(0, 5_000_000))
    step = draw(st.sampled_from([0, 1, 5, 10, 50, 100]))
    non_cash = draw(st.lists(st.integers(1, max(total, 1)), max_size=3))
    tenders: list[Tender] = []
    remaining = total
    for amount in non_cash:
        amount = min(amount, remaining)
        if amount <= 0:
            break
        tenders.append(draw(st.sampled_from([card(amount, "A1"), mobile(amount)])))
        remaining -= amount
    # Cash covering the cash part even after rounding up (at most step/2) plus some change.
    cash_amount = remaining + step + draw(st.integers(0, 100_000))
    if cash_amount > 0 and (remaining > 0 or draw(st.booleans())):
        tenders.append(cash(cash_amount))
    if not tenders:
        tenders.append(cash(step + 1))
    return total, step, draw(st.permutations(tenders))


@settings(max_examples=300, deadline=None)
@given(payments())
def test_settlement_arithmetic(case):
    total, step, tenders = case
    s = settle(total, tenders, step, CNY)
    cash_paid = sum(t.amount for t in tenders if t.kind == "cash")
    non_cash = sum(t.amount for t in tenders if t.kind != "cash")
    assert s.paid == cash_paid + non_cash
    assert s.change == s.paid - s.due
    assert s.due - s.total == s.rounding
    assert s.change >= 0
    assert 2 * abs(s.rounding) <= max(step, 1) and (step > 1 or s.rounding == 0)
    if cash_paid == 0:
        assert s.rounding == 0  # card/mobile pay to the fen
    elif step > 1:
        assert (s.due - non_cash) % step == 0  # the cash part lands on the step
    assert s.change <= cash_paid  # change is only ever given in cash


@pytest.mark.parametrize("reference, says", [
    ("A" * 100_000, "is 100,000 characters long: at most 64"),  # became a 3,127-line receipt
    ("AUTH\n77", "control character"),
    ("\x1b[31mAUTH", "control character"),
], ids=["100k-characters", "newline", "escape"])
def test_a_reference_a_receipt_cannot_hold_is_refused(reference, says):
    with pytest.raises(TenderError, match=says):
        settle(100, [Tender("card", 100, reference)], 0, CNY)
