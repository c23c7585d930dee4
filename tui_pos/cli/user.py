"""`tui-pos user add|list|disable|enable|set-pin`: the people who use the till. Changes need a
manager (--manager NAME), except the first manager of a new shop."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from tui_pos.cli.base import emit, json_option, main
from tui_pos.cli.signin import manager_hint, operating_till, person_options, sign_in
from tui_pos.domain.columns import pad
from tui_pos.i18n import N_, _

ROLES = {"cashier": N_("cashier"), "manager": N_("manager")}  # as a list of users says them

if TYPE_CHECKING:
    from tui_pos.app.people import People, Person
    from tui_pos.domain.auth import Approval


def _people(ctx: click.Context) -> People:
    from tui_pos.app.people import People

    return People(operating_till(ctx, replay=False))


role_option = click.option("--role", type=click.Choice(["cashier", "manager"]), required=True,
                           help="A cashier sells; a manager also approves refunds, voids, overrides and user changes.")


def new_pin_option(what: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """--new-pin PIN, for scripts; without it the PIN is asked for (ask_new_pin)."""
    return click.option("--new-pin", metavar="PIN",
                        help=f"{what}, 4-8 digits (for scripts; otherwise asked for twice, hidden).")


def ask_new_pin(name: str, given: str | None) -> str:
    if given is not None:
        return given
    return click.prompt(f"New PIN for {name}", hide_input=True, confirmation_prompt=True, err=True)


def _change(ctx: click.Context, manager: str | None, pin: str | None, as_json: bool,
            change: Callable[[People, Approval | None], Person], done: str) -> None:
    """Check the manager's PIN, make the change, say what was done (done: a format of name and role)."""
    people = _people(ctx)
    approval = sign_in(people.till, "users", manager=manager, pin=pin, required="")
    with manager_hint():
        person = change(people, approval)
    emit(as_json, person.as_dict(), lambda: done.format(name=person.name, role=person.role))


@main.group()
def user() -> None:
    """People who use the till. Changes need --manager NAME (except the first manager of a new shop)."""


@user.command("list")
@json_option
@click.pass_context
def user_list(ctx: click.Context, as_json: bool) -> None:
    """Every user, with role and whether they can log in."""
    found = _people(ctx).everyone()
    disabled = "  " + _("(disabled)")
    emit(as_json, [p.as_dict() for p in found], lambda: "\n".join(
        f"{pad(p.name, 16)} {_(ROLES.get(p.role, p.role))}" + ("" if p.active else disabled) for p in found)
        or _("No users."))


@user.command("add")
@click.argument("name")
@role_option
@new_pin_option("The new user's PIN")
@person_options(cashier=False)
@json_option
@click.pass_context
def user_add(ctx: click.Context, name: str, role: str, new_pin: str | None, manager: str | None, pin: str | None,
             as_json: bool) -> None:
    """Add a cashier or a manager."""
    new_pin = ask_new_pin(name, new_pin)
    _change(ctx, manager, pin, as_json, lambda people, approval: people.add(name, role, new_pin, approval),
            "Added {role} {name}")


@user.command("set-pin")
@click.argument("name")
@new_pin_option("The new PIN")
@person_options(cashier=False)
@json_option
@click.pass_context
def user_set_pin(ctx: click.Context, name: str, new_pin: str | None, manager: str | None, pin: str | None,
                 as_json: bool) -> None:
    """Give NAME a new PIN (this also lifts a lockout after wrong PINs)."""
    new_pin = ask_new_pin(name, new_pin)
    _change(ctx, manager, pin, as_json, lambda people, approval: people.set_pin(name, new_pin, approval),
            "New PIN set for {name}")


def _set_active_command(active: bool, help_text: str) -> None:
    """Register `user enable` or `user disable`."""

    @user.command("enable" if active else "disable", help=help_text)
    @click.argument("name")
    @person_options(cashier=False)
    @json_option
    @click.pass_context
    def command(ctx: click.Context, name: str, manager: str | None, pin: str | None, as_json: bool) -> None:
        _change(ctx, manager, pin, as_json, lambda people, approval: people.set_active(name, active, approval),
                "{name} " + ("enabled" if active else "disabled"))


_set_active_command(False, "NAME can no longer log in (the name stays in the records; the last active manager stays).")
_set_active_command(True, "NAME can log in again.")
