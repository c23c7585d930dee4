"""A period's totals (its sales, refunds and voids), summed by SQL: what sales reports are made of.

A period is [start, end) in the stored time format (UTC ISO 8601, e.g. 2026-11-21T09:30:00.000+00:00),
so the filter is a range on the index sale(completed_at): a month is one index range, never a
scan of the year. Hours are bucketed by SQLite's 'localtime' modifier, i.e. in the time zone of
the till's process (the same one Python's datetime.astimezone() uses to make the period's ends).

Every figure is a count or a sum in a dict keyed by the tuple of values it was grouped by, so
the figures of the database and those of the journal (the same SQL over an in-memory database
holding the journaled records) are added exactly by shift_totals.add_totals. store/view.py decides
which records are read from where.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

from tui_pos.domain.reports import NO_DEPARTMENT
from tui_pos.store import db
from tui_pos.store.shift_totals import scratch_database

_IN_PERIOD = "s.completed_at >= :start AND s.completed_at < :end"
_SALE_CELLS = (
    "SELECT s.kind, s.cashier, strftime('%Y-%m-%d %H', s.completed_at, 'localtime'), "
    "COUNT(*), SUM(s.gross), SUM(s.discount), SUM(s.tax), SUM(s.total), SUM(s.change) "
    f"FROM sale s WHERE {_IN_PERIOD} GROUP BY 1, 2, 3"
)
_SALE_FIGURES = ("count", "gross", "discount", "tax", "total", "change")
_TENDER_CELLS = (
    "SELECT s.kind, t.kind, COUNT(*), SUM(t.amount) FROM sale s JOIN tender t ON t.sale_uuid = s.uuid "
    f"WHERE {_IN_PERIOD} GROUP BY 1, 2"
)
_TENDER_FIGURES = ("count", "amount")
# Lines are summed per product and tax rate first (as few sort keys as will do: sorting a month's
# lines is most of a month report's time), then the catalog's name and department are joined to
# those few rows; a product no longer in the catalog keeps the name it was sold under.
_SOLD = "CASE WHEN l.voided THEN 0 ELSE {} END"
_LINE_CELLS = (
    "SELECT x.barcode, COALESCE(p.name, x.name), COALESCE(NULLIF(p.department, ''), :none), x.tax_code, x.rate_bp, "
    "x.lines, x.qty, x.total, x.tax, x.voided, x.voided_amount FROM ("
    f"SELECT l.barcode, MAX(l.name) AS name, l.tax_code, l.rate_bp, SUM({_SOLD.format(1)}) AS lines, "
    f"SUM({_SOLD.format('l.qty')}) AS qty, SUM({_SOLD.format('l.total')}) AS total, "
    f"SUM({_SOLD.format('l.tax')}) AS tax, SUM(l.voided) AS voided, "
    "SUM(CASE WHEN l.voided THEN l.qty * l.unit_price ELSE 0 END) AS voided_amount "
    f"FROM sale s JOIN sale_line l ON l.sale_uuid = s.uuid WHERE {_IN_PERIOD} GROUP BY l.barcode, l.tax_code, l.rate_bp"
    ") x LEFT JOIN product p ON p.barcode = x.barcode"
)
_LINE_FIGURES = ("lines", "qty", "total", "tax", "voided", "voided_amount")


def empty_period_totals() -> dict[str, Any]:
    """sales: (kind, cashier, local 'YYYY-MM-DD HH') -> figures of the sales, refunds and voids;
    tenders: (sale kind, tender kind) -> count, amount;
    lines: (barcode, name, department, tax code, rate (bp)) -> lines, qty, total, tax of the lines
    sold (not voided), and how many were voided before payment and their amount (voided_amount)."""
    return {"sales": {}, "tenders": {}, "lines": {}}


def period_totals(conn: sqlite3.Connection, start: str, end: str) -> dict[str, Any]:
    """The totals of the period's sales, refunds and voids in this database."""
    totals = empty_period_totals()
    params = {"start": start, "end": end, "none": NO_DEPARTMENT}
    for section, query, figures in (("sales", _SALE_CELLS, _SALE_FIGURES), ("tenders", _TENDER_CELLS, _TENDER_FIGURES),
                                    ("lines", _LINE_CELLS, _LINE_FIGURES)):
        cells = totals[section]
        for row in conn.execute(query, params):
            cells[row[:-len(figures)]] = dict(zip(figures, row[-len(figures):]))
    return totals


def in_period(record: dict[str, Any], start: str, end: str) -> bool:
    """A journaled sale, refund or void completed in [start, end) (the comparison the SQL makes)."""
    return db.record_type(record) == "sale" and start <= record["completed_at"] < end


def journal_period_totals(records: Iterable[dict[str, Any]], products: Sequence[dict[str, Any]], start: str,
                          end: str) -> dict[str, Any]:
    """period_totals over journaled records, by the same SQL in an in-memory database that also
    holds the catalog's products (rows of db.load_products), for their departments."""
    mine = [r for r in records if in_period(r, start, end)]
    if not mine:
        return empty_period_totals()
    with scratch_database(mine) as conn:
        with db.transaction(conn):  # a scratch database without an audit log
            db.write_products(conn, products, now="", covered=False)
        return period_totals(conn, start, end)
