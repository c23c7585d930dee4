"""Each product's stock movements summed per local day: table stock_daily, what the anomaly report
reads instead of a year of sale lines.

    stock_daily(day TEXT, barcode TEXT, sold INTEGER, qty_in INTEGER, qty_out INTEGER,
                PRIMARY KEY (day, barcode)) WITHOUT ROWID, index (barcode, day)

One row per product and local day on which its stock moved (day: YYYY-MM-DD in the till's time
zone when the movement was stored, as the reports' days are): `sold` = milli-units taken out by
sales (a sale line's quantity; refunds put stock back and are not outflow), `qty_in` / `qty_out` =
milli-units of every movement (sale lines and stock movement records: receive, adjust, count
variance, transfers) that added to / took from stock on hand. A movement of zero (a count that
found what was expected) still makes the row: the product moved that day.

The row is kept in the same transaction as the record that moves stock (codec.insert calls add()),
so it is never behind SQLite; what the journal holds and SQLite does not is added by the view from
the records themselves (contributions(): the same figures from the same function). A database
made before the table is filled by the migration stock_daily (backfill(): one pass in SQL).

It answers, for a period of local days (store/view.py StoreView.stock_period):
- a product's daily outflow (the rule "outflow far above its usual rate"): the rows of the few
  products with a day in the period at or above the rule's minimum, the lookback included;
- when a product last moved (the rule "not moved in N days"): one index look-up per product;
- how much moved after the period (a period's end level = on hand now less that) and how much came
  in during it (which products could have been sold at or below zero).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from tui_pos.domain.records import record_type
from tui_pos.domain.stock import QTY_SCALE

_CREATE = ("CREATE TABLE IF NOT EXISTS stock_daily (day TEXT NOT NULL, barcode TEXT NOT NULL, "
           "sold INTEGER NOT NULL DEFAULT 0, qty_in INTEGER NOT NULL DEFAULT 0, qty_out INTEGER NOT NULL DEFAULT 0, "
           "PRIMARY KEY (day, barcode)) WITHOUT ROWID")
_INDEX = "CREATE INDEX IF NOT EXISTS idx_stock_daily_barcode_day ON stock_daily (barcode, day)"
_ADD = ("INSERT INTO stock_daily (day, barcode, sold, qty_in, qty_out) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (day, barcode) DO UPDATE SET sold = sold + excluded.sold, qty_in = qty_in + excluded.qty_in, "
        "qty_out = qty_out + excluded.qty_out")
# the same figures in SQL, from the rows a database already holds (a sale's movement is in units)
_BACKFILL = (
    "INSERT INTO stock_daily (day, barcode, sold, qty_in, qty_out) "
    "SELECT day, barcode, SUM(sold), SUM(qty_in), SUM(qty_out) FROM ("
    f"SELECT date(at, 'localtime') AS day, barcode, MAX(-qty_delta, 0) * {QTY_SCALE} AS sold, "
    f"MAX(qty_delta, 0) * {QTY_SCALE} AS qty_in, MAX(-qty_delta, 0) * {QTY_SCALE} AS qty_out FROM stock_movement "
    "UNION ALL SELECT date(at, 'localtime'), barcode, 0, MAX(qty, 0), MAX(-qty, 0) FROM stock_move) "
    "GROUP BY day, barcode"
)

Daily = tuple[str, str, int, int, int]  # (day, barcode, sold, qty_in, qty_out)


def local_day(at: str) -> str:
    """The local day (YYYY-MM-DD, this process's time zone, as SQLite's 'localtime') of a stored UTC time."""
    return datetime.fromisoformat(at).astimezone().date().isoformat()


def create_table(conn: sqlite3.Connection) -> None:
    conn.execute(_CREATE)
    conn.execute(_INDEX)


def backfill(conn: sqlite3.Connection) -> None:
    """Every movement already stored, summed per product and local day (the table empty before)."""
    conn.execute(_BACKFILL)


def contributions(record: Mapping[str, Any]) -> list[Daily]:
    """What a record adds to stock_daily (nothing for a record that moves no stock): one row per
    movement, not yet summed."""
    kind = record_type(record)
    if kind == "stock_move":
        qty = record["qty"]
        return [(local_day(record["at"]), record["barcode"], 0, max(qty, 0), max(-qty, 0))]
    if kind == "sale":
        day = local_day(record["completed_at"])
        return [(day, line["barcode"], max(line["qty"], 0) * QTY_SCALE, max(-line["qty"], 0) * QTY_SCALE,
                 max(line["qty"], 0) * QTY_SCALE) for line in record["lines"] if not line["voided"]]
    return []


def add(conn: sqlite3.Connection, record: Mapping[str, Any]) -> None:
    """Add a record's movements to its products' days (the caller owns the transaction)."""
    rows = contributions(record)
    if rows:
        conn.executemany(_ADD, rows)


def summed(rows: Iterable[Daily]) -> dict[tuple[str, str], list[int]]:
    """(day, barcode) -> [sold, qty_in, qty_out] of these rows."""
    total: dict[tuple[str, str], list[int]] = {}
    for day, barcode, sold, qty_in, qty_out in rows:
        entry = total.setdefault((day, barcode), [0, 0, 0])
        entry[0] += sold
        entry[1] += qty_in
        entry[2] += qty_out
    return total


# -- reading --------------------------------------------------------------------------------------------
# A period's sums read the primary key's range of days: "+barcode" keeps the planner off a skip-scan
# of the (barcode, day) index, which would read every product's every day.
def outflow(conn: sqlite3.Connection, lookback: str, first: str, last: str, minimum: int,
            also: Sequence[str] = ()) -> dict[str, dict[str, int]]:
    """barcode -> day -> sold over the days lookback..last, of the products that sold at least
    `minimum` on a day of first..last (and of `also`, whatever they sold)."""
    wanted = sorted(set(also))
    found: dict[str, dict[str, int]] = {}
    for barcode, day, sold in conn.execute(
            "SELECT barcode, day, sold FROM stock_daily WHERE barcode IN (SELECT +barcode FROM stock_daily "
            "WHERE day >= ? AND day <= ? AND sold >= ?) AND day >= ? AND day <= ? AND sold > 0",
            (first, last, minimum, lookback, last)):
        found.setdefault(barcode, {})[day] = sold
    for start in range(0, len(wanted), 500):
        chunk = wanted[start:start + 500]
        for barcode, day, sold in conn.execute(
                f"SELECT barcode, day, sold FROM stock_daily WHERE barcode IN ({', '.join('?' * len(chunk))}) "
                "AND day >= ? AND day <= ? AND sold > 0", (*chunk, lookback, last)):
            found.setdefault(barcode, {})[day] = sold
    return found


def last_moved(conn: sqlite3.Connection) -> dict[str, str]:
    """Each product's last day of movement (a sale's or another), by barcode: one index look-up per product."""
    return {barcode: day for barcode, day in conn.execute(
        "SELECT p.barcode, (SELECT MAX(d.day) FROM stock_daily d WHERE d.barcode = p.barcode) FROM product p")
        if day is not None}


def net_after(conn: sqlite3.Connection, last: str) -> dict[str, int]:
    """How much stock moved after the day `last` (milli-units, net), per barcode. The shorter side of
    the stored days is summed: the days after `last`, or (an early period: fewer days up to it) those
    up to it, taken from each product's kept total (stock_level.moved: the same rule's sum, kept in
    the same transactions, so the two sides always add up to it)."""
    first_day, last_day = conn.execute("SELECT MIN(day), MAX(day) FROM stock_daily").fetchone()
    if first_day is not None and _days(first_day, last) < _days(last, last_day):
        try:
            totals = conn.execute("SELECT barcode, moved FROM stock_level").fetchall()
        except sqlite3.OperationalError as err:  # a database read before its migration stock_level
            if "no such" not in str(err):
                raise
        else:
            through = {barcode: qty for barcode, qty in conn.execute(
                "SELECT +barcode, SUM(qty_in - qty_out) FROM stock_daily WHERE day <= ? GROUP BY +barcode", (last,))}
            after = {barcode: moved - through.get(barcode, 0) for barcode, moved in totals}
            return {barcode: qty for barcode, qty in after.items() if qty}
    return {barcode: qty for barcode, qty in conn.execute(
        "SELECT +barcode, SUM(qty_in - qty_out) FROM stock_daily WHERE day > ? GROUP BY +barcode", (last,))}


def _days(first: str, last: str) -> int:
    """Days from first to last (YYYY-MM-DD)."""
    return (datetime.fromisoformat(last) - datetime.fromisoformat(first)).days


def came_in(conn: sqlite3.Connection, first: str, last: str) -> dict[str, int]:
    """How much came in (milli-units: receipts, refunds, counts that found more...) over the days first..last, per barcode."""
    return {barcode: qty for barcode, qty in conn.execute(
        "SELECT +barcode, SUM(qty_in) FROM stock_daily WHERE day >= ? AND day <= ? AND qty_in > 0 GROUP BY +barcode", (first, last))}


def of_product(conn: sqlite3.Connection, barcode: str, first: str, last: str) -> dict[str, list[int]]:
    """One product's days first..last that moved: day -> [sold, qty_in, qty_out] (one index range)."""
    return {day: [sold, qty_in, qty_out] for day, sold, qty_in, qty_out in conn.execute(
        "SELECT day, sold, qty_in, qty_out FROM stock_daily WHERE barcode = ? AND day >= ? AND day <= ?",
        (barcode, first, last))}
