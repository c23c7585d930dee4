"""`hq sales` and `hq report` on a real PostgreSQL: a real till's records (conftest.sell_two_days(),
figures worked out by hand in tests/app/test_reports.py) pushed to HQ under its own role; HQ's
report of that till is the till's own report, and the chain's adds every till up."""

from __future__ import annotations

import copy
import shutil
import uuid
from datetime import date
from importlib import resources
from pathlib import Path

import pytest

from conftest import COLA
from hq_cluster import enrol, till_dir
from tui_pos.app.reports import sales_report
from tui_pos.bootstrap.till import open_ledger, open_till
from tui_pos.config import load_config
from tui_pos.domain.money import Currency
from tui_pos.domain.reports import report_json
from tui_pos.domain.shift import KindTotals, TenderTotals
from tui_pos.hq.catalog import import_catalog
from tui_pos.hq.connection import connect
from tui_pos.hq.reports import chain_currency_if_readable, report, sales

from .tills import push_till, stored_records

DAY_1, DAY_2 = date(2026, 3, 1), date(2026, 3, 2)


def other_tills_sale(record: dict, till: str, seq: int) -> dict:
    """A copy of a sale as another till's (its own uuid, till and receipt number)."""
    sale = copy.deepcopy(record)
    sale.update(uuid=str(uuid.uuid4()), till_id=till, seq=seq, receipt=f"{till}-{seq:06d}")
    return sale


@pytest.fixture
def chain(hq: str, two_days_shop: Path, tmp_path: Path, utc_plus_8: str) -> dict:
    """T1 (shop S1) with the two days' records; T2 (shop S2) with a copy of T1's first cash sale."""
    t1 = Path(shutil.copytree(two_days_shop, tmp_path / "t1"))
    records = stored_records(t1)
    push_till(hq, t1, "S1", records)
    cash_sale = next(r for r in records if r.get("type", "sale") == "sale" and r["tenders"][0]["kind"] == "cash")
    t2_sale = other_tills_sale(cash_sale, "T2", 1)
    push_till(hq, till_dir(tmp_path / "t2", "T2"), "S2", [t2_sale])
    return {"t1": t1, "records": records, "t2_sale": t2_sale}


def test_hq_sales_lists_every_sale_of_the_local_days_with_shop_and_till(hq, chain):
    with connect(hq) as conn:
        day_1 = sales(conn, DAY_1, DAY_1)
        both = sales(conn, DAY_1, DAY_2)
        s2 = sales(conn, DAY_1, DAY_2, shop="S2")
        t1_day_2 = sales(conn, DAY_2, DAY_2, till="T1")
    t1_sales = [r for r in chain["records"] if r.get("type", "sale") == "sale"]
    assert len(t1_sales) == 6
    assert [(s["till"], s["kind"], s["total"]) for s in day_1] == [
        ("T1", "sale", 550), ("T1", "sale", 1150), ("T2", "sale", 1150), ("T1", "sale", 600), ("T1", "refund", -350)]
    first = day_1[0]
    assert {k: first[k] for k in ("uuid", "receipt", "shop", "till", "cashier", "completed_at")} == {
        "uuid": t1_sales[0]["uuid"], "receipt": t1_sales[0]["receipt"], "shop": "S1", "till": "T1", "cashier": "amy",
        "completed_at": "2026-02-28T23:50:00.000+00:00"}  # 07:50 on 1 March in UTC+8
    assert first["tenders"] == [{"kind": "mobile", "amount": 550}]
    assert [s["receipt"] for s in both] == [s["receipt"] for s in day_1] + [s["receipt"] for s in t1_day_2]
    assert [s["uuid"] for s in s2] == [chain["t2_sale"]["uuid"]]
    assert [s["kind"] for s in t1_day_2] == ["sale", "void"]


def test_hq_report_of_a_till_is_the_tills_own_report(hq, chain):
    """Every figure, departments too once HQ's catalog has the till's (the demo catalog)."""
    with connect(hq) as admin:
        import_catalog(admin, (resources.files("tui_pos") / "demo_catalog.csv").read_text(encoding="utf-8"))
    config = load_config(chain["t1"])
    ledger = open_ledger(config)
    try:
        own = {day: report_json(sales_report(ledger, *day), Currency()) for day in ((DAY_1, DAY_1), (DAY_1, DAY_2))}
    finally:
        ledger.close()
    for (first, last), mine in own.items():
        with connect(hq) as conn:
            at_hq = report(conn, first, last, till="T1")
        [s1] = at_hq["shops"]
        [t1] = s1["tills"]
        assert report_json(t1["report"], Currency()) == mine
        assert report_json(s1["report"], Currency()) == report_json(at_hq["chain"], Currency())


def test_the_chain_adds_up_its_shops_and_tills(hq, chain):
    with connect(hq) as conn:
        r = report(conn, DAY_1, DAY_1)
        only_s2 = report(conn, DAY_1, DAY_1, shop="S2")
    assert [(s["shop"], s["name"], [t["till"] for t in s["tills"]]) for s in r["shops"]] == [
        ("S1", "First", ["T1"]), ("S2", "Second", ["T2"])]
    s1, s2 = (s["report"] for s in r["shops"])
    assert s2.sales == KindTotals(count=1, total=1150, discount=0, tax=118)
    assert s2.tenders == (TenderTotals("cash", 1150, 0),)  # 20.00 taken less 8.50 change
    assert r["chain"].sales == KindTotals(count=4, total=s1.sales.total + 1150, discount=0, tax=s1.sales.tax + 118)
    assert r["chain"].net == s1.net + s2.net == 2300 - 350 + 1150
    assert r["chain"].tenders == (TenderTotals("cash", 1150 + 1150, -350), TenderTotals("card", 600, 0),
                                  TenderTotals("mobile", 550, 0))
    assert [s["shop"] for s in only_s2["shops"]] == ["S2"] and only_s2["chain"].net == 1150
    with connect(hq) as conn:
        quiet = report(conn, date(2026, 3, 5), date(2026, 3, 5))
    assert [t["report"].sales.count for s in quiet["shops"] for t in s["tills"]] == [0, 0]  # every till, zeros
    assert quiet["z_reports"] == []


def test_every_tills_z_reports_of_the_period(hq, two_days_shop, tmp_path, utc_plus_8):
    t1 = Path(shutil.copytree(two_days_shop, tmp_path / "t1"))
    till = open_till(load_config(t1), cashier="amy")
    try:
        till.clock = lambda: "2026-03-02T02:00:00.000+00:00"  # 10:00 local on 2 March
        z = till.close_shift(10000 + 1150 - 350 + 900 - 900)  # the float and the cash the two days left
    finally:
        till.close()
    push_till(hq, t1, "S1")
    with connect(hq) as conn:
        day_2, day_1 = report(conn, DAY_2, DAY_2), report(conn, DAY_1, DAY_1)
    assert day_1["z_reports"] == []
    [found] = day_2["z_reports"]
    assert found == {"shop": "S1", "till": "T1", "uuid": found["uuid"], "z_number": 1, "shift": z.shift_number,
                     "closed_at": "2026-03-02T02:00:00.000+00:00", "closed_by": "amy", "sales": 4,
                     "net_sales": 1950, "expected": 10800, "counted": 10800, "difference": 0,
                     "first_receipt": z.first_receipt, "last_receipt": z.last_receipt}
    assert z.net_sales == 1950 and z.z_number == 1


def test_departments_from_hq_catalog_a_shops_own_first(hq, chain):
    with connect(hq) as admin:
        import_catalog(admin, f"barcode,name,price,tax,department\n{COLA},Cola,3.50,A,Drinks\n")
        import_catalog(admin, f"barcode,name,price,tax,department\n{COLA},Cola,3.80,A,Cold drinks\n", shop="S2")
        r = report(admin, DAY_1, DAY_1)
    s1, s2 = (s["report"] for s in r["shops"])
    assert {d.department: d.qty for d in s1.departments} == {"Drinks": 2 + 1 - 1, "(none)": 3 + 2 + 1}
    assert {d.department: d.qty for d in s2.departments} == {"Cold drinks": 2, "(none)": 1}


def test_amounts_in_the_chains_currency_a_tills_login_has_none(hq, tmp_path):
    own = enrol(hq, till_dir(tmp_path / "t1"))
    with connect(hq) as admin, connect(own) as till:
        assert chain_currency_if_readable(admin) == Currency("CNY", "", 2)
        assert chain_currency_if_readable(till) is None  # the till may not read HQ's settings: its own then
