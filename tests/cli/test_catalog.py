"""The catalog commands (tui_pos/cli/catalog.py) in a real subprocess: `tui-pos catalog list` shows
the catalog (also while the database is locked); `catalog import` (below)."""

from __future__ import annotations

import csv
import json
import re
import sqlite3
from contextlib import closing
from decimal import Decimal
from pathlib import Path

import pytest

from conftest import (
    AS_DEMO,
    COLA,
    NOODLES,
    WEIGHED,
    cli_error,
    cli_json,
    database_write_locked,
    run_cli,
    set_config,
)

MANAGER = ("--manager", "manager", "--pin", "9999")


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


def test_catalog_list_shows_stock_on_hand_as_tui_pos_stock_does(shop_dir):
    """The stock column is the one stock answer (store/stock.py), not the catalog's opening stock:
    receipts and adjustments count; an untracked product has none."""
    cli_json(shop_dir, "stock", "receive", "--item", f"{COLA}x24", *AS_DEMO)
    cli_json(shop_dir, "stock", "adjust", "--item", f"{COLA}x-1", "--reason", "damaged", *AS_DEMO)
    [shown] = cli_json(shop_dir, "stock", COLA)
    by_code = {p["barcode"]: p for p in cli_json(shop_dir, "catalog", "list")}
    assert by_code[COLA]["stock"] == shown["on_hand"] == "50"  # 27 in the demo catalog + 24 - 1
    assert by_code[WEIGHED]["stock"] is None
    cola = next(line for line in run_cli(shop_dir, "catalog", "list").stdout.splitlines() if line.startswith(COLA))
    assert " 50 " in cola


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
    # cola has its opening stock (the demo's): the file's 27 is not used, what moved since is kept
    assert cli_json(shop_dir, "catalog", "import", str(csv_path), *MANAGER) == {"imported": 3, "openings": 0,
                                                                                 "stock_kept": [COLA]}
    # 2 x 4.20 + 12.34 + 4.50 (noodles, not in the file, unchanged) + 8.80 keyed = 34.04
    assert sale_total(shop_dir, f"{COLA}x2", NEW_CODE, NOODLES, f"{OTHER_NEW_CODE}@8.80") == "34.04"
    assert cli_json(shop_dir, "status")["products"] == 61  # 59 demo products + 2 new


def test_a_file_s_stock_is_each_new_product_s_opening_recorded_once(shop_dir: Path, tmp_path: Path):
    """A product's opening stock is a count (a record: audited, sent to HQ), made by the import
    that first gives it one; the same file imported again says it kept what the till has, and
    what sold since stays sold."""
    csv_path = write_csv(tmp_path, "new.csv", [f"{NEW_CODE},新商品 New thing,12.34,A,杂货,12,",
                                               f"{OTHER_NEW_CODE},Loose tea (kg),30.00,A,,2.5,yes"],
                         header="barcode,name,price,tax,department,stock,weighed")
    said = run_cli(shop_dir, "catalog", "import", str(csv_path), *MANAGER).stdout
    assert said.splitlines() == ["Imported 2 products", "Opening stock recorded for 2 products."]
    assert [p["on_hand"] for p in cli_json(shop_dir, "stock", NEW_CODE)] == ["12"]
    assert [p["on_hand"] for p in cli_json(shop_dir, "stock", OTHER_NEW_CODE)] == ["2.5"]
    sale_total(shop_dir, f"{NEW_CODE}x2")
    again = run_cli(shop_dir, "catalog", "import", str(csv_path), *MANAGER).stdout
    assert again.splitlines()[1:] == ["2 products have their opening stock already: the file's stock was not used "
                                      "for them (a count changes stock: tui-pos stock count)."]
    assert [p["on_hand"] for p in cli_json(shop_dir, "stock", NEW_CODE)] == ["10"]
    with closing(sqlite3.connect(shop_dir / "pos.sqlite3")) as conn:
        assert conn.execute("SELECT barcode, kind, counted, actor, approved_by FROM stock_move WHERE barcode IN (?, ?) "
                            "ORDER BY barcode", (NEW_CODE, OTHER_NEW_CODE)).fetchall() == [
            (NEW_CODE, "count", 12_000, "manager", "manager"), (OTHER_NEW_CODE, "count", 2_500, "manager", "manager")]
    assert run_cli(shop_dir, "audit", "verify").returncode == 0


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


def test_an_import_without_a_manager_is_refused_in_the_shop_s_language(shop_dir: Path, tmp_path: Path):
    csv_path = write_csv(tmp_path, "cheap.csv", [f"{COLA},Cola,0.01,A,,"])
    set_config(shop_dir, "ui", "language", '"zh_CN"')
    refused = run_cli(shop_dir, "catalog", "import", str(csv_path), check=False)
    assert (refused.returncode, refused.stderr.strip()) == (
        1, "错误：修改商品目录需要经理批准：请给出 --manager 姓名（会询问 PIN，或用 --pin）")


def test_an_import_is_audited_with_each_old_and_new_price(shop_dir: Path, tmp_path: Path):
    csv_path = write_csv(tmp_path, "new.csv", [f"{COLA},可口可乐 330ml,4.20,A,饮料 Drinks,", f"{NOODLES},Noodles,4.50,B,,",
                                               f"{NEW_CODE},新商品 New thing,12.34,A,,"])
    cli_json(shop_dir, "catalog", "import", str(csv_path), *MANAGER)
    with closing(sqlite3.connect(shop_dir / "pos.sqlite3")) as conn:
        [(actor, approved_by, subject, detail)] = conn.execute(
            "SELECT actor, approved_by, subject, detail FROM audit WHERE action = 'catalog_import' "
            "AND actor != 'system'").fetchall()  # not the demo shop's own import
    assert (actor, approved_by, subject) == ("manager", "manager", "3 products")
    # cola: a new price (no stock given: its opening stock is a record of its own); noodles: the
    # same price, a new name and no department
    assert json.loads(detail) == {"file": "new.csv", "added": [{"barcode": NEW_CODE, "price": 1234}],
                                  "changed": [{"barcode": COLA, "was": 350, "now": 420}],
                                  "details_changed": [NOODLES], "unchanged": 0}
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


def test_catalog_list_search_takes_pinyin_issue_16(shop_dir):
    """The CLI's search is the till's look-up: initials find 可口可乐 330ml (and only what they spell)."""
    found = cli_json(shop_dir, "catalog", "list", "--search", "kkkl")
    assert [p["name"] for p in found] == ["可口可乐 330ml"]


def test_a_files_bad_lines_are_said_in_the_shop_s_language(shop_dir: Path, tmp_path: Path):
    """Each bad line, whole, in Chinese: the line number, and why (the core's own words)."""
    csv_path = write_csv(tmp_path, "bad.csv", [f"{COLA},Cola,abc,A,,", "12x,Thing,1.00,A,,", f"{NOODLES},,1.00,A,,"])
    set_config(shop_dir, "ui", "language", '"zh_CN"')
    refused = run_cli(shop_dir, "catalog", "import", str(csv_path), *MANAGER, check=False)
    lines = refused.stderr.strip().splitlines()
    assert refused.returncode == 1 and lines[0].startswith("错误："), refused.stderr
    assert lines[1:] == ["第 2 行：“abc”不是金额（例如 12.50）", "第 3 行：条码 '12x' 必须是 1 到 20 位数字",
                         "第 4 行：名称为空"], lines
