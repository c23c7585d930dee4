"""python-escpos, imported the first time a receipt is rendered, and kept off the terminal.

Importing it pulls in Pillow, qrcode, python-barcode and PyYAML (about 0.1 s with its cache
warm, 0.3 s cold), so nothing imports it at start-up: the core, the UI and the CLI commands
that do not print never pay for it. On import it also does three things a terminal UI cannot
live with, undone here:

- ``logging.basicConfig()`` puts a stderr handler on the root logger: removed again.
- ``print()`` in ``image()``, ``barcode()`` and ``_dpi()`` (e.g. "The media.width.pixel field of
  the printer profile is not set", for every image QR code): sent to the logger instead, by
  shadowing ``print`` in those modules only (no process-wide stdout swap, which would race with
  the UI's own threads).
- its capabilities cache goes to a new ``mkdtemp()`` directory on every import (one leaked
  directory per process): kept instead in a private per-user cache directory.
"""

from __future__ import annotations

import logging
import os
import stat
import sys
import tempfile
import threading
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

log = logging.getLogger("tui_pos.printing")
_lock = threading.Lock()
_loaded: SimpleNamespace | None = None
PICKLE_DIR_ENV = "ESCPOS_CAPABILITIES_PICKLE_DIR"


def _quiet_print(*args: Any, **kwargs: Any) -> None:
    if kwargs.get("file") not in (None, sys.stdout, sys.__stdout__):
        print(*args, **kwargs)
        return
    log.debug("python-escpos: %s", " ".join(str(a) for a in args))


def _private_cache_dir() -> str | None:
    """A 0700 directory of ours for the pickled capabilities (never a shared, writable one: it
    holds a pickle that is loaded)."""
    try:
        from platformdirs import user_cache_dir

        path = Path(user_cache_dir("tui-pos", appauthor=False)) / "escpos"
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = path.stat()
        if info.st_uid != os.getuid() or stat.S_IMODE(info.st_mode) & 0o077:
            return None
        return str(path)
    except OSError:
        return None


def _load() -> SimpleNamespace:
    cache = os.environ.get(PICKLE_DIR_ENV) or _private_cache_dir()
    real_mkdtemp = tempfile.mkdtemp

    def mkdtemp(*args: Any, **kwargs: Any) -> str:
        # escpos.capabilities evaluates mkdtemp() eagerly, even when the cache directory is set
        caller = sys._getframe(1).f_globals.get("__name__")
        if caller == "escpos.capabilities" and cache:
            return cache
        return real_mkdtemp(*args, **kwargs)

    root = logging.getLogger()
    handlers_before = list(root.handlers)
    if cache:
        os.environ.setdefault(PICKLE_DIR_ENV, cache)
    tempfile.mkdtemp = mkdtemp  # type: ignore[assignment]
    try:
        import escpos.capabilities as capabilities
        import escpos.constants as constants
        import escpos.escpos as escpos_module
        import escpos.exceptions as exceptions
    finally:
        tempfile.mkdtemp = real_mkdtemp
        for handler in root.handlers[:]:
            if handler not in handlers_before:
                root.removeHandler(handler)
    module: ModuleType
    for module in (escpos_module, capabilities):
        module.print = _quiet_print  # type: ignore[attr-defined]
    return SimpleNamespace(Escpos=escpos_module.Escpos, constants=constants, exceptions=exceptions,
                           capabilities=capabilities)


def escpos() -> SimpleNamespace:
    """The python-escpos pieces printing uses: Escpos (base class), constants, exceptions."""
    global _loaded
    with _lock:
        if _loaded is None:
            _loaded = _load()
        return _loaded
