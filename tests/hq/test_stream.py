"""A till's records stream at HQ (hq.push, hq.high_water) on a real PostgreSQL: each record once, in
the till's commit order, HQ saying how far it has got."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from hq_cluster import enrol, till_dir

from tui_pos.hq.connection import HqError, connect
from tui_pos.hq.stream import SequenceGap, StreamConflict, envelope, high_water, push


def sale(seq: int, till: str = "T1", at: str = "2026-12-04T10:00:00.000+00:00", typed: bool = True) -> dict:
    """A sale as the till's journal holds it (journal lines before schema 2 have no "type")."""
    record = {"uuid": str(uuid.uuid4()), "till_id": till, "seq": seq, "receipt": f"{till}-{seq:06d}",
              "completed_at": at, "total": 350, "lines": [{"code": "6900000000014", "qty": 1}]}
    return {"type": "sale", **record} if typed else record


def event(till: str = "T1") -> dict:
    return {"type": "event", "uuid": str(uuid.uuid4()), "till_id": till, "at": "2026-12-04T10:05:00.000+00:00",
            "action": "login", "actor": "demo"}


@pytest.fixture
def t1(hq: str, tmp_path: Path):
    with connect(enrol(hq, till_dir(tmp_path / "t1"))) as conn:
        yield conn


def stored(admin_dsn: str, till: str = "T1") -> list[tuple]:
    with connect(admin_dsn) as conn:
        return conn.execute("SELECT commit_seq, uuid::text, type, record FROM hq.record WHERE till_id = %s "
                            "ORDER BY commit_seq", (till,)).fetchall()


def test_a_push_adds_the_records_in_commit_order_and_hq_says_how_far_it_has_got(hq, t1):
    assert high_water(t1) == 0
    records = [sale(1), event(), sale(2, typed=False)]
    result = push(t1, [envelope(n, r) for n, r in zip((3, 1, 2), [records[2], records[0], records[1]])])
    assert (result.high_water, result.added, result.duplicates) == (3, 3, 0)
    assert high_water(t1) == 3
    rows = stored(hq)
    assert [(n, u, kind) for n, u, kind, _ in rows] == [(1, records[0]["uuid"], "sale"), (2, records[1]["uuid"], "event"),
                                                        (3, records[2]["uuid"], "sale")]  # no "type": a sale
    assert rows[0][3] == records[0]  # the record as the journal holds it, untouched


def test_pushing_again_adds_nothing_twice_and_is_no_error(hq, t1):
    batch = [envelope(1, sale(1)), envelope(2, sale(2))]
    assert push(t1, batch).added == 2
    again = push(t1, batch)  # the answer was lost after COMMIT: the till sends the same batch again
    assert (again.high_water, again.added, again.duplicates) == (2, 0, 2)
    overlapping = push(t1, [batch[1], envelope(3, sale(3))])
    assert (overlapping.high_water, overlapping.added, overlapping.duplicates) == (3, 1, 1)
    assert [n for n, *_ in stored(hq)] == [1, 2, 3]


def test_a_record_already_at_hq_under_another_commit_number_is_not_added_twice(hq, t1):
    """Pushed from the journal while the database failed, replayed since under a new commit number."""
    journaled = sale(1)
    push(t1, [envelope(1, journaled)])
    result = push(t1, [envelope(2, sale(2)), envelope(3, journaled), envelope(4, sale(3))])
    assert (result.high_water, result.added, result.duplicates) == (4, 2, 1)
    assert [u for _, u, *_ in stored(hq)].count(journaled["uuid"]) == 1


def test_a_gap_is_refused_whole_and_says_where_hq_has_got_to(hq, t1):
    push(t1, [envelope(1, sale(1)), envelope(2, sale(2))])
    with pytest.raises(SequenceGap) as refused:
        push(t1, [envelope(3, sale(3)), envelope(5, sale(5))])
    assert refused.value.high_water == 2
    assert "HQ has every commit up to 2, send from 3 on" in str(refused.value)
    assert high_water(t1) == 2 and len(stored(hq)) == 2  # nothing of the refused batch
    assert push(t1, [envelope(3, sale(3)), envelope(4, sale(4))]).high_water == 4  # the till sends from 3 on


def test_another_record_under_a_commit_number_hq_has_is_a_conflict(hq, t1):
    push(t1, [envelope(1, sale(1))])
    with pytest.raises(StreamConflict, match="commit 1 is record"):
        push(t1, [envelope(1, sale(1))])


def test_malformed_batches_are_refused_with_what_is_wrong(hq, t1):
    for batch, says in [([{"commit_seq": 0, "record": sale(1)}], "not a pushed record"),
                        ([{"commit_seq": 1.5, "record": sale(1)}], "not a pushed record"),
                        ([{"commit_seq": 1}], "not a pushed record"),
                        ([{"commit_seq": 1, "record": {"type": "sale"}}], "has no record uuid")]:
        with pytest.raises(HqError, match=says):
            push(t1, batch)
    assert high_water(t1) == 0


def test_records_land_in_the_partition_of_their_own_month(hq, t1):
    push(t1, [envelope(1, sale(1, at="2026-11-30T23:59:59.999+00:00")), envelope(2, sale(2, at="2027-03-01T00:00:00+00:00")),
              envelope(3, {"type": "event", "uuid": str(uuid.uuid4()), "till_id": "T1"})])  # no time: HQ's
    with connect(hq) as conn:
        where = dict(conn.execute("SELECT commit_seq, tableoid::regclass::text FROM hq.record").fetchall())
        now = conn.execute("SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY_MM')").fetchone()[0]
    assert where == {1: "hq.record_2026_11", 2: "hq.record_2027_03", 3: f"hq.record_{now}"}


def test_the_status_a_till_sends_is_kept_with_its_last_push(hq, t1):
    push(t1, [envelope(1, sale(1))], status={"pending": 4})
    push(t1, [])  # a push without status keeps the last one
    with connect(hq) as conn:
        assert conn.execute("SELECT status, records, last_seen IS NOT NULL FROM hq.till").fetchone() == ({"pending": 4}, 1, True)
