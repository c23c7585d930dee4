#!/usr/bin/env python3
"""Reports over a year of data (issue 5), each against a floor measured in the same run.

    .venv/bin/python scripts/bench_reports.py [--cache DIR] [--sales N] [--runs N] [--regenerate]

The year: 365 days, one shift a day (opened with a float, a paid-out, closed with its Z report),
500,000 sales with 2,000,000 lines (1 to 7, four on average; some discounted, some with a line
voided before payment), their tenders (cash with change, card, mobile), a refund of every 100th
sale and a void of every 500th, and audit events (a login a day). Every record is built by the
core (Cart, pricing, settle, build_sale, build_reversal, shift_report) and stored by
db.insert_record, the function every sale goes through, in one transaction a day, so the rows and
the audit chain are exactly a till's. The database is generated once and cached under
$XDG_CACHE_HOME/tui-pos-bench (or --cache), keyed by a hash of the schema, of the audit chain's
code and of the generator's parameters; runs after the first reuse it.

Figures (targets from the issue):
- the Z/X figures of one shift (Ledger.shift_totals + shift_report, what Till.x_report and
  close_shift do), over --runs shifts spread over the year: <= 50 ms; floor: summing the shift's
  sale totals through the index on sale(shift_uuid);
- a one-month sales report (app.reports.sales_report), over --runs months: <= 1 s; floor: summing
  the month's sale totals through the index on sale(completed_at);
- a one-day sales report (what the till's report screen reads on each key), the month report
  from the command line (`tui-pos report sales --month`, a fresh process: imports and opening the
  till included) and `audit verify` over the whole year: reported, no target.
Each shift, month and day is measured once, the first time it is read (SQLite's cache does not
hold it; the operating system's may), as a manager meets it. CPU time is printed beside the wall
time: on a busy machine the difference is the wait for a CPU.
It is a report: it exits 0 when a target is missed, non-zero only when something crashes.
"""

from __future__ import annotations

import argparse
import hashlib
import inspect
import json
import multiprocessing
import os
import platform
import random
import shutil
import sqlite3
import subprocess
import sys
import time
import uuid as uuidlib
from contextlib import closing
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from functools import partial
from itertools import accumulate
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without install

from benchlib import Table, ms, pct, print_facts  # noqa: E402  (scripts/ is on sys.path when a script runs)
from tui_pos.app.reports import sales_report  # noqa: E402
from tui_pos.config import CONFIG_NAME, DB_NAME  # noqa: E402
from tui_pos.domain.cart import Cart  # noqa: E402
from tui_pos.domain.catalog import Product, TaxRate  # noqa: E402
from tui_pos.domain.money import Currency  # noqa: E402
from tui_pos.domain.pricing import Discount  # noqa: E402
from tui_pos.domain.refund import build_reversal, refundable  # noqa: E402
from tui_pos.domain.reports import period, utc_bounds  # noqa: E402
from tui_pos.domain.sale import build_sale, receipt_number  # noqa: E402
from tui_pos.domain.shift import shift_report  # noqa: E402
from tui_pos.domain.tender import Tender, settle  # noqa: E402
from tui_pos.store import audit, db, shift_totals, verification  # noqa: E402
from tui_pos.store.journal import Journal  # noqa: E402
from tui_pos.store.ledger import Ledger  # noqa: E402

GENERATOR_VERSION = 1  # bump when the generated data changes shape
YEAR = date(2025, 1, 1)
DAYS = 365
LINE_COUNTS = (4, 2, 6, 1, 7, 3, 5)  # lines per sale, in turn: four on average
PRODUCTS = 2000
DEPARTMENTS = ("Drinks", "Food", "Produce", "Deli", "Household", "Stationery", "Tobacco & Spirits", "Frozen",
               "Bakery", "Dairy", "")  # "" = no department: the report's "(none)"
RATES = {"A": TaxRate("A", 1300), "B": TaxRate("B", 900)}
CURRENCY = Currency()
TILL = "T1"
CASHIERS = ("amy", "bob", "chen", "dai")
FLOAT = 50_000
Z_TARGET_S = 0.050
MONTH_TARGET_S = 1.0


# -- the year's data ----------------------------------------------------------------------------------
def catalog(rng: random.Random) -> list[Product]:
    prices = (150, 250, 350, 450, 800, 1290, 2500)
    return [Product(barcode=f"69{n:011d}", name=f"商品 {n} Product {n}", price=rng.choice(prices),
                    tax_code="A" if n % 3 else "B", department=DEPARTMENTS[n % len(DEPARTMENTS)], open_price=False,
                    stock=None) for n in range(1, PRODUCTS + 1)]


def at(day: date, seconds: float) -> str:
    """A stored time: `seconds` after UTC midnight of `day`."""
    moment = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(seconds=seconds)
    return moment.isoformat(timespec="milliseconds")


class Day:
    """The records of one day of the year, built through the core. Each day is built on its own
    (its own random seed; how many sales came before it is known), so days are built in a second
    process while this one stores the days before; receipt numbers are given when stored."""

    def __init__(self, number: int, sales: int):
        self.number = number
        self.date = YEAR + timedelta(days=number)
        self.rng = random.Random(number)
        self.made = sales * number // DAYS  # sales (not refunds or voids) made before this one
        self.count = sales * (number + 1) // DAYS - self.made

    def uuid(self) -> str:
        return str(uuidlib.UUID(int=self.rng.getrandbits(128), version=4))

    def sale(self, when: str, shift: str, cashier: str) -> dict:
        cart = Cart(uuid=self.uuid(), opened_at=when)
        lines = LINE_COUNTS[self.made % len(LINE_COUNTS)]
        for product in self.rng.choices(PRODUCT_LIST, cum_weights=POPULARITY, k=lines):
            cart = cart.add(product, RATES[product.tax_code], qty=1 + (self.rng.random() < 0.2))
        if self.made % 30 == 7 and len(cart.lines) > 1:
            cart = cart.void(cart.lines[0].line_id)
        if self.made % 20 == 3:
            cart = cart.discount_order(Discount("percent", 1000))
        totals = cart.totals(True)
        pick = self.made % 10
        tender = (Tender("card", totals.total, f"C{self.made}") if pick < 3 else
                  Tender("mobile", totals.total, f"42000{self.made:010d}") if pick < 5 else
                  Tender("cash", -(-totals.total // 5000) * 5000))  # the next 50.00 note
        self.made += 1
        return build_sale(cart, totals, (tender,), settle(totals.total, (tender,), 0, CURRENCY), till_id=TILL,
                          seq=0, cashier=cashier, completed_at=when, currency=CURRENCY.code,
                          tax_included=True, shift_uuid=shift).to_record()

    def reversal(self, kind: str, original: dict, when: str, shift: str, cashier: str) -> dict:
        sale = refundable(original, [])
        quantities = {sale.lines[0].line_no: 1} if kind == "refund" else {l.line_no: l.left for l in sale.lines}
        if not any(quantities.values()):  # the first line was voided before payment: take the last
            quantities = {sale.lines[-1].line_no: 1}
        return build_reversal(sale, quantities, kind=kind, uuid=self.uuid(), till_id=TILL, seq=0, cashier=cashier,
                              at=when, shift_uuid=shift, reason="Damaged", approved_by="manager", cash_step=0,
                              all_cash=False).to_record()

    def records(self) -> list[dict]:
        """Every record of the day but its Z report, in the order a till writes them."""
        shift = {"type": "shift_open", "uuid": self.uuid(), "till_id": TILL, "number": self.number + 1,
                 "opened_at": at(self.date, 7.5 * 3600), "opened_by": "manager", "float": FLOAT}
        records: list[dict] = [audit.event_record(TILL, "login", "manager", at=shift["opened_at"]), shift]
        last_sale: dict | None = None
        for n in range(self.count):
            when = at(self.date, 8 * 3600 + 14 * 3600 * (n + self.rng.random()) / self.count)  # 08:00-22:00 UTC
            cashier = CASHIERS[(self.number + n * 2 // self.count) % len(CASHIERS)]
            if self.made % 500 == 499 and last_sale is not None:
                records.append(self.reversal("void", last_sale, when, shift["uuid"], cashier))
            last_sale = self.sale(when, shift["uuid"], cashier)
            records.append(last_sale)
            if self.made % 100 == 50:
                records.append(self.reversal("refund", last_sale, when, shift["uuid"], cashier))
                last_sale = None  # a sale with a refund is never voided
        records.append({"type": "cash_movement", "uuid": self.uuid(), "shift_uuid": shift["uuid"], "till_id": TILL,
                        "kind": "paid_out", "amount": 2000, "reason": "cleaner", "user": "manager",
                        "approved_by": None, "at": at(self.date, 12 * 3600)})
        return records

    def z_report(self, conn: sqlite3.Connection, shift: dict) -> dict:
        """The shift's Z report, from its records in conn (uncommitted is fine: the same connection)."""
        when = at(self.date, 22.5 * 3600)
        x = shift_report(shift, shift_totals.shift_totals(conn, shift["uuid"]), taken_at=when, taken_by="manager",
                         journaled=0, database_readable=True)
        z = replace(x, z_number=shift["number"], counted=x.expected_cash)
        return {"type": "shift_close", "uuid": str(uuidlib.uuid4()), "shift_uuid": shift["uuid"], "till_id": TILL,
                "z_number": shift["number"], "closed_at": when, "closed_by": "manager", "approved_by": None,
                "counted": x.expected_cash, "expected": x.expected_cash, "difference": 0, "report": z.to_dict()}


PRODUCT_LIST = catalog(random.Random(0))
POPULARITY = list(accumulate(1 / (n + 10) for n in range(PRODUCTS)))  # a few products sell far more than most


def day_records(number: int, sales: int) -> list[dict]:
    return Day(number, sales).records()


def generate(path: Path, sales: int) -> dict[str, int]:
    """The year, written through db.insert_record, one transaction a day (no fsync: it is a cache)."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = OFF")
        conn.execute("PRAGMA synchronous = OFF")
        conn.execute("PRAGMA cache_size = -1000000")  # 1 GB: inserts into indexes of random uuids stay in memory
        db.ensure_schema(conn)
        db.write_products(conn, [p.__dict__ for p in PRODUCT_LIST], at(YEAR, 0))
        seq = 0
        with multiprocessing.get_context("fork").Pool(1) as pool:  # builds the next days meanwhile
            for number, records in enumerate(pool.imap(partial(day_records, sales=sales), range(DAYS), chunksize=2)):
                with db.transaction(conn):
                    for record in records:
                        if db.record_type(record) == "sale":  # numbered as stored, like Ledger.numbered
                            seq += 1
                            record["seq"], record["receipt"] = seq, receipt_number(TILL, seq)
                        db.insert_record(conn, record, stored_via="sqlite")
                    db.insert_record(conn, Day(number, sales).z_report(conn, records[1]), stored_via="sqlite")
                if number % 73 == 72:
                    print(f"  ... {number + 1} days, {seq:,} sales, refunds and voids", flush=True)
        conn.execute("PRAGMA journal_mode = WAL")  # as a till's database is
        return counts(conn)
    finally:
        conn.close()


def counts(conn: sqlite3.Connection) -> dict[str, int]:
    tables = ("sale", "sale_line", "tender", "shift", "z_report", "audit")
    found = {t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in tables}
    found |= dict(conn.execute("SELECT kind, COUNT(*) FROM sale GROUP BY kind").fetchall())
    return found


def cache_key(sales: int) -> str:
    """Changes when the schema (tables and indexes), the audit chain's code or the generator's does."""
    with closing(sqlite3.connect(":memory:")) as conn:
        db.ensure_schema(conn)
        schema = sorted(row[0] or "" for row in conn.execute("SELECT sql FROM sqlite_master"))
    generator = [inspect.getsource(code) for code in (catalog, at, Day, generate)]
    parts = [GENERATOR_VERSION, sales, DAYS, PRODUCTS, LINE_COUNTS, DEPARTMENTS, schema, inspect.getsource(audit),
             generator]
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:16]


def cached_year(cache: Path, sales: int, regenerate: bool) -> tuple[Path, dict[str, int], float | None]:
    """(the data directory holding the year's pos.sqlite3, its row counts, generation seconds or
    None when it came from the cache). Older cached years are removed (each is about 1 GB)."""
    key = cache_key(sales)
    data_dir = cache / f"year-{sales}-{key}"
    facts = data_dir / "counts.json"
    if facts.exists() and not regenerate:
        return data_dir, json.loads(facts.read_text()), None
    cache.mkdir(parents=True, exist_ok=True)
    for old in cache.glob("year-*"):
        shutil.rmtree(old, ignore_errors=True)
    building = cache / f"building-{key}"
    shutil.rmtree(building, ignore_errors=True)
    (building / "journal").mkdir(parents=True)
    print(f"generating a year of data ({sales:,} sales) into {data_dir} ...", flush=True)
    began = time.perf_counter()
    found = generate(building / DB_NAME, sales)
    seconds = time.perf_counter() - began
    (building / "counts.json").write_text(json.dumps(found))
    building.rename(data_dir)  # complete, or not there at all
    return data_dir, found, seconds


# -- measurements -------------------------------------------------------------------------------------
def timed(work) -> tuple[float, float, object]:
    """(wall seconds, CPU seconds of this process, result): CPU time shows what other load on
    the machine adds to the wall time."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = work()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def open_ledger(data_dir: Path) -> Ledger:
    return Ledger(data_dir / DB_NAME, Journal([data_dir / "journal"], TILL))


def measure(cases: list, work, floor) -> dict[str, list]:
    """work(case) for each case (each met for the first time: nothing of it is in SQLite's cache),
    then floor(case), the least any report of that case must read."""
    out: dict[str, list] = {"wall": [], "cpu": [], "floor": [], "sales": []}
    for case in cases:
        wall, cpu, report = timed(lambda: work(case))  # noqa: B023 (timed() calls it at once)
        out["wall"].append(wall)
        out["cpu"].append(cpu)
        out["floor"].append(timed(lambda: floor(case))[0])  # noqa: B023 (as above)
        out["sales"].append(report.sales.count)
    return out


def measure_shifts(ledger: Ledger, runs: int) -> dict[str, list]:
    """The Z/X figures of `runs` shifts spread over the year; floor: the shift's sale totals."""
    conn = ledger.connection()
    shifts = [dict(zip(db.SHIFT_COLUMNS, row)) for row in conn.execute(
        f"SELECT {', '.join(db.SHIFT_COLUMNS)} FROM shift ORDER BY number")]
    step = DAYS // (runs + 1)
    return measure(shifts[step::step][:runs], lambda shift: z_figures(ledger, shift),
                   lambda shift: conn.execute("SELECT COUNT(*), SUM(total) FROM sale WHERE shift_uuid = ?",
                                              (shift["uuid"],)).fetchone())


def z_figures(ledger: Ledger, shift: dict):
    """What Till.x_report() and close_shift() compute (the database and the journal together)."""
    facts, journaled, readable = ledger.shift_totals(shift["uuid"])
    return shift_report(shift, facts, taken_at=at(YEAR, 0), taken_by="bench", journaled=journaled,
                        database_readable=readable)


def measure_periods(ledger: Ledger, periods: list[tuple[date, date]]) -> dict[str, list]:
    """A sales report of each period; floor: the period's sale totals."""
    conn = ledger.connection()
    return measure(periods, lambda period: sales_report(ledger, *period),
                   lambda period: conn.execute("SELECT COUNT(*), SUM(total) FROM sale WHERE completed_at >= ? "
                                               "AND completed_at < ?", utc_bounds(*period)).fetchone())


def months(runs: int) -> list[tuple[date, date]]:
    """`runs` months spread over the year, as (first day, last day)."""
    return [period(month=f"{YEAR.year}-{1 + (n * 12 // runs) % 12:02d}") for n in range(runs)]


def explain(conn: sqlite3.Connection, first: date, last: date) -> list[str]:
    """The query plans of the month report's statements (what --explain prints)."""
    from tui_pos.store import period_totals

    start, end = utc_bounds(first, last)
    params = {"start": start, "end": end, "none": period_totals.NO_DEPARTMENT}
    lines = []
    for name in ("_SALE_CELLS", "_TENDER_CELLS", "_LINE_CELLS"):
        lines.append(name)
        lines += [f"  {row[-1]}" for row in conn.execute("EXPLAIN QUERY PLAN " + getattr(period_totals, name), params)]
    return lines


def machine_facts(data_dir: Path) -> list[str]:
    size = sum(p.stat().st_size for p in data_dir.glob(f"{DB_NAME}*"))
    return [f"python {platform.python_version()}, sqlite {sqlite3.sqlite_version}, {os.cpu_count()} CPUs, "
            f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
            f"database {data_dir / DB_NAME} ({size / 2**20:,.0f} MiB), local time zone {time.strftime('%Z %z')}"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    cache_home = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    parser.add_argument("--cache", type=Path, default=cache_home / "tui-pos-bench",
                        help="where the generated year is kept (default: $XDG_CACHE_HOME/tui-pos-bench)")
    parser.add_argument("--sales", type=int, default=500_000, help="sales in the year")
    parser.add_argument("--runs", type=int, default=5, help="shifts and months measured")
    parser.add_argument("--regenerate", action="store_true", help="generate the year again, cache or not")
    parser.add_argument("--explain", action="store_true", help="also print the month report's query plans")
    parser.add_argument("--no-verify", action="store_true", help="skip audit verify (the slow part)")
    args = parser.parse_args()

    began = time.perf_counter()
    data_dir, found, generated = cached_year(args.cache.resolve(), args.sales, args.regenerate)
    (data_dir / CONFIG_NAME).touch()  # a shop with the default settings, for the command line
    print_facts("tui-pos reports benchmark: a year of data", machine_facts(data_dir))
    print(f"  {found['sale']:,} sales, refunds and voids ({found.get('refund', 0):,} refunds, "
          f"{found.get('void', 0):,} voids), {found['sale_line']:,} lines, {found['tender']:,} tenders, "
          f"{found['shift']} shifts, {found['z_report']} Z reports, {found['audit']:,} audit entries")
    print("  generated through db.insert_record (the rows and audit chain a till writes), one transaction a day, "
          + (f"in {generated:.1f} s" if generated is not None else "taken from the cache"))
    print()

    ledger = open_ledger(data_dir)
    try:
        shifts = measure_shifts(ledger, args.runs)
        month = measure_periods(ledger, months(args.runs))
        day = measure_periods(ledger, [(d, d) for d in (YEAR + timedelta(days=n * DAYS // args.runs + 40)
                                                        for n in range(args.runs))])  # in months not measured
        plans = explain(ledger.connection(), *months(1)[0]) if args.explain else []
        verified = None if args.no_verify else timed(lambda: verification.verify(ledger.connection()))
    finally:
        ledger.close()
    cli_wall, _, _ = timed(lambda: subprocess.run(
        [sys.executable, "-m", "tui_pos", "--data-dir", str(data_dir), "report", "sales", "--month", "2025-06",
         "--json"], check=True, capture_output=True))

    table = Table()
    for name, figures, target in (("Z/X figures of one shift", shifts, Z_TARGET_S),
                                  ("sales report, one month", month, MONTH_TARGET_S),
                                  ("sales report, one day", day, None)):
        sales = f"{min(figures['sales']):,}-{max(figures['sales']):,} sales"
        for label, wall, floor in (("p50", pct(figures["wall"], 0.5), pct(figures["floor"], 0.5)),
                                   ("max", max(figures["wall"]), max(figures["floor"]))):
            table.add(f"{name} {label}" + (f" ({sales})" if label == "p50" else ""), ms(wall, 1), ms(floor, 1),
                      f"{wall / floor:.0f}x", f"<= {ms(target, 1)}" if target else "-", wall <= target if target else None)
        table.add("  CPU time p50 / max", f"{ms(pct(figures['cpu'], 0.5), 1)} / {ms(max(figures['cpu']), 1)}")
    table.add("tui-pos report sales --month (a new process)", ms(cli_wall, 1))
    if verified is not None:
        seconds, _, result = verified
        table.add(f"audit verify, whole year ({result.entries:,} entries)", f"{seconds:.1f} s", "-", "-", "-",
                  None)
        table.add("  chain", "intact" if result.ok else f"BROKEN: {result.first_broken}")
    table.print()
    print("\nfloor: the same period's (or shift's) sale totals summed through its index, same connection")
    for line in plans:
        print(line)
    print(f"\nfinished in {time.perf_counter() - began:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
