"""People at the till: PIN checks, roles, and manager approval.

PINs are stored only as a slow, salted scrypt hash. Approval is enforced here in the core, not
only in the UI: an operation that needs a manager raises ApprovalRequired until it is given an
Approval obtained with a manager's PIN (or the person logged in is a manager).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Literal

if TYPE_CHECKING:
    from tui_pos.store.documents import DurableDocument

from tui_pos.core.errors import PosError

Role = Literal["cashier", "manager"]
LOCK_WAIT_S = 15.0  # longest wait for the lockout lock, held by another process for one PIN check
_N, _R, _P = 2**14, 8, 1


class LoginFailed(PosError):
    """Unknown user, disabled user or wrong PIN (one message for all: no user enumeration)."""


class ApprovalRequired(PosError):
    """The operation needs a manager; the UI asks for a manager PIN and calls again."""

    def __init__(self, action: str, message: str):
        self.action = action
        super().__init__(message)


@dataclass(frozen=True)
class User:
    name: str
    role: Role

    @property
    def is_manager(self) -> bool:
        return self.role == "manager"


@dataclass(frozen=True)
class Approval:
    """A manager's approval of one kind of action (e.g. 'discount', 'price_override').

    token is random and known only to the Till that issued it, so an Approval built by any
    other code is refused: the core enforces approval, it does not trust its callers."""

    manager: str
    action: str
    reason: str = ""  # the reason code given with it (audited with the operation)
    token: str = field(default_factory=lambda: secrets.token_hex(16), repr=False, compare=False)


def hash_pin(pin: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(pin.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return f"scrypt${_N}${_R}${_P}${salt.hex()}${digest.hex()}"


def verify_pin(pin: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        candidate = hashlib.scrypt(pin.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p), dklen=32)
    except ValueError:
        return False
    return hmac.compare_digest(candidate.hex(), digest)


def find_user(rows: Iterable[dict[str, Any]], name: str) -> dict[str, Any] | None:
    """The user a typed name means: names are one person whatever their case ('Demo' is demo).
    An exact match wins (shops from before this rule may hold 'Demo' beside 'demo': doctor
    names them); a name that matches several only by case is nobody's, never a guess."""
    rows = list(rows)
    typed = name.strip()
    exact = next((r for r in rows if r["name"] == typed), None)
    if exact is not None or not typed:
        return exact
    matches = [r for r in rows if r["name"].casefold() == typed.casefold()]
    return matches[0] if len(matches) == 1 else None


def authenticate(rows: Iterable[dict[str, Any]], name: str, pin: str) -> User:
    """The user with this name and PIN, or LoginFailed. Always hashes once, found or not."""
    row = find_user(rows, name)
    stored = row["pin_hash"] if row else hash_pin("not-a-user")
    if not verify_pin(pin, stored) or row is None or not row["active"]:
        raise LoginFailed("unknown user or wrong PIN")
    return User(row["name"], row["role"])


UNKNOWN_USER = "(unknown user)"  # how a failed login with a name that is nobody's is counted and audited


class PinRefused(LoginFailed):
    """A PIN refused and counted: against `who` (the person, whatever the spelling, or
    UNKNOWN_USER: what was typed may be a PIN); `left` tries before a lockout, None when the
    name was already locked."""

    def __init__(self, message: str, who: str, left: int | None):
        super().__init__(message)
        self.who, self.left = who, left


class PinLockout:
    """Wrong PINs in a row per name; after `attempts` of them the name is locked for `seconds`.

    Kept in a small durable document in the data directory, so neither a restart of the till
    nor a second process (the CLI's --pin) resets the count. Checking a PIN and counting it
    happen under held(), an flock every process shares: guessers in parallel processes get
    exactly `attempts` PIN checks between them, not one each per read of the count."""

    def __init__(self, document: DurableDocument, attempts: int, seconds: int, lock_path: Path | None = None):
        from tui_pos.store.sequence import SequenceLock

        self.document = document
        self.attempts = attempts
        self.seconds = seconds
        self._lock = SequenceLock(lock_path, wait_s=LOCK_WAIT_S, what="the PIN check") if lock_path is not None else None

    @contextmanager
    def held(self) -> Iterator[None]:
        """Read the count, check the PIN and write the count back under this lock (held for one
        PIN check: a holder past LOCK_WAIT_S is stopped or stuck, and the PIN is refused)."""
        from tui_pos.store.sequence import NumberingBusy

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
        from tui_pos.store.documents import DocumentFailed

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
            raise LoginFailed(f"{name.strip()} is locked after {self.attempts} wrong PINs: try again in {minutes} min "
                              "or ask a manager")

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
