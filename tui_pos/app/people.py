"""Who may use the till: adding people, disabling them, changing PINs (`tui-pos user ...`).

Every change needs a manager (an Approval for action "users", or a manager logged in), except
while the shop has no active manager at all: that is a new shop, and its first manager is added
this way (nothing else). Names are one person whatever their case ('Demo' is demo). Each change
is one record (UserChanged: the change and its audit facts, under whoever made it), stored with
its audit entry in one transaction; then the shop snapshot beside the journal is refreshed, so
that logging in keeps working (with the new PIN) when the database cannot be read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tui_pos.app.snapshot import refresh_snapshot
from tui_pos.app.till import Till
from tui_pos.domain.auth import ROLES, Approval, check_name, check_pin_format, find_user, hash_pin
from tui_pos.domain.errors import N_, BadInput, StorageError
from tui_pos.domain.records import UserAction, UserChanged


@dataclass(frozen=True)
class Person:
    name: str
    role: str
    active: bool

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "role": self.role, "active": self.active}


# a change of a person -> what it needs said (marked templates, filled with the person's name):
# a manager's approval, and (a shop with no manager yet) adding a manager first
_REFUSALS = {
    "add": (N_("adding {name} needs a manager"),
            N_("adding {name}: this shop has no manager yet; add one first (tui-pos user add NAME --role manager)")),
    "set_pin": (N_("changing the PIN of {name} needs a manager"),
                N_("changing the PIN of {name}: this shop has no manager yet; add one first "
                   "(tui-pos user add NAME --role manager)")),
    "enable": (N_("enabling {name} needs a manager"),
               N_("enabling {name}: this shop has no manager yet; add one first (tui-pos user add NAME --role manager)")),
    "disable": (N_("disabling {name} needs a manager"),
                N_("disabling {name}: this shop has no manager yet; add one first (tui-pos user add NAME --role manager)")),
}


class People:
    """The users of one shop, administered through a Till (its approvals, ledger and audit)."""

    def __init__(self, till: Till):
        self.till = till

    def _rows(self) -> list[dict[str, Any]]:
        rows = self.till.ledger.users()
        if rows is None:
            raise StorageError(N_("the database cannot be read: people can be listed or changed only when it can"))
        return rows

    def everyone(self) -> list[Person]:
        return sorted((Person(r["name"], r["role"], bool(r["active"])) for r in self._rows()), key=lambda p: p.name)

    def _find(self, name: str) -> Person:
        row = find_user(self._rows(), name)
        if row is None:
            raise BadInput(N_("there is no user {name!r}"), name=name.strip())
        return Person(row["name"], row["role"], bool(row["active"]))

    def add(self, name: str, role: str, pin: str, approval: Approval | None = None) -> Person:
        name, pin = check_name(name), check_pin_format(pin)
        if role not in ROLES:
            raise BadInput(N_("role {role!r}: use {roles}"), role=role, roles=" or ".join(ROLES))
        manager = self._approve(approval, "add", name, adding_a_manager=role == "manager")
        return self._change(self._record("user_add", name, manager, role=role, pin_hash=hash_pin(pin)),
                            Person(name, role, True))

    def set_pin(self, name: str, pin: str, approval: Approval | None = None) -> Person:
        """A new PIN; it also lifts a lockout after wrong PINs."""
        person, pin = self._find(name), check_pin_format(pin)
        manager = self._approve(approval, "set_pin", person.name)
        changed = self._change(self._record("user_set_pin", person.name, manager, pin_hash=hash_pin(pin)), person)
        self.till.lockout.succeeded(person.name)
        return changed

    def set_active(self, name: str, active: bool, approval: Approval | None = None) -> Person:
        """Enable or disable a user (disabled users cannot log in; their name stays in the records)."""
        person = self._find(name)
        if person.active == active:
            raise BadInput(N_("{name} is already enabled") if active else N_("{name} is already disabled"), name=person.name)
        if not active and person.role == "manager" and person.active and \
                not any(p.active and p.role == "manager" and p.name != person.name for p in self.everyone()):
            raise BadInput(N_("{name} is the last active manager: add or enable another manager first"), name=person.name)
        manager = self._approve(approval, "enable" if active else "disable", person.name)
        return self._change(self._record("user_enable" if active else "user_disable", person.name, manager),
                            Person(person.name, person.role, active))

    def _approve(self, approval: Approval | None, change: str, name: str, adding_a_manager: bool = False) -> str | None:
        """The approving manager; None while the shop has no active manager (a new shop) and the
        change is adding one: the only change nobody has to approve. change: a key of _REFUSALS."""
        needs, no_manager = _REFUSALS[change]
        if not any(p.active and p.role == "manager" for p in self.everyone()):
            if adding_a_manager:
                return None
            raise BadInput(no_manager, name=name)
        return self.till.require_manager(approval, "users", needs, name=name)

    def _record(self, action: UserAction, name: str, manager: str | None, *, role: str | None = None,
                pin_hash: str | None = None) -> UserChanged:
        till = self.till
        return UserChanged.new(till.config.till_id, action, name, actor=till.cashier or None, approved_by=manager,
                               at=till.clock(), role=role, pin_hash=pin_hash)

    def _change(self, change: UserChanged, person: Person) -> Person:
        """The change and its audit entry: one record, one transaction (NameTaken, NoSuchUser or
        StorageError: nothing changed); then the snapshot used for logging in without the database."""
        self.till.ledger.change_shop([change.to_record()])
        refresh_snapshot(self.till.session.snapshot, self.till.ledger)
        return person
