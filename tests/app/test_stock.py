"""Stock at the till (app/stock.py) through the real Till on a real shop: receiving, adjusting,
counting and importing move stock on hand by exactly what they say; a manager where the rules
say so; a receive while the database fails is journaled and replayed exactly once; a sale is
never refused for stock. What is stored is read back with our own SQL, the audit chain verified."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import date
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from conftest import (
    COLA,
    WATER,
    break_sqlite,
    database_write_locked,
    journal_dir_replaced_by_a_file,
    restore_sqlite,
    sell_at,
    set_config,
)
from tui_pos.app.catalog_import import import_catalog
from tui_pos.bootstrap.till import open_till
from tui_pos.config import load_config
from tui_pos.domain.auth import ApprovalRequired
from tui_pos.domain.errors import BadInput, BadLines, NotDurable, StorageError, UnknownCode
from tui_pos.domain.tender import Tender
from tui_pos.store import verification

RICE = "2000000000017"
NOT_OPENING = "reason IS NOT 'opening'"  # the demo catalog's opening counts are stock movements too


def query(shop: Path, sql: str, *params: Any) -> list[tuple]:
    with closing(sqlite3.connect(shop / "pos.sqlite3")) as conn:
        return conn.execute(sql, params).fetchall()


def on_hand(till, code: str) -> int:
    [level] = till.stock.levels(code)
    return level.on_hand


def verified(shop: Path) -> bool:
    with closing(sqlite3.connect(shop / "pos.sqlite3")) as conn:
        return verification.verify(conn).ok


def test_receive_adjust_count_and_sell_move_stock_on_hand(till, shop_dir):
    start = on_hand(till, COLA)  # the demo catalog's opening stock
    assert start == 27_000
    [received] = till.stock.receive(till.stock.lines([f"{COLA}x24"], "receive", unit_cost=180, supplier="Coke",
                                                     reference="DN-1"))
    assert (received["qty"], received["expected"], received["unit_cost"]) == (24_000, 27_000, 180)
    till.stock.adjust(till.stock.lines([f"{COLA}x-2"], "adjust"), "damaged")
    till.scan(COLA, 3)
    till.pay([Tender("cash", 1050)])
    assert on_hand(till, COLA) == 27_000 + 24_000 - 2_000 - 3_000
    [counted] = till.stock.count(till.stock.lines([f"{COLA}x45"], "count"))
    assert (counted["counted"], counted["expected"], counted["qty"]) == (45_000, 46_000, -1_000)
    assert on_hand(till, COLA) == 45_000
    assert query(shop_dir, "SELECT kind, qty, expected, counted, actor FROM stock_move WHERE barcode = ? "
                           "ORDER BY rowid", COLA) == [
        ("count", 27_000, 0, 27_000, "system"),  # the demo catalog's opening stock, recorded as it was loaded
        ("receive", 24_000, 27_000, None, "test"), ("adjust", -2_000, 51_000, None, "test"),
        ("count", -1_000, 46_000, 45_000, "test")]
    assert verified(shop_dir)


def test_a_scanner_burst_adds_up_per_product(till):
    lines = till.stock.lines([COLA] * 100 + [WATER, f"{WATER}x2"], "count")
    assert [(line.product.barcode, line.qty) for line in lines] == [(COLA, 100_000), (WATER, 3_000)]


def test_a_count_off_by_more_than_a_threshold_needs_a_manager(till):
    lines = till.stock.lines([f"{COLA}x10"], "count")  # 27 expected: 17 short
    with pytest.raises(ApprovalRequired, match="counted 10, expected 27: -17"):
        till.stock.count(lines)
    [counted] = till.stock.count(lines, till.approve("manager", "9999", "stock_count"))
    assert counted["approved_by"] == "manager" and on_hand(till, COLA) == 10_000


def test_why_a_count_needs_a_manager_and_a_bad_quantity_are_whole_sentences_in_chinese(till):
    from tui_pos import i18n

    with pytest.raises(ApprovalRequired) as beyond:
        till.stock.count(till.stock.lines([f"{COLA}x10", f"{WATER}x0"], "count"))
    assert str(beyond.value) == ("可口可乐 330ml: counted 10, expected 27: -17 (more than 5 units, 63% of the 27 "
                                 "expected) (and 1 more): a manager must approve the count")
    with pytest.raises(BadInput) as bad:
        till.stock.lines([f"{COLA}x1.5"], "receive")
    assert str(bad.value) == f"{COLA}: quantity '1.5' must be a whole number (the product is not weighed)"
    i18n.use_language("zh_CN")
    assert i18n.message(beyond.value) == ("可口可乐 330ml：盘点 10，应有 27：差异 -17（超过 5 件，为应有 27 的 63%）"
                                          "（另有 1 项）：本次盘点需经理批准")
    assert i18n.message(bad.value) == f"{COLA}：数量 '1.5' 必须是整数（该商品不是称重商品）"


def test_an_adjustment_over_the_limit_needs_a_manager(till):
    with pytest.raises(ApprovalRequired, match="more than 10 units"):
        till.stock.adjust(till.stock.lines([f"{COLA}x-11"], "adjust"), "theft")
    till.stock.adjust(till.stock.lines([f"{COLA}x-10"], "adjust"), "theft")  # at the limit: no manager
    [adjusted] = till.stock.adjust(till.stock.lines([f"{COLA}x-11"], "adjust"), "expired",
                                   till.approve("manager", "9999", "stock_adjust"))
    assert adjusted["approved_by"] == "manager" and on_hand(till, COLA) == 6_000
    with pytest.raises(BadInput, match="not one of"):
        till.stock.adjust(till.stock.lines([f"{COLA}x-1"], "adjust"), "lost")


def test_bad_items_are_refused(till):
    with pytest.raises(UnknownCode):
        till.stock.lines(["999"], "receive")
    with pytest.raises(BadInput, match="whole number"):
        till.stock.lines([f"{COLA}x1.5"], "receive")
    with pytest.raises(BadInput, match="negative"):
        till.stock.lines([f"{COLA}x-1"], "receive")
    with pytest.raises(BadInput, match="moves nothing"):
        till.stock.lines([f"{COLA}x0"], "receive")


def test_weighed_goods_take_decimal_quantities(shop_dir):
    till = open_till(load_config(shop_dir), cashier="test")
    try:
        import_catalog(till, f"barcode,name,price,tax,weighed,reorder_level,reorder_qty\n{RICE},Rice (kg),6.00,B,yes,"
                             "2.5,10\n", till.approve("manager", "9999", "catalog"))
        till.stock.receive(till.stock.lines([f"{RICE}x1.25", f"{RICE}x0.5"], "receive"))
        [level] = till.stock.levels(RICE)
        assert (level.on_hand, level.reorder_level, level.reorder_qty, level.low, level.suggested) == (
            1_750, 2_500, 10_000, True, 10_000)
        assert [lv.barcode for lv in till.stock.levels(low=True)] == [RICE]
    finally:
        till.close()


def test_selling_at_zero_or_below_is_never_refused(till):
    till.stock.count(till.stock.lines([f"{WATER}x0"], "count"), till.approve("manager", "9999", "stock_count"))
    till.scan(WATER, 2)
    till.pay([Tender("cash", 400)])
    assert on_hand(till, WATER) == -2_000


def test_a_receive_while_the_database_is_locked_is_journaled_and_replayed_exactly_once(shop_dir):
    set_config(shop_dir, "storage", "retry_budget_ms", "50")
    till = open_till(load_config(shop_dir), cashier="test")
    try:
        with database_write_locked(shop_dir):
            [record] = till.stock.receive(till.stock.lines([f"{COLA}x6"], "receive", unit_cost=200))
            assert record["expected"] == 27_000  # reads still work: the on-hand before is known
            assert query(shop_dir, f"SELECT COUNT(*) FROM stock_move WHERE {NOT_OPENING}") == [(0,)]
            assert on_hand(till, COLA) == 33_000  # the journal's receive counted
        assert till.replay().replayed == 1
        assert till.replay().replayed == 0
        assert query(shop_dir, f"SELECT uuid, stored_via FROM stock_move WHERE {NOT_OPENING}") == [
            (record["uuid"], "journal")]
        assert on_hand(till, COLA) == 33_000
    finally:
        till.close()
    assert verified(shop_dir)


def test_a_receive_while_the_database_cannot_be_read_is_journaled_with_its_on_hand_unknown(shop_dir, tmp_path):
    break_sqlite(shop_dir, tmp_path / "aside")
    till = open_till(load_config(shop_dir), cashier="test")
    try:
        [record] = till.stock.receive(till.stock.lines([f"{COLA}x6"], "receive"))
        assert record["expected"] is None
        with pytest.raises(StorageError):  # a count needs what is expected
            till.stock.count(till.stock.lines([f"{COLA}x6"], "count"))
        restore_sqlite(shop_dir, tmp_path / "aside")
        assert till.replay().replayed >= 1
        assert query(shop_dir, f"SELECT qty, expected, stored_via FROM stock_move WHERE {NOT_OPENING}") == [
            (6_000, None, "journal")]
        assert on_hand(till, COLA) == 33_000
    finally:
        till.close()
    assert verified(shop_dir)


def test_a_receive_nothing_takes_is_refused_in_one_sentence(till, shop_dir):
    from tui_pos import i18n

    with database_write_locked(shop_dir), journal_dir_replaced_by_a_file(shop_dir), \
            pytest.raises(NotDurable) as refused:
        till.stock.receive(till.stock.lines([f"{COLA}x6"], "receive"))
    assert str(refused.value).startswith("NOT STORED: The database failed (")
    assert "Nothing of it was stored: free disk space" in str(refused.value)
    i18n.use_language("zh_CN")
    said = i18n.message(refused.value)
    assert said.startswith("未保存：数据库出错（") and "没有保存任何内容" in said
    assert on_hand(till, COLA) == 27_000


def test_an_import_is_all_lines_or_none(till, shop_dir):
    bad = f"barcode,qty\n{COLA},20\n999,1\n{WATER},1.5\n{WATER},30\n{WATER},31\n"
    with pytest.raises(BadLines) as refused:
        till.stock.import_file(bad)
    assert refused.value.details == ["line 3: unknown code '999': nothing added",
                                     "line 4: quantity '1.5' must be a whole number (the product is not weighed)",
                                     f"line 6: {WATER} is counted twice in the file"]
    assert query(shop_dir, f"SELECT COUNT(*) FROM stock_move WHERE {NOT_OPENING}") == [(0,)]
    with pytest.raises(BadInput, match="counts or receipts, not both"):
        till.stock.parse_import(f"barcode,qty,kind\n{COLA},1,count\n{WATER},1,receive\n")
    stored = till.stock.import_file(f"barcode,qty,kind,cost,supplier,reference\n{COLA},12,receive,1.80,Coke,DN-9\n"
                                    f"{WATER},6,receive,,,\n")
    assert [(r["barcode"], r["qty"], r["unit_cost"]) for r in stored] == [(COLA, 12_000, 180), (WATER, 6_000, None)]
    assert len({r["batch"] for r in stored}) == 1
    stored = till.stock.import_file(f"barcode,qty\n{COLA},39\n{WATER},40\n")
    assert [(r["kind"], r["qty"]) for r in stored] == [("count", 0), ("count", 0)]


@pytest.mark.parametrize(("header", "said", "in_chinese"), [
    ("barcode,qty,qty", "", ""),
    ("barcode,count", " (lacks qty) (unknown: count)", "（缺少 qty）（未知列：count）"),
    ("qty", " (lacks barcode)", "（缺少 barcode）"),
    ("barcode,qty,price", " (unknown: price)", "（未知列：price）"),
])
def test_a_bad_import_header_is_refused_saying_what_is_wrong_in_the_screen_s_language(till, header, said, in_chinese):
    from tui_pos import i18n

    with pytest.raises(BadInput) as refused:
        till.stock.parse_import(f"{header}\n{COLA},1\n")
    columns = "barcode,qty[,kind][,cost][,supplier][,reference]"
    assert str(refused.value) == f"line 1: the header must be {columns}{said}"
    i18n.use_language("zh_CN")
    assert i18n.message(refused.value) == f"第 1 行：表头必须是 {columns}{in_chinese}"


def test_the_margin_is_the_sales_net_of_tax_less_the_moving_average_cost(till):
    # the opening 27 have no cost: the first lot's (1.50) is theirs too; then 37 at 1.50 and 30 at 1.90
    till.stock.receive(till.stock.lines([f"{COLA}x10"], "receive", unit_cost=150))
    till.stock.receive(till.stock.lines([f"{COLA}x30"], "receive", unit_cost=190))
    till.scan(COLA, 3)
    till.pay([Tender("cash", 1050)])
    today = date.today()
    lines, journaled, readable = till.stock_reports.margin(today, today)
    [cola] = [line for line in lines if line.barcode == COLA]
    assert cola.unit_cost == Fraction(167_910, 1000)  # (37 x 1.50 + 30 x 1.90) / 67 = 1.679104..., to 1/1000 fen
    assert (cola.qty, cola.revenue, cola.cost) == (3_000, 1050 - 121, 504)  # 13% tax included; 3 x 1.6791 = 5.04
    assert (cola.margin, cola.margin_bp, journaled, readable) == (929 - 504, round(425 * 10000 / 929), 0, True)


def test_the_anomalies_of_a_day_say_why(till, shop_dir):
    manager = till.approve("manager", "9999", "stock_count")
    till.stock.count(till.stock.lines([f"{WATER}x0"], "count"), manager)  # 34 expected: the whole stock gone
    till.scan(WATER, 2)
    till.pay([Tender("cash", 400)])
    today = date.today()
    found = {(w.kind, w.subject): w.message for w in till.stock_reports.anomalies(today, today)}
    assert found[("count_variance", WATER)] == "农夫山泉 550ml: counted 0, expected 34: -34 (more than 5 units, " \
                                               "100% of the 34 expected)"
    assert found[("sold_below_zero", WATER)].startswith("农夫山泉 550ml: 1 sale(s) while stock was at or below zero")
    assert not any(subject == COLA for _, subject in found)  # untouched: nothing to say


def test_a_day_far_above_the_usual_outflow_is_flagged_and_a_usual_day_is_not(till, utc_plus_8):
    """The rule reads the store's per-day sums (store/stock_daily.py): 1 cola a day for 28 days,
    then 8 on one day (over 3x the usual 1 and at least 5) and 2 on the next (within the rule)."""
    for day in range(1, 29):
        sell_at(till, f"2026-11-{day:02d}T02:00:00.000+00:00", {COLA: 1}, [Tender("cash", 350)])
    sell_at(till, "2026-11-29T02:00:00.000+00:00", {COLA: 8}, [Tender("cash", 2800)])
    sell_at(till, "2026-11-30T02:00:00.000+00:00", {COLA: 2}, [Tender("cash", 700)])
    [spike] = [w for w in till.stock_reports.anomalies(date(2026, 11, 29), date(2026, 11, 30)) if w.kind == "outflow"]
    assert (spike.subject, spike.figures) == (COLA, {"day": "2026-11-29", "out": 8_000, "usual": 1_000})
    assert spike.message.endswith("8 out on 2026-11-29, usually 1 a day (over the 28 days before)")
    assert not [w for w in till.stock_reports.anomalies(date(2026, 11, 30), date(2026, 11, 30)) if w.kind == "outflow"]


def test_reorder_suggestions(shop_dir):
    till = open_till(load_config(shop_dir), cashier="test")
    try:
        import_catalog(till, f"barcode,name,price,tax,stock,reorder_level,reorder_qty\n{COLA},Cola,3.50,A,27,30,48\n"
                             f"{WATER},Water,2.00,A,34,10,\n", till.approve("manager", "9999", "catalog"))
        [low] = till.stock_reports.reorder()
        assert (low.barcode, low.on_hand, low.suggested) == (COLA, 27_000, 48_000)
    finally:
        till.close()
