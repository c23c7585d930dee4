"""Code payments (tui_pos/app/payments.py) through the Till on a real shop, with the in-process
scripted gateway (tests/payments/fake_gateway.py) and a clock the test moves."""

from __future__ import annotations

import sqlite3

import pytest

from conftest import COLA, WATER, database_write_locked, journal_dir_replaced_by_a_file
from payments.fake_gateway import LOST, PAID, UNKNOWN, USERPAYING, FakeGateway
from payments.paying import ALIPAY_CODE, WECHAT_CODE, ahead, until_done, wire
from tui_pos.app.payments import Charge
from tui_pos.bootstrap.till import open_till
from tui_pos.config import load_config
from tui_pos.domain.errors import CodePaymentRefused, TenderError
from tui_pos.domain.payments import GatewayReply, out_trade_no
from tui_pos.domain.tender import Tender
from tui_pos.store import crash
from tui_pos.store.crash import PAYMENT_POINTS


def rows(shop_dir, sql: str) -> list[tuple]:
    conn = sqlite3.connect(shop_dir / "pos.sqlite3")
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


@pytest.fixture
def alipay() -> FakeGateway:
    return FakeGateway("alipay")


@pytest.fixture
def wechat() -> FakeGateway:
    return FakeGateway("wechat")


def test_a_paid_code_becomes_a_mobile_tender_and_the_sale_completes(till, shop_dir, alipay):
    wire(till, alipay)
    till.scan(COLA)
    charge = till.payments.start(ALIPAY_CODE)
    assert alipay.methods() == ["online"]  # start makes the attempt durable, and calls nothing
    assert rows(shop_dir, "SELECT sale_uuid, kind, provider, attempt_no, out_trade_no, amount, code_mask "
                          "FROM payment_attempt") == [
        (till.cart.uuid, "pay", "alipay", 1, out_trade_no(till.cart.uuid, 1), 350, "2876**********5432")]
    assert charge.state == "charging" and not charge.done and charge.amount == 350
    charge = until_done(till, charge)
    assert charge.state == "paid" and charge.transaction_id
    assert [(t.kind, t.amount, t.reference) for t in till.cart.tenders] == [("mobile", 350, charge.transaction_id)]
    sale_uuid = till.cart.uuid
    paid = till.pay()
    assert paid.sale.uuid == sale_uuid
    assert alipay.charged() == {out_trade_no(sale_uuid, 1): 350}
    [view] = till.payments.list()
    assert (view.state, view.transaction_id, view.charged, view.sale_completed) == (
        "paid", charge.transaction_id, 350, True)
    assert till.payments.list(unresolved=True) == []
    assert ALIPAY_CODE not in (shop_dir / "logs" / "tui-pos.log").read_text() if (shop_dir / "logs").exists() else True


def test_waiting_for_the_customer_counts_down_and_queries_at_the_interval(till, alipay):
    fake = wire(till, alipay)
    alipay.script("pay", USERPAYING).script("query", USERPAYING, USERPAYING, PAID)
    till.scan(COLA)
    start = fake.now
    seen: list[Charge] = []
    charge = until_done(till, till.payments.start(ALIPAY_CODE), seen)
    assert charge.state == "paid"
    assert "paying" in [c.state for c in seen]
    lefts = [c.seconds_left for c in seen if c.state == "paying"]
    assert lefts == sorted(lefts, reverse=True) and lefts[0] > lefts[-1]
    assert alipay.methods() == ["online", "pay", "query", "query", "query"]
    assert fake.now - start == pytest.approx(15)  # three queries, query_every = 5 s apart
    assert till.due().left == 0


def test_a_failed_code_leaves_the_cart_intact_and_the_next_attempt_is_a_new_trade(till, alipay):
    wire(till, alipay)
    alipay.script("pay", GatewayReply("failed", reason="the payment code has expired", code="AUTH_CODE_INVALID"))
    till.scan(COLA)
    charge = until_done(till, till.payments.start(ALIPAY_CODE))
    assert (charge.state, charge.done) == ("failed", True)
    assert "the payment code has expired" in charge.message and charge.template and charge.params
    assert till.cart.tenders == () and till.due().left == 350
    second = until_done(till, till.payments.start(ALIPAY_CODE))
    assert second.state == "paid"
    assert [c[1] for c in alipay.calls if c[0] == "pay"] == [out_trade_no(till.cart.uuid, 1),
                                                             out_trade_no(till.cart.uuid, 2)]
    assert [v.state for v in till.payments.list()] == ["failed", "paid"]


def test_an_unknown_answer_is_asked_again_and_a_charge_found_is_kept_once(till, wechat):
    wire(till, wechat)
    wechat.script("pay", LOST)  # charged, the answer lost
    till.scan(COLA)
    charge = until_done(till, till.payments.start(WECHAT_CODE))
    assert charge.state == "paid"
    assert wechat.methods() == ["online", "pay", "query"]
    assert len(till.cart.tenders) == 1
    assert sum(wechat.charged().values()) == 350


@pytest.mark.parametrize("provider, code", [("alipay", ALIPAY_CODE), ("wechat", WECHAT_CODE)])
def test_unknown_until_the_deadline_is_cancelled_and_nothing_is_charged(till, provider, code):
    gateway = FakeGateway(provider)
    fake = wire(till, gateway)
    gateway.script("pay", UNKNOWN).script("query", *[UNKNOWN] * 30)
    till.scan(COLA)
    start = fake.now
    charge = until_done(till, till.payments.start(code))
    assert (charge.state, charge.done) == ("cancelled", True)
    assert gateway.methods()[-1] == "cancel" and gateway.methods().count("cancel") == 1
    assert fake.now - start == pytest.approx(60)  # the customer's wait, then the cancel
    assert gateway.charged() == {} and till.cart.tenders == ()
    assert till.payments.list()[0].state == "cancelled"


def test_wechat_is_never_reversed_sooner_than_15_s_after_the_pay_call(till, wechat):
    fake = wire(till, wechat)
    wechat.script("pay", UNKNOWN).script("query", *[UNKNOWN] * 10)
    till.scan(COLA)
    charge = till.payments.start(WECHAT_CODE)
    charge = till.payments.advance(charge)  # the pay call: unknown
    sent = fake.now
    fake.now += 3
    charge = till.payments.abandon(charge)  # the cashier gives up after 3 s
    assert charge.state == "cancelled"
    reverse_at = [fake.now]  # the reverse was the last call
    assert wechat.methods()[-1] == "cancel"
    assert reverse_at[0] - sent >= 15


def test_wechat_is_not_reversed_while_the_customer_confirms(till, wechat):
    wire(till, wechat)
    wechat.script("pay", USERPAYING).script("query", *[USERPAYING] * 40)
    till.scan(COLA)
    charge = until_done(till, till.payments.start(WECHAT_CODE))
    assert (charge.state, charge.done) == ("unknown", True)
    assert "cancel" not in wechat.methods()
    assert till.payments.unresolved()


def test_alipay_waiting_for_the_buyer_is_cancelled_at_the_deadline(till, alipay):
    wire(till, alipay)
    alipay.script("pay", USERPAYING)  # the default query says USERPAYING while the trade is paying
    till.scan(COLA)
    charge = until_done(till, till.payments.start(ALIPAY_CODE))
    assert charge.state == "cancelled" and alipay.methods()[-1] == "cancel" and alipay.charged() == {}


def test_refusals_record_nothing_and_leave_the_cart(till, shop_dir, alipay, wechat):
    wire(till, alipay)
    with pytest.raises(CodePaymentRefused, match="scan an item"):
        till.payments.start(ALIPAY_CODE)
    till.scan(COLA)
    with pytest.raises(CodePaymentRefused, match="not an Alipay or WeChat payment code"):
        till.payments.start(COLA)
    with pytest.raises(CodePaymentRefused, match="not set up"):
        till.payments.start(WECHAT_CODE)  # no WeChat gateway on this till
    with pytest.raises(CodePaymentRefused, match="more than what is left"):
        till.payments.start(ALIPAY_CODE, 351)
    alipay.online_now = False
    with pytest.raises(CodePaymentRefused, match="^offline: take cash or card$"):
        till.payments.start(ALIPAY_CODE)
    assert rows(shop_dir, "SELECT COUNT(*) FROM payment_attempt") == [(0,)]
    assert "pay" not in alipay.methods() and till.cart.tenders == ()


def test_no_shift_open_is_refused_before_anything_is_recorded_or_charged(tmp_path, alipay):
    """Charged first, the sale could not be stored after (no shift): "paid, sale not completed"."""
    from tui_pos.bootstrap.shop import init_shop
    from tui_pos.domain.errors import NoShiftOpen

    shop = tmp_path / "shop"
    init_shop(shop, demo=True)  # no shift opened
    no_shift = open_till(load_config(shop), cashier="demo")
    try:
        wire(no_shift, alipay)
        no_shift.scan(COLA)
        with pytest.raises(NoShiftOpen):
            no_shift.payments.start(ALIPAY_CODE)
    finally:
        no_shift.close()
    assert rows(shop, "SELECT COUNT(*) FROM payment_attempt") == [(0,)] and alipay.methods() == []


def test_a_split_payment_takes_what_is_left_by_code(till, alipay):
    wire(till, alipay)
    till.scan(COLA)
    till.scan(WATER)
    first = until_done(till, till.payments.start(ALIPAY_CODE, 200))
    second = until_done(till, till.payments.start(ALIPAY_CODE))
    assert (first.amount, second.amount) == (200, 350)
    assert till.due().left == 0 and len(till.cart.tenders) == 2
    till.pay()
    assert sum(alipay.charged().values()) == 550
    assert all(v.sale_completed for v in till.payments.list())


def test_an_unresolved_attempt_refuses_the_next_payment_until_resolved(till, alipay):
    wire(till, alipay)
    alipay.script("pay", UNKNOWN).script("query", *[UNKNOWN] * 30).script("cancel", UNKNOWN, UNKNOWN, UNKNOWN)
    till.scan(COLA)
    charge = until_done(till, till.payments.start(ALIPAY_CODE))
    assert (charge.state, charge.done) == ("unknown", True)
    assert "do not charge the customer again" in charge.message
    with pytest.raises(CodePaymentRefused, match="resolve it first"):
        till.payments.start(ALIPAY_CODE)
    till.clock = ahead(120)  # past the customer's wait: the trade still waiting is cancelled
    [view] = till.payments.resolve()
    assert alipay.methods()[-2:] == ["query", "cancel"]
    assert view.state == "cancelled" and not view.unresolved
    charge = until_done(till, till.payments.start(ALIPAY_CODE))
    assert charge.state == "paid" and sum(alipay.charged().values()) == 350


@pytest.mark.parametrize("charged", [True, False])
def test_after_a_restart_resolve_settles_the_attempt_and_the_cart_gets_its_tender(shop_dir, charged):
    gateway = FakeGateway("alipay")
    till = open_till(load_config(shop_dir), cashier="test")
    wire(till, gateway)
    till.scan(COLA)
    sale_uuid = till.cart.uuid
    charge = till.payments.start(ALIPAY_CODE)
    if charged:
        gateway.script("pay", LOST)
        till.payments.advance(charge)  # charged; the till dies before the outcome is stored
    till.close()  # the crash: nothing more of this process

    again = open_till(load_config(shop_dir), cashier="test", clock=ahead(30))  # past a pay in flight
    try:
        wire(again, gateway)
        assert again.cart.uuid == sale_uuid and again.payments.unresolved()
        with pytest.raises(CodePaymentRefused, match="resolve it first"):
            again.payments.start(ALIPAY_CODE)
        [view] = again.payments.resolve()
        if charged:
            assert view.state == "paid" and view.transaction_id
            assert [(t.kind, t.amount, t.reference) for t in again.cart.tenders] == [
                ("mobile", 350, view.transaction_id)]
            again.pay()
            assert again.payments.list()[0].sale_completed
        else:
            assert view.state == "cancelled" and again.cart.tenders == ()
        assert sum(gateway.charged().values()) == (350 if charged else 0)
        assert not again.payments.unresolved()
    finally:
        again.close()


def test_paid_while_the_sale_is_gone_stays_listed_as_paid_not_completed(shop_dir):
    gateway = FakeGateway("wechat")
    till = open_till(load_config(shop_dir), cashier="test")
    wire(till, gateway)
    till.scan(COLA)
    gateway.script("pay", LOST)
    till.payments.advance(till.payments.start(WECHAT_CODE))
    till.close()
    again = open_till(load_config(shop_dir), cashier="test")
    try:
        wire(again, gateway)
        again.cancel()  # the cashier started another sale before resolving (no tender on it yet)
        [view] = again.payments.resolve()
        assert view.state == "paid" and view.paid_not_completed and again.cart.tenders == ()
        [listed] = again.payments.list(unresolved=True)
        assert listed.uuid == view.uuid and not listed.unresolved  # needs someone, blocks nothing
        again.scan(WATER)
        assert until_done(again, again.payments.start(WECHAT_CODE)).state == "paid"
        again.pay()
        # "finish sale": the cashier rings the items up again; the sale takes the payment's identity
        again.scan(COLA)
        cart = again.payments.finish(view.uuid)
        assert cart.uuid == view.sale_uuid and [(t.kind, t.amount) for t in cart.tenders] == [("mobile", 350)]
        again.pay()
        assert again.payments.list(unresolved=True) == []
        assert all(v.sale_completed for v in again.payments.list())
        assert sum(gateway.charged().values()) == 350 + 200
    finally:
        again.close()


def test_an_outcome_that_cannot_be_stored_is_kept_and_stored_later(till, shop_dir, alipay):
    wire(till, alipay)
    till.scan(COLA)
    charge = till.payments.start(ALIPAY_CODE)
    with database_write_locked(shop_dir), journal_dir_replaced_by_a_file(shop_dir):
        charge = till.payments.advance(charge)
        assert (charge.state, charge.done) == ("paid", False)
        assert "could not be stored" in charge.message
        assert till.cart.tenders == ()  # no tender before its outcome is durable
        charge = till.payments.advance(charge)
        assert not charge.done
    assert alipay.methods().count("pay") == 1
    charge = until_done(till, charge)
    assert charge.state == "paid" and len(till.cart.tenders) == 1
    assert alipay.methods().count("pay") == 1 and sum(alipay.charged().values()) == 350
    assert [v.state for v in till.payments.list()] == ["paid"]


def test_an_attempt_that_cannot_be_stored_charges_nothing(till, shop_dir, alipay):
    wire(till, alipay)
    till.scan(COLA)
    with database_write_locked(shop_dir), journal_dir_replaced_by_a_file(shop_dir), \
            pytest.raises(CodePaymentRefused, match="nothing was charged"):
        till.payments.start(ALIPAY_CODE)
    assert "pay" not in alipay.methods()


def test_attempts_and_outcomes_journaled_while_the_database_is_locked_are_replayed(till, shop_dir, alipay):
    wire(till, alipay)
    till.scan(COLA)
    with database_write_locked(shop_dir):
        charge = until_done(till, till.payments.start(ALIPAY_CODE))
        assert charge.state == "paid"
        [view] = till.payments.list()
        assert (view.stored, view.state, view.sale_completed) == ("journal", "paid", False)
        till.pay()
        [view] = till.payments.list()
        assert view.sale_completed
    till.replay()
    assert rows(shop_dir, "SELECT stored_via FROM payment_attempt") == [("journal",)]
    assert rows(shop_dir, "SELECT state FROM payment_outcome") == [("paid",)]
    [view] = till.payments.list()
    assert (view.stored, view.sale_completed) == ("sqlite", True)


@pytest.mark.parametrize("point", PAYMENT_POINTS)
def test_a_crash_at_any_point_of_the_flow_is_settled_after_the_restart_charged_once(shop_dir, point):
    """The till dies at each named point (an exception standing in for the kill: nothing after it
    runs); reopened, resolve settles the attempt: what the provider charged is what the sale records."""
    gateway = FakeGateway("alipay")
    till = open_till(load_config(shop_dir), cashier="test")
    wire(till, gateway)
    till.scan(COLA)

    class Killed(BaseException):
        pass

    def hook(name: str) -> None:
        if name == point:
            raise Killed(name)

    crash.set_hook(hook)
    try:
        with pytest.raises(Killed):
            until_done(till, till.payments.start(ALIPAY_CODE))
    finally:
        crash.set_hook(None)
    till.close()
    again = open_till(load_config(shop_dir), cashier="test", clock=ahead(30))  # past a pay in flight
    try:
        wire(again, gateway)
        again.payments.resolve()
        assert not again.payments.unresolved()
        charged = sum(gateway.charged().values())
        assert sum(t.amount for t in again.cart.tenders if t.kind == "mobile") == charged
        if charged:
            again.pay()
        else:
            again.cancel()
        views = again.payments.list()
        assert sum(v.charged or 0 for v in views if v.state == "paid" and v.sale_completed) == charged
        assert not again.payments.list(unresolved=True)
        assert gateway.methods().count("pay") <= 1
    finally:
        again.close()


def test_a_tender_charged_by_code_cannot_be_taken_off_the_sale(till, alipay):
    wire(till, alipay)
    till.scan(COLA)
    till.scan(WATER)
    till.add_tender(Tender("cash", 100))
    until_done(till, till.payments.start(ALIPAY_CODE, 200))
    with pytest.raises(TenderError, match="charged to the customer's phone"):
        till.remove_tender(1)
    with pytest.raises(TenderError, match="charged to the customer's phone"):
        till.remove_tender(-1)
    till.remove_tender(0)  # the cash one may go
    assert [t.kind for t in till.cart.tenders] == ["mobile"]
    with pytest.raises(TenderError, match="has paid 2.00 by code"):
        till.cancel()  # charged with no sale: never


def test_a_gateway_that_raises_is_an_answer_not_known_and_is_asked_again(till):
    class Raising(FakeGateway):
        def pay(self, trade):
            super().pay(trade)  # charged...
            raise ConnectionResetError("...and the adapter let this through")

    gateway = Raising("alipay")
    wire(till, gateway)
    till.scan(COLA)
    charge = until_done(till, till.payments.start(ALIPAY_CODE))
    assert charge.state == "paid" and gateway.methods() == ["online", "pay", "query"]
    assert sum(gateway.charged().values()) == 350 and len(till.cart.tenders) == 1


def test_the_cashier_gives_up_while_the_worker_waits_on_the_pay_call(till):
    import threading

    calling, answer = threading.Event(), threading.Event()

    class Slow(FakeGateway):
        def pay(self, trade):
            calling.set()
            answer.wait(10)
            return super().pay(trade)

    gateway = Slow("alipay").script("pay", USERPAYING)
    wire(till, gateway)
    till.scan(COLA)
    charge = till.payments.start(ALIPAY_CODE)
    ended: list[Charge] = []
    worker = threading.Thread(target=lambda: ended.append(until_done(till, charge)))
    worker.start()
    assert calling.wait(10)
    gave_up: list[Charge] = []
    cashier = threading.Thread(target=lambda: gave_up.append(till.payments.abandon(charge)))
    cashier.start()
    answer.set()  # the pay call answers: the customer is confirming
    worker.join(10)
    cashier.join(10)
    assert ended[0].state == gave_up[0].state == "cancelled"
    assert gateway.methods().count("pay") == 1 and gateway.methods().count("cancel") == 1
    assert gateway.charged() == {} and till.cart.tenders == ()


def test_a_paid_reply_without_a_transaction_number_is_known_by_the_trade_number(till):
    class Terse(FakeGateway):
        def pay(self, trade):
            super().pay(trade)
            return GatewayReply("paid", amount=350)  # no transaction number

    wire(till, Terse("alipay"))
    till.scan(COLA)
    charge = until_done(till, till.payments.start(ALIPAY_CODE))
    trade = out_trade_no(till.cart.uuid, 1)
    assert charge.state == "paid" and charge.transaction_id == trade
    assert [t.reference for t in till.cart.tenders] == [trade]
    till.pay()
    [view] = till.payments.list()
    assert view.transaction_id == trade and view.sale_completed


def test_resolve_offline_asks_nothing_and_one_lost_answer_is_asked_again(till, alipay):
    fake = wire(till, alipay)
    alipay.script("pay", LOST)
    till.scan(COLA)
    till.payments.advance(till.payments.start(ALIPAY_CODE))  # charged, the answer lost
    till.payments._live.clear()  # as after a restart: nothing of the charge in memory
    alipay.online_now = False
    before = len(alipay.calls)
    assert [v.state for v in till.payments.resolve()] == ["open"]
    assert alipay.methods()[before:] == ["online"] and till.payments.unresolved()
    alipay.online_now = True
    alipay.script("query", UNKNOWN)  # the first answer lost, the next one says paid
    start = fake.now
    [view] = till.payments.resolve()
    assert view.state == "paid" and alipay.methods()[-2:] == ["query", "query"] and fake.now - start == 2
    assert len(till.cart.tenders) == 1
