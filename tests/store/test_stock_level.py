"""Each product's stock on hand as stored (store/stock_level.py): one primary-key read, kept with
each record; what a till held before opening stock was a record kept by the migration until it
is recorded, once."""

from __future__ import annotations

import sqlite3
from contextlib import closing

from tui_pos.app.catalog_import import opening_count
from tui_pos.store.verification import verify

from .records import legacy_database, make_record, new_ledger, query
from .stock_shop import AT, edited, move, on_hand, product


def test_on_hand_of_a_product_is_one_primary_key_read(tmp_path, products):
    """store/stock_level.py: a product that sells all year is read without its sales (what the
    product look-up shows as the cashier types, and the low-stock list of a whole catalog)."""
    from tui_pos.store import stock

    ledger = new_ledger(tmp_path)
    sale = make_record(1)
    sale["lines"][0]["barcode"] = "333"
    ledger.commit(sale)
    conn = ledger.connection()
    plan = " ".join(row[-1] for row in conn.execute(
        "EXPLAIN QUERY PLAN " + stock._LEVELS + " WHERE p.barcode = ?", ("333",)))
    assert "SEARCH l USING PRIMARY KEY (barcode=?)" in plan and "stock_movement" not in plan
    assert on_hand(ledger)["333"] == -2_000
    ledger.close()


def test_the_migration_keeps_what_a_till_held_until_it_is_recorded_once(tmp_path):
    """An upgraded till: on hand as before the migration (the holding kept unrecorded), then each
    product's opening count recorded once (its holding; the uuid is the product's at this till),
    product.stock gone with it, the audit whole; recording again records nothing."""
    ledger = new_ledger(tmp_path)
    ledger.change_shop(products=[product("111", "可口可乐", None), product("222", "农夫山泉", None),
                                 product("333", "untracked", None)], at=AT)
    ledger.commit(make_record(1))  # 2 x 111 sold
    ledger.commit(move("receive", "111", 6_000, None))
    ledger.close()
    legacy_database(tmp_path, {"111": 10, "222": 5})  # the old till: 10 - 2 sold + 6 received = 14 on hand

    ledger = new_ledger(tmp_path)
    assert on_hand(ledger) == {"111": 14_000, "222": 5_000, "333": 0}
    assert ledger.stock_unrecorded() is True

    def held(known: dict[str, dict]) -> list[dict]:
        return [opening_count("T1", AT, barcode, state["moved"] + state["unrecorded"], state["moved"]).to_record()
                for barcode, state in known.items() if state["unrecorded"] is not None]

    ledger.change_shop(openings=held)
    assert on_hand(ledger) == {"111": 14_000, "222": 5_000, "333": 0}
    assert query(tmp_path / "pos.sqlite3", "SELECT barcode, qty, expected, counted FROM stock_move "
                                           "WHERE reason = 'opening' ORDER BY barcode") == [
        ("111", 10_000, 4_000, 14_000), ("222", 5_000, 0, 5_000)]
    assert query(tmp_path / "pos.sqlite3", "SELECT COUNT(*) FROM product WHERE stock IS NOT NULL") == [(0,)]
    assert ledger.stock_unrecorded() is False
    ledger.change_shop(openings=held)  # nothing held any more: nothing recorded
    assert query(tmp_path / "pos.sqlite3", "SELECT COUNT(*) FROM stock_move WHERE reason = 'opening'") == [(2,)]
    ledger.commit(make_record(2))
    assert on_hand(ledger)["111"] == 12_000
    with closing(sqlite3.connect(tmp_path / "pos.sqlite3")) as conn:
        assert verify(conn).ok
    ledger.close()


def test_a_level_edited_behind_the_tills_back_is_found_by_the_audit(tmp_path, products):
    """Stock on hand reads the kept level: edited outside tui-pos, it no longer adds up to the
    records (opening counts, sales, movements), and audit verify names the product."""
    ledger = new_ledger(tmp_path)
    ledger.commit(make_record(1))
    ledger.commit(move("receive", "222", 6_000, 5_000))
    ledger.close()
    assert edited(tmp_path, "UPDATE stock_level SET moved = moved + 5000 WHERE barcode = '111'") == [
        "stock on hand of 111 is not what its records add up to (the stock_level table was changed outside tui-pos)"]
