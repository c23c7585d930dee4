"""scripts/bench_hq_stock.py runs end to end (small numbers): the year is built through HQ's own
stock function, and every figure is reported."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


def test_a_small_run_reports_every_figure():
    from pgcluster import Unavailable, check_available

    try:
        check_available()
    except Unavailable as why:
        pytest.skip(str(why))
    done = subprocess.run([sys.executable, str(SCRIPTS / "bench_hq_stock.py"), "--sales", "3000", "--products", "300",
                           "--runs", "10"], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "3,000 sales" in done.stdout
    for figure in ("floor: empty round trip p50", "on hand of one product at the shop p50",
                   "low-stock list of the shop", "anomaly report, December"):
        assert figure in done.stdout
