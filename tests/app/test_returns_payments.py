"""Refunds of a sale paid by code (tui_pos/app/returns.py with app/payments.py): the money goes back
through the provider that charged it, the refund attempt durable before the call, the refund sale
stored once the provider said refunded, and never refunded twice (an unknown answer is asked again
with the same out_refund_no)."""

from __future__ import annotations

import sqlite3

import pytest

from conftest import COLA, WATER, till_at
from payments.fake_gateway import REFUND_LOST, UNKNOWN, FakeGateway
from payments.paying import ALIPAY_CODE, WECHAT_CODE, until_done, wire
from tui_pos.domain.errors import CodePaymentRefused
from tui_pos.domain.payments import GatewayReply, out_refund_no
from tui_pos.domain.tender import Tender

REASON = "Damaged"


@pytest.fixture
def manager_till(shop_dir):
    till = till_at(shop_dir, "manager", "9999")
    yield till
    till.close()


def sold_by_code(till, gateway: FakeGateway) -> tuple[str, str]:
    """COLA 3.50 + WATER 2.00 paid by code; (receipt, transaction id)."""
    wire(till, gateway)
    till.scan(COLA)
    till.scan(WATER)
    charge = until_done(till, till.payments.start(ALIPAY_CODE))
    paid = till.pay()
    return paid.sale.receipt, charge.transaction_id


def refunds_stored(shop_dir) -> list[tuple]:
    conn = sqlite3.connect(shop_dir / "pos.sqlite3")
    try:
        return conn.execute("SELECT s.uuid, t.kind, t.amount, t.reference FROM sale s JOIN tender t "
                            "ON t.sale_uuid = s.uuid WHERE s.kind = 'refund'").fetchall()
    finally:
        conn.close()


def test_a_refund_of_a_code_payment_goes_back_through_the_provider(manager_till, shop_dir):
    gateway = FakeGateway("alipay")
    receipt, transaction_id = sold_by_code(manager_till, gateway)
    paid = manager_till.refund(receipt, {1: 1}, REASON)
    refund = paid.sale
    assert [(t.kind, t.amount, t.reference) for t in refund.tenders] == [("mobile", -350, transaction_id)]
    assert [c for c in gateway.calls if c[0] == "refund"] == [
        ("refund", next(iter(gateway.trades)), out_refund_no(refund.uuid, 1), 350)]
    assert sum(gateway.charged().values()) == 200
    views = manager_till.payments.list()
    assert [(v.kind, v.state, v.sale_completed) for v in views] == [("pay", "paid", True), ("refund", "refunded", True)]
    assert views[1].sale_uuid == refund.uuid and views[1].original_sale_uuid == views[0].sale_uuid


def test_an_unknown_refund_is_asked_again_and_refunded_once(manager_till):
    gateway = FakeGateway("alipay")
    receipt, _ = sold_by_code(manager_till, gateway)
    gateway.script("refund", REFUND_LOST)  # refunded, the answer lost
    manager_till.refund(receipt, {2: 1}, REASON)
    assert gateway.methods()[-2:] == ["refund", "query_refund"]
    assert len(gateway.refunded()) == 1 and sum(gateway.charged().values()) == 350


def test_a_refund_not_confirmed_stores_nothing_and_the_same_refund_later_is_never_paid_twice(manager_till, shop_dir):
    gateway = FakeGateway("alipay")
    receipt, _ = sold_by_code(manager_till, gateway)
    gateway.script("refund", REFUND_LOST).script("query_refund", *[UNKNOWN] * 30)
    with pytest.raises(CodePaymentRefused, match="not confirmed"):
        manager_till.refund(receipt, {1: 1}, REASON)
    assert refunds_stored(shop_dir) == []
    [pending] = [v for v in manager_till.payments.list(unresolved=True) if v.kind == "refund"]
    assert pending.unresolved
    gateway.unscript()  # the provider answers again
    paid = manager_till.refund(receipt, {1: 1}, REASON)  # the same refund again: asked, not sent again
    assert paid.sale.uuid == pending.sale_uuid
    assert gateway.methods().count("refund") == 1 and len(gateway.refunded()) == 1
    assert [r[2] for r in refunds_stored(shop_dir)] == [-350]
    assert manager_till.payments.list(unresolved=True) == []


def test_a_refund_the_provider_refuses_stores_nothing_and_cash_is_offered(manager_till, shop_dir):
    gateway = FakeGateway("alipay")
    receipt, _ = sold_by_code(manager_till, gateway)
    gateway.script("refund", GatewayReply("failed", reason="the trade is too old", code="TRADE_TOO_OLD"))
    with pytest.raises(CodePaymentRefused, match="the trade is too old"):
        manager_till.refund(receipt, {1: 1}, REASON)
    assert refunds_stored(shop_dir) == []
    paid = manager_till.refund(receipt, {1: 1}, REASON, all_cash=True)
    assert [t.kind for t in paid.sale.tenders] == ["cash"]
    assert sum(gateway.charged().values()) == 550


def test_offline_a_code_refund_is_refused_at_once(manager_till, shop_dir):
    gateway = FakeGateway("alipay")
    receipt, _ = sold_by_code(manager_till, gateway)
    gateway.online_now = False
    with pytest.raises(CodePaymentRefused, match="offline"):
        manager_till.refund(receipt, {1: 1}, REASON)
    assert "refund" not in gateway.methods() and refunds_stored(shop_dir) == []


def test_a_mobile_tender_typed_by_hand_is_refunded_as_before(manager_till, shop_dir):
    gateway = FakeGateway("alipay")
    wire(manager_till, gateway)
    manager_till.scan(COLA)
    receipt = manager_till.pay([Tender("mobile", 350, "4200000000000000001")]).sale.receipt
    paid = manager_till.refund(receipt, {1: 1}, REASON)
    assert [(t.kind, t.amount) for t in paid.sale.tenders] == [("mobile", -350)]
    assert gateway.methods() == []


def test_voiding_the_last_sale_paid_by_code_refunds_it_through_the_provider(manager_till):
    gateway = FakeGateway("wechat")
    wire(manager_till, gateway)
    manager_till.scan(COLA)
    until_done(manager_till, manager_till.payments.start(WECHAT_CODE))
    manager_till.pay()
    void = manager_till.void_last_sale(REASON).sale
    assert [(t.kind, t.amount) for t in void.tenders] == [("mobile", -350)]
    assert gateway.methods().count("refund") == 1 and sum(gateway.charged().values()) == 0


def test_a_refund_left_unknown_is_settled_by_resolve_and_stored_by_the_same_refund_later(manager_till, shop_dir):
    gateway = FakeGateway("alipay")
    receipt, _ = sold_by_code(manager_till, gateway)
    gateway.script("refund", REFUND_LOST).script("query_refund", *[UNKNOWN] * 30)
    with pytest.raises(CodePaymentRefused, match="not confirmed"):
        manager_till.refund(receipt, {2: 1}, REASON)
    gateway.unscript()
    [settled] = manager_till.payments.resolve()
    assert (settled.kind, settled.state, settled.sale_completed) == ("refund", "refunded", False)
    assert [v.paid_not_completed for v in manager_till.payments.list(unresolved=True)] == [True]
    paid = manager_till.refund(receipt, {2: 1}, REASON)
    assert paid.sale.uuid == settled.sale_uuid and [r[2] for r in refunds_stored(shop_dir)] == [-200]
    assert gateway.methods().count("refund") == 1 and manager_till.payments.list(unresolved=True) == []
