"""Stock at HQ (hq/stock.py, schema migration 6) on a real PostgreSQL, from real tills on disk: what
the tills record (sales, receipts, counts, adjustments) pushed under their own roles, in batches;
a shop's stock on hand is the sum over its tills of each one's last count + movements since (a
till's own figure where it counted); HQ's anomaly report of a one-till shop is the till's own,
warning for warning (the same rules, fed from HQ's facts)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from conftest import COLA, FLOAT, NOODLES, WATER, sell_at
from hq_cluster import enrol, till_dir
from tui_pos.app.catalog_import import import_catalog as till_import
from tui_pos.app.stock import thresholds_of
from tui_pos.bootstrap.shop import init_shop
from tui_pos.bootstrap.till import open_till
from tui_pos.config import load_config
from tui_pos.domain.money import Currency
from tui_pos.domain.tender import Tender
from tui_pos.hq.catalog import import_catalog
from tui_pos.hq.connection import HqError, connect
from tui_pos.hq.stock import anomalies, levels, low_by_shop, reorder
from tui_pos.hq.stream import high_water, push

from .tills import commits

CATALOG = ("barcode,name,price,tax,department,stock,reorder_level,reorder_qty\n"
           f"{COLA},Cola,3.50,A,Drinks,,40,24\n{WATER},Water,2.00,A,Drinks,,5,\n{NOODLES},Noodles,4.50,B,Food,,,\n")


def shop_without_opening_stock(data_dir: Path, till_id: str) -> Path:
    """A demo till with the test catalog over the demo's (no opening stock: HQ knows only what is
    recorded), its shift open."""
    till_dir(data_dir, till_id)
    init_shop(data_dir, demo=True, shift_float=FLOAT)
    till = open_till(load_config(data_dir), cashier="manager")
    try:
        till_import(till, CATALOG, till.approve("manager", "9999", "catalog"))
    finally:
        till.close()
    return data_dir


def push_new(dsn: str, data_dir: Path) -> int:
    """Push the till's commits HQ lacks, in batches of 3 (counts and sales land in different batches)."""
    with connect(dsn) as conn:
        mark = high_water(conn)
        envelopes = [e for e in commits(data_dir) if e["commit_seq"] > mark]
        for start in range(0, len(envelopes), 3):
            push(conn, envelopes[start:start + 3])
    return len(envelopes)


def on_hand_at_till(data_dir: Path, code: str) -> int:
    till = open_till(load_config(data_dir), cashier="manager")
    try:
        [level] = till.stock.levels(code)
        return level.on_hand
    finally:
        till.close()


@pytest.fixture
def two_tills(hq: str, tmp_path: Path, utc_plus_8: str) -> dict:
    """T1 and T2 of shop S1, T3 of shop S2, each enrolled; HQ's catalog with reorder levels."""
    with connect(hq) as admin:
        import_catalog(admin, CATALOG)
    tills = {}
    for till_id, shop in (("T1", "S1"), ("T2", "S1"), ("T3", "S2")):
        data_dir = shop_without_opening_stock(tmp_path / till_id.lower(), till_id)
        tills[till_id] = (data_dir, enrol(hq, data_dir, shop))
    return tills


def test_a_shops_stock_is_its_tills_last_count_plus_movements_since_summed(hq, two_tills):
    t1, t2, t3 = (two_tills[t][0] for t in ("T1", "T2", "T3"))
    till = open_till(load_config(t1), cashier="manager")
    try:
        till.clock = lambda: "2026-03-01T01:00:00.000+00:00"
        till.stock.receive(till.stock.lines([f"{COLA}x24"], "receive", unit_cost=180))
        sell_at(till, "2026-03-01T02:00:00.000+00:00", {COLA: 3}, [Tender("cash", 1050)], "manager")
        till.clock = lambda: "2026-03-01T03:00:00.000+00:00"
        till.stock.count(till.stock.lines([f"{COLA}x19"], "count"), till.approve("manager", "9999", "stock_count"))
        sell_at(till, "2026-03-01T04:00:00.000+00:00", {COLA: 2, WATER: 1}, [Tender("cash", 900)], "manager")
    finally:
        till.close()
    till = open_till(load_config(t2), cashier="manager")
    try:
        sell_at(till, "2026-03-01T05:00:00.000+00:00", {COLA: 1}, [Tender("cash", 350)], "manager")
        till.stock.receive(till.stock.lines([f"{WATER}x10"], "receive"))
    finally:
        till.close()
    till = open_till(load_config(t3), cashier="manager")
    try:
        till.stock.receive(till.stock.lines([f"{COLA}x100"], "receive"))
    finally:
        till.close()
    for data_dir, dsn in (two_tills["T1"], two_tills["T2"], two_tills["T3"]):
        assert push_new(dsn, data_dir) > 0
    with connect(hq) as conn:
        per_till = dict(((t, b), (c, s)) for t, b, c, s in conn.execute(
            "SELECT till_id, barcode, counted, since FROM hq.stock_level WHERE shop_id = 'S1'"))
        s1 = {r["barcode"]: r for r in levels(conn, "S1")}
        [cola_s2] = levels(conn, "S2", [COLA])
        [noodles] = levels(conn, "S1", [NOODLES])
    assert per_till[("T1", COLA)] == (19_000, -2_000)  # its count, then a sale of 2
    assert per_till[("T2", COLA)] == (None, -1_000)
    assert on_hand_at_till(t1, COLA) == 19_000 - 2_000  # HQ's figure of a till that counted is the till's own
    assert (s1[COLA]["on_hand"], s1[COLA]["tills"]) == (17_000 - 1_000, 2)
    assert s1[WATER]["on_hand"] == -1_000 + 10_000
    assert s1[COLA]["reorder_level"] == 40_000 and s1[COLA]["last_moved"] == "2026-03-01T05:00:00.000+00:00"
    assert cola_s2["on_hand"] == 100_000  # another shop's stock is its own
    assert (noodles["on_hand"], noodles["tracked"]) == (0, False)  # asked for: there, never moved
    with connect(hq) as conn:
        assert [r["barcode"] for r in levels(conn, "S1", low=True)] == [COLA]  # 16 <= 40; water 9 > 5
        [suggest] = reorder(conn, "S1")
        assert (suggest["barcode"], suggest["reorder_qty"]) == (COLA, 24_000)
        assert {shop: [r["barcode"] for r in low] for shop, low in low_by_shop(conn).items()} == {
            "S1": [COLA], "S2": [WATER]}  # none of it at S2: 0 <= 5


def test_a_count_resets_the_tills_level_whatever_batch_it_comes_in(hq, two_tills):
    """Pushed again from the start (HQ's mark lost), nothing is counted twice."""
    t1, dsn = two_tills["T1"]
    till = open_till(load_config(t1), cashier="manager")
    try:
        for qty in (5, 7):
            till.stock.receive(till.stock.lines([f"{COLA}x{qty}"], "receive"))
        till.stock.count(till.stock.lines([f"{COLA}x11"], "count"))
        till.stock.receive(till.stock.lines([f"{COLA}x2"], "receive"))
    finally:
        till.close()
    push_new(dsn, t1)
    with connect(dsn) as conn:
        push(conn, commits(t1))  # a retry of everything: duplicates, skipped
    with connect(hq) as conn:
        [cola] = levels(conn, "S1", [COLA])
        assert cola["on_hand"] == 13_000 == on_hand_at_till(t1, COLA)
        assert conn.execute("SELECT count(*) FROM hq.stock_line WHERE till_id = 'T1'").fetchone() == (4,)


def test_an_unknown_shop_is_refused(hq):
    with connect(hq) as conn, pytest.raises(HqError, match="shop S9 is not at HQ"):
        levels(conn, "S9")


def test_hqs_anomaly_report_of_a_one_till_shop_is_the_tills_own(hq, two_tills):
    """Every rule fed from HQ's facts gives the warnings the till's own report gives from its own."""
    t3, dsn = two_tills["T3"]
    till = open_till(load_config(t3), cashier="manager")
    try:
        till.clock = lambda: "2026-02-20T02:00:00.000+00:00"
        till.stock.receive(till.stock.lines([f"{COLA}x30", f"{WATER}x4"], "receive", unit_cost=200))
        for day in range(1, 8):  # a usual day: one cola
            sell_at(till, f"2026-02-{day + 20:02d}T03:00:00.000+00:00", {COLA: 1}, [Tender("cash", 350)], "amy")
        sell_at(till, "2026-03-02T03:00:00.000+00:00", {COLA: 12}, [Tender("cash", 4200)], "amy")  # a spike
        sell_at(till, "2026-03-02T04:00:00.000+00:00", {WATER: 6}, [Tender("cash", 1200)], "amy")
        sell_at(till, "2026-03-02T05:00:00.000+00:00", {WATER: 1}, [Tender("cash", 200)], "amy")  # at -2
        till.clock = lambda: "2026-03-03T02:00:00.000+00:00"
        till.stock.count(till.stock.lines([f"{COLA}x2"], "count"), till.approve("manager", "9999", "stock_count"))
        till.stock.adjust(till.stock.lines([f"{WATER}x-1"], "adjust"), "theft")
        first, last = date(2026, 3, 1), date(2026, 3, 31)
        own = till.stock_reports.anomalies(first, last, today=last)
        t = thresholds_of(till)
    finally:
        till.close()
    push_new(dsn, t3)
    with connect(hq) as conn:
        at_hq = anomalies(conn, "S2", first, last, t, Currency(), today=last)

    def key(w):
        return (w.kind, w.subject, w.message)

    assert {w.kind for w in own} >= {"low_stock", "count_variance", "sold_below_zero", "outflow"}
    assert sorted(map(key, at_hq)) == sorted(map(key, own))
    assert [w.figures for w in sorted(at_hq, key=key)] == [w.figures for w in sorted(own, key=key)]
