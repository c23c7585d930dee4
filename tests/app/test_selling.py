"""Selling (tui_pos/app/selling.py) through the Till on a real shop: how pay reaches storage."""

from __future__ import annotations

import threading

from conftest import COLA, WATER
from tui_pos.domain.tender import Tender

from .counting import counting


def test_pay_takes_the_numbering_lock_once_and_commits_without_re_entering_the_ledger(till):
    taken, commits = counting(till)
    till.scan(COLA)
    till.scan(WATER)
    paid = till.pay([Tender("cash", 10_00)])

    assert paid.stored == "sqlite" and paid.sale.receipt.endswith("000001")
    assert len(taken) == 1  # the numbering lock, once
    assert commits == [("sale", paid.sale.uuid)]  # the sale, committed once, under that lock
    assert till.ledger.is_recorded(paid.sale.uuid) is True


def test_a_tender_put_on_the_cart_by_a_worker_mid_scan_is_not_lost(till):
    """resolve() at start-up puts a paid code payment's tender back on the sale in a worker while
    the cashier scans: the scan's new cart is made from the cart it read, so without one change at
    a time the tender put on meanwhile would be overwritten (paid, and gone from the sale)."""
    till.scan(COLA)
    selling = till.selling
    looking_up, release = threading.Event(), threading.Event()
    rate_of = selling.catalog.rate_of

    def slow_rate_of(product):  # the cashier's scan, caught after it read the cart (its tax rate is next)
        looking_up.set()
        release.wait(10)
        return rate_of(product)

    selling.catalog.rate_of = slow_rate_of
    scanning = threading.Thread(target=till.scan, args=(WATER,))
    scanning.start()
    assert looking_up.wait(10)
    worker = threading.Thread(target=selling.add_tender, args=(Tender("mobile", 3_50, "4200000001"),))
    worker.start()
    release.set()
    scanning.join(10)
    worker.join(10)

    cart = selling.cart
    assert [line.barcode for line in cart.active_lines] == [COLA, WATER]
    assert cart.tenders == (Tender("mobile", 3_50, "4200000001"),)
