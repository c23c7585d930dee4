"""Stock at HQ (hq/stock.py, schema migration 6) on a real PostgreSQL, from real tills on disk: what
the tills record (sales, receipts, counts, adjustments) pushed under their own roles, in batches;
a shop's stock on hand is the sum over its tills of each one's last count + movements since (a
till's own figure where it counted); HQ's anomaly report of a one-till shop is the till's own,
warning for warning (the same rules, fed from HQ's facts)."""

from __future__ import annotations

import random
import time
import uuid
from contextlib import closing
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from psycopg import sql

from conftest import COLA, FLOAT, NOODLES, WATER, sell_at
from hq_cluster import enrol, till_dir
from tui_pos.app.catalog_import import import_catalog as till_import
from tui_pos.app.clock import utc_now
from tui_pos.app.stock import thresholds_of
from tui_pos.bootstrap.shop import DEMO_USERS, init_shop
from tui_pos.bootstrap.till import open_ledger, open_till
from tui_pos.config import load_config
from tui_pos.domain.anomalies import Thresholds
from tui_pos.domain.auth import hash_pin
from tui_pos.domain.commits import chained
from tui_pos.domain.money import Currency
from tui_pos.domain.records import UserChanged
from tui_pos.domain.tender import Tender
from tui_pos.hq import schema
from tui_pos.hq.catalog import import_catalog
from tui_pos.hq.chain import add_shop
from tui_pos.hq.connection import HqError, connect
from tui_pos.hq.schema import migrate
from tui_pos.hq.stock import anomalies, day_sums_fit, levels, low_by_shop, reorder, risk_facts
from tui_pos.hq.stream import high_water, push

from .tills import commits

CATALOG = ("barcode,name,price,tax,department,stock,reorder_level,reorder_qty\n"
           f"{COLA},Cola,3.50,A,Drinks,,40,24\n{WATER},Water,2.00,A,Drinks,,5,\n{NOODLES},Noodles,4.50,B,Food,,,\n")


def shop_without_opening_stock(data_dir: Path, till_id: str) -> Path:
    """A till with the demo's people and the test catalog, which gives no opening stock (HQ and
    the till start every product at zero), its shift open."""
    till_dir(data_dir, till_id)
    config = init_shop(data_dir, demo=False).config
    with closing(open_ledger(config)) as ledger:
        ledger.change_shop([UserChanged.new(till_id, "user_add", name, actor="system", approved_by=None, at=utc_now(),
                                            role=role, pin_hash=hash_pin(pin)).to_record()
                            for name, role, pin in DEMO_USERS])
    till = open_till(config, cashier="manager")
    try:
        till_import(till, CATALOG, till.approve("manager", "9999", "catalog"))
        till.open_shift(FLOAT)
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


# -- the hourly sums (migration 10) ------------------------------------------------------------------------
PRODUCTS = [f"69{n:011d}" for n in range(8)]


def generated_year(till: str, seed: int) -> list[dict]:
    """A till's records over 70 days from 2026-01-01 (seeded): sales of 1-3 lines at any hour
    (refunds, voids and voided lines among them, some days a spike), receipts, counts and
    write-offs; a product sold past zero now and then. What HQ holds of it is the reference."""
    rng = random.Random(seed)
    records: list[dict] = []

    def when(day: int) -> str:
        moment = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=day, seconds=rng.randrange(86_400))
        return moment.isoformat(timespec="milliseconds")

    for day in range(70):
        for _ in range(rng.randrange(2, 9)):
            spike = rng.random() < 0.04
            kind = rng.choice(["sale"] * 12 + ["refund", "void"])
            sign = 1 if kind == "sale" else -1
            lines = [{"line_no": n, "barcode": rng.choice(PRODUCTS), "qty": sign * (rng.randrange(6, 15) if spike else
                                                                                   rng.randrange(1, 3)),
                      "voided": rng.random() < 0.05} for n in range(1, rng.randrange(2, 5))]
            records.append({"uuid": str(uuid.UUID(int=rng.getrandbits(128))), "till_id": till, "kind": kind,
                            "cashier": rng.choice(["amy", "bob"]), "completed_at": when(day), "lines": lines,
                            "tenders": [{"kind": "cash", "amount": 0}], "receipt": f"{till}-{len(records):05d}"})
        if day % 9 == 0:
            records += [stock_move(till, when(day), "receive", code, rng.randrange(5, 30) * 1000, unit_cost=150)
                        for code in rng.sample(PRODUCTS, 5)]
        if day % 20 == 7:
            code, counted, expected = rng.choice(PRODUCTS), rng.randrange(0, 20) * 1000, rng.randrange(0, 20) * 1000
            records.append(stock_move(till, when(day), "count", code, counted - expected, counted=counted,
                                      expected=expected))
        if rng.random() < 0.3:
            records.append(stock_move(till, when(day), "adjust", rng.choice(PRODUCTS), -rng.randrange(1, 4) * 1000,
                                      reason=rng.choice(["damaged", "expired", "theft"])))
    return sorted(records, key=lambda r: r.get("completed_at") or r["at"])


def stock_move(till: str, at: str, kind: str, code: str, qty: int, **fields) -> dict:
    return {"type": "stock_move", "uuid": str(uuid.uuid4()), "till_id": till, "at": at, "kind": kind, "barcode": code,
            "qty": qty, "expected": None, "counted": None, "unit_cost": None, "reason": None, "reference": "",
            "peer": None, "batch": None, **fields}


def daily(records: list[dict]) -> dict[tuple[str, str], list[int]]:
    """(local day, barcode) -> [sold, in, out], milli-units, worked out from the records themselves."""
    sums: dict[tuple[str, str], list[int]] = {}
    for record in records:
        if "lines" in record:
            at, moved = record["completed_at"], [(line["barcode"], -line["qty"] * 1000, True)
                                                 for line in record["lines"] if not line["voided"]]
        else:
            at, moved = record["at"], [(record["barcode"], record["qty"], False)]
        for barcode, qty, sale in moved:
            row = sums.setdefault((datetime.fromisoformat(at).astimezone().date().isoformat(), barcode), [0, 0, 0])
            row[0] += -qty if sale and qty < 0 else 0
            row[1] += max(qty, 0)
            row[2] += max(-qty, 0)
    return sums


def push_in_batches(dsn: str, records: list[dict], sizes: tuple[int, ...] = (1, 7, 50)) -> None:
    """Push the records through hq.push in batches of changing size (one batch's day in the next's too)."""
    envelopes = list(chained(records))
    with connect(dsn) as conn:
        done, turn = 0, 0
        while done < len(envelopes):
            push(conn, envelopes[done:done + sizes[turn % len(sizes)]])
            done += sizes[turn % len(sizes)]
            turn += 1


def stock_days(dsn: str, shop: str) -> dict[tuple[str, str], list[int]]:
    with connect(dsn) as conn:
        return {(day.isoformat(), barcode): [sold, qty_in, qty_out] for day, barcode, sold, qty_in, qty_out in
                conn.execute("SELECT day, barcode, sold, qty_in, qty_out FROM hq.stock_day WHERE shop_id = %s", (shop,))}


def in_utc_plus_8(dsn: str) -> None:
    """The HQ database's time zone the tills' (UTC+8): its sessions from now on, migration 10's days."""
    with connect(dsn) as conn:
        conn.execute(sql.SQL("ALTER DATABASE {} SET timezone = 'CST-8'").format(sql.Identifier(conn.info.dbname)))


@pytest.fixture
def hq_utc8(hq_dsn: str, utc_plus_8: str) -> str:
    """An HQ in UTC+8 as its tills are (shop S1): the administrator's DSN."""
    in_utc_plus_8(hq_dsn)
    with connect(hq_dsn) as conn:
        migrate(conn)
        add_shop(conn, "S1", "First")
    return hq_dsn


def report(dsn: str, first: date, last: date, sums: bool) -> list[tuple]:
    with connect(dsn) as conn:
        found = anomalies(conn, "S1", first, last, Thresholds(outflow_days=14), Currency(), today=last, sums=sums)
    return sorted((w.kind, w.subject, w.message, sorted(w.figures.items())) for w in found)


def sums_fit(dsn: str, first: date, last: date) -> bool:
    with connect(dsn) as conn:
        return day_sums_fit(conn, first, last)


def test_the_report_from_the_daily_sums_is_the_report_from_every_movement(hq_utc8, tmp_path):
    """Two tills' generated records pushed in batches of every size: the sums HQ keeps are the
    records' own, and each period's warnings from them are those from every single movement."""
    t1, t2 = generated_year("T1", 1), generated_year("T2", 2)
    for till, records in (("T1", t1), ("T2", t2)):
        push_in_batches(enrol(hq_utc8, till_dir(tmp_path / till, till), "S1"), records)
    assert stock_days(hq_utc8, "S1") == daily(t1 + t2)
    kinds = set()
    for first, last in ((date(2026, 2, 1), date(2026, 2, 28)), (date(2026, 1, 20), date(2026, 1, 20)),
                        (date(2026, 3, 1), date(2026, 3, 15))):
        assert sums_fit(hq_utc8, first - timedelta(days=14), last)
        from_sums = report(hq_utc8, first, last, sums=True)
        assert from_sums == report(hq_utc8, first, last, sums=False)
        kinds |= {kind for kind, *_ in from_sums}
    assert kinds >= {"outflow", "sold_below_zero", "count_variance"}  # what the sums feed among them
    start, end = "2026-02-01T00:00:00.000+00:00", "2026-03-01T00:00:00.000+00:00"
    voided: dict[str, int] = {}
    for sale in t1 + t2:
        if sale.get("kind") == "sale" and start <= sale["completed_at"] < end:
            voided[sale["cashier"]] = voided.get(sale["cashier"], 0) + sum(line["voided"] for line in sale["lines"])
    with connect(hq_utc8) as conn:
        per_cashier = risk_facts(conn, "S1", start, end)[0]
    assert {cashier: counts.get("line_void", 0) for cashier, counts in per_cashier.items()} == voided


def test_another_zones_days_are_reported_from_every_movement(hq_utc8, tmp_path, monkeypatch):
    """Asked from UTC+5:30, a day is none of HQ's: the report is made from the single movements."""
    spike = {"uuid": str(uuid.uuid4()), "till_id": "T1", "kind": "sale", "completed_at": "2026-01-31T18:45:00.000+00:00",
             "lines": [{"line_no": 1, "barcode": PRODUCTS[0], "qty": 40, "voided": False}], "tenders": []}
    push_in_batches(enrol(hq_utc8, till_dir(tmp_path / "t1", "T1"), "S1"), generated_year("T1", 3) + [spike])
    first, last = date(2026, 2, 1), date(2026, 2, 28)  # in UTC+5:30 it began at 18:30 UTC, the spike at 00:15
    try:
        with monkeypatch.context() as india:
            india.setenv("TZ", "IST-5:30")
            time.tzset()
            assert not sums_fit(hq_utc8, first, last)
            warnings = report(hq_utc8, first, last, sums=True)
            assert warnings == report(hq_utc8, first, last, sums=False)
    finally:
        time.tzset()
    assert ("outflow", PRODUCTS[0]) in {(kind, subject) for kind, subject, *_ in warnings}


def test_migration_10_sums_what_hq_held_before_it(hq_dsn, tmp_path, monkeypatch, utc_plus_8):
    """An HQ at migration 9 with a till's records: after hq init, the sums are the records' own,
    and pushes after it add to them."""
    records = generated_year("T1", 4)
    in_utc_plus_8(hq_dsn)
    with monkeypatch.context() as before_10:
        before_10.setattr(schema, "MIGRATIONS", tuple(m for m in schema.MIGRATIONS if m.version < 10))
        with connect(hq_dsn) as conn:
            migrate(conn)
            add_shop(conn, "S1", "First")
        dsn = enrol(hq_dsn, till_dir(tmp_path / "t1", "T1"), "S1")
        push_in_batches(dsn, records[:300])
    with connect(hq_dsn) as conn:
        assert conn.execute("SELECT to_regclass('hq.stock_day')").fetchone() == (None,)
        applied = migrate(conn)[1]
        assert [m.version for m in schema.MIGRATIONS if m.name in applied][0] == 10
    assert stock_days(hq_dsn, "S1") == daily(records[:300])
    with connect(dsn) as conn:
        push(conn, list(chained(records))[300:])
    assert stock_days(hq_dsn, "S1") == daily(records)
    first, last = date(2026, 1, 20), date(2026, 2, 19)
    assert sums_fit(hq_dsn, first, last)
    assert report(hq_dsn, first, last, sums=True) == report(hq_dsn, first, last, sums=False)
def test_a_tills_opening_stock_is_at_hq_from_its_first_import_and_an_upgraded_tills_from_its_next_start(hq, two_tills):
    """T1 imports a catalog with stock: HQ's figure is the till's from that import, before any
    count. T3 kept stock the old way (product.stock, no record): HQ had only its sales until the
    till's next start recorded the holding; then they agree, and pushing everything again (HQ's
    mark lost) counts nothing twice."""
    from tests.store.records import legacy_database
    from tui_pos.bootstrap.shop import import_catalog_text

    t1, dsn1 = two_tills["T1"]
    till = open_till(load_config(t1), cashier="manager")
    try:
        till_import(till, f"barcode,name,price,tax,stock\n{COLA},Cola,3.50,A,24\n{WATER},Water,2.00,A,10\n",
                    till.approve("manager", "9999", "catalog"))
        sell_at(till, "2026-03-01T02:00:00.000+00:00", {COLA: 3}, [Tender("cash", 1050)], "manager")
    finally:
        till.close()
    push_new(dsn1, t1)
    with connect(hq) as conn:
        s1 = {r["barcode"]: r["on_hand"] for r in levels(conn, "S1", [COLA, WATER])}
    assert s1 == {COLA: on_hand_at_till(t1, COLA), WATER: on_hand_at_till(t1, WATER)} == {COLA: 21_000, WATER: 10_000}

    t3, dsn3 = two_tills["T3"]
    till = open_till(load_config(t3), cashier="manager")
    try:
        sell_at(till, "2026-03-01T03:00:00.000+00:00", {NOODLES: 1}, [Tender("cash", 450)], "manager")
    finally:
        till.close()
    push_new(dsn3, t3)
    legacy_database(t3, {NOODLES: 8})  # its catalog said 8, one sold: 7 on hand, HQ never told
    with connect(hq) as conn:
        [before] = levels(conn, "S2", [NOODLES])
    assert before["on_hand"] == -1_000
    assert on_hand_at_till(t3, NOODLES) == 7_000  # the start records the holding
    push_new(dsn3, t3)
    import_catalog_text(load_config(t3), f"barcode,name,price,tax,stock\n{NOODLES},Noodles,4.50,B,50\n")  # kept
    with connect(dsn3) as conn:
        push(conn, commits(t3))  # a retry of everything: duplicates, skipped
    with connect(hq) as conn:
        [after] = levels(conn, "S2", [NOODLES])
        assert conn.execute("SELECT count(*) FROM hq.stock_line WHERE till_id = 'T3' AND reason = 'opening'"
                            ).fetchone() == (1,)
    assert after["on_hand"] == on_hand_at_till(t3, NOODLES) == 7_000


def test_goods_in_transit_are_what_open_transfers_sent_until_received(hq, two_tills):
    """S1 sends S2 cola, water and noodles (S2 never had noodles: listed for being on their way);
    until S2's till receives, each shows in transit at both ends; received (less cola than sent),
    none is, and the variance is stock neither shop has."""
    from tui_pos.app.transfers import Transfers
    from tui_pos.sync.transfers import TransferFile, TransferPull

    (t1, dsn1), (t3, dsn3) = two_tills["T1"], two_tills["T3"]
    till = open_till(load_config(t1), cashier="manager")
    try:
        Transfers(till.stock, till.ledger, TransferFile(t1)).send("S2", [f"{COLA}x10", f"{WATER}x5", f"{NOODLES}x4"],
                                                                   "DN-1")
    finally:
        till.close()
    push_new(dsn1, t1)

    def transit(shop: str) -> dict[str, tuple[int, int, int]]:
        with connect(hq) as conn:
            return {r["barcode"]: (r["on_hand"], r["in_transit"], r["in_transit_out"]) for r in levels(conn, shop)}

    assert transit("S2") == {COLA: (0, 10_000, 0), WATER: (0, 5_000, 0), NOODLES: (0, 4_000, 0)}
    assert transit("S1") == {COLA: (-10_000, 0, 10_000), WATER: (-5_000, 0, 5_000), NOODLES: (-4_000, 0, 4_000)}
    with connect(hq) as conn:
        [one] = levels(conn, "S2", [NOODLES])
    assert (one["in_transit"], one["tracked"]) == (4_000, True)

    with connect(dsn3) as conn:
        TransferPull(t3)(conn)
    till = open_till(load_config(t3), cashier="manager")
    try:
        Transfers(till.stock, till.ledger, TransferFile(t3)).receive("DN-1", [f"{COLA}x9", f"{WATER}x5", f"{NOODLES}x4"])
    finally:
        till.close()
    push_new(dsn3, t3)
    assert transit("S2") == {COLA: (9_000, 0, 0), WATER: (5_000, 0, 0), NOODLES: (4_000, 0, 0)}
    assert transit("S1") == {COLA: (-10_000, 0, 0), WATER: (-5_000, 0, 0), NOODLES: (-4_000, 0, 0)}
