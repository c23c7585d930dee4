"""scripts/bench_hq_stock.py runs end to end (small numbers): the year is built through HQ's own
stock function, and every figure is reported."""

from __future__ import annotations

from tests.scripts.postgres_runs import run_with_postgres


def test_a_small_run_reports_every_figure():
    out = run_with_postgres("bench_hq_stock.py", "--sales", "3000", "--products", "300", "--runs", "10")
    assert "3,000 sales" in out
    for figure in ("floor: empty round trip p50", "on hand of one product at the shop p50",
                   "low-stock list of the shop", "anomaly report, December"):
        assert figure in out
