"""hq/sync-state.json (tui_pos/sync/state.py): written whole, 0600, read back safely."""

from __future__ import annotations

import stat
from dataclasses import replace
from pathlib import Path

from tui_pos.config import Config, HqConfig
from tui_pos.domain.sync import SyncState
from tui_pos.sync.state import load_state, save_state, state_path, update_state


def joined(data_dir: Path) -> Config:
    data_dir.mkdir(mode=0o700, exist_ok=True)
    return Config(data_dir, hq=HqConfig(dsn="host=hq.example dbname=hq user=till_t1", shop="S1"))


def test_a_till_without_hq_is_off_and_one_that_never_synced_says_so(tmp_path):
    assert load_state(Config(tmp_path)) == SyncState("off")
    never = load_state(joined(tmp_path / "t1"))
    assert never.state == "offline" and never.last_sync is None and "not synced" in never.last_error


def test_the_state_is_written_0600_in_a_0700_directory_and_read_back(tmp_path):
    config = joined(tmp_path / "t1")
    state = SyncState("synced", 4, "2026-12-04T14:05:18.000+00:00", "", 96, 3)
    save_state(config.data_dir, state)
    path = state_path(config.data_dir)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert load_state(config) == state
    assert [p.name for p in path.parent.iterdir()] == ["sync-state.json"]  # no temporary file left


def test_update_keeps_what_others_wrote(tmp_path):
    config = joined(tmp_path / "t1")
    save_state(config.data_dir, SyncState("synced", 0, "2026-12-04T14:05:18.000+00:00", "", 10, catalog_version=5))
    after = update_state(config, state="offline", last_error="HQ cannot be reached")
    assert after == SyncState("offline", 0, "2026-12-04T14:05:18.000+00:00", "HQ cannot be reached", 10, 5)
    assert load_state(config) == after


def test_a_damaged_file_reads_as_offline_never_an_error(tmp_path):
    config = joined(tmp_path / "t1")
    save_state(config.data_dir, SyncState("synced"))
    state_path(config.data_dir).write_text("{not json")
    damaged = load_state(config)
    assert damaged.state == "offline" and "cannot read" in damaged.last_error
    state_path(config.data_dir).write_text("[1, 2]")
    assert load_state(config) == replace(SyncState(), state="offline")
