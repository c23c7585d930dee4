"""One till UI per data directory: an flock on ``instance.lock`` held for the life of the UI.

The lock file also records who holds it (pid, since when, its terminal, the tmux session to
attach to), so a second UI can refuse with a useful message. Finding the holder never takes the
lock: it reads ``/proc/locks`` (Linux), so `status`, `monitor` and `restore` can ask while a till
starts, without ever making that till fail to get its lock.

A holder whose terminal is gone (an SSH session dropped, a tmux server killed) is a ghost: it
can serve nobody, so the next till stops it (SIGTERM, then SIGKILL: every sale is durable before
it is acknowledged and the cart is saved as it changes) and takes the lock, instead of being
refused forever.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import pwd
import shlex
import signal
import subprocess
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from tui_pos.domain.errors import PosError
from tui_pos.store.sequence import flock_holders

INSTANCE_LOCK = "instance.lock"
GHOST_GRACE_S = 5.0  # how long a ghost gets for each of SIGTERM and SIGKILL to let the lock go

log = logging.getLogger(__name__)


class TillRunning(PosError):
    """Another till UI holds this data directory."""


@dataclass(frozen=True)
class RunningTill:
    pid: int
    since: str  # ISO 8601 UTC; "" when the holder could not record it
    tmux_socket: str  # the tmux server socket the till runs under; "" when not in tmux
    tmux_session: str = ""  # the tmux session id ("$0") the till runs in
    tty: str = ""  # the terminal the till drew on when it started; "" when none

    def refusal(self, data_dir: Path) -> str:
        """The one line a second till UI prints before giving up."""
        since = f" since {self.since}" if self.since else ""
        attach = (f"attach read-only with: {self.attach_command()}" if self.tmux_socket
                  else "watch it with: tui-pos monitor")
        return f"a till is already running on {data_dir} (pid {self.pid}{since}); {attach}"

    def attach_command(self) -> str:
        """The exact command that attaches read-only to the till's tmux session: as the socket's
        owner (sudo, as support does on an installed till) and with the session by name."""
        prefix = ""
        try:
            owner = os.stat(self.tmux_socket).st_uid
            if owner != os.geteuid():
                prefix = f"sudo -u {shlex.quote(pwd.getpwuid(owner).pw_name)} "
        except (OSError, KeyError):
            pass
        target = f" -t {shlex.quote(self.session_name())}" if self.tmux_session else ""
        return f"{prefix}tmux -S {shlex.quote(self.tmux_socket)} attach -r{target}"

    def session_name(self) -> str:
        """The session's name when tmux answers (support's sudo rule names it), else its id."""
        try:
            name = subprocess.run(["tmux", "-S", self.tmux_socket, "display-message", "-p", "-t",
                                   self.tmux_session, "#{session_name}"], capture_output=True, text=True,
                                  timeout=2, stdin=subprocess.DEVNULL).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            name = ""
        return name or self.tmux_session

    def lost_its_terminal(self) -> bool:
        """Its terminal is gone: the pty it started on no longer exists, or its stdin is a
        deleted pty (what /proc shows after a hang-up)."""
        if self.tty.startswith("/dev/") and not os.path.exists(self.tty):
            return True
        try:
            stdin = os.readlink(f"/proc/{self.pid}/fd/0")
        except OSError:
            return False
        return stdin.startswith("/dev/pts/") and stdin.endswith(" (deleted)")


def _read_record(path: Path) -> dict:
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def running_till(data_dir: Path) -> RunningTill | None:
    """The till UI running on this data directory, or None. Takes no lock."""
    path = Path(data_dir) / INSTANCE_LOCK
    try:
        inode = path.stat().st_ino
    except OSError:
        return None
    holders = flock_holders(inode)
    if not holders:
        return None
    record = _read_record(path)
    if record.get("pid") in holders:
        return RunningTill(record["pid"], str(record.get("since", "")), str(record.get("tmux_socket", "")),
                           str(record.get("tmux_session", "")), str(record.get("tty", "")))
    return RunningTill(holders[0], "", "")  # held, but the holder could not write its record


def running_pid(data_dir: Path) -> int | None:
    """The pid of the till UI running on this data directory, or None (for restore, status)."""
    till = running_till(data_dir)
    return till.pid if till else None


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _stop_ghost(fd: int, pid: int) -> bool:
    """Stop a till that lost its terminal and take its lock: SIGTERM (it saves and leaves), then
    SIGKILL if it hangs. Bounded: at most twice GHOST_GRACE_S. True when the lock is ours."""
    for number in (signal.SIGTERM, signal.SIGKILL):
        log.warning("the till holding the data directory (pid %s) lost its terminal: sending %s",
                    pid, signal.Signals(number).name)
        try:
            os.kill(pid, number)
        except ProcessLookupError:
            pass
        except PermissionError:
            return False  # another user's process: refuse, naming it
        deadline = time.monotonic() + GHOST_GRACE_S
        while time.monotonic() < deadline:
            if _try_lock(fd):
                return True
            time.sleep(0.05)
    return _try_lock(fd)


class TillInstanceLock:
    """Held from before the UI takes the terminal until the process exits (the kernel releases
    an flock when its holder dies, so a crash never leaves a stale lock)."""

    def __init__(self, data_dir: Path):
        self.data_dir = Path(data_dir)
        self.path = self.data_dir / INSTANCE_LOCK
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock or raise TillRunning with the one-line refusal. A data directory where
        the lock file cannot even be opened (read-only, no such directory) is left unguarded:
        the till must still be able to sell into its journal."""
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError:
            try:
                fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
            except OSError:
                return
        if not _try_lock(fd):
            holder = running_till(self.data_dir) or RunningTill(0, "", "")
            if not (holder.pid and holder.lost_its_terminal() and _stop_ghost(fd, holder.pid)):
                os.close(fd)
                raise TillRunning(holder.refusal(self.data_dir))
        self._fd = fd
        self._record(fd)

    def _record(self, fd: int) -> None:
        tmux = os.environ.get("TMUX", "").split(",")  # "SOCKET,SERVER_PID,SESSION_ID" inside tmux
        try:
            tty = os.ttyname(0)
        except OSError:
            tty = ""
        record = {"pid": os.getpid(), "since": datetime.now(UTC).isoformat(timespec="seconds"),
                  "tmux_socket": tmux[0], "tmux_session": f"${tmux[2]}" if len(tmux) == 3 else "",
                  "tty": tty}
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, (json.dumps(record) + "\n").encode(), 0)
        except OSError:
            pass  # read-only: the lock still holds; running_till falls back to /proc/locks' pid

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the only descriptor drops the flock
            self._fd = None

    def __enter__(self) -> TillInstanceLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
