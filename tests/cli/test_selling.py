"""The selling commands (tui_pos/cli/selling.py) in a real subprocess: `tui-pos sales` says what each
record is (a sale, a refund or a void, and of which receipt); selling, split tenders, errors as one
line, status of a sale in progress, journaled sales listed and replayed, --since."""

from __future__ import annotations

import re
import sqlite3
import uuid as uuidlib
from contextlib import closing, contextmanager
from decimal import Decimal
from pathlib import Path

import pytest

from conftest import (
    AS_DEMO,
    COLA,
    NOODLES,
    WATER,
    cli_json,
    database_write_locked,
    journal_dir_replaced_by_a_file,
    open_shift_in,
    run_cli,
)
from tests.cli.test_catalog import demo_catalog
from tui_pos.app.till import CART_DOCUMENT
from tui_pos.bootstrap.till import open_till
from tui_pos.config import load_config
from tui_pos.domain.tender import Tender
from tui_pos.store.documents import DurableDocument

MANAGER = ("--manager", "manager", "--pin", "9999")


def sell_in_cash(shop: Path, *items: str) -> dict:
    args = [a for item in items for a in ("--item", item)]
    return cli_json(shop, "sell", *AS_DEMO, *args, "--tender", "cash", "--no-print")


def test_sales_name_refunds_and_voids_and_the_receipt_they_reverse(shop_dir):
    first = sell_in_cash(shop_dir, f"{COLA}x2")
    second = sell_in_cash(shop_dir, WATER)
    refund = cli_json(shop_dir, "refund", first["receipt"], "--item", COLA, "--reason", "Damaged", *MANAGER,
                      "--no-print")
    void = cli_json(shop_dir, "void-last", "--reason", "Wrong item", *MANAGER, "--no-print")
    assert void["original"] == second["receipt"]  # the last sale (refunds and voids are not sales)
    voided = second["receipt"]

    listed = cli_json(shop_dir, "sales")
    assert [(r["receipt"], r["kind"], r["original"], r["total"]) for r in listed] == [
        (first["receipt"], "sale", None, "7.00"),
        (second["receipt"], "sale", None, "2.00"),
        (refund["receipt"], "refund", first["receipt"], "-3.50"),
        (void["receipt"], "void", voided, "-2.00"),
    ]
    assert {"uuid", "receipt", "completed_at", "cashier", "total", "stored"} <= set(listed[0])  # the keys kept

    text = run_cli(shop_dir, "sales").stdout.splitlines()
    assert len(text) == 4
    assert "sale" in text[0].split() and "refund" not in text[0]
    assert f"refund of {first['receipt']}" in text[2] and "-3.50" in text[2]
    assert f"void of {voided}" in text[3]


def test_a_journaled_refund_is_named_too(shop_dir):
    first = sell_in_cash(shop_dir, COLA)
    with database_write_locked(shop_dir):
        refund = cli_json(shop_dir, "refund", first["receipt"], "--reason", "Damaged", *MANAGER, "--no-print")
        assert refund["stored"] == "journal"
        listed = cli_json(shop_dir, "sales")
    assert [(r["receipt"], r["kind"], r["original"], r["stored"]) for r in listed] == [
        (first["receipt"], "sale", None, "sqlite"), (refund["receipt"], "refund", first["receipt"], "journal")]


def test_the_readme_documents_the_demo_barcodes_and_these_commands():
    """The README's demo barcodes are the demo shop's (name, price, tax, department), and it
    documents catalog list, receipts show/confirm and the payment screen's F10 Retry."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    catalog = {row["barcode"]: row for row in demo_catalog()}
    table = re.findall(r"^\| `(\d{13})` \|([^|]+)\|([^|]+)\|([^|]+)\|([^|]+)\|$", readme, re.MULTILINE)
    assert len(table) >= 8
    for code, name, price, tax, department in table:
        row = catalog[code]
        assert name.strip() == row["name"]
        assert price.strip() == ("open" if Decimal(row["price"]) == 0 else row["price"])
        assert (tax.strip(), department.strip()) == (row["tax"], row["department"])
    assert {row["department"] for row in catalog.values()} == {d.strip() for *_, d in table}  # every department
    for documented in ("tui-pos catalog list", "tui-pos receipts show T1-", "tui-pos receipts confirm T1-",
                       "F10 (or `r`), Retry"):
        assert documented in readme


# -- sell, replay, sales and status (was tests/test_cli.py) ----------------------------------------
# The real `tui-pos` command in subprocesses: selling, split tenders, errors as one line,
# status of a sale in progress, journaled sales listed and replayed, --since.

def db_rows(shop_dir: Path, sql: str) -> list[tuple]:
    with closing(sqlite3.connect(shop_dir / "pos.sqlite3")) as conn:
        return conn.execute(sql).fetchall()


def sell(shop_dir: Path, items: list[str], tenders: list[str]) -> dict:
    args = [a for item in items for a in ("--item", item)] + [a for t in tenders for a in ("--tender", t)]
    return cli_json(shop_dir, "sell", *AS_DEMO, *args)


@contextmanager
def database_replaced_by_garbage(shop_dir: Path):
    """The database file is unreadable (as after disk damage), then put back as it was."""
    db = shop_dir / "pos.sqlite3"
    assert not (shop_dir / "pos.sqlite3-wal").exists()  # every CLI run closed it cleanly
    db.rename(shop_dir / "pos.sqlite3.saved")
    db.write_bytes(b"\x00garbage, not an SQLite file" * 100)
    try:
        yield
    finally:
        db.unlink()
        (shop_dir / "pos.sqlite3.saved").rename(db)


def test_sell_json_reports_the_stored_sale(shop_dir):
    """Scripts rely on these fields: amounts are exact decimal strings, never floats."""
    data = sell(shop_dir, [f"{COLA}x3"], ["cash:20"])
    assert str(uuidlib.UUID(data["uuid"])) == data["uuid"]
    assert (data["receipt"], data["total"], data["paid"], data["change"], data["stored"]) == (
        "T1-000001", "10.50", "20.00", "9.50", "sqlite")
    assert db_rows(shop_dir, "SELECT uuid, total, paid, change FROM sale") == [(data["uuid"], 1050, 2000, 950)]


def test_split_tender_card_mobile_cash_with_change(shop_dir):
    """2 x 3.50 + 4.50 = 11.50; card 2.00 + mobile 1.50 leave 8.00 cash due; 10.00 cash gives 2.00 change."""
    data = sell(shop_dir, [f"{COLA}x2", NOODLES], ["card:2.00:AUTH77", "mobile:1.50:4200001234", "cash:10"])
    assert (data["total"], data["paid"], data["change"]) == ("11.50", "13.50", "2.00")
    assert db_rows(shop_dir, "SELECT tender_no, kind, amount, reference FROM tender ORDER BY tender_no") == [
        (1, "card", 200, "AUTH77"), (2, "mobile", 150, "4200001234"), (3, "cash", 1000, "")]


@pytest.mark.parametrize("tenders, cash_paid", [(["cash"], 550), (["card:1.00", "cash"], 450)])
def test_bare_cash_pays_exactly_what_is_due(shop_dir, tenders, cash_paid):
    """3.50 + 2.00 = 5.50: bare `cash` pays the rest exactly, after any card part."""
    data = sell(shop_dir, [COLA, WATER], tenders)
    assert (data["total"], data["paid"], data["change"]) == ("5.50", "5.50", "0.00")
    assert db_rows(shop_dir, "SELECT amount FROM tender WHERE kind = 'cash'") == [(cash_paid,)]


def assert_one_error_line(proc) -> None:
    """The README's contract for bad input: exit 1, one line on stderr, no traceback."""
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error:"), proc.stderr


@pytest.mark.parametrize("args", [
    ["--item", "6900000009999", "--tender", "cash"],  # unknown code
    ["--item", COLA, "--tender", "cash:1.00"],  # short tender
    ["--item", COLA, "--tender", "cash:12.3.4"],  # malformed amount
    ["--item", COLA, "--tender", "mobile:3.50"],  # mobile without its transaction number
    ["--item", f"{COLA}x0", "--tender", "cash"],  # quantity 0
    ["--item", f"{COLA}xx", "--tender", "cash"],  # quantity not a number
    ["--item", COLA, "--tender", "bitcoin:3.50"],  # unknown tender
    ["--item", f"{COLA}x²", "--tender", "cash"],  # str.isdigit() says yes, int() fails
    ["--item", f"{COLA}x①", "--tender", "cash"],
    ["--item", f"{COLA}x３", "--tender", "cash"],  # int() reads fullwidth and Arabic-Indic digits as 3
    ["--item", f"{COLA}x٣", "--tender", "cash"],
    ["--item", f"{COLA}x{'9' * 5000}", "--tender", "cash"],  # past int()'s 4,300-digit limit
], ids=["unknown-code", "short-tender", "malformed-amount", "mobile-no-ref", "qty-x0", "qty-xx", "bitcoin",
        "qty-superscript", "qty-circled", "qty-fullwidth", "qty-arabic-indic", "qty-5000-digits"])
def test_bad_sell_input_is_one_error_line_and_stores_nothing(shop_dir, args):
    """A cashier or script sees one plain sentence, and no sale nor half a sale is left behind."""
    assert_one_error_line(run_cli(shop_dir, "sell", *AS_DEMO, *args, check=False))
    assert db_rows(shop_dir, "SELECT COUNT(*) FROM sale") == [(0,)]
    assert DurableDocument(CART_DOCUMENT, [shop_dir, shop_dir / "journal"]).load() is None


@pytest.mark.parametrize("command", [["sell", "--item", COLA, "--tender", "cash"], ["status"], ["sales"]])
def test_no_shop_initialised_is_one_error_line(tmp_path, command):
    """Pointing at an empty directory says how to create a shop instead of crashing or creating files."""
    proc = run_cli(tmp_path / "nothing-here", *command, check=False)
    assert_one_error_line(proc)
    assert "init" in proc.stderr
    assert not (tmp_path / "nothing-here").exists()


@pytest.mark.parametrize("args", [
    ["sell", "--item", COLA],
    ["sell", "--tender", "cash", "--item"],
    ["sell", "--item", COLA, "--tender", "cash", "--cash-drawer"],
], ids=["missing-tender", "option-without-value", "unknown-option"])
def test_command_line_usage_errors_are_one_error_line(shop_dir, args):
    """The README promises one line on stderr for bad input; a forgotten --tender is bad input too."""
    assert_one_error_line(run_cli(shop_dir, *args, check=False))


def test_sale_not_stored_anywhere_exits_1_and_says_so(shop_dir):
    """SQLite locked past the retry budget and no journal directory: the script must not think it sold."""
    with database_write_locked(shop_dir), journal_dir_replaced_by_a_file(shop_dir):
        proc = run_cli(shop_dir, "sell", *AS_DEMO, "--item", COLA, "--tender", "cash", "--json", check=False)
    assert_one_error_line(proc)
    assert "SALE NOT STORED" in proc.stderr and "locked" in proc.stderr and "journal" in proc.stderr
    assert proc.stdout == ""
    assert db_rows(shop_dir, "SELECT COUNT(*) FROM sale") == [(0,)]
    assert list((shop_dir / "journal").glob("*.jsonl")) == []


def test_status_shows_the_sale_in_progress_and_a_cli_sale_leaves_it_alone(shop_dir):
    """A cart left at the till is visible from the CLI; a scripted sale beside it is a sale of its
    own and neither restores nor overwrites that cart."""
    till = open_till(load_config(shop_dir), cashier="test")
    till.scan(COLA, 2)
    till.scan(NOODLES)
    cart_uuid = till.cart.uuid
    till.close()

    def shown_cart() -> tuple:
        status = cli_json(shop_dir, "status")
        assert (status["storage"], status["journal_backlog"]) == ("ok", 0)
        cart = status["cart"]
        return cart["uuid"], cart["restored"], cart["total"], [(l["barcode"], l["qty"]) for l in cart["lines"]]

    in_progress = (cart_uuid, True, "11.50", [(COLA, 2), (NOODLES, 1)])  # 2 x 3.50 + 4.50
    assert shown_cart() == in_progress
    sold = sell(shop_dir, [WATER], ["cash"])
    assert (sold["total"], sold["lines"]) == ("2.00", 1) and sold["uuid"] != cart_uuid
    assert shown_cart() == in_progress
    assert db_rows(shop_dir, "SELECT uuid FROM sale") == [(sold["uuid"],)]


def test_journaled_sales_are_listed_then_replayed_once(shop_dir):
    """With SQLite unreadable a sale still completes (journal), is listed, and after repair and
    `replay` is in SQLite exactly once, with its receipt number in sequence."""
    first = sell(shop_dir, [COLA], ["cash"])
    with database_replaced_by_garbage(shop_dir):
        second = sell(shop_dir, [WATER], ["cash:5"])
        assert (second["stored"], second["receipt"], second["change"]) == ("journal", "T1-000002", "3.00")
        listed = cli_json(shop_dir, "sales")
        assert [(r["uuid"], r["stored"], r["total"]) for r in listed] == [(second["uuid"], "journal", "2.00")]
        status = cli_json(shop_dir, "status")
        assert (status["storage"], status["journal_backlog"]) == ("degraded", 1)

    listed = cli_json(shop_dir, "sales")
    assert [(r["receipt"], r["stored"]) for r in listed] == [("T1-000001", "sqlite"), ("T1-000002", "journal")]
    assert cli_json(shop_dir, "replay")["replayed"] == 1
    assert cli_json(shop_dir, "replay")["replayed"] == 0

    listed = cli_json(shop_dir, "sales")
    assert [(r["uuid"], r["receipt"], r["stored"]) for r in listed] == [
        (first["uuid"], "T1-000001", "sqlite"), (second["uuid"], "T1-000002", "sqlite")]
    assert db_rows(shop_dir, "SELECT receipt, stored_via FROM sale ORDER BY seq") == [
        ("T1-000001", "sqlite"), ("T1-000002", "journal")]
    assert cli_json(shop_dir, "status")["storage"] == "ok"


def sell_at(shop_dir: Path, completed_at: str) -> str:
    """One sale through the Till API with a fixed clock; returns its receipt."""
    till = open_till(load_config(shop_dir), cashier="test")
    till.clock = lambda: completed_at
    till.scan(COLA)
    receipt = till.pay([Tender("cash", 350)]).sale.receipt
    till.close()
    return receipt


def test_since_filters_sqlite_and_journaled_sales(shop_dir):
    """--since keeps sales completed at or after the given UTC date/time, wherever they are stored."""
    old_db = sell_at(shop_dir, "2026-11-20T10:00:00.000+00:00")
    new_db = sell_at(shop_dir, "2026-11-22T10:00:00.000+00:00")
    with database_replaced_by_garbage(shop_dir):
        old_journal = sell_at(shop_dir, "2026-11-19T10:00:00.000+00:00")
        new_journal = sell_at(shop_dir, "2026-11-23T10:00:00.000+00:00")

    def listed(*since: str) -> list[tuple[str, str]]:
        return [(r["receipt"], r["stored"]) for r in cli_json(shop_dir, "sales", *since)]

    assert listed() == [(old_journal, "journal"), (old_db, "sqlite"), (new_db, "sqlite"), (new_journal, "journal")]
    assert listed("--since", "2026-11-21") == [(new_db, "sqlite"), (new_journal, "journal")]
    assert listed("--since", "2026-11-22T12:00") == [(new_journal, "journal")]


def test_human_output_follows_the_shops_language_and_json_does_not(tmp_path):
    """[ui] language = "zh_CN": a sale's line and an error are Chinese; --json is the same document
    (keys and codes) in every language."""
    shop = tmp_path / "shop"
    run_cli(shop, "init", "--demo", env={"LANG": "zh_CN.UTF-8"})
    open_shift_in(shop)
    human = run_cli(shop, "sell", *AS_DEMO, "--item", COLA, "--tender", "cash:10").stdout
    assert "合计 ￥3.50" in human and "找零 ￥6.50" in human
    as_json = cli_json(shop, "sell", *AS_DEMO, "--item", COLA, "--tender", "cash:10")
    assert {"uuid", "receipt", "total", "change", "stored"} <= set(as_json) and as_json["change"] == "6.50"
    error = run_cli(shop, "sell", *AS_DEMO, "--item", "6900000009999", "--tender", "cash", check=False).stderr
    assert error.startswith("错误：未知条码") and "Traceback" not in error
