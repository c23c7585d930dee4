"""A real `tui-pos` process stopped (SIGSTOP, as Ctrl-Z does) at a named crash point, for the
signal and lock tests: started with TUI_POS_STOP_AT, waited for until the kernel reports it
stopped, then sent signals and continued."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

DEADLINE_S = 60  # generous: the machine is shared


def process_state(pid: int) -> str:
    """The one-letter state from /proc (T: stopped); '' once it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return text.rsplit(")", 1)[1].split()[0]


def start_stopped(data_dir: Path, point: str, *args: str) -> subprocess.Popen[str]:
    """Start `tui-pos ARGS` and return once it has stopped itself at `point`."""
    env = {**os.environ, "TUI_POS_DATA_DIR": str(data_dir), "TUI_POS_STOP_AT": point}
    proc = subprocess.Popen([sys.executable, "-m", "tui_pos", *args], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + DEADLINE_S
    while process_state(proc.pid) != "T":
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()  # first: a process that never stopped would outlive the test
            out, err = proc.communicate(timeout=DEADLINE_S)
            raise AssertionError(f"tui-pos {' '.join(args)} never stopped at {point} "
                                 f"(exit {proc.returncode}): {out} {err}")
        time.sleep(0.02)  # waiting for a condition, with a deadline
    return proc


def signal_and_continue(proc: subprocess.Popen[str], *signals: int) -> tuple[int, str, str]:
    """Queue signals while it is stopped, continue it, and return (exit status, stdout, stderr)."""
    for signum in signals:
        os.kill(proc.pid, signum)
    os.kill(proc.pid, signal.SIGCONT)
    out, err = proc.communicate(timeout=DEADLINE_S)
    return proc.returncode, out, err
