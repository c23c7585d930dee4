#!/usr/bin/env python3
"""Benchmarks of the transaction core, each against a floor measured in the same run, same directory.

    .venv/bin/python scripts/bench_core.py [--dir DIR] [--sales N] [--replay-sales N] [--profile]

Figures (targets from the issue):
- floor: append 100 bytes + os.fdatasync to a small file in the bench directory (p50/p99);
- Till.pay() latency of a 5-line sale (SQLite path; cart clear included): p50 <= 4x floor p50;
- Till.pay() latency while SQLite is unusable (every sale goes to the journal): p50 <= 1.5x floor;
  both also for Ledger.commit() alone (the durable step of a prepared sale record);
- fsync/fdatasync per durable sale, counted with strace over the pay() calls of 1,000 sales
  (checkpoints amortised in): <= 1.1; syncs per Till.scan() are reported too;
- CPU time (time.process_time) per 5-line sale, 5 scans + pay: <= 1 ms;
- replay throughput of journaled sales into SQLite: >= 5,000 sales/s.
Diagnostics without a target: Till.scan() latency and syncs, the same sale path on tmpfs (software
cost alone), CPU of the pure core, and what this file system charges to unlink/rename-over a
just-fsync'd small file (the cart document's save and clear do both).
It is a report: it exits 0 when a target is missed, non-zero only when something crashes.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import platform
import pstats
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid as uuidlib
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without install

from benchlib import Table, bench_directory, cpu_facts, pct, print_facts  # noqa: E402  (scripts/ is on sys.path when a script runs)
from tui_pos.app.clock import utc_now  # noqa: E402
from tui_pos.app.till import Till  # noqa: E402
from tui_pos.bootstrap.shop import init_shop  # noqa: E402
from tui_pos.bootstrap.till import open_ledger, open_till  # noqa: E402
from tui_pos.config import Config, load_config  # noqa: E402
from tui_pos.domain.cart import Cart  # noqa: E402
from tui_pos.domain.catalog import Product  # noqa: E402
from tui_pos.domain.sale import build_sale  # noqa: E402
from tui_pos.domain.tender import Tender, settle  # noqa: E402

LINES_PER_SALE = 5
WARMUP_SALES = 20
CASH = Tender("cash", 100_000)  # 1,000.00: covers any 5-line demo sale, change is given
MARKER_DIR = "/.tui-pos-bench-marker"  # never exists: os.access() on it is a cheap strace marker
SYNC_CALLS = ("fsync", "fdatasync", "sync_file_range", "syncfs", "msync")
SYNC_RE = re.compile(r"\b(" + "|".join(SYNC_CALLS) + r")\(")
MARKER_RE = re.compile(r'access(?:at2?)?\((?:[A-Z_]+, )?"' + re.escape(MARKER_DIR) + r'/(\w+)"')


# -- helpers ------------------------------------------------------------------------------------
def sale_codes(till: Till) -> list[str]:
    """Five distinct fixed-price products of the shop's catalog, so each sale has 5 lines."""
    products = sorted((p for p in till.catalog.search("", limit=10_000) if not p.open_price and p.price > 0),
                      key=lambda p: p.barcode)
    if len(products) < LINES_PER_SALE:
        raise RuntimeError(f"the demo catalog has only {len(products)} fixed-price products")
    step = len(products) // LINES_PER_SALE
    return [products[i * step].barcode for i in range(LINES_PER_SALE)]


def new_shop(root: Path, name: str) -> Config:
    data_dir = root / name
    init_shop(data_dir, demo=True, shift_float=0)
    return load_config(data_dir)


def break_sqlite(config: Config) -> Path:
    """Move the real database aside and put garbage in its place: every connect fails as corrupt."""
    aside = config.db_path.with_name(config.db_path.name + ".real")
    for suffix in ("-wal", "-shm"):
        Path(f"{config.db_path}{suffix}").unlink(missing_ok=True)  # closed cleanly: checkpointed
    os.rename(config.db_path, aside)
    config.db_path.write_bytes(b"this is not an SQLite database\n" * 256)
    return aside


def restore_sqlite(config: Config, aside: Path) -> None:
    for suffix in ("-wal", "-shm"):
        Path(f"{config.db_path}{suffix}").unlink(missing_ok=True)
    os.replace(aside, config.db_path)


def count_sales(config: Config) -> int:
    with closing(sqlite3.connect(config.db_path)) as conn:
        return conn.execute("SELECT COUNT(*) FROM sale").fetchone()[0]


def sell(till: Till, codes: list[str], expect: str, scan_lat: list[float] | None = None,
         pay_lat: list[float] | None = None, cpu: dict[str, float] | None = None,
         mark: Callable[[str], None] | None = None) -> None:
    """One 5-line sale through the Till API; times each scan and the pay() separately."""
    clock, cpu_clock = time.perf_counter, time.process_time
    c0 = cpu_clock()
    for code in codes:
        if mark:
            mark("scan")
        t0 = clock()
        till.scan(code)
        if scan_lat is not None:
            scan_lat.append(clock() - t0)
    c1 = cpu_clock()
    if mark:
        mark("pay")
    t0 = clock()
    paid = till.pay([CASH])
    if pay_lat is not None:
        pay_lat.append(clock() - t0)
    if cpu is not None:
        cpu["scan"] += c1 - c0
        cpu["pay"] += cpu_clock() - c1
    if mark:
        mark("idle")
    if paid.stored != expect or len(paid.sale.lines) != LINES_PER_SALE:
        raise RuntimeError(f"sale stored in {paid.stored} with {len(paid.sale.lines)} lines, expected {expect}")
    if till.cart_save_error:
        raise RuntimeError(till.cart_save_error)


# -- the floor ----------------------------------------------------------------------------------
def measure_floor(root: Path, iterations: int, tag: str) -> dict[str, list[float]]:
    """Raw fdatasync cost in this directory: append 100 bytes (like a journal line) or overwrite them."""
    out = {}
    payload = b"x" * 99 + b"\n"
    for mode in ("append", "overwrite"):
        path = root / f"floor-{mode}-{tag}.bin"
        flags = os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC | (os.O_APPEND if mode == "append" else 0)
        fd = os.open(path, flags, 0o600)
        samples = []
        try:
            for i in range(iterations + 50):
                t0 = time.perf_counter()
                if mode == "append":
                    os.write(fd, payload)
                else:
                    os.pwrite(fd, payload, 0)
                os.fdatasync(fd)
                if i >= 50:
                    samples.append(time.perf_counter() - t0)
        finally:
            os.close(fd)
        out[mode] = samples
    return out


def measure_block_free(root: Path, iterations: int = 200) -> dict[str, list[float]]:
    """Diagnostic: what the file system charges to drop a just-fsync'd 1 KB file (unlink, rename over)."""
    out: dict[str, list[float]] = {"unlink": [], "rename": []}
    payload = b"y" * 1100  # about one saved 5-line cart
    for _ in range(iterations):
        for kind in out:
            temp = root / f"free-{kind}.tmp"
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
            os.write(fd, payload)
            os.fsync(fd)
            os.close(fd)
            t0 = time.perf_counter()
            if kind == "unlink":
                os.unlink(temp)
            else:
                os.rename(temp, root / "free-rename.target")
            out[kind].append(time.perf_counter() - t0)
    return out


# -- the normal (SQLite) path -------------------------------------------------------------------
def measure_normal(root: Path, sales: int, name: str = "shop-normal") -> dict:
    config = new_shop(root, name)
    till = open_till(config, cashier="bench")
    try:
        codes = sale_codes(till)
        for _ in range(WARMUP_SALES):
            sell(till, codes, "sqlite")
        scan_lat: list[float] = []
        pay_lat: list[float] = []
        cpu = {"scan": 0.0, "pay": 0.0}
        t_start, cpu_start, os_start = time.perf_counter(), time.process_time(), os.times()
        for _ in range(sales):
            sell(till, codes, "sqlite", scan_lat, pay_lat, cpu)
        wall = time.perf_counter() - t_start
        cpu_total = time.process_time() - cpu_start
        os_end = os.times()
    finally:
        till.close()
    stored = count_sales(config)
    if stored != WARMUP_SALES + sales:
        raise RuntimeError(f"SQLite holds {stored} sales, {WARMUP_SALES + sales} were acknowledged")
    return {"scan": scan_lat, "pay": pay_lat, "cpu": cpu, "cpu_total": cpu_total, "wall": wall,
            "user": os_end.user - os_start.user, "sys": os_end.system - os_start.system}


def measure_core_only(root: Path, sales: int) -> float:
    """CPU per 5-line sale without storage: cart x5, totals, settle, build_sale, to_record."""
    config = load_config(root / "shop-normal")
    till = open_till(config, cashier="bench", replay=False)
    try:
        codes = sale_codes(till)
        catalog = till.catalog
        products: list[Product] = [catalog.lookup(c) for c in codes]
        rates = [catalog.rate_of(p) for p in products]
        currency, step, included = till.currency, till.cash_step, config.prices_include_tax
    finally:
        till.close()
    start = time.process_time()
    for seq in range(1, sales + 1):
        cart = Cart(uuid=str(uuidlib.uuid4()), opened_at=utc_now())
        for product, rate in zip(products, rates):
            cart = cart.add(product, rate)
            cart.to_record()  # what a scan serialises for the cart document
        totals = cart.totals(included)
        settlement = settle(totals.total, [CASH], step, currency)
        totals = cart.totals(included)  # pay() prices the cart twice too
        sale = build_sale(cart, totals, (CASH,), settlement, till_id=config.till_id, seq=seq, cashier="bench",
                          completed_at=utc_now(), currency=currency.code, tax_included=included)
        sale.to_record()
    return (time.process_time() - start) / sales


# -- the degraded (journal) path and replay -----------------------------------------------------
def fill_journal(till: Till, codes: list[str], sales: int) -> None:
    """More journaled sales, fast: what pay() does (build_sale in a ledger.numbered unit) minus the scans."""
    config, included = till.config, till.config.prices_include_tax
    products = [till.catalog.lookup(c) for c in codes]
    for _ in range(sales):
        cart = Cart(uuid=str(uuidlib.uuid4()), opened_at=utc_now())
        for product in products:
            cart = cart.add(product, till.catalog.rate_of(product))
        totals = cart.totals(included)
        settlement = settle(totals.total, [CASH], till.cash_step, till.currency)

        with till.ledger.numbered(config.till_id, "seq") as unit:
            stored = unit.commit(build_sale(
                cart, totals, (CASH,), settlement, till_id=config.till_id, seq=unit.number, cashier=till.cashier,
                completed_at=utc_now(), currency=till.currency.code, tax_included=included).to_record())
        if stored != "journal":
            raise RuntimeError(f"fill sale stored in {stored}, expected journal")


def measure_ledger_commits(root: Path, sales: int, degraded: bool) -> list[float]:
    """Ledger.commit() of prepared 5-line sale records: the durable step alone, no pricing or building."""
    config = new_shop(root, "shop-ledger-journal" if degraded else "shop-ledger-sqlite")
    if degraded:
        break_sqlite(config)
    till = open_till(config, cashier="bench")
    try:
        codes = sale_codes(till)
        for _ in range(WARMUP_SALES):
            sell(till, codes, "journal" if degraded else "sqlite")
        products = [till.catalog.lookup(c) for c in codes]
        seq = till.ledger.next_seq(config.till_id)
        latencies = []
        for n in range(sales):
            cart = Cart(uuid=str(uuidlib.uuid4()), opened_at=utc_now())
            for product in products:
                cart = cart.add(product, till.catalog.rate_of(product))
            totals = cart.totals(config.prices_include_tax)
            settlement = settle(totals.total, [CASH], till.cash_step, till.currency)
            record = build_sale(cart, totals, (CASH,), settlement, till_id=config.till_id, seq=seq + n,
                                cashier="bench", completed_at=utc_now(), currency=till.currency.code,
                                tax_included=config.prices_include_tax).to_record()
            start = time.perf_counter()
            stored = till.ledger.commit(record)
            latencies.append(time.perf_counter() - start)
            if stored != ("journal" if degraded else "sqlite"):
                raise RuntimeError(f"ledger commit stored in {stored}")
        return latencies
    finally:
        till.close()


def measure_journal_and_replay(root: Path, sales: int, replay_sales: int) -> dict:
    config = new_shop(root, "shop-journal")
    aside = break_sqlite(config)
    till = open_till(config, cashier="bench")
    try:
        codes = sale_codes(till)
        for _ in range(WARMUP_SALES):
            sell(till, codes, "journal")  # the first one finds SQLite unusable
        state = till.storage()
        if state.mode != "degraded":
            raise RuntimeError(f"expected degraded storage, got {state}")
        pay_lat: list[float] = []
        for _ in range(sales):
            sell(till, codes, "journal", pay_lat=pay_lat)
        fill_journal(till, codes, max(0, replay_sales - WARMUP_SALES - sales))
        journaled = till.storage().journal_backlog
    finally:
        till.close()
    expected = max(replay_sales, WARMUP_SALES + sales)
    if journaled != expected:
        raise RuntimeError(f"journal backlog {journaled}, {expected} sales were acknowledged")
    journal_bytes = sum(p.stat().st_size for d in config.storage.journal_dirs for p in d.glob("*.jsonl"))
    restore_sqlite(config, aside)
    ledger = open_ledger(config)
    try:
        t0, c0 = time.perf_counter(), time.process_time()
        result = ledger.replay()
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    finally:
        ledger.close()
    if result.error or result.replayed != journaled or result.remaining:
        raise RuntimeError(f"replay did not bring every sale back: {result}")
    if count_sales(config) != journaled:
        raise RuntimeError("SQLite does not hold every replayed sale")
    return {"pay": pay_lat, "replayed": result.replayed, "replay_wall": wall, "replay_cpu": cpu,
            "journal_bytes": journal_bytes}


# -- sync counting under strace -----------------------------------------------------------------
def child_syncs(data_dir: Path, mode: str, sales: int) -> None:
    """Runs under strace: sells with markers around every scan and pay (set-up is outside them)."""
    init_shop(data_dir, demo=True, shift_float=0)
    config = load_config(data_dir)
    expect = "sqlite"
    if mode == "journal":
        break_sqlite(config)
        expect = "journal"
    till = open_till(config, cashier="bench")
    try:
        codes = sale_codes(till)
        for _ in range(WARMUP_SALES):
            sell(till, codes, expect)
        for _ in range(sales):
            sell(till, codes, expect, mark=mark)
    finally:
        till.close()


def mark(label: str) -> None:
    """A cheap system call that strace shows: the syncs after it, until the next mark, are label's."""
    os.access(f"{MARKER_DIR}/{label}", os.F_OK)


def syncs_between_marks(trace: Path, argv: list[str], timeout: float) -> list[tuple[str, int]] | None:
    """argv (a child that calls mark() between its steps) run under strace, its trace in `trace`:
    each mark in order with the fsync-like calls after it until the next. None: strace is not
    installed."""
    strace = shutil.which("strace")
    if strace is None:
        return None
    calls = ",".join(SYNC_CALLS + ("access", "faccessat", "faccessat2"))
    proc = subprocess.run([strace, "-f", "-qq", "--seccomp-bpf", "-e", f"trace={calls}", "-o", str(trace), *argv],
                          capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"strace child {argv[1:]} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    steps: list[tuple[str, int]] = []
    with open(trace, encoding="utf-8", errors="replace") as lines:
        for line in lines:
            marker = MARKER_RE.search(line)
            if marker:
                steps.append((marker.group(1), 0))
            elif steps and SYNC_RE.search(line) and "resumed>" not in line:
                steps[-1] = (steps[-1][0], steps[-1][1] + 1)
    return steps


def count_syncs(root: Path, mode: str, sales: int) -> dict | None:
    steps = syncs_between_marks(root / f"strace-{mode}.txt", [sys.executable, __file__, "--child-syncs",
                                str(root / f"shop-strace-{mode}"), mode, str(sales)], timeout=300)
    if steps is None:
        return None
    pay_counts = [n for label, n in steps if label == "pay"]
    if len(pay_counts) != sales:
        raise RuntimeError(f"strace markers: saw {len(pay_counts)} pays, expected {sales}")
    scans = sum(n for label, n in steps if label == "scan")
    return {"per_pay": sum(pay_counts) / sales, "per_scan": scans / (sales * LINES_PER_SALE),
            "pay_min": min(pay_counts), "pay_max": max(pay_counts),
            "pay_over_1": sum(1 for c in pay_counts if c > 1)}


# -- profile ------------------------------------------------------------------------------------
def profile_normal(root: Path, sales: int) -> None:
    config = new_shop(root, "shop-profile")
    till = open_till(config, cashier="bench")
    try:
        codes = sale_codes(till)
        for _ in range(WARMUP_SALES):
            sell(till, codes, "sqlite")
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(sales):
            sell(till, codes, "sqlite")
        profiler.disable()
    finally:
        till.close()
    print(f"\ncProfile of {sales} normal sales (5 scans + pay each), top by own time:")
    stats = pstats.Stats(profiler, stream=sys.stdout)
    stats.sort_stats("tottime").print_stats(22)
    print("top by cumulative time:")
    stats.sort_stats("cumulative").print_stats(30)


def tmpfs_normal(sales: int) -> dict | None:
    """The same SQLite sale path on /dev/shm (fsync is free there): what the software alone costs."""
    shm = Path("/dev/shm")
    if not shm.is_dir() or not os.access(shm, os.W_OK):
        return None
    root = Path(tempfile.mkdtemp(prefix="bench-core-", dir=shm))
    try:
        result = measure_normal(root, sales, "shop-tmpfs")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    result["n"] = sales
    return result


# -- report -------------------------------------------------------------------------------------
def machine_facts(root: Path) -> list[str]:
    try:
        fs = subprocess.run(["stat", "-f", "-c", "%T", str(root)], capture_output=True, text=True,
                            check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError) as err:
        fs = f"unknown ({err})"
    return [
        f"python {platform.python_version()} ({sys.executable})",
        f"sqlite {sqlite3.sqlite_version}",
        f"file system of {root}: {fs}",
        cpu_facts(),
    ]


def us(seconds: float) -> str:
    return f"{seconds * 1e6:.0f} us"


def add_latency(table: Table, name: str, samples: list[float], floor: list[float],
                p50_target: float | None) -> None:
    for q in (50, 99):
        value, base = pct(samples, q / 100), pct(floor, q / 100)
        ratio = value / base
        target = f"<= {p50_target:g}x" if q == 50 and p50_target else "-"
        ok = ratio <= p50_target if q == 50 and p50_target else None
        table.add(f"{name} p{q}", us(value), us(base), f"{ratio:.2f}x", target, ok)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", type=Path, default=Path.cwd(),
                        help="make the temporary bench directory inside DIR (default: the current directory)")
    parser.add_argument("--sales", type=int, default=1000, help="timed sales on the SQLite path (and under strace)")
    parser.add_argument("--replay-sales", type=int, default=5000, help="sales journaled then replayed (the first --sales of them through Till.pay(), timed)")
    parser.add_argument("--floor-iters", type=int, default=2000, help="fdatasync floor iterations")
    parser.add_argument("--profile", type=int, nargs="?", const=300, default=0, metavar="SALES",
                        help="also print a cProfile of SALES normal sales (default 300)")
    parser.add_argument("--keep", action="store_true", help="keep the bench directory")
    parser.add_argument("--child-syncs", nargs=3, metavar=("DIR", "MODE", "SALES"), help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child_syncs:
        data_dir, mode, count = args.child_syncs
        child_syncs(Path(data_dir), mode, int(count))
        return 0

    with bench_directory("bench-core-", args.keep, args.dir) as root:
        print_facts("tui-pos core benchmark", machine_facts(root))
        print(f"  bench directory {root}; {args.sales} SQLite sales, {args.replay_sales} journaled sales, "
              f"{LINES_PER_SALE} lines each, after {WARMUP_SALES} warm-up sales\n")

        half = max(1, args.floor_iters // 2)
        floor_before = measure_floor(root, half, "before")
        normal = measure_normal(root, args.sales)
        core_cpu = measure_core_only(root, min(args.sales, 2000) * 2)
        journal = measure_journal_and_replay(root, args.sales, args.replay_sales)
        ledger_sqlite = measure_ledger_commits(root, args.sales, degraded=False)
        ledger_journal = measure_ledger_commits(root, args.sales, degraded=True)
        syncs = count_syncs(root, "sqlite", args.sales)
        journal_syncs = count_syncs(root, "journal", min(args.sales, 300)) if syncs else None
        tmpfs = tmpfs_normal(min(args.sales, 300))
        block_free = measure_block_free(root)
        floor_after = measure_floor(root, args.floor_iters - half, "after")
        base = floor_before["append"] + floor_after["append"]  # pooled: drift during the run is averaged in

        table = Table()
        table.add("floor: write 100 B + fdatasync, append p50", us(pct(base, 0.5)))
        table.add("  floor p50 before / after the workloads",
                  f"{pct(floor_before['append'], 0.5) * 1e6:.0f} / {us(pct(floor_after['append'], 0.5))}")
        table.add("floor: write 100 B + fdatasync, append p99", us(pct(base, 0.99)))
        table.add("floor: pwrite 100 B + fdatasync, overwrite p50",
                  us(pct(floor_before["overwrite"] + floor_after["overwrite"], 0.5)))
        table.add("fs: unlink a just-fsync'd 1 KB file p50", us(pct(block_free["unlink"], 0.5)), us(pct(base, 0.5)),
                  f"{pct(block_free['unlink'], 0.5) / pct(base, 0.5):.2f}x")
        table.add("fs: rename over it p50", us(pct(block_free["rename"], 0.5)), us(pct(base, 0.5)),
                  f"{pct(block_free['rename'], 0.5) / pct(base, 0.5):.2f}x")
        add_latency(table, "sale commit, Till.pay() SQLite", normal["pay"], base, 4)
        add_latency(table, "journal commit, Till.pay() degraded", journal["pay"], base, 1.5)
        add_latency(table, "sale commit, Ledger.commit() SQLite", ledger_sqlite, base, 4)
        add_latency(table, "journal commit, Ledger.commit() degraded", ledger_journal, base, 1.5)
        add_latency(table, "Till.scan() (cart saved durably)", normal["scan"], base, None)
        if tmpfs:
            table.add("Till.pay() p50 on tmpfs (software only)", us(pct(tmpfs["pay"], 0.5)), us(pct(base, 0.5)),
                      f"{pct(tmpfs['pay'], 0.5) / pct(base, 0.5):.2f}x")
            table.add("Till.scan() p50 on tmpfs (software only)", us(pct(tmpfs["scan"], 0.5)))
        if syncs:
            table.add("syncs per durable sale (pay, SQLite)", f"{syncs['per_pay']:.3f}", "-", "-", "<= 1.1",
                      syncs["per_pay"] <= 1.1)
            table.add("  pays with >1 sync (checkpoints)", f"{syncs['pay_over_1']}/{args.sales}",
                      "-", "-", f"min {syncs['pay_min']} max {syncs['pay_max']}")
            table.add("syncs per Till.scan()", f"{syncs['per_scan']:.3f}")
            if journal_syncs:
                table.add("syncs per journaled pay (degraded)", f"{journal_syncs['per_pay']:.3f}")
        n = args.sales
        cpu_sale = normal["cpu_total"] / n
        table.add("CPU per 5-line sale (5 scans + pay)", f"{cpu_sale * 1e3:.3f} ms", "-", "-", "<= 1 ms",
                  cpu_sale <= 0.001)
        table.add("  of which 5 scans / pay", f"{normal['cpu']['scan'] / n * 1e3:.3f} / "
                  f"{normal['cpu']['pay'] / n * 1e3:.3f} ms")
        table.add("  of which user / sys", f"{normal['user'] / n * 1e3:.3f} / {normal['sys'] / n * 1e3:.3f} ms")
        if tmpfs:
            table.add("CPU per sale on tmpfs (no disk waits)", f"{tmpfs['cpu_total'] / tmpfs['n'] * 1e3:.3f} ms")
        table.add("CPU per sale, core only (no storage)", f"{core_cpu * 1e3:.3f} ms")
        table.add("wall per 5-line sale (5 scans + pay)", f"{normal['wall'] / n * 1e3:.3f} ms")
        rate = journal["replayed"] / journal["replay_wall"]
        table.add(f"replay {journal['replayed']} journaled sales", f"{rate:,.0f} sales/s", "-", "-",
                  ">= 5,000/s", rate >= 5000)
        table.add("  replay wall / CPU", f"{journal['replay_wall']:.3f} / {journal['replay_cpu']:.3f} s")
        table.add("  journal size", f"{journal['journal_bytes'] / journal['replayed']:.0f} B/sale")
        table.print()
        before, after = pct(floor_before["append"], 0.5), pct(floor_after["append"], 0.5)
        if max(before, after) > 2 * min(before, after):
            print(f"\nWARNING: the fdatasync floor moved from {us(before)} to {us(after)} during the run "
                  "(other I/O on this machine?): the ratios are unreliable, run again on a quiet machine.")
        if syncs is None:
            print("\nsyncs per sale: SKIPPED, strace is not installed (apt-get install strace, or make bench as root)")
        if args.profile:
            profile_normal(root, args.profile)
    return 0


if __name__ == "__main__":
    sys.exit(main())
