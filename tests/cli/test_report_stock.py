"""`tui-pos report reorder|anomalies|margin` (cli/report.py) through the real entry point."""

from __future__ import annotations

from conftest import AS_DEMO, COLA, WATER, cli_json, run_cli


def test_reorder_as_json_and_csv(shop_dir, tmp_path):
    catalog = tmp_path / "catalog.csv"
    catalog.write_text(f"barcode,name,price,tax,stock,reorder_level\n{COLA},Cola,3.50,A,27,30\n", encoding="utf-8")
    run_cli(shop_dir, "catalog", "import", str(catalog), "--manager", "manager", "--pin", "9999")
    [row] = cli_json(shop_dir, "report", "reorder")
    assert (row["barcode"], row["on_hand"], row["reorder_level"], row["suggested"]) == (COLA, "27", "30", "33")
    assert run_cli(shop_dir, "report", "reorder", "--csv").stdout.splitlines() == [
        "barcode,name,department,on_hand,reorder_level,reorder_qty,suggested", f"{COLA},Cola,,27,30,,33"]


def test_anomalies_and_margin(shop_dir):
    run_cli(shop_dir, "stock", "receive", "--item", f"{COLA}x3", "--cost", "2.00", *AS_DEMO)
    run_cli(shop_dir, "stock", "count", "--item", f"{WATER}x0", "--manager", "manager", "--pin", "9999")
    run_cli(shop_dir, "sell", "--item", f"{COLA}x2", "--tender", "cash:7.00", "--no-print", *AS_DEMO)
    found = cli_json(shop_dir, "report", "anomalies")
    assert [(w["kind"], w["subject"]) for w in found] == [("count_variance", WATER)]
    assert "counted 0, expected 34" in run_cli(shop_dir, "report", "anomalies").stdout
    rows = cli_json(shop_dir, "report", "margin")
    [cola] = [r for r in rows if r["barcode"] == COLA]
    assert (cola["qty"], cola["revenue"], cola["cost"], cola["margin"], cola["unit_cost"]) == (
        "2", "6.19", "4.00", "2.19", "2.00")


def test_csv_to_a_fifo_nobody_reads_is_refused_at_once(shop_dir, tmp_path):
    """Opening a FIFO to write waits for a reader: the command would hang (the CLI fuzzer found it)."""
    import os

    from conftest import run_cli

    fifo = tmp_path / "out.csv"
    os.mkfifo(fifo)
    proc = run_cli(shop_dir, "report", "reorder", "--csv", str(fifo), check=False, timeout=20)
    assert proc.returncode == 1 and f"cannot write {fifo}" in proc.stderr, proc.stderr
