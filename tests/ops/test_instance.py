"""One till UI per data directory (issue 6), with real processes: a second `tui-pos` refuses
before Textual takes the terminal, the CLI keeps working beside the till, and finding the till
never takes its lock."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import AS_DEMO, COLA, cli_json, run_cli
from tui_pos.ops.instance import INSTANCE_LOCK, TillInstanceLock, TillRunning, running_pid, running_till

TMUX_SOCKET = "/run/tui-pos/tmux.sock"


def hold_instance_lock(data_dir: Path, tmux: str | None = None, stdin: int | None = None,
                       deaf: bool = False) -> subprocess.Popen[str]:
    """Another process holds the till's instance lock (as a running till UI does) until killed;
    on a terminal when stdin is a pty; deaf to SIGTERM (a hung till) when asked."""
    env = {**os.environ}
    env.pop("TMUX", None)
    if tmux:
        env["TMUX"] = tmux
    code = textwrap.dedent(f"""
        import signal, sys, time
        from tui_pos.ops.instance import TillInstanceLock
        if {deaf}:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        lock = TillInstanceLock({str(data_dir)!r})
        lock.acquire()
        print("held", flush=True)
        time.sleep(600)
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=env,
                            stdin=stdin if stdin is not None else subprocess.DEVNULL)
    assert proc.stdout.readline().strip() == "held"
    return proc


@pytest.fixture
def holder(shop_dir: Path):
    procs: list[subprocess.Popen[str]] = []

    def start(tmux: str | None = None) -> subprocess.Popen[str]:
        procs.append(hold_instance_lock(shop_dir, tmux))
        return procs[-1]

    yield start
    for proc in procs:
        proc.kill()
        proc.wait()


def test_nobody_holds_a_fresh_data_directory(shop_dir: Path) -> None:
    assert running_pid(shop_dir) is None
    assert running_till(shop_dir) is None
    assert running_pid(shop_dir / "no-such-dir") is None


def test_running_till_names_the_holder_its_start_and_its_tmux_socket(shop_dir: Path, holder) -> None:
    proc = holder(tmux=f"{TMUX_SOCKET},4242,0")
    till = running_till(shop_dir)
    assert till is not None and till.pid == proc.pid == running_pid(shop_dir)
    assert till.tmux_socket == TMUX_SOCKET
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", till.since)
    assert oct((shop_dir / INSTANCE_LOCK).stat().st_mode & 0o777) == "0o600"


def test_a_second_till_ui_refuses_in_one_line_before_taking_the_terminal(shop_dir: Path, holder) -> None:
    proc = holder(tmux=f"{TMUX_SOCKET},4242,0")
    since = running_till(shop_dir).since
    second = run_cli(shop_dir, check=False, timeout=30)  # `tui-pos` with no command: the till UI
    assert second.returncode == 1
    assert second.stdout == ""  # Textual never started: nothing was drawn
    assert second.stderr == (f"Error: a till is already running on {shop_dir} (pid {proc.pid} since {since}); "
                             f"attach read-only with: tmux -S {TMUX_SOCKET} attach -r -t '$0'\n")


def test_outside_tmux_the_refusal_points_to_the_monitor(shop_dir: Path, holder) -> None:
    proc = holder()
    second = run_cli(shop_dir, check=False, timeout=30)
    assert second.returncode == 1
    assert second.stderr.endswith(f"(pid {proc.pid} since {running_till(shop_dir).since}); "
                                  "watch it with: tui-pos monitor\n")


def test_the_command_line_keeps_working_beside_a_running_till(shop_dir: Path, holder) -> None:
    proc = holder()
    sold = cli_json(shop_dir, "sell", *AS_DEMO, "--item", f"{COLA}x2", "--tender", "cash:10")
    assert (sold["receipt"], sold["total"], sold["change"]) == ("T1-000001", "7.00", "3.00")
    assert [s["receipt"] for s in cli_json(shop_dir, "sales")] == ["T1-000001"]
    assert cli_json(shop_dir, "status")["last_sale"]["receipt"] == "T1-000001"
    snapshot = cli_json(shop_dir, "monitor", "--once")
    assert snapshot["till_running_pid"] == proc.pid
    assert [s["receipt"] for s in snapshot["recent_sales"]] == ["T1-000001"]


def test_a_till_that_died_leaves_no_lock_behind(shop_dir: Path, holder) -> None:
    """SIGKILL (a crash, a power cut): the kernel drops the flock; the record left in the file
    does not make the directory look taken."""
    proc = holder()
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert (shop_dir / INSTANCE_LOCK).read_text()  # the dead till's record is still there
    assert running_pid(shop_dir) is None
    with TillInstanceLock(shop_dir):
        assert running_pid(shop_dir) == os.getpid()


def test_a_till_whose_terminal_hung_up_is_stopped_and_the_next_start_takes_the_lock(shop_dir: Path) -> None:
    """Issue 10.1: a till that lost its terminal (the SSH session or tmux server gone) and hangs,
    deaf even to SIGTERM, must not block the next start forever: it is stopped, the lock taken."""
    master, slave = os.openpty()
    terminal = os.ttyname(slave)
    proc = hold_instance_lock(shop_dir, stdin=slave, deaf=True)
    os.close(slave)
    try:
        assert running_till(shop_dir).tty == terminal
        with pytest.raises(TillRunning):  # its terminal is alive: refused, and left alone
            TillInstanceLock(shop_dir).acquire()
        assert proc.poll() is None
        os.close(master)  # the terminal hangs up
        master = -1
        with TillInstanceLock(shop_dir):
            assert running_pid(shop_dir) == os.getpid()
            assert proc.wait(timeout=30) == -signal.SIGKILL  # SIGTERM was ignored: killed
    finally:
        if master >= 0:
            os.close(master)
        proc.kill()
        proc.wait()


def test_a_second_lock_in_the_same_process_is_refused_too(shop_dir: Path) -> None:
    with TillInstanceLock(shop_dir), pytest.raises(TillRunning, match=rf"\(pid {os.getpid()} since "):
        TillInstanceLock(shop_dir).acquire()
    with TillInstanceLock(shop_dir):  # released on exit: taken again
        pass


def test_asking_who_runs_the_till_never_makes_a_starting_till_fail(shop_dir: Path) -> None:
    """A monitor asks running_pid() in a loop while a till takes and drops its lock 300 times:
    had running_pid() taken the lock even briefly (a LOCK_SH probe), some LOCK_NB would fail."""
    asker = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        from tui_pos.ops.instance import running_pid
        print("asking", flush=True)
        while True:
            running_pid({str(shop_dir)!r})
    """)], stdout=subprocess.PIPE, text=True)
    try:
        assert asker.stdout.readline().strip() == "asking"
        for _ in range(300):
            with TillInstanceLock(shop_dir):
                pass
    finally:
        asker.kill()
        asker.wait()
