#!/usr/bin/env python3
"""Benchmarks of HQ (issue 13) on a throwaway PostgreSQL of its own, durable as a real HQ is (fsync
and synchronous_commit on), each against a floor measured in the same run, on the same cluster.

    .venv/bin/python scripts/bench_hq.py [--tills N] [--sales-per-till N] [--week N] [--batch N]

Figures:
- floor: an empty PostgreSQL round trip (SELECT 1 over a till's own TCP connection), p50/p99;
  an empty COMMIT (a one-row INSERT, committed: the fsync HQ pays per push) p50;
- HQ ingestion with N tills (20) pushing at once (each its own process and connection, batches of
  500 real 5-line sale records through hq.push): sales/s (target >= 5,000 on this 2-core machine),
  a push's p50/p99 against the empty round trip;
- a till offline for a week (10,000 sales) catching up, alone: seconds, against its floor (as many
  empty round trips as it takes batches).
The sale path and the worker's figures (sync lag at 10 sales/s, Till.pay p50 with sync on vs off,
idle CPU with sync on) need the till's sync worker: they are measured when it is there.
It is a report: it exits 0 when a target is missed, non-zero only when something crashes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import os
import platform
import sys
import tempfile
import time
import uuid as uuidlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without install

from benchlib import Table  # noqa: E402  (scripts/ is on sys.path when a script runs)
from pgcluster import Cluster, Unavailable, new_cluster  # noqa: E402

SHOPS = 4
BATCH = 500
ZERO_HASH = "0" * 64
# as a real HQ runs (fsync and synchronous_commit are PostgreSQL's defaults); the tills' connections
BENCH_SETTINGS = {"shared_buffers": "128MB", "max_connections": "80"}


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


# -- records as a till commits them ------------------------------------------------------------------
def template_sale(root: Path) -> dict[str, Any]:
    """One real 5-line demo sale, paid through the Till, as its record dict."""
    from tui_pos.bootstrap.shop import init_shop
    from tui_pos.bootstrap.till import open_till
    from tui_pos.config import load_config
    from tui_pos.domain.tender import Tender

    data_dir = root / "template-shop"
    init_shop(data_dir, demo=True, shift_float=0)
    till = open_till(load_config(data_dir), cashier="bench")
    try:
        products = sorted((p for p in till.catalog.search("", limit=10_000) if not p.open_price and p.price > 0),
                          key=lambda p: p.barcode)
        for product in products[::max(1, len(products) // 5)][:5]:
            till.scan(product.barcode)
        paid = till.pay([Tender("cash", 100_000)])
        return json.loads(json.dumps(paid.sale.to_record()))
    finally:
        till.close()


def canonical_json(record: dict[str, Any]) -> str:
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sales_stream(template: dict[str, Any], till_id: str, count: int, start: datetime) -> list[dict[str, Any]]:
    """count envelopes {"commit_seq", "prev_hash", "hash", "record"} of sales like the template,
    numbered from 1 and chained as the till's commit log chains them, a few seconds apart."""
    out = []
    prev = ZERO_HASH
    for n in range(1, count + 1):
        record = {**template, "uuid": str(uuidlib.uuid4()), "till_id": till_id, "seq": n,
                  "receipt": f"{till_id}-{n:06d}",
                  "completed_at": (start + timedelta(seconds=3 * n)).isoformat(timespec="milliseconds")}
        digest = hashlib.sha256((prev + canonical_json(record)).encode()).hexdigest()
        out.append({"commit_seq": n, "prev_hash": prev, "hash": digest, "record": record})
        prev = digest
    return out


# -- HQ ------------------------------------------------------------------------------------------------
def make_hq(cluster: Cluster, root: Path, tills: int) -> tuple[str, dict[str, str]]:
    """HQ initialised, SHOPS shops, `tills` tills enrolled (T1..Tn): the admin DSN, and each till's DSN."""
    import psycopg

    from tui_pos.config import load_config
    from tui_pos.hq.chain import add_shop
    from tui_pos.hq.connection import connect
    from tui_pos.hq.enrol import join, till_dsn
    from tui_pos.hq.schema import migrate

    with psycopg.connect(cluster.dsn(), autocommit=True) as conn:
        conn.execute('CREATE DATABASE "hq"')
    admin = cluster.dsn("hq")
    with connect(admin) as conn:
        migrate(conn)
        for s in range(1, SHOPS + 1):
            add_shop(conn, f"S{s}", f"Shop {s}")
    dsns = {}
    for t in range(1, tills + 1):
        data_dir = root / f"till-T{t}"
        data_dir.mkdir(mode=0o700)
        (data_dir / "config.toml").write_text(f'[till]\nid = "T{t}"\n\n[shop]\nname = "till T{t}"\n')
        join(load_config(data_dir), admin, f"S{(t - 1) % SHOPS + 1}")
        dsns[f"T{t}"] = till_dsn(load_config(data_dir))
    return admin, dsns


def round_trips(dsn: str, count: int) -> list[float]:
    from tui_pos.hq.connection import connect

    with connect(dsn) as conn:
        for _ in range(50):
            conn.execute("SELECT 1")
        samples = []
        for _ in range(count):
            t0 = time.perf_counter()
            conn.execute("SELECT 1").fetchone()
            samples.append(time.perf_counter() - t0)
    return samples


def empty_commits(admin: str, count: int) -> list[float]:
    """A one-row INSERT committed (autocommit): what durability alone costs per transaction."""
    from tui_pos.hq.connection import connect

    with connect(admin) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS public.floor_probe (n int)")
        samples = []
        for n in range(count + 20):
            t0 = time.perf_counter()
            conn.execute("INSERT INTO public.floor_probe VALUES (%s)", (n,))
            if n >= 20:
                samples.append(time.perf_counter() - t0)
        conn.execute("DROP TABLE public.floor_probe")
    return samples


def push_all(dsn: str, stream: list[dict[str, Any]], batch: int) -> list[float]:
    """Push the stream in batches through hq.stream.push: each push's latency."""
    from tui_pos.hq.connection import connect
    from tui_pos.hq.stream import push

    latencies = []
    with connect(dsn) as conn:
        for i in range(0, len(stream), batch):
            t0 = time.perf_counter()
            result = push(conn, stream[i:i + batch], {"pending": max(0, len(stream) - i - batch)})
            latencies.append(time.perf_counter() - t0)
            if result.added != len(stream[i:i + batch]):
                raise RuntimeError(f"HQ added {result.added} of a batch of {len(stream[i:i + batch])}")
    return latencies


def _pusher(dsn: str, stream: list[dict[str, Any]], batch: int, barrier: Any, out: Any) -> None:
    """One till's process: connect, wait for every other, push everything."""
    from tui_pos.hq.connection import connect

    with connect(dsn) as conn:  # warm: the first connection's cost is not ingestion's
        conn.execute("SELECT 1")
    barrier.wait()
    t0 = time.perf_counter()
    latencies = push_all(dsn, stream, batch)
    out.put((t0, time.perf_counter(), latencies))


def measure_ingestion(dsns: dict[str, str], template: dict[str, Any], per_till: int, batch: int) -> dict[str, Any]:
    start = datetime.now(UTC) - timedelta(days=1)
    streams = {till: sales_stream(template, till, per_till, start) for till in dsns}
    context = multiprocessing.get_context("fork")
    barrier, out = context.Barrier(len(dsns) + 1), context.Queue()
    workers = [context.Process(target=_pusher, args=(dsn, streams[till], batch, barrier, out)) for till, dsn in dsns.items()]
    for w in workers:
        w.start()
    barrier.wait(timeout=300)
    results = [out.get(timeout=1800) for _ in workers]
    for w in workers:
        w.join(timeout=60)
        if w.exitcode != 0:
            raise RuntimeError(f"a pushing till exited with {w.exitcode}")
    wall = max(end for _, end, _ in results) - min(begin for begin, _, _ in results)
    latencies = [lat for *_, lats in results for lat in lats]
    return {"sales": per_till * len(dsns), "wall": wall, "latencies": latencies}


def measure_week(admin: str, dsn: str, till: str, template: dict[str, Any], sales: int, batch: int) -> dict[str, Any]:
    stream = sales_stream(template, till, sales, datetime.now(UTC) - timedelta(days=7))
    t0 = time.perf_counter()
    latencies = push_all(dsn, stream, batch)
    return {"wall": time.perf_counter() - t0, "batches": len(latencies)}


def count_records(admin: str) -> int:
    from tui_pos.hq.connection import connect

    with connect(admin) as conn:
        row = conn.execute("SELECT count(*) FROM hq.record").fetchone()
    assert row is not None
    return int(row[0])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tills", type=int, default=20, help="tills pushing at once (default 20)")
    parser.add_argument("--sales-per-till", type=int, default=2_500, help="sales each pushes (default 2,500)")
    parser.add_argument("--week", type=int, default=10_000, help="sales a till made in a week offline (default 10,000)")
    parser.add_argument("--batch", type=int, default=BATCH, help=f"records per push (default {BATCH})")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="tui-pos-bench-hq-"))
    try:
        cluster = new_cluster(BENCH_SETTINGS)
    except Unavailable as why:
        print(f"bench_hq: skipped: {why}")
        return 0
    try:
        return run(cluster, root, args)
    finally:
        cluster.remove()
        import shutil

        shutil.rmtree(root, ignore_errors=True)


def run(cluster: Cluster, root: Path, args: argparse.Namespace) -> int:
    template = template_sale(root)
    admin, dsns = make_hq(cluster, root, args.tills + 1)
    week_till = f"T{args.tills + 1}"
    week_dsn = dsns.pop(week_till)
    floor = round_trips(next(iter(dsns.values())), 1000)
    commit_floor = empty_commits(admin, 300)
    ingest = measure_ingestion(dsns, template, args.sales_per_till, args.batch)
    week = measure_week(admin, week_dsn, week_till, template, args.week, args.batch)
    expected = ingest["sales"] + args.week
    if count_records(admin) != expected:
        raise RuntimeError(f"HQ holds {count_records(admin)} records, {expected} were pushed")

    f50 = pct(floor, 50)
    rate = ingest["sales"] / ingest["wall"]
    lat = ingest["latencies"]
    table = Table()
    table.add("floor: empty round trip p50", ms(f50))
    table.add("floor: empty round trip p99", ms(pct(floor, 99)))
    table.add("floor: one-row COMMIT p50 (fsync on)", ms(pct(commit_floor, 50)))
    table.add(f"ingestion: {len(dsns)} tills at once, sales/s", f"{rate:,.0f}", target=">= 5,000", ok=rate >= 5_000)
    table.add(f"ingestion: one push of {args.batch} p50", ms(pct(lat, 50)), ms(f50), f"{pct(lat, 50) / f50:.0f}x")
    table.add(f"ingestion: one push of {args.batch} p99", ms(pct(lat, 99)), ms(pct(floor, 99)),
              f"{pct(lat, 99) / pct(floor, 99):.0f}x")
    week_floor = week["batches"] * f50
    table.add(f"a week offline ({args.week:,} sales) catching up", f"{week['wall']:.2f} s", f"{week_floor * 1000:.1f} ms",
              f"{week['wall'] / week_floor:.0f}x")
    for name in ("sync lag p50/p99 at 10 sales/s", "Till.pay p50 sync on/off", "idle CPU with sync on"):
        table.add(name, "not measured: the till's sync worker is not in this tree")
    print(f"HQ benchmark: PostgreSQL {cluster.bin.parent.name} (fsync on) on {platform.machine()}, "
          f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}; {len(dsns)} tills x {args.sales_per_till:,} sales, "
          f"batches of {args.batch}")
    table.print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
