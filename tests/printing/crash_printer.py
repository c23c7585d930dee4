"""Run by test_queue.py in a subprocess: print the waiting receipts to a printer that takes the
first 100 bytes and then hangs, so the test can SIGKILL this process in the middle of a receipt.

usage: python crash_printer.py DATA_DIR MARKER OUT
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from tui_pos.config import load_config
from tui_pos.printing.printer import Printer
from tui_pos.printing.queue import PrintQueue
from tui_pos.printing.transports import Transport


class HangsAfter100Bytes(Transport):
    def __init__(self, out: Path, marker: Path):
        self.out, self.marker = out, marker

    def open(self) -> None:
        pass

    def write_chunk(self, chunk: bytes, timeout_s: float) -> int:
        if chunk.startswith(b"\x10\x04"):
            return len(chunk)  # a status query: this printer never answers
        if self.out.exists() and self.out.stat().st_size >= 100:
            self.marker.write_text("mid-receipt")
            time.sleep(3600)  # the test kills us here
        with self.out.open("ab") as f:
            f.write(chunk[:100])
        return min(len(chunk), 100)


if __name__ == "__main__":
    data_dir, marker, out = (Path(a) for a in sys.argv[1:4])
    printer = Printer(HangsAfter100Bytes(out, marker), status_timeout_s=0.01)
    PrintQueue(load_config(data_dir), printer).run_once()
