"""`tui-pos hq verify`: is every till's stream at HQ whole? Per till: how many records, the first
commit number missing (hq.push refuses a gap, so one means rows lost at HQ: a restore, a hand
edit), the first commit that breaks the hash chain (its prev_hash is not the hash of the commit
before it: the till's database restored over newer commits; or its hash is not the one its record
and prev_hash make, recomputed here by the till's own arithmetic, domain/commits.py: a record
edited at HQ; hq.push stores breaks, never refuses them), receipt numbers missing or used twice
among its sales, refunds and voids.
Commits are read from hq.stream: hq.record's rows and the slots hq.commit_moved fills (a record
HQ had under another number).

HQ never changes a record, so this only reads; it can run at any time, on a replica too.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from tui_pos.domain.commits import GENESIS, first_break
from tui_pos.hq.schema import check_current

if TYPE_CHECKING:
    import psycopg

SHOWN_GAPS = 20  # receipt-number gaps listed per till (the count covers them all)
PAGE = 2000  # commits read per query while recomputing a till's chain

_TILLS = ("SELECT t.shop_id, t.till_id, t.high_water, count(s.commit_seq) FILTER (WHERE NOT s.moved), "
          "max(s.commit_seq) FROM hq.till t LEFT JOIN hq.stream s USING (shop_id, till_id) "
          "WHERE (%(shop)s::text IS NULL OR t.shop_id = %(shop)s) GROUP BY 1, 2, 3 ORDER BY 1, 2")
# the first commit number missing per till (the lag of the first commit is 0: a stream starts at 1)
_FIRST_GAPS = ("SELECT DISTINCT ON (shop_id, till_id) shop_id, till_id, prev + 1 FROM ("
               "SELECT shop_id, till_id, commit_seq, lag(commit_seq, 1, 0::bigint) OVER w AS prev FROM hq.stream "
               "WHERE (%(shop)s::text IS NULL OR shop_id = %(shop)s) "
               "WINDOW w AS (PARTITION BY shop_id, till_id ORDER BY commit_seq)) x "
               "WHERE commit_seq > prev + 1 ORDER BY shop_id, till_id, commit_seq")
# commits whose prev_hash is not the hash of the commit before them (the first's: 64 zeros); a
# commit after a gap, or next to one pushed without hashes, cannot be checked
_BREAKS = ("SELECT shop_id, till_id, min(commit_seq), count(*) FROM ("
           "SELECT shop_id, till_id, commit_seq, prev_hash, lag(commit_seq, 1, 0::bigint) OVER w AS prev_seq, "
           f"lag(hash, 1, '{GENESIS}') OVER w AS prev_digest FROM hq.stream "
           "WHERE (%(shop)s::text IS NULL OR shop_id = %(shop)s) "
           "WINDOW w AS (PARTITION BY shop_id, till_id ORDER BY commit_seq)) x "
           "WHERE prev_seq = commit_seq - 1 AND prev_hash <> prev_digest GROUP BY 1, 2")
_SEQ = "(record->>'seq')::bigint"
# receipt numbers in order per till: a step of more than one is a gap, a step of none a number used twice
_RECEIPT_STEPS = ("SELECT shop_id, till_id, prev, seq FROM ("
                  f"SELECT shop_id, till_id, {_SEQ} AS seq, lag({_SEQ}, 1, 0::bigint) OVER w AS prev FROM hq.record "
                  "WHERE type = 'sale' AND record->>'seq' ~ '^[0-9]{1,18}$' "
                  "AND (%(shop)s::text IS NULL OR shop_id = %(shop)s) "
                  f"WINDOW w AS (PARTITION BY shop_id, till_id ORDER BY {_SEQ})) x "
                  "WHERE seq <> prev + 1 ORDER BY shop_id, till_id, seq")


# a till's commits with their records: hq.record a page at a time (its primary key's order), and the
# few slots hq.commit_moved fills, with the record HQ holds under another number
_RECORDS = ("SELECT commit_seq, prev_hash, hash, record FROM hq.record WHERE shop_id = %s AND till_id = %s "
            "AND commit_seq > %s ORDER BY commit_seq LIMIT %s")
_MOVED = ("SELECT m.commit_seq, m.prev_hash, m.hash, r.record FROM hq.commit_moved m JOIN hq.record r "
          "ON r.shop_id = m.shop_id AND r.till_id = m.till_id AND r.uuid = m.uuid "
          "WHERE m.shop_id = %s AND m.till_id = %s ORDER BY m.commit_seq")


def verify(conn: psycopg.Connection[Any], shop: str | None = None) -> list[dict[str, Any]]:
    """Every enrolled till (of the shop): {"shop", "till", "records", "high_water", "last_commit",
    "first_gap" (the first commit number missing, or None), "first_break" (the first commit that
    breaks the hash chain, or None), "breaks" (how many do not follow the hash before them),
    "unchained" (commits pushed without hashes before the first break: not checked), "receipt_gaps"
    ([first, last] of each run of receipt numbers missing, the first SHOWN_GAPS), "receipts_missing" (how many),
    "receipts_twice" (receipt numbers held by more than one record), "ok"}."""
    check_current(conn)
    params = {"shop": shop}
    tills: dict[tuple[str, str], dict[str, Any]] = {}
    for shop_id, till_id, high_water, records, last in conn.execute(_TILLS, params):
        tills[(shop_id, till_id)] = {"shop": shop_id, "till": till_id, "records": records, "high_water": high_water,
                                     "last_commit": last or 0, "first_gap": None, "first_break": None,
                                     "breaks": 0, "unchained": 0, "receipt_gaps": [],
                                     "receipts_missing": 0, "receipts_twice": []}
    for shop_id, till_id, missing in conn.execute(_FIRST_GAPS, params):
        if (shop_id, till_id) in tills:
            tills[(shop_id, till_id)]["first_gap"] = missing
    for shop_id, till_id, first, count in conn.execute(_BREAKS, params):
        if (shop_id, till_id) in tills:
            tills[(shop_id, till_id)].update(first_break=first, breaks=count)
    for shop_id, till_id, prev, seq in conn.execute(_RECEIPT_STEPS, params):
        till = tills.get((shop_id, till_id))
        if till is None:
            continue
        if seq == prev:
            till["receipts_twice"].append(seq)
        elif seq > prev + 1:
            till["receipts_missing"] += seq - prev - 1
            if len(till["receipt_gaps"]) < SHOWN_GAPS:
                till["receipt_gaps"].append([prev + 1, seq - 1])
    for till in tills.values():
        recomputed, till["unchained"] = _recomputed_break(conn, till["shop"], till["till"])
        if recomputed is not None and (till["first_break"] is None or recomputed < till["first_break"]):
            till["first_break"] = recomputed
        till["receipts_twice"] = sorted(set(till["receipts_twice"]))
        till["ok"] = (till["first_gap"] is None and till["first_break"] is None and not till["receipt_gaps"]
                      and not till["receipts_twice"]
                      and till["last_commit"] == till["high_water"])
    return list(tills.values())


def _recomputed_break(conn: psycopg.Connection[Any], shop: str, till: str) -> tuple[int | None, int]:
    """(the first commit whose hash is not what its record and the commit before it make, or None;
    how many commits before it were pushed without hashes), walking the till's stream a page at a
    time from commit 1 (whose prev_hash is GENESIS). A commit after a gap, or after one without
    hashes, is checked against its own record only."""
    last: tuple[int, str] | None = (0, GENESIS)
    unchained = 0
    moved = conn.execute(_MOVED, (shop, till)).fetchall()
    for n, prev_hash, digest, record in heapq.merge(_records(conn, shop, till), moved, key=lambda row: row[0]):
        if prev_hash is None or digest is None:
            unchained, last = unchained + 1, None
            continue
        if last is not None and n != last[0] + 1:
            last = None  # a gap: first_gap says so
        if first_break([{"commit_seq": n, "prev_hash": prev_hash, "hash": digest, "record": record}], last):
            return n, unchained
        last = (n, digest)
    return None, unchained


def _records(conn: psycopg.Connection[Any], shop: str, till: str) -> Iterator[tuple[Any, ...]]:
    after = 0
    while True:
        rows = conn.execute(_RECORDS, (shop, till, after, PAGE)).fetchall()
        yield from rows
        if len(rows) < PAGE:
            return
        after = rows[-1][0]
