"""The real till in tmux, for the end-to-end tests: a private tmux server running `python -m
tui_pos` at 80x24, keys sent to it, its screen read back and waited for (polling, never a fixed
sleep), and a person logging in at a person's pace."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


def wait_until(predicate: Callable[[], T], timeout: float, what: str) -> T:
    """predicate() polled until it is true (its value), or fail saying what was waited for."""
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)
    return value


class TmuxTill:
    """The real till (`python -m tui_pos`) in a detached tmux session of 80x24."""

    def __init__(self) -> None:
        self.socket = f"tuipos-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.env = {**os.environ, "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}
        self.env.pop("TMUX", None)  # not nested in a tmux the tests may run in

    def start(self, data_dir: Path, term: str) -> None:
        command = shlex.join(["env", f"TERM={term}", f"TUI_POS_DATA_DIR={data_dir}",
                              sys.executable, "-m", "tui_pos"])
        self.tmux("new-session", "-d", "-x", "80", "-y", "24", "-s", "till", command)
        self.tmux("set-option", "-t", "till", "remain-on-exit", "on")  # keep a traceback readable

    def tmux(self, *args: str) -> str:
        proc = subprocess.run(["tmux", "-u", "-L", self.socket, "-f", "/dev/null", *args],
                              capture_output=True, text=True, env=self.env, timeout=30)
        assert proc.returncode == 0, f"tmux {' '.join(args)}: {proc.stderr}"
        return proc.stdout

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", "till", *keys)

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "till")

    def cursor_row(self) -> int:
        """The screen row of the terminal's cursor: Textual puts it in the focused input."""
        return int(self.tmux("display-message", "-p", "-t", "till", "#{cursor_y}").strip())

    def wait_for(self, pattern: str, timeout: float = 20.0, forbid: str | None = None) -> re.Match[str]:
        """Poll the screen until pattern (a regex over the screen, lines joined by spaces) shows;
        fail at once if forbid ever shows."""
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            flat = re.sub(r"\s+", " ", screen)
            if forbid is not None and re.search(forbid, flat):
                raise AssertionError(f"{forbid!r} appeared on screen:\n{screen}")
            found = re.search(pattern, flat)
            if found:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout}s waiting for {pattern!r}; screen:\n{screen}")
            time.sleep(0.05)

    def close(self) -> None:
        """Kill this private server only, and remove its socket (tmux leaves it behind)."""
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, env=self.env, timeout=30)
        socket_dir = Path(self.env.get("TMUX_TMPDIR") or "/tmp") / f"tmux-{os.getuid()}"
        (socket_dir / self.socket).unlink(missing_ok=True)


def log_in(till: TmuxTill, user: str = "demo", pin: str = "1234") -> None:
    """Typed at a person's pace: the user name, Enter, then (once the PIN field has the focus:
    the cursor is on its row) the PIN."""
    till.keys(*user, "Enter")
    wait_until(lambda: till.cursor_row() in [n for n, line in enumerate(till.screen().splitlines()) if "PIN" in line],
               20, "the PIN field to have the focus")
    till.keys(*pin, "Enter")
    till.wait_for(rf"\| {user} \|.*TOTAL")
