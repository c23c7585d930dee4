"""The root command group and what every command shares: errors as one line, --json output,
opening the shop's configuration and till."""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from tui_pos.config import CONFIG_NAME, Config, ConfigError, load_config, resolve_data_dir, unusable_data_dir
from tui_pos.domain.errors import CONTROL_CHARACTERS, BadInput, BadLines, PosError
from tui_pos.domain.money import parse_count
from tui_pos.i18n import N_, _, message, system_language, use_language
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
            self.fail(_("{value} is not a whole number from {low} to {high}").format(
                value=repr(str(value)[:40]), low=self.low, high=self.high), param, ctx)
        return number


def emit(as_json: bool, data: Any, human: Callable[[], str]) -> None:
    interrupts.decided = True  # the result is being reported: an interrupt no longer changes it
    click.echo(json.dumps(data, ensure_ascii=False, indent=2) if as_json else human())


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)  # Ctrl-C, kill, the SSH session gone


class Interrupts:
    """What a stop signal does to a command: before anything is at stake it interrupts (one
    line, exit 128+signal, no traceback); while an outcome is being decided (a sale being
    stored) it is held, so that the outcome is reported truthfully; a second one while still
    deciding exits at once saying the outcome is unknown; once the result is being reported
    (emit) it is ignored: the command finishes and says what happened."""

    def __init__(self) -> None:
        self.deciding = ""  # what is being decided, e.g. "the sale"; "" when nothing
        self.unknown_hint = ""  # where to look when the outcome is unknown (a command: 'tui-pos sales')
        self.before = ""  # what an interrupt before the deciding means, N_-marked: N_("the sale was not recorded")
        self.decided = False
        self.held: list[int] = []
        self.last: int = signal.SIGINT  # the last signal number received
        self._previous: dict[int, Any] = {}

    def install(self) -> None:
        self.__init__()  # type: ignore[misc]  # a fresh command (in-process callers run several)
        for signum in STOP_SIGNALS:
            self._previous[signum] = signal.signal(signum, self._handle)

    @property
    def installed(self) -> bool:
        return bool(self._previous)

    def ignore(self) -> None:
        """For the rest of the process: the interpreter's own exit resets Python-level handlers to
        the default (an interrupt there would kill a command that already reported success), but
        leaves ignored signals ignored."""
        for signum in STOP_SIGNALS:
            signal.signal(signum, signal.SIG_IGN)

    def restore(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()

    def _handle(self, signum: int, frame: Any) -> None:
        self.last = signum
        if self.decided:
            return
        if self.deciding:
            self.held.append(signum)
            if len(self.held) > 1:  # asked twice: stop now, and say what that means
                said = _("Interrupted: outcome unknown: check {where}").format(where=self.unknown_hint)
                os.write(2, f"\n{said}\n".encode())
                os._exit(128 + signal.SIGINT)
            return
        raise KeyboardInterrupt

    @contextmanager
    def holding(self, what: str, hint: str) -> Iterator[None]:
        """While the block runs (the outcome of `what` is being decided), stop signals wait; the
        outcome is decided when it ends, however it ends."""
        self.deciding, self.unknown_hint, self.before = what, hint, ""
        try:
            yield
        finally:
            self.decided = True
            self.deciding = ""


interrupts = Interrupts()


def fail(message: str, code: int = 1, details: list[str] | None = None) -> None:
    """One line on stderr (then details, one per line: a file's bad lines). Control characters carried
    from what was typed are shown escaped: a line break would make two lines of one, an escape
    sequence would act on the terminal."""
    click.echo("\n".join(CONTROL_CHARACTERS.sub(lambda c: repr(c[0])[1:-1], line)
                         for line in [_("Error: {message}").format(message=message), *(details or [])]), err=True)
    sys.exit(code)


class PosGroup(click.Group):
    """Bad input of any kind (PosError, ConfigError, a click usage error) is one line on stderr
    and exit status 1, never a traceback or a usage screen."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().main(*args, standalone_mode=False, **kwargs)  # type: ignore[call-overload]  # click's overloads cannot match *args
        except BadLines as err:
            fail(_(err.summary), details=[message(d) for d in err.details])  # each a Said, or a line as found
        except (PosError, ConfigError) as err:
            fail(message(err))
        except click.exceptions.Abort as err:
            if isinstance(err.__context__, KeyboardInterrupt):
                interrupted()
            fail(_("aborted"))
        except KeyboardInterrupt:
            interrupted()
        except click.ClickException as err:  # one line: click lists a choice's values on lines of their own
            fail(_("{message} (see --help)").format(message=" ".join(err.format_message().split())))
        except OSError as err:  # a path the system refuses (too long, a loop, not a directory...): say which
            logging.getLogger("tui_pos").exception("command failed on a file")  # the stack, for support
            where = f": {str(err.filename)[:80]!r}" if err.filename is not None else ""
            fail(f"{err.strerror or err}{where}")
        finally:
            interrupts.decided = True  # the command is over: an interrupt now changes nothing
            if args or kwargs.get("args") is not None:  # called in-process (tests): hand the signals back
                interrupts.restore()
            elif interrupts.installed:
                interrupts.ignore()


def interrupted() -> None:
    """Say what an interrupt meant, in one line, and exit 128+signal at once: nothing is left
    to clean up that the kernel does not (locks, files), and a clean interpreter exit can be
    interrupted again."""
    name = signal.Signals(interrupts.last).name
    what = _(interrupts.before)
    said = (_("interrupted: {what}") if name == "SIGINT" else _("interrupted ({signal}): {what}")) if what else \
        (_("interrupted") if name == "SIGINT" else _("interrupted ({signal})"))
    click.echo(_("Error: {message}").format(message=said.format(what=what, signal=name)), err=True)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(128 + interrupts.last)


@click.group(cls=PosGroup, invoke_without_command=True)
@click.option("--data-dir", type=click.Path(file_okay=False, readable=False, path_type=Path), envvar="TUI_POS_DATA_DIR",
              help="Data directory (default: $TUI_POS_DATA_DIR, else the user data directory).")
@click.version_option(package_name="tui-pos")
@click.pass_context
def main(ctx: click.Context, data_dir: Path | None) -> None:
    """tui-pos: a point-of-sale till for the terminal. With no command, starts the till."""
    os.umask(0o077)  # every file we create (database, WAL, journal) is 0600, directories 0700
    if ctx.invoked_subcommand is not None:  # the till UI takes the terminal: Ctrl-C is a key there
        interrupts.install()
    ctx.obj = resolve_data_dir(data_dir)
    use_language(system_language())  # until the shop's config.toml says ([ui] language, read by shop_config)
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
    problem = unusable_data_dir(data_dir)
    if problem:  # a ConfigError: status and doctor go on with the defaults and say so
        raise ConfigError(problem)
    if not (data_dir / CONFIG_NAME).exists():
        raise BadInput(N_("no shop in {dir}: run 'tui-pos init --demo' (or 'tui-pos init') first"), dir=str(data_dir))
    try:
        config = load_config(data_dir)
    except ConfigError as err:  # said in the file's [ui] language when that one value is valid, else the system's
        if err.language:
            use_language(err.language)
        raise
    use_language(config.ui_language)
    return config


def speak_shop_language(ctx: click.Context) -> None:
    """The shop's language ([ui] language) for a command that needs no shop (backup verify, restore,
    doctor, hq): the system's when there is no shop here or its config.toml cannot be read (the
    command itself says what is wrong with it, if that matters to it)."""
    try:
        if (ctx.obj / CONFIG_NAME).exists():
            shop_config(ctx)
    except (ConfigError, PosError, OSError):
        pass


def open_till(ctx: click.Context, cashier: str = "", replay: bool = True, keep_cart: bool = True):
    from tui_pos.bootstrap import till as bootstrap

    till = bootstrap.open_till(shop_config(ctx), cashier=cashier, replay=replay, keep_cart=keep_cart)
    ctx.call_on_close(till.close)
    return till
