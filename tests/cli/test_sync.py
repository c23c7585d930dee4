"""`tui-pos sync [--json]` (cli/sync.py), the real command in a subprocess against a real PostgreSQL:
what it pushed, pulled and left pending; one line and exit status 1 when HQ cannot be reached."""

from __future__ import annotations

from pathlib import Path

from conftest import AS_DEMO, COLA, cli_json, open_demo_shop, run_cli
from hq_cluster import enrol
from pgcluster import free_port
from tui_pos.hq.connection import connect
from tui_pos.hq.enrol import with_hq_section


def test_sync_pushes_everything_and_says_so(hq, tmp_path: Path):
    shop = open_demo_shop(tmp_path / "shop")
    enrol(hq, shop)
    first = cli_json(shop, "sync")
    assert set(first) >= {"pushed", "pulled", "pending", "high_water", "state"}
    assert first["pushed"] > 0 and first["pushed"] == first["high_water"]
    assert (first["pending"], first["pulled"], first["state"]) == (0, 0, "synced")
    run_cli(shop, "sell", *AS_DEMO, "--item", COLA, "--tender", "cash", "--no-print")
    text = run_cli(shop, "sync").stdout
    with connect(hq) as admin:
        held = admin.execute("SELECT count(*), max(commit_seq) FROM hq.record").fetchone()
    assert held[0] == held[1] > first["high_water"]
    hq_status = cli_json(shop, "status")["hq"]  # what the sync left in hq/sync-state.json
    assert (hq_status["state"], hq_status["pending"], hq_status["last_sync"] is not None) == ("synced", 0, True)
    assert text.startswith(f"Pushed {held[0] - first['high_water']} record(s) to HQ, pulled 0 change(s); "
                           f"HQ has every commit up to {held[1]}; still pending: 0.")


def test_hq_out_of_reach_is_one_line_and_a_failure(hq, tmp_path: Path):
    shop = open_demo_shop(tmp_path / "shop")
    enrol(hq, shop)
    config = shop / "config.toml"
    config.write_text(with_hq_section(config.read_text(), f"host=127.0.0.1 port={free_port()} dbname=hq user=t1", "S1"))
    proc = run_cli(shop, "sync", "--json", check=False)
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.startswith("Error: HQ cannot be reached at t1@127.0.0.1:") and proc.stderr.count("\n") == 1
    hq_status = cli_json(shop, "status")["hq"]
    assert hq_status["state"] == "offline"


def test_a_till_that_has_not_joined_hq_is_told_how(tmp_path: Path):
    shop = open_demo_shop(tmp_path / "shop")
    proc = run_cli(shop, "sync", check=False)
    assert (proc.returncode, proc.stderr) == (1, "Error: this till has not joined HQ: tui-pos hq join DSN --shop SHOP\n")


def test_sync_reports_the_tills_health_and_leaves_its_state_for_status(hq, tmp_path: Path):
    """What the worker does, by hand: HQ gets the health report with the records, and `status` says
    how the sync went (synced, or offline with why) without reaching HQ itself."""
    shop = open_demo_shop(tmp_path / "shop")
    enrol(hq, shop)
    done = cli_json(shop, "sync")
    with connect(hq) as admin:
        status = admin.execute("SELECT status FROM hq.till WHERE till_id = 'T1'").fetchone()[0]
    assert status["storage"] == "ok" and status["shift"]["number"] == 1 and status["version"]
    assert "clock_offset_s" in status and isinstance(status["alerts"], list)
    hq_said = cli_json(shop, "status")["hq"]
    assert (hq_said["state"], hq_said["high_water"], hq_said["pending"]) == ("synced", done["high_water"], 0)
    assert hq_said["last_sync"]
    config = shop / "config.toml"
    config.write_text(with_hq_section(config.read_text(), f"host=127.0.0.1 port={free_port()} dbname=hq user=t1", "S1"))
    assert run_cli(shop, "sync", check=False).returncode == 1
    hq_said = cli_json(shop, "status")["hq"]
    assert hq_said["state"] == "offline" and hq_said["last_error"].startswith("HQ cannot be reached")
    assert hq_said["high_water"] == done["high_water"]  # what HQ last said is kept


def test_sync_pulls_what_hq_changed_and_keeps_the_version_it_applied(hq, tmp_path: Path):
    import json

    from tui_pos.hq.catalog import catalog_version, import_catalog
    from tui_pos.hq.people import add_user

    shop = open_demo_shop(tmp_path / "shop")
    enrol(hq, shop)
    with connect(hq) as admin:
        import_catalog(admin, f"barcode,name,price,tax\n{COLA},Cola,4.20,A\n")
        add_user(admin, "ann", "manager", "4321")
        version = catalog_version(admin)
    first = cli_json(shop, "sync")
    assert (first["pulled"], first["catalog_version"]) == (2, version)
    assert json.loads((shop / "hq" / "sync-state.json").read_text())["catalog_version"] == version
    assert {p["barcode"]: p["price"] for p in cli_json(shop, "catalog", "list")}[COLA] == "4.20"
    assert "ann" in {u["name"] for u in cli_json(shop, "user", "list")}
    again = cli_json(shop, "sync")
    assert (again["pulled"], again["catalog_version"]) == (0, version)
    assert run_cli(shop, "sync").stdout.rstrip().endswith(f"HQ's catalog is applied up to version {version}.")


def test_a_till_whose_id_changed_after_joining_is_told_what_to_do(hq, tmp_path: Path):
    """HQ takes only records carrying the id the till joined with: a [till] id edited afterwards would
    have every push refused as another till's; sync says so in one line instead, before reaching HQ."""
    shop = open_demo_shop(tmp_path / "shop")
    enrol(hq, shop)
    config = shop / "config.toml"
    config.write_text(config.read_text().replace('id = "T1"', 'id = "T2"', 1))
    proc = run_cli(shop, "sync", check=False)
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.startswith("Error: this till joined HQ as till T1, but its [till] id is now T2")
    assert 'set id = "T1" again' in proc.stderr and proc.stderr.count("\n") == 1
    config.write_text(config.read_text().replace('id = "T2"', 'id = "T1"', 1))
    assert cli_json(shop, "sync")["state"] == "synced"
