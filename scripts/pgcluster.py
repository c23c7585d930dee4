"""A throwaway PostgreSQL cluster: initdb'd in a temporary directory, run as a non-root user
(PostgreSQL refuses root: as root it runs as nobody via setpriv), on a free port of 127.0.0.1 with
its unix socket in the same directory, password authentication for everyone (so a till role's
password is really checked). Used by the HQ tests (tests/hq_cluster.py), the HQ benchmark
(scripts/bench_hq.py) and the local chain demo (scripts/chain.py, `make chain`).

Durability is the caller's choice: the tests run with fsync off (throwaway, fast); the benchmark
runs as a real HQ would (fsync and synchronous_commit on), so its figures are an HQ's.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

NOBODY = (65534, 65534)
SUPERUSER = "postgres"
THROWAWAY = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}


class Unavailable(Exception):
    """PostgreSQL cannot be had here (str(): why, and what would fix it)."""


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
    settings: dict[str, str] = field(default_factory=dict)  # -c name=value for the postmaster
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

    def tool(self, name: str) -> str:
        """The path of one of the cluster's own client programs (pg_dump, pg_restore, psql)."""
        return str(self.bin / name)

    def ready(self) -> bool:
        """pg_isready over the unix socket: accepting connections."""
        return self.run(str(self.bin / "pg_isready"), "-q", "-h", str(self.base), "-p", str(self.port),
                        "-t", "30", check=False).returncode == 0

    def start(self, same_port: bool = False) -> None:
        """The postmaster as a child of this process, polled with pg_isready until it accepts
        connections (no fixed sleep; it gives up after 5 minutes or when the postmaster exits); a
        port taken meanwhile by another process is retried on another free port (unless same_port:
        a restart where the tills already know the port). Its parent-death signal is SIGINT (a fast
        shutdown): a process killed outright takes its cluster with it."""
        for _attempt in range(1 if same_port else 5):
            if not same_port:
                self.port = free_port()
            options = {"listen_addresses": "127.0.0.1", "max_connections": "60", "shared_buffers": "16MB",
                       "log_min_messages": "warning", **self.settings}
            with open(self.base / "postgres.log", "ab") as log:
                self.postmaster = subprocess.Popen(
                    [*self.as_user, str(self.bin / "postgres"), "-D", str(self.data), "-p", str(self.port),
                     "-k", str(self.base), *[a for k, v in options.items() for a in ("-c", f"{k}={v}")]],
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
        raise RuntimeError(f"PostgreSQL found no free port in {1 if same_port else 5} tries")

    def stop(self) -> None:
        """Fast shutdown (SIGINT), waited for; SIGKILL if it has not gone within two minutes."""
        postmaster = self.postmaster
        if postmaster is None or postmaster.poll() is not None:
            return
        postmaster.send_signal(signal.SIGINT)
        try:
            postmaster.wait(timeout=120)
        except subprocess.TimeoutExpired:
            postmaster.kill()
            postmaster.wait(timeout=60)

    def remove(self) -> None:
        """Stopped, and its directory gone."""
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)


def check_available() -> Path:
    """Where PostgreSQL's server binaries are; Unavailable (why) when this machine cannot run a cluster."""
    pg_bin = postgres_bin()
    if pg_bin is None:
        raise Unavailable("PostgreSQL's server binaries (initdb, postgres) are not installed: "
                          "apt-get install postgresql (make test does it as root)")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        raise Unavailable("psycopg (3) is not installed in this environment: pip install 'psycopg[binary]'") from None
    if os.geteuid() == 0 and shutil.which("setpriv") is None:
        raise Unavailable("PostgreSQL refuses to run as root and setpriv(1) is missing to run it as nobody")
    return pg_bin


def new_cluster(settings: dict[str, str] | None = None, prefix: str = "tui-pos-pg-") -> Cluster:
    """A cluster initdb'd and started (Unavailable when it cannot be had, RuntimeError when it fails);
    the caller stops and removes it (Cluster.remove)."""
    pg_bin = check_available()
    if os.geteuid() == 0:
        as_user: tuple[str, ...] = ("setpriv", "--pdeathsig", "INT", f"--reuid={NOBODY[0]}", f"--regid={NOBODY[1]}",
                                    "--clear-groups")
    else:
        as_user = ("setpriv", "--pdeathsig", "INT") if shutil.which("setpriv") else ()
    base = Path(tempfile.mkdtemp(prefix=prefix))
    if os.geteuid() == 0:
        os.chown(base, *NOBODY)  # 0700, the cluster owner's: nobody else reaches its socket or files
    cluster = Cluster(pg_bin, base, 0, secrets.token_hex(12), as_user, dict(settings or {}))
    pwfile = base / "pwfile"
    pwfile.write_text(cluster.password + "\n")
    if os.geteuid() == 0:
        os.chown(pwfile, *NOBODY)
    try:
        cluster.run(str(pg_bin / "initdb"), "-D", str(cluster.data), "-U", SUPERUSER, f"--pwfile={pwfile}",
                    "--auth=scram-sha-256", "--encoding=UTF8", "--locale=C", "--no-sync", "--no-instructions")
        pwfile.unlink()
        cluster.start()
    except (subprocess.CalledProcessError, RuntimeError) as err:
        cluster.remove()
        detail = getattr(err, "stderr", "") or str(err)
        raise RuntimeError(f"the throwaway PostgreSQL could not be set up: {detail}") from None
    return cluster
