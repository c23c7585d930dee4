"""End-to-end: the real `tui-pos` in tmux is stopped the ways a till is stopped (issue 6, "Start
at boot and stay up"): SIGTERM from systemd, SIGHUP from a closed terminal, SIGINT from `kill
-INT`, and the tmux server itself going away. Each time it must leave cleanly (exit status 0, the
terminal given back) and keep the sale in progress, which the next start restores.

The till runs under `sh -c '...; echo $? > exit-status'` so its exit status can be read; the
signal is sent to the till's own pid, found the way support finds it (the instance lock).
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import COLA, WATER, cli_json, open_shift_in, run_cli
from tui_pos.ops.instance import running_pid

from .tmux import TmuxTill, log_in, wait_until


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    data_dir = tmp_path / "shop"
    run_cli(data_dir, "init", "--demo")
    open_shift_in(data_dir)
    return data_dir


@pytest.fixture
def tmux_till():
    till = TmuxTill()
    yield till
    till.close()


def start(till: TmuxTill, data_dir: Path, window: str) -> Path:
    """The till in a new tmux window (a session at the first call); returns where its exit status goes."""
    status_file = data_dir.parent / f"exit-status-{window}"
    till_command = shlex.join(["env", "TERM=screen-256color", f"TUI_POS_DATA_DIR={data_dir}",
                               sys.executable, "-m", "tui_pos"])
    command = f"{till_command}; echo $? > {shlex.quote(str(status_file))}"
    if window == "first":
        till.tmux("new-session", "-d", "-x", "80", "-y", "24", "-s", "till", "-n", window, command)
        till.tmux("set-option", "-t", "till", "remain-on-exit", "on")
    else:
        till.tmux("new-window", "-t", "till", "-n", window, command)
    till.wait_for(r"┌.*Log in .*PIN .*┘")
    return status_file


def pane(till: TmuxTill, fmt: str) -> str:
    return till.tmux("display-message", "-p", "-t", "till", fmt).strip()


@pytest.mark.parametrize("signal_name", ["SIGTERM", "SIGHUP", "SIGINT"])
def test_a_stop_signal_exits_0_restores_the_terminal_and_keeps_the_sale(signal_name, shop, tmux_till) -> None:
    status_file = start(tmux_till, shop, "first")
    log_in(tmux_till)
    tmux_till.keys(COLA, "Enter", WATER, "Enter")
    tmux_till.wait_for(r"Items 2 ")
    assert pane(tmux_till, "#{alternate_on}") == "1"  # Textual holds the terminal

    pid = wait_until(lambda: running_pid(shop), 10, "the till's instance lock")
    os.kill(pid, getattr(signal, signal_name))

    assert wait_until(lambda: status_file.exists() and status_file.read_text().strip(), 15,
                      "the till to exit") == "0"
    # the terminal is given back: main screen, no mouse reporting left on
    assert (pane(tmux_till, "#{alternate_on}"), pane(tmux_till, "#{mouse_any_flag}")) == ("0", "0")
    assert running_pid(shop) is None
    cart = cli_json(shop, "status")["cart"]
    assert [line["barcode"] for line in cart["lines"]] == [COLA, WATER]


def test_sigterm_while_paying_keeps_the_payment_taken_and_the_next_start_restores_it(shop, tmux_till) -> None:
    """SIGTERM on the tender screen, a part payment taken: the next till shows the same sale,
    and paying the rest stores it with both payments. Before that, beside the running till: a
    second till UI is refused and the monitor sees the sale in progress."""
    start(tmux_till, shop, "first")
    log_in(tmux_till)
    tmux_till.keys(COLA, "Enter", WATER, "Enter")  # 3.50 + 2.00 = 5.50
    tmux_till.wait_for(r"Items 2 ")
    tmux_till.keys("F10")
    tmux_till.wait_for(r"TO PAY ")
    tmux_till.keys("5", "Enter")  # 5.00 in cash: 0.50 left
    tmux_till.wait_for(r"1\. cash +￥5\.00")
    pid = wait_until(lambda: running_pid(shop), 10, "the instance lock")

    # beside it: a second till UI refuses, the monitor reads the sale in progress, payment included
    second = run_cli(shop, check=False, timeout=30)
    socket = Path(os.environ.get("TMUX_TMPDIR") or "/tmp") / f"tmux-{os.getuid()}" / tmux_till.socket
    assert second.returncode == 1 and second.stdout == ""
    assert re.fullmatch(rf"Error: a till is already running on {re.escape(str(shop))} \(pid {pid} since [^)]+\); "
                        rf"attach read-only with: tmux -S {re.escape(str(socket))} attach -r -t till\n", second.stderr)
    snapshot = cli_json(shop, "monitor")
    assert snapshot["till_running_pid"] == pid
    assert [line["barcode"] for line in snapshot["cart"]["lines"]] == [COLA, WATER]
    assert [(t["kind"], t["amount"]) for t in snapshot["cart"]["tenders"]] == [("cash", "5.00")]

    os.kill(pid, signal.SIGTERM)
    wait_until(lambda: running_pid(shop) is None, 15, "the till to exit")

    start(tmux_till, shop, "second")
    log_in(tmux_till)
    tmux_till.wait_for(r"Items 2 ")
    tmux_till.keys("F10")
    tmux_till.wait_for(r"1\. cash +￥5\.00 .*TO PAY")
    tmux_till.keys("Enter")  # the rest, exactly: 0.50
    tmux_till.wait_for(r"Sale T1-000001 paid: total ￥5\.50")
    sales = cli_json(shop, "sales")
    assert [(s["receipt"], s["total"]) for s in sales] == [("T1-000001", "5.50")]


def test_the_tmux_server_going_away_mid_redraw_stops_the_till_and_keeps_the_sale(shop, tmux_till) -> None:
    """`systemctl stop` ends the tmux server too: the till's terminal hangs up under it, here while
    it is still drawing a burst of scans. The kernel sends SIGHUP and SIGCONT to the till (the
    pane's own process, as in the unit); it must exit, not hang with its lock held."""
    command = shlex.join(["env", "TERM=screen-256color", f"TUI_POS_DATA_DIR={shop}", sys.executable, "-m", "tui_pos"])
    tmux_till.tmux("new-session", "-d", "-x", "80", "-y", "24", "-s", "till", command)
    tmux_till.wait_for(r"┌.*Log in .*PIN .*┘")
    log_in(tmux_till)
    tmux_till.keys(COLA, "Enter")
    tmux_till.wait_for(r"Items 1 ")
    tmux_till.keys(*[key for _ in range(20) for key in (WATER, "Enter")])

    tmux_till.tmux("kill-server")
    wait_until(lambda: running_pid(shop) is None, 15, "the till to exit")
    lines = [line["barcode"] for line in cli_json(shop, "status")["cart"]["lines"]]
    assert lines[0] == COLA and set(lines[1:]) <= {WATER}  # every scan it took is kept


def test_a_till_that_gets_no_sighup_still_leaves_when_its_terminal_goes_away(shop, tmux_till) -> None:
    """Issue 10.1: the kernel sends SIGHUP only to the session leader. Started the README's way
    (`make` -> `sh` -> `tui-pos`) under a leader that ignores SIGHUP (make, with SIGHUP ignored
    by whatever started it), nothing reaches the till when the tmux server dies: it used to spin
    on its dead terminal for ever, holding the data directory. It must leave by itself, cart saved."""
    status_file = shop.parent / "exit-status"
    till_command = shlex.join(["env", "TERM=screen-256color", f"TUI_POS_DATA_DIR={shop}", sys.executable, "-m", "tui_pos"])
    tmux_till.tmux("new-session", "-d", "-x", "80", "-y", "24", "-s", "till",
                   f"trap '' HUP; {till_command}; echo $? > {shlex.quote(str(status_file))}")
    tmux_till.wait_for(r"┌.*Log in .*PIN .*┘")
    log_in(tmux_till)
    tmux_till.keys(COLA, "Enter")
    tmux_till.wait_for(r"Items 1 ")
    pid = wait_until(lambda: running_pid(shop), 10, "the instance lock")

    tmux_till.tmux("kill-server")
    assert wait_until(lambda: status_file.exists() and status_file.read_text().strip(), 30,
                      "the till to exit") == "0"
    assert not Path(f"/proc/{pid}").exists() and running_pid(shop) is None
    assert "the terminal hung up" in (shop / "logs" / "tui-pos.log").read_text()
    assert [line["barcode"] for line in cli_json(shop, "status")["cart"]["lines"]] == [COLA]


def test_the_refusal_gives_a_read_only_attach_command_that_works(shop, tmux_till) -> None:
    """Issue 10.21: the second till's message names the tmux session; the command as printed
    attaches a read-only client to the running till."""
    start(tmux_till, shop, "first")
    second = run_cli(shop, check=False, timeout=30)
    command = re.search(r"attach read-only with: (.*)$", second.stderr.strip()).group(1)
    assert command.endswith(" attach -r -t till")
    viewer = subprocess.Popen(["script", "-qec", command, "/dev/null"], stdin=subprocess.PIPE,
                              stdout=subprocess.DEVNULL, env={**tmux_till.env, "TERM": "screen"})
    try:
        clients = wait_until(lambda: tmux_till.tmux("list-clients", "-F", "#{session_name} #{client_readonly}"),
                             15, "the read-only client")
        assert clients.split() == ["till", "1"]
    finally:
        viewer.kill()
        viewer.wait()


def test_sigtstp_and_sigcont_change_nothing_a_till_is_never_suspended(shop, tmux_till) -> None:
    start(tmux_till, shop, "first")
    log_in(tmux_till)
    pid = wait_until(lambda: running_pid(shop), 10, "the instance lock")
    for number in (signal.SIGTSTP, signal.SIGCONT):
        os.kill(pid, number)
        time.sleep(0.5)
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        assert (state, pane(tmux_till, "#{alternate_on}")) != ("T", "0"), f"suspended by {number!r}"
        assert pane(tmux_till, "#{alternate_on}") == "1"  # still drawn
    tmux_till.keys(COLA, "Enter")
    tmux_till.wait_for(r"Items 1 ")
