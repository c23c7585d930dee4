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
import select
import socket
import time
from pathlib import Path

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


class _DeviceFile(Transport):
    """A transport that writes to one file descriptor."""

    _fd: int | None = None

    def close(self) -> None:
        if self._fd is not None:
            try:
                os.close(self._fd)
            except OSError:
                pass
            self._fd = None


class FileTransport(_DeviceFile):
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



class LpTransport(_DeviceFile):
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



class TcpTransport(Transport):
    """A network printer's raw port (JetDirect, 9100)."""

    def __init__(self, host: str, port: int, connect_timeout_s: float = 2.0):
        self.host, self.port, self.connect_timeout_s = host, port, connect_timeout_s
        self.description = f"tcp {host}:{port}"
        self._sock: socket.socket | None = None

    def open(self) -> None:
        if self._sock is not None:
            return
        try:
            self._sock = socket.create_connection((self.host, self.port), timeout=self.connect_timeout_s)
        except OSError as err:
            raise PrinterUnavailable(f"cannot connect to {self.host}:{self.port}: {describe(err)}") from None
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def write_chunk(self, chunk: bytes, timeout_s: float) -> int:
        assert self._sock is not None
        self._sock.settimeout(timeout_s)
        try:
            return self._sock.send(chunk)
        except socket.timeout:
            raise TimeoutError(errno.ETIMEDOUT, f"{self.host}:{self.port} took no data for {timeout_s:.1f} s") from None

    def read(self, size: int, timeout_s: float) -> bytes:
        if self._sock is None:
            return b""
        self._sock.settimeout(max(timeout_s, 0.001))
        try:
            data = self._sock.recv(size)
        except socket.timeout:
            return b""
        except OSError as err:
            self.close()
            raise PrinterUnavailable(f"{self.host}:{self.port}: {describe(err)}") from None
        if not data:  # the printer closed the connection
            self.close()
            raise PrinterUnavailable(f"{self.host}:{self.port} closed the connection")
        return data

    def check(self) -> None:
        self.open()

    def close(self) -> None:
        if self._sock is not None:
            try:
                self._sock.close()
            except OSError:
                pass
            self._sock = None


def open_transport(connection: str, write_timeout_s: float = 3.0) -> Transport:
    """A transport for a [printer] connection string (ValueError if it is malformed)."""
    kind, _, rest = connection.strip().partition(":")
    if kind == "none" and not rest:
        return NoneTransport()
    if kind == "usb":
        from tui_pos.printing.usb import UsbTransport, parse_usb_ids

        vid, pid = parse_usb_ids(rest) if rest else (None, None)
        return UsbTransport(vid, pid)
    if kind == "lp" and rest:
        return LpTransport(Path(rest))
    if kind == "file" and rest:
        return FileTransport(Path(rest).expanduser())
    if kind == "tcp" and rest:
        host, port = rest, "9100"
        if rest.startswith("[") and "]" in rest:  # [IPv6]:port
            host, _, tail = rest[1:].partition("]")
            port = tail.lstrip(":") or port
        elif rest.count(":") == 1:
            host, _, port = rest.partition(":")
        if not port.isdigit() or not host:
            raise ValueError(f"printer connection {connection!r}: expected tcp:HOST:PORT, e.g. tcp:192.0.2.10:9100")
        return TcpTransport(host, int(port))
    raise ValueError(f"printer connection {connection!r}: use none, usb, usb:VID:PID, lp:/dev/usb/lp0, "
                     "tcp:HOST:9100 or file:PATH")
