"""Background replay while degraded: a thread that sleeps on an event, never polls busily.

It wakes when a sale is journaled (or at start if the journal has a backlog), then retries the
replay every interval until the database has taken everything, and goes back to sleep.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from tui_pos.domain.storage import ReplayResult
from tui_pos.store.ledger import Ledger


class BackgroundReplay:
    def __init__(self, ledger: Ledger, interval_s: float, on_result: Callable[[ReplayResult], None] | None = None):
        self.ledger = ledger
        self.interval_s = interval_s
        self.on_result = on_result
        self._degraded = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tui-pos-replay", daemon=True)

    def start(self) -> None:
        if self.ledger.state().mode != "ok":
            self._degraded.set()
        self._thread.start()

    def wake(self) -> None:
        """A sale went to the journal: start retrying the database."""
        self._degraded.set()

    def stop(self) -> None:
        self._stopping.set()
        self._degraded.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while True:
            self._degraded.wait()  # asleep while storage is healthy
            if self._stopping.wait(self.interval_s):
                return
            result = self.ledger.replay()
            if self.on_result is not None:
                self.on_result(result)
            if not result.error and self.ledger.state().mode == "ok":
                self._degraded.clear()
