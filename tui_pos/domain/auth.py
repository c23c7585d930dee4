"""Who someone is and what they may do: PIN hashes and checks, roles, manager approval.

PINs are stored only as a slow, salted scrypt hash. Approval is enforced here in the core, not
only in the UI: an operation that needs a manager raises ApprovalRequired until it is given an
Approval obtained with a manager's PIN (or the person logged in is a manager).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from tui_pos.domain.errors import N_, BadInput, PosError

Role = Literal["cashier", "manager"]
_N, _R, _P = 2**14, 8, 1


class LoginFailed(PosError):
    """Unknown user, disabled user or wrong PIN (one message for all: no user enumeration)."""


class ApprovalRequired(PosError):
    """The operation needs a manager; the UI asks for a manager PIN and calls again."""

    def __init__(self, action: str, message: str, /, **params: object):
        self.action = action
        super().__init__(message, **params)


class NameTaken(BadInput):
    """A user added under a name somebody has, in any case: names are never reused (the audit
    log names people; 'Demo' is demo)."""

    def __init__(self, taken: str):
        self.taken = taken
        super().__init__(N_("{name} already exists (names are never reused, in any case): use set-pin or enable"),
                         name=taken)


class NoSuchUser(BadInput):
    def __init__(self, name: str):
        self.name = name
        super().__init__(N_("there is no user {name}"), name=repr(name))


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


ROLES = ("cashier", "manager")
PIN_DIGITS = (4, 8)  # shortest and longest PIN
NAME_LENGTH = 32
RESERVED_NAMES = ("cli", "system", "hq")  # actors the audit log uses: the command line, replay, HQ's changes


def check_name(name: str) -> str:
    """A user name: letters (any script), digits, '.', '-', '_'; no spaces (it is typed at login)."""
    name = name.strip()
    if not name or len(name) > NAME_LENGTH or not all(c.isalnum() or c in "._-" for c in name):
        raise BadInput(N_("user name {name}: use 1-{most} letters, digits, '.', '-' or '_'"), name=repr(name),
                       most=NAME_LENGTH)
    if name.lower() in RESERVED_NAMES:
        raise BadInput(N_("{name} is reserved (the audit log uses it for the command line, replay and HQ)"),
                       name=repr(name))
    return name


def check_pin_format(pin: str) -> str:
    low, high = PIN_DIGITS
    if not (low <= len(pin) <= high and pin.isascii() and pin.isdigit()):
        raise BadInput(N_("a PIN is {low} to {high} digits"), low=low, high=high)
    return pin


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
        raise LoginFailed(N_("unknown user or wrong PIN"))
    return User(row["name"], row["role"])


UNKNOWN_USER = "(unknown user)"  # how a failed login with a name that is nobody's is counted and audited


class PinRefused(LoginFailed):
    """A PIN refused and counted: against `who` (the person, whatever the spelling, or
    UNKNOWN_USER: what was typed may be a PIN); `left` tries before a lockout, None when the
    name was already locked."""

    def __init__(self, message: str, who: str, left: int | None):
        super().__init__(message)
        self.who, self.left = who, left
