"""scripts/bench_stock.py runs end to end (a small year, its own cache): every figure is reported
with its target, and a second run takes the year from the cache instead of building it again."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "bench_stock.py"


def run(cache: Path) -> str:
    proc = subprocess.run([sys.executable, str(SCRIPT), "--sales", "3000", "--runs", "10", "--cache", str(cache)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_a_small_year_reports_every_figure_and_is_kept_for_the_next_run(tmp_path):
    first = run(tmp_path / "cache")
    assert "year: 3000 sales" in first and "generated in" in first
    for figure in ("on hand of one product p50", "low-stock list (alerts' read)", "anomalies, December",
                   "anomalies, January", "margin report, December"):
        assert figure in first, first
    assert first.count("<= 1 s") == 2  # both months judged against the month's target
    assert "taken from the cache" in run(tmp_path / "cache")
