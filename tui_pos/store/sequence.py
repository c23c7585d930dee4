"""Receipt numbers that stay unique and in order across processes, restarts and degraded mode.

Allocation happens under an exclusive flock on ``till.lock`` in the data directory, so a CLI
``sell`` beside the running till never takes the same number. The last number used is kept in
the lock file itself, written without fsync: the page cache keeps it exact between live
processes, and after a power cut the ledger recomputes the start from SQLite and the journal.
"""

from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


class SequenceLock:
    def __init__(self, path: Path):
        self.path = path
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
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)

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
