"""build_sale without a Till: the stored sale record's lines reconcile to its total, and carry
what the settlement decided (rounding, paid, change)."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from tui_pos.domain.cart import Cart
from tui_pos.domain.catalog import Product, TaxRate
from tui_pos.domain.money import Currency
from tui_pos.domain.pricing import Discount
from tui_pos.domain.sale import build_sale
from tui_pos.domain.tender import Tender, settle

A = TaxRate("A", 1300)
B = TaxRate("B", 900)
COLA = Product("6900000000014", "可口可乐 330ml", 350, "A")
NOODLES = Product("6900000000113", "康师傅红烧牛肉面", 450, "B")
WATER = Product("6900000000021", "农夫山泉 550ml", 200, "A")


def make_sale(cart: Cart, tenders: tuple[Tender, ...], step: int = 0, tax_included: bool = True):
    totals = cart.totals(tax_included)
    settlement = settle(totals.total, tenders, step, Currency())
    return build_sale(cart, totals, tenders, settlement, till_id="T1", seq=123, cashier="demo",
                      completed_at="2026-11-21T09:05:00.000+00:00", currency="CNY", tax_included=tax_included)


def test_hand_computed_sale_record():
    # Cola x2 (7.00, 13 %), water voided, noodles 4.50 -10 % (9 %), 1.00 off the order:
    # shares 63 / 37, nets 6.37 and 3.68, taxes 0.73 and 0.30, total 10.05; cash 20.00 rounded
    # to 0.10 -> due 10.10, change 9.90.
    cart = (Cart("uuid-1", "2026-11-21T09:00:00.000+00:00").add(COLA, A, 2).add(WATER, A).add(NOODLES, B)
            .void(2).discount_line(3, Discount("percent", 1000)).discount_order(Discount("amount", 100)))
    sale = make_sale(cart, (Tender("cash", 2000),), step=10)
    assert (sale.uuid, sale.receipt, sale.seq, sale.opened_at) == ("uuid-1", "T1-000123", 123,
                                                                   "2026-11-21T09:00:00.000+00:00")
    assert [(l.line_no, l.barcode, l.qty, l.unit_price, l.line_discount, l.order_discount, l.tax_code,
             l.tax, l.total, l.voided) for l in sale.lines] == [
        (1, "6900000000014", 2, 350, 0, 63, "A", 73, 637, False),
        (2, "6900000000021", 1, 200, 0, 0, "A", 0, 0, True),  # kept for the audit, worth nothing
        (3, "6900000000113", 1, 450, 45, 37, "B", 30, 368, False),
    ]
    assert (sale.gross, sale.discount, sale.tax, sale.total) == (1150, 145, 103, 1005)
    assert (sale.rounding, sale.paid, sale.change) == (5, 2000, 990)


def test_record_is_plain_json_with_integer_amounts():
    """The record is what SQLite, the journal and replay all speak: JSON-safe, money as ints."""
    cart = Cart("uuid-2", "t0").add(COLA, A).add(NOODLES, B, 2)
    sale = make_sale(cart, (Tender("card", 500, "AUTH77"), Tender("mobile", 750, "4200001234")))
    record = json.loads(json.dumps(sale.to_record(), ensure_ascii=False))
    assert record["total"] == 1250 and record["change"] == 0
    assert record["tenders"] == [{"kind": "card", "amount": 500, "reference": "AUTH77"},
                                 {"kind": "mobile", "amount": 750, "reference": "4200001234"}]
    assert [line["name"] for line in record["lines"]] == ["可口可乐 330ml", "康师傅红烧牛肉面"]
    for key in ("gross", "discount", "tax", "total", "rounding", "paid", "change"):
        assert type(record[key]) is int
    assert all(type(line[k]) is int for line in record["lines"] for k in ("unit_price", "tax", "total"))


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 100_000), st.integers(1, 50), st.sampled_from([A, B, TaxRate("Z", 0)]),
                       st.integers(0, 10000), st.booleans()), min_size=1, max_size=30),
    st.integers(0, 10**6), st.booleans(), st.sampled_from([0, 10, 50]),
)
def test_sale_lines_reconcile_to_the_total(lines, order_off, tax_included, step):
    cart = Cart("uuid-3", "t0")
    for number, (unit, qty, rate, pct, void) in enumerate(lines, start=1):
        cart = cart.add(Product(str(number), f"item {number}", unit, rate.code, open_price=unit == 0), rate, qty,
                        1 if unit == 0 else None).discount_line(number, Discount("percent", pct))  # keyed: above 0
        if void:
            cart = cart.void(number)
    cart = cart.discount_order(Discount("amount", order_off))
    due_guess = cart.totals(tax_included).total
    sale = make_sale(cart, (Tender("cash", due_guess + step + 1),), step, tax_included)
    assert sum(l.total for l in sale.lines) == sale.total
    assert sum(l.tax for l in sale.lines) == sale.tax
    assert sum(l.line_discount + l.order_discount for l in sale.lines) == sale.discount
    assert sum(l.unit_price * l.qty for l in sale.lines if not l.voided) == sale.gross
    assert all(l.total == 0 for l in sale.lines if l.voided)
    assert sale.paid - sale.change == sale.total + sale.rounding
    assert [l.line_no for l in sale.lines] == list(range(1, len(lines) + 1))
