#!/usr/bin/env python3
"""Code payments (付款码, issue 15): from the scan of the customer's payment code to "paid", against
a gateway that answers at once, and what of that is the till's own.

    .venv/bin/python scripts/bench_payments.py [--dir DIR] [--payments N] [--http-payments N]

Each timed payment: an item is scanned (not timed), then the clock runs from the scan of the
payment code: CodePayments.start (the checks, the PaymentAttempt committed durably: its fsync),
advance until the charge is done (the pay call, the PaymentOutcome committed, the mobile tender
put on the sale and the cart saved) = "paid" on screen; then Till.pay (the sale stored) =
"... and the sale stored". The gateway's own time (every call the till makes to it: online(),
pay()) is measured around each call and taken off: what is left is the till's own overhead.

Gateways: the Alipay and WeChat Pay simulators of tests/payments (the real SDKs over HTTP on
loopback, RSA signatures both ways; each server in a process of its own, as a provider would be,
so its work does not compete with the till's for this process's interpreter) and an in-process
gateway that answers at once (tests/payments/fake_gateway.py: no HTTP, no signatures).
Floor, measured in the same run and directory: write 100 B + fdatasync (one durable append).
Also: CPU time per payment, and the fsync/fdatasync calls of each step (strace, when installed):
start (the attempt), advance (the outcome, the cart saved with its tender), pay (the sale).
Target: the till's own overhead, scan to paid, p50 <= 20 ms (the attempt's fsync included).
It is a report: it exits 0 when a target is missed, non-zero only when something crashes.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from a checkout without install
sys.path.insert(0, str(ROOT / "tests"))  # the simulators (tests/payments)

from bench_core import machine_facts, mark, measure_floor, syncs_between_marks  # noqa: E402
from benchlib import Table, bench_directory, ms, pct, print_facts  # noqa: E402
from tui_pos.bootstrap.shop import init_shop  # noqa: E402
from tui_pos.bootstrap.till import open_till  # noqa: E402
from tui_pos.config import load_config  # noqa: E402
from tui_pos.domain.payments import GatewayReply, Trade  # noqa: E402

TARGET_MS = 20.0
WARMUP = 10  # payments before the timed ones (the first call imports the SDK)
ITEM = "6900000000014"  # the demo catalog's cola, 3.50
CODES = {"alipay": "287654321098765432", "wechat": "134567890123456789"}


@dataclass
class Timed:
    """A CodeGateway that adds up the time spent inside its calls (the gateway's own time)."""

    inner: Any
    spent: float = 0.0
    calls: list[str] = field(default_factory=list)

    @property
    def provider(self) -> str:
        return str(self.inner.provider)

    def _timed(self, name: str, *args: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return getattr(self.inner, name)(*args)
        finally:
            self.spent += time.perf_counter() - t0
            self.calls.append(name)

    def online(self) -> bool:
        return bool(self._timed("online"))

    def pay(self, trade: Trade) -> GatewayReply:
        return self._timed("pay", trade)  # type: ignore[no-any-return]

    def query(self, out_trade_no: str) -> GatewayReply:
        return self._timed("query", out_trade_no)  # type: ignore[no-any-return]

    def cancel(self, out_trade_no: str) -> GatewayReply:
        return self._timed("cancel", out_trade_no)  # type: ignore[no-any-return]

    def refund(self, *args: Any) -> GatewayReply:
        return self._timed("refund", *args)  # type: ignore[no-any-return]

    def query_refund(self, *args: Any) -> GatewayReply:
        return self._timed("query_refund", *args)  # type: ignore[no-any-return]


@dataclass
class Run:
    name: str
    paid: list[float] = field(default_factory=list)  # scan of the code -> paid (tender on the sale)
    stored: list[float] = field(default_factory=list)  # ... -> the sale stored
    gateway: list[float] = field(default_factory=list)  # the gateway's own time, per payment
    cpu: list[float] = field(default_factory=list)  # CPU time of this process, scan of the code -> paid
    calls: int = 0

    def own(self, which: list[float]) -> list[float]:
        return [total - gw for total, gw in zip(which, self.gateway, strict=True)]


class Served:
    """A provider's simulator in a child process (`--serve PROVIDER`): its settings (the gateway's
    constructor keywords) read from the child's first line; close() ends it and returns what it
    charged (out_trade_no -> fen)."""

    def __init__(self, provider: str):
        self.provider = provider
        self.proc = subprocess.Popen([sys.executable, __file__, "--serve", provider], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            self.__exit__()
            raise RuntimeError(f"the {provider} simulator did not start")
        self.settings: dict[str, Any] = json.loads(line)

    def __enter__(self) -> Served:
        return self

    def __exit__(self, *exc: object) -> None:
        """The child ended and reaped: killed if it is still running (close() not reached)."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()

    def gateway(self) -> Any:
        if self.provider == "alipay":
            from tui_pos.payments.alipay import AlipayGateway
            return AlipayGateway(**self.settings)
        from tui_pos.payments.wechat import WeChatGateway
        return WeChatGateway(**self.settings)

    def close(self) -> dict[str, int]:
        out, _ = self.proc.communicate(timeout=30)
        return json.loads(out.strip().splitlines()[-1]) if out.strip() else {}


def serve(provider: str) -> None:
    """The child of Served: a simulator until stdin closes, then what it charged."""
    from payments.alipay_sim import AlipaySim
    from payments.wechat_sim import WeChatSim

    sim = AlipaySim() if provider == "alipay" else WeChatSim()
    print(json.dumps(sim.settings), flush=True)
    sys.stdin.read()
    print(json.dumps(sim.sim.charged()), flush=True)
    sim.close()


def measure(root: Path, name: str, gateway: Any, payments: int, marks: bool = False) -> Run:
    """`payments` code payments (after WARMUP) on a fresh demo shop through this gateway
    (marks: strace markers between the steps)."""
    data_dir = root / f"shop-{name.split()[0].lower()}"
    init_shop(data_dir, demo=True, shift_float=0)
    till = open_till(load_config(data_dir), cashier="bench")
    timed = Timed(gateway)
    till.payments.use_gateway(timed)  # type: ignore[arg-type]
    code = CODES[timed.provider]
    run = Run(name)
    try:
        for i in range(WARMUP + payments):
            till.scan(ITEM)
            timed.spent, timed.calls = 0.0, []
            timing = marks and i >= WARMUP
            if timing:
                mark("start")
            t0, c0 = time.perf_counter(), time.process_time()
            charge = till.payments.start(code)
            if timing:
                mark("advance")
            while not charge.done:
                charge = till.payments.advance(charge)
            t_paid, c_paid = time.perf_counter(), time.process_time()
            if charge.state != "paid" or till.due().left != 0:
                raise RuntimeError(f"payment {i} ended {charge.state}: {charge.message}")
            if timing:
                mark("pay")
            paid = till.pay()
            t_stored = time.perf_counter()
            if timing:
                mark("idle")
            if paid.stored != "sqlite" or [t.kind for t in paid.sale.tenders] != ["mobile"]:
                raise RuntimeError(f"sale {paid.sale.receipt} stored in {paid.stored} with {paid.sale.tenders}")
            if i >= WARMUP:
                run.paid.append(t_paid - t0)
                run.stored.append(t_stored - t0)
                run.gateway.append(timed.spent)
                run.cpu.append(c_paid - c0)
                run.calls += len(timed.calls)
        views = till.payments.list()
    finally:
        till.close()
    if len(views) != WARMUP + payments or any(not v.sale_completed or v.state != "paid" for v in views):
        raise RuntimeError(f"{name}: the till lists {len(views)} payments, not all paid and in a sale")
    return run


STEPS = ("start", "advance", "pay")


def count_syncs(root: Path, payments: int) -> dict[str, float] | None:
    """The fsync/fdatasync calls per payment of each step (start, advance, pay), with the
    in-process gateway, counted by strace in a child (None: strace is not installed)."""
    steps = syncs_between_marks(root / "strace.txt", [sys.executable, __file__, "--child-syncs", str(root),
                                                      str(payments)], timeout=600)
    if steps is None:
        return None
    seen = sum(label == "start" for label, _ in steps)
    if seen != payments:
        raise RuntimeError(f"strace markers: saw {seen} payments, expected {payments}")
    return {step: sum(n for label, n in steps if label == step) / payments for step in STEPS}


def report(table: Table, run: Run, floor: list[float]) -> None:
    n = len(run.paid)
    own_paid, own_stored = run.own(run.paid), run.own(run.stored)
    base = pct(floor, 0.5)
    table.add(f"{run.name}: scan -> paid, total p50 / p99", f"{ms(pct(run.paid, 0.5))} / {ms(pct(run.paid, 0.99))}")
    table.add("  the gateway's own time p50 / p99", f"{ms(pct(run.gateway, 0.5))} / {ms(pct(run.gateway, 0.99))}",
              "-", "-", f"{run.calls / n:.1f} calls/payment")
    for q in (50, 99):
        value, base_q = pct(own_paid, q / 100), pct(floor, q / 100)
        table.add(f"  till's own overhead, scan -> paid p{q}", ms(value), ms(base_q),
                  f"{value / base_q:.1f}x", f"<= {TARGET_MS:g} ms" if q == 50 else "-",
                  value * 1e3 <= TARGET_MS if q == 50 else None)
    table.add("  ... and the sale stored, own p50 / p99", f"{ms(pct(own_stored, 0.5))} / {ms(pct(own_stored, 0.99))}",
              ms(base), f"{pct(own_stored, 0.5) / base:.1f}x")
    table.add("  ... and the sale stored, total p50", ms(pct(run.stored, 0.5)))
    table.add("  CPU of this process, scan -> paid p50", ms(pct(run.cpu, 0.5)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", type=Path, default=Path.cwd(),
                        help="make the temporary bench directory inside DIR (default: the current directory)")
    parser.add_argument("--payments", type=int, default=300, help="timed payments with the in-process gateway")
    parser.add_argument("--http-payments", type=int, default=150,
                        help="timed payments per simulator (Alipay, WeChat Pay: HTTP and signatures)")
    parser.add_argument("--floor-iters", type=int, default=1000, help="fdatasync floor iterations")
    parser.add_argument("--sync-payments", type=int, default=50, help="payments counted under strace (0: none)")
    parser.add_argument("--keep", action="store_true", help="keep the bench directory")
    parser.add_argument("--child-syncs", nargs=2, metavar=("DIR", "PAYMENTS"), help=argparse.SUPPRESS)
    parser.add_argument("--serve", choices=sorted(CODES), help=argparse.SUPPRESS)
    args = parser.parse_args()

    from payments.fake_gateway import FakeGateway

    if args.serve:
        serve(args.serve)
        return 0
    if args.child_syncs:
        measure(Path(args.child_syncs[0]), "strace", FakeGateway("alipay"), int(args.child_syncs[1]), marks=True)
        return 0

    with bench_directory("bench-payments-", args.keep, args.dir) as root, ExitStack() as simulators:
        # each simulator's child ended (killed, if close() did not end it) however the run ends
        alipay = simulators.enter_context(Served("alipay"))
        wechat = simulators.enter_context(Served("wechat"))
        print_facts("tui-pos code payments benchmark: scan of the payment code -> paid, a gateway that answers at once",
                    machine_facts(root))
        print(f"  bench directory {root}; {args.payments} in-process and {args.http_payments} per simulator timed "
              f"payments of one item, after {WARMUP} warm-up ones each\n")
        half = max(1, args.floor_iters // 2)
        floor = measure_floor(root, half, "before")["append"]
        runs = [
            measure(root, "in-process gateway (instant)", FakeGateway("alipay"), args.payments),
            measure(root, "Alipay simulator (HTTP)", alipay.gateway(), args.http_payments),
            measure(root, "WeChat Pay simulator (HTTP)", wechat.gateway(), args.http_payments),
        ]
        floor += measure_floor(root, args.floor_iters - half, "after")["append"]
        syncs = count_syncs(root, args.sync_payments) if args.sync_payments else None
        table = Table()
        table.add("floor: write 100 B + fdatasync p50 / p99", f"{ms(pct(floor, 0.5))} / {ms(pct(floor, 0.99))}")
        for run in runs:
            report(table, run, floor)
        if syncs:
            table.add("syncs per payment: start / advance (-> paid) / pay",
                      " / ".join(f"{syncs[step]:.2f}" for step in STEPS))
        table.print()
        load, cpus = os.getloadavg()[0], os.cpu_count() or 1
        if load > cpus:
            print(f"\nWARNING: load average {load:.1f} on {cpus} CPUs: the waits (fsync, the scheduler) are inflated; "
                  "the floor and the syncs per payment say what the till itself asks of the disk.")
        if syncs is None and args.sync_payments:
            print("\nsyncs per payment: SKIPPED, strace is not installed")
        charged = alipay.close() | wechat.close()
        expected = 2 * (WARMUP + args.http_payments)
        if len(charged) != expected:
            raise RuntimeError(f"the simulators charged {len(charged)} trades, the till stored {expected} sales")
        print(f"\nthe simulators charged {len(charged)} trades, each once, each in a stored sale")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("LANG", "C.UTF-8")
    sys.exit(main())
