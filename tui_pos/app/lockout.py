"""Wrong PINs in a row lock a name out for a while: one count per data directory, shared by every
process (the till, the CLI, restore), checked and counted under a lock file."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from tui_pos.app.ports import Document, ExclusiveLock
from tui_pos.domain.auth import UNKNOWN_USER, LoginFailed, PinRefused, User, authenticate, find_user
from tui_pos.domain.errors import N_, DocumentFailed, NumberingBusy

LOCK_WAIT_S = 15.0  # longest wait for the lockout lock, held by another process for one PIN check


class PinLockout:
    """Wrong PINs in a row per name; after `attempts` of them the name is locked for `seconds`.

    Kept in a small durable document in the data directory, so neither a restart of the till
    nor a second process (the CLI's --pin) resets the count. Checking a PIN and counting it
    happen under held(), an flock every process shares: guessers in parallel processes get
    exactly `attempts` PIN checks between them, not one each per read of the count.

    document: where the count is kept; lock: the lock every process shares (bootstrap opens it on
    the data directory, bounded by LOCK_WAIT_S); None: this process alone counts (tests)."""

    def __init__(self, document: Document, attempts: int, seconds: int, lock: ExclusiveLock | None = None):
        self.document = document
        self.attempts = attempts
        self.seconds = seconds
        self._lock = lock

    @contextmanager
    def held(self) -> Iterator[None]:
        """Read the count, check the PIN and write the count back under this lock (held for one
        PIN check: a holder past LOCK_WAIT_S is stopped or stuck, and the PIN is refused)."""
        if self._lock is None:
            yield
            return
        try:
            with self._lock.held():
                yield
        except NumberingBusy as err:
            raise LoginFailed(f"the PIN cannot be checked now: {err}; {err.remedy}") from None

    def close(self) -> None:
        if self._lock is not None:
            self._lock.close()

    def _state(self) -> dict[str, Any]:
        saved = self.document.load()
        return saved or {}

    def _save(self, state: dict[str, Any]) -> None:
        try:
            self.document.save(state)
        except DocumentFailed:
            pass  # cannot count on this disk: the PIN check itself still works

    def verify(self, rows: Iterable[dict[str, Any]], name: str, pin: str, now: datetime) -> User:
        """The person with this name and PIN, the check and its count under held(): the one way
        every PIN is checked (logins, approvals, the CLI, a restore). PinRefused otherwise."""
        rows = list(rows)
        row = find_user(rows, name)
        who = row["name"] if row else UNKNOWN_USER  # any spelling of a name counts against its person
        with self.held():
            try:
                self.refuse_if_locked(who, now)
            except LoginFailed as locked:
                raise PinRefused(str(locked), who, None) from None
            try:
                user = authenticate(rows, name, pin)
            except LoginFailed as err:
                raise PinRefused(str(err), who, self.failed(who, now)) from None
            self.succeeded(user.name)
            return user

    def refuse_if_locked(self, name: str, now: datetime) -> None:
        entry = self._state().get(name.strip())
        if entry and entry.get("locked_until") and now < datetime.fromisoformat(entry["locked_until"]):
            minutes = max(1, int((datetime.fromisoformat(entry["locked_until"]) - now).total_seconds() + 59) // 60)
            raise LoginFailed(N_("{name} is locked after {attempts} wrong PINs: try again in {minutes} min or ask a manager"),
                              name=name.strip(), attempts=self.attempts, minutes=minutes)

    def failed(self, name: str, now: datetime) -> int:
        """Count a wrong PIN; return how many tries are left before the lockout (0: locked now)."""
        state = self._state()
        entry = state.get(name.strip()) or {"failures": 0}
        if entry.get("locked_until"):  # an expired lockout: start counting again
            entry = {"failures": 0}
        entry["failures"] += 1
        left = self.attempts - entry["failures"]
        if left <= 0:
            entry = {"failures": 0, "locked_until": (now + timedelta(seconds=self.seconds)).isoformat()}
        state[name.strip()] = entry
        self._save(state)
        return max(left, 0)

    def succeeded(self, name: str) -> None:
        state = self._state()
        if name in state:
            del state[name]
            self._save(state)
