#!/usr/bin/env python3
"""Benchmarks of the checkout UI, against a minimal Textual app measured in the same run.

    .venv/bin/python scripts/bench_ui.py [--runs N] [--idle-seconds S] [--profile]

Figures (targets from issue 3):
- start-up to an interactive screen (bytecode cached, as an installed till has it: the warm-up
  run writes it even under PYTHONDONTWRITEBYTECODE): from just before the child is spawned until the
  first screen has been painted (the login screen's first refresh; for the floor, a minimal app
  with a Header, an Input and a Footer), in a real pseudo-terminal of 80x24 with the real
  terminal driver; median of --runs runs each, interleaved: <= 1.5x the minimal app;
- peak RSS of that child (its VmHWM when the screen is ready), median: <= 1.3x the minimal app's;
- CPU per scanned item with a 100-line cart: process time over scanning items 101..150 into a
  headless app (run_test, 80x24), each item's 13 digits and Enter posted as key events at once,
  render included (await pilot.pause() until the line is on screen), median of --scan-repeats
  measurements (each a fresh app): <= 15 ms;
- idle CPU with the till waiting at the checkout (logged in through the pty, three items in the
  sale): the child's utime+stime over --idle-seconds (default 60): <= 0.5 %;
- python-escpos / Pillow must not be imported by the UI at start-up ('escpos'/'PIL' in sys.modules).
Diagnostics without a target: Till.scan() alone on a 100-line cart (core + durable cart save),
what one idle pilot.pause() costs (the harness, included in the figure), a label update and
redraw in a minimal app with the same harness (for scale), wall time per scanned item, and the
minimal app's idle CPU over the same window.
It is a report: it exits 0 when a target is missed, non-zero only when something crashes.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import fcntl
import json
import os
import platform
import pstats
import pty
import signal
import statistics
import struct
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from a checkout without install

from benchlib import Table, bench_directory, cpu_facts, print_facts  # noqa: E402  (scripts/ is on sys.path when a script runs)

COLS, ROWS = 80, 24
PREFILL, MEASURED = 100, 50  # a 100-line cart, then items 101..150 are measured
READY_TIMEOUT = 60.0

# -- the children (run with python -c in a pseudo-terminal) -------------------------------------
# Both write JSON lines to the report file: {"event", "t" (time.monotonic), "PIL", "escpos", "hwm_kb"}.
# Peak RSS is the child's own VmHWM: ru_maxrss from wait4 is not usable here, because Linux carries
# the forking parent's high-water mark into the child's (signal->maxrss survives the exec), and
# this parent is bigger than a freshly started app.
CHILD_COMMON = r'''
import json, os, sys, time
REPORT = sys.argv[1]
def report(event, app=None, exit_after=False):
    with open("/proc/self/status") as status:
        hwm_kb = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    with open(REPORT, "a") as out:
        out.write(json.dumps({"event": event, "t": time.monotonic(), "PIL": "PIL" in sys.modules,
                              "escpos": "escpos" in sys.modules, "hwm_kb": hwm_kb}) + "\n")
    if exit_after:
        app.exit()
'''

CHILD_MINIMAL = CHILD_COMMON + r'''
from textual.app import App
from textual.widgets import Footer, Header, Input

class Minimal(App):
    def compose(self):
        yield Header()
        yield Input(placeholder="scan or type a code")
        yield Footer()

    def on_mount(self):
        self.call_after_refresh(report, "ready", self, sys.argv[2] == "startup")

Minimal().run()
'''

# The real entry point (tui_pos.cli:main, as `tui-pos --data-dir DIR` runs it), with two hooks
# that only report: the login screen and the checkout have been painted.
CHILD_POS = CHILD_COMMON + r'''
from tui_pos.ui.screens.checkout import CheckoutScreen
from tui_pos.ui.screens.login import LoginScreen

def hooked(cls, event):
    original = cls.on_mount
    def on_mount(self):
        original(self)
        self.call_after_refresh(report, event, self.app, sys.argv[2] == "startup" and event == "ready")
    cls.on_mount = on_mount

hooked(LoginScreen, "ready")
hooked(CheckoutScreen, "checkout")
from tui_pos.cli import main
main(["--data-dir", sys.argv[3]])
'''


class PtyChild:
    """A child python -c CODE in a new 80x24 pseudo-terminal; its output is drained and kept."""

    def __init__(self, code: str, mode: str, report: Path, *args: str):
        self.report = report
        report.unlink(missing_ok=True)
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
        env = {**os.environ, "TERM": "xterm-256color", "ESCDELAY": "25", "COLUMNS": str(COLS), "LINES": str(ROWS)}
        env.pop("TUI_POS_DATA_DIR", None)
        # An installed till runs from bytecode (pip compiles it); the warm-up run writes it here.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        self.started = time.monotonic()
        self.proc = subprocess.Popen([sys.executable, "-c", code, str(report), mode, *args], stdin=slave,
                                     stdout=slave, stderr=slave, env=env, start_new_session=True, close_fds=True)
        os.close(slave)
        self.master = master
        self.output = bytearray()
        self.drainer = threading.Thread(target=self._drain, daemon=True)
        self.drainer.start()

    def _drain(self) -> None:
        while True:
            try:
                data = os.read(self.master, 65536)
            except OSError:
                return
            if not data:
                return
            self.output += data
            del self.output[:-65536]

    def events(self) -> dict[str, dict]:
        if not self.report.exists():
            return {}
        return {e["event"]: e for e in map(json.loads, self.report.read_text().splitlines())}

    def wait_event(self, event: str, timeout: float = READY_TIMEOUT) -> dict:
        deadline = time.monotonic() + timeout
        while event not in self.events():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.kill()
                tail = self.output[-3000:].decode("utf-8", "replace")
                raise RuntimeError(f"child never reported {event!r} (exit {self.proc.returncode}); output tail:\n{tail}")
            time.sleep(0.01)
        return self.events()[event]

    def type(self, text: str) -> None:
        os.write(self.master, text.encode())

    def cpu_seconds(self) -> float:
        """utime + stime of the child, every thread, from /proc."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def wait(self, timeout: float = READY_TIMEOUT) -> None:
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise RuntimeError("child did not exit") from None
        self.close()

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.close()

    def close(self) -> None:
        """The child has exited: the drainer gets EIO and ends; only then is the fd closed (a
        closed fd number can be reused at once, and a live drainer would read someone else's)."""
        self.drainer.join(timeout=5)
        if not self.drainer.is_alive():
            os.close(self.master)


# -- start-up and peak RSS ----------------------------------------------------------------------
def measure_startup(work: Path, data_dir: Path, runs: int) -> dict[str, dict[str, list]]:
    """Interleaved runs of both apps (the first of each is a warm-up, not counted)."""
    results: dict[str, dict[str, list]] = {name: {"seconds": [], "rss_kb": [], "PIL": [], "escpos": []}
                                           for name in ("minimal", "pos")}
    for run in range(runs + 1):
        for name, code, args in (("minimal", CHILD_MINIMAL, ()), ("pos", CHILD_POS, (str(data_dir),))):
            child = PtyChild(code, "startup", work / f"{name}.report", *args)
            ready = child.wait_event("ready")
            child.wait()
            if run == 0:
                continue
            results[name]["seconds"].append(ready["t"] - child.started)
            results[name]["rss_kb"].append(ready["hwm_kb"])
            results[name]["PIL"].append(ready["PIL"])
            results[name]["escpos"].append(ready["escpos"])
    return results


# -- CPU per scanned item -----------------------------------------------------------------------
def demo_codes() -> list[str]:
    import csv
    text = (ROOT / "tui_pos" / "demo_catalog.csv").read_text(encoding="utf-8")
    return [row["barcode"] for row in csv.DictReader(text.splitlines()) if float(row["price"]) > 0]


def scan_sequence(count: int) -> list[str]:
    codes = demo_codes()
    return [codes[i % len(codes)] for i in range(count)]


def post_scan(app, code: str) -> None:
    from textual import events

    for char in code:
        app.post_message(events.Key(char, char))
    app.post_message(events.Key("enter", "\r"))


async def _scan_cpu(data_dir: Path, profile: cProfile.Profile | None) -> dict[str, float]:
    from tui_pos.bootstrap.till import open_till
    from tui_pos.config import load_config
    from tui_pos.ui.app import PosApp
    from tui_pos.ui.screens.checkout import CheckoutScreen

    till = open_till(load_config(data_dir), cashier="")
    app = PosApp(till)
    sequence = scan_sequence(PREFILL + MEASURED)
    try:
        async with app.run_test(size=(COLS, ROWS)) as pilot:
            await pilot.pause()
            await pilot.press(*"demo", "enter")
            await pilot.pause(0.2)
            await pilot.press(*"1234", "enter")
            await until(pilot, lambda: isinstance(app.screen, CheckoutScreen))
            for code in sequence[:PREFILL]:
                post_scan(app, code)
            await until(pilot, lambda: len(till.cart.lines) == PREFILL)
            await pilot.pause()
            if profile:
                profile.enable()
            cpu, wall = time.process_time(), time.perf_counter()
            for n, code in enumerate(sequence[PREFILL:], start=PREFILL + 1):
                post_scan(app, code)
                await pilot.pause()  # until idle: the keys, the scan, and the render of the new line
                await until(pilot, lambda: len(till.cart.lines) == n)  # noqa: B023 (awaited in this iteration)
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            if profile:
                profile.disable()
            harness = time.process_time()
            for _ in range(MEASURED):
                await pilot.pause()  # the same wait with nothing to do: what the harness itself costs
            harness = (time.process_time() - harness) / MEASURED
            assert [line.barcode for line in till.cart.lines] == sequence, "scans were lost or reordered"
    finally:
        till.close()
    return {"cpu": cpu / MEASURED, "wall": wall / MEASURED, "harness": harness}


async def _label_cpu() -> float:
    """For scale, with the same harness: a minimal app (Header, Static, Input, Footer) whose label
    is updated and redrawn (the issue quotes ~5 ms for redrawing only a label on this machine)."""
    from textual.app import App
    from textual.widgets import Footer, Header, Input, Static

    class Label(App):
        def compose(self):
            yield Header()
            yield Static("-", id="label")
            yield Input()
            yield Footer()

    app = Label()
    async with app.run_test(size=(COLS, ROWS)) as pilot:
        await pilot.pause()
        label = app.query_one("#label", Static)
        cpu = time.process_time()
        for n in range(MEASURED):
            label.update(f"1 x item {n}")
            await pilot.pause()
        return (time.process_time() - cpu) / MEASURED


async def until(pilot, condition, timeout: float = READY_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out; screen {pilot.app.screen!r}")
        await pilot.pause()


def measure_scan_cpu(work: Path, repeats: int, profile: bool) -> tuple[list[dict[str, float]], cProfile.Profile | None]:
    """Each repeat: a fresh shop and app, 100 lines, then items 101..150 measured."""
    from tui_pos.bootstrap.shop import init_shop

    profiler = cProfile.Profile() if profile else None
    results = []
    for n in range(repeats):
        data_dir = work / f"scan-{n}"
        init_shop(data_dir, demo=True, shift_float=0)
        results.append(asyncio.run(_scan_cpu(data_dir, profiler if n == 0 else None)))
    return results, profiler


def measure_label_cpu() -> float:
    return asyncio.run(_label_cpu())


def measure_core_scan(data_dir: Path) -> float:
    """Till.scan() alone into a 100-line cart: the core and its durable cart save, no UI."""
    from tui_pos.bootstrap.till import open_till
    from tui_pos.config import load_config

    till = open_till(load_config(data_dir), cashier="bench")
    try:
        sequence = scan_sequence(PREFILL + MEASURED)
        for code in sequence[:PREFILL]:
            till.scan(code)
        cpu = time.process_time()
        for code in sequence[PREFILL:]:
            till.scan(code)
        cpu = time.process_time() - cpu
        till.cancel()
    finally:
        till.close()
    return cpu / MEASURED


# -- idle CPU -----------------------------------------------------------------------------------
def measure_idle(work: Path, data_dir: Path, seconds: float) -> dict[str, float]:
    """The real till at the checkout (logged in through the pty, three items scanned) and the
    minimal app, idle side by side over the same window."""
    pos = PtyChild(CHILD_POS, "idle", work / "pos-idle.report", str(data_dir))
    minimal = PtyChild(CHILD_MINIMAL, "idle", work / "minimal-idle.report")
    try:
        pos.wait_event("ready")
        minimal.wait_event("ready")
        pos.type("demo\r")
        time.sleep(0.5)  # at a person's pace: the PIN field takes focus first
        pos.type("1234\r")
        pos.wait_event("checkout")
        for code in scan_sequence(3):
            pos.type(code + "\r")
        time.sleep(2.0)  # let the scans, the saves and the first paints settle
        before = pos.cpu_seconds(), minimal.cpu_seconds()
        began = time.monotonic()
        time.sleep(seconds)
        after = pos.cpu_seconds(), minimal.cpu_seconds()
        elapsed = time.monotonic() - began
        alive = pos.proc.poll() is None
    finally:
        pos.kill()
        minimal.kill()
    if not alive:
        raise RuntimeError("the till exited during the idle window")
    return {"pos": (after[0] - before[0]) / elapsed, "minimal": (after[1] - before[1]) / elapsed,
            "seconds": elapsed}


# -- report -------------------------------------------------------------------------------------
def machine_facts() -> list[str]:
    import textual

    return [f"python {platform.python_version()} ({sys.executable}), textual {textual.__version__}", cpu_facts()]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="start-up runs of each app (after one warm-up each)")
    parser.add_argument("--scan-repeats", type=int, default=3, help="scan measurements (fresh app each), median")
    parser.add_argument("--idle-seconds", type=float, default=60.0, help="idle window (default 60 s)")
    parser.add_argument("--profile", action="store_true", help="also print a cProfile of the measured scans")
    parser.add_argument("--keep", action="store_true", help="keep the bench directory")
    args = parser.parse_args()

    from tui_pos.bootstrap.shop import init_shop

    with bench_directory("bench-ui-", args.keep) as work:
        print_facts("tui-pos UI benchmark", machine_facts())
        print(f"  {COLS}x{ROWS}; start-up: {args.runs} runs of each app after a warm-up; scans: items "
              f"{PREFILL + 1}..{PREFILL + MEASURED}, {args.scan_repeats} times; idle window {args.idle_seconds:g} s\n",
              flush=True)
        shops = {name: work / name for name in ("startup", "core", "idle")}
        for shop in shops.values():
            init_shop(shop, demo=True, shift_float=0)

        startup = measure_startup(work, shops["startup"], args.runs)
        scans, profiler = measure_scan_cpu(work, args.scan_repeats, args.profile)
        scan = {key: statistics.median(r[key] for r in scans) for key in scans[0]}
        core_scan = measure_core_scan(shops["core"])
        label = measure_label_cpu()
        idle = measure_idle(work, shops["idle"], args.idle_seconds)

        table = Table()
        pos_s, min_s = (statistics.median(startup[n]["seconds"]) for n in ("pos", "minimal"))
        table.add("start-up to interactive screen (median)", f"{pos_s * 1e3:.0f} ms", f"{min_s * 1e3:.0f} ms",
                  f"{pos_s / min_s:.2f}x", "<= 1.5x", pos_s / min_s <= 1.5)
        table.add("  min / max of the till's runs", f"{min(startup['pos']['seconds']) * 1e3:.0f} / "
                  f"{max(startup['pos']['seconds']) * 1e3:.0f} ms", f"{min(startup['minimal']['seconds']) * 1e3:.0f}"
                  f" / {max(startup['minimal']['seconds']) * 1e3:.0f} ms")
        pos_rss, min_rss = (statistics.median(startup[n]["rss_kb"]) for n in ("pos", "minimal"))
        table.add("peak RSS at start-up (median)", f"{pos_rss / 1024:.1f} MiB", f"{min_rss / 1024:.1f} MiB",
                  f"{pos_rss / min_rss:.2f}x", "<= 1.3x", pos_rss / min_rss <= 1.3)
        table.add(f"CPU per scanned item ({PREFILL}-line cart, median)", f"{scan['cpu'] * 1e3:.2f} ms", "-", "-",
                  "<= 15 ms", scan["cpu"] <= 0.015)
        table.add(f"  each of the {len(scans)} measurements", " / ".join(f"{r['cpu'] * 1e3:.1f}" for r in scans) + " ms")
        table.add("  of which Till.scan() alone (core + cart save)", f"{core_scan * 1e3:.2f} ms")
        table.add("  of which the harness (one idle pilot.pause())", f"{scan['harness'] * 1e3:.2f} ms")
        table.add("  for scale: a label update + redraw, minimal app", f"{label * 1e3:.2f} ms")
        table.add("  wall per scanned item (pauses included)", f"{scan['wall'] * 1e3:.2f} ms")
        table.add(f"idle CPU at the checkout over {idle['seconds']:.0f} s", f"{idle['pos'] * 100:.3f} %",
                  f"{idle['minimal'] * 100:.3f} %", "-", "<= 0.5 %", idle["pos"] <= 0.005)
        for module, package in (("PIL", "Pillow"), ("escpos", "python-escpos")):
            imported = any(startup["pos"][module])
            table.add(f"'{module}' ({package}) in sys.modules after start-up", "yes" if imported else "no",
                      "yes" if any(startup["minimal"][module]) else "no", "-", "no", not imported)
        table.print()
        if profiler:
            print(f"\ncProfile of the {MEASURED} measured scans, top by cumulative time:")
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(35)
            print("(the first measurement ran under the profiler: its figure above is inflated)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
