"""Sync to HQ under real faults, with real processes: the till is the real `tui-pos` (sell, sync), HQ
a real PostgreSQL of this module's own (scripts/pgcluster.py), stopped, started, restored and cut
off under it.

What must hold after each fault, once HQ is back and the till has synced again: HQ holds exactly
the till's commits (the same numbers, records and hashes: nothing lost, nothing twice), the hash
chain HQ holds verifies from the first commit, and every acknowledged sale is among them.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import AS_DEMO, COLA, FLOAT, NOODLES, WATER, database_write_locked, run_cli
from hq_cluster import enrol, throwaway_cluster, wait_for
from pgcluster import Cluster
from tui_pos.bootstrap.shop import init_shop
from tui_pos.bootstrap.till import open_ledger, open_till
from tui_pos.config import load_config
from tui_pos.domain.commits import GENESIS, canonical_json, commit_hash
from tui_pos.domain.tender import Tender
from tui_pos.store.crash import SYNC_POINTS

ITEMS = (COLA, WATER, f"{NOODLES}x2")


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    """This module's own PostgreSQL: its tests stop and start it, which no other test must see."""
    yield from throwaway_cluster(prefix="tui-pos-faults-pg-")


@pytest.fixture
def hq(cluster: Cluster, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh HQ (database of its own, `hq init`'d, shop S1) in the module's cluster: the admin's DSN."""
    import psycopg

    from tui_pos.hq.chain import add_shop
    from tui_pos.hq.connection import connect
    from tui_pos.hq.schema import migrate

    if not cluster.ready():  # a test that failed with HQ stopped must not fail the next one
        cluster.start(same_port=True)
    name = f"faults_{os.getpid()}_{request.node.name[:30].lower()}".replace("[", "_").replace("]", "").replace("-", "_")
    with psycopg.connect(cluster.dsn(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    admin = cluster.dsn(name)
    with connect(admin) as conn:
        migrate(conn)
        add_shop(conn, "S1", "First")
    yield admin
    if not cluster.ready():
        cluster.start(same_port=True)
    with psycopg.connect(cluster.dsn(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def new_till(admin: str, root: Path, till_id: str) -> Path:
    """A demo shop with a shift open, its till id till_id, enrolled at HQ in shop S1."""
    data_dir = root / till_id.lower()
    data_dir.mkdir(mode=0o700, parents=True)
    (data_dir / "config.toml").write_text(f'[till]\nid = "{till_id}"\n\n[shop]\nname = "till {till_id}"\n')
    init_shop(data_dir, demo=True, shift_float=FLOAT)
    enrol(admin, data_dir)
    return data_dir


def sell(data_dir: Path, sales: int = 1, rng: random.Random | None = None) -> set[str]:
    """Sales through the till's own API (opened, sold, closed, as a one-shot till does; the real
    processes here are the syncs): the uuids of those acknowledged (pay() returned)."""
    till = open_till(load_config(data_dir), cashier="demo", keep_cart=False)
    try:
        paid = set()
        for _ in range(sales):
            for code in [ITEMS[0]] if rng is None else rng.sample(ITEMS, rng.randint(1, len(ITEMS))):
                code, _, qty = code.partition("x")
                till.scan(code, int(qty or 1))
            paid.add(till.pay([Tender("cash", 100_000)]).sale.uuid)
        return paid
    finally:
        till.close()


def sync(data_dir: Path, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return run_cli(data_dir, "sync", "--json", env=env, check=False, timeout=timeout)


def synced(data_dir: Path) -> dict[str, Any]:
    done = sync(data_dir)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def sync_process(data_dir: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    """`tui-pos sync` started, not waited for."""
    return subprocess.Popen([sys.executable, "-m", "tui_pos", "sync", "--json"], text=True,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "TUI_POS_DATA_DIR": str(data_dir), **env})


def one_line_failure(done: subprocess.CompletedProcess[str] | tuple[int, str, str]) -> str:
    """A sync that failed said so in one line, without a traceback: that line."""
    code, out, err = (done.returncode, done.stdout, done.stderr) if isinstance(done, subprocess.CompletedProcess) else done
    assert code not in (0, -signal.SIGKILL), (code, out, err)
    assert "Traceback" not in out + err
    lines = [line for line in (out + err).splitlines() if line.strip()]
    assert len(lines) == 1, lines
    return lines[0]


def stopped(process: subprocess.Popen[str]) -> None:
    """Wait until process has stopped itself (SIGSTOP at a crash point: state T in /proc)."""
    def state() -> str:
        assert process.poll() is None, process.communicate()
        return Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()[0]

    wait_for(lambda: state() in ("T", "t"), "the till to reach its stop point")


def till_commits(data_dir: Path) -> list[dict[str, Any]]:
    """Every commit the till holds (SQLite's, then the journal's), as it would push them."""
    ledger = open_ledger(load_config(data_dir))
    try:
        return ledger.view.commits_after(0, 1_000_000)
    finally:
        ledger.close()


def at_hq(admin: str, till: str) -> list[dict[str, Any]]:
    """The till's stream as HQ holds it (hq.stream: a commit whose record came earlier under another
    number included), each commit with its record."""
    from tui_pos.hq.connection import connect

    with connect(admin) as conn:
        rows = conn.execute("SELECT s.commit_seq, s.prev_hash, s.hash, r.record FROM hq.stream s JOIN hq.record r "
                            "ON (r.shop_id, r.till_id, r.uuid) = (s.shop_id, s.till_id, s.uuid) "
                            "WHERE s.till_id = %s ORDER BY s.commit_seq", (till,)).fetchall()
        count, distinct = conn.execute("SELECT count(*), count(DISTINCT uuid) FROM hq.record WHERE till_id = %s",
                                       (till,)).fetchone() or (0, 0)
    assert count == distinct  # no record twice
    return [{"commit_seq": n, "prev_hash": prev, "hash": digest, "record": record} for n, prev, digest, record in rows]


def assert_exactly_once(admin: str, data_dir: Path, acknowledged: set[str] = frozenset()) -> list[dict[str, Any]]:
    """HQ holds exactly the till's commits, each once, its chain verifies, every acknowledged sale is there."""
    till = load_config(data_dir).till_id
    held, mine = at_hq(admin, till), till_commits(data_dir)
    assert [c["commit_seq"] for c in held] == list(range(1, len(held) + 1))  # no gap, no commit twice
    uuids = [c["record"]["uuid"] for c in held]
    assert len(uuids) == len(set(uuids))  # no record twice
    assert [(c["commit_seq"], c["hash"], c["record"]["uuid"]) for c in held] == \
           [(c["commit_seq"], c["hash"], c["record"]["uuid"]) for c in mine]
    prev = GENESIS
    for commit in held:  # the chain as HQ holds it, recomputed from the records HQ holds
        assert commit["prev_hash"] == prev, commit["commit_seq"]
        assert commit["hash"] == commit_hash(prev, canonical_json(commit["record"])), commit["commit_seq"]
        prev = commit["hash"]
    assert acknowledged <= set(uuids), acknowledged - set(uuids)
    return held


def test_every_sync_crash_point_has_a_kill_test():
    assert set(SYNC_POINTS) == set(KILL_POINTS)


KILL_POINTS = {
    "push_before_send": "the batch read from the store, not yet sent: HQ has none of it",
    "push_after_send": "HQ committed the batch, the till never heard: HQ has all of it",
}


def test_the_till_killed_mid_push_at_each_named_point_loses_and_doubles_nothing(hq, tmp_path):
    till = new_till(hq, tmp_path, "T1")
    acknowledged = sell(till, 2)
    synced(till)
    for point in sorted(KILL_POINTS, reverse=True):  # push_before_send, then push_after_send
        acknowledged |= sell(till, 2)
        before = len(at_hq(hq, "T1"))
        killed = sync(till, env={"TUI_POS_CRASH_AT": point})
        assert killed.returncode == -signal.SIGKILL, killed.stderr
        held = len(at_hq(hq, "T1"))
        assert held == (before if point == "push_before_send" else len(till_commits(till))), point
    after = synced(till)
    assert (after["pushed"], after["pending"], after["state"]) == (0, 0, "synced")  # the last kill was after HQ's COMMIT
    assert_exactly_once(hq, till, acknowledged)


def test_postgresql_stopped_mid_sync_and_started_again(hq, cluster, tmp_path):
    till = new_till(hq, tmp_path, "T1")
    acknowledged = sell(till)
    synced(till)
    acknowledged |= sell(till, 2)
    paused = sync_process(till, {"TUI_POS_STOP_AT": "push_before_send"})
    try:
        stopped(paused)
        cluster.stop()  # HQ goes down with the push read and not yet sent
        paused.send_signal(signal.SIGCONT)
        out, err = paused.communicate(timeout=120)
    finally:
        if paused.poll() is None:
            paused.kill()
            paused.communicate()
    line = one_line_failure((paused.returncode, out, err))
    assert "HQ" in line
    acknowledged |= sell(till)  # the till sells on while HQ is down
    offline = sync(till)
    assert "cannot be reached" in one_line_failure(offline)
    cluster.start(same_port=True)
    after = synced(till)
    assert after["pending"] == 0
    assert_exactly_once(hq, till, acknowledged)


def test_the_connection_killed_right_after_commit_before_the_till_heard(hq, cluster, tmp_path):
    """The push's COMMIT is made to wait for a synchronous standby that does not exist: it is
    committed at HQ (in the WAL) but not yet answered; then pg_terminate_backend cuts the till off.
    The till never hears; the records are at HQ; the next sync sends nothing twice."""
    from psycopg import sql

    from tui_pos.hq.connection import connect
    from tui_pos.hq.schema import roles_of

    till = new_till(hq, tmp_path, "T1")
    acknowledged = sell(till, 3)
    with connect(hq) as admin:
        role = roles_of(admin).till("T1")
        admin.execute("ALTER SYSTEM SET synchronous_standby_names = 'nobody_at_all'")
        admin.execute("SELECT pg_reload_conf()")
        admin.execute(sql.SQL("ALTER ROLE {} SET synchronous_commit = on").format(sql.Identifier(role)))
        try:
            pushing = sync_process(till, {})
            try:
                def waiting_in_commit() -> list[tuple[int]]:  # the till's backend, its COMMIT waiting
                    assert pushing.poll() is None, pushing.communicate()
                    return admin.execute("SELECT pid FROM pg_stat_activity WHERE usename = %s "
                                         "AND wait_event = 'SyncRep'", (role,)).fetchall()

                wait_for(waiting_in_commit, "the push to reach its COMMIT")
                admin.execute("SELECT pg_terminate_backend(%s)", (waiting_in_commit()[0][0],))
                out, err = pushing.communicate(timeout=120)
            finally:
                if pushing.poll() is None:
                    pushing.kill()
                    pushing.communicate()
        finally:
            admin.execute(sql.SQL("ALTER ROLE {} RESET synchronous_commit").format(sql.Identifier(role)))
            admin.execute("ALTER SYSTEM RESET synchronous_standby_names")
            admin.execute("SELECT pg_reload_conf()")
    assert "HQ" in one_line_failure((pushing.returncode, out, err))
    held = at_hq(hq, "T1")
    assert len(held) == len(till_commits(till))  # committed, though the till never heard
    after = synced(till)
    assert (after["pushed"], after["pending"]) == (0, 0)
    assert_exactly_once(hq, till, acknowledged)


def test_hq_restored_from_an_older_dump_gets_again_what_it_lost(hq, cluster, tmp_path):
    import psycopg

    till = new_till(hq, tmp_path, "T1")
    acknowledged = sell(till, 2)
    synced(till)
    dump = tmp_path / "hq.dump"
    env = {**os.environ, "PGPASSWORD": cluster.password}
    name = psycopg.conninfo.conninfo_to_dict(hq)["dbname"]
    base = ["-h", "127.0.0.1", "-p", str(cluster.port), "-U", "postgres"]
    subprocess.run([cluster.tool("pg_dump"), *base, "-Fc", "-f", str(dump), name], check=True, env=env, timeout=120)
    acknowledged |= sell(till, 2)
    before_restore = synced(till)["high_water"]
    with psycopg.connect(cluster.dsn(), autocommit=True) as conn:  # HQ lost, rebuilt from the older dump
        conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    subprocess.run([cluster.tool("pg_restore"), *base, "-d", name, "--exit-on-error", str(dump)], check=True, env=env,
                   capture_output=True, timeout=120)
    assert len(at_hq(hq, "T1")) < before_restore  # HQ has forgotten the last sales
    acknowledged |= sell(till)
    after = synced(till)  # HQ says how far it has got: the till sends again from there
    assert after["pending"] == 0 and after["high_water"] == len(till_commits(till))
    assert_exactly_once(hq, till, acknowledged)


def test_a_cloned_box_selling_as_the_same_till_is_refused_and_loses_nothing(hq, tmp_path):
    """Two boxes, one till id: a disk image copied to other boxes (same till id, same secret). The
    first to push keeps the till's stream; a copy is refused with one line and keeps its sales,
    whether it has made fewer commits than HQ holds or more."""
    import shutil

    first = new_till(hq, tmp_path, "T1")
    sell(first)
    synced(first)
    fewer, more = tmp_path / "fewer", tmp_path / "more"
    for clone in (fewer, more):
        shutil.copytree(first, clone, symlinks=True)
    mine = sell(first, 2)
    synced(first)
    theirs = {fewer: sell(fewer), more: sell(more, 4)}
    for clone, sold in theirs.items():
        line = one_line_failure(sync(clone))
        assert "another box" in line, line
        assert sold <= {c["record"]["uuid"] for c in till_commits(clone)}  # still on the copy, not lost
        assert not sold & {c["record"]["uuid"] for c in at_hq(hq, "T1")}  # and not mixed into T1's stream
    assert_exactly_once(hq, first, mine)


def faked_clock(offset: str) -> dict[str, str]:
    """The environment that puts a process's clock `offset` away (libfaketime: '+2h', '-2h')."""
    libraries = sorted(Path("/usr/lib").glob("*/faketime/libfaketime.so.1"))
    if not libraries:
        pytest.skip("libfaketime is not installed: apt-get install faketime (make test does it as root)")
    return {"LD_PRELOAD": str(libraries[0]), "FAKETIME": offset, "FAKETIME_DONT_RESET": "1"}


@pytest.mark.parametrize("offset", ["+2h", "-2h"])
def test_a_till_whose_clock_is_two_hours_off_syncs_like_any_other(hq, tmp_path, offset):
    """The box's clock goes 2 hours wrong (a dead clock battery, NTP unreachable): its records reach HQ
    exactly once, in its commit order, with the times the till gave them (HQ never edits a record)."""
    from tui_pos.hq.connection import connect

    till = new_till(hq, tmp_path, "T1")
    acknowledged = sell(till)
    synced(till)
    wrong = faked_clock(offset)
    late = run_cli(till, "sell", "--item", COLA, "--tender", "cash", "--no-print", "--json", *AS_DEMO, env=wrong)
    acknowledged.add(json.loads(late.stdout)["uuid"])
    done = sync(till, env=wrong)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["pending"] == 0
    assert_exactly_once(hq, till, acknowledged)
    with connect(hq) as admin:
        skew = admin.execute("SELECT extract(epoch FROM (record->>'completed_at')::timestamptz - received_at) "
                             "FROM hq.record WHERE uuid = %s", (json.loads(late.stdout)["uuid"],)).fetchone()
    assert skew is not None and abs(float(skew[0]) - (7200 if offset == "+2h" else -7200)) < 600
    seen = run_cli(till, "hq", "tills", "--json", env={"TUI_POS_HQ_DSN": hq})  # HQ notices: the till said so
    [t1] = json.loads(seen.stdout)
    assert t1["state"] == "alert" and any(a.startswith("clock 120 minutes") for a in t1["alerts"]), t1


CHAOS_TILLS = ("T1", "T2", "T3")


def test_three_tills_selling_failing_and_syncing_at_random(hq, cluster, tmp_path):
    """Three tills sell, sync, are killed mid-push, have their database locked by another process (their
    sales go to the journal and are pushed from there), while HQ stops and starts and their connections
    are cut, in a random order (seed printed: TUI_POS_CHAOS_SEED=N reruns one). At the end (databases
    free, journals replayed, every till synced) HQ holds exactly the union of every till's commits,
    every acknowledged sale among them, nothing twice, every chain verified."""
    from contextlib import ExitStack

    from tui_pos.hq.connection import connect

    seed = int(os.environ.get("TUI_POS_CHAOS_SEED", random.randrange(1 << 32)))
    print(f"chaos seed {seed}")
    rng = random.Random(seed)
    tills = {t: new_till(hq, tmp_path, t) for t in CHAOS_TILLS}
    acknowledged: dict[str, set[str]] = {t: set() for t in CHAOS_TILLS}
    steps = int(os.environ.get("TUI_POS_CHAOS_STEPS", 20))
    locked: dict[str, ExitStack] = {}
    for _ in range(steps):
        till = rng.choice(CHAOS_TILLS)
        action = rng.choices(["sell", "sync", "kill", "hq_down", "hq_up", "cut", "lock"], weights=[8, 4, 2, 1, 2, 1, 2])[0]
        if action == "lock":  # the till's database locked by another process, or free again
            if till in locked:
                locked.pop(till).close()
            else:
                locked[till] = ExitStack()
                locked[till].enter_context(database_write_locked(tills[till]))
        elif action == "sell":
            acknowledged[till] |= sell(tills[till], rng.randint(1, 3), rng)  # a till sells whatever HQ does
        elif action == "sync":
            done = sync(tills[till])
            assert done.returncode == 0 or "Traceback" not in done.stderr
        elif action == "kill":
            sync(tills[till], env={"TUI_POS_CRASH_AT": rng.choice(SYNC_POINTS)})
        elif action == "hq_down":
            cluster.stop()
        elif action == "hq_up" and not cluster.ready():
            cluster.start(same_port=True)
        elif action == "cut" and cluster.ready():
            with connect(hq) as admin:
                admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE datname = current_database() AND pid <> pg_backend_pid()")
    for held in locked.values():
        held.close()
    if not cluster.ready():
        cluster.start(same_port=True)
    for data_dir in tills.values():
        run_cli(data_dir, "replay")
        assert synced(data_dir)["pending"] == 0
    union = set()
    for till, data_dir in tills.items():
        union |= {c["record"]["uuid"] for c in assert_exactly_once(hq, data_dir, acknowledged[till])}
    with connect(hq) as admin:
        row = admin.execute("SELECT count(*), count(DISTINCT uuid) FROM hq.record").fetchone()
    assert row == (len(union), len(union))
