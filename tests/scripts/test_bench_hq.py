"""scripts/bench_hq.py runs end to end (small numbers): its pushes are what hq.push takes, and HQ ends
with every record it pushed (the script checks that itself and fails otherwise)."""

from __future__ import annotations

from tests.scripts.postgres_runs import run_with_postgres


def test_a_small_run_reports_every_figure():
    out = run_with_postgres("bench_hq.py", "--tills", "2", "--sales-per-till", "300", "--week", "300", "--batch", "100",
                            "--till-sales", "20", "--idle", "1")
    for figure in ("floor: empty round trip p50", "ingestion: 2 tills at once, sales/s",
                   "a week offline (300 sales) catching up", "sync lag p99 at 10 sales/s",
                   "Till.pay p50, sync on (floor: sync off)", "idle CPU with sync on"):
        assert figure in out
