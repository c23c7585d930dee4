"""Ledger.rebuild: an empty database filled with a till's records in their commit order (as HQ
holds them), all or none; never over a database or a journal that holds anything."""

from __future__ import annotations

from contextlib import closing

import pytest

from tui_pos.domain.errors import StorageError
from tui_pos.store import verification
from tui_pos.store.ledger import ShopNotEmpty

from .records import make_record, new_ledger, query, row_counts


def test_records_go_in_in_order_then_the_rebuilt_event_and_numbers_continue(tmp_path):
    records = [make_record(seq) for seq in (1, 2, 3)]
    with closing(new_ledger(tmp_path)) as ledger:
        assert ledger.rebuild(records, "T1", {"from": "test"}) == 3
        assert ledger.next_seq("T1") == 4
        assert ledger.view.query(verification.verify, None).ok
    assert query(tmp_path / "pos.sqlite3", "SELECT uuid, stored_via FROM sale ORDER BY seq") == [
        (r["uuid"], "hq") for r in records]
    assert query(tmp_path / "pos.sqlite3", "SELECT action, subject FROM audit ORDER BY seq") == [
        ("sale", "T1-000001"), ("sale", "T1-000002"), ("sale", "T1-000003"), (verification.REBUILT, "3 records")]


def test_a_record_the_database_refuses_keeps_nothing(tmp_path):
    good, bad = make_record(1), make_record(2)
    del bad["lines"]
    with closing(new_ledger(tmp_path)) as ledger, pytest.raises(
            StorageError, match=f"record {bad['uuid']} \\(sale, the 2. in commit order\\)"):
        ledger.rebuild([good, bad], "T1", {})
    assert set(row_counts(tmp_path / "pos.sqlite3").values()) == {0}
    assert query(tmp_path / "pos.sqlite3", "SELECT count(*) FROM audit") == [(0,)]


def test_never_over_records_already_there(tmp_path):
    with closing(new_ledger(tmp_path)) as ledger:
        ledger.commit(make_record(1))
        with pytest.raises(ShopNotEmpty):
            ledger.rebuild([make_record(2)], "T1", {})
    journaled = tmp_path / "journaled"
    journaled.mkdir()
    with closing(new_ledger(journaled)) as ledger:
        ledger.journal.append(make_record(1))
        with pytest.raises(ShopNotEmpty):
            ledger.rebuild([make_record(2)], "T1", {})
