"""One printer: a transport plus what we learned about it (does it answer status queries?).

Owned by one thread at a time (the print worker, or a CLI command under the printer lock).
Status probes cost at most status_timeout_s when the printer does not answer, and are never
made on the sale path: the queue probes just before it prints, the worker every second or so
while idle.
"""

from __future__ import annotations

import time

from tui_pos.config import CONFIG_NAME, Config, ConfigError
from tui_pos.domain.errors import N_, Said, said_of
from tui_pos.printing.status import QUERIES, PrinterStatus, parse_status
from tui_pos.printing.transports import NoneTransport, PrinterUnavailable, Transport, describe, open_transport

DLE_EOT = b"\x10\x04"  # escpos.constants.RT_STATUS: kept here so a probe never imports python-escpos
SILENT_RETRY_S = 60.0  # a printer that never answered is asked again this often (it may be another one now)


class Printer:
    def __init__(self, transport: Transport, *, write_timeout_s: float = 3.0, status_timeout_s: float = 0.2,
                 clock=time.monotonic):
        self.transport = transport
        self.write_timeout_s = write_timeout_s
        self.status_timeout_s = status_timeout_s
        self.clock = clock
        self.answers_status: bool | None = None  # unknown until the first probe
        self._silent_since = 0.0
        self.last_status = PrinterStatus(available=False, error="not probed yet", configured=self.configured)
        self.probed_at = float("-inf")  # clock() of the last probe

    @classmethod
    def from_config(cls, config: Config) -> Printer:
        p = config.printer
        try:
            transport = open_transport(p.connection)
        except ValueError as err:
            raise ConfigError(Said(N_("{path}: [printer] {problem}"), path=str(config.data_dir / CONFIG_NAME),
                                   problem=said_of(err))) from None
        return cls(transport, write_timeout_s=p.write_timeout_ms / 1000, status_timeout_s=p.status_timeout_ms / 1000)

    @property
    def configured(self) -> bool:
        return not isinstance(self.transport, NoneTransport)

    @property
    def description(self) -> str:
        return self.transport.description

    def probe(self) -> PrinterStatus:
        """Open if needed and ask DLE EOT 1, 2, 4. The queries also tell us the device is still
        there (their write fails when it is not). Never raises."""
        if not self.configured:
            self.last_status = PrinterStatus(available=False, configured=False)
            return self.last_status
        try:
            self.transport.open()
            self.transport.drain()
            self.transport.write_chunk(b"".join(DLE_EOT + bytes([n]) for n in QUERIES), self.status_timeout_s)
            if self.answers_status is False and self.clock() - self._silent_since < SILENT_RETRY_S:
                answers = b""  # known not to answer: do not wait
            else:
                answers = self._read_answers()
            status = parse_status(answers)
            if status.answered:
                self.answers_status = True
            elif self.answers_status is not False:
                self.answers_status, self._silent_since = False, self.clock()
        except PrinterUnavailable as err:
            status = PrinterStatus(available=False, error=str(err))
        except Exception as err:  # noqa: BLE001 - a status write that fails: the printer is not usable
            self.transport.close()
            status = PrinterStatus(available=False, error=describe(err))
        self.last_status, self.probed_at = status, self.clock()
        return status

    def _read_answers(self) -> bytes:
        deadline = self.clock() + self.status_timeout_s
        got = b""
        while len(got) < len(QUERIES):
            left = deadline - self.clock()
            if left <= 0:
                break
            got += self.transport.read(16, left)
        return got

    def send(self, data: bytes) -> None:
        """PrinterUnavailable (nothing sent) or WriteIncomplete (outcome unknown) on failure."""
        self.transport.write(data, self.write_timeout_s)

    def close(self) -> None:
        self.transport.close()
