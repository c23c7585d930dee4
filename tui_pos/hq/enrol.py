"""A till joins the chain (`tui-pos hq join DSN --shop SHOP`): HQ gives it a role of its own, and the
till keeps where HQ is in config.toml's [hq] and how to log in apart, in hq/secret.json (0600, in
a 0700 directory).

The secret file also holds the box's id, made at its first join: HQ records which box enrolled a
till id, and refuses that id to any other box (two boxes selling as one till would mix two
receipt sequences in one stream). The same box may join again (a lost config.toml, a new HQ
address): its role keeps the password it has.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tui_pos.config import CONFIG_NAME, Config, ConfigError, load_config
from tui_pos.domain.errors import N_, BadInput
from tui_pos.hq.chain import check_shop_id
from tui_pos.hq.connection import (
    HqError,
    connect,
    parse_dsn,
    translated,
    without_password,
)
from tui_pos.hq.schema import check_current, roles_of

if TYPE_CHECKING:
    import psycopg

HQ_DIR = "hq"  # in the data directory, 0700
SECRET_NAME = "secret.json"  # {"box_id", "till", "role", "password"}, 0600


def secret_path(data_dir: Path) -> Path:
    return data_dir / HQ_DIR / SECRET_NAME


def read_secret(data_dir: Path) -> dict[str, Any]:
    """What hq/secret.json holds ({} when there is none); HqError when it is unreadable."""
    path = secret_path(data_dir)
    try:
        held = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as err:
        raise HqError(N_("cannot read this till's HQ secret {path}: {error}"), path=str(path), error=str(err)) from None
    if not isinstance(held, dict):
        raise HqError(N_("this till's HQ secret {path} is damaged: join HQ again (tui-pos hq join)"), path=str(path))
    return held


def till_dsn(config: Config) -> str:
    """The DSN this till reaches HQ with ([hq] dsn and the password kept apart); "" when it has not joined."""
    from psycopg.conninfo import make_conninfo

    if not config.hq.dsn:
        return ""
    secret = read_secret(config.data_dir)
    joined_as = secret.get("till")
    if isinstance(joined_as, str) and joined_as and joined_as != config.till_id:
        # HQ takes only records carrying the id the till joined with: every push would be refused
        raise HqError(N_("this till joined HQ as till {joined}, but its [till] id is now {till} ({config}): set id = "
                         "\"{joined}\" again (its records carry {joined}), or give till {till} a data directory of its "
                         "own and join it there"), joined=joined_as, till=config.till_id,
                      config=str(config.data_dir / CONFIG_NAME))
    password = secret.get("password")
    if not isinstance(password, str) or not password:
        raise HqError(N_("this till's HQ password is missing ({path}): join HQ again (tui-pos hq join)"),
                      path=str(secret_path(config.data_dir)))
    return make_conninfo(config.hq.dsn, password=password)


def join(config: Config, dsn: str, shop: str, till: str | None = None, take_over: bool = False) -> dict[str, Any]:
    """Enrol this till at HQ (an administrator's DSN) and write [hq] and the secret; what was done.
    take_over: this box takes the till id over from the box that enrolled it (`hq restore-till`: that
    box is dead); the role gets this box's new password, so the old box can no longer push."""
    from psycopg.conninfo import make_conninfo

    till_id = till if till is not None else config.till_id
    if till_id != config.till_id:
        raise BadInput(N_("this till's id is {till} ([till] id in {config}; receipt numbers carry it): set id = "
                          "\"{wanted}\" there first, or leave out --till"), till=config.till_id,
                       config=str(config.data_dir / CONFIG_NAME), wanted=till_id)
    check_shop_id(shop)
    parse_dsn(dsn)
    held = read_secret(config.data_dir)
    box_id = str(held.get("box_id") or uuid.uuid4())
    password = held.get("password") if held.get("till") == till_id else None
    password = password if isinstance(password, str) and password else secrets.token_urlsafe(24)
    with connect(dsn) as conn, translated(dsn):
        check_current(conn)
        role = roles_of(conn).till(till_id)
        _write_secret(config.data_dir, {"box_id": box_id, "till": till_id, "role": role, "password": password})
        rejoined = _enrol(conn, shop, till_id, role, box_id, password, take_over)
        if take_over:
            _cut_off(conn, role)
    own_dsn = without_password(make_conninfo(dsn, user=role))
    write_hq_section(config.data_dir, own_dsn, shop)
    from tui_pos.hq.stream import high_water

    with connect(make_conninfo(own_dsn, password=password)) as conn:  # prove the till's own login works
        mark = high_water(conn)
    return {"till": till_id, "shop": shop, "role": role, "dsn": own_dsn, "rejoined": rejoined,
            "high_water": mark, "config": str(config.data_dir / CONFIG_NAME),
            "secret": str(secret_path(config.data_dir))}


def _enrol(conn: psycopg.Connection[Any], shop: str, till_id: str, role: str, box_id: str, password: str,
           take_over: bool = False) -> bool:
    """The till's role and row at HQ, in one transaction; True when this box (or, take_over, another)
    had enrolled it before."""
    from psycopg import sql

    with conn.transaction():
        conn.execute("LOCK TABLE hq.till IN SHARE ROW EXCLUSIVE MODE")  # one enrolment at a time
        if conn.execute("SELECT 1 FROM hq.shop WHERE shop_id = %s", (shop,)).fetchone() is None:
            raise HqError(N_("shop {shop} is not at HQ: add it first (tui-pos hq shop add {shop})"), shop=shop)
        rows = conn.execute("SELECT shop_id, till_id, box_id::text, enrolled_at FROM hq.till "
                            "WHERE lower(till_id) = lower(%s) OR role_name = %s", (till_id, role)).fetchall()
        for other_shop, other_till, other_box, since in rows:
            if other_till != till_id or (other_box != box_id and not take_over):
                raise HqError(N_("till {other} is already enrolled at HQ by another box (shop {shop}, since {since}): "
                                 "this box cannot join as till {till}; give it another id ([till] id in config.toml, "
                                 "and --till)"), other=other_till, shop=other_shop,
                              since=f"{since:%Y-%m-%d %H:%M %Z}", till=till_id)
            if other_shop != shop:
                raise HqError(N_("till {till} is enrolled in shop {other} at HQ, not {shop}: join with --shop {other}"),
                              till=till_id, other=other_shop, shop=shop)
        existing = conn.execute("SELECT rolsuper OR rolcreaterole OR rolcreatedb OR rolreplication OR rolbypassrls "
                                "FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
        if existing is not None and existing[0]:
            raise HqError(N_("the role {role} exists at HQ with rights a till must not have: drop or rename it first"),
                          role=role)
        verifier = conn.pgconn.encrypt_password(password.encode(), role.encode(), b"scram-sha-256").decode()
        tills = sql.Identifier(roles_of(conn).tills)
        if existing is None:  # the password goes as its SCRAM verifier: never in clear text, even in a log
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {} IN ROLE {}").format(
                sql.Identifier(role), sql.Literal(verifier), tills))
        else:
            conn.execute(sql.SQL("ALTER ROLE {} WITH LOGIN PASSWORD {}").format(sql.Identifier(role), sql.Literal(verifier)))
            conn.execute(sql.SQL("GRANT {} TO {}").format(tills, sql.Identifier(role)))
        conn.execute("INSERT INTO hq.till (shop_id, till_id, role_name, box_id) VALUES (%s, %s, %s, %s) "
                     "ON CONFLICT (shop_id, till_id) DO UPDATE SET box_id = excluded.box_id",  # the same box, or take_over
                     (shop, till_id, role, box_id))
    return bool(rows)


def _cut_off(conn: psycopg.Connection[Any], role: str) -> None:
    """End the sessions the till's role still has (the old box's, taken over): its new password
    keeps it from logging in again. Best effort: an administrator who may not signal other
    sessions leaves them to end by themselves."""
    import psycopg

    try:
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", (role,))
    except psycopg.Error:
        pass


def _owned_like_data_dir(data_dir: Path, *paths: Path) -> None:
    """Run as root (sudo tui-pos hq join), files must still be the till's user's."""
    if os.geteuid() != 0:
        return
    owner = data_dir.stat()
    for path in paths:
        if path.stat().st_uid != owner.st_uid:
            os.chown(path, owner.st_uid, owner.st_gid)


def _replace(path: Path, content: bytes, mode: int) -> None:
    """path's content, whole or not at all, durably (a temporary file, fsync, rename, fsync of the directory)."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, mode)
    try:
        os.fchmod(fd, mode)
        os.write(fd, content)
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        if path.exists():
            info = path.stat()
            if os.geteuid() == 0:
                os.chown(temporary, info.st_uid, info.st_gid)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def _write_secret(data_dir: Path, secret: dict[str, Any]) -> None:
    directory = data_dir / HQ_DIR
    directory.mkdir(mode=0o700, exist_ok=True)
    directory.chmod(0o700)
    path = secret_path(data_dir)
    _replace(path, (json.dumps(secret, indent=2) + "\n").encode(), 0o600)
    _owned_like_data_dir(data_dir, directory, path)


_SECTION = re.compile(r"\s*\[\s*([A-Za-z0-9_.\"' -]+?)\s*\]\s*(#.*)?")


def with_hq_section(toml_text: str, dsn: str, shop: str) -> str:
    """config.toml's text with its [hq] section (if any) replaced by this one, at the end."""
    kept: list[str] = []
    inside = False
    for line in toml_text.splitlines():
        header = _SECTION.fullmatch(line)
        if header:
            name = header[1].strip().strip("\"'")
            inside = name == "hq" or name.startswith("hq.")
        if not inside:
            kept.append(line)
    while kept and not kept[-1].strip():
        kept.pop()
    section = ["", "[hq]                            # written by tui-pos hq join",
               f"dsn = {json.dumps(dsn)}", f"shop = {json.dumps(shop)}"]
    return "\n".join([*kept, *section]) + "\n"


def write_hq_section(data_dir: Path, dsn: str, shop: str) -> None:
    """[hq] in config.toml, checked as the whole file is before it replaces it."""
    path = data_dir / CONFIG_NAME
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    updated = with_hq_section(text, dsn, shop)
    import tempfile

    with tempfile.TemporaryDirectory() as scratch:  # the new text must load as config.toml does
        (Path(scratch) / CONFIG_NAME).write_text(updated, encoding="utf-8")
        try:
            checked = load_config(Path(scratch))
        except ConfigError as err:
            raise HqError(N_("cannot add [hq] to {path}: {error}"), path=str(path), error=err.said) from None
    if (checked.hq.dsn, checked.hq.shop) != (dsn, shop):
        raise HqError(N_("cannot add [hq] to {path}: it sets hq keys in a way tui-pos cannot replace; remove them"),
                      path=str(path))
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o600
    _replace(path, updated.encode("utf-8"), mode)
    _owned_like_data_dir(data_dir, path)

