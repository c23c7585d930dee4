"""connection = "tcp:HOST:9100": a network printer's raw port."""

from __future__ import annotations

import errno
import socket

from tui_pos.printing.transports.base import PrinterUnavailable, Transport, describe


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
        except TimeoutError:
            raise TimeoutError(errno.ETIMEDOUT, f"{self.host}:{self.port} took no data for {timeout_s:.1f} s") from None

    def read(self, size: int, timeout_s: float) -> bytes:
        if self._sock is None:
            return b""
        self._sock.settimeout(max(timeout_s, 0.001))
        try:
            data = self._sock.recv(size)
        except TimeoutError:
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
