"""Status and alerts (tui_pos/ops/status.py, alerts.py) say when code payments need someone: an
outcome not known, or paid and in no stored sale (issue 15)."""

from __future__ import annotations

from conftest import COLA
from tui_pos.bootstrap.till import open_ledger, open_till
from tui_pos.config import load_config
from tui_pos.domain.payments import out_trade_no
from tui_pos.domain.records import PaymentAttempt, PaymentOutcome
from tui_pos.ops.alerts import current_alerts
from tui_pos.ops.status import till_status

AT = "2026-12-04T10:00:00.000+00:00"


def attempt(sale_uuid: str) -> PaymentAttempt:
    return PaymentAttempt.new("T1", at=AT, sale_uuid=sale_uuid, kind="pay", provider="wechat", attempt_no=1,
                              out_trade_no=out_trade_no(sale_uuid, 1), amount=350, cashier="demo",
                              code_mask="1345**********6789")


def test_unknown_and_paid_but_not_completed_payments_are_in_status_and_alerts(shop_dir):
    config = load_config(shop_dir)
    assert till_status(config)["payments"] == {"unresolved": 0, "paid_not_completed": 0}
    assert not [a for a in current_alerts(config) if a.key.startswith("payments")]
    ledger = open_ledger(config)
    try:
        ledger.commit(attempt("s-1").to_record())
        paid = attempt("s-2")
        ledger.commit(paid.to_record())
        ledger.commit(PaymentOutcome.new(paid, "paid", at=AT, transaction_id="T1", amount=350).to_record())
    finally:
        ledger.close()
    assert till_status(config)["payments"] == {"unresolved": 1, "paid_not_completed": 1}
    said = {a.key: a.message for a in current_alerts(config)}
    assert said["payments"] == "1 code payment(s) with an unknown outcome"
    assert said["payments_paid"] == "1 code payment(s) paid, sale not completed"


def test_a_charge_in_progress_is_no_alert_until_it_could_have_ended(shop_dir):
    """An open attempt is a running till's charge while the customer may still be confirming: the
    status bar must not say "unknown outcome" during every code payment; once it is older than the
    longest a charge takes ([payments] wait, the reverse rule, the calls' timeouts) it is one."""
    config = load_config(shop_dir)
    ledger = open_ledger(config)
    try:
        ledger.commit(attempt("s-1").to_record())
    finally:
        ledger.close()
    status = till_status(config, now="2026-12-04T10:00:05.000+00:00")
    assert status["payments"]["unresolved"] == 0
    assert not [a for a in current_alerts(config, status) if a.key == "payments"]
    settings = config.payments
    longest = settings.wait + 2 * settings.reverse_after + 3 * settings.timeout
    later = f"2026-12-04T10:{int(longest) // 60:02d}:{int(longest) % 60:02d}.000+00:00"
    assert till_status(config, now=later)["payments"]["unresolved"] == 1


def test_doctor_warns_about_code_payments_that_need_someone(shop_dir):
    from tui_pos.ops.doctor import run_doctor

    [ok] = [c for c in run_doctor(shop_dir).checks if c.name == "payments"]
    assert (ok.level, ok.detail) == ("ok", "no code payment needs anyone")
    ledger = open_ledger(load_config(shop_dir))
    try:
        ledger.commit(attempt("s-1").to_record())
    finally:
        ledger.close()
    [warned] = [c for c in run_doctor(shop_dir).checks if c.name == "payments"]
    assert warned.level == "warn" and warned.detail == "1 code payment(s) with an unknown outcome"
    assert "tui-pos payments resolve" in warned.fix


def test_a_sale_being_paid_at_the_running_till_is_no_alert_and_the_same_sale_after_a_crash_is(shop_dir):
    """Paid by code, the rest still to take (or F10 not pressed yet): the running till's sale in
    progress is that sale, nothing needs anyone. The till stopped with it (a crash): it does."""
    from tui_pos.ops.instance import TillInstanceLock

    till = open_till(load_config(shop_dir), cashier="test")
    try:
        till.scan(COLA)
        sale_uuid = till.cart.uuid
    finally:
        till.close()
    config = load_config(shop_dir)
    ledger = open_ledger(config)
    try:
        paid = attempt(sale_uuid)
        ledger.commit(paid.to_record())
        ledger.commit(PaymentOutcome.new(paid, "paid", at=AT, transaction_id="T1", amount=350).to_record())
    finally:
        ledger.close()
    with TillInstanceLock(shop_dir):
        assert till_status(config)["payments"]["paid_not_completed"] == 0
        assert not [a for a in current_alerts(config) if a.key == "payments_paid"]
    assert till_status(config)["payments"]["paid_not_completed"] == 1
