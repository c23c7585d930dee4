"""The chain's HQ (a PostgreSQL database) from the command line: `tui-pos hq init|shop add|join|tills|
catalog import|user ...`.

Which HQ: the DSN given (init and join take it as their argument), else --dsn, else
$TUI_POS_HQ_DSN, else the one of the till it runs on ([hq] in config.toml). psycopg is loaded only
here, when an hq command runs (tui_pos.hq imports it lazily).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from tui_pos.cli.base import emit, json_option, main, shop_config
from tui_pos.config import CONFIG_NAME, resolve_data_dir
from tui_pos.domain.errors import BadInput

dsn_option = click.option("--dsn", default=None, metavar="DSN",
                          help="HQ's PostgreSQL DSN (default: $TUI_POS_HQ_DSN, else this till's [hq] dsn).")


def hq_dsn(ctx: click.Context, given: str | None) -> str:
    """--dsn, else $TUI_POS_HQ_DSN, else this till's; BadInput (one line) when there is none."""
    from tui_pos.hq.connection import DSN_ENV

    if given:
        return given
    if os.environ.get(DSN_ENV):
        return os.environ[DSN_ENV]
    data_dir = ctx.obj if ctx.obj is not None else resolve_data_dir(None)
    if (data_dir / CONFIG_NAME).exists():
        from tui_pos.hq.enrol import till_dsn

        dsn = till_dsn(shop_config(ctx))
        if dsn:
            return dsn
    raise BadInput(f"which HQ? give --dsn DSN, set {DSN_ENV}, or run it on a till that has joined one (tui-pos hq join)")


@contextmanager
def hq_connection(dsn: str) -> Iterator[Any]:
    """A connection to HQ; database errors in the block are one line (HqError)."""
    from tui_pos.hq.connection import connect, translated

    with connect(dsn) as conn, translated(dsn):
        yield conn


@main.group()
def hq() -> None:
    """The chain's HQ: PostgreSQL, shared by every till of every shop (preview)."""


@hq.command("init")
@click.argument("dsn", metavar="DSN")
@json_option
def hq_init(dsn: str, as_json: bool) -> None:
    """Create or migrate HQ's schema in the database DSN names (idempotent). Needs the database's owner
    with CREATEROLE, or a superuser."""
    from tui_pos.hq.connection import describe
    from tui_pos.hq.schema import MIGRATIONS, migrate

    with hq_connection(dsn) as conn:
        version, done = migrate(conn)
    data = {"hq": describe(dsn), "version": version, "applied": done,
            "migrations": [{"version": m.version, "name": m.name} for m in MIGRATIONS]}
    emit(as_json, data, lambda: f"HQ {data['hq']}: schema version {version}" + (
        f" (applied: {'; '.join(done)})" if done else " (up to date)"))


@hq.group("shop")
def hq_shop() -> None:
    """The chain's shops."""


@hq_shop.command("add")
@click.argument("shop")
@click.option("--name", default=None, help="The shop's name (default: none).")
@dsn_option
@json_option
@click.pass_context
def hq_shop_add(ctx: click.Context, shop: str, name: str | None, dsn: str | None, as_json: bool) -> None:
    """Add the shop SHOP (an id: letters, digits, _ or -) to HQ; adding it again changes nothing."""
    from tui_pos.hq.chain import add_shop, check_shop_id

    check_shop_id(shop)
    target = hq_dsn(ctx, dsn)
    with hq_connection(target) as conn:
        data = add_shop(conn, shop, name)
    emit(as_json, data, lambda: f"Shop {shop} {'added' if data['added'] else 'is at HQ already'}"
         + (f": {data['name']}" if data["name"] else ""))


@hq.command("join")
@click.argument("dsn", metavar="DSN")
@click.option("--shop", required=True, help="The shop this till belongs to (tui-pos hq shop add SHOP first).")
@click.option("--till", "till_id", default=None, metavar="ID", help="This till's id (default: [till] id).")
@json_option
@click.pass_context
def hq_join(ctx: click.Context, dsn: str, shop: str, till_id: str | None, as_json: bool) -> None:
    """Enrol this till at HQ (DSN: an HQ administrator's): it gets a role of its own, that may only add
    its own records; [hq] goes in config.toml, its password in hq/secret.json (0600). A till id
    another box enrolled is refused."""
    from tui_pos.hq.enrol import join

    data = join(shop_config(ctx), dsn, shop, till_id)
    emit(as_json, data, lambda: (f"Till {data['till']} {'joined again' if data['rejoined'] else 'joined'} shop "
                                 f"{data['shop']} at HQ as {data['role']}; HQ has its records up to commit "
                                 f"{data['high_water']}. [hq] is in {data['config']}, the password in {data['secret']}."))


def _tills_text(tills: list[dict[str, Any]]) -> str:
    if not tills:
        return "No till has joined HQ yet (tui-pos hq join DSN --shop SHOP, on each till)."
    header = f"{'shop':<10} {'till':<8} {'last seen':<25} {'records':>8} {'pending':>8}"
    lines = [f"{t['shop']:<10} {t['till']:<8} {t['last_seen'] or 'never':<25} {t['records']:>8} "
             f"{'?' if t['pending'] is None else t['pending']:>8}" for t in tills]
    return "\n".join([header, *lines])


@hq.command("tills")
@dsn_option
@json_option
@click.pass_context
def hq_tills(ctx: click.Context, dsn: str | None, as_json: bool) -> None:
    """Every till of the chain: its shop, when HQ last heard from it, the records it has sent and
    those it said were still waiting ('?' until it has said)."""
    from tui_pos.hq.chain import list_tills

    target = hq_dsn(ctx, dsn)
    with hq_connection(target) as conn:
        tills = list_tills(conn)
    emit(as_json, tills, lambda: _tills_text(tills))


@hq.group("catalog")
def hq_catalog() -> None:
    """The chain's products: every till pulls them (a shop's own prices win at its tills)."""


@hq_catalog.command("import")
@click.argument("csv_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--shop", default=None, help="Import as this shop's own products and prices, over the chain's "
                                           "(default: the chain's, for every shop).")
@dsn_option
@json_option
@click.pass_context
def hq_catalog_import(ctx: click.Context, csv_file: Path, shop: str | None, dsn: str | None, as_json: bool) -> None:
    """Import FILE.csv, the till's CSV (barcode,name,price,tax[,department,stock]; checked by the till's
    rules against HQ's tax rates, every bad line named): all lines or none. HQ keeps no stock."""
    from tui_pos.bootstrap.shop import read_catalog_file
    from tui_pos.hq.catalog import import_catalog

    text = read_catalog_file(csv_file)
    target = hq_dsn(ctx, dsn)
    with hq_connection(target) as conn:
        data = import_catalog(conn, text, shop)
    emit(as_json, data, lambda: (f"Imported {data['products']} products for "
                                 f"{'shop ' + shop if shop else 'the chain'}: {data['added']} added, "
                                 f"{data['changed']} changed, {data['unchanged']} unchanged (catalog version "
                                 f"{data['version']})"))


@hq.group("user")
def hq_user() -> None:
    """The chain's users: one name, PIN and switch for every till (tills pull them)."""


def _user_change(ctx: click.Context, dsn: str | None, as_json: bool, change: Callable[[Any], dict[str, Any]],
                 done: str) -> None:
    target = hq_dsn(ctx, dsn)
    with hq_connection(target) as conn:
        data = change(conn)
    emit(as_json, data, lambda: done.format(**data) + f" (catalog version {data['version']})")


@hq_user.command("list")
@dsn_option
@json_option
@click.pass_context
def hq_user_list(ctx: click.Context, dsn: str | None, as_json: bool) -> None:
    """Every user of the chain, with role and whether they can log in."""
    from tui_pos.hq.people import list_users

    target = hq_dsn(ctx, dsn)
    with hq_connection(target) as conn:
        found = list_users(conn)
    emit(as_json, found, lambda: "\n".join(f"{p['name']:<16} {p['role']}" + ("" if p["active"] else "  (disabled)")
                                           for p in found) or "No users at HQ.")


@hq_user.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(["cashier", "manager"]), required=True,
              help="A cashier sells; a manager also approves refunds, voids, overrides and user changes.")
@click.option("--new-pin", metavar="PIN", help="The new user's PIN, 4-8 digits (for scripts; otherwise asked for "
                                                "twice, hidden).")
@dsn_option
@json_option
@click.pass_context
def hq_user_add(ctx: click.Context, name: str, role: str, new_pin: str | None, dsn: str | None, as_json: bool) -> None:
    """Add a cashier or a manager to every till of the chain."""
    from tui_pos.cli.user import ask_new_pin
    from tui_pos.hq.people import add_user

    pin = ask_new_pin(name, new_pin)
    _user_change(ctx, dsn, as_json, lambda conn: add_user(conn, name, role, pin), "Added {role} {name}")


@hq_user.command("set-pin")
@click.argument("name")
@click.option("--new-pin", metavar="PIN", help="The new PIN, 4-8 digits (for scripts; otherwise asked for twice, "
                                                "hidden).")
@dsn_option
@json_option
@click.pass_context
def hq_user_set_pin(ctx: click.Context, name: str, new_pin: str | None, dsn: str | None, as_json: bool) -> None:
    """Give NAME a new PIN at every till."""
    from tui_pos.cli.user import ask_new_pin
    from tui_pos.hq.people import set_pin

    pin = ask_new_pin(name, new_pin)
    _user_change(ctx, dsn, as_json, lambda conn: set_pin(conn, name, pin), "New PIN set for {name}")


def _hq_set_active_command(active: bool, help_text: str) -> None:
    """Register `hq user enable` or `hq user disable`."""

    @hq_user.command("enable" if active else "disable", help=help_text)
    @click.argument("name")
    @dsn_option
    @json_option
    @click.pass_context
    def command(ctx: click.Context, name: str, dsn: str | None, as_json: bool) -> None:
        from tui_pos.hq.people import set_active

        _user_change(ctx, dsn, as_json, lambda conn: set_active(conn, name, active),
                     "{name} " + ("enabled" if active else "disabled") + " at every till")


_hq_set_active_command(False, "NAME can no longer log in at any till (the chain's last active manager stays).")
_hq_set_active_command(True, "NAME can log in again at every till.")
