"""Sales reports over a real shop on disk: figures worked out by hand for the sales of
conftest.sell_two_days() (made through the Till API at fixed times), read in UTC+8.

Demo prices include tax: tax = round(amount x rate / (1 + rate)). COLA 3.50 and WATER 2.00 are
饮料 Drinks at 13 %, NOODLES 4.50 is 食品 Food at 9 %, CANDY 1.00 (13 %) has no department.
  COLA x2 700 -> tax 81; COLA 350 -> 40; WATER x3 600 -> 69; CANDY x2 200 -> 23;
  NOODLES 450 -> 37; NOODLES x2 900 -> 74; refund of 1 of the 2 COLA: -350, tax -round(81/2) = -41.
"""

from __future__ import annotations

import os
import shutil
from datetime import date
from pathlib import Path

import pytest

from conftest import CANDY, COLA, NOODLES, WATER, database_write_locked, sell_at
from tui_pos.app.reports import sales_report
from tui_pos.app.till import Till
from tui_pos.bootstrap.till import open_ledger, open_till
from tui_pos.config import load_config
from tui_pos.domain.errors import BadInput
from tui_pos.domain.reports import (
    CashierReversals,
    DepartmentSales,
    HourSales,
    ProductSales,
    SalesReport,
    period,
    report_rows,
    utc_bounds,
)
from tui_pos.domain.shift import KindTotals, TaxTotals, TenderTotals
from tui_pos.domain.tender import Tender

DAY_1, DAY_2 = date(2026, 3, 1), date(2026, 3, 2)
DRINKS, FOOD = "饮料 Drinks", "食品 Food"


@pytest.fixture
def shop(two_days_shop: Path, tmp_path: Path, utc_plus_8: str):
    """A till on a copy of the two days' shop (some tests add sales), in UTC+8."""
    till = open_till(load_config(Path(shutil.copytree(two_days_shop, tmp_path / "shop"))), cashier="test")
    yield till
    till.close()


def report(till: Till, first: date, last: date | None = None, top: int = 10) -> SalesReport:
    return sales_report(till.ledger, first, last or first, top=top)


def test_one_local_day_has_every_figure_by_hand(shop: Till) -> None:
    r = report(shop, DAY_1)
    assert (r.first_day, r.last_day, r.journaled, r.database_readable) == (DAY_1, DAY_1, 0, True)
    assert r.sales == KindTotals(count=3, total=550 + 1150 + 600, discount=0, tax=63 + 118 + 69)
    assert r.gross == 2300
    assert r.refunds == KindTotals(count=1, total=-350, discount=0, tax=-41)
    assert r.voids == KindTotals()
    assert (r.net, r.tax) == (2300 - 350, 250 - 41)
    assert (r.voided_lines, r.voided_lines_amount) == (1, 450)
    # cash: 20.00 taken less 8.50 change; the refund went back in cash (the sale was paid in cash)
    assert r.tenders == (TenderTotals("cash", 1150, -350), TenderTotals("card", 600, 0),
                         TenderTotals("mobile", 550, 0))
    tax_a = 81 + 40 + 69 + 23 - 41
    assert r.taxes == (TaxTotals("A", 1300, 700 + 350 + 600 + 200 - 350 - tax_a, tax_a), TaxTotals("B", 900, 450 - 37, 37))
    assert r.departments == (DepartmentSales(DRINKS, 2 + 1 + 3 - 1, 1300), DepartmentSales(FOOD, 1, 450),
                             DepartmentSales("(none)", 2, 200))
    cola = ProductSales(COLA, "可口可乐 330ml", DRINKS, 2, 700)
    water = ProductSales(WATER, "农夫山泉 550ml", DRINKS, 3, 600)
    candy = ProductSales(CANDY, "Loose candy", "(none)", 2, 200)
    noodles = ProductSales(NOODLES, "康师傅红烧牛肉面", FOOD, 1, 450)
    assert r.top_by_qty == (water, cola, candy, noodles)
    assert r.top_by_amount == (cola, water, noodles, candy)
    assert r.cashiers == (CashierReversals("bob", 1, -350, 0, 0),)
    assert r.hours == (HourSales("2026-03-01", 7, 1, 550), HourSales("2026-03-01", 9, 1, 1150),
                       HourSales("2026-03-01", 10, 1, 600), HourSales("2026-03-01", 11, 0, -350))


def test_the_day_is_the_local_day_not_the_utc_day(shop: Till) -> None:
    """00:30 and 01:00 local on 2 March are still 1 March in UTC; 07:50 local on 1 March is 28 February."""
    r = report(shop, DAY_2)
    assert (r.sales, r.voids, r.refunds) == (KindTotals(1, 900, 0, 74), KindTotals(1, -900, 0, -74), KindTotals())
    assert r.net == 0
    assert r.tenders == (TenderTotals("cash", 900, -900),)
    assert r.cashiers == (CashierReversals("amy", 0, 0, 1, -900),)
    assert r.hours == (HourSales("2026-03-02", 0, 1, 900), HourSales("2026-03-02", 1, 0, -900))
    assert r.top_by_qty == () and r.top_by_amount == ()  # everything sold that day was voided
    assert r.departments == (DepartmentSales(FOOD, 0, 0),)
    assert report(shop, date(2026, 2, 28)).sales == KindTotals()
    assert utc_bounds(DAY_1, DAY_1) == ("2026-02-28T16:00:00.000+00:00", "2026-03-01T16:00:00.000+00:00")


def test_a_period_sums_its_days_and_hours(shop: Till) -> None:
    r = report(shop, DAY_1, DAY_2, top=2)
    assert (r.sales.count, r.sales.total, r.refunds.total, r.voids.total, r.net) == (4, 3200, -350, -900, 1950)
    assert r.by_day == (HourSales("2026-03-01", -1, 3, 1950), HourSales("2026-03-02", -1, 1, 0))
    hourly = {h.hour: (h.sales, h.amount) for h in r.by_hour if h.sales or h.amount}
    assert [h.hour for h in r.by_hour] == list(range(24))
    assert hourly == {0: (1, 900), 1: (0, -900), 7: (1, 550), 9: (1, 1150), 10: (1, 600), 11: (0, -350)}
    assert [p.barcode for p in r.top_by_amount] == [COLA, WATER]  # top=2
    assert r.cashiers == (CashierReversals("amy", 0, 0, 1, -900), CashierReversals("bob", 1, -350, 0, 0))


def test_journaled_sales_are_counted_and_said_so_until_replayed(shop: Till) -> None:
    with database_write_locked(shop.config.data_dir):  # SQLite refuses every write: the sale is journaled
        sale = sell_at(shop, "2026-03-01T05:00:00.000+00:00", {WATER: 1}, [Tender("cash", 200)])
        # journaled (beside it, the clock_back audit event: it is dated before the shift opened)
        assert [r["uuid"] for r in shop.ledger.journaled_sales()] == [sale.uuid]
        during = report(shop, DAY_1)
    assert during.journaled == 1 and during.database_readable
    assert (during.sales.count, during.sales.total, during.net) == (4, 2500, 2150)
    assert during.tenders[0] == TenderTotals("cash", 1350, -350)
    assert during.departments[0] == DepartmentSales(DRINKS, 6, 1500)  # its department, though journaled
    assert during.top_by_amount[0] == ProductSales(WATER, "农夫山泉 550ml", DRINKS, 4, 800)
    assert HourSales("2026-03-01", 13, 1, 200) in during.hours
    assert report(shop, DAY_2).journaled == 0  # not that day's
    assert shop.replay().replayed >= 1
    after = report(shop, DAY_1)
    assert after.journaled == 0 and after == SalesReport(**{**during.__dict__, "journaled": 0})
    assert sale.receipt == "T1-000007"


def test_with_the_database_unreadable_the_journal_alone_is_reported(shop: Till, tmp_path: Path) -> None:
    with database_write_locked(shop.config.data_dir):
        sell_at(shop, "2026-03-01T05:00:00.000+00:00", {WATER: 2}, [Tender("cash", 400)])
    garbage = tmp_path / "garbage"
    garbage.write_bytes(b"this is not an SQLite database\n" * 256)
    os.replace(garbage, shop.config.db_path)  # the till's own connection keeps the old file open
    ledger = open_ledger(shop.config)
    try:
        r = sales_report(ledger, DAY_1, DAY_1)
    finally:
        ledger.close()
    assert (r.journaled, r.database_readable) == (1, False)
    assert (r.sales, r.net) == (KindTotals(count=1, total=400, discount=0, tax=46), 400)
    # 400 x 13 / 113 = 46.02; the catalog cannot be read either: no department
    assert r.departments == (DepartmentSales("(none)", 2, 400),)
    assert r.hours == (HourSales("2026-03-01", 13, 1, 400),)


def test_csv_rows(shop: Till) -> None:
    rows = report_rows(report(shop, DAY_2), shop.currency)
    assert rows == [
        ("totals", "sales", "Sales", "1", "", "9.00", "0.74"),
        ("totals", "gross", "Sales before discounts", "", "", "9.00", ""),
        ("totals", "discounts", "Discounts", "", "", "0.00", ""),
        ("totals", "refunds", "Refunds", "0", "", "0.00", "0.00"),
        ("totals", "voids", "Voids", "1", "", "-9.00", "-0.74"),
        ("totals", "net", "Net sales", "", "", "0.00", "0.00"),
        ("totals", "voided_lines", "Lines voided before payment", "0", "", "0.00", ""),
        ("tenders", "cash", "cash sales", "", "", "9.00", ""),
        ("tenders", "cash:refunds", "cash refunds", "", "", "-9.00", ""),
        ("taxes", "B:900", "B 9%", "", "", "0.00", "0.00"),
        ("departments", FOOD, FOOD, "", "0", "0.00", ""),
        ("voids_by_cashier", "amy", "amy", "1", "", "-9.00", ""),
        ("days", "2026-03-02", "2026-03-02", "1", "", "0.00", ""),
        ("hours", "00", "00:00-01:00", "1", "", "9.00", ""),
        ("hours", "01", "01:00-02:00", "0", "", "-9.00", ""),
    ]


@pytest.mark.parametrize(("given", "expected"), [
    ({}, (date(2026, 3, 5), date(2026, 3, 5))),
    ({"day": "2026-03-01"}, (DAY_1, DAY_1)),
    ({"month": "2026-02"}, (date(2026, 2, 1), date(2026, 2, 28))),
    ({"month": "2024-02"}, (date(2024, 2, 1), date(2024, 2, 29))),
    ({"month": "2026-12"}, (date(2026, 12, 1), date(2026, 12, 31))),
    ({"first": "2026-02-27", "last": "2026-03-01"}, (date(2026, 2, 27), DAY_1)),
    ({"first": "2026-03-01"}, (DAY_1, date(2026, 3, 5))),
])
def test_period(given: dict, expected: tuple[date, date]) -> None:
    assert period(**given, today=date(2026, 3, 5)) == expected


@pytest.mark.parametrize(("given", "message"), [
    ({"day": "2026-13-01"}, "not a date"),
    ({"month": "2026-3"}, "not a month"),
    ({"day": "2026-03-01", "month": "2026-03"}, "one of"),
    ({"last": "2026-03-01"}, "--to needs --from"),
    ({"first": "2026-03-02", "last": "2026-03-01"}, "ends (2026-03-01) before it starts (2026-03-02)"),
])
def test_bad_period(given: dict, message: str) -> None:
    with pytest.raises(BadInput, match=message.replace("(", r"\(").replace(")", r"\)")):
        period(**given, today=date(2026, 3, 5))
