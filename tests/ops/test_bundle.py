"""`tui-pos support-bundle`: what support needs, and no secret: no PIN hash, no token."""

from __future__ import annotations

import json
import sqlite3
import tarfile
from contextlib import closing

from conftest import cli_json, run_cli, set_config

from .helpers import sell

TOKEN = "tok-9f8e7d6c5b4a"
HOOK = f"curl -s -H 'Authorization: Bearer {TOKEN}' -d @- https://alerts.example.invalid/till"


def read_bundle(path) -> dict[str, str]:
    with tarfile.open(path) as tar:
        return {m.name.split("/", 1)[1]: tar.extractfile(m).read().decode() for m in tar.getmembers() if m.isfile()}


def test_bundle_contents_and_no_secrets(shop_dir, tmp_path):
    sell(shop_dir)
    set_config(shop_dir, "alerts", "hook", json.dumps(HOOK))
    set_config(shop_dir, "keys", "pay", '"f12,ctrl+p"')
    run_cli(shop_dir, "backup")
    with closing(sqlite3.connect(shop_dir / "pos.sqlite3")) as conn:
        pin_hash = conn.execute("SELECT pin_hash FROM user WHERE name = 'demo'").fetchone()[0]
        user_version = conn.execute("PRAGMA user_version").fetchone()[0]
    assert pin_hash.startswith("scrypt$")
    with (shop_dir / "logs" / "tui-pos.log").open("a") as log:  # a line an older version might have logged
        log.write(f"2026-11-21 10:00:00 INFO tui_pos.x[1]: loaded user demo pin_hash={pin_hash} hook={HOOK}\n")

    out = tmp_path / "bundle.tar.gz"
    assert cli_json(shop_dir, "support-bundle", "--output", str(out))["path"] == str(out)
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    files = read_bundle(out)
    assert sorted(files) == ["backups.json", "config.toml", "doctor.json", "journal.json", "logs/tui-pos.log",
                             "schema.json", "status.json"]
    everything = "\n".join(files.values())
    assert "scrypt$" not in everything.replace("scrypt$[REDACTED]", "")
    assert pin_hash.split("$")[-1] not in everything
    assert TOKEN not in everything and "alerts.example.invalid" not in everything
    assert 'hook = "[REDACTED]"' in files["config.toml"]
    assert 'pay = "f12,ctrl+p"' in files["config.toml"]  # key bindings are not secrets
    assert json.loads(files["schema.json"])["user_version"] == user_version
    assert json.loads(files["schema.json"])["rows"]["sale"] == 1
    assert json.loads(files["doctor.json"])["ok"] is True
    assert json.loads(files["status.json"])["last_sale"]["receipt"] == "T1-000001"
    assert json.loads(files["backups.json"])["last"]["last_ok"]["sales"] == 1


def test_bundle_summarises_the_journal_without_the_sales(shop_dir, tmp_path):
    good = 'v1 0000000000000000 {"uuid":"d6e5c1aa-0000-4000-8000-000000000001","total":4242}\n'
    (shop_dir / "journal" / "T1-20261121T100000-1-abcdef.jsonl").write_text(good * 2)
    out = tmp_path / "bundle.tar.gz"
    run_cli(shop_dir, "support-bundle", "--output", str(out))
    files = read_bundle(out)
    journal = json.loads(files["journal.json"])
    [directory] = journal["directories"]
    assert directory["files"] == [{"name": "T1-20261121T100000-1-abcdef.jsonl", "bytes": 2 * len(good), "records": 0,
                                   "damaged_lines": 2, "torn_tail": False}]
    assert "4242" not in files["journal.json"]


def test_bundle_of_a_broken_config_redacts_by_line(shop_dir, tmp_path):
    (shop_dir / "config.toml").write_text(f'[alerts]\nhook = "{HOOK}"\napi_token = {TOKEN}\n[till\n')
    out = tmp_path / "bundle.tar.gz"
    run_cli(shop_dir, "support-bundle", "--output", str(out))
    files = read_bundle(out)
    assert files["config.toml"] == '[alerts]\nhook = "[REDACTED]"\napi_token = "[REDACTED]"\n[till\n'
    assert json.loads(files["doctor.json"])["checks"][0]["level"] == "fail"


def test_bundle_to_a_fifo_nobody_reads_is_refused_at_once(shop_dir, tmp_path):
    """--output opens its file as --csv does (tui_pos.files.open_to_write): a FIFO without a reader
    is refused (ENXIO), the command does not wait for one."""
    import os

    fifo = tmp_path / "bundle.tar.gz"
    os.mkfifo(fifo)
    proc = run_cli(shop_dir, "support-bundle", "--output", str(fifo), check=False, timeout=20)
    assert proc.returncode == 1 and f"cannot write {fifo}" in proc.stderr, proc.stderr
