"""What the till writes to its log file for support: logins and failed logins (never a PIN, nor
an unknown name that may be one), sales, refunds and voids with their receipt and total as money,
refusals, shifts opened and closed, Z reports. Through the real CLI, and the Till API for the UI's
login, on a real shop directory."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import AS_DEMO, COLA, WATER, cli_json, run_cli
from tui_pos.bootstrap.till import open_till
from tui_pos.config import load_config
from tui_pos.domain.errors import PosError
from tui_pos.ops.logs import LOG_DIR, LOG_FILE, setup_logging

MANAGER = ("--manager", "manager", "--pin", "9999")


def log_text(shop: Path) -> str:
    return (shop / LOG_DIR / LOG_FILE).read_text(encoding="utf-8")


def line_with(text: str, *words: str) -> str:
    """The one log line holding every word (fails when there is none)."""
    found = [line for line in text.splitlines() if all(w in line for w in words)]
    assert found, f"no log line with {words}:\n{text}"
    return found[-1]


def test_sales_refusals_shifts_and_z_are_logged_with_money(shop_dir):
    sale = cli_json(shop_dir, "sell", *AS_DEMO, "--item", f"{COLA}x3", "--item", WATER, "--tender", "cash:20", "--no-print")
    assert (sale["total"], sale["change"]) == ("12.50", "7.50")
    refund = cli_json(shop_dir, "refund", sale["receipt"], "--item", COLA, "--reason", "Damaged", *MANAGER,
                      "--no-print")
    assert run_cli(shop_dir, "void-last", "--reason", "Oops", *MANAGER, check=False).returncode == 1  # refunded
    cli_json(shop_dir, "sell", *AS_DEMO, "--item", WATER, "--tender", "cash", "--no-print")
    assert run_cli(shop_dir, "void-last", "--reason", "Oops", check=False).returncode == 1  # needs a manager
    expected = cli_json(shop_dir, "report", "x")["expected_cash"]
    z = cli_json(shop_dir, "shift", "close", "--counted", expected, "--cashier", "demo", "--pin", "1234")
    opened = cli_json(shop_dir, "shift", "open", "--float", "150", "--cashier", "demo", "--pin", "1234")

    log = log_text(shop_dir)
    line = line_with(log, f"sale {sale['receipt']}:")
    assert "total 12.50" in line and "cash 20.00" in line and "change 7.50" in line and "sqlite" in line
    line = line_with(log, "refund", refund["receipt"])
    assert f"of {sale['receipt']}" in line and "total -3.50" in line and "approved by manager" in line
    assert "by cli" in line_with(log, "refused: a void needs a manager")
    assert f"{sale['receipt']} already has a refund" in line_with(log, "refused: void of the last sale by manager")
    line = line_with(log, f"Z {z['z_number']}")
    assert f"counted {expected}" in line and "difference 0.00" in line and "by demo" in line
    assert "float 150.00" in line_with(log, f"shift {opened['shift']} opened", "by demo")
    assert "(cashier)" in line_with(log, "PIN accepted for demo")  # --cashier demo: signed in for one command
    assert not re.search(r"total -?\d{3,}\b", log)  # amounts are money, never fen (total 1250)
    assert "1234" not in log and "9999" not in log


def test_failed_logins_name_nobody_who_may_be_a_pin(shop_dir):
    wrong = run_cli(shop_dir, "shift", "paid-in", "5", "--reason", "float", "--cashier", "demo", "--pin", "4321",
                    check=False)
    assert wrong.returncode == 1
    typo = run_cli(shop_dir, "shift", "paid-in", "5", "--reason", "float", "--cashier", "86421357", "--pin", "2468",
                   check=False)  # a PIN typed into the name field
    assert typo.returncode == 1
    log = log_text(shop_dir)
    assert "4 more tries" in line_with(log, "login failed", "demo")
    line_with(log, "login failed", "(unknown user)")
    for secret in ("4321", "86421357", "2468"):
        assert secret not in log


@pytest.fixture
def till_logging(shop_dir):
    """This process logs into the shop's log file, as the till UI does; put back afterwards."""
    handlers = setup_logging(shop_dir, interactive=False)
    yield lambda: [h.flush() for h in handlers]
    setup_logging(shop_dir / "missing", interactive=False)


def test_the_uis_login_lockout_and_manager_approval_are_logged(shop_dir, till_logging):
    till = open_till(load_config(shop_dir), cashier="")
    try:
        till.login("demo", "1234")
        till.approve("manager", "9999", "no_sale")
        with pytest.raises(PosError):
            till.approve("demo", "1234", "no_sale")  # not a manager
        for _ in range(5):
            with pytest.raises(PosError):
                till.login("manager", "0000")
        with pytest.raises(PosError):
            till.login("manager", "9999")  # locked out now, even with the right PIN
    finally:
        till.close()
    till_logging()
    log = log_text(shop_dir)
    assert "cashier" in line_with(log, "login demo")
    assert "no_sale" in line_with(log, "manager", "approved")
    assert "not a manager" in line_with(log, "refused", "demo")
    line_with(log, "login failed", "manager", "locked")
    assert "9999" not in log and "0000" not in log and "1234" not in log


def test_a_sales_log_line_names_no_item_and_no_payment_reference(shop_dir):
    """The log (and so the support bundle) says which receipt and how much, not what was bought
    nor the card or mobile payment's reference."""
    sale = cli_json(shop_dir, "sell", *AS_DEMO, "--item", COLA, "--tender", "card:2.00:AUTH-77321",
                    "--tender", "mobile:1.50:4200009988776655", "--no-print")
    line = line_with(log_text(shop_dir), f"sale {sale['receipt']}:")
    assert "card 2.00" in line and "mobile 1.50" in line
    for private in ("AUTH-77321", "4200009988776655", COLA, "可口可乐"):
        assert private not in line
