"""A shop's code payments as its tills pushed them (`tui-pos hq payments reconcile`): the
payment_attempt and payment_outcome records, and the sales that carry them, as the record JSON
the tills' journals hold, for domain.reconcile to match against a provider's statement.

Which attempts: those of the statement's days (a day either side, for attempts started before
midnight and settled after, and for the tills' clocks), and every attempt under a trade number
the statement names, whenever it was made. Their outcomes and sales are found by uuid.
"""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import Collection
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from tui_pos.domain.errors import N_, BadInput
from tui_pos.domain.reconcile import day_bounds
from tui_pos.hq.schema import check_current

if TYPE_CHECKING:
    import psycopg

MARGIN = timedelta(days=1)


def payment_records(conn: psycopg.Connection[Any], shop: str, first: date | None, last: date | None,
                    trade_numbers: Collection[str] = (), refund_numbers: Collection[str] = ()
                    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """(attempts, outcomes, sales) of the shop: the attempts of the days first..last (provider's
    days; none when None) and those under trade_numbers/refund_numbers, each list in the tills'
    commit order. BadInput when HQ has no such shop."""
    check_current(conn)
    if conn.execute("SELECT 1 FROM hq.shop WHERE shop_id = %s", (shop,)).fetchone() is None:
        raise BadInput(N_("HQ has no shop {shop} (tui-pos hq shop add {shop})"), shop=shop)
    start = end = None
    if first is not None and last is not None:
        start, end = day_bounds(first, last)
        start, end = start - MARGIN, end + MARGIN
    attempts = [row[0] for row in conn.execute(
        "SELECT r.record FROM hq.record r WHERE r.type = 'payment_attempt' AND r.shop_id = %(shop)s AND ("
        "(r.recorded_at >= %(start)s AND r.recorded_at < %(end)s) "
        "OR r.record->>'out_trade_no' = ANY(%(trades)s) OR r.record->>'out_refund_no' = ANY(%(refunds)s)) "
        "ORDER BY r.till_id, r.commit_seq",
        {"shop": shop, "start": start, "end": end, "trades": [t for t in trade_numbers if t],
         "refunds": [r for r in refund_numbers if r]})]
    uuids = sorted({str(a.get("uuid")) for a in attempts})
    outcomes = [row[0] for row in conn.execute(
        "SELECT r.record FROM hq.record r WHERE r.type = 'payment_outcome' AND r.shop_id = %s "
        "AND r.record->>'attempt_uuid' = ANY(%s) ORDER BY r.till_id, r.commit_seq", (shop, uuids))]
    till_of_sale = {str(a.get("sale_uuid")): str(a.get("till_id")) for a in attempts if _is_uuid(a.get("sale_uuid"))}
    sales = [row[0] for row in conn.execute(  # by (till, uuid): the records' unique key
        "SELECT r.record FROM hq.record r WHERE r.type = 'sale' AND r.shop_id = %s AND (r.till_id, r.uuid) IN "
        "(SELECT t, u::uuid FROM unnest(%s::text[], %s::text[]) AS x(t, u)) ORDER BY r.till_id, r.commit_seq",
        (shop, list(till_of_sale.values()), list(till_of_sale)))]
    return attempts, outcomes, sales


def _is_uuid(value: Any) -> bool:
    try:
        uuidlib.UUID(str(value))
    except ValueError:
        return False
    return True
