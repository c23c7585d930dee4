"""Least privilege in PostgreSQL itself: a till's role adds its own records through hq.push and
nothing else; it cannot write (or read) another till's records, nor change or remove its own."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from hq.test_stream import sale
from hq_cluster import enrol, till_dir
from tui_pos.hq.connection import HqError, connect
from tui_pos.hq.stream import envelope, push

psycopg = pytest.importorskip("psycopg", reason="psycopg (3) is not installed: pip install -e .[test] (make venv)")


@pytest.fixture
def two_tills(hq: str, tmp_path: Path):
    t1 = connect(enrol(hq, till_dir(tmp_path / "t1", "T1")))
    t2 = connect(enrol(hq, till_dir(tmp_path / "t2", "T2"), shop="S2"))
    push(t1, [envelope(1, sale(1, "T1"))])
    push(t2, [envelope(1, sale(1, "T2"))])
    yield t1, t2
    t1.close()
    t2.close()


def refused(conn: psycopg.Connection, statement: str, *params) -> str:
    with pytest.raises(psycopg.errors.InsufficientPrivilege) as err:
        conn.execute(statement, params or None)
    return str(err.value)


def test_a_till_cannot_insert_update_or_delete_records_its_own_or_anothers(hq, two_tills):
    t1, _t2 = two_tills
    forged = sale(1, "T2")
    assert "permission denied" in refused(
        t1, "INSERT INTO hq.record (shop_id, till_id, commit_seq, uuid, type, recorded_at, record) "
            "VALUES ('S2', 'T2', 2, %s, 'sale', now(), %s)", forged["uuid"], psycopg.types.json.Jsonb(forged))
    for statement in ("UPDATE hq.record SET record = '{}' WHERE till_id = 'T2'",
                      "UPDATE hq.record SET record = '{}' WHERE till_id = 'T1'",
                      "DELETE FROM hq.record WHERE till_id = 'T2'",
                      "DELETE FROM hq.record WHERE till_id = 'T1'",
                      "TRUNCATE hq.record",
                      "UPDATE hq.till SET high_water = 0",
                      "INSERT INTO hq.shop (shop_id) VALUES ('S9')"):
        assert "permission denied" in refused(t1, statement)
    partition = t1.execute("SELECT 'hq.record_' || to_char(now() AT TIME ZONE 'UTC', 'YYYY_MM')").fetchone()[0]
    refused(t1, f"DELETE FROM {partition}")  # nor around the parent, through a partition
    with connect(hq) as admin:
        assert admin.execute("SELECT till_id, count(*), max(record->>'total') FROM hq.record GROUP BY till_id "
                             "ORDER BY till_id").fetchall() == [("T1", 1, "350"), ("T2", 1, "350")]


def test_hq_push_refuses_a_record_of_another_till(hq, two_tills):
    t1, _t2 = two_tills
    with pytest.raises(HqError, match="is till T2's, not till T1's"):
        push(t1, [envelope(2, sale(2, "T2"))])


def test_hq_push_refuses_roles_that_are_no_till(hq, tmp_path):
    intruder = f"intruder_{uuid.uuid4().hex[:8]}"  # roles are the cluster's: one of its own
    with connect(hq) as admin:
        admin.execute(f"CREATE ROLE {intruder} LOGIN PASSWORD 'intruder-pw'")
        admin.execute(f"GRANT USAGE ON SCHEMA hq TO {intruder}")
    with connect(psycopg.conninfo.make_conninfo(hq, user=intruder, password="intruder-pw")) as conn:
        assert "permission denied for function push" in refused(conn, "SELECT hq.push('[]')")
        assert "permission denied" in refused(conn, "SELECT * FROM hq.record")


def test_a_till_reads_only_its_own_till_row_and_records(hq, two_tills):
    t1, _t2 = two_tills
    assert t1.execute("SELECT till_id FROM hq.till").fetchall() == [("T1",)]
    assert t1.execute("SELECT till_id FROM hq.record").fetchall() == [("T1",)]
    assert t1.execute("SELECT shop_id FROM hq.shop ORDER BY shop_id").fetchall() == [("S1",), ("S2",)]  # reference data


def test_a_till_cannot_push_as_another_till_by_switching_role(hq, two_tills):
    t1, _t2 = two_tills
    with connect(hq) as admin:
        other = admin.execute("SELECT role_name FROM hq.till WHERE till_id = 'T2'").fetchone()[0]
    assert "permission denied" in refused(t1, f'SET ROLE "{other}"')
    record = {**sale(2, "T1"), "uuid": str(uuid.uuid4())}
    assert push(t1, [envelope(2, record)]).added == 1  # its own still go in


def test_a_till_cannot_write_the_commits_hq_holds_for_it_and_reads_only_its_own(hq, two_tills):
    """hq.commit_moved (slots filled by a record HQ already had) and the hq.stream view: written
    only by hq.push, read by a till only for itself (the view not at all)."""
    t1, t2 = two_tills
    journaled = sale(2, "T2")
    push(t2, [envelope(2, journaled), envelope(3, journaled)])  # the same record under a second number
    for statement in ("INSERT INTO hq.commit_moved (shop_id, till_id, commit_seq, uuid) "
                      "VALUES ('S1', 'T1', 9, gen_random_uuid())",
                      "UPDATE hq.commit_moved SET commit_seq = 9", "DELETE FROM hq.commit_moved",
                      "SELECT * FROM hq.stream"):
        assert "permission denied" in refused(t1, statement)
    assert t1.execute("SELECT count(*) FROM hq.commit_moved").fetchone() == (0,)
    assert t2.execute("SELECT till_id, commit_seq FROM hq.commit_moved").fetchall() == [("T2", 3)]
