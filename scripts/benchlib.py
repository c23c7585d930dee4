"""What the benchmark scripts share: the report table (PASS/MISS against a target), the bench
directory (made for the run, removed after it unless kept, with the run's duration), a run on a
throwaway PostgreSQL of its own (skipped, saying why, where there is none), the small timing
helpers (pct, ms, timed) and the machine's facts a report opens with."""

from __future__ import annotations

import os
import platform
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


def pct(samples: list[float], q: float) -> float:
    """The q-quantile (0 < q <= 1) of the samples: the sample below which q of them fall."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def ms(seconds: float, places: int = 2) -> str:
    return f"{seconds * 1000:.{places}f} ms"


def timed(work: Callable[[], T]) -> tuple[float, T]:
    """(the wall-clock seconds work took, what it returned)."""
    started = time.perf_counter()
    result = work()
    return time.perf_counter() - started, result


def cpu_facts() -> str:
    """The kernel, the CPUs (their model) and the load when the run began: what a figure is read against."""
    model = ""
    try:
        model = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                     if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return (f"kernel {platform.release()}, {os.cpu_count()} CPUs {model}, load average "
            + " ".join(f"{x:.2f}" for x in os.getloadavg()))


def postgres_facts(cluster: Any) -> str:
    """The throwaway PostgreSQL a run measured (its version; fsync on as a real HQ runs, or off) and
    the machine's CPUs and load, for an HQ report's opening line."""
    fsync = cluster.settings.get("fsync", "on")
    return (f"PostgreSQL {cluster.bin.parent.name} (fsync {fsync}) on {platform.machine()}, {os.cpu_count()} CPUs, "
            f"load {os.getloadavg()[0]:.2f}")


def print_facts(title: str, facts: list[str]) -> None:
    """The report's first lines: its title, then each fact of the machine and the run indented."""
    print(title)
    for fact in facts:
        print("  " + fact)


def on_throwaway_cluster(name: str, settings: dict[str, str], prefix: str, run: Callable[[Any, Path], int]) -> int:
    """run(cluster, root) on a throwaway PostgreSQL (scripts/pgcluster.py) and a new directory, both
    removed afterwards whatever happens; where PostgreSQL cannot be had, "NAME: skipped: why" and 0
    (a report, not a failure)."""
    from pgcluster import Unavailable, new_cluster

    try:
        cluster = new_cluster(settings)
    except Unavailable as why:
        print(f"{name}: skipped: {why}")
        return 0
    try:
        with bench_directory(prefix, keep=False) as root:
            return run(cluster, root)
    finally:
        cluster.remove()


@contextmanager
def bench_directory(prefix: str, keep: bool, parent: Path | None = None) -> Iterator[Path]:
    """A new directory for the run (in `parent`, made if missing; else the system's temporary
    directory); afterwards, whatever happened, "finished in N s" when the run got through, then the
    directory removed, or kept (`keep`: --keep) and said so."""
    if parent is not None:
        parent.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix=prefix, dir=parent)).resolve()
    began = time.perf_counter()
    try:
        yield root
        print(f"\nfinished in {time.perf_counter() - began:.1f} s")
    finally:
        if keep:
            print(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


class Table:
    def __init__(self) -> None:
        self.rows: list[tuple[str, ...]] = []

    def add(self, metric: str, value: str, floor: str = "-", ratio: str = "-", target: str = "-",
            ok: bool | None = None) -> None:
        self.rows.append((metric, value, floor, ratio, target, "info" if ok is None else "PASS" if ok else "MISS"))

    def print(self) -> None:
        header = ("metric", "value", "floor", "ratio", "target", "result")
        widths = [max(len(r[i]) for r in self.rows + [header]) for i in range(len(header))]
        fmt = "  ".join(f"{{:{'<' if i == 0 else '>'}{w}}}" for i, w in enumerate(widths))
        print(fmt.format(*header))
        print("  ".join("-" * w for w in widths))
        for row in self.rows:
            print(fmt.format(*row))
