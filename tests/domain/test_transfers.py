"""Transfers between shops (domain/transfers.py) as properties: what one shop sends and the other
receives sum to zero, or to the recorded variance; each shop's on hand moves by exactly its side."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tui_pos.domain.errors import BadInput
from tui_pos.domain.stock import Movement, on_hand
from tui_pos.domain.transfers import (
    OpenTransfer,
    check_transfer_id,
    received_moves,
    received_quantities,
    sent_moves,
    transfer_uuid,
    variances,
)

CODES = ("6900000000014", "6900000000021", "6900000000038", "2000000000017")
quantities = st.dictionaries(st.sampled_from(CODES), st.integers(1, 500).map(lambda n: n * 250), min_size=1)
counted = st.none() | st.dictionaries(st.sampled_from(CODES), st.integers(0, 500).map(lambda n: n * 250))


def moves_of(sent: dict[str, int], arrived: dict[str, int] | None):
    out = sent_moves("T1-ABC123", "S1", "S2", sent, till_id="T1", at="2026-03-01T01:00:00.000+00:00", expected={},
                     batch="b-out", actor="amy")
    transfer = OpenTransfer.from_dict({"transfer": "T1-ABC123", "from_shop": "S1", "to_shop": "S2",
                                       "sent_at": "2026-03-01T01:00:00.000+00:00",
                                       "lines": [{"barcode": b, "qty": q} for b, q in sent.items()]})
    into = received_moves(transfer, received_quantities(transfer.sent, arrived), till_id="T3",
                          at="2026-03-02T01:00:00.000+00:00", expected={}, batch="b-in", actor="bob")
    return out, into


def came(sent: dict[str, int], arrived: dict[str, int] | None, code: str) -> int:
    """What the receiving shop got of a product, said from the inputs alone: as sent when nothing
    was counted on arrival, else what was counted (a product sent and not counted: none of it)."""
    return sent.get(code, 0) if arrived is None else arrived.get(code, 0)


@given(quantities, counted)
def test_out_and_in_sum_to_zero_or_to_the_recorded_variance(sent, arrived):
    out, into = moves_of(sent, arrived)
    off = variances(sent, {code: came(sent, arrived, code) for code in CODES})
    for code in CODES:
        moved = sum(m.qty for m in out + into if m.barcode == code)
        assert moved == off.get(code, 0) == came(sent, arrived, code) - sent.get(code, 0)
        assert sum(m.qty for m in into if m.barcode == code) == came(sent, arrived, code)
    if arrived is None:
        assert off == {}  # received as sent: nothing left over
    assert all(m.qty <= 0 and m.peer == "S2" and m.reference == "T1-ABC123" for m in out)
    assert all(m.qty >= 0 and m.peer == "S1" and m.reference == "T1-ABC123" for m in into)


@given(quantities, counted, st.integers(-10_000, 10_000), st.integers(-10_000, 10_000))
def test_each_shops_on_hand_moves_by_exactly_its_side(sent, arrived, sender_had, receiver_had):
    out, into = moves_of(sent, arrived)
    for code in CODES:
        sender = on_hand([Movement(m.kind, m.qty) for m in out if m.barcode == code], sender_had)
        receiver = on_hand([Movement(m.kind, m.qty) for m in into if m.barcode == code], receiver_had)
        assert sender == sender_had - sent.get(code, 0)
        assert receiver == receiver_had + came(sent, arrived, code)
        assert (sender - sender_had) + (receiver - receiver_had) == came(sent, arrived, code) - sent.get(code, 0)


def test_a_product_sent_and_not_counted_did_not_arrive_one_not_sent_did():
    assert received_quantities({"1": 3000, "2": 1000}, {"1": 2000, "3": 500}) == {"1": 2000, "2": 0, "3": 500}
    assert received_quantities({"1": 3000}, None) == {"1": 3000}
    assert variances({"1": 3000, "2": 1000}, {"1": 2000, "2": 0, "3": 500}) == {"1": -1000, "2": -1000, "3": 500}


def test_a_transfers_movements_have_the_same_uuids_wherever_they_are_made():
    """Received twice at one till, the second receipt's records are the first's: found, refused."""
    assert transfer_uuid("transfer_in", "S1", "T1-A", "1") == transfer_uuid("transfer_in", "S1", "T1-A", "1")
    others = {transfer_uuid(*args) for args in (("transfer_out", "S1", "T1-A", "1"), ("transfer_in", "S2", "T1-A", "1"),
                                                  ("transfer_in", "S1", "T1-B", "1"), ("transfer_in", "S1", "T1-A", "2"))}
    assert len(others) == 4 and transfer_uuid("transfer_in", "S1", "T1-A", "1") not in others


@pytest.mark.parametrize("ref", ["", " ", "a" * 41, "DN 1", "x;y", "第一"])
def test_a_transfer_id_is_short_and_plain(ref):
    with pytest.raises(BadInput):
        check_transfer_id(ref)


def test_a_delivery_note_number_is_a_transfer_id():
    assert check_transfer_id(" DN-2026/03.1 ") == "DN-2026/03.1"
