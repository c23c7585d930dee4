"""scripts/pay_demo.py (`make pay-demo`): the demo shop paid by code against the local gateway
simulators; here through its --sell mode (the CLI instead of the till's screen)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "pay_demo.py"


def demo(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], dict[str, str], dict[str, str]]:
    proc = subprocess.run([sys.executable, str(SCRIPT), "--dir", str(tmp_path / "shop"), *args],
                          capture_output=True, text=True, timeout=120)
    lines = {line.split(":", 1)[0]: line.split(":", 1)[1] for line in proc.stdout.splitlines() if ":" in line}
    charged = json.loads(lines.get("Charged at the simulators", "{}"))
    recorded = json.loads(lines.get("Recorded paid by the till", "{}"))
    return proc, charged, recorded


def test_a_code_sale_is_charged_once_and_recorded_as_charged(tmp_path: Path):
    proc, charged, recorded = demo(tmp_path, "--sell", "284567890123456789")
    assert proc.returncode == 0, proc.stderr
    assert len(charged) == 1 and list(charged.values()) == ["3.50"]
    assert recorded == charged
    again, charged_again, _ = demo(tmp_path, "--sell", "134567890123456789")  # the demo directory is replaced
    assert again.returncode == 0, again.stderr
    assert list(charged_again.values()) == ["3.50"] and charged_again.keys() != charged.keys()


def test_a_refused_code_is_no_sale_and_no_charge(tmp_path: Path):
    proc, charged, recorded = demo(tmp_path, "--sell", "134567890123456789", "--fault", "fail")
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert charged == {} and recorded == {}


def test_a_directory_it_did_not_make_is_left_alone(tmp_path: Path):
    (tmp_path / "shop").mkdir()
    (tmp_path / "shop" / "precious").write_text("x")
    proc, _, _ = demo(tmp_path, "--sell", "284567890123456789")
    assert proc.returncode != 0 and "not a demo directory" in proc.stderr
    assert (tmp_path / "shop" / "precious").exists()


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in path.read_text().split()] if path.exists() else []


def test_sigterm_ends_the_till_it_started_and_its_simulators(tmp_path: Path):
    """Killed (SIGTERM) while its till waits for the customer: the till child does not outlive it."""
    demo = subprocess.Popen([sys.executable, str(SCRIPT), "--dir", str(tmp_path / "shop"), "--sell",
                             "284567890123456789", "--paying-for", "120"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline, selling = time.monotonic() + 120, None
        while selling is None:  # the sale's child, charging a customer who confirms in 2 minutes
            assert demo.poll() is None and time.monotonic() < deadline, demo.stderr.read() if demo.stderr else ""
            for child in children(demo.pid):
                try:
                    if b"sell" in Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0"):
                        selling = child
                except FileNotFoundError:
                    pass
            time.sleep(0.05)
        os.kill(demo.pid, signal.SIGTERM)
        assert demo.wait(timeout=60) == 128 + signal.SIGTERM
        assert not Path(f"/proc/{selling}").exists(), "the till child outlived pay_demo"
    finally:
        if demo.poll() is None:
            demo.kill()
        demo.communicate()
