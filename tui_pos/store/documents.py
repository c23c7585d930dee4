"""Small JSON documents that must survive a crash or power cut: the cart in progress, and the
catalog snapshot that lets the till keep selling when the database cannot be read.

Saved atomically (temp file, fsync, rename, fsync dir) into the first directory that accepts
it, or into every directory; loading picks the newest readable copy.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, Sequence

from tui_pos.store.journal import fsync_dir, make_private_dir


class DocumentFailed(Exception):
    """No directory accepted the document."""


class DurableDocument:
    def __init__(self, name: str, dirs: Sequence[Path]):
        self.name = name
        self.dirs = list(dirs)

    def save(self, doc: dict[str, Any], everywhere: bool = False) -> Path:
        payload = json.dumps({"saved_ns": time.time_ns(), "doc": doc}, ensure_ascii=False).encode()
        failures, saved = [], None
        for directory in self.dirs:
            try:
                saved = self._write(directory, payload)
            except OSError as err:
                failures.append(f"{directory}: {err.strerror or err}")
                continue
            if not everywhere:
                return saved
        if saved is None:
            raise DocumentFailed("; ".join(failures))
        return saved

    def _write(self, directory: Path, payload: bytes) -> Path:
        make_private_dir(directory)
        target = directory / self.name
        temp = directory / f".{self.name}.tmp"
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        try:
            if os.write(fd, payload) != len(payload):
                raise OSError("short write")
            os.fsync(fd)
        finally:
            os.close(fd)
        os.rename(temp, target)
        fsync_dir(directory)
        return target

    def load(self) -> dict[str, Any] | None:
        newest: tuple[int, dict[str, Any]] | None = None
        for directory in self.dirs:
            try:
                wrapper = json.loads((directory / self.name).read_text(encoding="utf-8"))
                candidate = (int(wrapper["saved_ns"]), wrapper["doc"])
            except (OSError, ValueError, KeyError, TypeError):
                continue
            if newest is None or candidate[0] > newest[0]:
                newest = candidate
        return None if newest is None else newest[1]

    def discard(self) -> None:
        """Remove every copy, without fsync: a stale copy is recognised on load by its owner."""
        for directory in self.dirs:
            try:
                os.unlink(directory / self.name)
            except OSError:
                pass
