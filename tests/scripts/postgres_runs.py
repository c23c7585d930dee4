"""Running a script of scripts/ that needs a throwaway PostgreSQL (the HQ benches), as the tests of
those scripts do: skipped, saying why, where PostgreSQL cannot be had (CI installs it); otherwise
run to its end, which must be a success."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


def run_with_postgres(script: str, *args: str, timeout: float = 600) -> str:
    """scripts/SCRIPT run with these arguments: its output (the test fails if it did not exit 0)."""
    from pgcluster import Unavailable, check_available

    try:
        check_available()
    except Unavailable as why:
        pytest.skip(str(why))
    done = subprocess.run([sys.executable, str(SCRIPTS / script), *args], capture_output=True, text=True,
                          timeout=timeout)
    assert done.returncode == 0, done.stderr
    return done.stdout
