"""What the till knows of its HQ sync (tui_pos/domain/sync.py): the state file's content made safe,
and how long ago in the unit that fits (the words are the UI's: tests/ui/widgets/test_status_bar.py)."""

from __future__ import annotations

from tui_pos.domain.sync import SyncState, age, seconds_since, waiting


def test_a_state_round_trips_and_anything_else_in_the_file_is_made_safe():
    state = SyncState("synced", 3, "2026-12-04T14:05:18.000+00:00", "", 120, 7)
    assert SyncState.from_dict(state.as_dict()) == state
    odd = SyncState.from_dict({"state": "exploded", "pending": -4, "last_sync": 12, "high_water": True,
                               "catalog_version": "7", "last_error": None, "extra": "ignored"})
    assert odd == SyncState("offline", 0, None, "", 0, 0)


def test_age_uses_the_unit_that_fits():
    assert [age(s) for s in (-3, 0, 12.9, 59, 60, 3599, 3600, 2 * 86400 - 1, 3 * 86400)] == \
        [(0, "s"), (0, "s"), (12, "s"), (59, "s"), (1, "min"), (59, "min"), (1, "h"), (47, "h"), (3, "d")]


def test_seconds_since_a_time_or_none():
    assert seconds_since("2026-12-04T14:05:18.000+00:00", "2026-12-04T14:05:30.000+00:00") == 12
    assert seconds_since(None, "2026-12-04T14:05:30.000+00:00") is None
    assert seconds_since("not a time", "2026-12-04T14:05:30.000+00:00") is None


def test_what_waits_is_the_commits_after_hqs_mark_and_unknown_when_the_till_cannot_say():
    assert [waiting(7, 3), waiting(3, 3), waiting(2, 3), waiting(None, 3)] == [4, 0, 0, None]
