"""scripts/chain.py (`make chain`): a throwaway PostgreSQL and two tills syncing to it, for real, one
round, then stopped."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


def test_one_round_of_the_chain_demo_sells_on_both_tills_and_stops_cleanly(tmp_path: Path):
    from pgcluster import Unavailable, check_available

    try:
        check_available()
    except Unavailable as why:
        pytest.skip(str(why))
    done = subprocess.run([sys.executable, str(SCRIPTS / "chain.py"), "--dir", str(tmp_path / "chain"),
                           "--rounds", "1", "--sell-every", "0.1"], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "/t1 hq join 'host=127.0.0.1" in done.stdout  # the real commands, shown as run
    commands = [line for line in done.stdout.splitlines() if line.startswith("$ ")]
    assert commands and not [c for c in commands if "password" in c]  # kept off the command lines
    for till in ("T1", "T2"):  # sold, then synced: HQ has the till's every commit
        [line] = [x for x in done.stdout.splitlines() if x.startswith(f"[1] {till} sold {till}-000001; sync: pushed ")]
        assert ", pending 0, " in line and line.endswith(" (synced)"), line
        assert any(x.split()[:3] == ["S1", till, "ok"] for x in done.stdout.splitlines())  # as `hq tills` shows it
    assert (tmp_path / "chain" / "t1" / "hq" / "secret.json").exists()
    assert "Traceback" not in done.stdout + done.stderr


def test_a_directory_that_is_not_the_demos_is_never_replaced(tmp_path: Path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "keep.txt").write_text("mine")
    done = subprocess.run([sys.executable, str(SCRIPTS / "chain.py"), "--dir", str(tmp_path / "mine"), "--rounds", "1"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0 and "is not a chain demo's" in done.stderr
    assert (tmp_path / "mine" / "keep.txt").read_text() == "mine"
