"""Refunds and voids (tui_pos/app/returns.py) through the Till on a real shop: numbered and
stored like a sale, in one unit of work, the returns so far read again under the lock."""

from __future__ import annotations

from conftest import COLA, WATER
from tui_pos.domain.errors import CartError, PaymentPending
from tui_pos.domain.tender import Tender

from .counting import counting


def sell(till, *codes):
    for code in codes:
        till.scan(code)
    return till.pay([Tender("cash", 10_00)]).sale


def test_a_refund_takes_the_numbering_lock_once_and_commits_once(till):
    sale = sell(till, COLA, WATER)
    manager = till.approve("manager", "9999", "refund")
    taken, commits = counting(till)

    refund = till.refund(sale.receipt, {1: 1}, "Damaged", manager).sale

    assert (refund.kind, refund.original_receipt, refund.seq, refund.total) == ("refund", sale.receipt, 2, -3_50)
    assert len(taken) == 1 and commits == [("sale", refund.uuid)]


def test_a_void_takes_the_numbering_lock_once_and_commits_once(till):
    sale = sell(till, WATER)
    manager = till.approve("manager", "9999", "void")
    taken, commits = counting(till)

    void = till.void_last_sale("Wrong item", manager, shown=sale.uuid).sale

    assert (void.kind, void.original_receipt, void.seq, void.total) == ("void", sale.receipt, 2, -2_00)
    assert len(taken) == 1 and commits == [("sale", void.uuid)]


def test_a_payment_waiting_for_a_retry_is_its_own_error_and_still_a_cart_error():
    assert issubclass(PaymentPending, CartError)
