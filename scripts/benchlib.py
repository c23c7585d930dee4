"""What the benchmark scripts share: the report table (PASS/MISS against a target)."""

from __future__ import annotations


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
