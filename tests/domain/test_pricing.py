"""Pricing: discounts, largest-remainder allocation, per-line tax in both tax modes, and the
issue's requirement that totals always reconcile (Hypothesis over random carts).

Hand examples are worked out in the comments; the properties check the results against exact
fractions (an independent reference), never against the pricing code itself."""

from __future__ import annotations

from fractions import Fraction
from math import floor

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tui_pos.domain.errors import BadInput
from tui_pos.domain.pricing import Discount, LineInput, allocate, price
from tui_pos.domain.sale import tax_summary


def by_rate(lines, totals) -> tuple[tuple[int, int, int], ...]:
    """The receipt's tax summary of these priced lines, as (rate, base excl. tax, tax); one
    tax code per rate, so codes are the rates themselves here."""
    records = [{"tax_code": str(l.rate_bp), "rate_bp": l.rate_bp, "total": p.total, "tax": p.tax, "voided": l.voided}
               for l, p in zip(lines, totals.lines)]
    return tuple(sorted((rate, net, tax) for _, rate, net, tax in tax_summary(records)))

PCT = lambda bp: Discount("percent", bp)  # noqa: E731  (basis points: 1000 = 10 %)
OFF = lambda minor: Discount("amount", minor)  # noqa: E731


def half_up(value: Fraction) -> int:
    """Reference rounding for non-negative exact values: half away from zero."""
    assert value >= 0
    return floor(value + Fraction(1, 2))


# -- Discount ------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind, value", [("percent", 10001), ("percent", -1), ("amount", -1), ("bogus", 5),
                                         ("amount", 10**15), ("amount", 10**30)])
def test_discount_rejects_impossible_values(kind, value):
    """More than 100 %, a negative amount or an unknown kind is refused when keyed."""
    with pytest.raises(BadInput):
        Discount(kind, value)


@pytest.mark.parametrize("discount, base, off", [
    (PCT(1000), 1995, 200),  # 10 % of 19.95 = 1.995 -> 2.00 (half up)
    (PCT(1000), 1994, 199),  # 1.994 -> 1.99
    (PCT(10000), 999, 999),  # 100 % takes it all, no more
    (PCT(0), 999, 0),
    (PCT(3333), 1, 0),  # 0.3333 of a fen -> 0
    (OFF(500), 1200, 500),
    (OFF(500), 300, 300),  # an amount larger than the line stops at zero
    (OFF(500), 0, 0),
    (PCT(5000), 0, 0),
])
def test_discount_amount_off_never_exceeds_base(discount, base, off):
    assert discount.amount_off(base) == off


# -- allocate ------------------------------------------------------------------------------------

@pytest.mark.parametrize("amount, weights, parts", [
    (10, [1, 1, 1], [4, 3, 3]),  # 3.33 each; the one left over goes to the first tie
    (100, [1, 2, 3], [17, 33, 50]),  # 16.67 / 33.33 / 50: the largest remainder (.67) gets the unit
    (2, [3, 3, 1], [1, 1, 0]),  # 6/7, 6/7, 2/7
    (10, [2, 3, 5], [2, 3, 5]),  # exact
    (100, [700, 405], [63, 37]),  # 63.35 / 36.65: .65 beats .35
    (5, [0, 3], [0, 5]),  # a zero weight gets nothing
    (0, [1, 2], [0, 0]),
    (7, [0, 0], [0, 0]),  # nothing to weigh by: nothing allocated
    (7, [], []),
])
def test_allocate_largest_remainder(amount, weights, parts):
    assert allocate(amount, weights) == parts


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 10**6), min_size=1, max_size=30).flatmap(
    lambda ws: st.tuples(st.just(ws), st.integers(0, max(sum(ws), 0)))))
def test_allocate_sums_exactly_and_stays_within_one_unit_of_proportion(case):
    weights, amount = case
    parts = allocate(amount, weights)
    total = sum(weights)
    if total == 0:
        assert parts == [0] * len(weights)
        return
    assert sum(parts) == amount
    for part, weight in zip(parts, weights):
        exact = Fraction(amount * weight, total)
        assert floor(exact) <= part <= floor(exact) + 1
        assert part <= weight  # amount <= total weight, so no share exceeds its own line


# -- price(): hand-computed examples -------------------------------------------------------------

# Cola 3.50 x 2 at 13 %, noodles 4.50 x 1 at 9 % with 10 % off (45 -> 4.05), order discount 1.00.
# Order discount shared 700 : 405 of 1.00 -> 63.35 / 36.65 -> 63 / 37 (largest remainder).
# Nets: 637 and 368.
EXAMPLE = [LineInput(350, 2, 1300), LineInput(450, 1, 900, PCT(1000))]


def test_price_tax_inclusive_example():
    # tax = net * r / (1 + r): 637 * 13/113 = 73.28 -> 73 ; 368 * 9/109 = 30.39 -> 30
    totals = price(EXAMPLE, OFF(100), tax_included=True)
    assert [(l.gross, l.line_discount, l.order_discount, l.tax, l.total) for l in totals.lines] == [
        (700, 0, 63, 73, 637), (450, 45, 37, 30, 368)]
    assert (totals.gross, totals.discount, totals.tax, totals.total) == (1150, 145, 103, 1005)
    assert by_rate(EXAMPLE, totals) == ((900, 338, 30), (1300, 564, 73))


def test_price_tax_exclusive_example():
    # tax = net * r: 637 * 0.13 = 82.81 -> 83 ; 368 * 0.09 = 33.12 -> 33 ; totals 720 and 401
    totals = price(EXAMPLE, OFF(100), tax_included=False)
    assert [(l.tax, l.total) for l in totals.lines] == [(83, 720), (33, 401)]
    assert (totals.gross, totals.discount, totals.tax, totals.total) == (1150, 145, 116, 1121)
    assert by_rate(EXAMPLE, totals) == ((900, 368, 33), (1300, 637, 83))


@pytest.mark.parametrize("line, tax_included, tax, total", [
    (LineInput(5, 1, 1000), False, 1, 6),  # 0.5 fen of tax rounds up, not to even
    (LineInput(15, 1, 1000), False, 2, 17),  # 1.5 -> 2
    (LineInput(1, 1, 10000), True, 1, 1),  # 100 %: 1 * 1/2 = 0.5 -> 1
    (LineInput(999, 3, 0), True, 0, 2997),  # a zero rate has no tax
    (LineInput(999, 3, 0), False, 0, 2997),
])
def test_price_tax_rounds_half_up_once_per_line(line, tax_included, tax, total):
    priced = price([line], None, tax_included).lines[0]
    assert (priced.tax, priced.total) == (tax, total)


def test_percent_order_discount_on_the_discounted_lines():
    # lines 10.00 and 5.00 (5.00 minus 1.00 line discount = 4.00); 15 % of 14.00 = 2.10,
    # shared 1000 : 400 -> 1.50 / 0.60 exactly.
    lines = [LineInput(1000, 1, 0), LineInput(500, 1, 0, OFF(100))]
    totals = price(lines, PCT(1500), tax_included=True)
    assert [l.order_discount for l in totals.lines] == [150, 60]
    assert (totals.discount, totals.total) == (310, 1190)


def test_order_discount_larger_than_the_sale_stops_at_zero():
    totals = price([LineInput(300, 1, 1300), LineInput(200, 2, 900)], OFF(10_000), tax_included=False)
    assert totals.total == 0 and totals.tax == 0 and totals.discount == 700
    assert [l.order_discount for l in totals.lines] == [300, 400]


def test_voided_lines_count_for_nothing():
    """A voided line keeps its index but gets no gross, tax, discount share or tax bucket."""
    lines = [LineInput(1000, 1, 1300), LineInput(777, 3, 900, PCT(5000), voided=True), LineInput(500, 1, 1300)]
    totals = price(lines, OFF(150), tax_included=True)
    voided = totals.lines[1]
    assert (voided.gross, voided.line_discount, voided.order_discount, voided.tax, voided.total) == (0, 0, 0, 0, 0)
    # 1.50 off shared 1000 : 500 -> 100 / 50; nets 900 and 450; tax 900*13/113 = 103.5 -> 104,
    # 450*13/113 = 51.77 -> 52
    assert [l.order_discount for l in totals.lines] == [100, 0, 50]
    assert (totals.gross, totals.discount, totals.tax, totals.total) == (1500, 150, 156, 1350)
    assert by_rate(lines, totals) == ((1300, 1194, 156),)


def test_an_all_voided_sale_is_zero():
    lines = [LineInput(1000, 2, 1300, voided=True)]
    totals = price(lines, PCT(1000), tax_included=False)
    assert (totals.gross, totals.discount, totals.tax, totals.total, by_rate(lines, totals)) == (0, 0, 0, 0, ())


# -- the property: totals always reconcile -----------------------------------------------

RATES = st.one_of(st.sampled_from([0, 300, 600, 900, 1300]), st.integers(0, 10000))
DISCOUNTS = st.one_of(
    st.none(),
    st.builds(PCT, st.integers(0, 10000)),
    st.builds(OFF, st.integers(0, 200_000)),  # may exceed the line: must stop at zero
)
LINES = st.builds(
    LineInput,
    unit_price=st.integers(0, 100_000),
    qty=st.integers(1, 50),
    rate_bp=RATES,
    discount=DISCOUNTS,
    voided=st.integers(0, 9).map(lambda n: n == 0),  # about one line in ten is voided
)


def expected_off(discount: Discount | None, base: int) -> int:
    """Independent: what a discount takes off base (exact fraction, half up, capped at base)."""
    if discount is None or base <= 0:
        return 0
    raw = half_up(Fraction(base * discount.value, 10000)) if discount.kind == "percent" else discount.value
    return min(raw, base)


@settings(max_examples=250, deadline=None)
@given(st.lists(LINES, min_size=1, max_size=30), DISCOUNTS, st.booleans())
def test_totals_always_reconcile(lines, order_discount, tax_included):
    totals = price(lines, order_discount, tax_included)
    priced = totals.lines
    assert len(priced) == len(lines)

    # The line discounts and the order discount actually applied, computed independently.
    bases = []
    for line, p in zip(lines, priced):
        gross = 0 if line.voided else line.unit_price * line.qty
        assert p.gross == gross
        assert p.line_discount == (0 if line.voided else expected_off(line.discount, gross))
        bases.append(gross - p.line_discount)
    order_off = expected_off(order_discount, sum(bases))
    assert sum(p.order_discount for p in priced) == order_off

    # Each line's share is within one unit of its exact proportional share; voided lines get none.
    for p, base, line in zip(priced, bases, lines):
        if line.voided:
            assert (p.order_discount, p.tax, p.total) == (0, 0, 0)
        if order_off:
            exact = Fraction(order_off * base, sum(bases))
            assert floor(exact) <= p.order_discount <= floor(exact) + 1

    # Per-line tax is the exact tax rounded half up once; nothing is negative.
    for p, line in zip(priced, lines):
        net = p.gross - p.line_discount - p.order_discount
        assert net >= 0
        r = Fraction(line.rate_bp, 10000)
        assert p.tax == half_up(net * r / (1 + r) if tax_included else net * r)
        assert p.total == (net if tax_included else net + p.tax)
        assert p.total >= 0

    # The sale reconciles with its lines, to the unit.
    assert sum(p.total for p in priced) == totals.total
    assert sum(p.tax for p in priced) == totals.tax
    assert sum(p.gross for p in priced) == totals.gross
    assert totals.discount == sum(p.line_discount for p in priced) + order_off
    assert 0 <= totals.discount <= totals.gross
    assert totals.total == totals.gross - totals.discount + (0 if tax_included else totals.tax)

    # The tax summary (printed on receipts) adds up to the same total and tax.
    summary = by_rate(lines, totals)
    assert sum(base + tax for _, base, tax in summary) == totals.total
    assert sum(tax for _, _, tax in summary) == totals.tax
    for rate, base, tax in summary:
        at_rate = [p for p, line in zip(priced, lines) if line.rate_bp == rate and not line.voided]
        assert at_rate, "a tax bucket without lines"
        assert base + tax == sum(p.total for p in at_rate)
        assert tax == sum(p.tax for p in at_rate)
