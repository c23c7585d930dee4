"""Who may use the till: adding people, disabling them, changing PINs (`tui-pos user ...`).

Every change needs a manager (an Approval for action "users", or a manager logged in), except
while the shop has no active manager at all: that is a new shop, and its first manager is added
this way. Each change is audited under whoever made it, and the shop snapshot beside the journal
is refreshed, so that logging in keeps working (with the new PIN) when the database cannot be read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tui_pos.core.errors import BadInput, StorageError
from tui_pos.core.shop import refresh_snapshot, storage_errors
from tui_pos.core.till import Till
from tui_pos.core.users import Approval, hash_pin
from tui_pos.store import db
from tui_pos.store.audit import event_record
from tui_pos.store.ledger import StorageFailed

ROLES = ("cashier", "manager")
PIN_DIGITS = (4, 8)  # shortest and longest PIN
NAME_LENGTH = 32
RESERVED_NAMES = ("cli", "system")  # actors the audit log already uses for the command line and replay


@dataclass(frozen=True)
class Person:
    name: str
    role: str
    active: bool

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "role": self.role, "active": self.active}


def check_name(name: str) -> str:
    """A user name: letters (any script), digits, '.', '-', '_'; no spaces (it is typed at login)."""
    name = name.strip()
    if not name or len(name) > NAME_LENGTH or not all(c.isalnum() or c in "._-" for c in name):
        raise BadInput(f"user name {name!r}: use 1-{NAME_LENGTH} letters, digits, '.', '-' or '_'")
    if name.lower() in RESERVED_NAMES:
        raise BadInput(f"{name!r} is reserved (the audit log uses it for the command line and replay)")
    return name


def check_pin_format(pin: str) -> str:
    low, high = PIN_DIGITS
    if not (low <= len(pin) <= high and pin.isascii() and pin.isdigit()):
        raise BadInput(f"a PIN is {low} to {high} digits")
    return pin


class People:
    """The users of one shop, administered through a Till (its approvals, ledger and audit)."""

    def __init__(self, till: Till):
        self.till = till

    def _rows(self) -> list[dict[str, Any]]:
        rows = self.till.ledger.users()
        if rows is None:
            raise StorageError("the database cannot be read: people can be listed or changed only when it can")
        return rows

    def everyone(self) -> list[Person]:
        return sorted((Person(r["name"], r["role"], bool(r["active"])) for r in self._rows()), key=lambda p: p.name)

    def _find(self, name: str) -> Person:
        found = next((p for p in self.everyone() if p.name == name.strip()), None)
        if found is None:
            raise BadInput(f"there is no user {name.strip()!r}")
        return found

    def add(self, name: str, role: str, pin: str, approval: Approval | None = None) -> Person:
        name, pin = check_name(name), check_pin_format(pin)
        if role not in ROLES:
            raise BadInput(f"role {role!r}: use {' or '.join(ROLES)}")
        manager = self._approve(approval, f"adding {name}")
        with storage_errors():
            added = db.insert_user(self.till.ledger.connection(), name, role, hash_pin(pin))
        if not added:
            raise BadInput(f"{name} already exists (names are never reused): use set-pin or enable")
        return self._changed("user_add", Person(name, role, True), manager, {"role": role})

    def set_pin(self, name: str, pin: str, approval: Approval | None = None) -> Person:
        """A new PIN; it also lifts a lockout after wrong PINs."""
        person, pin = self._find(name), check_pin_format(pin)
        manager = self._approve(approval, f"changing the PIN of {person.name}")
        self._update(person.name, "pin_hash", hash_pin(pin))
        self.till.lockout.succeeded(person.name)
        return self._changed("user_set_pin", person, manager)

    def set_active(self, name: str, active: bool, approval: Approval | None = None) -> Person:
        """Enable or disable a user (disabled users cannot log in; their name stays in the records)."""
        person = self._find(name)
        if person.active == active:
            raise BadInput(f"{person.name} is already {'enabled' if active else 'disabled'}")
        if not active and person.role == "manager" and person.active and \
                not any(p.active and p.role == "manager" and p.name != person.name for p in self.everyone()):
            raise BadInput(f"{person.name} is the last active manager: add or enable another manager first")
        manager = self._approve(approval, f"{'enabling' if active else 'disabling'} {person.name}")
        self._update(person.name, "active", int(active))
        return self._changed("user_enable" if active else "user_disable", Person(person.name, person.role, active),
                             manager)

    def _approve(self, approval: Approval | None, what: str) -> str | None:
        """The approving manager; None while the shop has no active manager (a new shop)."""
        if not any(p.active and p.role == "manager" for p in self.everyone()):
            return None
        return self.till.require_manager(approval, "users", f"{what} needs a manager")

    def _update(self, name: str, column: str, value: Any) -> None:
        with storage_errors():
            if not db.update_user(self.till.ledger.connection(), name, column, value):
                raise BadInput(f"there is no user {name!r}")

    def _changed(self, action: str, person: Person, manager: str | None, detail: dict[str, Any] | None = None) -> Person:
        """Audit the change and refresh the snapshot used for logging in without the database."""
        till = self.till
        record = event_record(till.config.till_id, action, till.cashier or None, subject=person.name,
                              approved_by=manager, detail=detail, at=till.clock())
        try:
            till.ledger.commit(record)
        except StorageFailed as err:
            raise StorageError(f"{person.name} was changed, but the change could not be audited ({err})") from None
        refresh_snapshot(till.config, till.ledger)
        return person
