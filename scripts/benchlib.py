"""What the benchmark scripts share: the report table (PASS/MISS against a target) and the bench
directory (made for the run, removed after it unless kept, with the run's duration)."""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


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
