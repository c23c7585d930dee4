"""Logging: a rotating file in the data directory, and journald; never a PIN.

Where records go:
- ``logs/tui-pos.log`` in the data directory (2 MB x 5 files), when the data directory exists.
  A disk that is full or read-only makes the file handler drop records silently: logging must
  never disturb a sale or a command's one-line error.
- journald: through stderr when stderr *is* the journal (systemd sets ``$JOURNAL_STREAM`` to its
  device:inode), else, for the till UI, through the syslog socket ``/dev/log``. The UI owns the
  terminal (tty1 or tmux), so it never writes records to a stderr that is a terminal: they would
  land in the middle of the screen. CLI commands print their own errors and keep stderr to that
  one line; their records go to the file (and to journald when run by systemd).

Every handler carries RedactPins: no PIN, ``--pin`` argument or PIN hash reaches any of them.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import re
import sys
from io import TextIOWrapper
from pathlib import Path

LOG_DIR = "logs"
LOG_FILE = "tui-pos.log"
MAX_BYTES = 2 * 2**20
BACKUPS = 5
SYSLOG_SOCKET = "/dev/log"
FORMAT = "%(asctime)s %(levelname)s %(name)s[%(process)d]: %(message)s"
JOURNAL_FORMAT = "%(levelname)s %(name)s: %(message)s"  # journald adds the time and the pid
REDACTED = "[REDACTED]"

_PIN_KEY = r"[A-Za-z_]*pin(?:_hash)?"  # pin, pin_hash, manager_pin, new_pin ...
_PATTERNS = (
    # --pin 1234, --pin=1234, --manager-pin 9999
    re.compile(r"(--[\w-]*pin(?:[\s=]+))(\S+)", re.IGNORECASE),
    # pin=1234, pin: 1234, "pin": "1234", 'pin_hash': '...', PIN = 1234
    re.compile(rf"""(\b{_PIN_KEY}\b["']?\s*[=:]\s*["']?)(?!\[REDACTED\])([^\s"',;)}}\]]+)""", re.IGNORECASE),
    # a stored hash wherever it appears (hash_pin's format)
    re.compile(r"(scrypt\$)[^\s\"',;)}\]]+"),
)


def redact(text: str) -> str:
    """text without PINs or PIN hashes."""
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + REDACTED, text)
    return text


class RedactPins(logging.Filter):
    """Rewrites each record's message (arguments merged in) and its traceback text, redacted."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class TillLogFile(logging.handlers.RotatingFileHandler):
    """The data directory's log: opened on the first record, files 0600, owned like the data
    directory even when a command runs as root, and silent when the disk refuses a write."""

    def __init__(self, path: Path):
        super().__init__(path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8", delay=True)

    def _open(self) -> TextIOWrapper:
        directory = Path(self.baseFilename).parent
        directory.mkdir(mode=0o700, exist_ok=True)
        os.close(os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600))
        stream = super()._open()
        if os.geteuid() == 0:  # root (sudo tui-pos ...) must not leave files the till's user cannot append to
            owner = directory.parent.stat()
            for path in (directory, Path(self.baseFilename)):
                if path.stat().st_uid != owner.st_uid:
                    os.chown(path, owner.st_uid, owner.st_gid)
        return stream

    def handleError(self, record: logging.LogRecord) -> None:
        """Full or read-only disk: drop the record (never a traceback on stderr)."""


def stderr_is_journal() -> bool:
    """systemd connected our stderr to journald ($JOURNAL_STREAM names its device:inode)."""
    stream = os.environ.get("JOURNAL_STREAM", "")
    try:
        device, inode = (int(part) for part in stream.split(":"))
        st = os.fstat(sys.stderr.fileno())
    except (ValueError, OSError, AttributeError):
        return False
    return (st.st_dev, st.st_ino) == (device, inode)


_installed: list[logging.Handler] = []


def setup_logging(data_dir: Path, interactive: bool) -> list[logging.Handler]:
    """Install the handlers on the ``tui_pos`` logger (again: replacing the previous ones).

    interactive: the Textual UI is about to own the terminal. Takes the data directory, not the
    configuration: logging starts before config.toml is read, and must work when it is broken."""
    logger = logging.getLogger("tui_pos")
    for handler in _installed:
        logger.removeHandler(handler)
        handler.close()
    _installed.clear()
    if data_dir.is_dir():
        _installed.append(TillLogFile(data_dir / LOG_DIR / LOG_FILE))
    if stderr_is_journal():
        _installed.append(logging.StreamHandler(sys.stderr))
    elif interactive and os.path.exists(SYSLOG_SOCKET):
        try:
            syslog = logging.handlers.SysLogHandler(address=SYSLOG_SOCKET)
            syslog.ident = "tui-pos: "
            _installed.append(syslog)
        except OSError:
            pass  # no syslog daemon listening: the file still has everything
    elif interactive and not sys.stderr.isatty():
        _installed.append(logging.StreamHandler(sys.stderr))  # e.g. `tui-pos 2>>till.log`
    for handler in _installed:
        handler.setFormatter(logging.Formatter(FORMAT if isinstance(handler, TillLogFile) else JOURNAL_FORMAT))
        handler.addFilter(RedactPins())
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    return list(_installed)
