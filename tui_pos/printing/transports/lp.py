"""connection = "lp:/dev/usb/lp0": a printer-class character device (the kernel's usblp)."""

from __future__ import annotations

import errno
import os
import select
import time
from pathlib import Path

from tui_pos.printing.transports.base import DeviceFile, PrinterUnavailable, describe


class LpTransport(DeviceFile):
    """A printer-class character device (/dev/usb/lp0, the kernel's usblp driver), non-blocking
    with poll() so that a stalled printer cannot hang us."""

    def __init__(self, path: Path):
        self.path = path
        self.description = f"lp {path}"
        self._fd: int | None = None

    def open(self) -> None:
        if self._fd is not None:
            return
        last: OSError | None = None
        for mode in (os.O_RDWR, os.O_WRONLY):  # read for status answers where the printer allows it
            try:
                self._fd = os.open(self.path, mode | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY)
                return
            except OSError as err:
                last = err
                if err.errno not in (errno.EACCES, errno.EINVAL, errno.EPERM):
                    break
        assert last is not None  # the loop ran: each mode failed
        raise PrinterUnavailable(f"cannot open {self.path}: {describe(last)}",
                                 busy=last is not None and last.errno == errno.EBUSY) from None

    def _wait(self, event: int, timeout_s: float) -> bool:
        assert self._fd is not None
        poller = select.poll()
        poller.register(self._fd, event)
        return bool(poller.poll(max(0, int(timeout_s * 1000))))

    def write_chunk(self, chunk: bytes, timeout_s: float) -> int:
        assert self._fd is not None
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                return os.write(self._fd, chunk)
            except BlockingIOError:
                pass
            left = deadline - time.monotonic()
            if left <= 0 or not self._wait(select.POLLOUT, left):
                raise TimeoutError(errno.ETIMEDOUT, f"{self.path} took no data for {timeout_s:.1f} s")

    def read(self, size: int, timeout_s: float) -> bytes:
        if self._fd is None:
            return b""
        try:
            if not self._wait(select.POLLIN, timeout_s):
                return b""
            return os.read(self._fd, size)
        except BlockingIOError:
            return b""
        except OSError as err:
            self.close()
            raise PrinterUnavailable(f"{self.path}: {describe(err)}") from None

    def check(self) -> None:
        if not self.path.exists():
            self.close()
            raise PrinterUnavailable(f"{self.path} is gone (unplugged?)")
        self.open()
