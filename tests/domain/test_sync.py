"""What the till knows of its HQ sync (tui_pos/domain/sync.py): the state file's content made safe,
and the few words the status line shows."""

from __future__ import annotations

from tui_pos.domain.sync import SyncState, age_text, sync_text

NOW = "2026-12-04T14:05:30.000+00:00"


def test_a_state_round_trips_and_anything_else_in_the_file_is_made_safe():
    state = SyncState("synced", 3, "2026-12-04T14:05:18.000+00:00", "", 120, 7)
    assert SyncState.from_dict(state.as_dict()) == state
    odd = SyncState.from_dict({"state": "exploded", "pending": -4, "last_sync": 12, "high_water": True,
                               "catalog_version": "7", "last_error": None, "extra": "ignored"})
    assert odd == SyncState("offline", 0, None, "", 0, 0)


def test_age_text_uses_the_unit_that_fits():
    assert [age_text(s) for s in (-3, 0, 12, 59, 60, 3599, 3600, 2 * 86400 - 1, 3 * 86400)] == \
        ["0 s", "0 s", "12 s", "59 s", "1 min", "59 min", "1 h", "47 h", "3 d"]


def test_the_status_line_words():
    assert sync_text(SyncState("synced", 0, "2026-12-04T14:05:18.000+00:00"), NOW) == "HQ synced 12 s ago"
    assert sync_text(SyncState("synced", 2, "2026-12-04T14:00:30.000+00:00"), NOW) == "HQ synced 5 min ago, 2 waiting"
    assert sync_text(SyncState("offline", 7, "2026-12-04T14:00:30.000+00:00"), NOW) == "HQ offline, 7 waiting"
    assert sync_text(SyncState("offline", 0), NOW) == "HQ offline"
    assert sync_text(SyncState("conflict", 1, None, "HQ refused the push: ..."), NOW) == "HQ PROBLEM, 1 waiting"
    assert sync_text(SyncState("synced", 0, "not a time"), NOW) == "HQ synced"
