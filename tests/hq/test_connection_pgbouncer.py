"""A till reaching HQ through a real pgbouncer (Debian's, transaction pooling, as README's "HQ at scale"
advises): its pushes keep working when pgbouncer hands it another server connection, which it does
whenever the idle one was closed (server_idle_timeout). Failed before connect() turned psycopg's
prepared statements off: 'prepared statement "_pg3_0" does not exist' on the first push after."""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from hq_cluster import enrol, till_dir
from pgcluster import NOBODY, Cluster, free_port
from tui_pos.hq.connection import connect
from tui_pos.hq.schema import roles_of
from tui_pos.hq.stream import envelope, high_water, push

PGBOUNCER = Path("/usr/sbin/pgbouncer")


def start_pgbouncer(cluster: Cluster, dbname: str, directory: Path) -> tuple[subprocess.Popen[bytes], int]:
    """pgbouncer in front of dbname: SCRAM logins checked with auth_query (the tills' roles are made
    by hq join, listed nowhere), transaction pooling, idle server connections closed after 1 s."""
    port = free_port()
    directory.mkdir(mode=0o700)
    (directory / "userlist.txt").write_text(f'"postgres" "{cluster.password}"\n')
    (directory / "pgbouncer.ini").write_text(
        f"[databases]\n{dbname} = host=127.0.0.1 port={cluster.port} dbname={dbname}\n\n"
        f"[pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        f"auth_type = scram-sha-256\nauth_file = {directory}/userlist.txt\nauth_user = postgres\n"
        "auth_query = SELECT usename, passwd FROM pg_shadow WHERE usename = $1\n"
        f"pool_mode = transaction\nserver_idle_timeout = 1\nlogfile = {directory}/pgbouncer.log\n")
    if os.geteuid() == 0:
        for path in (directory, directory / "userlist.txt", directory / "pgbouncer.ini"):
            os.chown(path, *NOBODY)
    bouncer = subprocess.Popen([*cluster.as_user, str(PGBOUNCER), str(directory / "pgbouncer.ini")],
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return bouncer, port


def test_pushes_through_pgbouncer_survive_a_new_server_connection(hq, pg_cluster, tmp_path):
    if not PGBOUNCER.exists():
        pytest.skip("pgbouncer is not installed: apt-get install pgbouncer (make test does it as root)")
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    own = enrol(hq, till_dir(tmp_path / "t1"))
    dbname = conninfo_to_dict(hq)["dbname"]
    with connect(hq) as admin:
        role = roles_of(admin).till("T1")
    # in the cluster's directory: its owner (nobody, when the tests run as root) runs pgbouncer too
    bouncer, port = start_pgbouncer(pg_cluster, str(dbname), pg_cluster.base / f"pgbouncer-{uuid.uuid4().hex[:8]}")
    try:
        deadline = time.monotonic() + 60
        while True:  # pgbouncer listening
            try:
                conn = connect(make_conninfo(own, port=str(port)))
                break
            except Exception:
                assert bouncer.poll() is None and time.monotonic() < deadline, "pgbouncer did not start"
                time.sleep(0.05)  # polling for the condition
        with conn:
            for n in range(1, 8):  # past psycopg's prepare threshold (5)
                push(conn, [envelope(n, {"uuid": str(uuid.uuid4()), "type": "event", "at": "2026-12-04T10:00:00+00:00"})])
            deadline = time.monotonic() + 60
            with connect(hq) as admin:  # pgbouncer closes the till's idle server connection
                while admin.execute("SELECT count(*) FROM pg_stat_activity WHERE usename = %s", (role,)).fetchone() != (0,):
                    assert time.monotonic() < deadline, "pgbouncer kept the server connection"
                    time.sleep(0.05)  # polling for the condition
            result = push(conn, [envelope(8, {"uuid": str(uuid.uuid4()), "type": "event",
                                              "at": "2026-12-04T10:00:00+00:00"})])
            assert (result.high_water, result.added) == (8, 1)
            assert high_water(conn) == 8
    finally:
        bouncer.terminate()
        try:
            bouncer.wait(timeout=60)
        except subprocess.TimeoutExpired:  # never left behind, even when it ignores SIGTERM
            bouncer.kill()
            bouncer.wait(timeout=60)

