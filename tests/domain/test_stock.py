"""Stock arithmetic (domain/stock.py): properties over any movements, and the quantity rules."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tui_pos.domain.errors import BadInput
from tui_pos.domain.records import StockMoved, new_uuid
from tui_pos.domain.stock import (
    Movement,
    cost_of,
    format_qty,
    is_low,
    last_count_plus_since,
    moving_average_cost,
    on_hand,
    parse_item,
    parse_qty,
    reorder_suggestion,
    transfer_variance,
    variance,
)

quantities = st.integers(-10**7, 10**7)
plain = st.builds(Movement, st.sampled_from(["sale", "receive", "adjust", "transfer_out", "transfer_in"]), quantities)
steps = st.lists(st.one_of(plain, st.builds(lambda c: Movement("count", 0, c), st.integers(0, 10**7))), max_size=40)


def as_recorded(steps: list[Movement], opening: int) -> list[Movement]:
    """The movements as the till records them: each count with its variance against the on-hand just before."""
    recorded, level = [], opening
    for step in steps:
        if step.kind == "count":
            assert step.counted is not None
            step = Movement("count", variance(step.counted, level), step.counted)
        recorded.append(step)
        level = on_hand([step], level)
    return recorded


@given(steps, quantities)
def test_on_hand_is_always_the_last_count_plus_the_movements_since(moves, opening):
    recorded = as_recorded(moves, opening)
    assert on_hand(recorded, opening) == last_count_plus_since(recorded, opening)


@given(steps, quantities)
def test_the_store_s_sum_of_quantities_is_the_same_figure(moves, opening):
    """The store sums every quantity (a count's is its variance): no order needed, the same on-hand."""
    recorded = as_recorded(moves, opening)
    assert opening + sum(m.qty for m in recorded) == on_hand(recorded, opening)


@given(steps, quantities, st.integers(0, 39))
def test_every_prefix_agrees_too(moves, opening, cut):
    recorded = as_recorded(moves, opening)[:cut]
    assert on_hand(recorded, opening) == last_count_plus_since(recorded, opening)


@given(st.integers(0, 10**7), st.integers(0, 10**7), st.integers(-10**7, 10**7), st.integers(-10**7, 10**7))
def test_a_transfer_out_and_in_sum_to_zero_or_leave_a_recorded_variance(sent, received, here, there):
    out = Movement("transfer_out", -sent)
    into = Movement("transfer_in", received)
    moved = on_hand([out], here) + on_hand([into], there) - here - there
    assert moved == transfer_variance(sent, received)
    assert (moved == 0) == (sent == received)


@given(st.lists(st.tuples(st.integers(-10**6, 10**6), st.integers(1, 10**6), st.integers(0, 10**6)), min_size=1,
                max_size=20))
def test_the_moving_average_stays_between_the_cheapest_and_dearest_receipt(receipts):
    avg = moving_average_cost(receipts)
    assert avg is not None
    assert min(c for _, _, c in receipts) <= avg <= max(c for _, _, c in receipts)


def test_the_moving_average_weighs_what_was_on_hand():
    # 10 at 2.00, then with 10 still on hand 30 more at 3.00: (10*200 + 30*300) / 40 = 275
    assert moving_average_cost([(0, 10_000, 200), (10_000, 30_000, 300)]) == 275
    # the first lot sold out (on hand 0, or below): the new lot's cost alone
    assert moving_average_cost([(0, 10_000, 200), (-2_000, 5_000, 300)]) == 300
    assert moving_average_cost([(0, 10_000, None)]) is None
    assert cost_of(1_500, Fraction(275)) == 413  # 1.5 units at 2.75 = 4.125 -> 4.13 (half up)


@pytest.mark.parametrize("text, weighed, milli", [("3", False, 3000), ("1.25", True, 1250), ("0.001", True, 1),
                                                   ("12", True, 12000)])
def test_quantities_are_milli_units(text, weighed, milli):
    assert parse_qty(text, weighed) == milli
    assert parse_qty(format_qty(milli), weighed) == milli


@pytest.mark.parametrize("text, weighed, signed", [("1.5", False, False), ("0.0001", True, False), ("-1", False, False),
                                                   ("abc", True, True), ("1e3", True, True), ("1,000", False, False),
                                                   ("99999999999", False, False)])
def test_bad_quantities_are_refused(text, weighed, signed):
    with pytest.raises(BadInput):
        parse_qty(text, weighed, signed=signed)


def test_an_adjustment_may_be_negative():
    assert parse_qty("-2", signed=True) == -2000
    assert format_qty(-500) == "-0.5"


@pytest.mark.parametrize("text, item", [("6901234", ("6901234", "1")), ("6901234x12", ("6901234", "12")),
                                        ("111X1.5", ("111", "1.5")), ("111*2", ("111", "2")),
                                        ("111x-3", ("111", "-3"))])
def test_items_are_code_and_quantity(text, item):
    assert parse_item(text) == item


def test_low_stock_and_the_reorder_suggestion():
    assert is_low(5000, 5000) and not is_low(5001, 5000) and not is_low(-5, None)
    assert reorder_suggestion(2000, 5000, 24000) == 24000
    assert reorder_suggestion(2000, 5000, None) == 8000  # up to twice the level
    assert reorder_suggestion(6000, 5000, 24000) == 0
    # goods on their way count: not ordered twice
    assert reorder_suggestion(2000, 5000, None, incoming=3000) == 5000  # up to twice the level, less both
    assert reorder_suggestion(2000, 5000, 24000, incoming=3000) == 24000  # still at the level: the quantity
    assert reorder_suggestion(2000, 5000, 24000, incoming=3001) == 0  # above the level once they arrive


def test_a_count_s_quantity_is_its_variance():
    with pytest.raises(ValueError):
        StockMoved(new_uuid(), "T1", "2026-12-04T10:00:00.000+00:00", "count", "111", 5, expected=10, counted=12)
    with pytest.raises(ValueError):
        StockMoved(new_uuid(), "T1", "2026-12-04T10:00:00.000+00:00", "adjust", "111", -5, expected=10, reason="lost")
    with pytest.raises(ValueError):
        StockMoved(new_uuid(), "T1", "2026-12-04T10:00:00.000+00:00", "receive", "111", -5, expected=10)
