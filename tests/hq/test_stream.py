"""A till's records stream at HQ (hq.push, hq.high_water) on a real PostgreSQL: each record once, in
the till's commit order, HQ saying how far it has got."""

from __future__ import annotations

import json
import threading
import uuid
from pathlib import Path
from unittest import mock

import pytest

from conftest import AS_DEMO, COLA, WATER, database_write_locked, open_demo_shop, run_cli
from hq_cluster import enrol, till_dir
from tui_pos.domain.commits import GENESIS, chained
from tui_pos.hq.connection import HqError, connect
from tui_pos.hq.stream import SequenceGap, StreamConflict, envelope, high_water, push

from .tills import event, sale


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
    """Pushed from the journal while the database failed, committed since under another number
    (a restore brought it back): the slot is filled (hq.commit_moved), the record not added twice."""
    journaled = sale(1)
    push(t1, [envelope(1, journaled)])
    result = push(t1, [envelope(2, sale(2)), envelope(3, journaled), envelope(4, sale(3))])
    assert (result.high_water, result.added, result.duplicates) == (4, 2, 1)
    assert [u for _, u, *_ in stored(hq)].count(journaled["uuid"]) == 1
    with connect(hq) as admin:
        assert admin.execute("SELECT commit_seq, uuid::text, moved FROM hq.stream ORDER BY commit_seq").fetchall() == [
            (1, journaled["uuid"], False), (2, mock.ANY, False), (3, journaled["uuid"], True), (4, mock.ANY, False)]
    assert push(t1, [envelope(3, journaled)]).duplicates == 1  # the slot is HQ's: sent again, nothing added


def test_a_chain_break_is_stored_never_refused_and_counted(hq, t1):
    """A commit whose prev_hash is not the hash of the commit before it at HQ (the till's database
    restored over newer commits, or edited): stored all the same; hq verify reports it."""
    first = list(chained([sale(1), sale(2)]))
    assert push(t1, first).breaks == 0
    elsewhere = list(chained([sale(3), sale(4)], after=(2, "f" * 64)))
    result = push(t1, elsewhere)
    assert (result.added, result.breaks, result.high_water) == (2, 1, 4)
    with connect(hq) as admin:
        rows = admin.execute("SELECT commit_seq, prev_hash, hash FROM hq.record ORDER BY commit_seq").fetchall()
    assert rows == [(e["commit_seq"], e["prev_hash"], e["hash"]) for e in first + elsewhere]
    assert push(t1, list(chained([sale(5)], after=(4, elsewhere[-1]["hash"])))).breaks == 0
    with pytest.raises(HqError, match="not a pushed record"):  # a hash is 64 hex digits, or left out
        push(t1, [{**list(chained([sale(6)], after=(5, GENESIS)))[0], "prev_hash": "not a hash"}])


def test_a_first_commit_that_does_not_start_from_genesis_is_a_break(hq, t1):
    assert push(t1, list(chained([sale(1)], after=(0, "a" * 64)))).breaks == 1


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
    push(t1, [envelope(1, sale(1, at="2020-11-30T23:59:59.999+00:00")), envelope(2, sale(2, at="2021-03-01T00:00:00+00:00")),
              envelope(3, {"type": "event", "uuid": str(uuid.uuid4()), "till_id": "T1"}),  # no time: HQ's
              envelope(4, sale(4, at="2999-01-01T00:00:00+00:00"))])  # a clock far ahead: HQ's (no partition for 2999)
    with connect(hq) as conn:
        where = dict(conn.execute("SELECT commit_seq, tableoid::regclass::text FROM hq.record").fetchall())
        now = conn.execute("SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY_MM')").fetchone()[0]
        assert conn.execute("SELECT to_regclass('hq.record_2999_01')").fetchone() == (None,)
    assert where == {1: "hq.record_2020_11", 2: "hq.record_2021_03", 3: f"hq.record_{now}", 4: f"hq.record_{now}"}


def test_the_status_a_till_sends_is_kept_with_its_last_push(hq, t1):
    push(t1, [envelope(1, sale(1))], status={"pending": 4})
    push(t1, [])  # a push without status keeps the last one
    with connect(hq) as conn:
        assert conn.execute("SELECT status, records, last_seen IS NOT NULL FROM hq.till").fetchone() == ({"pending": 4}, 1, True)


def journal_records(shop: Path) -> list[dict]:
    """The records in the till's journal files, in file and line order (the line format:
    `v2 <n> <prev> <mac> <json>`, see tui_pos/store/journal.py)."""
    found = []
    for path in sorted((shop / "journal").glob("*.jsonl")):
        for line in path.read_bytes().splitlines():
            found.append(json.loads(line.split(b" ", 4)[4]))
    return found


def test_a_real_tills_journaled_records_go_in_as_the_journal_holds_them(hq, tmp_path):
    """Sales the till could only journal (its database write-locked): the records a push will carry."""
    shop = open_demo_shop(tmp_path / "shop")
    with database_write_locked(shop):
        for code in (COLA, WATER):
            run_cli(shop, "sell", *AS_DEMO, "--item", code, "--tender", "cash", "--no-print")
    records = journal_records(shop)
    sales = [r for r in records if r.get("type", "sale") == "sale"]
    assert len(sales) == 2
    with connect(enrol(hq, shop)) as conn:
        result = push(conn, [envelope(n, r) for n, r in enumerate(records, start=1)])
    assert (result.high_water, result.added) == (len(records), len(records))
    with connect(hq) as admin:
        at_hq = admin.execute("SELECT uuid::text, type, record->>'receipt', (record->>'total')::int, record "
                              "FROM hq.record WHERE type = 'sale' ORDER BY commit_seq").fetchall()
    assert [(u, r, t) for u, _, r, t, _ in at_hq] == [(s["uuid"], s["receipt"], s["total"]) for s in sales]
    assert [rec for *_, rec in at_hq] == sales  # every key and value as the journal holds it
    assert [s["total"] for s in sales] == [350, 200]


def test_many_tills_pushing_into_a_month_hq_has_no_partition_for_yet_all_get_in(hq, tmp_path):
    """The month's partition is made on demand by whichever push comes first, the others wait for
    it (no deadlock, no 'already exists')."""
    tills = [connect(enrol(hq, till_dir(tmp_path / f"t{i}", f"T{i}"))) for i in range(1, 7)]
    start = threading.Barrier(len(tills))
    failures: list[BaseException] = []

    def sell(conn, till: str) -> None:
        try:
            start.wait(timeout=60)
            for n in range(1, 6):
                push(conn, [envelope(n, sale(n, till, at=f"2019-0{1 + n % 3}-15T12:00:00+00:00"))])
        except BaseException as err:  # noqa: BLE001 - reported below
            failures.append(err)

    threads = [threading.Thread(target=sell, args=(conn, f"T{i}")) for i, conn in enumerate(tills, start=1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    for conn in tills:
        conn.close()
    assert not failures, failures
    with connect(hq) as admin:
        assert admin.execute("SELECT count(*), count(DISTINCT tableoid) FROM hq.record").fetchone() == (30, 3)
