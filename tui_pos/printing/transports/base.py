"""Transports move rendered bytes to a printer and read its status answers back.

The one rule the queue relies on: a transport says whether any byte of a job may have reached
the printer.

- PrinterUnavailable: nothing of the job was handed over (absent, busy, refused, open failed).
  Safe to print again later.
- WriteIncomplete: the write failed after the first byte was handed over (timeout, stall,
  unplugged, reset). Part of the receipt may print now or later (a printer out of paper keeps
  its buffer), so it must never be sent again blindly.

Every wait is bounded: writes by write_timeout_s (per chunk), reads by the caller's timeout.
"""

from __future__ import annotations

import errno
import os

CHUNK = 1024  # bytes per write: errors are located to within a chunk, and timeouts stay per chunk


class PrinterUnavailable(Exception):
    """The printer cannot be reached; nothing of the current job was sent. busy: another
    program (or another till process) holds it."""

    def __init__(self, reason: str, busy: bool = False):
        self.busy = busy
        super().__init__(reason)


class WriteIncomplete(Exception):
    """A write failed after bytes were handed to the printer: the outcome is unknown."""

    def __init__(self, reason: str, sent: int, total: int):
        self.sent, self.total = sent, total
        super().__init__(f"{reason} (after {sent} of {total} bytes)")


class Transport:
    """Base: open() is idempotent; close() never raises."""

    description = "printer"

    def open(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def write_chunk(self, chunk: bytes, timeout_s: float) -> int:
        """Hand over up to len(chunk) bytes; return how many. Raise OSError-like errors."""
        raise NotImplementedError

    def read(self, size: int, timeout_s: float) -> bytes:
        """Bytes the printer sent back within timeout_s (b"" if none). Default: never answers."""
        return b""

    def check(self) -> None:
        """Cheap presence check when status queries are not answered (raise PrinterUnavailable)."""

    def write(self, data: bytes, timeout_s: float) -> None:
        """All of data, or WriteIncomplete (PrinterUnavailable only if it cannot even open)."""
        self.open()
        sent = 0
        try:
            while sent < len(data):
                n = self.write_chunk(data[sent:sent + CHUNK], timeout_s)
                if n <= 0:
                    raise OSError(errno.EIO, "the printer accepted no data")
                sent += n
        except Exception as err:  # noqa: BLE001 - any failure here leaves the outcome unknown
            self.close()
            raise WriteIncomplete(describe(err), sent, len(data)) from err

    def drain(self) -> None:
        """Drop stale answers (e.g. to a query that timed out) before a new query."""
        for _ in range(8):
            if not self.read(64, 0.01):
                return


def describe(err: BaseException) -> str:
    code = getattr(err, "errno", None)
    text = getattr(err, "strerror", None) or str(err) or type(err).__name__
    names = {errno.ETIMEDOUT: "timed out", errno.ENODEV: "unplugged", errno.EBUSY: "busy (in use by another program)",
             errno.EPIPE: "stalled", errno.ENOENT: "not found", errno.EACCES: "permission denied",
             errno.ECONNREFUSED: "connection refused", errno.EIO: "I/O error"}
    if code in names and names[code] not in text:
        return f"{names[code]}: {text}"
    return text


class NoneTransport(Transport):
    """connection = "none": receipts are shown on screen only."""

    description = "none"

    def open(self) -> None:
        raise PrinterUnavailable("no printer configured (receipts on screen only)")


class DeviceFile(Transport):
    """A transport that writes to one file descriptor (file and lp)."""

    _fd: int | None = None

    def close(self) -> None:
        if self._fd is not None:
            try:
                os.close(self._fd)
            except OSError:
                pass
            self._fd = None
