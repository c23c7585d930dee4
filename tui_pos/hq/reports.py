"""What the chain sold, read from the records the tills pushed (`tui-pos hq sales`, `hq report`).

A period is [start, end) of the records' own times (hq.record.recorded_at: a sale's completed_at,
a Z's closed_at), so a day is one range of one month's partition. The days are the local days of
the process asking (domain.reports.period and utc_bounds, as the till's own report), and the
figures are summed by PostgreSQL in the shape the till's report is made of
(tui_pos.store.period_totals), so domain.reports.summarize makes the report for the chain, each
shop and each till exactly as it does for one till. Hours are bucketed by the hour in UTC and
shown in local time (exact for zones a whole number of hours from UTC). A product's department is
the one HQ's catalog has it in (a shop's own first), "(none)" when it has none.

Amounts are integer minor units, as the till recorded them; the command line formats them in the
chain's currency (chain_currency_if_readable).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from tui_pos.domain.money import Currency
from tui_pos.domain.reports import NO_DEPARTMENT, SalesReport, summarize, utc_bounds
from tui_pos.domain.shift import ShiftReport
from tui_pos.hq.schema import check_current

if TYPE_CHECKING:
    import psycopg

_KIND = "coalesce(r.record->>'kind', 'sale')"
_IN_PERIOD = ("r.recorded_at >= %(start)s::timestamptz AND r.recorded_at < %(end)s::timestamptz "
              "AND (%(shop)s::text IS NULL OR r.shop_id = %(shop)s) AND (%(till)s::text IS NULL OR r.till_id = %(till)s)")
_SALES = f"r.type = 'sale' AND {_IN_PERIOD}"


def _sum(obj: str, field: str) -> str:
    return f"sum(coalesce(({obj}->>'{field}')::bigint, 0))"


_SALE_FIGURES = ("count", "gross", "discount", "tax", "total", "change")
_SALE_CELLS = (
    f"SELECT r.shop_id, r.till_id, {_KIND}, coalesce(r.record->>'cashier', ''), date_trunc('hour', r.recorded_at, 'UTC'), "
    f"count(*), {', '.join(_sum('r.record', f) for f in _SALE_FIGURES[1:])} "
    f"FROM hq.record r WHERE {_SALES} GROUP BY 1, 2, 3, 4, 5")
_TENDER_CELLS = (
    f"SELECT r.shop_id, r.till_id, {_KIND}, t->>'kind', count(*), {_sum('t', 'amount')} "
    f"FROM hq.record r CROSS JOIN LATERAL jsonb_array_elements(r.record->'tenders') t WHERE {_SALES} "
    "GROUP BY 1, 2, 3, 4")
_TENDER_FIGURES = ("count", "amount")
_VOIDED = "(l->>'voided')::boolean"
_LINE_CELLS = (
    "SELECT r.shop_id, r.till_id, l->>'barcode', max(l->>'name'), %(none)s, l->>'tax_code', (l->>'rate_bp')::int, "
    f"count(*) FILTER (WHERE NOT {_VOIDED}), coalesce(sum((l->>'qty')::bigint) FILTER (WHERE NOT {_VOIDED}), 0), "
    f"coalesce(sum((l->>'total')::bigint) FILTER (WHERE NOT {_VOIDED}), 0), "
    f"coalesce(sum((l->>'tax')::bigint) FILTER (WHERE NOT {_VOIDED}), 0), count(*) FILTER (WHERE {_VOIDED}), "
    f"coalesce(sum((l->>'qty')::bigint * (l->>'unit_price')::bigint) FILTER (WHERE {_VOIDED}), 0) "
    f"FROM hq.record r CROSS JOIN LATERAL jsonb_array_elements(r.record->'lines') l WHERE {_SALES} "
    "GROUP BY 1, 2, 3, 6, 7")
_LINE_FIGURES = ("lines", "qty", "total", "tax", "voided", "voided_amount")


def _params(first: date, last: date, shop: str | None, till: str | None) -> dict[str, Any]:
    start, end = utc_bounds(first, last)
    return {"start": start, "end": end, "shop": shop, "till": till, "none": NO_DEPARTMENT}


def sales(conn: psycopg.Connection[Any], first: date, last: date, shop: str | None = None,
          till: str | None = None) -> list[dict[str, Any]]:
    """Every sale, refund and void completed in the local days first..last, oldest first: uuid,
    receipt, shop, till, kind, completed_at, cashier, total, paid, change, tenders, the sale a
    refund or void reverses (original_receipt) and the till's commit number."""
    check_current(conn)
    rows = conn.execute(
        "SELECT r.shop_id, r.till_id, r.commit_seq, r.record FROM hq.record r "
        f"WHERE {_SALES} ORDER BY r.recorded_at, r.shop_id, r.till_id, r.commit_seq",
        _params(first, last, shop, till)).fetchall()
    return [{"uuid": rec.get("uuid"), "receipt": rec.get("receipt"), "shop": shop_id, "till": till_id,
             "kind": rec.get("kind", "sale"), "completed_at": rec.get("completed_at"), "cashier": rec.get("cashier"),
             "total": rec.get("total"), "paid": rec.get("paid"), "change": rec.get("change"),
             "tenders": [{"kind": t.get("kind"), "amount": t.get("amount")} for t in rec.get("tenders") or ()],
             "original_receipt": rec.get("original_receipt"), "commit_seq": commit_seq}
            for shop_id, till_id, commit_seq, rec in rows]


def _empty() -> dict[str, dict[tuple[Any, ...], Counter[str]]]:
    return {"sales": {}, "tenders": {}, "lines": {}}


def _add(facts: dict[str, dict[tuple[Any, ...], Counter[str]]], section: str, key: tuple[Any, ...],
         figures: Mapping[str, int]) -> None:
    facts[section].setdefault(key, Counter()).update(figures)


def period_facts(conn: psycopg.Connection[Any], first: date, last: date, shop: str | None = None,
                 till: str | None = None) -> dict[tuple[str, str], dict[str, Any]]:
    """(shop, till) -> the till's figures for the period, in the shape summarize() takes
    (store.period_totals' empty_period_totals); the hour of a sale is its local 'YYYY-MM-DD HH'."""
    params = _params(first, last, shop, till)
    by_till: dict[tuple[str, str], dict[str, Any]] = {}
    for section, query, figures in (("sales", _SALE_CELLS, _SALE_FIGURES), ("tenders", _TENDER_CELLS, _TENDER_FIGURES),
                                    ("lines", _LINE_CELLS, _LINE_FIGURES)):
        rows = conn.execute(query, params).fetchall()
        department = _departments(conn, {row[2] for row in rows}) if section == "lines" else None
        for row in rows:
            key = tuple(row[2:-len(figures)])
            if section == "sales":
                key = (*key[:-1], _local_hour(key[-1]))
            elif department is not None:  # (barcode, name, department, tax code, rate)
                key = (key[0], key[1], department(row[0], key[0]), *key[3:])
            facts = by_till.setdefault((row[0], row[1]), _empty())
            _add(facts, section, key, dict(zip(figures, (int(v or 0) for v in row[-len(figures):]))))
    return by_till


def _departments(conn: psycopg.Connection[Any], barcodes: set[str]) -> Callable[[str, str], str]:
    """(shop, barcode) -> the department HQ's catalog has the product in (the shop's own first, as
    its tills have it), else NO_DEPARTMENT; everything NO_DEPARTMENT for a role that may not read
    the catalog (a till's: it pulls its catalog through hq.catalog_changes)."""
    readable = conn.execute("SELECT has_table_privilege('hq.product', 'SELECT') "
                            "AND has_table_privilege('hq.shop_product', 'SELECT')").fetchone()
    chain: dict[str, str] = {}
    shops: dict[tuple[str, str], str] = {}
    if barcodes and readable and readable[0]:
        codes = sorted(barcodes)
        chain.update(conn.execute("SELECT barcode, department FROM hq.product WHERE department <> '' "
                                  "AND barcode = ANY(%s)", (codes,)).fetchall())
        shops.update(((shop, code), department) for shop, code, department in conn.execute(
            "SELECT shop_id, barcode, department FROM hq.shop_product WHERE department <> '' AND barcode = ANY(%s)",
            (codes,)))
    return lambda shop, barcode: shops.get((shop, barcode)) or chain.get(barcode) or NO_DEPARTMENT


def _local_hour(utc_hour: datetime) -> str:
    return utc_hour.replace(tzinfo=utc_hour.tzinfo or UTC).astimezone().strftime("%Y-%m-%d %H")


def merged(parts: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The figures of several tills added up (every figure is a count or a sum)."""
    total = _empty()
    for facts in parts:
        for section, cells in facts.items():
            for key, figures in cells.items():
                _add(total, section, key, figures)
    return total


def z_reports(conn: psycopg.Connection[Any], first: date, last: date, shop: str | None = None,
              till: str | None = None) -> list[dict[str, Any]]:
    """Every Z report taken in the local days first..last, by shop, till and Z number: the
    shift_close record's figures and its report's net sales."""
    rows = conn.execute(
        "SELECT r.shop_id, r.till_id, r.record FROM hq.record r "
        f"WHERE r.type = 'shift_close' AND {_IN_PERIOD} "
        "ORDER BY r.shop_id, r.till_id, (r.record->>'z_number')::bigint, r.commit_seq",
        _params(first, last, shop, till)).fetchall()
    found = []
    for shop_id, till_id, rec in rows:
        report = _shift_report(rec.get("report"))
        found.append({"shop": shop_id, "till": till_id, "uuid": rec.get("uuid"), "z_number": rec.get("z_number"),
                      "shift": report.shift_number if report else None, "closed_at": rec.get("closed_at"),
                      "closed_by": rec.get("closed_by"), "sales": report.sales.count if report else None,
                      "net_sales": report.net_sales if report else None, "expected": rec.get("expected"),
                      "counted": rec.get("counted"), "difference": rec.get("difference"),
                      "first_receipt": report.first_receipt if report else None,
                      "last_receipt": report.last_receipt if report else None})
    return found


def _shift_report(data: Any) -> ShiftReport | None:
    try:
        return ShiftReport.from_dict(data)
    except (KeyError, TypeError, ValueError):
        return None  # a Z written by a version whose report this one cannot read: its record's figures still show


def report(conn: psycopg.Connection[Any], first: date, last: date, shop: str | None = None,
           till: str | None = None) -> dict[str, Any]:
    """The period for the chain (or the shop / till asked for), each shop and each of its tills:
    {"chain": SalesReport, "shops": [{"shop", "name", "report", "tills": [{"till", "report"}]}],
    "z_reports": [...]}. Every enrolled shop and till is there, with zeros where nothing was sold."""
    check_current(conn)
    facts = period_facts(conn, first, last, shop, till)
    tills = conn.execute(
        "SELECT s.shop_id, s.name, t.till_id FROM hq.shop s LEFT JOIN hq.till t USING (shop_id) "
        "WHERE (%(shop)s::text IS NULL OR s.shop_id = %(shop)s) AND (%(till)s::text IS NULL OR t.till_id = %(till)s) "
        "ORDER BY s.shop_id, t.till_id", {"shop": shop, "till": till}).fetchall()
    shops: dict[str, dict[str, Any]] = {}
    for shop_id, name, till_id in tills:
        shops.setdefault(shop_id, {"shop": shop_id, "name": name, "tills": []})
        if till_id is not None:
            shops[shop_id]["tills"].append(till_id)
    for shop_id, till_id in facts:  # records of a till no longer enrolled (never expected): still counted
        held = shops.setdefault(shop_id, {"shop": shop_id, "name": "", "tills": []})["tills"]
        if till_id not in held:
            held.append(till_id)

    def made(parts: Iterable[Mapping[str, Any]]) -> SalesReport:
        return summarize(merged(parts), first, last, journaled=0, database_readable=True)

    out = []
    for entry in shops.values():
        mine = [facts.get((entry["shop"], t), _empty()) for t in entry["tills"]]
        out.append({"shop": entry["shop"], "name": entry["name"], "report": made(mine),
                    "tills": [{"till": t, "report": made([f])} for t, f in zip(entry["tills"], mine)]})
    return {"chain": made(facts.values()), "shops": out, "z_reports": z_reports(conn, first, last, shop, till)}


def chain_currency_if_readable(conn: psycopg.Connection[Any]) -> Currency | None:
    """The chain's currency (HQ's setting), or None for a role that may not read HQ's settings (a
    till's: it pulls them through hq.catalog_changes)."""
    from tui_pos.hq.catalog import chain_currency

    readable = conn.execute("SELECT has_table_privilege('hq.setting', 'SELECT')").fetchone()
    return chain_currency(conn) if readable and readable[0] else None
