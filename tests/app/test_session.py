"""Every operation that needs a manager, enforced by the core (issue 5): a cashier cannot do any of
them through the Till API without a real, unused manager approval for that very action, and
each one done is audited under the manager who allowed it.

The operations: void after payment, refund, price override, a discount over the limit (line and
order), no-sale, a paid-out over the limit, deleting a held sale, closing a shift further over
or short than the limit. Whether each took effect is read back from the database (or the cart
the core holds), never taken from the call's return value.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from conftest import COLA, FLOAT, WATER, till_at
from tui_pos.app.till import Till
from tui_pos.domain.auth import Approval, ApprovalRequired, LoginFailed, hash_pin
from tui_pos.domain.errors import StorageError, StorageFailed
from tui_pos.domain.pricing import Discount
from tui_pos.domain.tender import Tender
from tui_pos.store import db

APPROVER, APPROVER_PIN = "mei", "2468"  # a second manager: the audit must name the one who approved


@pytest.fixture
def shop(shop_dir: Path) -> Path:
    with closing(sqlite3.connect(shop_dir / "pos.sqlite3")) as conn:
        db.upsert_users(conn, [{"name": APPROVER, "role": "manager", "pin_hash": hash_pin(APPROVER_PIN)}])
    return shop_dir


@pytest.fixture
def cashier(shop: Path):
    till = till_at(shop, "demo", "1234")
    yield till
    till.close()


def query(shop: Path, sql: str, *params: Any) -> list[tuple]:
    with closing(sqlite3.connect(shop / "pos.sqlite3")) as conn:
        return conn.execute(sql, params).fetchall()


def audited(shop: Path, action: str) -> list[tuple[str, str | None]]:
    """(actor, approved_by) of every audit entry of this action, oldest first."""
    return query(shop, "SELECT actor, approved_by FROM audit WHERE action = ? ORDER BY seq", action)


# -- the operations ---------------------------------------------------------------------------------
def fresh_cart(till: Till) -> None:
    till.cancel()


def sell_cola(till: Till) -> str:
    """A paid sale of two colas (7.00 cash): something to void or refund."""
    fresh_cart(till)
    till.scan(COLA, 2)
    return till.pay([Tender("cash", 700)]).sale.receipt


def reversals_of(shop: Path, receipt: str, kind: str) -> int:
    return query(shop, "SELECT COUNT(*) FROM sale WHERE kind = ? AND original_uuid = "
                       "(SELECT uuid FROM sale WHERE receipt = ?)", kind, receipt)[0][0]


def scanned_line(till: Till, code: str = COLA, qty: int = 1) -> int:
    fresh_cart(till)
    return till.scan(code, qty).lines[-1].line_id


def held_sale(till: Till) -> str:
    fresh_cart(till)
    till.scan(WATER)
    uuid = till.cart.uuid
    till.hold()
    return uuid


def drawer_off_by_too_much(till: Till) -> tuple[str, int]:
    """An open shift (a new one if the last was closed) and a count 10.01 over: beyond the limit."""
    if till.refresh_shift() is None:
        till.open_shift(FLOAT)
    return till.shift["uuid"], till.x_report().expected_cash + 1001


def count_of(shop: Path, sql: str, *params: Any) -> int:
    return query(shop, sql, *params)[0][0]


@dataclass(frozen=True)
class Op:
    action: str  # what a manager approves
    audited_as: str  # the audit entry the operation leaves
    prepare: Callable[[Till], Any]  # a fresh situation in which the operation can be done
    attempt: Callable[[Till, Any, Approval | None], Any]
    done: Callable[[Till, Path, Any], bool]  # has it taken effect?


OPS = {
    "void after payment": Op(
        "void", "void", sell_cola,
        lambda t, receipt, ap: t.void_last_sale("Wrong item", ap),
        lambda t, shop, receipt: reversals_of(shop, receipt, "void") == 1),
    "refund": Op(
        "refund", "refund", sell_cola,
        lambda t, receipt, ap: t.refund(receipt, {1: 1}, "Damaged", ap),
        lambda t, shop, receipt: reversals_of(shop, receipt, "refund") == 1),
    "price override": Op(
        "price_override", "price_override", scanned_line,
        lambda t, line, ap: t.set_price(line, 300, ap),
        lambda t, shop, line: t.cart.line(line).unit_price == 300),
    "line discount over the limit": Op(
        "discount", "discount_approval", scanned_line,
        lambda t, line, ap: t.discount_line(line, Discount("percent", 1500), ap),
        lambda t, shop, line: t.cart.line(line).discount is not None),
    "order discount over the limit": Op(
        "discount", "discount_approval", scanned_line,
        lambda t, line, ap: t.discount_order(Discount("amount", 36), ap),  # 0.36 of 3.50: over 10 %
        lambda t, shop, line: t.cart.order_discount is not None),
    "no-sale": Op(
        "no_sale", "no_sale", lambda t: count_of(t.config.data_dir, "SELECT COUNT(*) FROM audit WHERE action = 'no_sale'"),
        lambda t, before, ap: t.no_sale(ap, "change for the bus"),
        lambda t, shop, before: count_of(shop, "SELECT COUNT(*) FROM audit WHERE action = 'no_sale'") == before + 1),
    "paid-out over the limit": Op(
        "paid_out", "paid_out", lambda t: count_of(t.config.data_dir, "SELECT COUNT(*) FROM cash_movement"),
        lambda t, before, ap: t.cash_movement("paid_out", 100_01, "supplier", ap),  # the limit is 100.00
        lambda t, shop, before: count_of(shop, "SELECT COUNT(*) FROM cash_movement") == before + 1),
    "deleting a held sale": Op(
        "delete_held", "delete_held", held_sale,
        lambda t, uuid, ap: t.delete_held(uuid, ap),
        lambda t, shop, uuid: uuid not in [h.cart.uuid for h in t.held_sales()]),
    "closing a shift with a large difference": Op(
        "close_shift", "z_report", drawer_off_by_too_much,
        lambda t, ctx, ap: t.close_shift(ctx[1], approval=ap),
        lambda t, shop, ctx: count_of(shop, "SELECT COUNT(*) FROM z_report WHERE shift_uuid = ?", ctx[0]) == 1),
}


def refused(op: Op, till: Till, ctx: Any, approval: Approval | None) -> None:
    with pytest.raises(ApprovalRequired) as needed:
        op.attempt(till, ctx, approval)
    assert needed.value.action == op.action
    assert not op.done(till, till.config.data_dir, ctx), "refused, yet it took effect"


@pytest.mark.parametrize("name", list(OPS))
def test_a_cashier_needs_a_real_unused_approval_for_that_action(shop, cashier, name):
    """Without an approval, with one for another action, with one built by hand or given by
    another till, with a cashier's PIN: refused. A manager's approval works once, and the
    operation is audited under that manager with the cashier as the actor."""
    op = OPS[name]
    ctx = op.prepare(cashier)
    other_action = cashier.approve(APPROVER, APPROVER_PIN, "void" if op.action == "refund" else "refund")
    other_till = till_at(shop)
    try:
        from_other_till = other_till.approve(APPROVER, APPROVER_PIN, op.action)
    finally:
        other_till.close()
    for approval in (None, other_action, Approval(APPROVER, op.action), from_other_till):
        refused(op, cashier, ctx, approval)
    with pytest.raises(LoginFailed):
        cashier.approve("demo", "1234", op.action)
    refused(op, cashier, ctx, None)
    assert audited(shop, op.audited_as) == []

    approval = cashier.approve(APPROVER, APPROVER_PIN, op.action)
    op.attempt(cashier, ctx, approval)
    assert op.done(cashier, shop, ctx)
    assert audited(shop, op.audited_as) == [("demo", APPROVER)]

    again = op.prepare(cashier)
    refused(op, cashier, again, approval)  # used up
    assert audited(shop, op.audited_as) == [("demo", APPROVER)]


@pytest.mark.parametrize("name", list(OPS))
def test_a_logged_in_manager_needs_no_separate_approval(shop, name):
    """The manager at the till is the approving manager, and is audited as such."""
    op = OPS[name]
    till = till_at(shop)
    try:
        till.login(APPROVER, APPROVER_PIN)
        ctx = op.prepare(till)
        op.attempt(till, ctx, None)
        assert op.done(till, shop, ctx)
        assert audited(shop, op.audited_as) == [(APPROVER, APPROVER)]
    finally:
        till.close()


def test_an_approval_cannot_be_relabelled(cashier, shop):
    """The token proves a manager approved one action: copying it onto another action, or onto
    another manager's name, must not turn a small approval into a refund or forge the audit."""
    receipt = sell_cola(cashier)
    small = cashier.approve(APPROVER, APPROVER_PIN, "no_sale")
    with pytest.raises(ApprovalRequired):
        cashier.refund(receipt, {1: 1}, "Damaged", replace(small, action="refund"))
    assert reversals_of(shop, receipt, "refund") == 0
    with pytest.raises(ApprovalRequired):
        cashier.no_sale(replace(small, manager="nobody"), "forged name")
    assert audited(shop, "no_sale") == []
    cashier.no_sale(small, "the real one")
    assert audited(shop, "no_sale") == [("demo", APPROVER)]


def test_a_refused_refund_does_not_use_up_the_approval(cashier, shop):
    """Asking for more than was sold fails before the manager's approval is spent."""
    receipt = sell_cola(cashier)
    approval = cashier.approve(APPROVER, APPROVER_PIN, "refund")
    with pytest.raises(Exception) as too_many:
        cashier.refund(receipt, {1: 3}, "Damaged", approval)
    assert not isinstance(too_many.value, ApprovalRequired)
    cashier.refund(receipt, {1: 2}, "Damaged", approval)
    assert reversals_of(shop, receipt, "refund") == 1


@pytest.mark.parametrize("amount, needs_manager", [(100_00, False), (100_01, True)])
def test_paid_out_limit_boundary(cashier, shop, amount, needs_manager):
    """Up to [till] paid_out_limit (100.00) a cashier pays out alone; a fen more needs a manager.
    A paid-in never does."""
    cashier.cash_movement("paid_in", 500_00, "float top-up")
    if needs_manager:
        with pytest.raises(ApprovalRequired):
            cashier.cash_movement("paid_out", amount, "supplier")
    else:
        cashier.cash_movement("paid_out", amount, "supplier")
    assert query(shop, "SELECT kind, amount, approved_by FROM cash_movement ORDER BY at") == \
        [("paid_in", 500_00, None)] + ([] if needs_manager else [("paid_out", amount, None)])


@pytest.mark.parametrize("off_by, needs_manager", [(1000, False), (-1000, False), (1001, True), (-1001, True)])
def test_close_shift_difference_limit_boundary(cashier, shop, off_by, needs_manager):
    """Over or short by up to z_difference_limit (10.00) the cashier closes alone; beyond, a manager."""
    counted = FLOAT + off_by  # nothing sold: 100.00 expected
    if needs_manager:
        with pytest.raises(ApprovalRequired):
            cashier.close_shift(counted)
        assert query(shop, "SELECT COUNT(*) FROM z_report") == [(0,)]
    else:
        z = cashier.close_shift(counted)
        assert (z.expected_cash, z.counted, z.difference) == (FLOAT, counted, off_by)
        assert query(shop, "SELECT counted, expected, difference, approved_by FROM z_report") == \
            [(counted, FLOAT, off_by, None)]


# -- the session: sign-in, approvals used once, audit writes (was tests/app/test_session.py) -------
# The session (tui_pos/app/session.py) through the Till on a real shop: who works the till,
# approvals used once, and audit writes nobody waits for handed to a background runner.

def test_sign_in_makes_a_checked_person_the_cashier(till):
    user = till.check_pin("demo", "1234")
    till.sign_in(user)
    assert till.user == user and till.cashier == "demo"


def test_an_approval_is_used_once(till):
    till.scan(COLA)
    approval = till.approve("manager", "9999", "price_override")
    till.set_price(till.cart.lines[0].line_id, 3_00, approval)
    with pytest.raises(ApprovalRequired):
        till.set_price(till.cart.lines[0].line_id, 2_00, approval)


def test_an_approvals_audit_entry_goes_to_the_background_runner_a_required_one_never(till):
    jobs = []
    till.audit_in_background(jobs.append)
    till.scan(COLA)
    committed = []
    commit = till.ledger.commit
    till.ledger.commit = lambda record: committed.append(record.get("action")) or commit(record)

    till.set_price(till.cart.lines[0].line_id, 3_00, till.approve("manager", "9999", "price_override"))
    assert till.cart.lines[0].unit_price == 3_00
    assert committed == [] and len(jobs) == 1  # not written yet: handed over
    jobs.pop()()
    assert committed == ["price_override"]

    till.no_sale(till.approve("manager", "9999", "no_sale"), "Check the drawer")  # required: written at once
    assert committed == ["price_override", "no_sale"] and jobs == []


def test_a_required_audit_entry_that_cannot_be_stored_refuses_the_operation(till):
    def refuse(record):
        raise StorageFailed("disk I/O error", "no journal directory", outcome_unknown=False)

    approval = till.approve("manager", "9999", "no_sale")
    till.ledger.commit = refuse
    with pytest.raises(StorageError):
        till.no_sale(approval)
