"""`tui-pos hq ...`, the real CLI in real processes against a real PostgreSQL: the contract (names,
--json), where the DSN comes from, and bad input or an unreachable HQ as one line, never a traceback."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conftest import in_chinese, run_cli
from hq_cluster import till_dir
from nobody import as_nobody, nobody_shop  # noqa: F401 - a fixture

psycopg = pytest.importorskip("psycopg", reason="psycopg (3) is not installed: pip install -e .[test] (make venv)")

NO_ENV = {"TUI_POS_HQ_DSN": ""}


def hq_json(data_dir: Path, *args: str, env: dict[str, str] | None = None):
    return json.loads(run_cli(data_dir, "hq", *args, "--json", env={**NO_ENV, **(env or {})}).stdout)


def one_line_error(proc) -> str:
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), proc.stderr
    return lines[0]


def test_init_shop_add_join_and_tills_with_json(hq_dsn, tmp_path):
    nowhere = tmp_path / "not-a-till"
    first = hq_json(nowhere, "init", hq_dsn)
    assert first["version"] == first["migrations"][-1]["version"] and first["applied"] == [m["name"] for m in first["migrations"]]
    assert "password" not in json.dumps(first)
    assert hq_json(nowhere, "init", hq_dsn)["applied"] == []  # idempotent

    assert hq_json(nowhere, "shop", "add", "S1", "--name", "First", "--dsn", hq_dsn) == {
        "shop": "S1", "name": "First", "added": True}
    assert hq_json(nowhere, "shop", "add", "S1", env={"TUI_POS_HQ_DSN": hq_dsn}) == {
        "shop": "S1", "name": "First", "added": False}

    data_dir = till_dir(tmp_path / "t1")
    joined = hq_json(data_dir, "join", hq_dsn, "--shop", "S1")
    assert {k: joined[k] for k in ("till", "shop", "rejoined", "high_water")} == {
        "till": "T1", "shop": "S1", "rejoined": False, "high_water": 0}
    assert joined["config"] == str(data_dir / "config.toml") and joined["secret"] == str(data_dir / "hq" / "secret.json")
    assert "password" not in psycopg.conninfo.conninfo_to_dict(joined["dsn"])
    assert hq_json(data_dir, "join", hq_dsn, "--shop", "S1", "--till", "T1")["rejoined"] is True

    tills = hq_json(nowhere, "tills", "--dsn", hq_dsn)
    assert tills == [{"shop": "S1", "shop_name": "First", "till": "T1", "enrolled_at": tills[0]["enrolled_at"],
                      "last_seen": None, "minutes_since_seen": None, "records": 0, "high_water": 0, "pending": None,
                      "state": "never", "alerts": [], "status": {}}]
    assert hq_json(data_dir, "tills") == tills  # no --dsn, no $TUI_POS_HQ_DSN: the till's own (it sees itself)
    human = run_cli(nowhere, "hq", "tills", "--dsn", hq_dsn, env=NO_ENV).stdout
    assert human.splitlines()[1].split() == ["S1", "T1", "never", "never", "0", "?"]


def test_every_hq_command_says_what_is_wrong_in_one_line(hq, tmp_path, pg_cluster):
    nowhere = tmp_path / "not-a-till"
    down = f"host=127.0.0.1 port={pg_cluster.port} dbname=nothing_here user=postgres password={pg_cluster.password}"
    closed = "host=127.0.0.1 port=1 dbname=hq user=admin connect_timeout=5"
    cases = [
        (("hq", "tills", "--dsn", closed), "Error: HQ cannot be reached at admin@127.0.0.1:1/hq: Connection refused"),
        (("hq", "init", closed), "Error: HQ cannot be reached at admin@127.0.0.1:1/hq"),
        (("hq", "tills", "--dsn", down), 'database "nothing_here" does not exist'),
        (("hq", "tills", "--dsn", "not a dsn"), "Error: not a PostgreSQL DSN"),
        (("hq", "tills"), "Error: which HQ? give --dsn DSN, set TUI_POS_HQ_DSN, or run it on a till that has joined"),
        (("hq", "shop", "add", "S 1", "--dsn", hq), "Error: 'S 1' is not a shop id"),
        (("hq", "shop", "add", "S1", "--name", "Other", "--dsn", hq), "Error: shop S1 is at HQ already, named 'First'"),
        (("hq", "join", hq, "--shop", "S1"), "Error: no shop in"),
    ]
    for args, says in cases:
        assert says in one_line_error(run_cli(nowhere, *args, env=NO_ENV, check=False)), args
    hq_dsn_only = psycopg.conninfo.make_conninfo(hq, password="wrong")
    assert "password authentication failed" in one_line_error(
        run_cli(nowhere, "hq", "tills", "--dsn", hq_dsn_only, env=NO_ENV, check=False))
    password = hq.split("password=")[1]
    for args in (("hq", "tills", "--dsn", hq_dsn_only), ("hq", "init", hq_dsn_only)):
        assert password not in run_cli(nowhere, *args, env=NO_ENV, check=False).stderr


def test_a_till_is_refused_what_only_an_administrator_may_do(hq, tmp_path):
    data_dir = till_dir(tmp_path / "t1")
    run_cli(data_dir, "hq", "join", hq, "--shop", "S1", env=NO_ENV)
    line = one_line_error(run_cli(data_dir, "hq", "shop", "add", "S3", env=NO_ENV, check=False))
    assert "permission denied for table shop" in line and "needs an HQ administrator's DSN" in line
    assert "hq init needs the database's owner" in one_line_error(
        run_cli(data_dir, "hq", "init", _till_dsn(data_dir), env=NO_ENV, check=False))


def _till_dsn(data_dir: Path) -> str:
    from tui_pos.config import load_config
    from tui_pos.hq.enrol import till_dsn

    return till_dsn(load_config(data_dir))


def test_a_second_box_joining_as_an_enrolled_till_is_refused_in_one_line(hq, tmp_path):
    run_cli(till_dir(tmp_path / "box1"), "hq", "join", hq, "--shop", "S1", env=NO_ENV)
    line = one_line_error(run_cli(till_dir(tmp_path / "box2"), "hq", "join", hq, "--shop", "S1", env=NO_ENV, check=False))
    assert "till T1 is already enrolled at HQ by another box (shop S1, since" in line


def test_joined_as_root_the_tills_own_user_can_read_what_join_wrote(hq, nobody_shop):
    """`sudo tui-pos hq join ...` on a till run by another user: hq/ and its secret are that user's."""
    run_cli(nobody_shop, "hq", "join", hq, "--shop", "S1", env=NO_ENV)
    for path in (nobody_shop / "hq", nobody_shop / "hq" / "secret.json", nobody_shop / "config.toml"):
        assert (path.stat().st_uid, path.stat().st_gid) == (65534, 65534), path
    proc = as_nobody(nobody_shop, "hq", "tills", "--json")  # as the till's user, with the till's own DSN
    assert proc.returncode == 0, proc.stderr
    assert [t["till"] for t in json.loads(proc.stdout)] == ["T1"]


def test_sales_report_and_verify_of_the_chain(hq, two_days_shop, tmp_path):
    """The two days' till (tests/app/test_reports.py) pushed to HQ, asked in UTC+8 from another machine."""
    from tests.hq.tills import push_till

    t1 = Path(shutil.copytree(two_days_shop, tmp_path / "t1"))
    count = push_till(hq, t1, "S1")
    nowhere, env = tmp_path / "admin", {"TUI_POS_HQ_DSN": hq, "TZ": "CST-8"}
    sales = hq_json(nowhere, "sales", "--day", "2026-03-01", env=env)
    assert [(s["receipt"], s["shop"], s["till"], s["kind"], s["total"]) for s in sales] == [
        ("T1-000001", "S1", "T1", "sale", "5.50"), ("T1-000002", "S1", "T1", "sale", "11.50"),
        ("T1-000003", "S1", "T1", "sale", "6.00"), ("T1-000004", "S1", "T1", "refund", "-3.50")]
    assert sales[1]["tenders"] == [{"kind": "cash", "amount": "20.00"}] and sales[1]["change"] == "8.50"
    assert hq_json(nowhere, "sales", "--day", "2026-03-01", "--shop", "S2", env=env) == []
    human = run_cli(nowhere, "hq", "sales", "--from", "2026-03-01", "--to", "2026-03-02", env=env).stdout
    assert human.splitlines()[0] == "6 sales, refunds and voids at HQ for 2026-03-01 to 2026-03-02"

    report = hq_json(nowhere, "report", "--from", "2026-03-01", "--to", "2026-03-02", env=env)
    own = json.loads(run_cli(t1, "report", "sales", "--from", "2026-03-01", "--to", "2026-03-02", "--json",
                             env={"TZ": "CST-8"}).stdout)
    shop, empty = report["shops"]
    assert (shop["shop"], shop["name"], [t["till"] for t in shop["tills"]]) == ("S1", "First", ["T1"])
    assert (empty["shop"], empty["tills"], empty["report"]["net"]) == ("S2", [], "0.00")  # a shop without tills yet
    for key in ("sales", "refunds", "voids", "net", "tax", "tenders", "taxes", "days", "hours"):
        assert report["chain"][key] == shop["report"][key] == shop["tills"][0]["report"][key] == own[key], key
    assert report["z_reports"] == []
    text = run_cli(nowhere, "hq", "report", "--day", "2026-03-01", env=env).stdout.splitlines()
    assert text[0] == "HQ report 2026-03-01"
    assert text[3].split() == ["chain", "3", "23.00", "-3.50", "0.00", "19.50", "cash", "8.00,", "card", "6.00,",
                               "mobile", "5.50"]
    assert text[5].split()[:2] == ["till", "T1"] and text[-1] == "No Z report was taken."

    verified = hq_json(nowhere, "verify", env=env)
    assert [(v["till"], v["records"], v["ok"]) for v in verified] == [("T1", count, True)]
    assert run_cli(nowhere, "hq", "verify", env=env).stdout == f"S1 T1: {count} records, OK\n"
    with psycopg.connect(hq, autocommit=True) as admin:
        [commit] = admin.execute("DELETE FROM hq.record WHERE record->>'seq' = '2' RETURNING commit_seq").fetchone()
    proc = run_cli(nowhere, "hq", "verify", env=env, check=False)
    assert proc.returncode == 1
    assert proc.stdout == f"S1 T1: {count - 1} records, commit {commit} missing; 1 receipt numbers missing (2)\n"
    for args in (("sales", "--day", "2026-13-01"), ("report", "--day", "2026-03-01", "--from", "2026-03-01")):
        assert one_line_error(run_cli(nowhere, "hq", *args, env=env, check=False)).startswith("Error: ")


def test_hq_catalog_import_and_users_with_json_and_errors_by_line(hq, tmp_path):
    nowhere = tmp_path / "not-a-till"
    csv_file = tmp_path / "catalog.csv"
    csv_file.write_text("barcode,name,price,tax,department,stock\n6900000000014,Cola,3.50,A,Drinks,12\n"
                        "6900000000021,Water,2.00,13,Drinks,\n")
    imported = hq_json(nowhere, "catalog", "import", str(csv_file), "--dsn", hq)
    assert {k: imported[k] for k in ("shop", "products", "added", "changed", "unchanged")} == {
        "shop": None, "products": 2, "added": 2, "changed": 0, "unchanged": 0}
    own = hq_json(nowhere, "catalog", "import", str(csv_file), "--shop", "S1", "--dsn", hq)
    assert (own["shop"], own["added"]) == ("S1", 2) and own["version"] > imported["version"]
    human = run_cli(nowhere, "hq", "catalog", "import", str(csv_file), "--dsn", hq, env=NO_ENV).stdout
    assert human.startswith("Imported 2 products for the chain: 0 added, 0 changed, 2 unchanged (catalog version ")
    bad = tmp_path / "bad.csv"
    bad.write_text("barcode,name,price,tax\n6900000000014,Cola,3.50,Q\nx,Water,2.00,A\n")
    proc = run_cli(nowhere, "hq", "catalog", "import", str(bad), "--dsn", hq, env=NO_ENV, check=False)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "line 2: tax 'Q' is not a configured rate (A=13%, B=9%)" in proc.stderr
    assert "line 3: barcode 'x' must be 1 to 20 digits" in proc.stderr
    assert "shop S9 is not at HQ" in one_line_error(
        run_cli(nowhere, "hq", "catalog", "import", str(csv_file), "--shop", "S9", "--dsn", hq, env=NO_ENV, check=False))

    added = hq_json(nowhere, "user", "add", "ann", "--role", "manager", "--new-pin", "1234", "--dsn", hq)
    assert {k: added[k] for k in ("name", "role", "active")} == {"name": "ann", "role": "manager", "active": True}
    proc = run_cli(nowhere, "hq", "user", "add", "bob", "--role", "cashier", "--dsn", hq, env=NO_ENV,
                   input="5678\n5678\n")
    assert proc.stdout.startswith("Added cashier bob (catalog version ")
    assert hq_json(nowhere, "user", "set-pin", "BOB", "--new-pin", "4321", "--dsn", hq)["name"] == "bob"
    assert hq_json(nowhere, "user", "disable", "bob", "--dsn", hq)["active"] is False
    assert "bob is already disabled" in one_line_error(
        run_cli(nowhere, "hq", "user", "disable", "bob", "--dsn", hq, env=NO_ENV, check=False))
    assert "a PIN is 4 to 8 digits" in one_line_error(
        run_cli(nowhere, "hq", "user", "add", "eve", "--role", "cashier", "--new-pin", "1", "--dsn", hq,
                env=NO_ENV, check=False))
    assert hq_json(nowhere, "user", "enable", "bob", "--dsn", hq)["active"] is True
    assert [(u["name"], u["active"]) for u in hq_json(nowhere, "user", "list", "--dsn", hq)] == [
        ("ann", True), ("bob", True)]
    assert run_cli(nowhere, "hq", "user", "list", "--dsn", hq, env=NO_ENV).stdout.split() == [
        "ann", "manager", "bob", "cashier"]



def test_hq_tax_and_settings_with_json(hq, tmp_path):
    nowhere = tmp_path / "not-a-till"
    assert hq_json(nowhere, "tax", "set", "C", "6", "--dsn", hq)["rate"] == "6%"
    assert hq_json(nowhere, "settings", "set", "reasons.refund", "Broken", "Other", "--dsn", hq)["value"] == [
        "Broken", "Other"]
    assert run_cli(nowhere, "hq", "settings", "set", "discount_limit", "20", "--dsn", hq, env=NO_ENV
                   ).stdout.startswith("discount_limit = 20 (catalog version ")
    listed = hq_json(nowhere, "settings", "list", "--dsn", hq)
    assert listed["tax_rates"] == {"A": "13%", "B": "9%", "C": "6%"}
    assert listed["settings"]["discount_limit"] == "20"
    assert "'colour' is not a setting HQ keeps" in one_line_error(
        run_cli(nowhere, "hq", "settings", "set", "colour", "red", "--dsn", hq, env=NO_ENV, check=False))


def test_restore_till_on_a_new_box(hq, two_days_shop, tmp_path):
    from tests.hq.tills import push_till

    count = push_till(hq, Path(shutil.copytree(two_days_shop, tmp_path / "dead")), "S1")
    new_box, nowhere, env = tmp_path / "new", tmp_path / "admin", {"TUI_POS_HQ_DSN": hq}
    done = hq_json(nowhere, "restore-till", "T1", "--data-dir", str(new_box), env=env)
    assert {k: done[k] for k in ("till", "shop", "data_dir", "records", "high_water")} == {
        "till": "T1", "shop": "S1", "data_dir": str(new_box), "records": count, "high_water": count}
    assert "password" not in psycopg.conninfo.conninfo_to_dict(done["dsn"])
    assert [t["till"] for t in hq_json(new_box, "tills")] == ["T1"]  # the new box reaches HQ as T1
    assert "holds a shop already" in one_line_error(
        run_cli(nowhere, "hq", "restore-till", "T1", "--data-dir", str(new_box), env={**NO_ENV, **env}, check=False))


def test_a_shops_stock_reports_transfers_and_alerts_at_hq(hq, tmp_path):
    """hq stock, hq report reorder|anomalies, hq transfers and hq alerts over what a till synced
    (the till's own `stock receive`, `sync`); hq report (the takings) is still what it was."""
    from conftest import COLA, open_demo_shop

    shop = open_demo_shop(tmp_path / "till")
    run_cli(shop, "hq", "join", hq, "--shop", "S1", env=NO_ENV)
    run_cli(shop, "stock", "receive", "--item", f"{COLA}x5", "--cashier", "demo", "--pin", "1234", env=NO_ENV)
    run_cli(shop, "sync", env=NO_ENV)
    catalog = tmp_path / "hq.csv"
    catalog.write_text(f"barcode,name,price,tax,reorder_level\n{COLA},Cola,3.50,A,40\n", encoding="utf-8")
    run_cli(shop, "hq", "catalog", "import", str(catalog), "--dsn", hq, env=NO_ENV)
    nowhere = tmp_path / "admin"
    nowhere.mkdir()
    env = {"TUI_POS_HQ_DSN": hq}
    [cola] = hq_json(nowhere, "stock", "--shop", "S1", COLA, env=env)
    assert {k: cola[k] for k in ("shop", "barcode", "name", "on_hand", "reorder_level", "low", "tills")} == {
        "shop": "S1", "barcode": COLA, "name": "Cola", "on_hand": "32", "reorder_level": "40", "low": True, "tills": 1}
    # the demo catalog's opening stock (27, an opening count) and the 5 received: the till's own figure
    assert [r["barcode"] for r in hq_json(nowhere, "stock", "--shop", "S1", "--low", env=env)] == [COLA]
    [order] = hq_json(nowhere, "report", "reorder", "--shop", "S1", env=env)
    assert (order["barcode"], order["in_transit"], order["suggested"]) == (COLA, "0", "48")  # twice the level, less what is there
    warnings = hq_json(nowhere, "report", "anomalies", "--shop", "S1", env=env)
    assert [(w["kind"], w["subject"]) for w in warnings] == [("low_stock", COLA)]
    alerts = hq_json(nowhere, "alerts", env=env)  # the till's own (as it pushed them), then the shop's low stock
    [alert] = [a for a in alerts if a["key"] == "hq_low_stock:S1"]
    assert "Cola 32/40" in alert["message"]
    assert "Cola 0/40" in next(a["message"] for a in alerts if a["key"] == "hq_low_stock:S2")  # none there
    assert all(a["key"].startswith(("hq_till:S1:T1:", "hq_low_stock:")) for a in alerts)
    assert hq_json(nowhere, "transfers", env=env) == []
    assert "LOW" in run_cli(nowhere, "hq", "stock", "--shop", "S1", env={**NO_ENV, **env}).stdout
    assert hq_json(nowhere, "report", "--shop", "S1", env=env)["shops"][0]["shop"] == "S1"
    # 5 sent from S2 and not received yet: on their way, so S1 orders 5 fewer (what comes is not ordered twice)
    from conftest import FLOAT
    from tui_pos.bootstrap.shop import init_shop

    other = till_dir(tmp_path / "other", "T2")
    init_shop(other, demo=True, shift_float=FLOAT)
    run_cli(other, "hq", "join", hq, "--shop", "S2", "--till", "T2", env=NO_ENV)
    run_cli(other, "stock", "transfer", "out", "--to", "S1", "--item", f"{COLA}x5", "--cashier", "demo", "--pin", "1234",
            env=NO_ENV)
    run_cli(other, "sync", env=NO_ENV)
    [order] = hq_json(nowhere, "report", "reorder", "--shop", "S1", env=env)
    assert (order["on_hand"], order["in_transit"], order["suggested"]) == ("32", "5", "43")
    assert "5 in transit to the shop" in run_cli(nowhere, "hq", "report", "reorder", "--shop", "S1",
                                                  env={**NO_ENV, **env}).stdout
    assert "shop S9 is not at HQ" in one_line_error(
        run_cli(nowhere, "hq", "stock", "--shop", "S9", env={**NO_ENV, **env}, check=False))


def test_hq_commands_speak_the_tills_language_and_their_json_does_not_change(hq, tmp_path):
    """On a till whose [ui] language is zh_CN, the hq commands' human output is Chinese; --json is
    the same document as in English."""
    data_dir = till_dir(tmp_path / "t1")
    english = hq_json(data_dir, "join", hq, "--shop", "S1")
    tills_in_english = hq_json(data_dir, "tills")
    in_chinese(data_dir)
    joined = run_cli(data_dir, "hq", "join", hq, "--shop", "S1", env=NO_ENV).stdout
    assert joined.startswith("收银台 T1 以 ") and "重新加入总部的门店 S1" in joined, joined
    tills = run_cli(data_dir, "hq", "tills", env=NO_ENV).stdout.splitlines()
    assert tills[0].split() == ["门店", "收银台", "状态", "最后联系", "记录", "待上传", "警报"], tills
    assert tills[1].split() == ["S1", "T1", "从未", "从未", "0", "?"], tills
    verified = run_cli(data_dir, "hq", "verify", "--dsn", hq, env=NO_ENV).stdout
    assert verified.strip() == "S1 T1：0 条记录，正常", verified
    assert set(hq_json(data_dir, "join", hq, "--shop", "S1")) == set(english)
    assert hq_json(data_dir, "tills") == tills_in_english


def test_a_shops_stock_line_says_its_goods_in_transit_when_there_are_any():
    """hq stock's human line: the till's stock line, then what is on its way to the shop and what
    it sent that was not received, each only when there is some."""
    from tui_pos import i18n
    from tui_pos.cli.hq import _level_row, _shop_level_line

    row = {"barcode": "6900000000014", "name": "Cola", "department": "", "weighed": False, "on_hand": 17_000,
           "reorder_level": None, "reorder_qty": None, "tracked": True, "last_moved": None, "tills": 1,
           "in_transit": 10_000, "in_transit_out": 2_500}
    assert _shop_level_line(_level_row(row, "S2")).endswith("17  10 in transit to the shop  2.5 sent, not received yet")
    none = _shop_level_line(_level_row({**row, "in_transit": 0, "in_transit_out": 0}, "S2"))
    assert none.endswith(" 17") and "transit" not in none and "sent" not in none
    i18n.use_language("zh_CN")
    assert "在途（调入本店）10" in _shop_level_line(_level_row(row, "S2"))
