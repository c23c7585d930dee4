"""Stock at HQ (issue 14): a shop's stock on hand, its low-stock list and reorder suggestions, its
anomaly report, and the transfers between shops, read from what hq.push keeps up to date in the
transaction that adds the tills' records (schema.py migration 6):

- hq.stock_line: every movement of stock the tills pushed (a sale's, refund's or void's line not
  voided; a stock_move record), by shop and time, and by shop, product and time;
- hq.stock_level: each till's stock of each product = its last count + every movement since (no
  count: every movement; a till's opening stock, from its catalog CSV, is its opening count, so
  HQ's figure is the till's from its first import). A shop's stock on hand = the sum over its
  tills (domain/stock.py: milli-units);
- hq.transfer, hq.transfer_line: goods one shop sent (transfer_out) and the other received
  (transfer_in), open until received; what was received less what was sent is the variance.
  Goods in transit: what open transfers sent, per product, to the shop (in_transit: on its way,
  not in its stock yet) and from it (in_transit_out: out of its stock, not in the other's yet);
- hq.stock_day (migration 10): each shop's movements of each product summed per day (sold, in,
  out), what the anomaly report reads instead of a month and its lookback of single movements.

The warnings come from the pure rules of domain/anomalies.py, fed with HQ's facts in the shapes
the till feeds them (app/stock.py StockReports.anomalies): one copy of every rule. The reorder
level and quantity are HQ's catalog's (a shop's own product row first).
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from tui_pos.domain.anomalies import (
    PeriodFacts,
    Thresholds,
    Warning,
    period_warnings,
)
from tui_pos.domain.errors import N_
from tui_pos.domain.money import Currency
from tui_pos.domain.reports import utc_bounds
from tui_pos.domain.stock import is_low, moving_average_cost
from tui_pos.hq.chain import check_shop_id
from tui_pos.hq.connection import HqError
from tui_pos.hq.schema import check_current

if TYPE_CHECKING:
    import psycopg

LEVEL_FIELDS = ("barcode", "name", "department", "weighed", "on_hand", "reorder_level", "reorder_qty", "tracked",
                "last_moved", "tills", "in_transit", "in_transit_out")

# a time as the tills store it (UTC ISO to the millisecond), made by PostgreSQL: a month's movements
# are over 100,000 rows, and a datetime made and formatted again in Python for each is most of the time
ISO = """to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"+00:00"')"""

# a shop's levels: its tills' summed (hq.stock_level), beside HQ's catalog (the shop's own row first);
# no row at all when the shop is not at HQ
_CATALOG = """
    SELECT coalesce(o.barcode, p.barcode) AS barcode,
           CASE WHEN o.barcode IS NULL THEN p.name ELSE o.name END AS name,
           CASE WHEN o.barcode IS NULL THEN p.department ELSE o.department END AS department,
           CASE WHEN o.barcode IS NULL THEN p.weighed ELSE o.weighed END AS weighed,
           CASE WHEN o.barcode IS NULL THEN p.reorder_level ELSE o.reorder_level END AS reorder_level,
           CASE WHEN o.barcode IS NULL THEN p.reorder_qty ELSE o.reorder_qty END AS reorder_qty"""
# what open transfers sent (sent, not received yet) to the shop (coming) and from it (going), per product
_TRANSIT = """
    SELECT l.barcode, sum(l.sent) FILTER (WHERE t.to_shop = %(shop)s) AS coming,
           sum(l.sent) FILTER (WHERE t.shop_id = %(shop)s) AS going
    FROM (SELECT * FROM hq.transfer WHERE to_shop = %(shop)s AND received_at IS NULL
          UNION ALL SELECT * FROM hq.transfer WHERE shop_id = %(shop)s AND received_at IS NULL) t
    JOIN hq.transfer_line l ON l.shop_id = t.shop_id AND l.transfer_id = t.transfer_id
    WHERE t.sent_at IS NOT NULL AND l.sent > 0{product}
    GROUP BY l.barcode"""
_LEVELS = f"""
WITH moved AS (
    SELECT barcode, sum(coalesce(counted, 0) + since) AS on_hand, max(last_at) AS last_at, count(*) AS tills
    FROM hq.stock_level WHERE shop_id = %(shop)s GROUP BY barcode),
catalog AS ({_CATALOG}
    FROM hq.product p FULL JOIN (SELECT * FROM hq.shop_product WHERE shop_id = %(shop)s) o ON o.barcode = p.barcode),
transit AS ({_TRANSIT.format(product="")})
SELECT coalesce(c.barcode, m.barcode, x.barcode), coalesce(c.name, m.barcode, x.barcode), coalesce(c.department, ''),
       coalesce(c.weighed, false), coalesce(m.on_hand, 0)::bigint, c.reorder_level, c.reorder_qty,
       m.barcode IS NOT NULL OR c.reorder_level IS NOT NULL OR x.barcode IS NOT NULL, {ISO.format("m.last_at")},
       coalesce(m.tills, 0)::int, coalesce(x.coming, 0)::bigint, coalesce(x.going, 0)::bigint
FROM moved m FULL JOIN catalog c ON c.barcode = m.barcode FULL JOIN transit x ON x.barcode = coalesce(c.barcode, m.barcode)
WHERE (m.barcode IS NOT NULL OR c.reorder_level IS NOT NULL OR x.barcode IS NOT NULL)
  AND EXISTS (SELECT 1 FROM hq.shop WHERE shop_id = %(shop)s)
ORDER BY 1
"""
# these products' levels at the shop (each, whether HQ's catalog has it or not): index look-ups only
_SOME_LEVELS = f"""
SELECT x.barcode, coalesce(c.name, x.barcode), coalesce(c.department, ''), coalesce(c.weighed, false),
       coalesce(m.on_hand, 0)::bigint, c.reorder_level, c.reorder_qty,
       m.tills > 0 OR c.reorder_level IS NOT NULL OR tr.barcode IS NOT NULL, {ISO.format("m.last_at")}, m.tills::int,
       coalesce(tr.coming, 0)::bigint, coalesce(tr.going, 0)::bigint
FROM unnest(%(codes)s::text[]) x(barcode)
LEFT JOIN LATERAL ({_CATALOG}
    FROM (SELECT * FROM hq.product WHERE barcode = x.barcode) p
    FULL JOIN (SELECT * FROM hq.shop_product WHERE shop_id = %(shop)s AND barcode = x.barcode) o ON true) c ON true
CROSS JOIN LATERAL (SELECT sum(coalesce(counted, 0) + since) AS on_hand, max(last_at) AS last_at, count(*) AS tills
                    FROM hq.stock_level WHERE shop_id = %(shop)s AND barcode = x.barcode) m
LEFT JOIN LATERAL ({_TRANSIT.format(product=" AND l.barcode = x.barcode")}) tr ON true
WHERE EXISTS (SELECT 1 FROM hq.shop WHERE shop_id = %(shop)s)
ORDER BY 1
"""
_CHECKED: weakref.WeakSet[Any] = weakref.WeakSet()  # connections whose HQ schema was found current


def current(conn: psycopg.Connection[Any]) -> None:
    """check_current, once per connection (a stock look-up is a few index reads: two more round
    trips each time would be most of it)."""
    if conn not in _CHECKED:
        check_current(conn)
        _CHECKED.add(conn)


def check_shop(conn: psycopg.Connection[Any], shop: str) -> None:
    """HqError unless the shop is at HQ (after the schema check)."""
    check_shop_id(shop)
    current(conn)
    if conn.execute("SELECT 1 FROM hq.shop WHERE shop_id = %s", (shop,)).fetchone() is None:
        raise HqError(N_("shop {shop} is not at HQ: add it first (tui-pos hq shop add {shop})"), shop=shop)


def iso(moment: datetime | None) -> str | None:
    """A time as the tills store it: UTC ISO to the millisecond."""
    return None if moment is None else moment.astimezone(UTC).isoformat(timespec="milliseconds")


def levels(conn: psycopg.Connection[Any], shop: str, barcodes: Sequence[str] | None = None,
           low: bool = False) -> list[dict[str, Any]]:
    """The shop's stock of every product it tracks (moved at one of its tills, given a reorder
    level in HQ's catalog, or in transit to or from it), or of these products (each, known or
    not), or (low) only those at or below their reorder level: LEVEL_FIELDS, quantities in
    milli-units, last_moved its newest movement at any of the shop's tills, tills how many of
    them moved it, in_transit what open transfers are bringing it, in_transit_out what it sent
    that has not been received."""
    check_shop_id(shop)
    current(conn)
    if barcodes is None:
        found = conn.execute(_LEVELS, {"shop": shop}).fetchall()
    else:
        found = conn.execute(_SOME_LEVELS, {"shop": shop, "codes": sorted(set(barcodes))}).fetchall()
    if not found:
        check_shop(conn, shop)  # none: an unknown shop is said so
    rows = [dict(zip(LEVEL_FIELDS, row)) for row in found]
    return [row for row in rows if is_low(row["on_hand"], row["reorder_level"])] if low else rows


def low_by_shop(conn: psycopg.Connection[Any], shop: str | None = None) -> dict[str, list[dict[str, Any]]]:
    """shop -> its products at or below their reorder level (every shop, or one)."""
    check_current(conn)
    shops = [shop] if shop is not None else [s for (s,) in conn.execute("SELECT shop_id FROM hq.shop ORDER BY 1")]
    return {s: levels(conn, s, low=True) for s in shops}


# -- transfers -------------------------------------------------------------------------------------------
TRANSFER_FIELDS = ("from_shop", "transfer", "to_shop", "sent_at", "sent_till", "received_at", "received_till",
                   "receipts", "to_known")


def transfers(conn: psycopg.Connection[Any], shop: str | None = None, open_only: bool = False,
              start: str | None = None, end: str | None = None) -> list[dict[str, Any]]:
    """The transfers from or to a shop (or every shop), oldest first: TRANSFER_FIELDS ("to_known":
    false for a shop HQ does not have, e.g. mistyped at a till that had no list of the chain's shops:
    HQ keeps the till's records all the same, and flags it here and in `hq alerts`), "open" (not
    received yet), "lines" [{"barcode", "sent", "received" (None: open), "variance" (received - sent;
    None: open)}]; open_only: those not received; start/end: sent or received in [start, end)."""
    check_current(conn)
    rows = conn.execute(
        "SELECT t.shop_id, t.transfer_id, t.to_shop, t.sent_at, t.sent_till, t.received_at, t.received_till, "
        "cardinality(t.receipts), EXISTS (SELECT 1 FROM hq.shop s WHERE s.shop_id = t.to_shop), coalesce((SELECT jsonb_agg(jsonb_build_object('barcode', l.barcode, 'sent', l.sent, "
        "'received', l.received) ORDER BY l.barcode) FROM hq.transfer_line l "
        "WHERE l.shop_id = t.shop_id AND l.transfer_id = t.transfer_id), '[]') "
        "FROM hq.transfer t WHERE (%(shop)s::text IS NULL OR t.shop_id = %(shop)s OR t.to_shop = %(shop)s) "
        "AND (NOT %(open)s OR t.received_at IS NULL) "
        "AND (%(start)s::timestamptz IS NULL OR t.sent_at >= %(start)s OR t.received_at >= %(start)s) "
        "AND (%(end)s::timestamptz IS NULL OR t.sent_at < %(end)s OR t.received_at < %(end)s) "
        "ORDER BY coalesce(t.sent_at, t.received_at), t.shop_id, t.transfer_id",
        {"shop": shop, "open": open_only, "start": start, "end": end}).fetchall()
    found = []
    for *fields, lines in rows:
        row = dict(zip(TRANSFER_FIELDS, fields))
        received = row["received_at"] is not None
        row.update(sent_at=iso(row["sent_at"]), received_at=iso(row["received_at"]), open=not received,
                   lines=[{**line, "received": (line["received"] or 0) if received else None,
                           "variance": (line["received"] or 0) - line["sent"] if received else None}
                          for line in lines])
        found.append(row)
    return found


# -- the reports -----------------------------------------------------------------------------------------
def _day_starts(first: date, last: date) -> list[str]:
    """The UTC start of each local day first..last and of the day after (DST-exact: each its own)."""
    return [datetime.combine(first + timedelta(days=n), time()).astimezone(UTC).isoformat(timespec="milliseconds")
            for n in range((last - first).days + 2)]


def day_sums_fit(conn: psycopg.Connection[Any], first: date, last: date) -> bool:
    """Whether HQ's days (hq.stock_day: the zone of its database when migration 10 ran) are this
    process's local days first..last (each starts at the same time, and so does the day after)."""
    row = conn.execute("SELECT bool_and(hq.stock_day_start(%s::date + (n - 1)::integer) = s) "
                       "FROM unnest(%s::timestamptz[]) WITH ORDINALITY x(s, n)", (first, _day_starts(first, last))).fetchone()
    return bool(row and row[0])


# A shop's movements of the days lo <= n < hi (n: a day's index in the period's days, the lookback
# first; hi None: every day from lo on), one row per product and day: (barcode, n, sold, qty_in,
# qty_out), from HQ's per-day sums, or the same figures summed from each movement (the reference
# the sums are kept from: for another zone's days, and to check the sums against). One shape, so
# one set of queries reads either.
def _sums(lo: int, hi: int | None) -> str:
    until = "" if hi is None else f" AND day < %(first)s::date + {hi}"
    return ("(SELECT barcode, day - %(first)s::date AS n, sold, qty_in, qty_out FROM hq.stock_day "
            f"WHERE shop_id = %(shop)s AND day >= %(first)s::date + {lo}{until}) d")


def _lines(lo: int, hi: int | None) -> str:
    until = "" if hi is None else f" AND at < (%(days)s::timestamptz[])[{hi + 1}]"
    return ("(SELECT barcode, width_bucket(at, %(days)s::timestamptz[]) - 1 AS n, "
            "sum(CASE WHEN kind = 'sale' AND qty < 0 THEN -qty ELSE 0 END) AS sold, sum(greatest(qty, 0)) AS qty_in, "
            "sum(greatest(-qty, 0)) AS qty_out FROM hq.stock_line "
            f"WHERE shop_id = %(shop)s AND at >= (%(days)s::timestamptz[])[{lo + 1}]{until} GROUP BY 1, 2) d")


def _period_sums(conn: psycopg.Connection[Any], sums: bool, shop: str, first: date, days: list[str], lookback: int,
                 minimum: int) -> tuple[dict[str, dict[int, int]], dict[str, int], dict[str, int]]:
    """What the rules read of a period's movements, summed by PostgreSQL (sums: from hq.stock_day;
    else from hq.stock_line). days: the UTC starts of the local days first.. (the first `lookback`
    of them the outflow rule's usual rate, then the period) and of the day after. Returns: the units
    sold on each day (its index) of the products that sold at least `minimum` on a day of the
    period; what came in during the period (product -> milli-units); the net movement after it."""
    source, end = (_sums if sums else _lines), len(days) - 1
    params = {"shop": shop, "first": first, "days": days}
    came_in: dict[str, int] = {}
    candidates: list[str] = []
    for barcode, qty_in, top in conn.execute(
            f"SELECT barcode, sum(qty_in)::bigint, max(sold)::bigint FROM {source(lookback, end)} GROUP BY 1",
            params).fetchall():
        came_in[barcode] = qty_in
        if top >= minimum:
            candidates.append(barcode)
    daily: dict[str, dict[int, int]] = {}
    if candidates:
        for barcode, day, sold in conn.execute(
                f"SELECT barcode, n, sold::bigint FROM {source(0, end)} WHERE barcode = ANY(%(codes)s) AND sold > 0",
                {**params, "codes": candidates}).fetchall():
            daily.setdefault(barcode, {})[day] = sold
    later = dict(conn.execute(f"SELECT barcode, sum(qty_in - qty_out)::bigint FROM {source(end, None)} GROUP BY 1",
                              params).fetchall())
    return daily, came_in, later


def anomalies(conn: psycopg.Connection[Any], shop: str, first: date, last: date, t: Thresholds,
              currency: Currency, today: date | None = None, *, sums: bool = True) -> list[Warning]:
    """Every stock and operation-risk warning of the shop over the local days first..last, with its
    numbers, from the rules the till's report uses (domain/anomalies.py), and each transfer to or
    from the shop received in the period with a quantity other than what was sent. Daily outflow,
    what came in and what moved after the period come from HQ's per-day sums (hq.stock_day) when
    its days are the asker's (sums=False, or another time zone: from every movement, the same
    figures); single movements are read only for the products a rule needs them for (counts,
    write-offs, sales at or below zero), as the till's report does."""
    check_shop(conn, shop)
    start, end = utc_bounds(first, last)
    look_first = first - timedelta(days=t.outflow_days)
    days = _day_starts(look_first, last)
    rows = levels(conn, shop)
    names = {row["barcode"]: row["name"] for row in rows}
    params = {"shop": shop, "start": start, "end": end}

    moves = [{"barcode": b, "at": at, "kind": kind, "qty": qty, "counted": counted, "expected": expected,
              "reason": reason}
             for b, at, kind, qty, counted, expected, reason in conn.execute(
                 f"SELECT barcode, {ISO.format('at')}, kind, qty, counted, expected, reason FROM hq.stock_line "
                 "WHERE shop_id = %(shop)s AND kind <> 'sale' AND kind IN ('count', 'adjust') AND at >= %(start)s "
                 "AND at < %(end)s ORDER BY at, till_id, commit_seq", params).fetchall()]
    by_day, came_in, later = _period_sums(conn, sums and day_sums_fit(conn, look_first, last), shop, look_first, days,
                                          t.outflow_days, t.outflow_min)
    end_levels = {row["barcode"]: row["on_hand"] - later.get(row["barcode"], 0) for row in rows}

    # only a product whose level could have been at or below zero in the period has its movements read
    low = sorted(b for b, qty_in in came_in.items() if end_levels.get(b, 1) - qty_in <= 0)
    events: dict[str, list[tuple[str, int, bool]]] = {}  # the period's movements per product, in time order
    if low:
        for barcode, at, qty, sale in conn.execute(
                f"SELECT barcode, {ISO.format('at')}, qty, kind = 'sale' FROM hq.stock_line WHERE shop_id = %(shop)s "
                "AND barcode = ANY(%(low)s) AND at >= %(start)s AND at < %(end)s "
                "ORDER BY at, till_id, commit_seq, line_no", {**params, "low": low}).fetchall():
            events.setdefault(barcode, []).append((at, qty, sale))
    dates = [look_first + timedelta(days=n) for n in range(len(days) - 1)]
    daily = {barcode: {dates[day]: out for day, out in sold.items() if 0 <= day < len(dates)}
             for barcode, sold in by_day.items()}

    costs = average_costs(conn, shop, end, sorted({m["barcode"] for m in moves}))
    per_cashier, refunds, originals = risk_facts(conn, shop, start, end)
    period_days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    level_rows = [{**row, "since": None} for row in rows]
    return period_warnings(PeriodFacts(
        levels=level_rows, moves=moves, costs=costs, names=names, events=events, end_levels=end_levels, daily=daily,
        period_days=period_days, last_moved={r["barcode"]: r["last_moved"] for r in rows if r["last_moved"]},
        today=min(last, today or date.today()), per_cashier=per_cashier, refunds=refunds, originals=originals,
        transfers=transfers(conn, shop, start=start, end=end)), t, currency)


def average_costs(conn: psycopg.Connection[Any], shop: str, until: str,
                  barcodes: list[str]) -> dict[str, Fraction | None]:
    """Each of these products' moving average unit cost at the shop (domain/stock.py), from every
    receive at its tills before until, in time order."""
    if not barcodes:
        return {}
    lots: dict[str, list[tuple[int | None, int, int | None]]] = {}
    for barcode, expected, qty, unit_cost in conn.execute(
            "SELECT barcode, expected, qty, unit_cost FROM hq.stock_line WHERE shop_id = %s AND barcode = ANY(%s) "
            "AND kind = 'receive' AND at < %s ORDER BY at, till_id, commit_seq", (shop, barcodes, until)):
        lots.setdefault(barcode, []).append((expected, qty, unit_cost))
    return {barcode: moving_average_cost(found) for barcode, found in lots.items()}


_RISK_EVENTS = ("no_sale", "price_override")


def risk_facts(conn: psycopg.Connection[Any], shop: str, start: str,
               end: str) -> tuple[dict[str, dict[str, int]], list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """What the operation-risk warnings read of a shop over [start, end), from its tills' records:
    per cashier their sales, voids, refunds, discounted sales, line voids, no-sales and price
    overrides (the till's store/stock.py risk_counts, from the records); the refunds that name
    their sale, and those sales (by uuid)."""
    counts: dict[str, dict[str, int]] = {}

    def add(cashier: str | None, what: str, n: int) -> None:
        if n:
            mine = counts.setdefault(cashier or "", {})
            mine[what] = mine.get(what, 0) + n

    params = {"shop": shop, "start": start, "end": end, "events": list(_RISK_EVENTS)}
    # each sale's figures first, then grouped (OFFSET 0: the grouping does not carry the records along)
    for cashier, kind, n, discounted, line_voids in conn.execute(
            "SELECT cashier, kind, count(*), count(*) FILTER (WHERE discounted), sum(voids)::bigint FROM ("
            "SELECT r.record->>'cashier' AS cashier, coalesce(r.record->>'kind', 'sale') AS kind, "
            "coalesce(r.record->>'discount', '0') NOT IN ('0', '') AS discounted, jsonb_array_length("
            "jsonb_path_query_array(r.record, 'strict $.lines[*] ? (@.voided == true || @.voided == \"true\")', '{}', "
            "true)) AS voids FROM hq.record r WHERE r.shop_id = %(shop)s AND r.type = 'sale' "
            "AND r.recorded_at >= %(start)s AND r.recorded_at < %(end)s OFFSET 0) s GROUP BY 1, 2", params):
        add(cashier, {"sale": "sales"}.get(kind, kind), n)
        if kind == "sale":
            add(cashier, "discount", discounted)
            add(cashier, "line_void", line_voids or 0)
    for actor, action, n in conn.execute(
            "SELECT r.record->>'actor', r.record->>'action', count(*) FROM hq.record r WHERE r.shop_id = %(shop)s "
            "AND r.type = 'event' AND r.record->>'action' = ANY(%(events)s) AND r.recorded_at >= %(start)s "
            "AND r.recorded_at < %(end)s GROUP BY 1, 2", params):
        add(actor, action, n)
    refunds = [rec for (rec,) in conn.execute(
        "SELECT r.record FROM hq.record r WHERE r.shop_id = %(shop)s AND r.type = 'sale' "
        "AND r.record->>'kind' = 'refund' AND r.record->>'original_uuid' IS NOT NULL "
        "AND r.recorded_at >= %(start)s AND r.recorded_at < %(end)s", params)]
    originals: dict[str, dict[str, Any]] = {}
    wanted = sorted({str(r["original_uuid"]) for r in refunds})
    if wanted:
        for rec in conn.execute(
                "SELECT r.record FROM hq.record r WHERE r.shop_id = %s "
                "AND r.till_id = ANY(ARRAY(SELECT till_id FROM hq.till WHERE shop_id = %s)) AND r.uuid = ANY(%s::uuid[])",
                (shop, shop, wanted)).fetchall():
            originals[str(rec[0]["uuid"])] = rec[0]
    refunds = [{**r, "tenders": r.get("tenders") or [], "cashier": r.get("cashier"), "receipt": r.get("receipt")}
               for r in refunds]
    return counts, refunds, originals


def reorder(conn: psycopg.Connection[Any], shop: str) -> list[dict[str, Any]]:
    """The shop's products at or below their reorder level (levels(low=True))."""
    return levels(conn, shop, low=True)

