"""Named crash points on the durable path, for the crash tests.

A test installs a hook (set_hook) that raises or kills at a named point; a real process is
killed there with SIGKILL when TUI_POS_CRASH_AT names the point, or stops itself there with
SIGSTOP (as Ctrl-Z would; the test sends signals, then SIGCONT) when TUI_POS_STOP_AT names it.
With neither, each point costs one global lookup.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable

POINTS = (
    "journal_before_append",  # the sale is about to be journaled
    "journal_after_append",  # journaled and fsync'd, not yet acknowledged
    "sqlite_before_commit",  # rows written, COMMIT not yet issued
    "sqlite_after_commit",  # COMMIT returned, not yet acknowledged
    "replay_before_commit",  # replayed rows written, COMMIT not yet issued
    "replay_after_commit",  # replay committed, journal files not yet retired
)
SYNC_POINTS = (  # the till's push to HQ (sync/push.py): nothing is kept at the till, HQ keeps the mark
    "push_before_send",  # a batch read from the store, not yet sent to HQ
    "push_after_send",  # HQ committed the batch and answered, the till not yet done with it
)
OTHER_POINTS = (
    *SYNC_POINTS,
    "catalog_after_commit",  # a catalog import committed, the command not yet finished
    "user_before_audit",  # a user's row written, its audit entries not yet (one transaction: both or neither)
    *("payment_before_attempt",  # a code payment checked, its attempt not yet committed (nothing charged)
      "payment_after_attempt",  # the attempt durable, the gateway not yet called
      "payment_after_call",  # the gateway answered, its outcome not yet committed
      "payment_after_outcome"),  # the outcome durable, the tender not yet on the sale
)
PAYMENT_POINTS = OTHER_POINTS[-4:]

_hook: Callable[[str], None] | None = None


def set_hook(hook: Callable[[str], None] | None) -> None:
    global _hook
    _hook = hook


def crash_point(name: str) -> None:
    if _hook is not None:
        _hook(name)


def _kill_at(target: str) -> Callable[[str], None]:
    def hook(name: str) -> None:
        if name == target:
            os.kill(os.getpid(), signal.SIGKILL)

    return hook


def _stop_at(target: str) -> Callable[[str], None]:
    def hook(name: str) -> None:
        if name == target:
            os.kill(os.getpid(), signal.SIGSTOP)

    return hook


if os.environ.get("TUI_POS_CRASH_AT") in POINTS + OTHER_POINTS:
    set_hook(_kill_at(os.environ["TUI_POS_CRASH_AT"]))
elif os.environ.get("TUI_POS_STOP_AT") in POINTS + OTHER_POINTS:
    set_hook(_stop_at(os.environ["TUI_POS_STOP_AT"]))
