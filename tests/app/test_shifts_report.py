"""X and Z reports (issue 5), every figure worked out by hand: expected cash = float + cash sales -
cash refunds + paid-in - paid-out (change given, split tenders, a card refund that does not touch
the drawer, cash rounding); over/short; totals by tender and by tax rate; discounts; voids; the
number of sales; first and last receipt numbers. An X report equals the Z taken at the same
moment. Sales still in the journal count, while SQLite is locked and when it cannot be read at
all, and the report says so; once replayed, the stored figures are the journal-time ones.

Demo catalog: COLA 3.50 (tax A 13 %), WATER 2.00 (A), NOODLES 4.50 (B 9 %); prices include tax,
tax per line = total x r / (1 + r), rounded half up. The shop's shift opens with FLOAT = 100.00.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from conftest import (
    COLA,
    FLOAT,
    NOODLES,
    WATER,
    WEIGHED,
    break_sqlite,
    database_write_locked,
    restore_sqlite,
    set_config,
)
from tui_pos.app.till import Till
from tui_pos.bootstrap.till import assemble, load_catalog, open_ledger
from tui_pos.config import load_config
from tui_pos.domain.pricing import Discount
from tui_pos.domain.shift import KindTotals, ShiftReport, TaxTotals, TenderTotals, count_cash
from tui_pos.domain.tender import Tender
from tui_pos.store import verification


class Clock:
    """A fake clock: reports taken 'at the same moment' really are. It starts now, after the test
    shop's shift opened (a time before that is a clock set back: warned and audited)."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> str:
        return self.now.isoformat(timespec="milliseconds")

    def tick(self) -> None:
        self.now += timedelta(seconds=1)


@contextmanager
def till_at(shop: Path, clock: Clock | None = None) -> Iterator[Till]:
    """The demo cashier at a till (replaying the journal first, as at start-up)."""
    config = load_config(shop)
    ledger = open_ledger(config)
    ledger.replay()
    till = assemble(config, ledger, load_catalog(config, ledger), "", clock=clock or Clock())
    till.login("demo", "1234")
    try:
        yield till
    finally:
        till.close()


def sell(till: Till, items: list[tuple[str, int]], tenders: list[Tender], *, void_line: int | None = None,
         line_discount: Discount | None = None, prices: dict[int, int] | None = None):
    for n, (code, qty) in enumerate(items, 1):
        till.scan(code, qty, (prices or {}).get(n))
    if line_discount is not None:
        till.discount_line(1, line_discount)
    if void_line is not None:
        till.void_line(void_line)
    return till.pay(tenders).sale


def manager(till: Till, action: str):
    return till.approve("manager", "9999", action)


def query(shop: Path, sql: str, *params: Any) -> list[tuple]:
    with closing(sqlite3.connect(shop / "pos.sqlite3")) as conn:
        return conn.execute(sql, params).fetchall()


# Everything but when, by whom, and what the Z adds (its number, the count, the audit head).
MOMENT = ("taken_at", "taken_by", "z_number", "counted", "counted_detail", "audit_head")


def figures(report: ShiftReport, *also: str) -> dict[str, Any]:
    return {k: v for k, v in report.to_dict().items() if k not in MOMENT + also}


# -- the arithmetic, by hand --------------------------------------------------------------------------------
def a_busy_shift(till: Till) -> None:
    """Four sales, two refunds, a void, a paid-in and a paid-out (receipts T1-000001..7)."""
    s1 = sell(till, [(COLA, 3), (NOODLES, 1)], [Tender("card", 5_00, "C1"), Tender("cash", 20_00)])
    assert (s1.total, s1.change) == (15_00, 10_00)  # 10.50 + 4.50; 10.00 cash stays in the drawer
    s2 = sell(till, [(WATER, 1)], [Tender("cash", 2_00)])
    s3 = sell(till, [(COLA, 2)], [Tender("mobile", 6_30, "WX1")], line_discount=Discount("percent", 1000))
    assert s3.total == 6_30  # 7.00 - 0.70
    s4 = sell(till, [(WATER, 1), (NOODLES, 1)], [Tender("cash", 5_00)], void_line=1)
    assert (s4.total, s4.change) == (4_50, 50)
    r5 = till.refund(s1.receipt, {1: 1}, "Damaged", manager(till, "refund")).sale
    assert [(t.kind, t.amount) for t in r5.tenders] == [("card", -3_50)]  # the drawer is not touched
    r6 = till.refund(s2.receipt, {1: 1}, "Changed mind", manager(till, "refund")).sale
    assert [(t.kind, t.amount) for t in r6.tenders] == [("cash", -2_00)]
    v7 = till.void_last_sale("Wrong item", manager(till, "void")).sale
    assert (v7.original_uuid, v7.receipt) == (s4.uuid, "T1-000007")
    till.cash_movement("paid_in", 10_00, "coins from the bank")
    till.cash_movement("paid_out", 3_00, "window cleaner")


# Tax by hand (per line, half up): COLA x3 10.50 -> 1.21; NOODLES 4.50 -> 0.37; WATER 2.00 -> 0.23;
# COLA x2 6.30 -> 0.72. Refund of 1 of 3 colas: 3.50, tax round(1.21 / 3) = 0.40.
# A: net 9.29 + 1.77 + 5.58 - 3.10 - 1.77 = 11.77, tax 1.21 + 0.23 + 0.72 - 0.40 - 0.23 = 1.53
# B: net 4.13 + 4.13 - 4.13 = 4.13 (sold twice, voided once), tax 0.37
BUSY_SHIFT = dict(
    float=FLOAT,
    sales=KindTotals(count=4, total=27_80, discount=70, tax=2_90),
    refunds=KindTotals(count=2, total=-5_50, discount=0, tax=-63),
    voids=KindTotals(count=1, total=-4_50, discount=0, tax=-37),
    voided_lines=1, voided_lines_amount=2_00,
    tenders=(TenderTotals("cash", 16_50, -6_50), TenderTotals("card", 5_00, -3_50), TenderTotals("mobile", 6_30, 0)),
    taxes=(TaxTotals("A", 1300, 11_77, 1_53), TaxTotals("B", 900, 4_13, 37)),
    paid_in=10_00, paid_out=3_00, rounding=0,
    expected_cash=100_00 + (10_00 + 2_00 + 4_50) - (2_00 + 4_50) + 10_00 - 3_00,  # 117.00
    first_receipt="T1-000001", last_receipt="T1-000007",
    journaled=0, database_readable=True,
)


def test_x_report_of_a_busy_shift(shop_dir):
    with till_at(shop_dir) as till:
        a_busy_shift(till)
        x = till.x_report()
    assert {k: getattr(x, k) for k in BUSY_SHIFT} == BUSY_SHIFT
    assert x.expected_cash == 117_00 and x.net_sales == 17_80 and x.z_number is None and x.difference is None
    assert sum(t.net for t in x.taxes) + sum(t.tax for t in x.taxes) == x.net_sales


def test_z_equals_the_x_taken_at_the_same_moment_and_is_stored(shop_dir):
    """The Z is the X of that moment plus the count; counted by denomination, 0.50 short;
    stored, and read back identical later (by number, and newest first)."""
    clock = Clock()
    with till_at(shop_dir, clock) as till:
        a_busy_shift(till)
        clock.tick()
        x = till.x_report()
        detail = (("100", 1), ("10", 1), ("5", 1), ("1", 1), ("0.5", 1))
        counted = count_cash({100_00: 1, 10_00: 1, 5_00: 1, 1_00: 1, 50: 1})
        assert counted == 116_50
        z = till.close_shift(counted, detail)
        head = query(shop_dir, "SELECT hash FROM audit WHERE seq = (SELECT MAX(seq) - 1 FROM audit)")[0][0]
        assert figures(z) == figures(x)
        assert (z.taken_at, z.z_number, z.counted, z.counted_detail, z.difference) == (x.taken_at, 1, 116_50, detail, -50)
        assert z.audit_head == head  # the chain's head just before the Z's own entry
        assert till.shift is None and till.z_reports() == [z] and till.z_reports(1) == [z]
    assert query(shop_dir, "SELECT z_number, counted, expected, difference, closed_by FROM z_report") == [
        (1, 116_50, 117_00, -50, "demo")]
    with till_at(shop_dir) as later:
        assert later.shift is None
        assert later.z_reports(1) == [z]


def test_an_empty_shift_expects_its_float(shop_dir):
    with till_at(shop_dir) as till:
        till.cash_movement("paid_out", 20_00, "milk for the staff room")
        z = till.close_shift(80_00)
    assert (z.expected_cash, z.difference, z.sales, z.first_receipt, z.last_receipt, z.tenders, z.taxes) == (
        80_00, 0, KindTotals(), None, None, (), ())


def test_cash_rounding_in_the_drawer(shop_dir):
    """Cash rounding 0.10 applies to the cash part only, in sales and in refunds alike: the drawer
    expects what really changed hands."""
    set_config(shop_dir, "shop", "cash_rounding", '"0.10"')
    with till_at(shop_dir) as till:
        s1 = sell(till, [(WEIGHED, 1)], [Tender("cash", 20_00)], prices={1: 12_34})
        assert (s1.rounding, s1.change) == (-4, 7_70)  # 12.30 in cash
        s2 = sell(till, [(WEIGHED, 1)], [Tender("card", 1_00, "C2"), Tender("cash", 5_00)], prices={1: 5_05})
        assert (s2.rounding, s2.change) == (5, 90)  # cash part 4.05 -> 4.10
        r3 = till.refund(s1.receipt, {1: 1}, "Damaged", manager(till, "refund")).sale
        assert ([(t.kind, t.amount) for t in r3.tenders], r3.rounding) == ([("cash", -12_30)], 4)
        x = till.x_report()
    assert x.tenders == (TenderTotals("cash", 12_30 + 4_10, -12_30), TenderTotals("card", 1_00, 0))
    assert (x.rounding, x.expected_cash) == (-4 + 5 + 4, 100_00 + 12_30 + 4_10 - 12_30)
    assert (x.sales.total, x.refunds.total) == (12_34 + 5_05, -12_34)


# -- sales in the journal ----------------------------------------------------------------------------------------
def sell_three_journaled(till: Till) -> None:
    """Water for cash and noodles by card (6.50 together) and a paid-out of 1.00, to the journal."""
    backlog = till.storage().journal_backlog
    for sale in (sell(till, [(WATER, 1)], [Tender("cash", 2_00)]),
                 sell(till, [(NOODLES, 1)], [Tender("card", 4_50, "C9")])):
        assert till.ledger.is_recorded(sale.uuid)
    till.cash_movement("paid_out", 1_00, "stamps")
    assert till.storage().journal_backlog == backlog + 3


def test_x_counts_journaled_sales_while_sqlite_is_locked(shop_dir):
    """Cola (3.50 net cash) in SQLite, then three records journaled: the X has all of them and says
    three are journaled; after replay the figures are the same, from SQLite alone."""
    with till_at(shop_dir) as till:
        sell(till, [(COLA, 1)], [Tender("cash", 5_00)])
        with database_write_locked(shop_dir):
            sell_three_journaled(till)
            during = till.x_report()
        assert (during.journaled, during.database_readable) == (3, True)
        assert (during.sales.count, during.sales.total, during.paid_out) == (3, 10_00, 1_00)
        assert during.expected_cash == 100_00 + 3_50 + 2_00 - 1_00
        assert during.tenders == (TenderTotals("cash", 5_50, 0), TenderTotals("card", 4_50, 0))
        assert till.replay().replayed == 3
        after = till.x_report()
    assert after.journaled == 0
    assert figures(after, "journaled") == figures(during, "journaled")


def test_a_z_taken_while_sqlite_is_locked_is_journaled_and_replayed_unchanged(shop_dir):
    with till_at(shop_dir) as till:
        sell(till, [(COLA, 1)], [Tender("cash", 5_00)])
        with database_write_locked(shop_dir):
            sell_three_journaled(till)
            z = till.close_shift(104_50)
            assert (z.z_number, z.journaled, z.database_readable, z.difference) == (1, 3, True, 0)
            assert till.z_reports() == [z]  # viewable again though only in the journal
            assert query(shop_dir, "SELECT COUNT(*) FROM z_report") == [(0,)]
    with till_at(shop_dir) as after:  # start-up replays
        assert after.storage().journal_backlog == 0 and after.shift is None
        assert after.z_reports(1) == [z]
    assert query(shop_dir, "SELECT z_number, counted, expected, difference FROM z_report") == [(1, 104_50, 104_50, 0)]
    assert query(shop_dir, "SELECT COUNT(*), SUM(total) FROM sale WHERE shift_uuid = ?", z.shift_uuid) == [(3, 10_00)]


def test_z_when_the_database_cannot_be_read_at_all(shop_dir, tmp_path):
    """The shift comes from the saved shift document; the X and Z are the journal's figures and
    say the database could not be read; once it is back, replay stores exactly that Z, and the
    database's own sums agree with it."""
    shift_uuid = query(shop_dir, "SELECT uuid FROM shift")[0][0]
    break_sqlite(shop_dir, tmp_path / "aside")
    with till_at(shop_dir) as till:
        assert till.ledger.users() is None and till.shift["uuid"] == shift_uuid
        sell_three_journaled(till)
        x = till.x_report()
        assert (x.database_readable, x.journaled, x.sales.count, x.sales.total) == (False, 3, 2, 6_50)
        assert x.expected_cash == 100_00 + 2_00 - 1_00
        z = till.close_shift(101_00)
        assert figures(z) == figures(x)
        assert (z.z_number, z.difference, z.audit_head) == (1, 0, None)
    restore_sqlite(shop_dir, tmp_path / "aside")
    with till_at(shop_dir) as after:
        assert after.shift is None and after.z_reports(1) == [z]
    assert query(shop_dir, "SELECT COUNT(*), SUM(total), SUM(tax) FROM sale WHERE shift_uuid = ?", shift_uuid) == [
        (2, z.sales.total, z.sales.tax)]
    assert query(shop_dir, "SELECT SUM(amount) FROM cash_movement WHERE shift_uuid = ?", shift_uuid) == [(1_00,)]
    with closing(sqlite3.connect(shop_dir / "pos.sqlite3")) as conn:
        assert verification.verify(conn).ok
