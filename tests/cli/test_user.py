"""`tui-pos user ...` through the real CLI: adding, listing, disabling, enabling, new PINs; what
needs a manager; and that the PINs set here work at login even when the database cannot be read."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import cli_error, cli_json, set_config
from tui_pos.bootstrap.shop import init_shop

MANAGER = ("--manager", "manager", "--pin", "9999")


def paid_in_by(shop: Path, name: str, pin: str) -> dict:
    """An operation that checks name and PIN like a login does."""
    return cli_json(shop, "shift", "paid-in", "1.00", "--reason", "float top-up", "--cashier", name, "--pin", pin)


def test_add_list_disable_enable_and_set_pin(shop_dir: Path):
    assert cli_error(shop_dir, "user", "add", "alice", "--role", "cashier", "--new-pin", "4321") == \
        "adding alice needs a manager: give --manager NAME (the PIN is asked for, or --pin)"
    added = cli_json(shop_dir, "user", "add", "alice", "--role", "cashier", "--new-pin", "4321", *MANAGER)
    assert added == {"name": "alice", "role": "cashier", "active": True}
    assert paid_in_by(shop_dir, "alice", "4321")["user"] == "alice"

    assert cli_json(shop_dir, "user", "disable", "alice", *MANAGER)["active"] is False
    assert cli_json(shop_dir, "user", "list") == [{"name": "alice", "role": "cashier", "active": False},
                                                  {"name": "demo", "role": "cashier", "active": True},
                                                  {"name": "manager", "role": "manager", "active": True}]
    assert cli_error(shop_dir, "shift", "paid-in", "1.00", "--reason", "x", "--cashier", "alice", "--pin", "4321") \
        .startswith("unknown user or wrong PIN")

    cli_json(shop_dir, "user", "enable", "alice", *MANAGER)
    cli_json(shop_dir, "user", "set-pin", "alice", "--new-pin", "55556666", *MANAGER)
    assert cli_error(shop_dir, "shift", "paid-in", "1.00", "--reason", "x", "--cashier", "alice", "--pin", "4321") \
        .startswith("unknown user or wrong PIN")
    assert paid_in_by(shop_dir, "alice", "55556666")["user"] == "alice"

    trail = [(e["action"], e["actor"], e["approved_by"], e["subject"])
             for e in cli_json(shop_dir, "audit", "show", "--last", "20") if e["subject"] == "alice"]
    assert trail == [("user_add", "manager", "manager", "alice"), ("user_disable", "manager", "manager", "alice"),
                     ("user_enable", "manager", "manager", "alice"), ("user_set_pin", "manager", "manager", "alice")]


def test_a_new_pin_lifts_a_lockout(shop_dir: Path):
    set_config(shop_dir, "till", "pin_attempts", "1")
    assert cli_error(shop_dir, "shift", "paid-in", "1.00", "--reason", "x", "--cashier", "demo", "--pin", "0000") \
        == "unknown user or wrong PIN; demo is locked for 5 min"
    cli_json(shop_dir, "user", "set-pin", "demo", "--new-pin", "1111", *MANAGER)
    assert paid_in_by(shop_dir, "demo", "1111")["user"] == "demo"


def test_the_last_active_manager_stays(shop_dir: Path):
    assert cli_error(shop_dir, "user", "disable", "manager", *MANAGER) == \
        "manager is the last active manager: add or enable another manager first"
    cli_json(shop_dir, "user", "add", "boss", "--role", "manager", "--new-pin", "2468", *MANAGER)
    assert cli_json(shop_dir, "user", "disable", "manager", "--manager", "boss", "--pin", "2468")["active"] is False
    assert cli_error(shop_dir, "user", "disable", "boss", "--manager", "boss", "--pin", "2468") == \
        "boss is the last active manager: add or enable another manager first"


def test_a_new_shop_adds_its_first_manager_without_approval(tmp_path: Path):
    shop = tmp_path / "shop"
    init_shop(shop, demo=False)
    assert cli_json(shop, "user", "list") == []
    cli_json(shop, "user", "add", "boss", "--role", "manager", "--new-pin", "2468")
    assert cli_error(shop, "user", "add", "amy", "--role", "cashier", "--new-pin", "1357") == \
        "adding amy needs a manager: give --manager NAME (the PIN is asked for, or --pin)"
    cli_json(shop, "user", "add", "amy", "--role", "cashier", "--new-pin", "1357", "--manager", "boss", "--pin", "2468")
    trail = [(e["action"], e["actor"], e["approved_by"], e["subject"]) for e in cli_json(shop, "audit", "show")
             if e["action"].startswith("user_")]
    assert trail == [("user_add", "cli", None, "boss"), ("user_add", "boss", "boss", "amy")]


def test_names_pins_and_roles_are_checked(shop_dir: Path):
    add = ("user", "add", "--role", "cashier", *MANAGER)
    for pin in ("123", "123456789", "12a4"):
        assert cli_error(shop_dir, *add, "bob", "--new-pin", pin) == "a PIN is 4 to 8 digits"
    assert cli_error(shop_dir, *add, "bob smith", "--new-pin", "1234") == \
        "user name 'bob smith': use 1-32 letters, digits, '.', '-' or '_'"
    assert cli_error(shop_dir, *add, "cli", "--new-pin", "1234") == \
        "'cli' is reserved (the audit log uses it for the command line, replay and HQ)"
    assert cli_error(shop_dir, *add, "demo", "--new-pin", "1234") == \
        "demo already exists (names are never reused, in any case): use set-pin or enable"
    assert "'boss' is not one of 'cashier', 'manager'" in cli_error(
        shop_dir, "user", "add", "bob", "--role", "boss", "--new-pin", "1234")
    assert cli_error(shop_dir, "user", "disable", "ghost", *MANAGER) == "there is no user 'ghost'"
    assert cli_json(shop_dir, "user", "list") == [{"name": "demo", "role": "cashier", "active": True},
                                                  {"name": "manager", "role": "manager", "active": True}]


def test_pins_are_asked_for_when_not_given(shop_dir: Path):
    """New PIN twice, then the manager's PIN, read from stdin (no terminal: a new session has none)."""
    proc = subprocess.run([sys.executable, "-m", "tui_pos", "user", "add", "carol", "--role", "cashier",
                           "--manager", "manager"], input="2580\n2580\n9999\n", capture_output=True, text=True,
                          env={**os.environ, "TUI_POS_DATA_DIR": str(shop_dir)}, start_new_session=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "Added cashier carol"
    assert "2580" not in proc.stdout + proc.stderr and "9999" not in proc.stdout + proc.stderr
    assert paid_in_by(shop_dir, "carol", "2580")["user"] == "carol"


def test_a_new_pin_works_while_the_database_cannot_be_read(shop_dir: Path):
    cli_json(shop_dir, "user", "add", "alice", "--role", "cashier", "--new-pin", "4321", *MANAGER)
    cli_json(shop_dir, "user", "set-pin", "alice", "--new-pin", "8642", *MANAGER)
    database = shop_dir / "pos.sqlite3"
    for leftover in ("pos.sqlite3-wal", "pos.sqlite3-shm"):
        (shop_dir / leftover).unlink(missing_ok=True)
    database.write_bytes(b"not a database " * 100)
    assert cli_error(shop_dir, "shift", "paid-in", "1.00", "--reason", "x", "--cashier", "alice", "--pin", "4321") \
        .startswith("unknown user or wrong PIN")
    assert paid_in_by(shop_dir, "alice", "8642")["user"] == "alice"  # checked against the snapshot, journaled
    assert cli_error(shop_dir, "user", "list") == \
        "the database cannot be read: people can be listed or changed only when it can"
