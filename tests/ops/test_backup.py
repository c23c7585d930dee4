"""Backups that verify themselves, made while another process sells; restore that refuses what it
should and keeps what it replaces. Real files, the real CLI in subprocesses."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import stat
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pytest

from conftest import AS_DEMO, COLA, WATER, cli_json, database_write_locked, run_cli, set_config
from tui_pos.bootstrap.till import open_till
from tui_pos.config import load_config
from tui_pos.domain.auth import LoginFailed
from tui_pos.domain.tender import Tender
from tui_pos.ops import backup
from tui_pos.ops.instance import TillInstanceLock
from tui_pos.store import schema

from .helpers import corrupt_database, flip_bytes, sale_rows, sell

SELLER = """
import sys, time
from pathlib import Path
from tui_pos.config import load_config
from tui_pos.domain.tender import Tender
from tui_pos.bootstrap.till import open_till

data_dir, acks, stop = Path(sys.argv[1]), open(sys.argv[2], "a"), Path(sys.argv[3])
till = open_till(load_config(data_dir), cashier="demo", keep_cart=False)
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
    till = open_till(config, cashier="demo", keep_cart=False)
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


def test_a_damaged_line_waiting_in_the_journal_is_the_journal_s_warning_not_a_failed_copy(shop_dir):
    """A line damaged in the journal before replay sets it aside is copied as it is: the copy verifies (it is
    what the source is) and the damage is said as the journal's, by the backup and by verify."""
    with database_write_locked(shop_dir):
        sell(shop_dir)
    [journal_file] = (shop_dir / "journal").glob("*.jsonl")
    flip_bytes(journal_file, 40, 1)
    result = cli_json(shop_dir, "backup")
    warning = (f"journal file {journal_file.name} holds 1 damaged line(s) (line 1), as the journal did: they will be "
               "set aside at the next start")
    assert result["ok"] and result["warnings"] == [warning], result
    checked = cli_json(shop_dir, "backup", "verify", str(the_backup(result)))
    assert (checked["ok"], checked["problems"], checked["warnings"]) == (True, [], [warning])


def test_a_journal_line_damaged_only_in_the_copy_fails_it(shop_dir, monkeypatch):
    """The same journal, clean at the source, damaged in the copy as it is written: not kept."""
    with database_write_locked(shop_dir):
        sell(shop_dir)
    real_manifest = backup._write_manifest

    def damaged_in_the_copy(copy, *args):
        real_manifest(copy, *args)
        [(name, content)] = copy.execute(f"SELECT name, content FROM {backup.JOURNAL_TABLE}").fetchall()
        copy.execute(f"UPDATE {backup.JOURNAL_TABLE} SET content = ? WHERE name = ?",
                     (content[:40] + bytes([content[40] ^ 1]) + content[41:], name))

    monkeypatch.setattr(backup, "_write_manifest", damaged_in_the_copy)
    result = backup.run_backup(load_config(shop_dir))
    [copy] = result.copies
    assert not result.ok and copy.path is None and not result.warnings
    assert "the copy does not verify" in copy.error and "checksum mismatch" in copy.error, copy.error
    assert list((shop_dir / "backups").glob("*.sqlite3")) == []


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
    restored = cli_json(shop_dir, "restore", str(copy), "--manager", "manager", "--pin", "9999")
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


def test_why_the_last_backup_failed_is_said_in_the_shops_language_by_status_doctor_and_monitor(shop_dir, tmp_path):
    """The failure is kept with the attempt as its English and as its sentence: a Chinese shop's status,
    doctor and monitor say it in Chinese while --json keeps the English; a record an older version wrote
    (English only) or one edited since is read as its English."""
    from conftest import in_chinese

    missing = tmp_path / "usb-disk"
    assert run_cli(in_chinese(shop_dir), "backup", str(missing / "tui-pos"), check=False).returncode == 1
    english = f"{missing / 'tui-pos'}: {missing} does not exist (is the disk mounted?)"
    assert cli_json(shop_dir, "status")["backup"]["last_error"] == english
    chinese = f"{missing / 'tui-pos'}：{missing} 不存在（磁盘挂载了吗？）"
    said = {"status": run_cli(shop_dir, "status").stdout, "doctor": run_cli(shop_dir, "doctor", check=False).stdout,
            "monitor": run_cli(shop_dir, "monitor", "--once").stdout}
    for command, text in said.items():
        assert chinese in text and "mounted" not in text, (command, text)
    config = load_config(shop_dir)
    attempt = backup.last_backup(config)["last_attempt"]
    assert backup.last_error(attempt) == english and backup.last_error({**attempt, "ok": True}) == ""
    older = {key: value for key, value in attempt.items() if key != "said"}
    edited = {**attempt, "copies": [{**attempt["copies"][0], "error": "unplugged by 王"}]}
    for record in (older, edited, {**attempt, "said": {"parts": 1}}, {**attempt, "copies": "x"}):
        assert not hasattr(backup.last_error(record), "template") and not hasattr(backup.last_error(record), "parts")
    assert backup.last_error(edited) == f"{missing / 'tui-pos'}: unplugged by 王"


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
    cli_json(shop_dir, "sell", *AS_DEMO, "--item", COLA, "--tender", "card:3.50:REFDIGEST1")
    copy = the_backup(cli_json(shop_dir, "backup"))
    backup.checksum_path(copy).unlink()
    data = copy.read_bytes()
    assert data.count(b"REFDIGEST1") == 2  # the tender's row, and the sale's record in the commit order (commit_log)
    copy.write_bytes(data.replace(b"REFDIGEST1", b"REFDIGEST2"))
    checked = cli_json(shop_dir, "backup", "verify", str(copy), check=False)
    assert not checked["ok"] and checked["checksum"] == "missing"
    assert checked["problems"][:2] == ["the rows differ from the ones backed up (digest mismatch): the file is damaged",
                                       "audit: the sale T1-000001 it records was modified or deleted"]
    assert [p for p in checked["problems"][2:] if not p.startswith("audit: commit ")] == []  # its commit: edited too
    assert len(checked["problems"]) == 3


def test_restore_refuses_a_corrupted_backup_and_changes_nothing(shop_dir):
    sell(shop_dir)
    copy = the_backup(cli_json(shop_dir, "backup"))
    sell(shop_dir)
    before = sale_rows(shop_dir / "pos.sqlite3")
    flip_bytes(copy, copy.stat().st_size // 2)
    proc = run_cli(shop_dir, "restore", str(copy), "--manager", "manager", "--pin", "9999", check=False)
    assert proc.returncode == 1 and "does not verify" in proc.stderr and "nothing was changed" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert sale_rows(shop_dir / "pos.sqlite3") == before
    assert not (shop_dir / backup.SAFETY_DIR).exists()


def test_restore_refuses_a_backup_a_newer_tui_pos_made(shop_dir):
    """A newer tui-pos records migrations by name (the schema number stays): this one does not
    know them, so it must not put such a database in place."""
    sell(shop_dir)
    with closing(sqlite3.connect(shop_dir / "pos.sqlite3")) as conn, conn:
        conn.execute(f"INSERT INTO {schema.MIGRATIONS_TABLE} (migration_set, name, applied_at) VALUES (?, ?, ?)",
                     (schema.MIGRATION_SET, "stock_moves_from_a_newer_version", "2027-01-01 00:00:00"))
    copy = the_backup(cli_json(shop_dir, "backup"))
    with closing(sqlite3.connect(shop_dir / "pos.sqlite3")) as conn, conn:
        conn.execute(f"DELETE FROM {schema.MIGRATIONS_TABLE} WHERE name = 'stock_moves_from_a_newer_version'")
    sell(shop_dir)
    before = sale_rows(shop_dir / "pos.sqlite3")
    proc = run_cli(shop_dir, "restore", str(copy), "--manager", "manager", "--pin", "9999", check=False)
    assert proc.returncode == 1, proc.stderr
    assert "newer tui-pos" in proc.stderr and "stock_moves_from_a_newer_version" in proc.stderr
    assert "nothing was changed" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert sale_rows(shop_dir / "pos.sqlite3") == before
    assert not (shop_dir / backup.SAFETY_DIR).exists()


def test_restore_refuses_while_the_till_runs(shop_dir):
    copy = the_backup(cli_json(shop_dir, "backup"))
    with TillInstanceLock(shop_dir):
        proc = run_cli(shop_dir, "restore", str(copy), "--manager", "manager", "--pin", "9999", check=False)
    assert proc.returncode == 1 and "the till is running" in proc.stderr


def test_restore_brings_the_sales_back_and_keeps_a_safety_copy(shop_dir):
    first, second = sell(shop_dir), sell(shop_dir, WATER)
    copy = the_backup(cli_json(shop_dir, "backup"))
    third = sell(shop_dir)
    restored = cli_json(shop_dir, "restore", str(copy), "--manager", "manager", "--pin", "9999")
    # the sale acknowledged after the backup was made is brought back from the database it replaces
    assert sale_rows(shop_dir / "pos.sqlite3") == [(first["uuid"], "T1-000001", 350), (second["uuid"], "T1-000002", 200),
                                                  (third["uuid"], "T1-000003", 350)]
    assert third["receipt"] in restored["brought_back"] and restored["rolled_back"] == 0
    safety = Path(restored["safety_copy"])
    assert [r[0] for r in sale_rows(safety)] == [first["uuid"], second["uuid"], third["uuid"]]
    assert restored["not_in_backup"] == []
    assert cli_json(shop_dir, "audit", "verify")["ok"]
    assert copy_rows(shop_dir / "pos.sqlite3", "SELECT name FROM sqlite_master WHERE name LIKE 'tui_pos_backup%'") == []
    assert copy_rows(shop_dir / "pos.sqlite3", "PRAGMA integrity_check") == [("ok",)]


def test_restore_over_a_corrupt_database(shop_dir):
    first = sell(shop_dir)
    copy = the_backup(cli_json(shop_dir, "backup"))
    corrupt_database(shop_dir)
    restored = cli_json(shop_dir, "restore", str(copy), "--manager", "manager", "--pin", "9999")
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
    cli_json(shop_dir, "restore", str(copy), "--manager", "manager", "--pin", "9999")
    assert sell(shop_dir)["receipt"] == "T1-000003"


# -- tampered backups, restore as a manager's operation, disaster recovery (issues 11.7, 10.26) ----------------
MANAGER = ("--manager", "manager", "--pin", "9999")


def forge(copy: Path, *statements: str, rechain: bool = False) -> None:
    """Edit a backup as a careful forger: the figures, the row digest, the manifest and the .sha256
    recomputed; rechain: the audit digests and hashes too, with the published algorithm."""
    from tui_pos.ops.readonly import sales_figures
    from tui_pos.store import audit, db

    with closing(sqlite3.connect(copy)) as conn:
        for statement in statements:
            conn.execute(statement)
        if rechain:
            prev = audit.GENESIS
            for row in conn.execute(f"SELECT {', '.join(audit.COLUMNS)} FROM audit ORDER BY seq").fetchall():
                values = list(row)
                kind = audit.RECORD_ACTIONS.get(values[4])
                detail = json.loads(values[9] or "{}")
                if kind is not None:
                    detail["digest"] = audit.digest(db.stored_rows(conn, kind, values[1]))
                elif values[4] == "table_state":
                    detail["digest"] = audit.digest(db.covered_rows(conn, values[7]))
                values[9] = audit._canonical(detail)
                new = audit.entry_hash(prev, values)
                conn.execute("UPDATE audit SET detail = ?, prev_hash = ?, hash = ? WHERE seq = ?",
                             (values[9], prev, new, values[0]))
                prev = new
        manifest = json.loads(conn.execute(f"SELECT value FROM {backup.MANIFEST_TABLE} WHERE key = 'manifest'").fetchone()[0])
        manifest["sales"], manifest["total"] = sales_figures(conn)
        manifest["digest"] = backup.content_digest(conn)
        if "audit_head" in manifest:
            manifest["audit_head"] = list(audit.head(conn))
        conn.execute(f"UPDATE {backup.MANIFEST_TABLE} SET value = ? WHERE key = 'manifest'", (json.dumps(manifest),))
        conn.commit()
    digest = hashlib.sha256(copy.read_bytes()).hexdigest()
    backup.checksum_path(copy).write_text(f"{digest}  {copy.name}\n")


def test_a_backup_edited_with_its_figures_and_manifest_recomputed_does_not_verify(shop_dir):
    sell(shop_dir)
    copy = the_backup(cli_json(shop_dir, "backup"))
    forge(copy, "UPDATE sale SET total = 1, paid = 1 WHERE receipt = 'T1-000001'",
          "UPDATE tender SET amount = 1 WHERE sale_uuid = (SELECT uuid FROM sale WHERE receipt = 'T1-000001')")
    checked = cli_json(shop_dir, "backup", "verify", str(copy), check=False)
    assert not checked["ok"] and any("T1-000001" in p for p in checked["problems"]), checked
    assert "does not verify" in run_cli(shop_dir, "restore", str(copy), *MANAGER, check=False).stderr


def test_a_manager_pin_hash_swapped_in_a_backup_is_refused(shop_dir):
    """The cashier's PIN hash copied onto the manager: PIN 1234 would act as manager once restored."""
    sell(shop_dir)
    copy = the_backup(cli_json(shop_dir, "backup"))
    forge(copy, "UPDATE user SET pin_hash = (SELECT pin_hash FROM user WHERE name = 'demo') WHERE name = 'manager'")
    checked = cli_json(shop_dir, "backup", "verify", str(copy), check=False)
    assert not checked["ok"] and any("user table" in p for p in checked["problems"]), checked
    proc = run_cli(shop_dir, "restore", str(copy), "--manager", "manager", "--pin", "1234", check=False)
    assert proc.returncode == 1 and "nothing was changed" in proc.stderr


def test_a_backup_rechained_after_an_edit_is_not_this_tills_history(shop_dir):
    """A forger who also recomputes every digest and hash makes a backup that verifies on its own;
    restore compares its chain with the till's and the anchor, and refuses it."""
    sell(shop_dir)
    copy = the_backup(cli_json(shop_dir, "backup"))
    forge(copy, "UPDATE user SET pin_hash = (SELECT pin_hash FROM user WHERE name = 'demo') WHERE name = 'manager'",
          rechain=True)
    assert cli_json(shop_dir, "backup", "verify", str(copy))["ok"], "the forger's backup is consistent on its own"
    before = sale_rows(shop_dir / "pos.sqlite3")
    proc = run_cli(shop_dir, "restore", str(copy), *MANAGER, check=False)
    assert proc.returncode == 1 and "not this till's history" in proc.stderr
    assert sale_rows(shop_dir / "pos.sqlite3") == before and not (shop_dir / backup.SAFETY_DIR).exists()


@pytest.mark.parametrize("who", [(), ("--manager", "demo", "--pin", "1234"), ("--manager", "manager", "--pin", "0000")])
def test_restore_is_a_managers_operation(shop_dir, who):
    sell(shop_dir)
    copy = the_backup(cli_json(shop_dir, "backup"))
    sell(shop_dir)
    before = sale_rows(shop_dir / "pos.sqlite3")
    proc = run_cli(shop_dir, "restore", str(copy), *who, check=False)
    assert proc.returncode == 1 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert sale_rows(shop_dir / "pos.sqlite3") == before and not (shop_dir / backup.SAFETY_DIR).exists()


def test_an_old_backup_that_would_roll_back_records_nobody_can_bring_back_needs_force(shop_dir):
    """The disk with the database died after three more sales; an older backup lacks them. Restore
    refuses to roll them back silently; a manager forces it with a reason, which is audited, and
    the numbers of the lost sales are never used again."""
    sell(shop_dir)
    copy = the_backup(cli_json(shop_dir, "backup"))
    for _ in range(3):
        sell(shop_dir)
    for name in ("pos.sqlite3", "pos.sqlite3-wal", "pos.sqlite3-shm"):
        (shop_dir / name).unlink(missing_ok=True)
    proc = run_cli(shop_dir, "restore", str(copy), *MANAGER, check=False)
    assert proc.returncode == 1 and "--force" in proc.stderr and "cannot be read" in proc.stderr
    restored = cli_json(shop_dir, "restore", str(copy), *MANAGER, "--force", "database disk died")
    assert restored["rolled_back"] > 0 and restored["forced"] == "database disk died"
    [(actor, approved_by, detail)] = copy_rows(shop_dir / "pos.sqlite3",
                                               "SELECT actor, approved_by, detail FROM audit WHERE action = 'restore'")
    assert (actor, approved_by, json.loads(detail)["forced"]) == ("manager", "manager", "database disk died")
    verified = cli_json(shop_dir, "audit", "verify")
    assert verified["ok"] and any("forced" in w for w in verified["warnings"]), verified
    assert sell(shop_dir)["receipt"] == "T1-000005"


def test_restore_onto_an_empty_data_directory_is_the_whole_recovery(shop_dir, tmp_path):
    """A new box: no init. The backup brings config.toml (till id, printer, alert hook: secrets as
    they are) and the journal key back, 0600 in a 0700 directory; the manager is the backup's own."""
    set_config(shop_dir, "alerts", "hook", '"curl -s https://alerts.example/TOKEN123"')
    set_config(shop_dir, "printer", "connection", f'"file:{tmp_path / "receipts.bin"}"')  # never the cwd
    with database_write_locked(shop_dir):
        journaled = sell(shop_dir)
    copy = the_backup(cli_json(shop_dir, "backup"))
    fresh = tmp_path / "new-box"
    wrong = run_cli(fresh, "restore", str(copy), "--manager", "manager", "--pin", "0000", check=False)
    assert wrong.returncode == 1 and not (fresh / "config.toml").exists()
    restored = cli_json(fresh, "restore", str(copy), *MANAGER)
    assert restored["config_restored"] is True
    assert (fresh / "config.toml").read_bytes() == (shop_dir / "config.toml").read_bytes()
    for name in ("config.toml", "journal.key", "pos.sqlite3"):
        assert stat.S_IMODE((fresh / name).stat().st_mode) == 0o600, name
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o700
    assert cli_json(fresh, "replay")["replayed"] == 1  # the journaled sale, authenticated by the carried key
    assert [r[0] for r in sale_rows(fresh / "pos.sqlite3")] == [journaled["uuid"]]
    assert sell(fresh)["receipt"] == "T1-000002"
    assert cli_json(fresh, "audit", "verify")["ok"]


def test_a_database_tampered_with_is_still_backed_up_and_its_backup_says_so(shop_dir):
    """The backup is a faithful copy (evidence); verify names the chain's problem; restoring it
    takes a manager's --force with a reason."""
    sell(shop_dir)
    with closing(sqlite3.connect(shop_dir / "pos.sqlite3")) as conn, conn:
        conn.execute("UPDATE user SET role = 'manager' WHERE name = 'demo'")
    copy = the_backup(cli_json(shop_dir, "backup"))
    checked = cli_json(shop_dir, "backup", "verify", str(copy), check=False)
    assert not checked["ok"] and any(p.startswith("audit: the user table") for p in checked["problems"])
    refused = run_cli(shop_dir, "restore", str(copy), *MANAGER, check=False)
    assert refused.returncode == 1 and "--force" in refused.stderr
    assert cli_json(shop_dir, "restore", str(copy), *MANAGER, "--force", "evidence kept")["forced"] == "evidence kept"


def test_a_restore_counts_wrong_manager_pins_like_a_login(shop_dir: Path, tmp_path: Path) -> None:
    """A restore checks the live manager's PIN under the shop's PIN lockout: it is no way around
    the lockout to guess a manager's PIN."""
    backup = str(the_backup(cli_json(shop_dir, "backup")))
    refusals = [run_cli(shop_dir, "restore", backup, "--manager", "manager", "--pin", "0000", check=False).stderr
                for _ in range(6)]
    assert all("nothing was changed" in r for r in refusals), refusals
    assert "locked" in refusals[-1], refusals[-1]
    right_pin = run_cli(shop_dir, "restore", backup, "--manager", "manager", "--pin", "9999", check=False)
    assert right_pin.returncode == 1 and "locked" in right_pin.stderr  # locked out: even the right PIN
    till = open_till(load_config(shop_dir), cashier="")
    try:
        with pytest.raises(LoginFailed, match="locked"):
            till.login("manager", "9999")  # the till's own login shares the count
    finally:
        till.close()


def test_a_restore_makes_the_next_sync_pull_hqs_whole_catalog_again(shop_dir):
    """The database put back may be older than the HQ catalog version the till had applied."""
    from dataclasses import replace as changed

    from tui_pos.sync.state import load_state, save_state

    set_config(shop_dir, "hq", "dsn", '"host=hq.example dbname=hq user=t1"')
    copy = the_backup(cli_json(shop_dir, "backup"))
    config = load_config(shop_dir)
    save_state(shop_dir, changed(load_state(config), catalog_version=42, high_water=7))
    cli_json(shop_dir, "restore", str(copy), "--manager", "manager", "--pin", "9999")
    assert (load_state(config).catalog_version, load_state(config).high_water) == (0, 7)
