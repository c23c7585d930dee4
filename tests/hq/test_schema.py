"""HQ's schema: named, versioned migrations applied once each, whoever runs init and however often."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tui_pos.hq.connection import HqError, connect
from tui_pos.hq.schema import MIGRATIONS, check_current, migrate


def schema_objects(dsn: str) -> list[tuple]:
    with connect(dsn) as conn:
        return conn.execute(
            "SELECT c.relname, c.relkind, pg_get_userbyid(c.relowner) FROM pg_class c JOIN pg_namespace n "
            "ON n.oid = c.relnamespace WHERE n.nspname = 'hq' ORDER BY c.relname").fetchall()


def test_init_twice_applies_each_migration_once_and_changes_nothing_the_second_time(hq_dsn):
    with connect(hq_dsn) as conn:
        assert migrate(conn) == (MIGRATIONS[-1].version, [m.name for m in MIGRATIONS])
        conn.execute("INSERT INTO hq.shop (shop_id, name) VALUES ('S1', 'First')")
    before = schema_objects(hq_dsn)
    with connect(hq_dsn) as conn:
        assert migrate(conn) == (MIGRATIONS[-1].version, [])
        assert conn.execute("SELECT version, name FROM hq.migration ORDER BY version").fetchall() == [
            (m.version, m.name) for m in MIGRATIONS]
        assert conn.execute("SELECT shop_id FROM hq.shop").fetchall() == [("S1",)]
        check_current(conn)
    assert schema_objects(hq_dsn) == before
    assert {owner for *_, owner in before} == {f"tui_pos_{hq_dsn.split('dbname=')[1].split()[0]}_owner"}


def test_inits_run_at_once_wait_for_each_other(hq_dsn):
    """Two real processes: one applies the migrations, the other finds them applied (none fails)."""
    code = ("import json, sys\nfrom tui_pos.hq.connection import connect\nfrom tui_pos.hq.schema import migrate\n"
            "with connect(sys.argv[1]) as c:\n    print(json.dumps(migrate(c)[1]))\n")
    procs = [subprocess.Popen([sys.executable, "-c", code, hq_dsn], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    applied = sorted((json.loads(out) for out, _err in outputs), key=len)
    assert applied == [[], [m.name for m in MIGRATIONS]]


def test_a_migration_this_tui_pos_does_not_know_is_refused_by_name(hq_dsn):
    with connect(hq_dsn) as conn:
        migrate(conn)
        conn.execute("UPDATE hq.migration SET name = 'someone else''s' WHERE version = 1")
        with pytest.raises(HqError, match="migration 1 is \"someone else's\", which this tui-pos does not know"):
            migrate(conn)
        conn.execute("UPDATE hq.migration SET name = %s WHERE version = 1", (MIGRATIONS[0].name,))
        conn.execute("INSERT INTO hq.migration (version, name) VALUES (999, 'from the future')")
        with pytest.raises(HqError, match="upgrade tui-pos"):
            migrate(conn)
        with pytest.raises(HqError, match=r"newer \(version 999\)"):
            check_current(conn)


def test_an_hq_without_the_schema_says_to_run_init(hq_dsn):
    with connect(hq_dsn) as conn, pytest.raises(HqError, match="run 'tui-pos hq init DSN' first"):
        check_current(conn)


# the chain's own reference data, the same for every shop (Citus: reference tables, copied to every node)
CHAIN_WIDE = ("hq.product", "hq.tax_rate", "hq.person", "hq.setting")


def test_every_key_of_a_chain_table_starts_with_the_shop_and_records_are_partitioned_by_month(hq):
    """Shardable by shop later: the shop id leads every primary and unique key of the data tables
    (the chain-wide reference tables aside: they belong to no shop)."""
    with connect(hq) as conn:
        keys = conn.execute(
            "SELECT c.conrelid::regclass::text, c.contype, a.attname FROM pg_constraint c "
            "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] "
            "JOIN pg_class t ON t.oid = c.conrelid "
            "WHERE c.connamespace = 'hq'::regnamespace AND c.contype IN ('p', 'u') AND NOT t.relispartition").fetchall()
        partitioned = conn.execute("SELECT partrelid::regclass::text, partstrat FROM pg_partitioned_table").fetchall()
    data = [(table, kind, first) for table, kind, first in keys if table not in ("hq.migration", *CHAIN_WIDE)]
    assert {table for table, *_ in data} == {"hq.shop", "hq.till", "hq.record", "hq.shop_product", "hq.commit_moved",
                                             "hq.stock_line", "hq.stock_level", "hq.stock_day", "hq.transfer",
                                             "hq.transfer_line"}
    assert all(first == "shop_id" for *_, first in data), data
    assert partitioned == [("hq.record", "r")]


def test_a_renamed_hq_database_keeps_its_roles(hq, pg_cluster, tmp_path):
    """Role names come from the schema's owner once it exists, not from the database's name of the day."""
    from hq_cluster import enrol, till_dir
    from tui_pos.hq.stream import envelope, push

    old = hq.split("dbname=")[1].split()[0]
    with connect(pg_cluster.dsn()) as conn:
        conn.execute(f'ALTER DATABASE "{old}" RENAME TO "{old}_renamed"')
    try:
        renamed = pg_cluster.dsn(f"{old}_renamed")
        with connect(renamed) as conn:
            assert migrate(conn)[1] == []
        with connect(enrol(renamed, till_dir(tmp_path / "t1"))) as till:
            assert push(till, [envelope(1, {"type": "event", "uuid": "0" * 32, "till_id": "T1"})]).added == 1
            assert till.execute("SELECT session_user").fetchone()[0].startswith(f"tui_pos_{old}_till_")
    finally:
        with connect(pg_cluster.dsn()) as conn:
            conn.execute(f'ALTER DATABASE "{old}_renamed" RENAME TO "{old}"')
