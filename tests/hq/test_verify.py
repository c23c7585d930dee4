"""`hq verify` on a real PostgreSQL: every till's stream whole, or where it is not."""

from __future__ import annotations

import shutil
from pathlib import Path

from hq_cluster import enrol, till_dir
from tui_pos.domain.commits import chained
from tui_pos.hq.connection import connect
from tui_pos.hq.stream import push
from tui_pos.hq.verify import verify

from .tills import event, push_till, sale


def test_a_real_tills_records_pushed_whole_are_ok(hq, two_days_shop, tmp_path):
    count = push_till(hq, Path(shutil.copytree(two_days_shop, tmp_path / "t1")))
    push_till(hq, till_dir(tmp_path / "t2", "T2"), "S2", [])
    with connect(hq) as conn:
        found = verify(conn)
    assert found == [
        {"shop": "S1", "till": "T1", "records": count, "high_water": count, "last_commit": count, "first_gap": None,
         "first_break": None, "breaks": 0, "unchained": 0, "receipt_gaps": [], "receipts_missing": 0, "receipts_twice": [],
         "ok": True},
        {"shop": "S2", "till": "T2", "records": 0, "high_water": 0, "last_commit": 0, "first_gap": None,
         "first_break": None, "breaks": 0, "unchained": 0, "receipt_gaps": [], "receipts_missing": 0, "receipts_twice": [],
         "ok": True}]


def test_receipt_numbers_missing_or_used_twice_and_commits_lost_at_hq(hq, tmp_path):
    records = [sale(1), event(), sale(2), sale(5), sale(5), event(), sale(6), sale(9)]
    push_till(hq, till_dir(tmp_path / "t1"), "S1", records)
    push_till(hq, till_dir(tmp_path / "t2", "T2"), "S2", [sale(1, "T2"), sale(3, "T2")])
    with connect(hq) as admin:  # rows lost at HQ (a hand edit, an old backup restored): commits 3 and 4
        admin.execute("DELETE FROM hq.record WHERE till_id = 'T1' AND commit_seq IN (3, 4)")
    with connect(hq) as conn:
        t1, t2 = verify(conn)
        only_s2 = verify(conn, shop="S2")
    assert t1 == {"shop": "S1", "till": "T1", "records": 6, "high_water": 8, "last_commit": 8, "first_gap": 3,
                  "first_break": None, "breaks": 0, "unchained": 0, "receipt_gaps": [[2, 4], [7, 8]],
                  "receipts_missing": 5, "receipts_twice": [], "ok": False}  # 5 after the gap: its own hash checks
    assert (t2["receipt_gaps"], t2["receipts_missing"], t2["first_gap"], t2["ok"]) == ([[2, 2]], 1, None, False)
    assert only_s2 == [t2]


def test_a_receipt_number_twice_and_a_stream_cut_short(hq, tmp_path):
    push_till(hq, till_dir(tmp_path / "t1"), "S1", [sale(1), sale(2), sale(2), sale(3)])
    with connect(hq) as admin:  # the newest rows lost: HQ's mark says more than it holds
        admin.execute("DELETE FROM hq.record WHERE commit_seq = 4")
    with connect(hq) as conn:
        [t1] = verify(conn)
    assert (t1["receipts_twice"], t1["last_commit"], t1["high_water"], t1["first_gap"], t1["ok"]) == ([2], 3, 4, None,
                                                                                                    False)


def test_a_break_in_the_hash_chain_is_found_and_a_slot_filled_by_a_record_hq_had_is_no_gap(hq, tmp_path):
    """Commits 1-3 chained; commit 4 says it follows another commit 3 (the till's database restored
    over newer commits), commit 5 follows 4; commit 6 is a record HQ had (commit 1) under a new number."""
    first = list(chained([sale(1), event(), sale(2)]))
    restored = list(chained([sale(3), sale(4)], after=(3, "e" * 64)))
    again = list(chained([first[0]["record"]], after=(5, restored[-1]["hash"])))
    with connect(enrol(hq, till_dir(tmp_path / "t1"))) as till:
        assert [push(till, batch).breaks for batch in (first, restored, again)] == [0, 1, 0]
    with connect(hq) as conn:
        [t1] = verify(conn)
    assert {k: t1[k] for k in ("records", "last_commit", "high_water", "first_gap", "first_break", "breaks", "ok")} == {
        "records": 5, "last_commit": 6, "high_water": 6, "first_gap": None, "first_break": 4, "breaks": 1, "ok": False}


def test_a_chain_break_pushed_by_the_till_or_a_record_edited_at_hq(hq, tmp_path):
    records = [sale(n) for n in range(1, 7)]
    broken = [*chained(records[:3]), *chained(records[3:], after=(3, "f" * 64))]  # the till lost its chain after 3
    with connect(enrol(hq, till_dir(tmp_path / "t1"))) as conn:
        assert push(conn, broken).breaks == 1  # stored all the same, never refused
    push_till(hq, till_dir(tmp_path / "t2", "T2"), "S2", [sale(n, "T2") for n in (1, 2, 3)])
    with connect(hq) as admin:
        t1, t2 = verify(admin)
        assert (t1["first_break"], t1["first_gap"], t1["records"], t1["ok"]) == (4, None, 6, False)
        assert (t2["first_break"], t2["ok"]) == (None, True)
        admin.execute("UPDATE hq.record SET record = jsonb_set(record, '{total}', '1') "
                      "WHERE till_id = 'T2' AND commit_seq = 2")  # HQ never edits a record: someone did
        admin.execute("UPDATE hq.record SET prev_hash = NULL, hash = NULL WHERE till_id = 'T1' AND commit_seq = 1")
        t1, t2 = verify(admin)
    assert (t2["first_break"], t2["ok"]) == (2, False)
    assert (t1["first_break"], t1["unchained"]) == (4, 1)  # commit 1 without hashes: 2 is taken as it is
