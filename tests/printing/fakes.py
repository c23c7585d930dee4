"""An in-memory ESC/POS printer with the faults of a real one, for the queue tests, plus helpers
that read the print_job table with our own sqlite3 connection (never through the code under test),
and a shop's config printing to a given connection."""

from __future__ import annotations

import dataclasses
import errno
import sqlite3
import time
from contextlib import closing
from pathlib import Path

from conftest import set_config
from tui_pos.config import Config, load_config
from tui_pos.printing.transports import PrinterUnavailable, Transport

from .escpos_decode import decode
from .usb_emulator.status_bytes import status_byte


class FakePrinter(Transport):
    """Everything written lands in `received`, status queries (DLE EOT 1/2/4) are answered like
    a real printer (shared/reference fakeprinter.py's status bytes). Knobs:
    present (unplugged), busy (another program has it), online, cover_open, paper ok/near_end/out,
    answers (False: never answers status), fail_after (the printer stops taking data after this
    many bytes in total: the write times out), paper_out_after (the paper runs out once this many
    bytes arrived; the printer keeps taking data into its buffer)."""

    description = "fake printer"

    def __init__(self) -> None:
        self.received = bytearray()
        self.present = True
        self.busy = False
        self.online = True
        self.cover_open = False
        self.paper = "ok"
        self.answers = True
        self.fail_after: int | None = None
        self.paper_out_after: int | None = None
        self.opens = 0
        self.waits: list[float] = []  # timeouts of reads that waited for an answer (not drains)
        self.is_open = False
        self._tx = bytearray()

    def __setattr__(self, name: str, value: object) -> None:
        if name == "busy" and value:
            object.__setattr__(self, "is_open", False)  # another program took the interface from us
        object.__setattr__(self, name, value)

    def open(self) -> None:
        if self.is_open:
            return
        if not self.present:
            raise PrinterUnavailable("no USB printer 0416:5011 (unplugged or switched off?)")
        if self.busy:
            raise PrinterUnavailable("USB printer 0416:5011: busy (in use by another program)", busy=True)
        self.is_open = True
        self.opens += 1

    def close(self) -> None:
        self.is_open = False

    def _status(self, n: int) -> int:
        return status_byte(n, self.online, self.cover_open, self.paper)

    def write_chunk(self, chunk: bytes, timeout_s: float) -> int:
        if not self.present:
            raise OSError(errno.ENODEV, "No such device")
        if self.fail_after is not None and len(self.received) + len(chunk) > self.fail_after:
            self.received += chunk[:max(self.fail_after - len(self.received), 0)]
            raise TimeoutError(errno.ETIMEDOUT, "Operation timed out")
        self.received += chunk
        if self.paper_out_after is not None and len(self.received) >= self.paper_out_after:
            self.paper = "out"
        if self.answers:
            i = 0
            while (i := chunk.find(b"\x10\x04", i)) >= 0 and i + 2 < len(chunk):
                self._tx.append(self._status(chunk[i + 2]))
                i += 3
        return len(chunk)

    def read(self, size: int, timeout_s: float) -> bytes:
        if not self._tx:  # like a real read: nothing to read costs the whole timeout
            if timeout_s > 0.02:
                self.waits.append(timeout_s)
            time.sleep(timeout_s)
        out, self._tx[:] = bytes(self._tx[:size]), self._tx[size:]
        return out

    # -- what came out ------------------------------------------------------------------------
    def receipts(self) -> list[tuple[str, bool]]:
        """(receipt number, is a copy) for every receipt that reached the printer, whole or not."""
        return printed_receipts(bytes(self.received))


def printed_receipts(data: bytes) -> list[tuple[str, bool]]:
    """Receipt numbers found in raw printer bytes, in order, with whether each was a COPY.
    Every job starts with ESC @; a receipt cut short still counts once its number line arrived."""
    found: list[tuple[str, bool]] = []
    for job in data.split(b"\x1b@")[1:]:
        texts = _decode_prefix(b"\x1b@" + job)
        copy = "*** COPY ***" in texts
        found += [(t.split()[-1], copy) for t in texts if t.startswith("Receipt ")]
    return found


def _decode_prefix(data: bytes) -> list[str]:
    """Decode a job that may stop in the middle of a command (a write cut short)."""
    for end in range(len(data), max(len(data) - 16, 0), -1):
        try:
            return decode(data[:end]).texts
        except IndexError:
            continue
    return []


def job_rows(db_path: Path, uuid: str) -> list[tuple[str, str, int]]:
    """(kind, state, attempts) of every print job of a sale, oldest first."""
    with closing(sqlite3.connect(db_path)) as conn:
        return [(k, s, a or 0) for k, s, a in conn.execute(
            "SELECT kind, state, attempts FROM print_job WHERE sale_uuid = ? ORDER BY id", (uuid,))]


def receipt_state(db_path: Path, uuid: str) -> str | None:
    rows = [state for kind, state, _ in job_rows(db_path, uuid) if kind == "receipt"]
    return rows[0] if rows else None


def config_printing_to(shop_dir: Path, connection: str) -> Config:
    """The shop's config printing to this connection, with short timeouts: a printer that does not answer fails fast."""
    set_config(shop_dir, "printer", "connection", f'"{connection}"')
    config = load_config(shop_dir)
    return dataclasses.replace(config, printer=dataclasses.replace(config.printer, write_timeout_ms=500,
                                                                   status_timeout_ms=100))
