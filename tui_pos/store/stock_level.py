"""Each product's stock on hand as stored: table stock_level, what a stock look-up reads (one
primary-key read) instead of summing a year of sale lines.

    stock_level(barcode TEXT PRIMARY KEY, moved INTEGER, unrecorded INTEGER) WITHOUT ROWID

`moved` = the sum of every stored movement of the product (milli-units: sale lines, stock
movement records), kept in the same transaction as each record (codec.insert calls add(), with
the one rule of what a record moves: stock_daily.contributions). `unrecorded` = stock a till
held before its opening stock was a record: tui-pos before the migration stock_level kept the
catalog CSV's `stock` in product.stock (opening less sold), a figure that was no record, so HQ
never had it. The migration puts that holding here (old on hand - moved); the till's first start
after it records it as the product's opening count (app/catalog_import.py record_held_stock),
which takes its place (add() clears it in that transaction). Stock on hand = moved + unrecorded.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

from tui_pos.domain.records import record_type
from tui_pos.domain.stock import OPENING, QTY_SCALE
from tui_pos.domain.stock import is_opening as opening_count
from tui_pos.store import stock_daily

_CREATE = ("CREATE TABLE IF NOT EXISTS stock_level (barcode TEXT PRIMARY KEY, moved INTEGER NOT NULL DEFAULT 0, "
           "unrecorded INTEGER) WITHOUT ROWID")
_ADD = ("INSERT INTO stock_level (barcode, moved) VALUES (?, ?) "
        "ON CONFLICT (barcode) DO UPDATE SET moved = moved + excluded.moved")
_INDEX = f"CREATE INDEX IF NOT EXISTS idx_stock_move_opening ON stock_move (barcode) WHERE reason = '{OPENING}'"
_HELD_INDEX = "CREATE INDEX IF NOT EXISTS idx_stock_level_unrecorded ON stock_level (barcode) WHERE unrecorded IS NOT NULL"
_OPENED = "UPDATE stock_level SET unrecorded = NULL WHERE barcode = ?"
# what a database holds: the per-day sums (the same rule, filled by their own migration first), and
# what product.stock held beyond the sales (it went down with them: old on hand = stock + stock moves)
_BACKFILL = ("INSERT INTO stock_level (barcode, moved) SELECT barcode, SUM(qty_in - qty_out) FROM stock_daily "
             "GROUP BY barcode")
_BACKFILL_HELD = (
    f"INSERT INTO stock_level (barcode, moved, unrecorded) SELECT p.barcode, 0, p.stock * {QTY_SCALE} - {QTY_SCALE} * "
    "COALESCE((SELECT SUM(s.qty_delta) FROM stock_movement s WHERE s.barcode = p.barcode), 0) FROM product p "
    "WHERE p.stock IS NOT NULL ON CONFLICT (barcode) DO UPDATE SET unrecorded = excluded.unrecorded")


def create_table(conn: sqlite3.Connection) -> None:
    """The table, and the opening counts by product (is a product's opening stored: one index probe)."""
    conn.execute(_CREATE)
    conn.execute(_INDEX)
    conn.execute(_HELD_INDEX)


def backfill(conn: sqlite3.Connection) -> None:
    """Every movement already stored, summed per product, and what product.stock held unrecorded."""
    conn.execute(_BACKFILL)
    conn.execute(_BACKFILL_HELD)


def held_unrecorded(conn: sqlite3.Connection) -> bool:
    """Does any product hold stock unrecorded (one probe of a partial index)? False before the migration."""
    try:
        return conn.execute("SELECT 1 FROM stock_level WHERE unrecorded IS NOT NULL LIMIT 1").fetchone() is not None
    except sqlite3.OperationalError:  # no such table: a database read before its migration
        return False


def is_opening(record: Mapping[str, Any]) -> bool:
    """A product's opening count (domain.stock.OPENING)."""
    return record_type(record) == "stock_move" and opening_count(record)


def add(conn: sqlite3.Connection, record: Mapping[str, Any]) -> None:
    """Add a record's movements to its products' levels (the caller owns the transaction); an
    opening count takes the place of what was held unrecorded."""
    moved: dict[str, int] = {}
    for _day, barcode, _sold, qty_in, qty_out in stock_daily.contributions(record):
        moved[barcode] = moved.get(barcode, 0) + qty_in - qty_out
    if moved:
        conn.executemany(_ADD, list(moved.items()))
    if is_opening(record):
        conn.execute(_OPENED, (record["barcode"],))


def openings(conn: sqlite3.Connection, barcodes: Sequence[str]) -> dict[str, dict[str, Any]]:
    """What an opening stock needs to know of each of these products and of every product holding
    stock unrecorded: barcode -> {"moved", "unrecorded" (None: nothing), "opened" (an opening count
    is stored)}."""
    found: dict[str, dict[str, Any]] = {}
    query = ("SELECT x.barcode, COALESCE(l.moved, 0), l.unrecorded, EXISTS (SELECT 1 FROM stock_move m "
             f"WHERE m.barcode = x.barcode AND m.kind = 'count' AND m.reason = '{OPENING}') FROM {{}} x "
             "LEFT JOIN stock_level l ON l.barcode = x.barcode")
    rows = conn.execute(query.format("(SELECT barcode FROM stock_level WHERE unrecorded IS NOT NULL)")).fetchall()
    for start in range(0, len(barcodes), 500):
        chunk = list(barcodes[start:start + 500])
        rows += conn.execute(query.format("(SELECT value AS barcode FROM json_each(?))"), (json.dumps(chunk),)).fetchall()
    for barcode, moved, unrecorded, opened in rows:
        found[barcode] = {"moved": moved, "unrecorded": unrecorded, "opened": bool(opened)}
    return found


# each product's level as its rows add it up (stock movement records, sales' movements: what the
# migration fills it from) against the level kept; unrecorded holdings are product.stock's
_DRIFTED = (
    "SELECT barcode FROM (SELECT barcode, SUM(q) AS q FROM (SELECT barcode, qty AS q FROM stock_move "
    f"UNION ALL SELECT barcode, qty_delta * {QTY_SCALE} FROM stock_movement "
    "UNION ALL SELECT barcode, -moved FROM stock_level) GROUP BY barcode) WHERE q != 0 ORDER BY barcode LIMIT ?")


def drifted(conn: sqlite3.Connection, limit: int) -> list[str]:
    """The products whose kept level is not what their records add up to (the table edited behind
    the till's back: stock on hand reads it); [] before the migration."""
    try:
        return [barcode for (barcode,) in conn.execute(_DRIFTED, (limit,))]
    except sqlite3.OperationalError:  # no such table: a database read before its migration
        return []

