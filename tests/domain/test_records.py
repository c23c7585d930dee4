"""Every record type (domain.records): its dict is exactly the one the journal and the ledger
have always stored (journal lines written by older versions replay as they are), and
record -> dict -> JSON -> record gives the same record back. Pure: no disk."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings

from record_examples import records, sales
from tui_pos.domain.records import (
    AuditEvent,
    CashMovement,
    Sale,
    ShiftClosed,
    ShiftOpened,
    UserChanged,
    record_from_dict,
    record_type,
)

OLD_SALE_LINE = {  # a sale as the first versions journaled it: no type, no kind, no reversal fields
    "uuid": "u-1", "receipt": "T1-000003", "till_id": "T1", "seq": 3, "cashier": "demo",
    "opened_at": "2026-11-21T09:59:00.000+00:00", "completed_at": "2026-11-21T10:00:00.000+00:00",
    "currency": "CNY", "tax_included": True, "gross": 350, "discount": 0, "tax": 40, "total": 350, "rounding": 0,
    "paid": 500, "change": 150,
    "lines": [{"line_no": 1, "barcode": "6900000000014", "name": "可口可乐 330ml", "qty": 1, "unit_price": 350,
               "line_discount": 0, "order_discount": 0, "tax_code": "A", "rate_bp": 1300, "tax": 40, "total": 350,
               "voided": False}],
    "tenders": [{"kind": "cash", "amount": 500, "reference": ""}],
}


@settings(max_examples=300, deadline=None)
@given(records())
def test_every_record_survives_its_dict_and_json(record):
    as_dict = record.to_record()
    assert record_type(as_dict) == record.TYPE
    assert record_from_dict(json.loads(json.dumps(as_dict, ensure_ascii=False))) == record


@settings(max_examples=50, deadline=None)
@given(sales(kind="refund"))
def test_a_refund_keeps_who_approved_it(refund):
    assert refund.approved_by is not None
    assert record_from_dict(json.loads(json.dumps(refund.to_record()))).approved_by == refund.approved_by


def test_a_sale_journaled_by_the_first_versions_reads_back():
    sale = record_from_dict(OLD_SALE_LINE)
    assert isinstance(sale, Sale)
    assert (sale.kind, sale.original_uuid, sale.shift_uuid, sale.reason, sale.approved_by) == ("sale", None, None,
                                                                                               None, None)
    assert sale.to_record() == {**OLD_SALE_LINE, "kind": "sale", "original_uuid": None, "original_receipt": None,
                                "shift_uuid": None, "reason": None, "approved_by": None}
    assert "type" not in sale.to_record()  # a sale's dict never had one


def test_the_dicts_are_the_ones_stored_today():
    """The literal dicts the till built before the records were typed (app/till.py, store/audit.py)."""
    opened = ShiftOpened("s-1", "T1", 4, "2026-11-21T08:00:00.000+00:00", "demo", 20000)
    assert opened.to_record() == {"type": "shift_open", "uuid": "s-1", "till_id": "T1", "number": 4,
                                  "opened_at": "2026-11-21T08:00:00.000+00:00", "opened_by": "demo", "float": 20000}
    moved = CashMovement("c-1", "s-1", "T1", "paid_out", 500, "milk", "demo", "manager", "2026-11-21T09:00:00+00:00")
    assert moved.to_record() == {"type": "cash_movement", "uuid": "c-1", "shift_uuid": "s-1", "till_id": "T1",
                                 "kind": "paid_out", "amount": 500, "reason": "milk", "user": "demo",
                                 "approved_by": "manager", "at": "2026-11-21T09:00:00+00:00"}
    closed = ShiftClosed("z-1", "s-1", "T1", 2, "2026-11-21T18:00:00+00:00", "demo", None, 25000, 25100, -100,
                         {"z_number": 2, "net_sales": 5100})
    assert closed.to_record() == {"type": "shift_close", "uuid": "z-1", "shift_uuid": "s-1", "till_id": "T1",
                                  "z_number": 2, "closed_at": "2026-11-21T18:00:00+00:00", "closed_by": "demo",
                                  "approved_by": None, "counted": 25000, "expected": 25100, "difference": -100,
                                  "report": {"z_number": 2, "net_sales": 5100}}
    event = AuditEvent.new("T1", "no_sale", "demo", at="2026-11-21T09:30:00+00:00", detail={"reason": "change"})
    assert event.to_record() == {"type": "event", "uuid": event.uuid, "till_id": "T1",
                                 "at": "2026-11-21T09:30:00+00:00", "action": "no_sale", "actor": "demo",
                                 "approved_by": None, "subject": None, "amount": None, "detail": {"reason": "change"}}


def test_a_user_change_carries_its_audit_facts_never_the_pin_in_them():
    added = UserChanged.new("T1", "user_add", "ana", actor="manager", approved_by="manager",
                            at="2026-11-21T09:00:00+00:00", role="cashier", pin_hash="scrypt$x", detail={"demo": True})
    assert added.active is True and added.audit_detail() == {"role": "cashier", "demo": True}
    assert "scrypt$x" not in repr(added)
    disabled = UserChanged.new("T1", "user_disable", "ana", actor="manager", approved_by="manager", at="t")
    assert disabled.active is False and disabled.audit_detail() == {}
    assert UserChanged.new("T1", "user_set_pin", "ana", actor=None, approved_by="m", at="t", pin_hash="h").active is None
    with pytest.raises(ValueError):
        UserChanged.new("T1", "user_add", "ana", actor=None, approved_by=None, at="t")  # no role, no PIN hash
    with pytest.raises(ValueError):
        UserChanged.new("T1", "user_rename", "ana", actor=None, approved_by=None, at="t")  # type: ignore[arg-type]


def test_an_unknown_record_type_is_refused():
    with pytest.raises(KeyError):
        record_from_dict({"type": "stock_move", "uuid": "u"})
    with pytest.raises(KeyError):
        record_from_dict({"type": "shift_open", "uuid": "u"})  # fields missing
