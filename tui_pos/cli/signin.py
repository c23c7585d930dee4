"""Who does a till operation from the command line: the --cashier / --manager / --pin options of
the commands that move money or change rights, shared by every command group.

Who acts: with --cashier NAME, that person (PIN checked); with --manager NAME, that manager, who
also approves whatever needs a manager (a manager named either way is a manager); with neither,
the person in $TUI_POS_USER. A command that moves money needs somebody: there is no anonymous
actor. One person per command, so one PIN: asked for with hidden input, else $TUI_POS_PIN (only
for the person in $TUI_POS_USER) or --pin. Wrong PINs count toward the same lockout as at the till.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, TypeVar

import click

from tui_pos.cli.base import open_till
from tui_pos.domain.auth import Approval, ApprovalRequired, User
from tui_pos.domain.errors import N_, BadInput

if TYPE_CHECKING:
    from tui_pos.app.till import Till

CLI_ACTOR = "cli"  # the audit log's actor for what needs nobody (setting up a new shop)
USER_ENV, PIN_ENV = "TUI_POS_USER", "TUI_POS_PIN"  # who a script is, and their PIN (see the README)
F = TypeVar("F", bound=Callable[..., object])


def person_options(cashier: bool = True, manager: bool = True) -> Callable[[F], F]:
    """--cashier NAME and/or --manager NAME, and --pin for the one named."""
    def decorate(func: F) -> F:
        func = click.option("--pin", metavar="PIN", help=f"PIN of the person named (for scripts, better ${PIN_ENV}; "
                                                          "otherwise asked for, hidden).")(func)
        if manager:
            func = click.option("--manager", metavar="NAME", help="The manager who approves, and does, this.")(func)
        if cashier:
            func = click.option("--cashier", metavar="NAME",
                                help=f"Who does this (PIN checked); default: ${USER_ENV}.")(func)
        return func
    return decorate


def operating_till(ctx: click.Context, replay: bool = True) -> Till:
    """A till for one command: acting as nobody until sign_in, leaving the till UI's sale in
    progress alone; replay=False where journaled records need not reach the database first."""
    return open_till(ctx, cashier=CLI_ACTOR, replay=replay, keep_cart=False)


def _typed_name(option: str, name: str) -> str:
    """A name as typed: one line of letters, digits, '.', '-', '_' (no user can have another)."""
    typed = name.strip()
    if not typed or not all(c.isalnum() or c in "._-" for c in typed):
        raise BadInput(N_("{option} {name} is not a user name (letters, digits, '.', '-' or '_')"), option=option,
                       name=repr(name))
    return typed


def pin_for(name: str) -> str:
    """$TUI_POS_PIN when the person is $TUI_POS_USER; else asked for (hidden)."""
    env_user, env_pin = os.environ.get(USER_ENV, ""), os.environ.get(PIN_ENV)
    if env_pin is not None and env_user.strip() and env_user.strip().casefold() == name.casefold():
        return env_pin
    missing = BadInput(N_("{name}'s PIN is needed: type it when asked, or (scripts) set ${user_env} and ${pin_env}, "
                          "or give --pin"), name=name, user_env=USER_ENV, pin_env=PIN_ENV)
    try:
        if sys.stdin is None or not sys.stdin.isatty():  # a script pipes it in (one line), or gives nothing
            line = sys.stdin.readline() if sys.stdin is not None else ""
            if not line:
                raise missing
            return line.rstrip("\r\n")
        return click.prompt(f"PIN for {name}", hide_input=True, err=True)
    except (click.exceptions.Abort, OSError, ValueError):
        raise missing from None


def sign_in(till: Till, action: str, *, cashier: str | None = None, manager: str | None = None,
            pin: str | None = None, reason: str = "", required: str = "") -> Approval | None:
    """Check the PIN of the person named (--cashier, --manager, else $TUI_POS_USER) and make them
    the acting user (a manager also approves what needs one). A manager named with --manager
    gives the Approval for `action` (returned, with the reason).

    required: "cashier" when the command moves money: somebody must then be named; "manager"
    when only a manager may do it: the person named must be one. With nobody named, the command
    acts as CLI_ACTOR and the core refuses whatever needs a manager (a new shop's first manager
    and catalog need none)."""
    if cashier is not None and manager is not None:
        raise BadInput(N_("name one person: --cashier or --manager"))
    option, name = ("--manager", manager) if manager is not None else ("--cashier", cashier)
    if name is None and os.environ.get(USER_ENV, "").strip():
        option, name = f"${USER_ENV}", os.environ[USER_ENV]
    if name is None:
        if pin is not None:
            raise BadInput(N_("--pin goes with --cashier NAME or --manager NAME"))
        if required == "cashier":
            raise BadInput(N_("who does this? give --cashier NAME (the PIN is asked for; scripts: ${user_env} and "
                              "${pin_env}, see the README)"), user_env=USER_ENV, pin_env=PIN_ENV)
        return None
    name = _typed_name(option, name)
    if pin is None:
        pin = pin_for(name)
    if manager is not None or required == "manager":
        approval = till.approve(name, pin, action, reason)
        user = User(approval.manager, "manager")
    else:
        approval, user = None, till.check_pin(name, pin)
    till.sign_in(user)
    return approval


@contextmanager
def manager_hint() -> Iterator[None]:
    """An operation refused for want of a manager says how to give one from the command line."""
    try:
        yield
    except ApprovalRequired as err:
        from tui_pos.i18n import message

        # the refusal as the screen says it, and how to give a manager, in the same language
        raise ApprovalRequired(err.action, N_("{refusal}: give --manager NAME (the PIN is asked for, or --pin)"),
                               refusal=message(err)) from None
