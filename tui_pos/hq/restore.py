"""A till's records as HQ holds them, for rebuilding the till on a new box (`tui-pos hq restore-till`,
ops/restore_till.py): which shop it is in, how far its stream goes, and every record in its commit
order, read a page at a time (an administrator's connection)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from tui_pos.domain.errors import N_
from tui_pos.hq.connection import HqError
from tui_pos.hq.schema import check_current

if TYPE_CHECKING:
    import psycopg

PAGE = 2000  # records read per query


def till_at_hq(conn: psycopg.Connection[Any], till_id: str) -> dict[str, Any]:
    """{"shop", "shop_name", "till", "high_water", "records"} of an enrolled till; HqError if HQ has none."""
    check_current(conn)
    row = conn.execute("SELECT t.shop_id, s.name, t.till_id, t.high_water, t.records FROM hq.till t "
                       "JOIN hq.shop s USING (shop_id) WHERE lower(t.till_id) = lower(%s)", (till_id,)).fetchone()
    if row is None:
        raise HqError(N_("till {till} is not enrolled at HQ (tui-pos hq tills lists those that are)"), till=till_id)
    shop, shop_name, till, high_water, records = row
    return {"shop": shop, "shop_name": shop_name, "till": till, "high_water": high_water, "records": records}


def till_records(conn: psycopg.Connection[Any], shop: str, till_id: str, page: int = PAGE) -> Iterator[dict[str, Any]]:
    """Every record of the till at HQ, each once, in its commit order, as the till pushed it."""
    last = 0
    while True:
        rows = conn.execute("SELECT commit_seq, record FROM hq.record WHERE shop_id = %s AND till_id = %s "
                            "AND commit_seq > %s ORDER BY commit_seq LIMIT %s", (shop, till_id, last, page)).fetchall()
        yield from (record for _, record in rows)
        if len(rows) < page:
            return
        last = rows[-1][0]


def commit_hash(conn: psycopg.Connection[Any], shop: str, till_id: str, commit_seq: int) -> str | None:
    """The hash HQ holds for the till's commit (None: no such commit, or pushed without one)."""
    row = conn.execute("SELECT hash FROM hq.stream WHERE shop_id = %s AND till_id = %s AND commit_seq = %s",
                       (shop, till_id, commit_seq)).fetchone()
    return row[0] if row else None
