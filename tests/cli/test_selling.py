"""The selling commands (tui_pos/cli/selling.py) in a real subprocess: `tui-pos sales` says what each
record is (a sale, a refund or a void, and of which receipt), and `tui-pos catalog list` shows the
catalog; selling, split tenders, errors as one line, status of a sale in progress, journaled sales
listed and replayed, --since; `catalog import` (below)."""

from __future__ import annotations

import csv
import json
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
    WEIGHED,
    cli_error,
    cli_json,
    database_write_locked,
    journal_dir_replaced_by_a_file,
    run_cli,
)
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


def demo_catalog() -> list[dict[str, str]]:
    path = Path(__file__).resolve().parents[2] / "tui_pos" / "demo_catalog.csv"
    with path.open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_catalog_list_shows_every_product(shop_dir):
    listed = cli_json(shop_dir, "catalog", "list")
    expected = demo_catalog()
    assert [p["barcode"] for p in listed] == sorted(p["barcode"] for p in expected)
    by_code = {p["barcode"]: p for p in listed}
    for row in expected:
        shown = by_code[row["barcode"]]
        assert (shown["name"], Decimal(shown["price"]), shown["tax"], shown["department"]) == (
            row["name"], Decimal(row["price"]), row["tax"], row["department"])
        assert re.fullmatch(r"\d+\.\d\d", shown["price"])  # money, not fen
        assert shown["open_price"] is (Decimal(row["price"]) == 0)
    assert by_code[WEIGHED]["open_price"] is True and by_code[COLA]["open_price"] is False
    assert by_code[COLA]["tax_rate"] == "13%" and by_code[NOODLES]["tax_rate"] == "9%"

    text = run_cli(shop_dir, "catalog", "list").stdout.splitlines()
    cola = next(line for line in text if line.startswith(COLA))
    assert "可口可乐 330ml" in cola and "3.50" in cola and "A" in cola.split()
    weighed = next(line for line in text if line.startswith(WEIGHED))
    assert "open price" in weighed


def test_catalog_search_by_name_code_or_department(shop_dir):
    assert [p["barcode"] for p in cli_json(shop_dir, "catalog", "list", "--search", "可口")] == [COLA]
    assert [p["barcode"] for p in cli_json(shop_dir, "catalog", "list", "--search", "coca")] == []
    drinks = [r["barcode"] for r in demo_catalog() if "Drinks" in r["department"]]
    assert sorted(p["barcode"] for p in cli_json(shop_dir, "catalog", "list", "--search", "drinks")) == sorted(drinks)
    assert "No product matches" in run_cli(shop_dir, "catalog", "list", "--search", "zzz-nothing").stdout


def test_catalog_list_works_while_the_database_is_locked(shop_dir):
    """Support looks at the catalog beside a busy till: reading it takes no write lock."""
    with database_write_locked(shop_dir):
        assert COLA in {p["barcode"] for p in cli_json(shop_dir, "catalog", "list")}


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


# -- catalog import (was tests/test_catalog_import_cli.py) -----------------------------------------
# `tui-pos catalog import` through the real CLI in a subprocess against a real shop on disk:
# a bad file is refused as a whole with every bad line named; a good file updates and adds; only a
# manager imports, and the audit log says what changed, in the same transaction as the change.

NEW_CODE = "6911111111118"
OTHER_NEW_CODE = "6922222222225"


def write_csv(tmp_path: Path, name: str, rows: list[str], header: str = "barcode,name,price,tax,department,stock") -> Path:
    path = tmp_path / name
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def sale_total(shop_dir: Path, *items: str) -> str:
    """Sell items through the CLI (bare cash pays exactly) and return the sale's total."""
    args = [arg for item in items for arg in ("--item", item)]
    return cli_json(shop_dir, "sell", *args, "--tender", "cash", *AS_DEMO)["total"]


def assert_no_traceback(proc) -> None:
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr


def test_a_file_with_bad_lines_is_refused_whole(shop_dir: Path, tmp_path: Path):
    """2 bad lines of 5: exit 1, both line numbers named, no traceback, and not even the good
    lines (a new code, a new price for cola) reach the catalog."""
    csv_path = write_csv(tmp_path, "bad.csv", [
        f"{NEW_CODE},新商品 New thing,5.00,A,杂货,10",  # line 2: good
        f"{COLA},可口可乐 330ml,9.99,A,饮料 Drinks,27",  # line 3: good (a price change)
        "6933333333331,坏价格 Bad price,abc,A,,",  # line 4: bad price
        "6944444444444,好的 Fine,1.00,B,,",  # line 5: good
        "6955555555555,坏税率 Bad tax,1.00,13.5,,",  # line 6: 13.5 % is not a configured rate
    ])
    proc = run_cli(shop_dir, "catalog", "import", str(csv_path), *MANAGER, check=False)
    assert proc.returncode == 1
    assert_no_traceback(proc)
    assert "line 4:" in proc.stderr and "line 6:" in proc.stderr
    for good_line in ("line 2:", "line 3:", "line 5:"):
        assert good_line not in proc.stderr
    assert proc.stdout == ""

    sell = run_cli(shop_dir, "sell", "--item", NEW_CODE, "--tender", "cash", *AS_DEMO, check=False)
    assert sell.returncode == 1
    assert f"unknown code '{NEW_CODE}'" in sell.stderr
    assert sale_total(shop_dir, COLA) == "3.50"  # the demo price, untouched


def test_a_good_file_updates_existing_barcodes_and_adds_new_ones(shop_dir: Path, tmp_path: Path):
    csv_path = write_csv(tmp_path, "good.csv", [
        f"{COLA},可口可乐 330ml,4.20,A,饮料 Drinks,27",  # was 3.50
        f"{NEW_CODE},新商品 New thing,12.34,9,杂货,",  # tax by percentage
        f"{OTHER_NEW_CODE},称重 Weighed,0,B,熟食,",  # open price
    ])
    assert cli_json(shop_dir, "catalog", "import", str(csv_path), *MANAGER) == {"imported": 3}
    # 2 x 4.20 + 12.34 + 4.50 (noodles, not in the file, unchanged) + 8.80 keyed = 34.04
    assert sale_total(shop_dir, f"{COLA}x2", NEW_CODE, NOODLES, f"{OTHER_NEW_CODE}@8.80") == "34.04"
    assert cli_json(shop_dir, "status")["products"] == 61  # 59 demo products + 2 new


@pytest.mark.parametrize("bad_row", [
    "6966666666666,x,1.00,sNaN,,",  # Decimal syntax, but not a number
    "6966666666666,x,99999999999999999999,A,,",  # beyond SQLite's 64-bit integers
    "6966666666666,x,1.00,A,,99999999999999999999999",  # stock beyond SQLite's 64-bit integers
])
def test_exotic_cells_are_a_line_error_not_a_traceback(shop_dir: Path, tmp_path: Path, bad_row: str):
    """Whatever is in the file, the cashier gets `Error: ... line N ...` on one line, never a
    Python traceback, and nothing is imported."""
    csv_path = write_csv(tmp_path, "exotic.csv", [f"{NEW_CODE},good,5.00,A,,", bad_row])
    proc = run_cli(shop_dir, "catalog", "import", str(csv_path), *MANAGER, check=False)
    assert proc.returncode == 1
    assert_no_traceback(proc)
    assert "line 3:" in proc.stderr
    assert "unknown code" in run_cli(shop_dir, "sell", "--item", NEW_CODE, "--tender", "cash", *AS_DEMO, check=False).stderr


def prices(shop_dir: Path) -> dict[str, int]:
    with closing(sqlite3.connect(shop_dir / "pos.sqlite3")) as conn:
        return dict(conn.execute("SELECT barcode, price FROM product"))


@pytest.mark.parametrize("who", [(), AS_DEMO, ("--manager", "demo", "--pin", "1234"),
                                 ("--manager", "manager", "--pin", "0000")])
def test_only_a_manager_imports(shop_dir: Path, tmp_path: Path, who: tuple[str, ...]):
    """Issue 11: anyone could set any price to 0.01 from the command line, unaudited."""
    csv_path = write_csv(tmp_path, "cheap.csv", [f"{COLA},Cola,0.01,A,,"])
    before = prices(shop_dir)
    cli_error(shop_dir, "catalog", "import", str(csv_path), *who)
    assert prices(shop_dir) == before


def test_an_import_is_audited_with_each_old_and_new_price(shop_dir: Path, tmp_path: Path):
    csv_path = write_csv(tmp_path, "new.csv", [f"{COLA},可口可乐 330ml,4.20,A,饮料 Drinks,", f"{NOODLES},Noodles,4.50,B,,",
                                               f"{NEW_CODE},新商品 New thing,12.34,A,,"])
    cli_json(shop_dir, "catalog", "import", str(csv_path), *MANAGER)
    with closing(sqlite3.connect(shop_dir / "pos.sqlite3")) as conn:
        [(actor, approved_by, subject, detail)] = conn.execute(
            "SELECT actor, approved_by, subject, detail FROM audit WHERE action = 'catalog_import' "
            "AND actor != 'system'").fetchall()  # not the demo shop's own import
    assert (actor, approved_by, subject) == ("manager", "manager", "3 products")
    # cola: a new price (and no stock count); noodles: the same price, a new name and no department
    assert json.loads(detail) == {"file": "new.csv", "added": [{"barcode": NEW_CODE, "price": 1234}],
                                  "changed": [{"barcode": COLA, "was": 350, "now": 420}],
                                  "details_changed": [COLA, NOODLES], "unchanged": 0}
    assert run_cli(shop_dir, "audit", "verify").returncode == 0


def test_a_price_change_that_cannot_be_audited_is_not_made(shop_dir: Path, tmp_path: Path):
    """The catalog write and its audit entry are one transaction: no entry, no change."""
    with closing(sqlite3.connect(shop_dir / "pos.sqlite3")) as conn, conn:
        conn.execute("CREATE TRIGGER no_audit BEFORE INSERT ON audit "
                     "WHEN NEW.action = 'catalog_import' BEGIN SELECT RAISE(ABORT, 'audit disk gone'); END")
    before = prices(shop_dir)
    message = cli_error(shop_dir, "catalog", "import", str(write_csv(tmp_path, "c.csv", [f"{COLA},Cola,0.01,A,,"])),
                        *MANAGER)
    assert "audit disk gone" in message and "nothing was changed" in message
    assert prices(shop_dir) == before
