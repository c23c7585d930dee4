"""The data directory's PIN lockout, built in one place for every process that checks a PIN (the
till and the CLI through bootstrap, restore through ops): one count, one lock file."""

from __future__ import annotations

from tui_pos.app.lockout import LOCK_WAIT_S, PinLockout
from tui_pos.app.till import LOCKOUT_DOCUMENT, LOCKOUT_LOCK
from tui_pos.config import Config
from tui_pos.store.documents import DurableDocument
from tui_pos.store.sequence import SequenceLock


def pin_lockout(config: Config) -> PinLockout:
    """The data directory's PIN lockout: one count for every process (the till, the CLI, restore)."""
    return PinLockout(DurableDocument(LOCKOUT_DOCUMENT, [config.data_dir]), config.pin_attempts, config.pin_lockout_s,
                      SequenceLock(config.data_dir / LOCKOUT_LOCK, wait_s=LOCK_WAIT_S, what="the PIN check"))
