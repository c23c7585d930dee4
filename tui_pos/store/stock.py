"""Stock on hand and stock movements as stored (the arithmetic: domain/stock.py), and the facts
the operation-risk warnings read (domain/anomalies.py).

Stock on hand of a product, milli-units = the sum of every movement stored (a sale's lines, and
the quantity of every stock_move: receive, adjust, count variance, transfers, and the opening
count the catalog's stock column becomes), plus what it held unrecorded from before openings were
records: store/stock_level.py keeps both in the records' transactions, so a product's stock is
one primary-key read, never a scan of the year's sales.

What the journal holds and SQLite does not yet (store/view.py decides which) is added by
journal_deltas(): the same figures from the records themselves.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

from tui_pos.domain.stock import QTY_SCALE
from tui_pos.store import stock_daily
from tui_pos.store.codec import STOCK_MOVE_COLUMNS, record_type, row_record

__all__ = ["QTY_SCALE", "journal_deltas", "journal_moves", "journal_risk_counts", "levels", "moves", "receipt_lots",
           "refund_uuids", "risk_counts", "sold"]

LEVEL_COLUMNS = ("barcode", "name", "department", "price", "weighed", "reorder_level", "reorder_qty", "on_hand",
                 "tracked", "since")
_ON_HAND = "COALESCE(l.moved, 0) + COALESCE(l.unrecorded, 0)"
_TRACKED = ("(l.unrecorded IS NOT NULL OR p.reorder_level IS NOT NULL OR EXISTS "
            "(SELECT 1 FROM stock_move m WHERE m.barcode = p.barcode))")
_LEVELS = (f"SELECT p.barcode, p.name, COALESCE(p.department, ''), p.price, p.weighed, p.reorder_level, "
           f"p.reorder_qty, {_ON_HAND}, {_TRACKED}, p.updated_at FROM product p "
           "LEFT JOIN stock_level l ON l.barcode = p.barcode")


def levels(conn: sqlite3.Connection, barcodes: Sequence[str] | None = None,
           with_level: bool = False) -> list[dict[str, Any]]:
    """Every product (or these; with_level: those with a reorder level) with its stock on hand
    (milli-units), reorder level and quantity, whether its stock is tracked (an opening stock, a
    reorder level or a movement), and since when the catalog has it as it is (its last import),
    by barcode. [] for a database from before the migrations stock and stock_level (read read-only:
    nothing tracked)."""
    query = _LEVELS + (" WHERE p.reorder_level IS NOT NULL" if with_level else "")
    try:
        if barcodes is None:
            rows = conn.execute(query + " ORDER BY p.barcode").fetchall()
        else:
            rows = []
            for start in range(0, len(barcodes), 500):
                chunk = list(barcodes[start:start + 500])
                rows += conn.execute(_LEVELS + f" WHERE p.barcode IN ({', '.join('?' * len(chunk))}) "
                                     "ORDER BY p.barcode", chunk).fetchall()
    except sqlite3.OperationalError as err:
        if "no such" not in str(err):
            raise
        return []
    found = [dict(zip(LEVEL_COLUMNS, row)) for row in rows]
    for row in found:
        row["weighed"], row["tracked"] = bool(row["weighed"]), bool(row["tracked"])
    return found


def moves(conn: sqlite3.Connection, *, barcode: str | None = None, start: str = "", end: str = "9999",
          kinds: Sequence[str] = (), barcodes: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Stock movement records (stock_move) in [start, end) (of these kinds; of one product or of
    these), in the order they were stored."""
    query = f"SELECT {', '.join(STOCK_MOVE_COLUMNS)} FROM stock_move WHERE at >= ? AND at < ?"
    params: list[Any] = [start, end]
    if kinds:
        query += f" AND kind IN ({', '.join('?' * len(kinds))})"
        params += kinds
    if barcode is not None:
        query += " AND barcode = ?"
        params.append(barcode)
    if barcodes is None:
        return [row_record("stock_move", row) for row in conn.execute(query + " ORDER BY rowid", params)]
    rows: list[dict[str, Any]] = []
    for first in range(0, len(barcodes), 500):
        chunk = list(barcodes[first:first + 500])
        rows += [row_record("stock_move", row) for row in conn.execute(
            query + f" AND barcode IN ({', '.join('?' * len(chunk))}) ORDER BY rowid", [*params, *chunk])]
    return rows


def receipt_lots(conn: sqlite3.Connection, until: str, barcodes: Sequence[str] | None = None) -> list[tuple[Any, ...]]:
    """(barcode, expected, qty, unit_cost) of every receive stored before until (of these products),
    in the order stored: what the moving average cost is made of."""
    query = "SELECT barcode, expected, qty, unit_cost FROM stock_move WHERE kind = 'receive' AND at < ?"
    if barcodes is None:
        return conn.execute(query + " ORDER BY rowid", (until,)).fetchall()
    rows: list[tuple[Any, ...]] = []
    for start in range(0, len(barcodes), 500):
        chunk = list(barcodes[start:start + 500])
        rows += conn.execute(query + f" AND barcode IN ({', '.join('?' * len(chunk))}) ORDER BY rowid",
                             [until, *chunk]).fetchall()
    return rows


def sold(conn: sqlite3.Connection, start: str, end: str, barcodes: Sequence[str]) -> list[tuple[str, str, int]]:
    """Stock taken by sales, refunds and voids completed in [start, end) of these products:
    (barcode, at, qty in milli-units: negative for a sale) per sale line, in time order (one index
    range per product: stock_movement(barcode, at); for many products, one range of the period:
    stock_movement(at), the others' lines passed over, cheaper than thousands of look-ups)."""
    if len(barcodes) > _ONE_RANGE_FROM:
        wanted = set(barcodes)
        return [row for row in conn.execute(f"SELECT barcode, at, qty_delta * {QTY_SCALE} FROM stock_movement "
                                            "WHERE at >= ? AND at < ? ORDER BY at, id", (start, end))
                if row[0] in wanted]
    rows: list[tuple[str, str, int]] = []
    for barcode in barcodes:
        rows += conn.execute(f"SELECT barcode, at, qty_delta * {QTY_SCALE} FROM stock_movement WHERE barcode = ? "
                             "AND at >= ? AND at < ? ORDER BY at, id", (barcode, start, end)).fetchall()
    return rows


_ONE_RANGE_FROM = 1000  # products: from here sold() reads the period once instead of product by product


def journal_deltas(records: Iterable[dict[str, Any]]) -> dict[str, int]:
    """What records SQLite does not hold yet change stock on hand by, per barcode (milli-units): what
    each moves in less what it moves out, as stock_daily.contributions says it (the one rule of
    what a record moves: a stock movement its quantity, a sale's line not voided its units)."""
    deltas: dict[str, int] = {}
    for record in records:
        for _day, barcode, _sold, qty_in, qty_out in stock_daily.contributions(record):
            deltas[barcode] = deltas.get(barcode, 0) + qty_in - qty_out
    return deltas


def journal_moves(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The stock movement records among these (journal records SQLite does not hold yet)."""
    return [r for r in records if record_type(r) == "stock_move"]


# -- what the operation-risk warnings read ------------------------------------------------------------
_RISK_EVENTS = ("no_sale", "price_override")


def _add(counts: dict[str, dict[str, int]], cashier: str | None, what: str, n: int) -> None:
    if n:
        mine = counts.setdefault(cashier or "", {})
        mine[what] = mine.get(what, 0) + n


def risk_counts(conn: sqlite3.Connection, start: str, end: str) -> dict[str, dict[str, int]]:
    """Per cashier over [start, end): sales, voids, refunds, line voids, discounted sales, no-sales
    and price overrides (domain.anomalies.RISK_ACTIONS)."""
    counts: dict[str, dict[str, int]] = {}
    for cashier, kind, n, discounted in conn.execute(
            "SELECT cashier, kind, COUNT(*), SUM(discount != 0) FROM sale WHERE completed_at >= ? AND completed_at < ? "
            "GROUP BY 1, 2", (start, end)):
        _add(counts, cashier, {"sale": "sales"}.get(kind, kind), n)
        if kind == "sale":
            _add(counts, cashier, "discount", discounted or 0)
    for cashier, n in conn.execute(
            "SELECT s.cashier, SUM(l.voided) FROM sale s JOIN sale_line l ON l.sale_uuid = s.uuid WHERE s.kind = 'sale' "
            "AND s.completed_at >= ? AND s.completed_at < ? GROUP BY 1", (start, end)):
        _add(counts, cashier, "line_void", n or 0)
    for actor, action, n in conn.execute(
            f"SELECT actor, action, COUNT(*) FROM audit WHERE action IN ({', '.join('?' * len(_RISK_EVENTS))}) "
            "AND at >= ? AND at < ? GROUP BY 1, 2", (*_RISK_EVENTS, start, end)):
        _add(counts, actor, action, n)
    return counts


def journal_risk_counts(records: Iterable[dict[str, Any]], start: str, end: str,
                        counts: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    """risk_counts() plus these records (journaled, not in SQLite yet)."""
    for record in records:
        kind = record_type(record)
        if kind == "sale" and start <= record["completed_at"] < end:
            sale_kind = record.get("kind", "sale")
            _add(counts, record["cashier"], {"sale": "sales"}.get(sale_kind, sale_kind), 1)
            if sale_kind == "sale":
                _add(counts, record["cashier"], "discount", int(record["discount"] != 0))
                _add(counts, record["cashier"], "line_void", sum(1 for line in record["lines"] if line["voided"]))
        elif kind == "event" and record["action"] in _RISK_EVENTS and start <= record["at"] < end:
            _add(counts, record.get("actor"), record["action"], 1)
    return counts


def refund_uuids(conn: sqlite3.Connection, start: str, end: str) -> list[tuple[str, str]]:
    """(refund uuid, original uuid) of the refunds completed in [start, end)."""
    return list(conn.execute("SELECT uuid, original_uuid FROM sale WHERE kind = 'refund' AND original_uuid IS NOT NULL "
                             "AND completed_at >= ? AND completed_at < ?", (start, end)))
