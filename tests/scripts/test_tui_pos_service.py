"""scripts/tui-pos.service (issue 6, "Start at boot and stay up"): systemd accepts it, and its own
ExecStart and Environment, run the way systemd runs them (the main process a tmux client on a
terminal), give what the unit promises: the till in tmux with the console theme, nothing typed on
the till's keyboard reaching tmux, support attached read-only without resizing the till, and the
main process ending when the till ends (which is what makes Restart=always start it again).
"""

from __future__ import annotations

import fcntl
import os
import re
import shlex
import shutil
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path

import pytest

from conftest import CONSOLE_MISSING_GLYPHS
from tui_pos.ops.instance import running_pid

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"
UNIT = SCRIPTS / "tui-pos.service"
SOCKET = "/run/tui-pos/tmux.sock"  # what the README and sudoers give support


def unit_settings() -> dict[str, list[str]]:
    settings: dict[str, list[str]] = {}
    for key, value in re.findall(r"^(\w+)=(.*)$", UNIT.read_text(), re.M):
        settings.setdefault(key, []).append(value)
    return settings


@pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                    reason="systemd-analyze is not installed (CI installs systemd: Makefile TEST_DEBS)")
def test_systemd_analyze_verify_accepts_the_unit() -> None:
    proc = subprocess.run(["systemd-analyze", "verify", str(UNIT)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "tui-pos.service" not in proc.stdout + proc.stderr  # no warning about it either


def test_the_unit_takes_tty1_from_getty_and_never_stops_restarting() -> None:
    unit = unit_settings()
    assert unit["Conflicts"] == ["getty@tty1.service"] and "getty@tty1.service" in unit["After"][0].split()
    assert (unit["TTYPath"], unit["StandardInput"]) == (["/dev/tty1"], ["tty"])
    assert (unit["Restart"], unit["StartLimitIntervalSec"]) == (["always"], ["0"])
    assert (unit["User"], unit["WantedBy"]) == (["tui-pos"], ["multi-user.target"])
    environment = dict(item.split("=", 1) for line in unit["Environment"] for item in shlex.split(line))
    assert environment == {"LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "TERM": "linux",
                           "TUI_POS_DATA_DIR": "/var/lib/tui-pos"}


class Terminal:
    """A pseudo-terminal of a given size running one command as its session leader (like tty1
    for the unit's main process), its output drained so the command never blocks on it."""

    def __init__(self, argv: list[str], env: dict[str, str], columns: int, rows: int):
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
        self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True,
                                     preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0))
        os.close(slave)
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        try:
            while os.read(self.master, 65536):
                pass
        except OSError:
            pass  # the command ended: the terminal hung up

    def type(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)
        os.close(self.master)


def tmux_on(socket: str, *args: str) -> str:
    return subprocess.run(["tmux", "-S", socket, *args], capture_output=True, text=True, check=True,
                          timeout=30).stdout.strip()


def wait_for(condition, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def unit_env(shop_dir: Path) -> dict[str, str]:
    """The environment the unit gives its command, with the test's shop as the data directory."""
    env = {key: value for key, value in os.environ.items() if key != "TMUX"}
    env.update(item.split("=", 1) for line in unit_settings()["Environment"] for item in shlex.split(line))
    env["TUI_POS_DATA_DIR"] = str(shop_dir)
    return env


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed (CI installs it: Makefile TEST_DEBS)")
def test_the_units_command_runs_the_till_in_tmux_as_the_unit_promises(shop_dir: Path, tmp_path: Path) -> None:
    unit = unit_settings()
    socket = str(tmp_path / "tmux.sock")
    paths = {"/opt/tui-pos/tmux.conf": [str(SCRIPTS / "tui-pos-tmux.conf")], SOCKET: [socket],
             "/opt/tui-pos/venv/bin/tui-pos": [sys.executable, "-m", "tui_pos"]}
    (exec_start,) = unit["ExecStart"]
    argv = [part for word in shlex.split(exec_start) for part in paths.get(word, [word])]
    assert SOCKET in shlex.split(exec_start) and argv[0] == "/usr/bin/tmux"
    env = unit_env(shop_dir)

    def tmux(*args: str) -> str:
        return tmux_on(socket, *args)

    def screen() -> str:
        return tmux("capture-pane", "-p", "-t", "till")

    tty1 = Terminal(argv, env, columns=80, rows=25)
    support: Terminal | None = None
    try:
        wait_for(lambda: os.path.exists(socket) and "PIN" in screen(), "the login screen")
        wait_for(lambda: "┘" in screen(), "the whole login box")
        assert not set(screen()) & CONSOLE_MISSING_GLYPHS  # TERM=linux reached the till: console theme
        assert [tmux("show-options", "-gv", option) for option in ("status", "prefix", "escape-time")] == \
               ["off", "None", "0"]
        assert not re.search(r"-T (prefix|root) ", tmux("list-keys"))  # no key of the till's keyboard is tmux's

        support = Terminal(["tmux", "-S", socket, "attach", "-r", "-t", "till"], env, columns=120, rows=40)
        wait_for(lambda: tmux("list-clients", "-F", "#{client_readonly}").split() in (["0", "1"], ["1", "0"]),
                 "the read-only client")
        support.type("zq7")
        time.sleep(0.5)
        assert tmux("display-message", "-p", "-t", "till", "#{window_width}x#{window_height}") == "80x25"
        assert "zq7" not in screen()  # nothing typed by support reaches the till
        tty1.type("zq7")
        wait_for(lambda: "zq7" in screen(), "the till's own keyboard")

        os.kill(running_pid(shop_dir), signal.SIGTERM)  # the till ends: so must the unit's main process
        assert tty1.proc.wait(timeout=20) == 0
        assert support.proc.wait(timeout=20) == 0
    finally:
        for terminal in (support, tty1):
            if terminal is not None:
                terminal.close()
        subprocess.run(["tmux", "-S", socket, "kill-server"], capture_output=True, timeout=30)


CHINESE_CONSOLE = SCRIPTS / "tui-pos-chinese-console.conf"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None or not Path("/usr/bin/fbterm").exists(),
                    reason="systemd-analyze or fbterm is not installed (CI installs both: Makefile TEST_DEBS)")
def test_systemd_analyze_verify_accepts_the_unit_with_the_chinese_console_drop_in(tmp_path: Path) -> None:
    """Issue 16: the unit and its drop-in as systemd merges them (verify reads the drop-in beside
    the unit file: a bad line in it fails here, shown by a broken copy)."""
    shutil.copy(UNIT, tmp_path / "tui-pos.service")
    (tmp_path / "tui-pos.service.d").mkdir()
    drop_in = tmp_path / "tui-pos.service.d" / "chinese-console.conf"
    shutil.copy(CHINESE_CONSOLE, drop_in)
    proc = subprocess.run(["systemd-analyze", "verify", str(tmp_path / "tui-pos.service")], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0 and "tui-pos.service" not in proc.stdout + proc.stderr, proc.stderr
    drop_in.write_text(CHINESE_CONSOLE.read_text().replace("ExecStart=\n", ""))  # two ExecStart lines: refused
    broken = subprocess.run(["systemd-analyze", "verify", str(tmp_path / "tui-pos.service")], capture_output=True,
                            text=True, timeout=60)
    assert broken.returncode != 0 and "ExecStart" in broken.stderr


def test_the_chinese_console_keeps_the_unit_unprivileged_and_replaces_only_the_command() -> None:
    settings: dict[str, list[str]] = {}
    for key, value in re.findall(r"^(\w+)=(.*)$", CHINESE_CONSOLE.read_text(), re.M):
        settings.setdefault(key, []).append(value)
    assert set(settings) == {"Description", "SupplementaryGroups", "ExecStart"}  # User, NoNewPrivileges... unchanged
    assert settings["SupplementaryGroups"] == ["video"]  # the frame buffer, nothing more
    empty, command = settings["ExecStart"]
    argv = shlex.split(command)
    assert empty == "" and argv[:3] == ["/usr/bin/env", "HOME=/run/tui-pos", "/usr/bin/fbterm"]
    assert "--font-names=WenQuanYi Zen Hei Mono" in argv
    inner = argv[argv.index("--") + 1:]
    (unit_command,) = unit_settings()["ExecStart"]
    assert inner[:3] == ["/usr/bin/env", "HOME=/var/lib/tui-pos", "TERM=fbterm"]
    assert inner[3:] == [*shlex.split(unit_command)[:-2], "TERM=tmux-256color", "/opt/tui-pos/venv/bin/tui-pos"]


@pytest.mark.skipif(shutil.which("tmux") is None or shutil.which("infocmp") is None
                    or subprocess.run(["infocmp", "fbterm"], capture_output=True).returncode != 0,
                    reason="tmux or fbterm's terminfo is not installed (CI installs both: Makefile TEST_DEBS)")
def test_inside_fbterm_the_till_draws_chinese_and_finds_it_by_pinyin(shop_dir: Path, tmp_path: Path) -> None:
    """What the drop-in runs inside fbterm (no frame buffer here: the terminal is a pty), run as
    it is: tmux told TERM=fbterm, the till in the full theme: 可口可乐 on screen, not KeKouKeLe,
    found by typing kkkl."""
    command = re.findall(r"^ExecStart=(.+)$", CHINESE_CONSOLE.read_text(), re.M)[0]
    argv = shlex.split(command)
    socket = str(tmp_path / "tmux.sock")
    paths = {"/opt/tui-pos/tmux.conf": [str(SCRIPTS / "tui-pos-tmux.conf")], SOCKET: [socket],
             "/opt/tui-pos/venv/bin/tui-pos": [sys.executable, "-m", "tui_pos"],
             "HOME=/var/lib/tui-pos": [f"HOME={tmp_path}"]}
    inner = [part for word in argv[argv.index("--") + 1:] for part in paths.get(word, [word])]
    env = unit_env(shop_dir)
    env["TERM"] = "linux"  # what fbterm gives its command

    def screen() -> str:
        return tmux_on(socket, "capture-pane", "-p", "-t", "till")

    tty1 = Terminal(inner, env, columns=80, rows=30)
    try:
        wait_for(lambda: os.path.exists(socket) and "┘" in screen(), "the whole login box")
        tty1.type("demo\r")
        time.sleep(0.3)  # keys typed sooner go to the user field (tests/e2e/test_tmux_checkout.py)
        tty1.type("1234\r")
        wait_for(lambda: "Log in" not in screen(), "the checkout")
        tty1.type("kkkl\r")
        wait_for(lambda: "可口可乐 330ml" in screen(), "可口可乐 found by its initials")
        assert "KeKouKeLe" not in screen()
        os.kill(running_pid(shop_dir), signal.SIGTERM)
        assert tty1.proc.wait(timeout=20) == 0
    finally:
        tty1.close()
