#!/usr/bin/env python3
"""Stock at HQ on PostgreSQL (issue 14), each figure against a floor measured in the same run, on
a throwaway PostgreSQL of its own.

    .venv/bin/python scripts/bench_hq_stock.py [--sales N] [--products N] [--runs N]

The year (2025) of one shop with two tills: PRODUCTS (10,000) products in HQ's catalog, each with
a reorder level; --sales (500,000) sales of 1 to 5 lines (3 on average; popular products sell
far more), a delivery of every product each month and a count of every product each quarter at
T1, three write-offs a day at T2. The records are written as the tills push them (their JSON in
hq.record, by month partition, in each till's commit order) with COPY, then hq.stock_apply, the
function hq.push calls for what it adds, makes HQ's stock of all of it (hq.stock_line,
hq.stock_level, the per-day sums hq.stock_day), 5,000 commits at a time in commit order. This bench reads: how fast records are
taken in is bench_hq.py's ingestion figure (hq.push applies the stock of each batch). The
cluster runs without fsync (a read benchmark; building the year is faster).

Figures (targets from the issue):
- stock on hand of one product at the shop (hq/stock.py levels(shop, [code]): what `tui-pos hq
  stock --shop S1 CODE` reads, with its schema and shop checks), over --runs products: <= 5 ms;
  floor: an empty round trip (SELECT 1);
- the shop's low-stock list (levels(shop, low=True): `hq stock --low`, `hq report reorder`, `hq
  alerts`): <= 100 ms; floor: counting the shop's levels;
- the anomaly report for a month (hq/stock.py anomalies, every rule), December: <= 1 s; floor:
  summing the month's movements of the shop through the index on stock_line (shop_id, at); and,
  for comparison in the same run, the same report from every movement (what a zone other than
  HQ's gets) instead of the per-day sums (hq.stock_day).
It is a report: it exits 0 when a target is missed, non-zero only when something crashes.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import uuid as uuidlib
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without install

from benchlib import Table, ms, on_throwaway_cluster, pct, postgres_facts, timed  # noqa: E402  (scripts/ is on sys.path when a script runs)
from pgcluster import Cluster  # noqa: E402

YEAR = date(2025, 1, 1)
DAYS = 365
LINES = (3, 1, 5, 2, 4)  # lines per sale, in turn: 3 on average
CASHIERS = ("amy", "bob", "chen", "dai")
ON_HAND_TARGET_S, LOW_TARGET_S, MONTH_TARGET_S = 0.005, 0.100, 1.0
CHUNK = 5_000  # commits taken into HQ's stock at a time
SETTINGS = {"shared_buffers": "256MB", "fsync": "off", "synchronous_commit": "off", "full_page_writes": "off",
            "max_wal_size": "4GB", "max_connections": "20"}


def at(day: int, seconds: float) -> str:
    return (datetime.combine(YEAR, datetime.min.time(), UTC) + timedelta(days=day, seconds=seconds)) \
        .isoformat(timespec="milliseconds")


def code(n: int) -> str:
    return f"69{n:011d}"


def make_hq(cluster: Cluster, root: Path, products: int) -> str:
    """HQ initialised, shop S1 with tills T1 and T2 enrolled, the catalog imported: the admin DSN."""
    import psycopg

    from tui_pos.config import load_config
    from tui_pos.hq.catalog import import_catalog
    from tui_pos.hq.chain import add_shop
    from tui_pos.hq.connection import connect
    from tui_pos.hq.enrol import join
    from tui_pos.hq.schema import migrate

    with psycopg.connect(cluster.dsn(), autocommit=True) as conn:
        conn.execute('CREATE DATABASE "hq"')
    admin = cluster.dsn("hq")
    with connect(admin) as conn:
        migrate(conn)
        add_shop(conn, "S1", "Shop 1")
        rows = ["barcode,name,price,tax,department,reorder_level,reorder_qty"]
        rows += [f"{code(n)},Product {n},{1 + n % 20}.00,A,D{n % 12},{10 + n % 30},48" for n in range(products)]
        import_catalog(conn, "\n".join(rows) + "\n")
    for till in ("T1", "T2"):
        data_dir = root / f"till-{till}"
        data_dir.mkdir(mode=0o700)
        (data_dir / "config.toml").write_text(f'[till]\nid = "{till}"\n')
        join(load_config(data_dir), admin, "S1")
    return admin


def year(sales: int, products: int) -> dict[str, list[tuple[str, str, dict[str, Any]]]]:
    """Each till's records of the year in commit order: (type, time, record)."""
    rng = random.Random(14)
    weights = [1 / (n + 20) for n in range(products)]
    per_day = max(1, sales // DAYS)
    tills: dict[str, list[tuple[str, str, dict[str, Any]]]] = {"T1": [], "T2": []}
    seq = {"T1": 0, "T2": 0}
    made = 0
    for day in range(DAYS):
        if day % 30 == 5:  # a delivery of everything each month, before the shop opens
            when = at(day, 7 * 3600)
            tills["T1"] += [("stock_move", when, {
                "type": "stock_move", "uuid": str(uuidlib.uuid4()), "till_id": "T1", "at": when, "kind": "receive",
                "barcode": code(n), "qty": 24_000, "expected": None, "counted": None, "unit_cost": 150 + n % 1000,
                "reason": None, "supplier": "", "reference": "", "peer": None, "batch": None, "actor": "amy",
                "approved_by": None}) for n in range(products)]
        if day % 91 == 60:  # a stock take each quarter
            when = at(day, 7 * 3600 + 60)
            tills["T1"] += [("stock_move", when, {
                "type": "stock_move", "uuid": str(uuidlib.uuid4()), "till_id": "T1", "at": when, "kind": "count",
                "barcode": code(n), "qty": -1_000 * (n % 3), "expected": 40_000, "counted": 40_000 - 1_000 * (n % 3),
                "unit_cost": None, "reason": None, "supplier": "", "reference": "", "peer": None, "batch": None,
                "actor": "amy", "approved_by": None}) for n in range(products)]
        for k in range(3):
            when = at(day, 7 * 3600 + 120 + k)
            tills["T2"].append(("stock_move", when, {
                "type": "stock_move", "uuid": str(uuidlib.uuid4()), "till_id": "T2", "at": when, "kind": "adjust",
                "barcode": code(rng.randrange(products)), "qty": -1_000, "expected": None, "counted": None,
                "unit_cost": None, "reason": ("damaged", "expired", "theft")[k], "supplier": "", "reference": "",
                "peer": None, "batch": None, "actor": "bob", "approved_by": None}))
        today = per_day if day < DAYS - 1 else sales - made
        for i in range(today):
            made += 1
            till = "T1" if i % 2 else "T2"
            seq[till] += 1
            when = at(day, 8 * 3600 + i * (12 * 3600 / today))
            picked = rng.choices(range(products), weights, k=LINES[made % len(LINES)])
            lines = [{"barcode": code(n), "qty": 1 + (made + j) % 2, "voided": (made + j) % 97 == 0,
                      "unit_price": 100 + n % 2000} for j, n in enumerate(picked, 1)]
            kind = "void" if made % 500 == 0 else "refund" if made % 100 == 0 else "sale"
            if kind != "sale":
                lines = [{**line, "qty": -line["qty"]} for line in lines]
            tills[till].append(("sale", when, {
                "uuid": str(uuidlib.uuid4()), "till_id": till, "seq": seq[till], "receipt": f"{till}-{seq[till]:06d}",
                "kind": kind, "cashier": CASHIERS[made % 4], "completed_at": when, "discount": 0,
                "total": sum(line["qty"] * line["unit_price"] for line in lines), "lines": lines,
                "tenders": [{"kind": "cash", "amount": 0}]}))
    for records in tills.values():
        records.sort(key=lambda r: r[1])
    return tills


def build(admin: str, tills: dict[str, list[tuple[str, str, dict[str, Any]]]]) -> None:
    """The records into hq.record (COPY), then HQ's stock of them (hq.stock_apply, as hq.push does)."""
    from psycopg.types.json import Jsonb

    from tui_pos.hq.connection import connect

    with connect(admin) as conn:
        for month in range(1, 13):
            conn.execute("SELECT hq.ensure_record_partition(%s)", (datetime(2025, month, 1, tzinfo=UTC),))
        with conn.transaction(), conn.cursor() as cur, cur.copy(
                "COPY hq.record (shop_id, till_id, commit_seq, uuid, type, recorded_at, record) FROM STDIN") as copy:
            for till, records in tills.items():
                for n, (kind, when, record) in enumerate(records, 1):
                    copy.write_row(("S1", till, n, record["uuid"], kind, when, Jsonb(record)))
        for till, records in tills.items():
            with conn.transaction():
                for done in range(0, len(records), CHUNK):  # a week or so at a time, in order, as pushes come
                    conn.execute("SELECT hq.stock_apply('S1', %s, %s, %s)",
                                 (till, done, min(done + CHUNK, len(records))))
                conn.execute("UPDATE hq.till SET high_water = %s, records = %s WHERE till_id = %s",
                             (len(records), len(records), till))
        conn.execute("ANALYZE")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sales", type=int, default=500_000, help="sales in the year (default 500,000)")
    parser.add_argument("--products", type=int, default=10_000, help="products (default 10,000)")
    parser.add_argument("--runs", type=int, default=200, help="products whose stock is read one by one")
    args = parser.parse_args()
    return on_throwaway_cluster("bench_hq_stock", SETTINGS, "tui-pos-bench-hq-stock-",
                                lambda cluster, root: run(cluster, root, args))


def run(cluster: Cluster, root: Path, args: argparse.Namespace) -> int:
    from tui_pos.domain.anomalies import Thresholds
    from tui_pos.domain.money import Currency
    from tui_pos.domain.reports import utc_bounds
    from tui_pos.hq.connection import connect
    from tui_pos.hq.stock import anomalies, levels

    started = time.perf_counter()
    admin = make_hq(cluster, root, args.products)
    tills = year(args.sales, args.products)
    build(admin, tills)
    built = time.perf_counter() - started
    with connect(admin) as conn:
        lines, records = conn.execute("SELECT (SELECT count(*) FROM hq.stock_line), (SELECT count(*) FROM hq.record)"
                                      ).fetchone() or (0, 0)
    table = Table()
    with connect(admin) as conn:
        floors = [timed(lambda: conn.execute("SELECT 1").fetchone())[0] for _ in range(args.runs)]
        rng = random.Random(1)
        codes = [code(rng.randrange(args.products)) for _ in range(args.runs)]
        samples = [timed(lambda c=c: levels(conn, "S1", [c]))[0] for c in codes]
        f50 = pct(floors, 0.5)
        p50, p99 = pct(samples, 0.5), pct(samples, 0.99)
        table.add("floor: empty round trip p50", ms(f50))
        table.add("on hand of one product at the shop p50", ms(p50), ms(f50), f"{p50 / f50:.0f}x", "<= 5 ms",
                  p50 <= ON_HAND_TARGET_S)
        table.add("on hand of one product at the shop p99", ms(p99), ms(pct(floors, 0.99)), "-", "<= 5 ms",
                  p99 <= ON_HAND_TARGET_S)
        floor, _ = timed(lambda: conn.execute("SELECT count(*) FROM hq.stock_level WHERE shop_id = 'S1'").fetchone())
        lows = [timed(lambda: levels(conn, "S1", low=True)) for _ in range(5)]
        took = pct([t for t, _ in lows], 0.5)
        table.add(f"low-stock list of the shop ({len(lows[0][1])} low), p50 of 5", ms(took), ms(floor),
                  f"{took / floor:.0f}x", "<= 100 ms", took <= LOW_TARGET_S)
        december = (date(2025, 12, 1), date(2025, 12, 31))
        start, end = utc_bounds(*december)
        floor, _ = timed(lambda: conn.execute("SELECT sum(qty) FROM hq.stock_line WHERE shop_id = 'S1' AND at >= %s "
                                              "AND at < %s", (start, end)).fetchone())
        runs = [timed(lambda: anomalies(conn, "S1", *december, Thresholds(), Currency(), today=december[1]))
                for _ in range(3)]
        took = pct([t for t, _ in runs], 0.5)
        table.add(f"anomaly report, December ({len(runs[0][1])} warnings), p50 of 3", ms(took), ms(floor),
                  f"{took / floor:.0f}x", "<= 1 s", took <= MONTH_TARGET_S)
        took, warnings = timed(lambda: anomalies(conn, "S1", *december, Thresholds(), Currency(), today=december[1],
                                                 sums=False))
        table.add(f"  the same from every movement, not the day sums ({len(warnings)} warnings)", ms(took), ms(floor),
                  f"{took / floor:.0f}x")
        took, warnings = timed(lambda: anomalies(conn, "S1", date(2025, 1, 1), date(2025, 1, 31), Thresholds(),
                                                 Currency(), today=date(2025, 1, 31)))
        table.add(f"anomaly report, January ({len(warnings)} warnings)", ms(took))
    print(f"HQ stock benchmark: {postgres_facts(cluster)}; one shop, 2 tills, {args.products:,} products, "
          f"{args.sales:,} sales "
          f"({records:,} records, {lines:,} stock movements at HQ), built in {built:.0f} s")
    table.print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
