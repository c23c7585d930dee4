"""scripts/bench_payments.py runs end to end (small numbers) and prints every figure: the floor, each
gateway's scan-to-paid total, its own time, the till's overhead against the target, and the syncs
of each step. The script checks itself that every simulator charge is in a stored sale."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


def test_a_small_run_reports_every_figure(tmp_path: Path):
    done = subprocess.run([sys.executable, str(SCRIPTS / "bench_payments.py"), "--dir", str(tmp_path), "--payments", "5",
                           "--http-payments", "3", "--floor-iters", "20", "--sync-payments", "3"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "floor: write 100 B + fdatasync p50 / p99" in out
    for gateway in ("in-process gateway (instant)", "Alipay simulator (HTTP)", "WeChat Pay simulator (HTTP)"):
        assert f"{gateway}: scan -> paid, total p50 / p99" in out
    assert out.count("till's own overhead, scan -> paid p50") == 3
    assert out.count("<= 20 ms") == 3 and ("PASS" in out or "MISS" in out)
    assert out.count("... and the sale stored, own p50 / p99") == 3
    assert "the simulators charged 26 trades, each once, each in a stored sale" in out
    assert "syncs per payment: start / advance (-> paid) / pay" in out or "SKIPPED, strace" in out
    assert list(tmp_path.iterdir()) == [], "the bench directory is removed"
