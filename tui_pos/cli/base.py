"""The root command group and what every command shares: errors as one line, --json output,
opening the shop's configuration and till."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any, Callable

import click

from tui_pos.config import CONFIG_NAME, ConfigError, Config, load_config, resolve_data_dir
from tui_pos.core.errors import BadInput, PosError
from tui_pos.core.money import parse_count
from tui_pos.ops.logs import setup_logging

json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")


class WholeNumber(click.ParamType):
    """A number typed on the command line: ASCII digits only (click's int also takes '３' and '٣'), from
    low to high (never an integer too large for SQLite)."""

    name = "integer"

    def __init__(self, low: int = 1, high: int = 10**9):
        self.low, self.high = low, high

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        number = value if isinstance(value, int) else parse_count(str(value))
        if number is None or not self.low <= number <= self.high:
            self.fail(f"{str(value)[:40]!r} is not a whole number from {self.low} to {self.high}", param, ctx)
        return number


def emit(as_json: bool, data: Any, human: Callable[[], str]) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2) if as_json else human())


def fail(message: str, code: int = 1) -> None:
    click.echo(f"Error: {message}", err=True)
    sys.exit(code)


class PosGroup(click.Group):
    """Bad input of any kind (PosError, ConfigError, a click usage error) is one line on stderr
    and exit status 1, never a traceback or a usage screen."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().main(*args, standalone_mode=False, **kwargs)
        except (PosError, ConfigError) as err:
            fail(str(err))
        except click.exceptions.Abort:
            fail("aborted")
        except click.ClickException as err:
            fail(f"{err.format_message()} (see --help)")


@click.group(cls=PosGroup, invoke_without_command=True)
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), envvar="TUI_POS_DATA_DIR",
              help="Data directory (default: $TUI_POS_DATA_DIR, else the user data directory).")
@click.version_option(package_name="tui-pos")
@click.pass_context
def main(ctx: click.Context, data_dir: Path | None) -> None:
    """tui-pos: a point-of-sale till for the terminal. With no command, starts the till."""
    os.umask(0o077)  # every file we create (database, WAL, journal) is 0600, directories 0700
    ctx.obj = resolve_data_dir(data_dir)
    setup_logging(ctx.obj, interactive=ctx.invoked_subcommand is None)
    if ctx.invoked_subcommand is None:
        os.environ.setdefault("ESCDELAY", "25")  # read by Textual at import: Esc must not lag
        from tui_pos.ops.instance import TillInstanceLock

        if (ctx.obj / CONFIG_NAME).exists():  # else open_till says there is no shop; no lock file is left
            ctx.with_resource(TillInstanceLock(ctx.obj))  # one till UI per data directory, before Textual starts
        from tui_pos.ui.app import PosApp

        till = open_till(ctx)
        PosApp(till).run()


def shop_config(ctx: click.Context) -> Config:
    data_dir: Path = ctx.obj
    if not (data_dir / CONFIG_NAME).exists():
        raise BadInput(f"no shop in {data_dir}: run 'tui-pos init --demo' (or 'tui-pos init') first")
    return load_config(data_dir)


def open_till(ctx: click.Context, cashier: str = "", replay: bool = True, keep_cart: bool = True):
    from tui_pos.core.till import Till

    till = Till.open(shop_config(ctx), cashier=cashier, replay=replay, keep_cart=keep_cart)
    ctx.call_on_close(till.close)
    return till
