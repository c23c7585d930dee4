"""Logging: no PIN ever reaches a log; the till UI never writes log records onto its own screen."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tui_pos.ops.logs import LOG_DIR, LOG_FILE, redact, setup_logging

HASH = "scrypt$16384$8$1$00112233445566778899aabbccddeeff$" + "ab" * 32


@pytest.mark.parametrize("text, expected", [
    ("login demo pin=1234 failed", "login demo pin=[REDACTED] failed"),
    ("tui-pos login --pin 1234 --user demo", "tui-pos login --pin [REDACTED] --user demo"),
    ("tui-pos approve --manager-pin=9999", "tui-pos approve --manager-pin=[REDACTED]"),
    ("{'name': 'demo', 'pin': '1234'}", "{'name': 'demo', 'pin': '[REDACTED]'}"),
    ('{"name": "demo", "PIN": 1234}', '{"name": "demo", "PIN": [REDACTED]}'),
    ("manager_pin: 9999, role manager", "manager_pin: [REDACTED], role manager"),
    (f"row {{'pin_hash': '{HASH}'}}", "row {'pin_hash': '[REDACTED]'}"),
    (f"user demo {HASH} loaded", "user demo scrypt$[REDACTED] loaded"),
    ("printed 3 receipts, spinning disk ok, pinned=no", "printed 3 receipts, spinning disk ok, pinned=no"),
])
def test_redact(text, expected):
    assert redact(text) == expected


def test_no_pin_in_the_log_file_from_arguments_or_tracebacks(tmp_path):
    handlers = setup_logging(tmp_path, interactive=False)
    log = logging.getLogger("tui_pos.test")
    log.warning("login failed for %s with pin=%s", "demo", "1234")
    try:
        raise ValueError(f"bad row {{'pin_hash': '{HASH}', 'pin': '9999'}}")
    except ValueError:
        log.exception("while checking --pin 4321")
    for handler in handlers:
        handler.flush()
    text = (tmp_path / LOG_DIR / LOG_FILE).read_text()
    assert "login failed for demo with pin=[REDACTED]" in text
    assert "ValueError: bad row {'pin_hash': '[REDACTED]', 'pin': '[REDACTED]'}" in text
    for secret in ("1234", "9999", "4321", "scrypt$16384", "ab" * 32):
        assert secret not in text
    assert oct((tmp_path / LOG_DIR / LOG_FILE).stat().st_mode & 0o777) == "0o600"
    setup_logging(tmp_path / "missing", interactive=False)  # leave the process's logging as it was


PROBE = """
import logging, sys
from pathlib import Path
from tui_pos.ops.logs import setup_logging
handlers = setup_logging(Path(sys.argv[1]), interactive=sys.argv[2] == "ui")
logging.getLogger("tui_pos.probe").warning("probe record")
print(" ".join(sorted(type(h).__name__ for h in handlers)))
"""


def run_probe(data_dir: Path, mode: str, env: dict[str, str] | None = None, stderr_tty: bool = False) -> tuple[str, bytes]:
    """Run setup_logging in a fresh process; stderr on a pseudo-terminal when stderr_tty."""
    master = slave = None
    if stderr_tty:
        master, slave = os.openpty()
    proc = subprocess.run([sys.executable, "-c", PROBE, str(data_dir), mode], capture_output=not stderr_tty,
                          stdout=subprocess.PIPE if stderr_tty else None, stderr=slave if stderr_tty else None,
                          env={**{k: v for k, v in os.environ.items() if k != "JOURNAL_STREAM"}, **(env or {})},
                          timeout=30)
    written = b""
    if stderr_tty:
        os.close(slave)
        os.set_blocking(master, False)
        try:
            written = os.read(master, 4096)
        except OSError:
            pass
        os.close(master)
    else:
        written = proc.stderr
    assert proc.returncode == 0
    return proc.stdout.decode().strip(), written


def test_the_till_ui_never_logs_onto_its_terminal(tmp_path):
    """stderr is the till's screen: the record goes to the file (and /dev/log when there is one)."""
    handlers, on_screen = run_probe(tmp_path, "ui", stderr_tty=True)
    assert "StreamHandler" not in handlers.split()
    assert b"probe record" not in on_screen
    assert "probe record" in (tmp_path / LOG_DIR / LOG_FILE).read_text()


def test_a_command_keeps_stderr_for_its_one_error_line(tmp_path):
    handlers, stderr = run_probe(tmp_path, "cli")
    assert handlers == "TillLogFile" and stderr == b""


def test_stderr_connected_to_journald_gets_the_records(tmp_path):
    """Under systemd ($JOURNAL_STREAM names our stderr) records go to stderr, for journald."""
    err = tmp_path / "stderr"
    st = None
    with err.open("wb") as f:
        st = os.fstat(f.fileno())
        proc = subprocess.run([sys.executable, "-c", PROBE, str(tmp_path), "ui"], stdout=subprocess.PIPE, stderr=f,
                              env={**os.environ, "JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}"}, timeout=30)
    assert proc.stdout.decode().split() == ["StreamHandler", "TillLogFile"]
    assert "WARNING tui_pos.probe: probe record" in err.read_text()
