#!/usr/bin/env python3
"""Stock over a year (issue 14), each figure against a floor measured in the same run.

    .venv/bin/python scripts/bench_stock.py [--cache DIR] [--sales N] [--runs N] [--regenerate]

The year: 10,000 products (each with an opening stock, its opening count, and a reorder level), 500,000 sales of 1
to 5 lines (3 on average; popular products sell far more than most), a receipt of every product
each month, a count of every product each quarter, a few hundred write-offs, and an audit entry
per sale. Rows are written with plain SQL into the schema the migrations make (this bench reads,
it does not test how records are stored: bench_reports.py and bench_core.py do that), in one
transaction (the per-day sums of store/stock_daily.py and the levels of store/stock_level.py
filled from them as their migrations do),
and cached under $XDG_CACHE_HOME/tui-pos-bench (or --cache) keyed by the schema's migrations and
the generator's parameters.

Figures (targets from the issue):
- stock on hand of one product (what `tui-pos stock CODE` and the till read: Ledger.stock_levels,
  the journal included), over --runs products met for the first time: <= 5 ms; floor: reading the
  product's row by its key;
- the low-stock list (the alerts' read, StoreView.stock_levels of the products with a reorder level,
  and Stock.levels(low=True) of every product, what `tui-pos stock --low` shows): <= 100 ms; floor:
  counting the products with a reorder level;
- the anomaly report for a month (StockReports.anomalies, every rule), the year's last month:
  <= 1 s (daily outflow, last movement and end levels from stock_daily; single movements only
  where a rule needs them); floor: summing the month's sales' movements through the index on
  stock_movement(at). The year's first month too, to the same target: every product's opening
  count is in it, and its end levels come from the shorter side of the year (store/stock_daily.net_after).
It is a report: it exits 0 when a target is missed, non-zero only when something crashes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without install

from benchlib import Table, ms, pct  # noqa: E402  (scripts/ is on sys.path when a script runs)
from tui_pos.bootstrap.till import open_till  # noqa: E402
from tui_pos.config import CONFIG_NAME, DB_NAME, load_config  # noqa: E402
from tui_pos.store import db, schema, stock_daily, stock_level  # noqa: E402

GENERATOR_VERSION = 2  # 2: opening stock as opening counts (reason 'opening'), not product.stock
YEAR = date(2025, 1, 1)
DAYS = 365
PRODUCTS = 10_000
LINES = (3, 1, 5, 2, 4)  # lines per sale, in turn: 3 on average
ON_HAND_TARGET_S, LOW_TARGET_S, MONTH_TARGET_S = 0.005, 0.100, 1.0


def at(day: int, seconds: float) -> str:
    return (datetime.combine(YEAR, datetime.min.time(), UTC) + timedelta(days=day, seconds=seconds)) \
        .isoformat(timespec="milliseconds")


def code(n: int) -> str:
    return f"69{n:011d}"


def generate(path: Path, sales: int) -> None:
    rng = random.Random(14)
    conn = db.connect(path, 1000)
    db.ensure_schema(conn)
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("PRAGMA cache_size = -500000")
    weights = [1 / (n + 20) for n in range(PRODUCTS)]
    with db.transaction(conn):
        db.write_products(conn, [{"barcode": code(n), "name": f"Product {n}", "price": 100 + n % 2000, "tax_code": "A",
                                  "department": f"D{n % 12}", "open_price": False, "stock": None,
                                  "weighed": False, "reorder_level": (10 + n % 30) * 1000, "reorder_qty": 48_000}
                                 for n in range(PRODUCTS)], at(0, 0))
        per_day = sales // DAYS
        seq = 0
        audit_seq = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM audit").fetchone()[0]
        for day in range(DAYS):
            sale_rows, line_rows, move_rows, audit_rows = [], [], [], []
            for i in range(per_day):
                seq += 1
                uuid = f"s-{seq}"
                when = at(day, 8 * 3600 + i * (12 * 3600 / per_day))
                picked = rng.choices(range(PRODUCTS), weights, k=LINES[seq % len(LINES)])
                total = 0
                for line_no, n in enumerate(picked, 1):
                    qty = 1 + (seq + line_no) % 2
                    voided = int((seq + line_no) % 97 == 0)
                    price = 100 + n % 2000
                    total += 0 if voided else qty * price
                    line_rows.append((uuid, line_no, code(n), f"Product {n}", qty, price, 0, 0, "A", 1300,
                                      qty * price * 13 // 113, qty * price, voided))
                    if not voided:
                        move_rows.append((uuid, code(n), -qty, when))
                kind = "void" if seq % 500 == 0 else "refund" if seq % 100 == 0 else "sale"
                sale_rows.append((uuid, f"T1-{seq:06d}", "T1", seq, ("amy", "bob", "chen", "dai")[seq % 4], when, when,
                                  "CNY", 1, total, 0, total * 13 // 113, total, 0, total, 0, kind, "sqlite"))
                audit_seq += 1
                audit_rows.append((audit_seq, uuid, when, "T1", kind, "amy", None, f"T1-{seq:06d}", total, "{}",
                                   "0" * 64, "0" * 64))
            conn.executemany("INSERT INTO sale (uuid, receipt, till_id, seq, cashier, opened_at, completed_at, currency, "
                             "tax_included, gross, discount, tax, total, rounding, paid, change, kind, stored_via) "
                             "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", sale_rows)
            conn.executemany("INSERT INTO sale_line (sale_uuid, line_no, barcode, name, qty, unit_price, line_discount, "
                             "order_discount, tax_code, rate_bp, tax, total, voided) VALUES "
                             "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", line_rows)
            conn.executemany("INSERT INTO stock_movement (sale_uuid, barcode, qty_delta, at) VALUES (?, ?, ?, ?)",
                             move_rows)
            conn.executemany("INSERT INTO audit (seq, uuid, at, till_id, action, actor, approved_by, subject, amount, "
                             "detail, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", audit_rows)
            moves = []
            if day == 0:  # the catalog's opening stock: each product's opening count, before the first sale
                moves += [(f"o-{n}", "count", code(n), (50 + n % 200) * 1_000, 0, (50 + n % 200) * 1_000, None,
                           "opening") for n in range(PRODUCTS)]
            if day % 30 == 5:  # a delivery of everything each month
                moves += [(f"r-{day}-{n}", "receive", code(n), 24_000, None, None, 150 + n % 1000, None)
                          for n in range(PRODUCTS)]
            if day % 91 == 60:  # a stock take each quarter
                moves += [(f"c-{day}-{n}", "count", code(n), -1_000 * (n % 3), 40_000, 40_000 - 1_000 * (n % 3), None,
                           None) for n in range(PRODUCTS)]
            moves += [(f"a-{day}-{k}", "adjust", code(rng.randrange(PRODUCTS)), -1_000, None, None, None,
                       ("damaged", "expired", "theft")[k]) for k in range(3)]
            conn.executemany("INSERT INTO stock_move (uuid, till_id, at, kind, barcode, qty, expected, counted, "
                             "unit_cost, reason, supplier, reference, stored_via) VALUES "
                             f"(?, 'T1', '{at(day, 7 * 3600)}', ?, ?, ?, ?, ?, ?, ?, '', '', 'sqlite')", moves)
        stock_daily.backfill(conn)  # the per-day sums the insert path keeps (rows written here by plain SQL)
        stock_level.backfill(conn)  # and each product's level, from them
    conn.execute("ANALYZE")
    conn.close()


def cache_key(sales: int) -> str:
    names = [name for name, _ in schema.MIGRATIONS]
    return hashlib.sha256(json.dumps([GENERATOR_VERSION, sales, PRODUCTS, names]).encode()).hexdigest()[:12]


def cached_year(cache: Path, sales: int, regenerate: bool) -> tuple[Path, float | None]:
    data_dir = cache / f"stock-{sales}-{cache_key(sales)}"
    if data_dir.exists() and not regenerate:
        return data_dir, None
    cache.mkdir(parents=True, exist_ok=True)
    for old in cache.glob("stock-*"):
        shutil.rmtree(old, ignore_errors=True)
    building = cache / "building-stock"
    shutil.rmtree(building, ignore_errors=True)
    building.mkdir(mode=0o700)
    (building / CONFIG_NAME).write_text('[till]\nid = "T1"\n', encoding="utf-8")
    started = time.perf_counter()
    generate(building / DB_NAME, sales)
    building.rename(data_dir)
    return data_dir, time.perf_counter() - started


CPU: list[float] = []  # the CPU time of the last timed() call (on a busy machine wall time waits for a CPU)


def timed(work) -> tuple[float, object]:
    started, cpu = time.perf_counter(), time.process_time()
    result = work()
    CPU[:] = [time.process_time() - cpu]
    return time.perf_counter() - started, result


def with_cpu(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms (CPU {CPU[0] * 1000:.0f} ms)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    cache_home = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    parser.add_argument("--cache", type=Path, default=cache_home / "tui-pos-bench", help="where the year is kept")
    parser.add_argument("--sales", type=int, default=500_000, help="sales in the year")
    parser.add_argument("--runs", type=int, default=200, help="products measured one by one")
    parser.add_argument("--regenerate", action="store_true", help="generate the year again, cache or not")
    args = parser.parse_args()
    data_dir, generated = cached_year(args.cache.resolve(), args.sales, args.regenerate)
    print(f"year: {args.sales} sales, {PRODUCTS} products in {data_dir} "
          + (f"generated in {generated:.1f} s" if generated is not None else "taken from the cache"))
    table = Table()
    till = open_till(load_config(data_dir), cashier="bench", keep_cart=False)
    try:
        ledger = till.ledger
        rng = random.Random(1)
        codes = [code(rng.randrange(PRODUCTS)) for _ in range(args.runs)]
        conn = ledger.connection()
        floors = [timed(lambda c=c: conn.execute("SELECT stock FROM product WHERE barcode = ?", (c,)).fetchone())[0]
                  for c in codes[: args.runs // 2]]
        samples = [timed(lambda c=c: ledger.stock_levels([c]))[0] for c in codes[args.runs // 2:]]
        p50, p99, floor = pct(samples, 0.5), pct(samples, 0.99), pct(floors, 0.5)
        table.add("on hand of one product p50", ms(p50, 1), ms(floor, 1), f"{p50 / floor:.0f}x", "<= 5 ms", p50 <= ON_HAND_TARGET_S)
        table.add("on hand of one product p99", ms(p99, 1), "-", "-", "<= 5 ms", p99 <= ON_HAND_TARGET_S)

        floor, _ = timed(lambda: conn.execute("SELECT COUNT(*) FROM product WHERE reorder_level IS NOT NULL").fetchone())
        alert, rows = timed(lambda: ledger.view.stock_levels(with_level=True))
        table.add("low-stock list (alerts' read)", with_cpu(alert), ms(floor, 1), f"{alert / floor:.0f}x", "<= 100 ms",
                  alert <= LOW_TARGET_S)
        listed, low = timed(lambda: till.stock.levels(low=True))
        table.add(f"low-stock list (stock --low: {len(low)} low)", with_cpu(listed), ms(floor, 1),
                  f"{listed / floor:.0f}x", "<= 100 ms", listed <= LOW_TARGET_S)

        last_month = (date(2025, 12, 1), date(2025, 12, 31))
        from tui_pos.domain.reports import utc_bounds

        start, end = utc_bounds(*last_month)
        floor, _ = timed(lambda: conn.execute("SELECT SUM(qty_delta) FROM stock_movement WHERE at >= ? AND at < ?",
                                              (start, end)).fetchone())
        took, warnings = timed(lambda: till.stock_reports.anomalies(*last_month, today=last_month[1]))
        table.add(f"anomalies, December ({len(warnings)} warnings)", with_cpu(took), ms(floor, 1), f"{took / floor:.0f}x",
                  "<= 1 s", took <= MONTH_TARGET_S)
        took, warnings = timed(lambda: till.stock_reports.anomalies(date(2025, 1, 1), date(2025, 1, 31),
                                                                    today=date(2025, 1, 31)))
        table.add(f"anomalies, January ({len(warnings)} warnings)", with_cpu(took), "-", "-", "<= 1 s",
                  took <= MONTH_TARGET_S)  # the year's first month: its openings, and eleven months after it
        took, _ = timed(lambda: till.stock_reports.margin(*last_month))
        table.add("margin report, December", with_cpu(took), "-", "-", "-", None)
    finally:
        till.close()
    table.print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
