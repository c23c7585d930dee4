"""The chain's users at HQ (`tui-pos hq user add|set-pin|disable|enable|list`, an administrator's
connection): one name, one PIN and one switch for every till of every shop.

Names and PINs follow the till's own rules (domain.auth: check_name, check_pin_format; names are
one person whatever their case); HQ keeps only the PIN's scrypt hash, the one the tills check.
Each change takes the next catalog version and reaches every till at its next pull.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tui_pos.domain.auth import ROLES, NameTaken, NoSuchUser, check_name, check_pin_format, hash_pin
from tui_pos.domain.errors import N_, BadInput
from tui_pos.hq.catalog import catalog_version
from tui_pos.hq.schema import check_current

if TYPE_CHECKING:
    import psycopg

_PERSON = "name, role, active"  # what a change returns of the user it changed


def list_users(conn: psycopg.Connection[Any]) -> list[dict[str, Any]]:
    check_current(conn)
    return [{"name": name, "role": role, "active": active, "version": version}
            for name, role, active, version in conn.execute(
                "SELECT name, role, active, version FROM hq.person ORDER BY name")]


def add_user(conn: psycopg.Connection[Any], name: str, role: str, pin: str) -> dict[str, Any]:
    """A new user of every till; NameTaken when the name is somebody's, in any case."""
    name, pin = check_name(name), check_pin_format(pin)
    if role not in ROLES:
        raise BadInput(N_("role {role}: use {roles}"), role=repr(role), roles=" or ".join(ROLES))
    check_current(conn)
    with conn.transaction():
        conn.execute("LOCK TABLE hq.person IN SHARE ROW EXCLUSIVE MODE")  # one name check at a time
        taken = conn.execute("SELECT name FROM hq.person WHERE lower(name) = lower(%s)", (name,)).fetchone()
        if taken is not None:
            raise NameTaken(taken[0])
        return _changed(conn, conn.execute("INSERT INTO hq.person (name, role, pin_hash) VALUES (%s, %s, %s) "
                                           f"RETURNING {_PERSON}", (name, role, hash_pin(pin))).fetchone())


def set_pin(conn: psycopg.Connection[Any], name: str, pin: str) -> dict[str, Any]:
    pin = check_pin_format(pin)
    check_current(conn)
    with conn.transaction():
        held, _role, _active = _find(conn, name)
        return _changed(conn, conn.execute(f"UPDATE hq.person SET pin_hash = %s WHERE name = %s RETURNING {_PERSON}",
                                           (hash_pin(pin), held)).fetchone())


def set_active(conn: psycopg.Connection[Any], name: str, active: bool) -> dict[str, Any]:
    """Enable or disable a user at every till (the chain's last active manager stays)."""
    check_current(conn)
    with conn.transaction():
        conn.execute("LOCK TABLE hq.person IN SHARE ROW EXCLUSIVE MODE")  # the last-manager check holds
        held, role, is_active = _find(conn, name)
        if is_active == active:
            raise BadInput(N_("{name} is already enabled") if active else N_("{name} is already disabled"), name=held)
        others = conn.execute("SELECT count(*) FROM hq.person WHERE active AND role = 'manager' AND name <> %s",
                              (held,)).fetchone()
        if not active and role == "manager" and others == (0,):
            raise BadInput(N_("{name} is the chain's last active manager: add or enable another manager first"), name=held)
        return _changed(conn, conn.execute(f"UPDATE hq.person SET active = %s WHERE name = %s RETURNING {_PERSON}",
                                           (active, held)).fetchone())


def _find(conn: psycopg.Connection[Any], name: str) -> tuple[str, str, bool]:
    """The user a typed name means (any case): name, role, active; NoSuchUser."""
    row = conn.execute("SELECT name, role, active FROM hq.person WHERE name = %s OR lower(name) = lower(%s) "
                       "ORDER BY name = %s DESC LIMIT 1", (name.strip(), name.strip(), name.strip())).fetchone()
    if row is None:
        raise NoSuchUser(name.strip())
    return str(row[0]), str(row[1]), bool(row[2])


def _changed(conn: psycopg.Connection[Any], row: tuple[Any, ...] | None) -> dict[str, Any]:
    """The user as the statement that changed them returned it (RETURNING _PERSON), and the version."""
    assert row is not None
    return {"name": row[0], "role": row[1], "active": row[2], "version": catalog_version(conn)}
