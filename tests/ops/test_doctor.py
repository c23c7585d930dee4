"""`tui-pos doctor` in real subprocesses: a healthy shop passes, and each broken condition fails
its own check with a fix, and makes the command exit 1."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from datetime import timedelta
from pathlib import Path

from conftest import COLA, run_cli, set_config
from mounts import fill, mount_tmpfs
from tui_pos.bootstrap.till import open_till
from tui_pos.config import load_config
from tui_pos.domain.tender import Tender
from tui_pos.ops.backup import run_backup
from tui_pos.store import schema

from .helpers import corrupt_database, doctor, journaled_without_key, sell, utc_iso

CHECKS = ["config", "data_dir", "files", "disk", "database", "wal", "journal", "clock", "printer", "backup",
          "users", "payments"]


def doctor_fails(data_dir: Path, name: str, *words: str) -> dict[str, dict]:
    """Run doctor: it exits 1 and check `name` fails, says what to do, and its detail has these words."""
    code, checks = doctor(data_dir)
    assert code == 1
    check = checks[name]
    assert check["level"] == "fail", check
    assert check["fix"], f"{name} fails without saying what to do"
    for word in words:
        assert word in check["detail"], check
    return checks


def test_healthy_shop_passes_every_check(shop_dir):
    sell(shop_dir)
    run_cli(shop_dir, "backup")
    code, checks = doctor(shop_dir, "--full")
    assert code == 0
    assert list(checks) == CHECKS
    assert {name: c["level"] for name, c in checks.items()} == dict.fromkeys(CHECKS, "ok")
    assert checks["database"]["detail"].startswith("integrity_check ok")
    human = run_cli(shop_dir, "doctor")
    assert human.stdout.count("OK ") == len(CHECKS)


def test_corrupt_database(shop_dir):
    sell(shop_dir)
    corrupt_database(shop_dir)
    checks = doctor_fails(shop_dir, "database", "corrupt")
    assert "restore" in checks["database"]["fix"]
    assert checks["config"]["level"] == "ok"  # the other checks still ran


def test_missing_database(shop_dir):
    (shop_dir / "pos.sqlite3").unlink()
    doctor_fails(shop_dir, "database", "does not exist")
    assert not (shop_dir / "pos.sqlite3").exists(), "doctor must not create a database"


def record_migration(data_dir: Path, name: str) -> None:
    """As a newer tui-pos would: a named migration this one does not know, recorded as run."""
    with closing(sqlite3.connect(data_dir / "pos.sqlite3")) as conn, conn:
        conn.execute(f"INSERT INTO {schema.MIGRATIONS_TABLE} (migration_set, name, applied_at) VALUES (?, ?, ?)",
                     (schema.MIGRATION_SET, name, "2027-01-01 00:00:00"))


def test_a_database_a_newer_tui_pos_upgraded(shop_dir):
    """Its schema number is unchanged (named migrations since): the names say it."""
    record_migration(shop_dir, "stock_moves_from_a_newer_version")
    checks = doctor_fails(shop_dir, "database", "newer tui-pos", "stock_moves_from_a_newer_version")
    assert "upgrade tui-pos" in checks["database"]["fix"]


def test_migrations_waiting_are_named(shop_dir):
    with closing(sqlite3.connect(shop_dir / "pos.sqlite3")) as conn, conn:
        conn.execute(f"DELETE FROM {schema.MIGRATIONS_TABLE} WHERE name = 'sale_approved_by'")
    code, checks = doctor(shop_dir)
    assert checks["database"]["level"] == "warn", checks["database"]
    assert "sale_approved_by" in checks["database"]["detail"] and "start the till" in checks["database"]["fix"]


def test_full_journal_disk(request, tmp_path):
    """The journal directory on a 1 MB tmpfs, filled up."""
    shop, journal = tmp_path / "shop", tmp_path / "journal"
    mount_tmpfs(request, journal, "1m")
    shop.mkdir()
    (shop / "config.toml").write_text(f"[storage]\njournal_dirs = [{json.dumps(str(journal))}]\n")
    run_cli(shop, "init", "--demo")
    fill(journal)
    doctor_fails(shop, "disk", str(journal), "cannot be written")


def test_quarantined_journal_record(shop_dir):
    """A journal line that fails its checksum is quarantined by replay, then doctor fails."""
    line = 'v1 0000000000000000 {"uuid":"d6e5c1aa-0000-4000-8000-000000000001","seq":9}\n'
    (shop_dir / "journal" / "T1-20261121T100000-1-abcdef.jsonl").write_text(line)
    assert json.loads(run_cli(shop_dir, "replay", "--json").stdout)["quarantined"] == 1
    checks = doctor_fails(shop_dir, "journal", "1 journal record(s)", "quarantined")
    assert "quarantine.jsonl" in checks["journal"]["fix"]


def test_damaged_journal_lines_alone_are_said_without_a_wait(shop_dir):
    """A journal file holding nothing but a damaged line: nothing waits in the journal, so doctor warns of
    the line alone (not "0 record(s) wait in the journal since None")."""
    line = 'v1 0000000000000000 {"uuid":"d6e5c1aa-0000-4000-8000-000000000001","seq":9}\n'
    (shop_dir / "journal" / "T1-20261121T100000-1-abcdef.jsonl").write_text(line)
    _, checks = doctor(shop_dir)
    assert (checks["journal"]["level"], checks["journal"]["detail"]) == ("warn", "1 damaged line(s) that replay will "
                                                                                 "quarantine"), checks["journal"]


def test_a_missing_journal_key_fails_the_journal_check_in_the_shop_s_language(shop_dir):
    """journal.key gone while a sale waits for it: doctor says so and how to mend it (nothing was set aside),
    in Chinese when that is the shop's language."""
    journaled_without_key(shop_dir)
    checks = doctor_fails(shop_dir, "journal", "journal key missing: 1 record(s) cannot be checked; restore journal.key "
                                               "from a backup")
    assert "tui_pos_backup_files" in checks["journal"]["fix"]
    set_config(shop_dir, "ui", "language", '"zh_CN"')
    said = run_cli(shop_dir, "doctor", check=False).stdout
    assert "日志密钥缺失：1 条记录无法校验；请从备份恢复 journal.key" in said and "journal key" not in said, said


def test_missing_usb_printer(shop_dir):
    """A USB printer configured by VID:PID that is not on the bus (this machine has no USB)."""
    set_config(shop_dir, "printer", "connection", '"usb:0416:5011"')
    doctor_fails(shop_dir, "printer", "usb 0416:5011")


def test_old_backup(shop_dir):
    """The last good backup is three days old; one is due every 24 h (the default)."""
    config = load_config(shop_dir)
    three_days_ago = utc_iso(-timedelta(days=3))
    assert run_backup(config, clock=lambda: three_days_ago).ok
    checks = doctor_fails(shop_dir, "backup", "72")  # hours
    assert "tui-pos backup" in checks["backup"]["fix"]


def test_clock_in_the_past(shop_dir):
    """The last sale was stored one day 'in the future': the clock went back since."""
    tomorrow = utc_iso(timedelta(days=1))
    till = open_till(load_config(shop_dir), cashier="test", keep_cart=False)
    till.clock = lambda: tomorrow
    till.scan(COLA)
    till.pay([Tender("cash", 350)])
    till.close()
    checks = doctor_fails(shop_dir, "clock", tomorrow)
    assert "timedatectl" in checks["clock"]["fix"]


def test_bad_config_fails_and_the_other_checks_still_run(shop_dir):
    set_config(shop_dir, "till", "id", '"not a till id!"')
    checks = doctor_fails(shop_dir, "config", "[till] id")
    assert list(checks) == CHECKS and checks["database"]["level"] == "ok"


def test_data_directory_open_to_other_users(shop_dir: Path):
    shop_dir.chmod(0o755)
    checks = doctor_fails(shop_dir, "data_dir", "0755")
    assert checks["data_dir"]["fix"] == f"chmod 700 {shop_dir}"
