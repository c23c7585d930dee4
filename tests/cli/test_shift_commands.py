"""A shift from the command line, through the real `tui-pos` in subprocesses: open, sell, paid-in,
paid-out, refund, void, X, close; Z reports by denomination and by number; manager rules.

Every figure is worked out by hand from the demo catalog (prices include tax; tax per line is
total * rate / (100 + rate), rounded half away from zero):
COLA 3.50 (A 13%), WATER 2.00 (A), NOODLES 4.50 (B 9%).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from conftest import AS_DEMO, COLA, NOODLES, WATER, cli_error, cli_json, run_cli, set_config
from tui_pos.bootstrap.shop import init_shop
from tui_pos.ops.instance import TillInstanceLock

MANAGER = ("--manager", "manager", "--pin", "9999")
CASHIER = ("--cashier", "demo", "--pin", "1234")


def test_a_whole_shift_from_the_command_line(tmp_path: Path):
    shop = tmp_path / "shop"
    init_shop(shop, demo=True)
    opened = cli_json(shop, "shift", "open", "--float", "50.00", *CASHIER)
    assert (opened["shift"], opened["float"], opened["opened_by"]) == (1, "50.00", "demo")

    # T1-000001: 2 COLA + NOODLES = 11.50, cash 20.00, change 8.50
    assert cli_json(shop, "sell", *AS_DEMO, "--item", f"{COLA}x2", "--item", NOODLES, "--tender", "cash:20")["change"] == "8.50"
    cli_json(shop, "sell", *AS_DEMO, "--item", WATER, "--tender", "card:2.00:AUTH1")  # T1-000002: card 2.00
    cli_json(shop, "sell", *AS_DEMO, "--item", COLA, "--tender", "cash")  # T1-000003: cash 3.50
    paid_in = cli_json(shop, "shift", "paid-in", "20.00", "--reason", "change from the bank", *CASHIER)
    assert (paid_in["amount"], paid_in["user"], paid_in["approved_by"]) == ("20.00", "demo", None)
    cli_json(shop, "shift", "paid-out", "5.00", "--reason", "window cleaner", *CASHIER)

    # one of the two COLA of T1-000001 comes back: half of its line (7.00) in cash, its only tender
    refund = cli_json(shop, "refund", "T1-000001", "--item", f"{COLA}x1", "--reason", "Damaged", *MANAGER)
    assert (refund["receipt"], refund["kind"], refund["original"], refund["total"]) == \
        ("T1-000004", "refund", "T1-000001", "-3.50")
    assert refund["lines"] == [{"code": COLA, "name": refund["lines"][0]["name"], "qty": 1, "amount": "-3.50"}]
    assert refund["tenders"] == [{"kind": "cash", "amount": "-3.50", "reference": ""}]
    assert refund["approved_by"] == "manager"
    void = cli_json(shop, "void-last", "--reason", "Wrong item", *MANAGER)  # the last sale: T1-000003
    assert (void["receipt"], void["kind"], void["original"], void["total"]) == ("T1-000005", "void", "T1-000003", "-3.50")
    assert void["tenders"] == [{"kind": "cash", "amount": "-3.50", "reference": ""}]

    x = cli_json(shop, "report", "x")
    assert (x["report"], x["z_number"], x["counted"], x["difference"]) == ("X", None, None, None)
    assert x["sales"] == {"count": 3, "total": "17.00", "discount": "0.00", "tax": "1.81"}  # .81 + .23 + .40 + .37
    assert (x["refunds"]["count"], x["refunds"]["total"], x["voids"]["count"], x["voids"]["total"]) == \
        (1, "-3.50", 1, "-3.50")
    assert x["net_sales"] == "10.00"
    # cash: 20.00 - 8.50 change + 3.50 taken; 3.50 + 3.50 paid back
    assert x["tenders"] == [{"kind": "cash", "sales": "15.00", "refunds": "-7.00", "net": "8.00"},
                            {"kind": "card", "sales": "2.00", "refunds": "0.00", "net": "2.00"}]
    # A: 7.00 + 2.00 + 3.50 - 3.50 - 3.50 = 5.50, tax .81 + .23 + .40 - .41 (half of .81) - .40 = .63
    assert x["taxes"] == [{"code": "A", "rate": "13%", "net": "4.87", "tax": "0.63"},
                          {"code": "B", "rate": "9%", "net": "4.13", "tax": "0.37"}]
    assert (x["first_receipt"], x["last_receipt"]) == ("T1-000001", "T1-000005")
    # 50.00 float + 8.00 cash + 20.00 paid in - 5.00 paid out
    assert (x["float"], x["paid_in"], x["paid_out"], x["expected_cash"]) == ("50.00", "20.00", "5.00", "73.00")

    z = run_cli(shop, "shift", "close", "--counted", "72.50", *CASHIER).stdout
    assert z.split("\n")[0].strip() == "Z REPORT 1"
    assert re.search(r"^EXPECTED +￥73\.00$", z, re.M)
    assert re.search(r"^COUNTED +￥72\.50$", z, re.M)
    assert re.search(r"^SHORT +-￥0\.50$", z, re.M)
    stored = cli_json(shop, "report", "z", "1")
    assert (stored["z_number"], stored["taken_by"], stored["expected_cash"], stored["counted"], stored["difference"]) \
        == (1, "demo", "73.00", "72.50", "-0.50")
    assert stored["tenders"] == x["tenders"] and stored["taxes"] == x["taxes"]
    unprinted = run_cli(shop, "report", "z", "1", "--print", check=False)  # this shop has no printer
    assert unprinted.returncode == 1 and "Z REPORT 1" in unprinted.stdout
    assert unprinted.stderr.strip() == "Warning: the report was not printed: no receipt printer is configured"
    assert cli_error(shop, "shift", "paid-in", "1.00", "--reason", "late", *CASHIER) == \
        "no shift is open: open a shift (count the float into the drawer) first"


def test_z_reports_by_denomination_numbered_printed_and_shown_again(shop_dir: Path, tmp_path: Path):
    """The shop's shift opened with 100.00; nothing sold. The receipt printer writes to a file."""
    paper = tmp_path / "printer.bin"
    set_config(shop_dir, "printer", "connection", f'"file:{paper}"')
    z1 = cli_json(shop_dir, "shift", "close", "--count", "50=1", "--count", "20=2", "--count", "5=1",
                  "--count", "0.5=4", *CASHIER)
    # 50 + 2 x 20 + 5 + 4 x 0.50 = 97.00: 3.00 short
    assert (z1["z_number"], z1["counted"], z1["expected_cash"], z1["difference"]) == (1, "97.00", "100.00", "-3.00")
    assert (z1["printed"], z1["print_error"]) == (True, "")
    assert paper.read_bytes().count(b"Z REPORT 1") == 1 and b"SHORT" in paper.read_bytes()
    assert z1["counted_detail"] == [{"denomination": "50", "count": 1}, {"denomination": "20", "count": 2},
                                    {"denomination": "5", "count": 1}, {"denomination": "0.5", "count": 4}]
    assert cli_json(shop_dir, "shift", "open", "--float", "80", *CASHIER)["shift"] == 2
    z2 = cli_json(shop_dir, "shift", "close", "--counted", "80.00", *CASHIER)
    assert (z2["z_number"], z2["shift"], z2["difference"]) == (2, 2, "0.00")
    backups = sorted((shop_dir / "backups").glob("*.sqlite3"))  # every Z is followed by a verified backup
    assert len(backups) == 2 and cli_json(shop_dir, "backup", "verify", str(backups[-1]))["ok"]

    assert cli_json(shop_dir, "report", "z")["z_number"] == 2
    again = run_cli(shop_dir, "report", "z", "1", "--print").stdout
    assert again.split("\n")[0].strip() == "Z REPORT 1"
    assert re.search(r"^  0\.5 x 4 +2\.00$", again, re.M) and re.search(r"^SHORT +-￥3\.00$", again, re.M)
    assert paper.read_bytes().count(b"Z REPORT 1") == 2
    listed = cli_json(shop_dir, "report", "z", "--list")
    assert [(r["z_number"], r["difference"]) for r in listed] == [(2, "0.00"), (1, "-3.00")]
    assert cli_error(shop_dir, "report", "z", "3") == "there is no Z report 3"
    assert "0.3 is not one of the shop's notes and coins" in cli_error(
        shop_dir, "shift", "close", "--count", "0.3=2")


def test_manager_operations_need_a_manager_not_a_cashier(shop_dir: Path):
    cli_json(shop_dir, "sell", *AS_DEMO, "--item", COLA, "--tender", "cash")  # T1-000001
    hint = "give --manager NAME (the PIN is asked for, or --pin)"
    assert cli_error(shop_dir, "refund", "T1-000001", "--reason", "Damaged") == f"a refund needs a manager: {hint}"
    assert cli_error(shop_dir, "refund", "T1-000001", "--reason", "Damaged", "--manager", "demo", "--pin", "1234") \
        == "demo is not a manager"
    assert cli_error(shop_dir, "void-last", "--reason", "Other", "--manager", "demo", "--pin", "1234") \
        == "demo is not a manager"
    assert cli_error(shop_dir, "shift", "paid-out", "100.01", "--reason", "bank", *CASHIER) \
        == f"a paid-out over 100 needs a manager: {hint}"
    # 100.00 float + 3.50 = 103.50 expected; 150.00 counted is 46.50 over the 10.00 limit
    assert cli_error(shop_dir, "shift", "close", "--counted", "150", *CASHIER) \
        == f"the drawer is ￥46.50 over: a manager must close the shift: {hint}"
    x = cli_json(shop_dir, "report", "x")
    assert (x["refunds"]["count"], x["voids"]["count"], x["paid_out"]) == (0, 0, "0.00")  # nothing went through

    paid_out = cli_json(shop_dir, "shift", "paid-out", "100.01", "--reason", "bank", *MANAGER)
    assert (paid_out["user"], paid_out["approved_by"]) == ("manager", "manager")
    z = cli_json(shop_dir, "shift", "close", "--counted", "150", *MANAGER)  # expected 3.49: 146.51 over
    assert (z["taken_by"], z["expected_cash"], z["difference"]) == ("manager", "3.49", "146.51")


def test_wrong_manager_pins_lock_the_manager_out(shop_dir: Path):
    set_config(shop_dir, "till", "pin_attempts", "2")
    cli_json(shop_dir, "sell", *AS_DEMO, "--item", COLA, "--tender", "cash")
    refund = ("refund", "T1-000001", "--reason", "Damaged", "--manager", "manager", "--pin")
    assert cli_error(shop_dir, *refund, "0000") == "unknown user or wrong PIN (1 more tries before a lockout)"
    assert cli_error(shop_dir, *refund, "0001") == "unknown user or wrong PIN; manager is locked for 5 min"
    assert cli_error(shop_dir, *refund, "9999") == \
        "manager is locked after 2 wrong PINs: try again in 5 min or ask a manager"
    assert cli_json(shop_dir, "report", "x")["refunds"]["count"] == 0


def test_opening_and_closing_are_refused_while_the_till_runs(shop_dir: Path):
    with TillInstanceLock(shop_dir):
        running = f"the till is running on {shop_dir.resolve()} (pid {os.getpid()})"
        assert cli_error(shop_dir, "shift", "close", "--counted", "100") == \
            f"{running}: close the shift at the till (its shift would go stale), or stop it first"
        assert cli_error(shop_dir, "shift", "open", "--float", "100").startswith(running)
        assert cli_json(shop_dir, "shift", "paid-in", "10", "--reason", "coins", *CASHIER)["amount"] == "10.00"
        assert cli_json(shop_dir, "report", "x")["expected_cash"] == "110.00"


def test_bad_amounts_are_one_line_errors(shop_dir: Path):
    assert cli_error(shop_dir, "shift", "paid-in", "1.234", "--reason", "x") == "'1.234' has more than 2 decimals"
    assert cli_error(shop_dir, "shift", "close", "--counted", "lots") == "'lots' is not an amount (expected e.g. 12.50)"
    assert cli_error(shop_dir, "shift", "close") == \
        "count the drawer: give --counted AMOUNT, or --count NOTE=HOW_MANY for each note and coin (one of the two)"
