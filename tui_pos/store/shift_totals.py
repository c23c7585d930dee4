"""A shift's totals, summed by SQL: what X and Z reports are made of (paying, and its change
and rounding, is domain/tender.py's settle; this is only adding up what was stored).

One implementation for both places a shift's records can be: the database, and (while storage
is failing) the journal, whose records are loaded into an in-memory SQLite with the same schema
and summed by the same queries. The two sets of totals are then added (add_totals); every figure
is a count, a sum, a minimum or a maximum, so adding is exact. store/view.py decides which
records are read from where.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from tui_pos.store import db


def empty_shift_totals() -> dict[str, Any]:
    return {"kinds": {}, "tenders": {}, "tax": {}, "voided_lines": {"count": 0, "amount": 0},
            "cash_movements": {}, "first_seq": None, "last_seq": None}


def shift_totals(conn: sqlite3.Connection, shift_uuid: str) -> dict[str, Any]:
    """The totals of the shift's records in this database."""
    totals = empty_shift_totals()
    for kind, count, total, discount, tax, rounding, change, first, last in conn.execute(
            "SELECT kind, COUNT(*), SUM(total), SUM(discount), SUM(tax), SUM(rounding), SUM(change), MIN(seq), MAX(seq) "
            "FROM sale WHERE shift_uuid = ? GROUP BY kind", (shift_uuid,)):
        totals["kinds"][kind] = {"count": count, "total": total, "discount": discount, "tax": tax,
                                 "rounding": rounding, "change": change}
        totals["first_seq"] = min(first, totals["first_seq"] or first)
        totals["last_seq"] = max(last, totals["last_seq"] or last)
    for sale_kind, tender_kind, count, amount in conn.execute(
            "SELECT s.kind, t.kind, COUNT(*), SUM(t.amount) FROM tender t JOIN sale s ON s.uuid = t.sale_uuid "
            "WHERE s.shift_uuid = ? GROUP BY s.kind, t.kind", (shift_uuid,)):
        totals["tenders"].setdefault(sale_kind, {})[tender_kind] = {"count": count, "amount": amount}
    for code, rate_bp, net, tax in conn.execute(
            "SELECT l.tax_code, l.rate_bp, SUM(l.total - l.tax), SUM(l.tax) FROM sale_line l "
            "JOIN sale s ON s.uuid = l.sale_uuid WHERE s.shift_uuid = ? AND l.voided = 0 "
            "GROUP BY l.tax_code, l.rate_bp", (shift_uuid,)):
        totals["tax"][f"{code}:{rate_bp}"] = {"net": net, "tax": tax}
    count, amount = conn.execute(
        "SELECT COUNT(*), COALESCE(SUM(l.qty * l.unit_price), 0) FROM sale_line l JOIN sale s ON s.uuid = l.sale_uuid "
        "WHERE s.shift_uuid = ? AND l.voided = 1", (shift_uuid,)).fetchone()
    totals["voided_lines"] = {"count": count, "amount": amount}
    for kind, count, amount in conn.execute(
            "SELECT kind, COUNT(*), SUM(amount) FROM cash_movement WHERE shift_uuid = ? GROUP BY kind", (shift_uuid,)):
        totals["cash_movements"][kind] = {"count": count, "amount": amount}
    return totals


def journal_shift_totals(records: Iterable[dict[str, Any]], shift_uuid: str) -> dict[str, Any]:
    """shift_totals over journaled records, by the same SQL in an in-memory database."""
    mine = [r for r in records if r.get("shift_uuid") == shift_uuid and db.record_type(r) in ("sale", "cash_movement")]
    if not mine:
        return empty_shift_totals()
    with scratch_database(mine) as conn:
        return shift_totals(conn, shift_uuid)


@contextmanager
def scratch_database(records: Iterable[dict[str, Any]]) -> Iterator[sqlite3.Connection]:
    """An in-memory database with the schema, holding these records (journaled ones, whose
    figures the same SQL as the database's then sums)."""
    conn = sqlite3.connect(":memory:", isolation_level=None)
    try:
        db.ensure_schema(conn)
        conn.execute("PRAGMA foreign_keys = OFF")
        with db.transaction(conn):
            for record in records:
                db.insert_record(conn, record, stored_via="journal")
        yield conn
    finally:
        conn.close()


def add_totals(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """The totals of two disjoint sets of records (a shift's or a period's), added."""
    out: dict[str, Any] = {}
    for key in a.keys() | b.keys():
        x, y = a.get(key), b.get(key)
        if key == "first_seq":
            out[key] = min(v for v in (x, y) if v is not None) if (x, y) != (None, None) else None
        elif key == "last_seq":
            out[key] = max(v for v in (x, y) if v is not None) if (x, y) != (None, None) else None
        elif isinstance(x, dict) or isinstance(y, dict):
            out[key] = add_totals(x or {}, y or {})
        else:
            out[key] = (x or 0) + (y or 0)
    return out
