"""One till UI per data directory: an flock on ``instance.lock`` held for the life of the UI.

The lock file also records who holds it (pid, since when, the tmux socket to attach to), so a
second UI can refuse with a useful message. Finding the holder never takes the lock: it reads
``/proc/locks`` (Linux), so `status`, `monitor` and `restore` can ask while a till starts,
without ever making that till fail to get its lock.
"""

from __future__ import annotations

import fcntl
import json
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from tui_pos.core.errors import PosError

INSTANCE_LOCK = "instance.lock"
PROC_LOCKS = Path("/proc/locks")


class TillRunning(PosError):
    """Another till UI holds this data directory."""


@dataclass(frozen=True)
class RunningTill:
    pid: int
    since: str  # ISO 8601 UTC; "" when the holder could not record it
    tmux_socket: str  # the tmux server socket the till runs under; "" when not in tmux

    def refusal(self, data_dir: Path) -> str:
        """The one line a second till UI prints before giving up."""
        since = f" since {self.since}" if self.since else ""
        attach = (f"attach read-only with: tmux -S {self.tmux_socket} attach -r" if self.tmux_socket
                  else "watch it with: tui-pos monitor")
        return f"a till is already running on {data_dir} (pid {self.pid}{since}); {attach}"


def _flock_holders(inode: int) -> list[int]:
    """Pids holding an exclusive flock on a file with this inode number, from /proc/locks.

    Only the inode is compared: the device numbers there and in stat() differ on btrfs and
    overlayfs. The pid recorded in the lock file disambiguates (see running_till)."""
    try:
        lines = PROC_LOCKS.read_text().splitlines()
    except OSError:
        return []
    holders = []
    for line in lines:
        fields = line.split()
        # "1: FLOCK  ADVISORY  WRITE 1234 fe:00:2146322 0 EOF"; waiters have "->" after the number
        if len(fields) >= 6 and fields[1:4] == ["FLOCK", "ADVISORY", "WRITE"] \
                and fields[5].rsplit(":", 1)[-1] == str(inode):
            holders.append(int(fields[4]))
    return holders


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
    holders = _flock_holders(inode)
    if not holders:
        return None
    record = _read_record(path)
    if record.get("pid") in holders:
        return RunningTill(record["pid"], str(record.get("since", "")), str(record.get("tmux_socket", "")))
    return RunningTill(holders[0], "", "")  # held, but the holder could not write its record


def running_pid(data_dir: Path) -> int | None:
    """The pid of the till UI running on this data directory, or None (for restore, status)."""
    till = running_till(data_dir)
    return till.pid if till else None


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
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            holder = running_till(self.data_dir) or RunningTill(0, "", "")
            raise TillRunning(holder.refusal(self.data_dir)) from None
        self._fd = fd
        self._record(fd)

    def _record(self, fd: int) -> None:
        tmux = os.environ.get("TMUX", "")  # "SOCKET,SERVER_PID,SESSION" inside tmux
        record = {"pid": os.getpid(), "since": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                  "tmux_socket": tmux.split(",", 1)[0]}
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
