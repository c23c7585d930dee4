"""Receipt numbers that stay unique and in order across processes, restarts and degraded mode.

Allocation happens under an exclusive flock on ``till.lock`` in the data directory, so a CLI
``sell`` beside the running till never takes the same number. The last number used is kept in
the lock file itself, written without fsync: the page cache keeps it exact between live
processes, and after a power cut the ledger recomputes the start from SQLite and the journal.

The wait for the lock is bounded (LOCK_WAIT_S): a holder that is stopped (Ctrl-Z over SSH, a
debugger) or stuck must not freeze every till on the box. Past the bound, NumberingBusy names
the holder and nothing is numbered: without the lock no number can be reserved, and any number
chosen beside a live holder could be the one it is about to use (see README, "Receipt numbers").
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tui_pos.domain.errors import NumberingBusy

LOCK_WAIT_S = 5.0  # longest wait for the numbering lock; a healthy holder keeps it for milliseconds
PROC_LOCKS = Path("/proc/locks")


def flock_holders(inode: int) -> list[int]:
    """Pids holding an exclusive flock on a file with this inode number, from /proc/locks.

    Only the inode is compared: the device numbers there and in stat() differ on btrfs and
    overlayfs."""
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


def describe_process(pid: int) -> str:
    """'pid 1234, tui-pos sell, stopped' from /proc (as much as can be read)."""
    parts = [f"pid {pid}"]
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        words = [w.decode(errors="replace") for w in argv if w]
        if "tui_pos" in words:  # python -m tui_pos ...
            words = ["tui-pos", *words[words.index("tui_pos") + 1:]]
        if words:
            parts.append(" ".join(Path(words[0]).name.split() + [w for w in words[1:3] if not w.startswith("-")]))
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        if state in ("T", "t"):
            parts.append("STOPPED (suspended with Ctrl-Z, or by a debugger)")
    except (OSError, IndexError):
        pass
    return ", ".join(parts)


class SequenceLock:
    def __init__(self, path: Path, wait_s: float = LOCK_WAIT_S, what: str = "receipt numbering"):
        self.path = path
        self.wait_s = wait_s
        self.what = what  # what the lock guards, for the message when it is held too long
        self._fd: int | None = None

    def _open(self) -> int | None:
        if self._fd is None:
            try:
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            except OSError:
                try:  # read-only data directory: still lock and read, just cannot record
                    self._fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
                except OSError:
                    return None
        return self._fd

    @contextmanager
    def held(self) -> Iterator[None]:
        fd = self._open()
        if fd is None:
            yield
            return
        self._acquire(fd)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)

    def _acquire(self, fd: int) -> None:
        """Take the lock, waiting at most wait_s (sleeping, with backoff: flock has no timeout,
        and a thread blocked in flock could not be called back); NumberingBusy past that."""
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            pass
        deadline = time.monotonic() + self.wait_s
        pause = 0.001
        while True:
            time.sleep(max(0.0, min(pause, deadline - time.monotonic())))
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise self._busy() from None
            pause = min(pause * 2, 0.05)

    def _busy(self) -> NumberingBusy:
        try:
            holders = [p for p in flock_holders(os.fstat(self._fd).st_ino) if p != os.getpid()] if self._fd else []
        except OSError:
            holders = []
        who = describe_process(holders[0]) if holders else "another process"
        pid = str(holders[0]) if holders else "PID"
        return NumberingBusy(f"{self.what} has been held by {who} for over {self.wait_s:g} s",
                             f"resume that process ('fg' in its terminal, or kill -CONT {pid}) or end it "
                             f"(kill {pid}), then try again")

    def last_used(self) -> int:
        """The last number any live process used (0 if unknown); call while held."""
        fd = self._open()
        if fd is None:
            return 0
        try:
            text = os.pread(fd, 32, 0).decode().strip()
            return int(text) if text.isdigit() else 0
        except (OSError, UnicodeDecodeError):
            return 0

    def record(self, seq: int) -> None:
        fd = self._open()
        if fd is None:
            return
        try:
            os.pwrite(fd, f"{seq:<20d}\n".encode(), 0)
        except OSError:
            pass  # best effort: SQLite and the journal remain the authority

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
