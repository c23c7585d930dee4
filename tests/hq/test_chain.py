"""The chain's tills as HQ sees them (`hq tills`), on a real PostgreSQL: when each was last heard
from, what it said of itself, and a till silent for too long as an alert of its own."""

from __future__ import annotations

import pytest

from hq_cluster import enrol, till_dir
from tui_pos.domain.errors import BadInput
from tui_pos.hq.chain import check_shop_id, list_tills, till_alerts
from tui_pos.hq.connection import connect
from tui_pos.hq.stream import envelope, push

from .tills import sale


def test_each_tills_state_from_its_last_push_and_how_long_ago(hq, tmp_path):
    tills = {t: enrol(hq, till_dir(tmp_path / t.lower(), t), shop) for t, shop in
             (("T1", "S1"), ("T2", "S1"), ("T3", "S2"), ("T4", "S2"))}
    with connect(tills["T1"]) as conn:
        push(conn, [envelope(1, sale(1))], status={"pending": 0, "alerts": []})
    with connect(tills["T2"]) as conn:
        push(conn, [envelope(1, sale(1, "T2"))], status={
            "pending": 3, "storage": "degraded",
            "alerts": ["printer: out of paper", {"message": "2 receipts  not\nprinted"}, {"code": "backup_overdue"}, 7]})
    with connect(tills["T3"]) as conn:
        push(conn, [], status={"pending": 0})
    with connect(hq) as admin:
        admin.execute("UPDATE hq.till SET last_seen = now() - interval '25 minutes' WHERE till_id = 'T3'")
        found = {t["till"]: t for t in list_tills(admin)}
        patient = {t["till"]: t["state"] for t in list_tills(admin, stale_minutes=30)}
    assert {t: (f["state"], f["pending"], f["alerts"]) for t, f in found.items()} == {
        "T1": ("ok", 0, []),
        "T2": ("alert", 3, ["printer: out of paper", "2 receipts not printed", "backup_overdue"]),
        "T3": ("stale", 0, ["not seen for 25 minutes"]),
        "T4": ("never", None, [])}
    assert patient == {"T1": "ok", "T2": "alert", "T3": "ok", "T4": "never"}
    assert found["T2"]["status"]["storage"] == "degraded"  # everything the till said of itself
    assert (found["T1"]["minutes_since_seen"], found["T4"]["minutes_since_seen"], found["T4"]["last_seen"]) == (0, None,
                                                                                                                None)
    assert (found["T1"]["records"], found["T1"]["high_water"], found["T3"]["shop"]) == (1, 1, "S2")


def test_alerts_of_a_status_that_holds_none_or_junk():
    assert till_alerts({}) == till_alerts({"alerts": "disk full"}) == till_alerts({"alerts": [None, {}, " "]}) == []


def test_shop_ids():
    assert check_shop_id("S-1_a") == "S-1_a"
    for bad in ("", "-S", "S 1", "x" * 33):
        with pytest.raises(BadInput):
            check_shop_id(bad)


def test_a_till_whose_clock_is_off_hqs_is_an_alert(hq, tmp_path):
    """clock_offset_s is what the till measured at its sync (sync/worker.py till_report)."""
    tills = {t: enrol(hq, till_dir(tmp_path / t.lower(), t)) for t in ("T1", "T2", "T3")}
    for till, offset in zip(tills, (7200.5, -7200, 12.0)):
        with connect(tills[till]) as conn:
            push(conn, [], status={"pending": 0, "clock_offset_s": offset})
    with connect(hq) as conn:
        found = {t["till"]: (t["state"], t["alerts"]) for t in list_tills(conn)}
    assert found == {"T1": ("alert", ["clock 120 minutes ahead of HQ's (receipts and reports carry the till's time)"]),
                     "T2": ("alert", ["clock 120 minutes behind HQ's (receipts and reports carry the till's time)"]),
                     "T3": ("ok", [])}
