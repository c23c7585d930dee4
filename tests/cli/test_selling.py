"""The selling commands in a real subprocess: `tui-pos sales` says what each record is (a sale, a
refund or a void, and of which receipt), and `tui-pos catalog list` shows the catalog."""

from __future__ import annotations

import csv
import re
from decimal import Decimal
from pathlib import Path

from conftest import AS_DEMO, COLA, NOODLES, WATER, WEIGHED, cli_json, database_write_locked, run_cli
from tui_pos.config import load_config
from tui_pos.app.till import Till

MANAGER = ("--manager", "manager", "--pin", "9999")


def sell(shop: Path, *items: str) -> dict:
    args = [a for item in items for a in ("--item", item)]
    return cli_json(shop, "sell", *AS_DEMO, *args, "--tender", "cash", "--no-print")


def test_sales_name_refunds_and_voids_and_the_receipt_they_reverse(shop_dir):
    first = sell(shop_dir, f"{COLA}x2")
    second = sell(shop_dir, WATER)
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
    first = sell(shop_dir, COLA)
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
