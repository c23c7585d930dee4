"""A shop's stock as the store tests make it: products as an import gives them (their opening
stock an opening count), stock movement records, and stock on hand read back through the ledger."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from tui_pos.app.catalog_import import opening_count
from tui_pos.domain.records import StockMoved, new_uuid
from tui_pos.store.verification import verify

from .records import new_ledger

AT = "2026-12-04T10:00:00.000+00:00"
OPENED = "2026-11-01T08:00:00.000+00:00"  # before the periods the tests read


def product(barcode: str, name: str, stock: int | None) -> dict:
    """A product row as an import gives it (stock: its opening stock, milli-units)."""
    return {"barcode": barcode, "name": name, "price": 350, "tax_code": "A", "department": "", "open_price": False,
            "stock": stock}


def openings(known: dict[str, dict]) -> list[dict]:
    """The opening counts an import makes of the products it gives a stock (the store says which)."""
    given = {"111": 10_000, "222": 5_000}
    return [opening_count("T1", OPENED, barcode, given[barcode], state["moved"]).to_record()
            for barcode, state in known.items() if barcode in given and not state["opened"]]


def move(kind: str, barcode: str, qty: int, expected: int = 0, **fields) -> dict:
    counted = fields.pop("counted", None)
    return StockMoved(new_uuid(), "T1", fields.pop("at", AT), kind, barcode, qty, expected, counted, **fields).to_record()


def on_hand(ledger) -> dict[str, int]:
    rows, _ = ledger.stock_levels()
    return {r["barcode"]: r["on_hand"] for r in rows}


def edited(root: Path, sql: str) -> list[str]:
    """What audit verify finds once sql has changed root's database behind the till's back (it
    verified clean before)."""
    with closing(sqlite3.connect(root / "pos.sqlite3")) as conn:
        assert verify(conn).ok
        conn.execute(sql)
        conn.commit()
        return [p.what for p in verify(conn).problems]


def stock_shop(root: Path) -> None:
    """Two tracked products (opening stock 10 and 5) and an untracked one, stored as an import stores them."""
    ledger = new_ledger(root)
    ledger.change_shop(products=[product("111", "可口可乐", 10_000), product("222", "农夫山泉", 5_000),
                                 product("333", "untracked", None)], at=AT, openings=openings)
    ledger.close()
