"""Code payments (tui_pos/app/payments.py) against the provider simulators through the real adapters
and SDKs (tests/payments/alipay_sim.py, wechat_sim.py), in real time with a short schedule: what the
simulator charged is what the till recorded, whatever the fault."""

from __future__ import annotations

import pytest

from conftest import COLA, set_config
from payments.paying import ALIPAY_CODE, CODES, until_done
from tui_pos.bootstrap.till import open_till
from tui_pos.config import load_config
from tui_pos.domain.payments import out_trade_no


@pytest.fixture(params=["alipay", "wechat"])
def provider_sim(request):
    return request.param, request.getfixturevalue(f"{request.param}_sim")


@pytest.fixture
def quick_till(shop_dir):
    for key, value in (("wait", "6"), ("query_every", "1"), ("reverse_after", "2")):
        set_config(shop_dir, "payments", key, value)
    till = open_till(load_config(shop_dir), cashier="test")
    yield till
    till.close()


def recorded(till) -> dict[str, int]:
    return {v.out_trade_no: v.charged for v in till.payments.list() if v.state == "paid"}


@pytest.mark.parametrize("fault", ["success", "userpaying", "timeout_after", "drop_after"])
def test_every_charge_the_provider_made_is_recorded_once(quick_till, provider_sim, fault):
    provider, simulator = provider_sim
    simulator.sim.faults.pay = fault
    simulator.sim.faults.paying_for = 1.5
    quick_till.payments.use_gateway(simulator.gateway())
    quick_till.scan(COLA)
    sale_uuid = quick_till.cart.uuid
    charge = until_done(quick_till, quick_till.payments.start(CODES[provider]))
    assert charge.state == "paid", charge.message
    assert simulator.sim.charged() == {out_trade_no(sale_uuid, 1): 350} == recorded(quick_till)
    assert [(t.kind, t.amount) for t in quick_till.cart.tenders] == [("mobile", 350)]
    quick_till.pay()
    assert all(v.sale_completed for v in quick_till.payments.list())


def test_a_refused_code_charges_nothing_and_leaves_the_cart(quick_till, provider_sim):
    provider, simulator = provider_sim
    simulator.sim.faults.pay = "fail"
    quick_till.payments.use_gateway(simulator.gateway())
    quick_till.scan(COLA)
    charge = until_done(quick_till, quick_till.payments.start(CODES[provider]))
    assert charge.state == "failed" and charge.done
    assert simulator.sim.charged() == {} and quick_till.cart.tenders == ()


def test_alipay_no_answer_before_charging_is_cancelled_at_the_deadline(quick_till, alipay_sim):
    alipay_sim.sim.faults.pay = "timeout_before"
    alipay_sim.sim.faults.query = "timeout"
    quick_till.payments.use_gateway(alipay_sim.gateway())
    quick_till.scan(COLA)
    charge = quick_till.payments.start(ALIPAY_CODE)
    alipay_sim.sim.faults.query = "ok"
    charge = until_done(quick_till, charge)
    assert charge.state in ("cancelled", "failed") and charge.done, charge.message
    assert alipay_sim.sim.charged() == {} and quick_till.cart.tenders == ()


def test_a_code_paid_sale_refunded_through_the_simulator(quick_till, provider_sim):
    provider, simulator = provider_sim
    quick_till.payments.use_gateway(simulator.gateway())
    quick_till.scan(COLA)
    sale_uuid = quick_till.cart.uuid
    until_done(quick_till, quick_till.payments.start(CODES[provider]))
    receipt = quick_till.pay().sale.receipt
    quick_till.login("manager", "9999")
    quick_till.refund(receipt, {1: 1}, "Damaged")
    assert simulator.sim.charged() == {out_trade_no(sale_uuid, 1): 0}  # net: charged, then refunded
    assert [v.state for v in quick_till.payments.list()] == ["paid", "refunded"]
    assert out_trade_no(sale_uuid, 1) == quick_till.payments.list()[1].out_trade_no
