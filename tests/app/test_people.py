"""A user change and its audit entry are one record in one transaction: the real `tui-pos user`
process SIGKILLed between writing the user's row and writing its audit entries leaves, after a
restart, neither of them (the chain verifies, the user is as before); run again, both are there."""

from __future__ import annotations

import signal
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from conftest import cli_error, cli_json, run_cli, set_config
from tui_pos.store.crash import OTHER_POINTS

MANAGER = ("--manager", "manager", "--pin", "9999")
POINT = "user_before_audit"  # the user's row written, its audit entries not yet

CHANGES = {  # command -> (the user it changes, its audit action)
    ("user", "add", "carol", "--role", "cashier", "--new-pin", "2580"): ("carol", "user_add"),
    ("user", "set-pin", "demo", "--new-pin", "86420"): ("demo", "user_set_pin"),
    ("user", "disable", "demo"): ("demo", "user_disable"),
}


def user_row(shop: Path, name: str) -> tuple | None:
    with closing(sqlite3.connect(shop / "pos.sqlite3")) as conn:
        return conn.execute("SELECT name, role, pin_hash, active FROM user WHERE name = ?", (name,)).fetchone()


def audited(shop: Path, name: str, action: str) -> int:
    with closing(sqlite3.connect(shop / "pos.sqlite3")) as conn:
        return conn.execute("SELECT COUNT(*) FROM audit WHERE action = ? AND subject = ?", (action, name)).fetchone()[0]


def test_the_point_is_named():
    assert POINT in OTHER_POINTS


@pytest.mark.parametrize("command", list(CHANGES), ids=[c[1] for c in CHANGES])
def test_a_user_change_is_never_stored_without_its_audit_entry(shop_dir: Path, command: tuple[str, ...]):
    name, action = CHANGES[command]
    before = user_row(shop_dir, name)

    killed = run_cli(shop_dir, *command, *MANAGER, "--json", env={"TUI_POS_CRASH_AT": POINT}, check=False)
    assert killed.returncode == -signal.SIGKILL, (killed.returncode, killed.stderr)

    # after the restart: neither the change nor its entry, and the chain (which covers the user table) is sound
    assert user_row(shop_dir, name) == before
    assert audited(shop_dir, name, action) == 0
    assert cli_json(shop_dir, "audit", "verify")["ok"] is True

    # the same change, not killed: both
    cli_json(shop_dir, *command, *MANAGER)
    assert user_row(shop_dir, name) != before
    assert audited(shop_dir, name, action) == 1
    assert cli_json(shop_dir, "audit", "verify")["ok"] is True


def test_a_refusal_is_said_in_the_shop_s_language(shop_dir):
    """People's refusals are templates: the CLI (and a screen) says them in [ui] language."""
    assert cli_error(shop_dir, "user", "enable", "demo", *MANAGER) == "demo is already enabled"
    set_config(shop_dir, "ui", "language", '"zh_CN"')
    refused = run_cli(shop_dir, "user", "enable", "demo", *MANAGER, check=False)
    assert (refused.returncode, refused.stderr.strip()) == (1, "错误：demo 已经启用")
    refused = run_cli(shop_dir, "user", "set-pin", "nobody", "--new-pin", "2580", *MANAGER, check=False)
    assert (refused.returncode, refused.stderr.strip()) == (1, "错误：没有用户 'nobody'")
