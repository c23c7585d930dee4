"""The cart value: line operations, open price, quantity limits, version bumps, and the
to_record/from_record round trip that cart.json (crash recovery) depends on."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tui_pos.domain.cart import MAX_QTY, Cart
from tui_pos.domain.catalog import Product, TaxRate
from tui_pos.domain.errors import CartError
from tui_pos.domain.pricing import Discount

A = TaxRate("A", 1300)
B = TaxRate("B", 900)
COLA = Product("6900000000014", "可口可乐 330ml", 350, "A", "饮料 Drinks")
NOODLES = Product("6900000000113", "康师傅红烧牛肉面", 450, "B")
WEIGHED = Product("6900000000595", "散装称重 Weighed goods", 0, "B", open_price=True)


def empty() -> Cart:
    return Cart(uuid="5f0c6f0e-0000-4000-8000-000000000001", opened_at="2026-11-21T09:00:00.000+00:00")


def two_lines() -> Cart:
    """Cola x2 (line 1) and noodles x1 (line 2): 7.00 + 4.50."""
    return empty().add(COLA, A, 2).add(NOODLES, B)


def test_add_makes_numbered_lines_from_the_product():
    cart = two_lines()
    assert [(l.line_id, l.barcode, l.name, l.unit_price, l.qty, l.tax_code, l.rate_bp, l.price_keyed)
            for l in cart.lines] == [
        (1, "6900000000014", "可口可乐 330ml", 350, 2, "A", 1300, False),
        (2, "6900000000113", "康师傅红烧牛肉面", 450, 1, "B", 900, False)]
    assert cart.totals(tax_included=True).total == 1150


def test_operations_return_new_carts_and_bump_the_version():
    """The newest saved copy wins on restore, so every change must bump the version by one."""
    cart0 = empty()
    steps = [
        lambda c: c.add(COLA, A),
        lambda c: c.add(NOODLES, B, 3),
        lambda c: c.set_qty(1, 4),
        lambda c: c.discount_line(2, Discount("percent", 1000)),
        lambda c: c.discount_order(Discount("amount", 50)),
        lambda c: c.void(1),
        lambda c: c.discount_order(None),
    ]
    cart = cart0
    for number, step in enumerate(steps, start=1):
        before = cart
        cart = step(cart)
        assert cart.version == number
        assert before.version == number - 1  # the old value is untouched
    assert cart0.lines == () and cart0.version == 0


def test_failed_operations_change_nothing():
    cart = two_lines()
    for bad in (lambda: cart.set_qty(1, 0), lambda: cart.void(9), lambda: cart.add(WEIGHED, B)):
        with pytest.raises(CartError):
            bad()
    assert cart == two_lines()


def test_open_price_needs_the_price_keyed_in():
    with pytest.raises(CartError, match="open price, key the price in"):
        empty().add(WEIGHED, B)
    cart = empty().add(WEIGHED, B, 1, 880)
    line = cart.lines[0]
    assert (line.unit_price, line.price_keyed) == (880, True)
    assert cart.totals(tax_included=True).total == 880


def test_a_keyed_price_cannot_be_negative():
    with pytest.raises(CartError, match="negative"):
        empty().add(WEIGHED, B, 1, -1)


@pytest.mark.parametrize("qty", [0, -1, MAX_QTY + 1])
def test_quantity_limits_on_add_and_set_qty(qty):
    with pytest.raises(CartError, match=f"between 1 and {MAX_QTY}"):
        empty().add(COLA, A, qty)
    with pytest.raises(CartError, match=f"between 1 and {MAX_QTY}"):
        two_lines().set_qty(1, qty)


def test_quantity_limits_are_inclusive():
    assert MAX_QTY == 9999
    assert empty().add(COLA, A, 9999).lines[0].qty == 9999
    assert two_lines().set_qty(2, 1).set_qty(2, 9999).line(2).qty == 9999


def test_set_qty_reprices():
    cart = two_lines().set_qty(1, 5)  # 5 x 3.50 + 4.50
    assert cart.totals(tax_included=True).total == 2200


def test_void_keeps_the_line_for_the_audit_but_counts_nothing():
    cart = two_lines().void(1)
    assert len(cart.lines) == 2 and cart.lines[0].voided
    assert [l.line_id for l in cart.active_lines] == [2]
    assert cart.totals(tax_included=True).total == 450
    with pytest.raises(CartError, match="no line 1"):
        cart.set_qty(1, 3)  # a voided line can no longer be changed
    with pytest.raises(CartError, match="no line 1"):
        cart.void(1)
    # New lines never reuse a voided line's number.
    assert cart.add(COLA, A).lines[-1].line_id == 3


def test_voiding_every_line_empties_the_sale():
    cart = two_lines().void(1).void(2)
    assert cart.is_empty and not two_lines().is_empty
    assert cart.totals(tax_included=False).total == 0


def test_line_and_order_discounts():
    # line 2: 4.50 - 10 % = 4.05 ; order 1.00 off 11.05 ; total 10.05 (see test_pricing)
    cart = two_lines().discount_line(2, Discount("percent", 1000)).discount_order(Discount("amount", 100))
    totals = cart.totals(tax_included=True)
    assert (totals.discount, totals.total) == (145, 1005)
    # removing both restores the full price
    cart = cart.discount_line(2, None).discount_order(None)
    assert cart.totals(tax_included=True).total == 1150
    with pytest.raises(CartError):
        cart.discount_line(7, Discount("amount", 1))


def test_record_round_trip_through_json():
    """cart.json must bring back exactly the same cart: lines, voids, keyed prices, discounts, version."""
    cart = (two_lines().add(WEIGHED, B, 2, 1234).discount_line(1, Discount("amount", 70))
            .void(2).discount_order(Discount("percent", 550)))
    record = json.loads(json.dumps(cart.to_record(), ensure_ascii=False))
    assert record["version"] == cart.version == 6
    restored = Cart.from_record(record)
    assert restored == cart
    assert restored.totals(True) == cart.totals(True)


def test_record_round_trip_of_an_empty_cart():
    assert Cart.from_record(json.loads(json.dumps(empty().to_record()))) == empty()


PRODUCTS = st.sampled_from([(COLA, A), (NOODLES, B)])
OPS = st.one_of(
    st.tuples(st.just("add"), PRODUCTS, st.integers(1, 50)),
    st.tuples(st.just("open"), st.integers(0, 100_000), st.integers(1, 50)),
    st.tuples(st.just("qty"), st.integers(1, 12), st.integers(1, MAX_QTY)),
    st.tuples(st.just("void"), st.integers(1, 12)),
    st.tuples(st.just("line_discount"), st.integers(1, 12),
              st.one_of(st.none(), st.builds(Discount, st.just("percent"), st.integers(0, 10000)),
                        st.builds(Discount, st.just("amount"), st.integers(0, 10**6)))),
    st.tuples(st.just("order_discount"),
              st.one_of(st.none(), st.builds(Discount, st.just("amount"), st.integers(0, 10**6)))),
)


def apply(cart: Cart, op: tuple) -> Cart:
    kind, *args = op
    if kind == "add":
        (product, rate), qty = args
        return cart.add(product, rate, qty)
    if kind == "open":
        return cart.add(WEIGHED, B, args[1], args[0])
    if kind == "qty":
        return cart.set_qty(*args)
    if kind == "void":
        return cart.void(*args)
    if kind == "line_discount":
        return cart.discount_line(*args)
    return cart.discount_order(*args)


@settings(max_examples=100, deadline=None)
@given(st.lists(OPS, max_size=25))
def test_random_edit_sequences_round_trip_and_count_versions(ops):
    """Whatever the cashier did, the saved record restores the same cart, and the version counts
    exactly the operations that succeeded."""
    cart, applied = empty(), 0
    for op in ops:
        try:
            cart = apply(cart, op)
            applied += 1
        except CartError:
            pass
    assert cart.version == applied
    assert Cart.from_record(json.loads(json.dumps(cart.to_record()))) == cart
    ids = [l.line_id for l in cart.lines]
    assert ids == list(range(1, len(ids) + 1))


# -- amounts are range-checked when the cart is built, not at the commit -------------------------------
BIGGEST = 10**15 - 1  # 9999999999999.99: the largest price an amount may be (tui_pos.domain.money.MAX_MINOR - 1)
TV = Product("6900000000777", "Big TV", BIGGEST, "A")


@pytest.mark.parametrize("qty", [9999, 2])
def test_a_line_above_the_amount_limit_is_refused_when_added(qty):
    """x9999 overflowed SQLite's integers at the commit; x2 stored a total above the limit."""
    with pytest.raises(CartError, match="too large an amount"):
        empty().add(TV, A, qty)


def test_the_limit_counts_the_whole_sale_and_tax_on_top():
    near = Product("6900000000778", "Near", 9 * 10**14, "A")  # under the limit, over it with 13% on top
    with pytest.raises(CartError, match="Near: 1 x that price is too large"):
        empty().add(near, A)
    fits = Product("6900000000779", "Fits", 45 * 10**13, "A")  # 4.5e14, 5.085e14 with tax: one fits, not two
    cart = empty().add(fits, A)
    with pytest.raises(CartError, match="sale's total would be too large"):
        cart.add(fits, A)
    with pytest.raises(CartError, match="too large"):
        cart.set_qty(cart.lines[0].line_id, 2)
    with pytest.raises(CartError, match="too large"):
        cart.set_price(cart.lines[0].line_id, 10**15)
    assert cart.totals(tax_included=False).total == 508_500_000_000_000


def test_payments_above_the_amount_limit_are_refused():
    from tui_pos.domain.errors import TenderError
    from tui_pos.domain.tender import Tender

    cart = empty().add(COLA, A).add_tender(Tender("card", BIGGEST // 2 + 1, "C1"))
    with pytest.raises(CartError, match="too large"):
        cart.add_tender(Tender("card", BIGGEST // 2 + 1, "C2"))
    with pytest.raises(TenderError):
        Tender("cash", 10**15)


def test_an_open_price_of_zero_is_refused_with_a_message_that_says_so():
    with pytest.raises(CartError, match="key in a price above zero"):
        empty().add(WEIGHED, B, 1, 0)
