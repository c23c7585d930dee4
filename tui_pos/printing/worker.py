"""The print worker: the one thread of a running till that owns the printer.

It sleeps on an event; wake() (after each sale) or poll_s (1 s) wakes it. Each round it
recovers interrupted jobs, probes the printer (the status line changes within poll_s +
status timeout of a fault: well inside 2 s) and prints whatever waits, if the printer can
take it. So receipts resume by themselves when the printer comes back.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from tui_pos.printing.queue import WORKER_LOCK_NAME, PrinterLock, PrintQueue, PrintResult
from tui_pos.printing.status import PrinterStatus

log = logging.getLogger("tui_pos.printing")


@dataclass(frozen=True)
class WorkerState:
    """What the UI's status line shows."""

    status: PrinterStatus
    unprinted: int  # paid sales without a receipt
    last: PrintResult | None = None  # the latest attempt


class PrintWorker:
    def __init__(self, queue: PrintQueue, poll_s: float = 1.0,
                 on_change: Callable[[WorkerState], None] | None = None):
        self.queue = queue
        self.poll_s = poll_s
        self.on_change = on_change
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tui-pos-printer", daemon=True)
        self._presence = PrinterLock(queue.config.data_dir / WORKER_LOCK_NAME)  # "a till is running"
        self.state = WorkerState(PrinterStatus(available=False, error="starting",
                                               configured=queue.printer.configured), 0)

    def start(self) -> None:
        self._presence = PrinterLock(self.queue.config.data_dir / WORKER_LOCK_NAME)
        if not self._presence.acquire(0):
            log.warning("print worker: another till's worker runs on this data directory")
        self._thread.start()

    def wake(self) -> None:
        """A sale was paid (or the cashier asked): look at the queue now."""
        self._wake.set()

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stopping.set()
        self._wake.set()
        self._thread.join(timeout=timeout_s)
        self.queue.close()
        self._presence.release()

    def open_drawer(self) -> tuple[bool, str]:
        """A manager-approved "no sale" (approval and audit are the caller's): waits for a
        receipt being printed, at most 2 s."""
        return self.queue.open_drawer()

    def run_round(self) -> WorkerState:
        """One round (the thread's body; tests call it directly)."""
        last = self.state.last
        if self.queue.printer.configured:
            results = self.queue.run_once()
            if results:
                last = results[-1]
            fresh = self.queue.printer.clock() - self.queue.printer.probed_at < self.poll_s / 2
            if not fresh:  # run_once probes only when there is work: keep the status line fresh
                with self.queue.lock.held(0) as got:
                    if got:
                        self.queue.printer.probe()
        try:
            unprinted = len(self.queue.unprinted(tenders=False))
        except Exception:  # noqa: BLE001 - the status line must survive a storage failure
            log.exception("print worker: cannot count unprinted receipts")
            unprinted = self.state.unprinted
        state = WorkerState(self.queue.printer.last_status, unprinted, last)
        if state != self.state:
            self.state = state
            if self.on_change is not None:
                self.on_change(state)
        return state

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self.run_round()
            except Exception:  # noqa: BLE001 - the worker must outlive any one failure
                log.exception("print worker round failed")
            # with no printer nothing changes until the next sale: sleep until woken (idle CPU)
            self._wake.wait(self.poll_s if self.queue.printer.configured else None)
            self._wake.clear()
