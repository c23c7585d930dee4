"""Backups that verify themselves, made while another process sells; restore that refuses what it
should and keeps what it replaces. Real files, the real CLI in subprocesses."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

from conftest import COLA, WATER, cli_json, database_write_locked, run_cli, set_config
from tui_pos.config import load_config
from tui_pos.core.tender import Tender
from tui_pos.core.till import Till
from tui_pos.ops import backup
from tui_pos.ops.instance import TillInstanceLock

from .helpers import corrupt_database, flip_bytes, sale_rows, sell

SELLER = """
import sys, time
from pathlib import Path
from tui_pos.config import load_config
from tui_pos.core.tender import Tender
from tui_pos.core.till import Till

data_dir, acks, stop = Path(sys.argv[1]), open(sys.argv[2], "a"), Path(sys.argv[3])
till = Till.open(load_config(data_dir), cashier="demo", keep_cart=False)
deadline = time.monotonic() + 30
while not stop.exists() and time.monotonic() < deadline:
    till.scan("6900000000014")
    paid = till.pay([Tender("cash", 350)])
    acks.write(paid.sale.uuid + " " + paid.stored + "\\n")
    acks.flush()
till.close()
"""


def copy_rows(path: Path, sql: str) -> list[tuple]:
    with closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)) as conn:
        return conn.execute(sql).fetchall()


def acked(path: Path) -> list[str]:
    return [line.split()[0] for line in path.read_text().splitlines()]


def the_backup(result: dict) -> Path:
    [copy] = result["copies"]
    assert copy["ok"], copy
    return Path(copy["path"])


def test_backup_while_another_process_sells(shop_dir, tmp_path):
    """Every sale acknowledged before the backup started is in the copy, and the copy verifies;
    the seller kept selling during the backup."""
    acks, stop = tmp_path / "acks", tmp_path / "stop"
    seller = subprocess.Popen([sys.executable, "-c", SELLER, str(shop_dir), str(acks), str(stop)])
    try:
        while not acks.exists() or len(acks.read_text().splitlines()) < 20:
            assert seller.poll() is None, "the seller died"
            time.sleep(0.02)
        before = acked(acks)
        result = cli_json(shop_dir, "backup")
        during = len(acked(acks)) - len(before)
    finally:
        stop.touch()
        seller.wait(timeout=30)
    assert seller.returncode == 0
    assert result["ok"] and result["error"] == ""
    copy = the_backup(result)
    in_copy = {uuid for (uuid,) in copy_rows(copy, "SELECT uuid FROM sale")}
    assert set(before) <= in_copy
    assert during > 0, "no sale was made while the backup ran: this test proved nothing about selling beside it"
    assert {line.split()[1] for line in acks.read_text().splitlines()} == {"sqlite"}
    count, total = copy_rows(copy, "SELECT COUNT(*), SUM(total) FROM sale")[0]
    assert (result["sales"], result["total"]) == (count, total) == (count, 350 * count)
    verified = cli_json(shop_dir, "backup", "verify", str(copy))
    assert verified["ok"] and verified["checksum"] == "match" and verified["problems"] == []


def test_the_figures_are_the_copys_snapshot(shop_dir, monkeypatch):
    """A sale committed by another connection after the figures were read, just before the copy is
    made, is in neither: figures and copy come from one read transaction."""
    config = load_config(shop_dir)
    sell(shop_dir)
    till = Till.open(config, cashier="demo", keep_cart=False)
    real_copy = backup._copy_to

    def sale_sneaks_in(*args, **kwargs):
        till.scan(WATER)
        till.pay([Tender("cash", 200)])
        return real_copy(*args, **kwargs)

    monkeypatch.setattr(backup, "_copy_to", sale_sneaks_in)
    try:
        result = backup.run_backup(config)
    finally:
        till.close()
    assert result.ok, result
    assert (result.sales, result.total) == (1, 350)
    assert copy_rows(result.copies[0].path, "SELECT COUNT(*), SUM(total) FROM sale") == [(1, 350)]
    assert len(sale_rows(shop_dir / "pos.sqlite3")) == 2


def test_unreplayed_journal_files_are_in_the_backup_and_come_back_on_restore(shop_dir):
    with database_write_locked(shop_dir):
        journaled = sell(shop_dir)
        assert journaled["stored"] == "journal"
        result = cli_json(shop_dir, "backup")
    copy = the_backup(result)
    assert result["journal_files"] == 1
    [(name, content)] = copy_rows(copy, f"SELECT name, content FROM {backup.JOURNAL_TABLE}")
    assert journaled["uuid"].encode() in content
    (shop_dir / "journal" / name).unlink()  # the journal disk is lost before replay
    restored = cli_json(shop_dir, "restore", str(copy))
    assert restored["journal_files"] == [str(shop_dir / "journal" / name)]
    assert cli_json(shop_dir, "replay")["replayed"] == 1
    assert [r[0] for r in sale_rows(shop_dir / "pos.sqlite3")] == [journaled["uuid"]]


def test_retention_keeps_the_newest_copies(shop_dir):
    set_config(shop_dir, "backup", "keep", "2")
    made = [the_backup(cli_json(shop_dir, "backup")) for _ in range(3)]
    kept = sorted(p.name for p in (shop_dir / "backups").iterdir())
    assert kept == sorted([made[1].name, made[2].name, made[1].name + ".sha256", made[2].name + ".sha256"])


def test_backup_to_a_missing_disk_fails_and_is_recorded(shop_dir, tmp_path):
    proc = run_cli(shop_dir, "backup", str(tmp_path / "not-mounted" / "tui-pos"), "--json", check=False)
    assert proc.returncode == 1
    result = json.loads(proc.stdout)
    assert not result["ok"] and "is the disk mounted?" in result["copies"][0]["error"]
    status = cli_json(shop_dir, "status")["backup"]
    assert status["last_attempt_ok"] is False and "not-mounted" in status["last_error"]
    assert not (tmp_path / "not-mounted").exists()


def test_scheduled_backup_never_raises_and_says_when_it_is_due(shop_dir, monkeypatch):
    config = load_config(shop_dir)
    assert backup.backup_due(config)
    assert backup.run_scheduled_backup(config).ok
    assert not backup.backup_due(config)

    def broken(*_args, **_kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(backup, "run_backup", broken)
    result = backup.run_scheduled_backup(config)
    assert not result.ok and "disk on fire" in result.error
    assert backup.last_backup(config)["last_attempt"]["error"] == result.error


def test_verify_detects_bytes_flipped_in_the_middle(shop_dir):
    sell(shop_dir)
    copy = the_backup(cli_json(shop_dir, "backup"))
    flip_bytes(copy, copy.stat().st_size // 2)
    proc = run_cli(shop_dir, "backup", "verify", str(copy), "--json", check=False)
    assert proc.returncode == 1
    assert any("SHA-256" in p for p in json.loads(proc.stdout)["problems"])


def test_verify_without_its_checksum_file_still_detects_a_changed_row(shop_dir):
    """The row digest catches what integrity_check cannot: a changed value in a column no index covers."""
    cli_json(shop_dir, "sell", "--item", COLA, "--tender", "card:3.50:REFDIGEST1")
    copy = the_backup(cli_json(shop_dir, "backup"))
    backup.checksum_path(copy).unlink()
    data = copy.read_bytes()
    assert data.count(b"REFDIGEST1") == 1
    copy.write_bytes(data.replace(b"REFDIGEST1", b"REFDIGEST2"))
    checked = cli_json(shop_dir, "backup", "verify", str(copy), check=False)
    assert not checked["ok"] and checked["checksum"] == "missing"
    assert checked["problems"] == ["the rows differ from the ones backed up (digest mismatch): the file is damaged"]


def test_restore_refuses_a_corrupted_backup_and_changes_nothing(shop_dir):
    sell(shop_dir)
    copy = the_backup(cli_json(shop_dir, "backup"))
    sell(shop_dir)
    before = sale_rows(shop_dir / "pos.sqlite3")
    flip_bytes(copy, copy.stat().st_size // 2)
    proc = run_cli(shop_dir, "restore", str(copy), check=False)
    assert proc.returncode == 1 and "does not verify" in proc.stderr and "nothing was changed" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert sale_rows(shop_dir / "pos.sqlite3") == before
    assert not (shop_dir / backup.SAFETY_DIR).exists()


def test_restore_refuses_while_the_till_runs(shop_dir):
    copy = the_backup(cli_json(shop_dir, "backup"))
    with TillInstanceLock(shop_dir):
        proc = run_cli(shop_dir, "restore", str(copy), check=False)
    assert proc.returncode == 1 and "the till is running" in proc.stderr


def test_restore_brings_the_sales_back_and_keeps_a_safety_copy(shop_dir):
    first, second = sell(shop_dir), sell(shop_dir, WATER)
    copy = the_backup(cli_json(shop_dir, "backup"))
    third = sell(shop_dir)
    restored = cli_json(shop_dir, "restore", str(copy))
    assert sale_rows(shop_dir / "pos.sqlite3") == [(first["uuid"], "T1-000001", 350), (second["uuid"], "T1-000002", 200)]
    safety = Path(restored["safety_copy"])
    assert [r[0] for r in sale_rows(safety)] == [first["uuid"], second["uuid"], third["uuid"]]
    assert restored["not_in_backup"] == [third["receipt"]]
    assert copy_rows(shop_dir / "pos.sqlite3", "SELECT name FROM sqlite_master WHERE name LIKE 'tui_pos_backup%'") == []
    assert copy_rows(shop_dir / "pos.sqlite3", "PRAGMA integrity_check") == [("ok",)]


def test_restore_over_a_corrupt_database(shop_dir):
    first = sell(shop_dir)
    copy = the_backup(cli_json(shop_dir, "backup"))
    corrupt_database(shop_dir)
    restored = cli_json(shop_dir, "restore", str(copy))
    assert [r[0] for r in sale_rows(shop_dir / "pos.sqlite3")] == [first["uuid"]]
    assert (Path(restored["safety_copy"]).parent / "pos.sqlite3").read_bytes()[:2] == b"\xa5\x5a"  # kept as it was
    assert cli_json(shop_dir, "status")["storage"] == "ok"


def test_no_timer_means_never_due(shop_dir):
    set_config(shop_dir, "backup", "every_hours", "0")
    assert not backup.backup_due(load_config(shop_dir))


def test_after_restoring_an_older_backup_no_receipt_number_is_used_twice(shop_dir):
    """T1-000002 was printed after the backup was taken; the restored database lacks it, and the
    next sale must still not be T1-000002 again (two paper receipts with one number)."""
    sell(shop_dir)
    copy = the_backup(cli_json(shop_dir, "backup"))
    lost = sell(shop_dir, WATER)
    assert lost["receipt"] == "T1-000002"
    cli_json(shop_dir, "restore", str(copy))
    assert sell(shop_dir)["receipt"] == "T1-000003"
