"""`tui-pos stock [CODE] [--low]` and `stock receive|adjust|count|import` through the real
entry point (a subprocess per command), on a real demo shop."""

from __future__ import annotations

from conftest import AS_DEMO, COLA, WATER, cli_error, cli_json, run_cli, set_config


def test_receive_count_adjust_and_show(shop_dir):
    [received] = cli_json(shop_dir, "stock", "receive", "--item", f"{COLA}x24", "--cost", "1.80", "--supplier", "Coke",
                          "--ref", "DN-1", *AS_DEMO)
    assert {k: received[k] for k in ("kind", "qty", "expected", "on_hand", "unit_cost", "supplier", "reference")} == {
        "kind": "receive", "qty": "24", "expected": "27", "on_hand": "51", "unit_cost": "1.80", "supplier": "Coke",
        "reference": "DN-1"}
    [counted] = cli_json(shop_dir, "stock", "count", "--item", f"{COLA}x49", *AS_DEMO)
    assert (counted["counted"], counted["expected"], counted["qty"]) == ("49", "51", "-2")
    [adjusted] = cli_json(shop_dir, "stock", "adjust", "--item", f"{COLA}x-1", "--reason", "damaged", *AS_DEMO)
    assert (adjusted["qty"], adjusted["on_hand"], adjusted["reason"]) == ("-1", "48", "damaged")
    [shown] = cli_json(shop_dir, "stock", COLA)
    assert {k: shown[k] for k in ("barcode", "name", "on_hand", "reorder_level")} == {
        "barcode": COLA, "name": "可口可乐 330ml", "on_hand": "48", "reorder_level": None}
    assert COLA in run_cli(shop_dir, "stock").stdout
    assert cli_json(shop_dir, "stock", "--low") == []


def test_a_count_beyond_the_threshold_needs_a_manager(shop_dir):
    message = cli_error(shop_dir, "stock", "count", "--item", f"{WATER}x3", *AS_DEMO)
    assert "counted 3, expected 34: -31" in message and "--manager" in message
    [counted] = cli_json(shop_dir, "stock", "count", "--item", f"{WATER}x3", "--manager", "manager", "--pin", "9999")
    assert counted["approved_by"] == "manager"


def test_an_import_with_bad_lines_changes_nothing(shop_dir, tmp_path):
    bad = tmp_path / "counts.csv"
    bad.write_text(f"barcode,qty\n{COLA},20\n12345,1\n", encoding="utf-8")
    proc = run_cli(shop_dir, "stock", "import", str(bad), *AS_DEMO, check=False)
    assert proc.returncode == 1 and "line 3: unknown code '12345'" in proc.stderr
    [shown] = cli_json(shop_dir, "stock", COLA)
    assert shown["on_hand"] == "27"
    set_config(shop_dir, "ui", "language", '"zh_CN"')  # each bad line, a whole sentence in the shop's language
    said = run_cli(shop_dir, "stock", "import", str(bad), *AS_DEMO, check=False).stderr
    assert "第 3 行：" in said and "12345" in said and "line 3" not in said, said
    set_config(shop_dir, "ui", "language", '"en"')
    good = tmp_path / "receipts.csv"
    good.write_text(f"barcode,qty,kind,cost\n{COLA},12,receive,1.80\n{WATER},6,receive,\n", encoding="utf-8")
    assert [r["on_hand"] for r in cli_json(shop_dir, "stock", "import", str(good), *AS_DEMO)] == ["39", "40"]


def test_low_stock_from_the_catalog_s_reorder_level(shop_dir, tmp_path):
    catalog = tmp_path / "catalog.csv"
    catalog.write_text(f"barcode,name,price,tax,stock,reorder_level,reorder_qty\n{COLA},可口可乐 330ml,3.50,A,27,30,48\n",
                       encoding="utf-8")
    run_cli(shop_dir, "catalog", "import", str(catalog), "--manager", "manager", "--pin", "9999")
    [low] = cli_json(shop_dir, "stock", "--low")
    assert (low["barcode"], low["on_hand"], low["reorder_level"], low["reorder_qty"]) == (COLA, "27", "30", "48")
    assert "LOW" in run_cli(shop_dir, "stock", "--low").stdout


def test_stock_lines_in_the_shop_s_language_and_json_unchanged(shop_dir, tmp_path):
    """[ui] language zh_CN: the human lines of stock, its movements and the reorder report are
    Chinese; --json keeps its keys and values."""
    set_config(shop_dir, "ui", "language", '"zh_CN"')
    out = run_cli(shop_dir, "stock", "adjust", "--item", f"{COLA}x-1", "--reason", "damaged", *AS_DEMO).stdout
    assert "调整 -1（损坏）" in out and "现有库存" in out
    [adjusted] = cli_json(shop_dir, "stock", "adjust", "--item", f"{COLA}x-1", "--reason", "damaged", *AS_DEMO)
    assert (adjusted["kind"], adjusted["reason"]) == ("adjust", "damaged")
    reorder = run_cli(shop_dir, "report", "reorder").stdout
    assert "补货点" in reorder or "没有需要补货的商品。" in reorder
    refused = run_cli(shop_dir, "stock", "adjust", "--item", f"{COLA}x-100", "--reason", "theft", *AS_DEMO, check=False)
    assert (refused.returncode, refused.stderr.strip()) == (
        1, "错误：调整超过 10 件（可口可乐 330ml：-100）需要经理批准：请给出 --manager 姓名（会询问 PIN，或用 --pin）")
    bad = tmp_path / "bad.csv"
    bad.write_text("barcode,qty\n999,1\n", encoding="utf-8")
    refused = run_cli(shop_dir, "stock", "import", str(bad), *AS_DEMO, check=False)
    assert refused.returncode == 1
    assert refused.stderr.splitlines()[0] == "错误：未导入任何内容："  # the file's lines follow as found


def test_a_transfer_out_at_one_shop_in_at_another_through_hq(hq, tmp_path):
    """`stock transfer out`, `sync`, then at the other shop `sync`, `stock transfers`, `stock transfer
    in` (once: again is refused), `sync`: HQ has it received, with its variance."""
    from conftest import FLOAT
    from hq_cluster import till_dir
    from tui_pos.bootstrap.shop import init_shop

    env = {"TUI_POS_HQ_DSN": ""}
    one, other = till_dir(tmp_path / "one", "T1"), till_dir(tmp_path / "other", "T2")
    for data_dir in (one, other):
        init_shop(data_dir, demo=True, shift_float=FLOAT)
    run_cli(one, "hq", "join", hq, "--shop", "S1", "--till", "T1", env=env)
    run_cli(other, "hq", "join", hq, "--shop", "S2", "--till", "T2", env=env)
    unchecked = run_cli(one, "stock", "transfer", "out", "--to", "S9", "--item", f"{COLA}x1", "--ref", "DN-9", *AS_DEMO)
    assert "shop S9 could not be checked" in unchecked.stderr  # no list of the chain's shops yet: sent all the same
    out = cli_json(one, "stock", "transfer", "out", "--to", "S2", "--item", f"{COLA}x4", "--ref", "DN-1", *AS_DEMO)
    assert (out["transfer"], out["peer"], [(r["kind"], r["qty"]) for r in out["lines"]]) == (
        "DN-1", "S2", [("transfer_out", "4")])
    assert "transfer DN-1 was sent from this till already" in cli_error(
        one, "stock", "transfer", "out", "--to", "S2", "--item", f"{COLA}x1", "--ref", "DN-1", *AS_DEMO)
    run_cli(one, "sync", env=env)  # pulls the chain's shops: a mistyped one is refused now, before any PIN
    assert "the chain has no shop S9: HQ's shops are S2 (" in cli_error(
        one, "stock", "transfer", "out", "--to", "S9", "--item", f"{COLA}x1", "--cashier", "demo")
    assert "did you mean S2?" in cli_error(one, "stock", "transfer", "out", "--to", "s2", "--item", f"{COLA}x1",
                                           "--cashier", "demo")
    flagged = run_cli(one, "hq", "transfers", "--dsn", hq, env=env).stdout  # HQ kept DN-9 and flags it
    assert "DN-9: S1 -> S9, sent " in flagged and "SHOP S9 IS NOT AT HQ" in flagged
    assert cli_json(other, "stock", "transfers") == []
    assert cli_json(other, "sync")["transfers"] == 1
    [waiting] = cli_json(other, "stock", "transfers")
    assert (waiting["transfer"], waiting["from_shop"], waiting["lines"]) == ("DN-1", "S1", [{"barcode": COLA, "qty": "4"}])
    got = cli_json(other, "stock", "transfer", "in", "--item", f"{COLA}x3", *AS_DEMO)
    assert [(r["kind"], r["qty"], r["variance"]) for r in got["lines"]] == [("transfer_in", "3", "-1")]
    assert "received at this till already" in cli_error(other, "stock", "transfer", "in", "DN-1", *AS_DEMO)
    run_cli(other, "sync", env=env)
    [done] = cli_json(other, "hq", "transfers", "--shop", "S2", "--dsn", hq)
    assert (done["open"], done["lines"][0]["variance"]) == (False, "-1")


def test_an_import_of_a_fifo_or_a_directory_is_refused_at_once(shop_dir, tmp_path):
    """Opening a FIFO waits for a writer: the command would hang (the CLI fuzzer found it)."""
    import os

    fifo = tmp_path / "counts.csv"
    os.mkfifo(fifo)
    proc = run_cli(shop_dir, "stock", "import", str(fifo), *AS_DEMO, check=False, timeout=20)
    assert proc.returncode == 1 and "is not a regular file" in proc.stderr, proc.stderr
    proc = run_cli(shop_dir, "stock", "import", str(tmp_path), *AS_DEMO, check=False, timeout=20)
    assert proc.returncode == 1 and "is a directory" in proc.stderr, proc.stderr
