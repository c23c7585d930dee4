"""Nobody acts as anybody through the command line (issue 11), through the real `tui-pos` in
subprocesses against real shops on disk.

Money and rights change only with the PIN of someone allowed: a sale, a paid-in or a shift needs
a named person's PIN; a refund, a void, a price override, a paid-out over the limit (per shift, in
total), the catalog, the people and a restore need a manager's. A property drives every such
command with missing, wrong, borrowed and odd credentials and checks that the database's money,
rights and audit log (failed logins aside) are exactly as before.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import AS_DEMO, COLA, WEIGHED, cli_error, cli_json, open_demo_shop, run_cli, set_config
from tui_pos.domain.auth import hash_pin

MANAGER = ("--manager", "manager", "--pin", "9999")
AS_DEMO_ENV = {"TUI_POS_USER": "demo", "TUI_POS_PIN": "1234"}


def money_and_rights(shop: Path) -> dict[str, list]:
    """Everything money or rights are made of, read with our own connection; the audit log
    without failed logins (a refused attempt is rightly audited)."""
    queries = {
        "sales": "SELECT uuid, kind, cashier, total FROM sale ORDER BY uuid",
        "lines": "SELECT sale_uuid, line_no, barcode, qty, unit_price FROM sale_line ORDER BY sale_uuid, line_no",
        "cash": "SELECT uuid, kind, amount, user, approved_by FROM cash_movement ORDER BY uuid",
        "shifts": "SELECT uuid, number, float FROM shift ORDER BY uuid",
        "z": "SELECT uuid, counted FROM z_report ORDER BY uuid",
        "users": "SELECT name, role, pin_hash, active FROM user ORDER BY name",
        "products": "SELECT barcode, name, price, open_price, tax_code FROM product ORDER BY barcode",
        "audit": "SELECT seq, action, actor, subject, amount FROM audit WHERE action NOT IN ('login_failed') "
                 "ORDER BY seq",
    }
    with closing(sqlite3.connect(f"{(shop / 'pos.sqlite3').as_uri()}?mode=ro", uri=True)) as conn:
        return {name: conn.execute(query).fetchall() for name, query in queries.items()}


def sales_count(shop: Path) -> int:
    return len(money_and_rights(shop)["sales"])


# -- who acts -------------------------------------------------------------------------------------
@pytest.mark.parametrize("who", [
    (),  # nobody named: it used to be "cli"
    ("--cashier", "manager"),  # a real name without the PIN (no terminal to ask on)
    ("--cashier", "system"), ("--cashier", "cli"), ("--cashier", ""), ("--cashier", "\n"),
    ("--cashier", "manager", "--pin", ""),
])
def test_a_sale_needs_a_named_persons_pin(shop_dir: Path, who: tuple[str, ...]):
    before = money_and_rights(shop_dir)
    message = cli_error(shop_dir, "sell", "--item", COLA, "--tender", "cash", *who)
    assert "Traceback" not in message
    assert money_and_rights(shop_dir)["sales"] == before["sales"]


def test_scripts_give_the_person_and_pin_by_option_or_environment(shop_dir: Path):
    by_option = cli_json(shop_dir, "sell", "--item", COLA, "--tender", "cash", *AS_DEMO)
    by_env = cli_json(shop_dir, "sell", "--item", COLA, "--tender", "cash", env=AS_DEMO_ENV)
    piped = run_cli(shop_dir, "sell", "--item", COLA, "--tender", "cash", "--cashier", "demo", "--json",
                    input="1234\n")
    assert "1234" not in piped.stdout + piped.stderr
    cashiers = {uuid: cashier for uuid, _, cashier, _ in money_and_rights(shop_dir)["sales"]}
    assert [cashiers[s["uuid"]] for s in (by_option, by_env)] == ["demo", "demo"]
    assert len(cashiers) == 3
    # the environment's PIN belongs to the environment's person: it is not tried for another name
    assert "PIN" in cli_error(shop_dir, "sell", "--item", COLA, "--tender", "cash", "--cashier", "manager",
                              env=AS_DEMO_ENV)


@pytest.mark.parametrize("command", [
    ("shift", "paid-in", "1000000", "--reason", "x"),
    ("shift", "paid-out", "5", "--reason", "x"),
    ("shift", "close", "--counted", "100"),
])
def test_shift_money_needs_a_named_persons_pin(shop_dir: Path, command: tuple[str, ...]):
    before = money_and_rights(shop_dir)
    cli_error(shop_dir, *command)
    assert money_and_rights(shop_dir) == before


def test_opening_a_shift_needs_a_named_persons_pin(tmp_path: Path):
    shop = tmp_path / "shop"
    cli_json(shop, "init", "--demo")
    cli_error(shop, "shift", "open", "--float", "100")
    assert money_and_rights(shop)["shifts"] == []
    assert cli_json(shop, "shift", "open", "--float", "100", *AS_DEMO)["opened_by"] == "demo"


def test_the_paid_out_limit_holds_for_the_shift_in_total(shop_dir: Path):
    """5 x 99.99 under a 100.00 limit was 499.95 out of the drawer with no manager."""
    paid_out = ("shift", "paid-out", "99.99", "--reason", "window cleaner")
    assert cli_json(shop_dir, *paid_out, *AS_DEMO)["approved_by"] is None
    assert "needs a manager" in cli_error(shop_dir, *paid_out, *AS_DEMO)
    assert "needs a manager" in cli_error(shop_dir, "shift", "paid-out", "0.02", "--reason", "x", *AS_DEMO)
    assert cli_json(shop_dir, *paid_out, *MANAGER)["approved_by"] == "manager"
    assert cli_json(shop_dir, "shift", "paid-out", "0.01", "--reason", "stamps", *AS_DEMO)["approved_by"] is None
    assert [(kind, amount, approved_by) for _, kind, amount, _, approved_by in money_and_rights(shop_dir)["cash"]] \
        .count(("paid_out", 9999, None)) == 1


# -- price overrides --------------------------------------------------------------------------------
@pytest.mark.parametrize("item", [f"{COLA}@1.00", f"{COLA}x99@0"])
def test_a_price_keyed_from_the_command_line_needs_a_manager(shop_dir: Path, item: str):
    message = cli_error(shop_dir, "sell", "--item", item, "--tender", "cash", *AS_DEMO)
    assert "manager" in message
    assert sales_count(shop_dir) == 0
    sold = cli_json(shop_dir, "sell", "--item", item, "--item", f"{WEIGHED}@8.80", "--tender", "cash", *MANAGER)
    assert sold["total"] == ("9.80" if item.endswith("1.00") else "8.80")
    overrides = [row for row in money_and_rights(shop_dir)["audit"] if row[1] == "price_override"]
    assert [(actor, subject) for _, _, actor, subject, _ in overrides] == [("manager", COLA)]  # not the open price
    # an open-price item takes the cashier's price
    assert cli_json(shop_dir, "sell", "--item", f"{WEIGHED}@8.80", "--tender", "cash", *AS_DEMO)["total"] == "8.80"


# -- names ----------------------------------------------------------------------------------------
def test_user_names_are_one_person_whatever_the_case(shop_dir: Path):
    assert cli_error(shop_dir, "user", "add", "Manager", "--role", "manager", "--new-pin", "2468", *MANAGER) == \
        "manager already exists (names are never reused, in any case): use set-pin or enable"
    sold = cli_json(shop_dir, "sell", "--item", COLA, "--tender", "cash", "--cashier", "DEMO", "--pin", "1234")
    assert money_and_rights(shop_dir)["sales"][0][2] == "demo" and sold["total"] == "3.50"
    # wrong PINs under any spelling count against the one person
    set_config(shop_dir, "till", "pin_attempts", "2")
    cli_error(shop_dir, "sell", "--item", COLA, "--tender", "cash", "--cashier", "Demo", "--pin", "0000")
    assert "locked" in cli_error(shop_dir, "sell", "--item", COLA, "--tender", "cash", "--cashier", "dEMO",
                                 "--pin", "0000")
    assert "locked" in cli_error(shop_dir, "sell", "--item", COLA, "--tender", "cash", *AS_DEMO)


def test_old_mixed_case_duplicates_still_load_and_doctor_names_them(shop_dir: Path):
    with closing(sqlite3.connect(shop_dir / "pos.sqlite3")) as conn, conn:
        conn.execute("INSERT INTO user (name, role, pin_hash, active) VALUES ('Demo', 'cashier', ?, 1)",
                     (hash_pin("5678"),))
    assert [u["name"] for u in cli_json(shop_dir, "user", "list")] == ["Demo", "demo", "manager"]
    cli_json(shop_dir, "sell", "--item", COLA, "--tender", "cash", "--cashier", "Demo", "--pin", "5678")
    cli_json(shop_dir, "sell", "--item", COLA, "--tender", "cash", *AS_DEMO)
    assert [s[2] for s in money_and_rights(shop_dir)["sales"]].count("Demo") == 1
    # a third spelling matches neither exactly: refused, never a guess
    assert cli_error(shop_dir, "sell", "--item", COLA, "--tender", "cash", "--cashier", "DEMO", "--pin", "1234") \
        .startswith("unknown user or wrong PIN")
    doctor = run_cli(shop_dir, "doctor", "--json", check=False)
    assert "Traceback" not in doctor.stderr
    users = next(c for c in __import__("json").loads(doctor.stdout)["checks"] if c["name"] == "users")
    assert users["level"] == "warn" and "Demo" in users["detail"] and "demo" in users["detail"]


# -- the property ---------------------------------------------------------------------------------
BACKUPS = "backups-for-the-test"


@pytest.fixture(scope="module")
def shops(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two demo shops, made once: 'open' (a shift open, one sale T1-000001, a backup from before
    it to restore) and 'closed' (no shift). Wrong PINs never lock anyone here: every attempt is a
    real PIN check."""
    base = tmp_path_factory.mktemp("security")
    open_shop = open_demo_shop(base / "open")
    closed_shop = base / "closed"
    cli_json(closed_shop, "init", "--demo")
    for shop in (open_shop, closed_shop):
        set_config(shop, "till", "pin_attempts", "1000")  # more than the examples try
        cli_json(shop, "sales")  # the configuration change is audited now, not by the first example
    [copy] = cli_json(open_shop, "backup", str(base / BACKUPS))["copies"]  # before the sale: a restore undoes it
    (base / "backup-path").write_text(copy["path"])
    cli_json(open_shop, "sell", "--item", f"{COLA}x2", "--tender", "cash", *AS_DEMO)
    (base / "prices.csv").write_text(f"barcode,name,price,tax\n{COLA},Cola,0.01,A\n", encoding="utf-8")
    return {"open": open_shop, "closed": closed_shop, "base": base}


def _backup_file(base: Path) -> str:
    return (base / "backup-path").read_text()


# (shop, arguments, who may do it: "cashier" = any named person with their PIN, "manager")
COMMANDS = [
    ("open", lambda b: ["sell", "--item", COLA, "--tender", "cash"], "cashier"),
    ("open", lambda b: ["sell", "--item", f"{COLA}x9@0.01", "--tender", "cash"], "manager"),
    ("open", lambda b: ["refund", "T1-000001", "--reason", "Damaged"], "manager"),
    ("open", lambda b: ["void-last", "--reason", "Wrong item"], "manager"),
    ("open", lambda b: ["shift", "paid-in", "1000000", "--reason", "x"], "cashier"),
    ("open", lambda b: ["shift", "paid-out", "99.99", "--reason", "x"], "cashier"),
    ("open", lambda b: ["shift", "paid-out", "100.01", "--reason", "x"], "manager"),
    ("open", lambda b: ["shift", "close", "--counted", "1000"], "manager"),  # far over: a manager's
    ("closed", lambda b: ["shift", "open", "--float", "100"], "cashier"),
    ("open", lambda b: ["user", "add", "mallory", "--role", "manager", "--new-pin", "1111"], "manager"),
    ("open", lambda b: ["user", "disable", "demo"], "manager"),
    ("open", lambda b: ["user", "set-pin", "manager", "--new-pin", "1111"], "manager"),
    ("open", lambda b: ["catalog", "import", str(b / "prices.csv")], "manager"),
    ("open", lambda b: ["restore", _backup_file(b)], "manager"),
]

# (options, environment, whether it is a cashier's own good PIN)
CREDENTIALS = [
    ((), {}, False),
    (("--cashier", "demo", "--pin", "0000"), {}, False),
    (("--cashier", "manager", "--pin", "1234"), {}, False),
    (("--manager", "manager", "--pin", "1234"), {}, False),
    (("--manager", "manager", "--pin", "99990"), {}, False),
    (("--manager", "Manager"), {}, False),  # no PIN and no terminal
    (("--manager", "demo", "--pin", "1234"), {}, True),  # a cashier is no manager
    (("--cashier", "demo", "--pin", "1234"), {}, True),
    ((), {"TUI_POS_USER": "demo", "TUI_POS_PIN": "1234"}, True),
    ((), {"TUI_POS_USER": "manager", "TUI_POS_PIN": "1234"}, False),
    ((), {"TUI_POS_PIN": "9999"}, False),  # a PIN without a person
    (("--cashier", "manager"), {"TUI_POS_USER": "demo", "TUI_POS_PIN": "9999"}, False),
    (("--cashier", "system", "--pin", "9999"), {}, False),
    (("--cashier", "cli", "--pin", "9999"), {}, False),
    (("--cashier", "", "--pin", "9999"), {}, False),
    (("--cashier", "manager\n", "--pin", "1234"), {}, False),
    (("--manager", " manager", "--pin", "0000"), {}, False),
]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(command=st.sampled_from(COMMANDS), credentials=st.sampled_from(CREDENTIALS))
def test_no_command_changes_money_or_rights_without_the_pin_of_someone_allowed(shops, command, credentials):
    shop_name, arguments, allowed = command
    options, env, cashiers_own_pin = credentials
    if allowed == "cashier" and cashiers_own_pin:
        return  # a cashier may do this: not an attack
    shop = shops[shop_name]
    before = money_and_rights(shop)
    proc = run_cli(shop, *arguments(shops["base"]), *options, env=env, check=False)
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode != 0, f"{arguments(shops['base'])} {options} {env} was done: {proc.stdout}"
    assert money_and_rights(shop) == before
