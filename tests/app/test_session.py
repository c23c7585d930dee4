"""The session (tui_pos/app/session.py) through the Till on a real shop: who works the till,
approvals used once, and audit writes nobody waits for handed to a background runner."""

from __future__ import annotations

import pytest

from conftest import COLA
from tui_pos.domain.auth import ApprovalRequired
from tui_pos.domain.errors import StorageError, StorageFailed


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
