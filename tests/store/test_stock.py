"""Stock on hand as stored (store/stock.py through the view): the catalog's opening stock (an
opening count), sales' movements and stock movement records, SQLite and journal together; a
receive while the database fails is journaled and replayed exactly once; the audit chain covers
every movement."""

from __future__ import annotations

import shutil
import sqlite3
from contextlib import closing

from conftest import break_sqlite, restore_sqlite
from tui_pos.store import db
from tui_pos.store.verification import verify

from .records import make_record, new_ledger, query
from .stock_shop import AT, edited, move, on_hand, openings, product


def test_on_hand_is_the_opening_stock_less_sales_plus_movements(tmp_path, products):
    ledger = new_ledger(tmp_path)
    assert on_hand(ledger) == {"111": 10_000, "222": 5_000, "333": 0}
    ledger.commit(make_record(1))  # 2 x 111 sold (the 222 line is voided)
    ledger.commit(move("receive", "111", 24_000, 8_000, unit_cost=150, supplier="Coca-Cola", reference="DN-1"))
    ledger.commit(move("adjust", "222", -1_000, 5_000, reason="damaged"))
    ledger.commit(move("receive", "333", 3_000))
    sale = make_record(2)
    sale["lines"][0]["barcode"] = "333"
    ledger.commit(sale)
    assert on_hand(ledger) == {"111": 32_000, "222": 4_000, "333": 1_000}
    ledger.commit(move("count", "111", 30_000 - 32_000, 32_000, counted=30_000))
    levels, journaled = ledger.stock_levels(["111"])
    assert [(r["barcode"], r["on_hand"], r["tracked"]) for r in levels] == [("111", 30_000, True)] and journaled == 0
    with closing(sqlite3.connect(tmp_path / "pos.sqlite3")) as conn:
        assert verify(conn).ok
    ledger.close()


def test_a_receive_while_the_database_fails_is_journaled_and_replayed_exactly_once(tmp_path, products):
    break_sqlite(tmp_path, tmp_path / "aside")
    ledger = new_ledger(tmp_path)
    receive = move("receive", "111", 12_000, 10_000, unit_cost=120)
    assert ledger.commit(receive) == "journal"
    assert ledger.commit(make_record(1)) == "journal"
    restore_sqlite(tmp_path, tmp_path / "aside")
    assert on_hand(ledger)["111"] == 20_000  # SQLite's 10 + the journal's 12 received - 2 sold
    assert ledger.stock_levels()[1] == 2

    result = ledger.replay()
    assert (result.replayed, result.skipped) == (2, 0)
    assert on_hand(ledger)["111"] == 20_000
    assert query(tmp_path / "pos.sqlite3", "SELECT uuid, qty, stored_via FROM stock_move WHERE kind = 'receive'") == [
        (receive["uuid"], 12_000, "journal")]
    # a crash after the replay's COMMIT, before the file was retired: replayed again, stored once
    [retired] = (tmp_path / "journal" / "replayed").glob("*.jsonl")
    shutil.copy(retired, tmp_path / "journal" / retired.name)
    ledger.close()
    again = new_ledger(tmp_path)
    assert (again.replay().replayed, on_hand(again)["111"]) == (0, 20_000)
    assert query(tmp_path / "pos.sqlite3", "SELECT COUNT(*) FROM stock_move WHERE kind = 'receive'") == [(1,)]
    with closing(sqlite3.connect(tmp_path / "pos.sqlite3")) as conn:
        assert verify(conn).ok
    again.close()


def test_an_edited_movement_breaks_the_audit(tmp_path, products):
    ledger = new_ledger(tmp_path)
    ledger.commit(move("adjust", "111", -2_000, 10_000, reason="theft"))
    ledger.close()
    assert any("stock_adjust" in what and "modified" in what for what in edited(tmp_path, "UPDATE stock_move SET qty = -1000"))


def test_a_period_has_its_movements_sales_and_daily_sums(tmp_path, products):
    ledger = new_ledger(tmp_path)
    ledger.commit(make_record(1, completed_at="2026-12-04T09:00:00.000+00:00"))
    ledger.commit(move("receive", "222", 6_000, 5_000, at="2026-12-04T11:00:00.000+00:00"))
    ledger.commit(move("adjust", "111", -1_000, 8_000, reason="damaged", at="2026-12-04T12:00:00.000+00:00"))
    ledger.commit(move("receive", "222", 1_000, 11_000, at="2026-12-05T11:00:00.000+00:00"))
    start, end = "2026-12-04", "2026-12-05"
    assert [(m["barcode"], m["qty"]) for m in ledger.stock_moves(start, end)] == [("222", 6_000), ("111", -1_000)]
    assert [(m["barcode"], m["qty"]) for m in ledger.stock_moves(start, end, ("adjust",))] == [("111", -1_000)]
    assert [m["qty"] for m in ledger.stock_moves(start, end, barcodes=["222"])] == [6_000]
    assert ledger.stock_sold(start, end, ["111", "222"]) == [("111", "2026-12-04T09:00:00.000+00:00", -2_000)]
    assert ledger.stock_sold(start, end, ["222"]) == []
    period = ledger.stock_period("2026-11-06", "2026-12-04", "2026-12-04", 2_000)
    assert period == {"outflow": {"111": {"2026-12-04": 2_000}}, "last_moved": {"111": "2026-12-04", "222": "2026-12-05"},
                      "moved_after": {"222": 1_000}, "came_in": {"222": 6_000}}
    assert ledger.stock_period("2026-11-06", "2026-12-04", "2026-12-04", 3_000)["outflow"] == {}  # sold less
    ledger.close()


def test_products_keep_their_stock_settings(tmp_path):
    ledger = new_ledger(tmp_path)
    conn = ledger.connection()
    with db.transaction(conn):
        db.write_products(conn, [{"barcode": "9", "name": "Rice", "price": 500, "tax_code": "A", "department": "",
                                  "open_price": False, "stock": None, "weighed": True, "reorder_level": 2_500,
                                  "reorder_qty": 10_000}], AT)
    [product] = db.load_products(conn)
    assert (product["weighed"], product["reorder_level"], product["reorder_qty"]) == (True, 2_500, 10_000)
    ledger.close()


def test_stock_movements_are_numbered_in_the_commit_order_like_every_record(tmp_path, products):
    """What HQ is sent (StoreView.commits_after): a movement committed directly and one replayed
    from the journal, each once, as committed."""
    ledger = new_ledger(tmp_path)
    direct = move("receive", "111", 6_000, 10_000, unit_cost=150)
    ledger.commit(direct)
    ledger.close()
    break_sqlite(tmp_path, tmp_path / "aside")
    ledger = new_ledger(tmp_path)
    journaled = move("adjust", "222", -1_000, None, reason="expired")
    assert ledger.commit(journaled) == "journal"
    restore_sqlite(tmp_path, tmp_path / "aside")
    pending = [c["record"] for c in ledger.view.commits_after(0)]
    assert [r["uuid"] for r in pending if r.get("kind") in ("receive", "adjust")] == [direct["uuid"], journaled["uuid"]]
    ledger.replay()
    committed = [c["record"] for c in ledger.view.commits_after(0)]
    assert [r for r in committed if r.get("kind") in ("receive", "adjust")] == [direct, journaled]
    ledger.close()


def test_an_opening_is_a_count_stored_once_and_audited(tmp_path, products):
    """The import's opening counts: on hand is the opening from the first, they are in the commit
    order (what HQ is sent) and the audit chain; the same import again records none."""
    ledger = new_ledger(tmp_path)
    assert on_hand(ledger) == {"111": 10_000, "222": 5_000, "333": 0}
    stored = query(tmp_path / "pos.sqlite3", "SELECT barcode, kind, qty, expected, counted, reason FROM stock_move "
                                             "ORDER BY barcode")
    assert stored == [("111", "count", 10_000, 0, 10_000, "opening"), ("222", "count", 5_000, 0, 5_000, "opening")]
    sent = [c["record"] for c in ledger.view.commits_after(0) if c["record"].get("type") == "stock_move"]
    assert sorted(r["barcode"] for r in sent) == ["111", "222"]
    ledger.change_shop(products=[product("111", "可口可乐", 99_000)], at=AT, openings=openings)
    assert query(tmp_path / "pos.sqlite3", "SELECT COUNT(*) FROM stock_move") == [(2,)]
    assert on_hand(ledger)["111"] == 10_000
    with closing(sqlite3.connect(tmp_path / "pos.sqlite3")) as conn:
        assert verify(conn).ok
    ledger.close()
