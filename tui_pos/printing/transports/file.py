"""connection = "file:PATH": receipts appended to a file (tests, demos, a spool directory)."""

from __future__ import annotations

import os
from pathlib import Path

from tui_pos.printing.transports.base import DeviceFile, PrinterUnavailable, describe


class FileTransport(DeviceFile):
    """Append receipts to a file (tests, demos, a printer spool directory)."""

    def __init__(self, path: Path):
        self.path = path
        self.description = f"file {path}"
        self._fd: int | None = None

    def open(self) -> None:
        if self._fd is None:
            try:
                self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
            except OSError as err:
                raise PrinterUnavailable(f"cannot open {self.path}: {describe(err)}") from None

    def write_chunk(self, chunk: bytes, timeout_s: float) -> int:
        assert self._fd is not None
        return os.write(self._fd, chunk)

    def check(self) -> None:
        self.open()
