"""Each product's movements summed per local day (store/stock_daily.py): kept by the insert path in
the record's own transaction, the same as the migration's backfill makes from the rows, in the
till's local days; journaled records counted by the view and, once replayed, exactly once."""

from __future__ import annotations

import sqlite3
from contextlib import closing

import pytest

from conftest import break_sqlite, restore_sqlite
from tui_pos.store import db, schema, stock_daily

from .records import make_record, new_ledger, query
from .stock_shop import AT, move, product


@pytest.fixture
def shop(tmp_path):
    ledger = new_ledger(tmp_path)
    conn = ledger.connection()
    with db.transaction(conn):
        db.write_products(conn, [product("111", "可口可乐", 10), product("222", "农夫山泉", 5)], AT)
    yield ledger
    ledger.close()


def daily(tmp_path) -> list[tuple]:
    return query(tmp_path / "pos.sqlite3", "SELECT day, barcode, sold, qty_in, qty_out FROM stock_daily ORDER BY 1, 2")


def refund_of(sale: dict, seq: int, completed_at: str) -> dict:
    refund = make_record(seq, completed_at=completed_at)
    refund.update(kind="refund", original_uuid=sale["uuid"], original_receipt=sale["receipt"], reason="Damaged")
    refund["lines"][0]["qty"] = -1
    return refund


def test_sales_and_movements_are_summed_on_the_tills_local_day(tmp_path, shop, utc_plus_8):
    sale = make_record(1, completed_at="2026-12-04T15:59:00.000+00:00")  # 23:59 in UTC+8: the 4th
    shop.commit(sale)
    shop.commit(make_record(2, completed_at="2026-12-04T16:00:00.000+00:00"))  # 00:00 on the 5th
    shop.commit(refund_of(sale, 3, "2026-12-04T17:00:00.000+00:00"))  # one back: in, not sold
    shop.commit(move("receive", "222", 6_000, 5_000, at="2026-12-04T17:30:00.000+00:00"))
    shop.commit(move("count", "222", 0, 11_000, counted=11_000, at="2026-12-05T01:00:00.000+00:00"))
    shop.commit(move("adjust", "111", -1_000, 1_000, reason="theft", at="2026-12-05T02:00:00.000+00:00"))
    assert daily(tmp_path) == [  # the voided 222 lines moved nothing; the count found what was expected: moved
        ("2026-12-04", "111", 2_000, 0, 2_000),
        ("2026-12-05", "111", 2_000, 1_000, 3_000),
        ("2026-12-05", "222", 0, 6_000, 0),
    ]


def test_the_migration_fills_the_table_as_the_insert_path_keeps_it(tmp_path, shop, utc_plus_8):
    sale = make_record(1, completed_at="2026-12-03T20:00:00.000+00:00")
    for record in (sale, make_record(2, completed_at="2026-12-04T15:59:59.999+00:00"),
                   refund_of(sale, 3, "2026-12-04T16:00:00.000+00:00"),
                   move("receive", "222", 6_000, 5_000, at="2026-12-04T17:30:00.000+00:00"),
                   move("adjust", "111", -1_500, 1_000, reason="damaged", at="2026-12-04T12:00:00.000+00:00")):
        shop.commit(record)
    kept = daily(tmp_path)
    shop.close()
    with closing(sqlite3.connect(tmp_path / "pos.sqlite3")) as conn:  # as a database from before the migration
        conn.execute("DROP TABLE stock_daily")
        conn.execute(f"DELETE FROM {schema.MIGRATIONS_TABLE} WHERE name = 'stock_daily'")
        conn.commit()
    again = new_ledger(tmp_path)
    again.connection()
    assert daily(tmp_path) == kept and len(kept) == 3
    again.close()


def test_a_journaled_movement_is_counted_once_before_and_after_replay(tmp_path, shop):
    shop.close()
    break_sqlite(tmp_path, tmp_path / "aside")
    ledger = new_ledger(tmp_path)
    assert ledger.commit(make_record(1, completed_at=AT)) == "journal"
    assert ledger.commit(move("receive", "222", 6_000, 5_000, at="2026-12-05T10:00:00.000+00:00")) == "journal"
    restore_sqlite(tmp_path, tmp_path / "aside")
    expected = {"outflow": {"111": {"2026-12-04": 2_000}}, "last_moved": {"111": "2026-12-04", "222": "2026-12-05"},
                "moved_after": {"222": 6_000}, "came_in": {}}
    assert ledger.stock_period("2026-11-06", "2026-12-04", "2026-12-04", 5_000) == expected  # the journal's
    assert ledger.replay().replayed == 2
    assert ledger.stock_period("2026-11-06", "2026-12-04", "2026-12-04", 2_000) == expected  # SQLite's, once
    assert daily(tmp_path) == [("2026-12-04", "111", 2_000, 0, 2_000), ("2026-12-05", "222", 0, 6_000, 0)]
    ledger.close()


def test_outflow_reads_only_products_that_sold_the_minimum_on_a_day_of_the_period(tmp_path, shop):
    for n, day in enumerate(("2026-11-20", "2026-12-01", "2026-12-02"), 1):
        shop.commit(make_record(n, completed_at=f"{day}T10:00:00.000+00:00"))
    conn = shop.connection()
    assert stock_daily.outflow(conn, "2026-11-15", "2026-12-01", "2026-12-02", 2_000) == {
        "111": {"2026-11-20": 2_000, "2026-12-01": 2_000, "2026-12-02": 2_000}}  # the lookback's days too
    assert stock_daily.outflow(conn, "2026-11-15", "2026-12-01", "2026-12-02", 3_000) == {}
    assert stock_daily.outflow(conn, "2026-11-15", "2026-12-03", "2026-12-04", 2_000) == {}  # nothing sold then
    assert stock_daily.outflow(conn, "2026-11-15", "2026-12-03", "2026-12-04", 2_000, also=["111"]) == {
        "111": {"2026-11-20": 2_000, "2026-12-01": 2_000, "2026-12-02": 2_000}}


def test_one_product_s_days_include_what_the_journal_holds(tmp_path, shop):
    shop.commit(make_record(1, completed_at="2026-12-01T10:00:00.000+00:00"))
    shop.commit(move("adjust", "111", -1_000, 8_000, reason="theft", at="2026-12-01T11:00:00.000+00:00"))
    shop.close()
    break_sqlite(tmp_path, tmp_path / "aside")
    ledger = new_ledger(tmp_path)
    assert ledger.commit(make_record(2, completed_at="2026-12-02T10:00:00.000+00:00")) == "journal"
    restore_sqlite(tmp_path, tmp_path / "aside")
    assert ledger.stock_days("111", "2026-11-30", "2026-12-02") == {
        "2026-12-01": [2_000, 0, 3_000], "2026-12-02": [2_000, 0, 2_000]}
    assert ledger.stock_days("111", "2026-12-02", "2026-12-02") == {"2026-12-02": [2_000, 0, 2_000]}
    assert ledger.stock_days("222", "2026-11-30", "2026-12-02") == {}  # its lines were voided
    ledger.close()


def test_what_moved_after_a_day_is_the_same_summed_from_either_side_of_the_year(tmp_path, shop):
    """net_after sums the shorter side of the stored days (an early day: the days up to it, taken
    from each product's kept total): for every day of a stretch of sales, receipts, counts and
    write-offs, it is what the days after it add up to, read from the rows themselves."""
    days = [f"2026-{month:02d}-{day:02d}" for month in (1, 3, 6, 9, 12) for day in (1, 15, 28)]
    for n, day in enumerate(days, 1):
        shop.commit(make_record(n, completed_at=f"{day}T10:00:00.000+00:00"))
        shop.commit(move("receive", "222", 1_000 * n, 1, at=f"{day}T11:00:00.000+00:00"))
        if n % 4 == 0:
            shop.commit(move("adjust", "111", -500, 1, reason="damaged", at=f"{day}T12:00:00.000+00:00"))
    conn = shop.connection()
    rows = conn.execute("SELECT day, barcode, qty_in - qty_out FROM stock_daily").fetchall()
    for last in ["2025-12-31", *days, "2026-06-16", "2027-01-01"]:
        expected: dict[str, int] = {}
        for day, barcode, net in rows:
            if day > last:
                expected[barcode] = expected.get(barcode, 0) + net
        got = stock_daily.net_after(conn, last)
        assert {b: q for b, q in got.items() if q} == {b: q for b, q in expected.items() if q}, last
