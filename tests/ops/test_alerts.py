"""Alerts from the status facts, logged and handed to the shop's hook once when raised and once
when cleared; a slow hook never holds up the till."""

from __future__ import annotations

import json
import logging
import shlex
import time
from datetime import timedelta
from pathlib import Path

from conftest import cli_json, set_config
from tui_pos.config import load_config
from tui_pos.ops.alerts import Alert, AlertDispatcher, current_alerts
from tui_pos.ops.backup import run_backup
from tui_pos.ops.status import till_status

from .helpers import corrupt_database, journaled_without_key, sell, utc_iso

DISK = Alert("disk_low:/srv/till", "error", "data directory /srv/till: only 3 MB free", "free disk space there")


def test_a_healthy_shop_has_no_alerts(shop_dir):
    sell(shop_dir)
    assert current_alerts(load_config(shop_dir)) == []
    assert cli_json(shop_dir, "alerts") == []


def test_alerts_for_a_corrupt_database_and_a_failed_backup(shop_dir, tmp_path):
    sell(shop_dir)
    set_config(shop_dir, "backup", "destinations", json.dumps([str(tmp_path / "unplugged" / "stick")]))
    assert not run_backup(load_config(shop_dir)).ok
    corrupt_database(shop_dir)
    found = {a.key: a for a in current_alerts(load_config(shop_dir))}
    assert sorted(found) == ["backup", "storage"]
    assert found["storage"].level == "error" and "database corrupt" in found["storage"].message
    assert found["backup"].level == "error" and "unplugged" in found["backup"].message


def test_a_missing_journal_key_is_an_error_alert(shop_dir):
    """The journal cannot be checked (nor written: no new key is made over records that need the old one)."""
    journaled_without_key(shop_dir)
    found = {a.key: a for a in current_alerts(load_config(shop_dir))}
    alert = found["journal_key_missing"]
    assert (alert.level, str(alert.message)) == ("error", "journal key missing: 1 record(s) cannot be checked; restore "
                                                          "journal.key from a backup")
    assert "storage" not in found  # not "sales are safe in the journal": they wait for their key


def test_overdue_backup_and_printer_alerts(shop_dir):
    """A three-day-old backup, and a receipt pending for 20 minutes on a configured printer."""
    config = load_config(shop_dir)
    three_days_ago = utc_iso(-timedelta(days=3))
    run_backup(config, clock=lambda: three_days_ago)
    sell(shop_dir)
    set_config(shop_dir, "printer", "connection", '"file:/dev/null"')
    later = utc_iso(timedelta(minutes=20))
    config = load_config(shop_dir)
    found = {a.key: a for a in current_alerts(config, till_status(config, now=later))}
    assert sorted(found) == ["backup", "printer"]
    assert found["backup"].level == "warning" and "72 h ago" in found["backup"].message
    assert found["printer"].message == "1 receipt(s) not printed"


def test_dispatch_logs_and_hooks_each_change_once(shop_dir, tmp_path, caplog):
    events = tmp_path / "events"
    set_config(shop_dir, "alerts", "hook", json.dumps(f"cat >> {shlex.quote(str(events))}; echo >> {events}"))
    dispatcher = AlertDispatcher(load_config(shop_dir))
    with caplog.at_level(logging.INFO, logger="tui_pos.ops.alerts"):
        assert dispatcher.dispatch([DISK]) == ([DISK], [])
        assert dispatcher.dispatch([DISK]) == ([], [])  # still raised: nothing new
        assert dispatcher.wait(10)
        assert dispatcher.dispatch([]) == ([], [DISK])
        assert dispatcher.wait(10)
    sent = [json.loads(line) for line in events.read_text().splitlines()]
    assert [(e["event"], e["key"], e["level"], e["message"], e["till_id"]) for e in sent] == [
        ("raised", DISK.key, "error", DISK.message, "T1"), ("cleared", DISK.key, "error", DISK.message, "T1")]
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("ERROR", f"alert {DISK.key}: {DISK.message} ({DISK.hint})"), ("INFO", f"alert cleared {DISK.key}: {DISK.message}")]


def test_a_hanging_hook_neither_blocks_nor_survives(shop_dir, tmp_path):
    pid_file = tmp_path / "hook.pid"
    set_config(shop_dir, "alerts", "hook", json.dumps(f"echo $$ > {pid_file}; exec sleep 60"))
    set_config(shop_dir, "alerts", "hook_timeout_s", "0.5")
    dispatcher = AlertDispatcher(load_config(shop_dir))
    start = time.monotonic()
    dispatcher.dispatch([DISK])
    assert time.monotonic() - start < 0.2
    assert dispatcher.wait(10)
    assert not Path(f"/proc/{int(pid_file.read_text())}").exists(), "the hook was not killed"


def test_what_a_hook_prints_never_reaches_the_log_or_the_support_bundle(shop_dir, tmp_path):
    """A failing hook that echoes a token (read from its own file, so not in config.toml) on
    stderr: the log says it failed and how much it printed, never what."""
    import tarfile

    from conftest import run_cli

    token = "sk-live-7f3e9a1c0b2d4e6f"
    secret_file = tmp_path / "alert-token"
    secret_file.write_text(token)
    hook = tmp_path / "hook.sh"
    hook.write_text(f'#!/bin/sh\ncat > /dev/null\necho "curl: 401 for Bearer $(cat {shlex.quote(str(secret_file))})" >&2\n'
                    "exit 7\n")
    hook.chmod(0o700)
    set_config(shop_dir, "alerts", "hook", json.dumps(str(hook)))
    set_config(shop_dir, "backup", "destinations", json.dumps([str(tmp_path / "unplugged" / "stick")]))
    assert run_cli(shop_dir, "backup", check=False).returncode == 1  # raises the backup alert
    assert "backup" in {a["key"] for a in cli_json(shop_dir, "alerts", "--run-hook")}

    log = (shop_dir / "logs" / "tui-pos.log").read_text()
    assert "alert hook exited with 7" in log
    assert token not in log and "Bearer" not in log
    out = tmp_path / "bundle.tar.gz"
    run_cli(shop_dir, "support-bundle", "--output", str(out))
    with tarfile.open(out) as tar:
        everything = b"".join(tar.extractfile(m).read() for m in tar.getmembers() if m.isfile())
    assert b"alert hook exited with 7" in everything
    assert token.encode() not in everything


def test_hq_alerts_when_it_refuses_the_till_or_records_wait_too_long(shop_dir):
    """Offline alone is no alert (the till sells on and catches up), nor never synced yet; refused is
    an error; records waiting longer than [alerts] hq_offline_minutes (60) since the last sync are a
    warning."""
    from tui_pos.domain.sync import SyncState
    from tui_pos.ops.readonly import read_only_view
    from tui_pos.sync.state import save_state

    set_config(shop_dir, "hq", "dsn", '"host=127.0.0.1 port=1 dbname=hq user=till_t1"')
    set_config(shop_dir, "hq", "shop", '"S1"')
    config = load_config(shop_dir)
    with read_only_view(config) as view:
        last = view.last_commit()
    assert last is not None and last > 3
    an_hour_ago = utc_iso(-timedelta(minutes=61))
    assert current_alerts(config) == []  # joined, never synced yet: every record waits, for how long is not known
    save_state(shop_dir, SyncState("offline", 3, utc_iso(-timedelta(minutes=5)), "HQ cannot be reached at x", last - 3))
    assert current_alerts(config) == []
    save_state(shop_dir, SyncState("offline", 0, an_hour_ago, "HQ cannot be reached at x", last))
    assert current_alerts(config) == []  # nothing waits
    save_state(shop_dir, SyncState("offline", 0, an_hour_ago, "HQ cannot be reached at x", last - 3))
    [late] = current_alerts(config)
    assert (late.key, late.level) == ("hq", "warning")
    assert late.message == "3 record(s) waiting for HQ, not synced for 61 min: HQ cannot be reached at x"
    save_state(shop_dir, SyncState("conflict", 3, an_hour_ago, "HQ refused the push: till T1 commit 4 is ...", last - 3))
    [refused] = current_alerts(config)
    assert (refused.key, refused.level) == ("hq", "error") and "commit 4" in refused.message


def test_an_alert_is_english_for_the_hook_and_translated_on_screen():
    """The hook's JSON and the log keep the English message (and the same four keys); the status
    line says it in the screen's language (i18n.message of the alert's template)."""
    from tui_pos import i18n
    from tui_pos.ops.alerts import said

    alert = said("backup", "error", "backup failed: {error}", "check the backup disk", error="disk full")
    assert alert.message == "backup failed: disk full"
    assert alert.as_dict() == {"key": "backup", "level": "error", "message": "backup failed: disk full",
                               "hint": "check the backup disk"}
    i18n.use_language("zh_CN")
    assert i18n.message(alert) == "备份失败：disk full"


def test_hq_and_low_stock_alerts_and_every_hint_on_screen_in_chinese(shop_dir):
    """The HQ and low-stock alerts keep their English for the hook and are said in zh_CN on screen,
    hint too (alerts' hints are marked: `tui-pos alerts` shows _(hint))."""
    from tui_pos import i18n
    from tui_pos.ops.alerts import _hq, _low_stock

    config = load_config(shop_dir)
    status = {"checked_at": "2026-12-04T12:00:00+00:00",
              "hq": {"state": "offline", "pending": 3, "last_sync": "2026-12-04T10:00:00+00:00", "last_error": "x"},
              "stock": {"low": 3, "low_products": [{"name": "Cola", "on_hand": "2", "reorder_level": "5"}]}}
    [late] = _hq(config, status)
    [low] = _low_stock(status)
    assert late.message == "3 record(s) waiting for HQ, not synced for 120 min: x"
    assert low.message == "LOW STOCK (on hand/reorder level): Cola 2/5 and 2 more"
    i18n.use_language("zh_CN")
    assert i18n.message(late) == "3 条记录等待上传总部，已 120 分钟未同步：x"
    assert i18n.message(low) == "库存不足（现有/补货点）：Cola 2/5，另有 2 种"
    assert i18n._(low.hint).startswith("补货")
