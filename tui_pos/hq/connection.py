"""Reaching HQ: a DSN in, a psycopg connection out, and every failure as one plain sentence.

A DSN is a libpq connection string (key=value or postgresql:// URI); TLS is asked for in it
(sslmode=verify-full sslrootcert=...). A DSN is never written or shown with its password.
"""

from __future__ import annotations

import getpass
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from tui_pos.domain.errors import N_, BadInput, PosError

if TYPE_CHECKING:
    import psycopg

DSN_ENV = "TUI_POS_HQ_DSN"
CONNECT_TIMEOUT_S = 10  # unless the DSN says otherwise (connect_timeout=...)
APPLICATION = "tui-pos"


class HqError(PosError):
    """HQ refused or failed something; str() is one line that says what and, where known, what to do."""


class HqUnreachable(HqError):
    """HQ cannot be reached (down, wrong address, refused login)."""


def parse_dsn(dsn: str) -> dict[str, str]:
    """The DSN's parameters; BadInput (one line, no password) when it is not a DSN."""
    from psycopg import ProgrammingError
    from psycopg.conninfo import conninfo_to_dict

    if not dsn.strip():
        raise BadInput(N_("the HQ DSN is empty: give one like 'host=hq.example port=5432 dbname=hq user=admin'"))
    try:
        return {k: str(v) for k, v in conninfo_to_dict(dsn).items() if v is not None}
    except ProgrammingError as err:
        raise BadInput(N_("not a PostgreSQL DSN ({error}): use 'host=... dbname=... user=...' or "
                          "postgresql://user@host/dbname"), error=first_line(err)) from None


def without_password(dsn: str) -> str:
    """The DSN as key=value text, its password left out (safe to write in config.toml and show)."""
    from psycopg.conninfo import make_conninfo

    params = parse_dsn(dsn)
    params.pop("password", None)
    return make_conninfo("", **params)


def describe(dsn: str) -> str:
    """'user@host:port/dbname', for messages."""
    try:
        p = parse_dsn(dsn)
    except BadInput:
        return "(a bad DSN)"
    user = p.get("user") or os.environ.get("PGUSER") or getpass.getuser()
    return f"{user}@{p.get('host', 'localhost')}:{p.get('port', '5432')}/" \
           f"{p.get('dbname', p.get('user', '?'))}"


def first_line(err: BaseException) -> str:
    """libpq's messages run over lines ('connection to server ... failed: FATAL: ...'): the gist, on one."""
    primary = getattr(getattr(err, "diag", None), "message_primary", None)
    text = " ".join((primary or str(err)).split())
    text = re.sub(r"^connection (failed|is bad): ", "", text)
    text = re.sub(r'^connection to server (at "[^"]*"( \([^)]*\))?, port \d+|on socket "[^"]*") failed: ', "", text)
    return text[:300] or type(err).__name__


def connect(dsn: str, autocommit: bool = True, **extra: Any) -> psycopg.Connection[Any]:
    """A connection to HQ; HqUnreachable (one line, naming where and why) when there is none."""
    import psycopg

    params = parse_dsn(dsn)
    # no server-side prepared statements: behind pgbouncer's transaction pooling (Debian 12 ships
    # 1.18, which does not carry them) a statement prepared on one server connection is missing on
    # the next, and psycopg prepares any query run 5 times (README, "HQ at scale")
    options: dict[str, Any] = {"application_name": APPLICATION, "prepare_threshold": None, **extra}
    if "connect_timeout" not in params:
        options["connect_timeout"] = CONNECT_TIMEOUT_S
    try:
        return psycopg.connect(dsn, autocommit=autocommit, **options)
    except psycopg.OperationalError as err:
        raise HqUnreachable(N_("HQ cannot be reached at {hq}: {error}"), hq=describe(dsn), error=first_line(err)) from None
    except psycopg.Error as err:
        raise HqError(N_("HQ at {hq} refused the connection: {error}"), hq=describe(dsn), error=first_line(err)) from None


@contextmanager
def translated(dsn: str) -> Iterator[None]:
    """Database errors in the block become HqError (one line; see refused)."""
    import psycopg

    try:
        yield
    except psycopg.Error as err:
        raise refused(err, dsn) from None


def refused(err: Exception, dsn: str) -> HqError:
    """A database error as one line: a permission problem says whose rights fell short."""
    import psycopg

    if isinstance(err, psycopg.errors.InsufficientPrivilege):
        return HqError(N_("HQ refused it: {error} (connected as {hq}: this needs an HQ administrator's DSN, not a "
                          "till's)"), error=first_line(err), hq=describe(dsn))
    if isinstance(err, psycopg.OperationalError):
        return HqUnreachable(N_("lost HQ at {hq}: {error}"), hq=describe(dsn), error=first_line(err))
    return HqError(N_("HQ refused it: {error}"), error=first_line(err))
