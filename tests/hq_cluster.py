"""The HQ tests' PostgreSQL, a pytest plugin (see tests/conftest.py): a real, throwaway cluster, one
per test process (per xdist worker), initdb'd in a temporary directory, run as a non-root user
(PostgreSQL refuses root; tests run as root here and in CI, so as nobody via setpriv, as
tests/nobody.py does), on a free port of 127.0.0.1 with its unix socket in the same directory,
password authentication for everyone (so a till role's password is really checked), fsync off
(throwaway). Each test gets a fresh database in it. Skips with the reason where PostgreSQL's
binaries cannot be had."""

from __future__ import annotations

import itertools
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

NOBODY = (65534, 65534)
SUPERUSER = "postgres"


def postgres_bin() -> Path | None:
    """The directory holding initdb, postgres and pg_isready: Debian's newest /usr/lib/postgresql/N/bin
    (Debian keeps them off $PATH), else where $PATH's initdb really is."""
    debian = sorted(Path("/usr/lib/postgresql").glob("*/bin"),
                    key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0, reverse=True)
    on_path = shutil.which("initdb")
    for candidate in [*debian, *([Path(on_path).resolve().parent] if on_path else [])]:
        if all((candidate / tool).exists() for tool in ("initdb", "pg_isready", "postgres")):
            return candidate
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Cluster:
    bin: Path
    base: Path  # the temporary directory: data/, the socket, the log
    port: int
    password: str  # the superuser's
    as_user: tuple[str, ...]  # the prefix that runs a command as the cluster's (non-root) owner
    postmaster: subprocess.Popen[bytes] | None = None

    @property
    def data(self) -> Path:
        return self.base / "data"

    def dsn(self, dbname: str = "postgres", user: str = SUPERUSER, password: str | None = None) -> str:
        """Over TCP on 127.0.0.1, as a till would reach HQ."""
        pw = self.password if password is None and user == SUPERUSER else password
        return f"host=127.0.0.1 port={self.port} dbname={dbname} user={user}" + (f" password={pw}" if pw else "")

    def run(self, *args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*self.as_user, *args], capture_output=True, text=True, check=check, timeout=timeout,
                              cwd=self.base, env={**os.environ, "LC_ALL": "C"})

    def ready(self) -> bool:
        """pg_isready over the unix socket: accepting connections."""
        return self.run(str(self.bin / "pg_isready"), "-q", "-h", str(self.base), "-p", str(self.port),
                        "-t", "30", check=False).returncode == 0

    def start(self) -> None:
        """The postmaster as a child of this process, polled with pg_isready until it accepts
        connections (no fixed sleep; it gives up after 5 minutes or when the postmaster exits); a
        port taken meanwhile by another process is retried on another free port. Its parent-death
        signal is SIGINT (a fast shutdown): a test process killed outright takes its cluster with it."""
        for _attempt in range(5):
            self.port = free_port()
            with open(self.base / "postgres.log", "ab") as log:
                self.postmaster = subprocess.Popen(
                    [*self.as_user, str(self.bin / "postgres"), "-D", str(self.data), "-p", str(self.port),
                     "-k", str(self.base), "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
                     "-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "max_connections=60",
                     "-c", "shared_buffers=16MB", "-c", "log_min_messages=warning"],
                    stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, cwd=self.base,
                    env={**os.environ, "LC_ALL": "C"})
            deadline = time.monotonic() + 300
            while self.postmaster.poll() is None and time.monotonic() < deadline:
                if self.ready():
                    return
                time.sleep(0.05)  # polling for the condition, not a guess at how long it takes
            self.stop()
            log_text = (self.base / "postgres.log").read_text(errors="replace")
            if "could not bind" not in log_text and "Address already in use" not in log_text:
                raise RuntimeError(f"PostgreSQL did not start: {log_text[-2000:]}")
        raise RuntimeError("PostgreSQL found no free port in 5 tries")

    def stop(self) -> None:
        """Fast shutdown (SIGINT), waited for; SIGKILL if it has not gone within two minutes."""
        postmaster = getattr(self, "postmaster", None)
        if postmaster is None or postmaster.poll() is not None:
            return
        postmaster.send_signal(signal.SIGINT)
        try:
            postmaster.wait(timeout=120)
        except subprocess.TimeoutExpired:
            postmaster.kill()
            postmaster.wait(timeout=60)


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    """The process's throwaway PostgreSQL (started on first use, stopped at the end of the session)."""
    pg_bin = postgres_bin()
    if pg_bin is None:
        pytest.skip("PostgreSQL's server binaries (initdb, postgres) are not installed: "
                    "apt-get install postgresql (make test does it as root)")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.skip("psycopg (3) is not installed in this environment: pip install 'psycopg[binary]'")
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("PostgreSQL refuses to run as root and setpriv(1) is missing to run it as nobody")
        as_user: tuple[str, ...] = ("setpriv", "--pdeathsig", "INT", f"--reuid={NOBODY[0]}", f"--regid={NOBODY[1]}",
                                    "--clear-groups")
    else:
        as_user = ("setpriv", "--pdeathsig", "INT") if shutil.which("setpriv") else ()
    base = Path(tempfile.mkdtemp(prefix="tui-pos-pg-"))
    if os.geteuid() == 0:
        os.chown(base, *NOBODY)  # 0700, the cluster owner's: nobody else reaches its socket or files
    password = secrets.token_hex(12)
    cluster = Cluster(pg_bin, base, 0, password, as_user)
    pwfile = base / "pwfile"
    pwfile.write_text(password + "\n")
    if os.geteuid() == 0:
        os.chown(pwfile, *NOBODY)
    try:
        cluster.run(str(pg_bin / "initdb"), "-D", str(cluster.data), "-U", SUPERUSER, f"--pwfile={pwfile}",
                    "--auth=scram-sha-256", "--encoding=UTF8", "--locale=C", "--no-sync", "--no-instructions")
        pwfile.unlink()
        cluster.start()
    except (subprocess.CalledProcessError, RuntimeError) as err:
        cluster.stop()
        shutil.rmtree(base, ignore_errors=True)
        detail = getattr(err, "stderr", "") or str(err)
        raise RuntimeError(f"the test PostgreSQL could not be set up: {detail}") from None
    try:
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(base, ignore_errors=True)


_numbers = itertools.count(1)


@pytest.fixture
def hq_dsn(pg_cluster: Cluster) -> Iterator[str]:
    """A fresh, empty database of its own in the throwaway cluster: the superuser's DSN to it
    (dropped afterwards, whoever is still connected)."""
    import psycopg

    name = f"hq_{os.getpid()}_{next(_numbers)}"
    with psycopg.connect(pg_cluster.dsn(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield pg_cluster.dsn(name)
    with psycopg.connect(pg_cluster.dsn(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.fixture
def hq(hq_dsn: str) -> str:
    """An HQ made by `hq init` (in-process), with shops S1 and S2: its administrator's DSN."""
    from tui_pos.hq.chain import add_shop
    from tui_pos.hq.connection import connect
    from tui_pos.hq.schema import migrate

    with connect(hq_dsn) as conn:
        migrate(conn)
        add_shop(conn, "S1", "First")
        add_shop(conn, "S2", "Second")
    return hq_dsn


def till_dir(path: Path, till_id: str = "T1") -> Path:
    """A till's data directory with only its config.toml (enough to join HQ)."""
    path.mkdir(parents=True, mode=0o700)
    (path / "config.toml").write_text(f'[till]\nid = "{till_id}"\n\n[shop]\nname = "till {till_id}"\n')
    return path


def enrol(admin_dsn: str, data_dir: Path, shop: str = "S1") -> str:
    """Join the till in data_dir to HQ (as `hq join` does); the till's own DSN, password included."""
    from tui_pos.config import load_config
    from tui_pos.hq.enrol import join, till_dsn

    join(load_config(data_dir), admin_dsn, shop)
    return till_dsn(load_config(data_dir))
