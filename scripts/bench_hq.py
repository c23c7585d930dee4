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
- one till selling 5-line sales at 10 sales/s (the Till API, as the checkout calls it), with sync
  off, then with its sync worker on, three times over (load drifting over the run falls on both): Till.pay p50/p99 on against off (target <= 1.1x), and the
  sync lag from pay() returning to the sale visible at HQ (a NOTIFY from a row trigger on hq.record,
  delivered at COMMIT), p50/p99 (target p99 <= 2 s) against the empty round trip;
- the till's idle CPU (the whole process) with sync on, over a heartbeat (target <= 0.5 %),
  against the same till idle with sync off.
It is a report: it exits 0 when a target is missed, non-zero only when something crashes.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import time
import uuid as uuidlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without install

from benchlib import Table, ms, on_throwaway_cluster, pct, postgres_facts  # noqa: E402  (scripts/ is on sys.path when a script runs)
from pgcluster import Cluster  # noqa: E402

SHOPS = 4
BATCH = 500
# as a real HQ runs (fsync and synchronous_commit are PostgreSQL's defaults); the tills' connections
BENCH_SETTINGS = {"shared_buffers": "128MB", "max_connections": "80"}


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


def sales_stream(template: dict[str, Any], till_id: str, count: int, start: datetime) -> list[dict[str, Any]]:
    """count envelopes {"commit_seq", "prev_hash", "hash", "record"} of sales like the template,
    numbered from 1 and chained as the till's commit log chains them, a few seconds apart."""
    from tui_pos.domain.commits import chained

    return list(chained({**template, "uuid": str(uuidlib.uuid4()), "till_id": till_id, "seq": n,
                         "receipt": f"{till_id}-{n:06d}",
                         "completed_at": (start + timedelta(seconds=3 * n)).isoformat(timespec="milliseconds")}
                        for n in range(1, count + 1)))


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


# -- the till with its sync worker -----------------------------------------------------------------
def bench_till(root: Path, admin: str, till_id: str, sync_every_s: float) -> Path:
    """A demo shop with a shift open, joined to HQ as till_id (shop S1)."""
    from tui_pos.bootstrap.shop import init_shop
    from tui_pos.config import load_config
    from tui_pos.hq.enrol import join

    data_dir = root / f"till-{till_id}"
    data_dir.mkdir(mode=0o700)
    (data_dir / "config.toml").write_text(f'[till]\nid = "{till_id}"\n\n[shop]\nname = "bench {till_id}"\n')
    init_shop(data_dir, demo=True, shift_float=0)
    join(load_config(data_dir), admin, "S1")
    with_every = (data_dir / "config.toml").read_text() + f"sync_every_s = {sync_every_s}\n"  # [hq] is last
    (data_dir / "config.toml").write_text(with_every)
    return data_dir


class Seen:
    """When each record became visible at HQ: a NOTIFY sent by a row trigger on hq.record (made in the
    bench's own HQ only), delivered at COMMIT, heard on a connection of its own."""

    CHANNEL = "bench_seen"

    def __init__(self, admin: str):
        import threading

        from tui_pos.hq.connection import connect

        with connect(admin) as conn:
            conn.execute("CREATE OR REPLACE FUNCTION public.bench_seen() RETURNS trigger LANGUAGE plpgsql AS "
                         f"$$ BEGIN PERFORM pg_notify('{self.CHANNEL}', NEW.uuid::text); RETURN NULL; END $$")
            conn.execute("CREATE TRIGGER bench_seen AFTER INSERT ON hq.record FOR EACH ROW "
                         "EXECUTE FUNCTION public.bench_seen()")
        self.at: dict[str, float] = {}
        self._conn = connect(admin)
        self._conn.execute(f"LISTEN {self.CHANNEL}")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._listen, daemon=True)
        self._thread.start()

    def _listen(self) -> None:
        while not self._stop.is_set():
            for note in self._conn.notifies(timeout=0.5):
                self.at[note.payload] = time.perf_counter()

    def wait_for(self, uuids: list[str], timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while any(u not in self.at for u in uuids):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{sum(u not in self.at for u in uuids)} sales never became visible at HQ")
            time.sleep(0.05)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self._conn.close()


def sell_at_rate(till: Any, codes: list[str], sales: int, per_second: float) -> list[tuple[str, float, float]]:
    """sales 5-line sales, one every 1/per_second s: (uuid, pay() latency, when pay() returned)."""
    from tui_pos.domain.tender import Tender

    out = []
    start = time.perf_counter()
    for n in range(sales):
        for code in codes:
            till.scan(code)
        t0 = time.perf_counter()
        paid = till.pay([Tender("cash", 100_000)])
        acked = time.perf_counter()
        out.append((paid.sale.uuid, acked - t0, acked))
        next_at = start + (n + 1) / per_second
        if next_at > time.perf_counter():
            time.sleep(next_at - time.perf_counter())
    return out


def wait_synced(till: Any, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        state = till.sync_status()
        if state is not None and state.state == "synced" and state.pending == 0:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"the sync worker did not catch up: {state}")
        time.sleep(0.05)


def idle_cpu(seconds: float) -> float:
    """This process's CPU (every thread) over seconds of doing nothing, in % of one core."""
    c0, t0 = time.process_time(), time.perf_counter()
    time.sleep(seconds)
    return 100 * (time.process_time() - c0) / (time.perf_counter() - t0)


ROUNDS = 3  # sync off, then on, this many times: a machine's load drifting over the run falls on both


def measure_till(root: Path, admin: str, sales: int, rate: float, idle_s: float) -> dict[str, Any]:
    """One till: sales at rate with sync off, then with its worker on, ROUNDS times (pay() latency both
    ways, sync lag from pay() returning to the record visible at HQ), then idle CPU without and with
    the worker."""
    from tui_pos.bootstrap.till import open_till
    from tui_pos.config import load_config

    config = load_config(bench_till(root, admin, "B1", sync_every_s=60))
    out: dict[str, Any] = {"pay_off": [], "pay_on": [], "lag": []}
    seen = Seen(admin)
    try:
        for _round in range(ROUNDS):
            till = open_till(config, cashier="bench")
            try:
                products = sorted((p for p in till.catalog.search("", limit=10_000) if not p.open_price and p.price > 0),
                                  key=lambda p: p.barcode)
                codes = [p.barcode for p in products[::max(1, len(products) // 5)][:5]]
                sell_at_rate(till, codes, 10, rate)  # warm
                out["pay_off"] += [lat for _, lat, _ in sell_at_rate(till, codes, sales // ROUNDS, rate)]
            finally:
                till.close()
            till = open_till(config, cashier="bench")
            try:
                till.start_sync()
                wait_synced(till, timeout=300)  # what was sold with sync off goes first
                sold = sell_at_rate(till, codes, sales // ROUNDS, rate)
                seen.wait_for([u for u, _, _ in sold])
                out["pay_on"] += [lat for _, lat, _ in sold]
                out["lag"] += [max(0.0, seen.at[u] - acked) for u, _, acked in sold]
            finally:
                till.close()
    finally:
        seen.close()  # its listening thread is not the till's idle CPU
    till = open_till(config, cashier="bench")
    try:
        out["idle_off"] = idle_cpu(idle_s / 2)
    finally:
        till.close()
    till = open_till(config, cashier="bench")
    try:
        till.start_sync()
        wait_synced(till)
        out["idle_on"] = idle_cpu(idle_s)
    finally:
        till.close()
    return out


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
    parser.add_argument("--till-sales", type=int, default=300, help="sales at 10/s with sync off, then on (default 300)")
    parser.add_argument("--idle", type=float, default=65, help="seconds of idle with sync on (default 65: "
                        "one heartbeat, [hq] sync_every_s = 60, falls in it); half that with sync off")
    args = parser.parse_args()
    return on_throwaway_cluster("bench_hq", BENCH_SETTINGS, "tui-pos-bench-hq-", lambda cluster, root: run(cluster, root, args))


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

    f50 = pct(floor, 0.5)
    rate = ingest["sales"] / ingest["wall"]
    lat = ingest["latencies"]
    table = Table()
    table.add("floor: empty round trip p50", ms(f50))
    table.add("floor: empty round trip p99", ms(pct(floor, 0.99)))
    table.add("floor: one-row COMMIT p50 (fsync on)", ms(pct(commit_floor, 0.5)))
    table.add(f"ingestion: {len(dsns)} tills at once, sales/s", f"{rate:,.0f}", target=">= 5,000", ok=rate >= 5_000)
    table.add(f"ingestion: one push of {args.batch} p50", ms(pct(lat, 0.5)), ms(f50), f"{pct(lat, 0.5) / f50:.0f}x")
    table.add(f"ingestion: one push of {args.batch} p99", ms(pct(lat, 0.99)), ms(pct(floor, 0.99)),
              f"{pct(lat, 0.99) / pct(floor, 0.99):.0f}x")
    week_floor = week["batches"] * f50
    table.add(f"a week offline ({args.week:,} sales) catching up", f"{week['wall']:.2f} s", f"{week_floor * 1000:.1f} ms",
              f"{week['wall'] / week_floor:.0f}x")
    t = measure_till(root, admin, args.till_sales, 10.0, args.idle)
    lag = t["lag"]
    table.add("sync lag p50 at 10 sales/s (pay() to visible at HQ)", ms(pct(lag, 0.5)), ms(f50),
              f"{pct(lag, 0.5) / f50:.0f}x")
    table.add("sync lag p99 at 10 sales/s", ms(pct(lag, 0.99)), ms(pct(floor, 0.99)), f"{pct(lag, 0.99) / pct(floor, 0.99):.0f}x",
              "<= 2 s", pct(lag, 0.99) <= 2.0)
    pay_ratio = pct(t["pay_on"], 0.5) / pct(t["pay_off"], 0.5)
    table.add("Till.pay p50, sync on (floor: sync off)", ms(pct(t["pay_on"], 0.5)), ms(pct(t["pay_off"], 0.5)),
              f"{pay_ratio:.2f}x", "<= 1.1x", pay_ratio <= 1.1)
    table.add("Till.pay p99, sync on (floor: sync off)", ms(pct(t["pay_on"], 0.99)), ms(pct(t["pay_off"], 0.99)),
              f"{pct(t['pay_on'], 0.99) / pct(t['pay_off'], 0.99):.2f}x")
    table.add(f"idle CPU with sync on ({args.idle:.0f} s; floor: sync off)", f"{t['idle_on']:.3f} %",
              f"{t['idle_off']:.3f} %", target="<= 0.5 %", ok=t["idle_on"] <= 0.5)
    print(f"HQ benchmark: {postgres_facts(cluster)}; {len(dsns)} tills x {args.sales_per_till:,} sales, "
          f"batches of {args.batch}")
    table.print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
