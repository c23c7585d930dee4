"""Small JSON documents that must survive a crash or power cut: the cart in progress, and the
catalog snapshot that lets the till keep selling when the database cannot be read.

Each directory holds two slot files, NAME.0 and NAME.1, written alternately in place (pwrite +
fdatasync: one sync, no rename, no directory sync, no file freed). A slot holds one checksummed
frame; a write torn by a power cut fails its checksum and the other slot still holds the previous
copy. Saved into the first directory that accepts it, or into every directory; loading picks the
newest valid copy.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tui_pos.domain.errors import DocumentFailed
from tui_pos.store.journal import checksum, fsync_dir, make_private_dir

SLOTS = (0, 1)


def _frame(saved_ns: int, doc: dict[str, Any] | None) -> bytes:
    payload = json.dumps({"saved_ns": saved_ns, "doc": doc}, ensure_ascii=False).encode()
    return f"v1 {checksum(payload)} {len(payload)}\n".encode() + payload


def _unframe(data: bytes) -> tuple[int, dict[str, Any] | None]:
    """(saved_ns, doc) of a valid frame; ValueError for a torn, stale or foreign one."""
    header, _, rest = data.partition(b"\n")
    version, digest, length = header.split(b" ")
    payload = rest[:int(length)]
    if version != b"v1" or len(payload) != int(length) or checksum(payload).encode() != digest:
        raise ValueError("bad frame")
    wrapper = json.loads(payload)
    return int(wrapper["saved_ns"]), wrapper["doc"]


class DurableDocument:
    def __init__(self, name: str, dirs: Sequence[Path]):
        self.name = name
        self.dirs = list(dirs)
        self._next_slot: dict[Path, int] = {}  # directory -> the slot holding the older copy
        self._names_synced: set[Path] = set()  # directories synced since this instance last created a slot there
        self._last_ns: int | None = None  # the newest saved_ns on disk or written by this instance
        # directories that may hold a copy, once a load or save has told us; discard clears only these
        self._holding: set[Path] | None = None

    def _stamp(self) -> int:
        """Later than every copy already saved, even when the wall clock has stepped back."""
        if self._last_ns is None:
            self._last_ns = max((ns for d in self.dirs for ns, _ in self._read(d).values()), default=0)
        self._last_ns = max(time.time_ns(), self._last_ns + 1)
        return self._last_ns

    def save(self, doc: dict[str, Any], everywhere: bool = False, sync: bool = True) -> Path:
        """sync=False: written to the page cache only (other processes see it at once; a power
        cut may lose it, leaving the previous copy)."""
        frame = _frame(self._stamp(), doc)
        failures, saved = [], None
        for directory in self.dirs:
            try:
                saved = self._write(directory, frame, sync=sync)
            except OSError as err:
                failures.append(f"{directory}: {err.strerror or err}")
                continue
            if not everywhere:
                return saved
        if saved is None:
            raise DocumentFailed("; ".join(failures))
        return saved

    def _write(self, directory: Path, frame: bytes, sync: bool) -> Path:
        slot = self._next_slot.get(directory)
        if slot is None:
            make_private_dir(directory)
            slot = self._older_slot(directory)
        target = directory / f"{self.name}.{slot}"
        try:
            fd = os.open(target, os.O_WRONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o600)
            self._names_synced.discard(directory)  # a new name, not durable until the directory is synced
        try:
            if os.pwrite(fd, frame, 0) != len(frame):
                raise OSError("short write")
            if sync:
                os.fdatasync(fd)
        except OSError:
            try:
                os.pwrite(fd, b"\0\0", 0)  # spoil the unsynced frame: load falls back to the other slot
            except OSError:
                pass
            raise
        finally:
            os.close(fd)
        if sync and directory not in self._names_synced:
            # The slot's name must survive a power cut too, whoever created it: this instance (now, or
            # unsynced by a discard or a failed save), or another process (once per instance).
            fsync_dir(directory)
            self._names_synced.add(directory)
        self._next_slot[directory] = 1 - slot
        self._holding = (self._holding or set()) | {directory}
        return target

    def _read(self, directory: Path) -> dict[int, tuple[int, dict[str, Any] | None]]:
        found = {}
        for slot in SLOTS:
            try:
                found[slot] = _unframe((directory / f"{self.name}.{slot}").read_bytes())
            except (OSError, ValueError, KeyError, TypeError):
                continue
        return found

    def _older_slot(self, directory: Path) -> int:
        found = self._read(directory)
        if len(found) < 2:
            return 0 if 0 not in found else 1
        return 0 if found[0][0] <= found[1][0] else 1

    def load(self) -> dict[str, Any] | None:
        newest: tuple[int, dict[str, Any] | None] | None = None
        for directory in self.dirs:
            copies = self._read(directory)
            if self._holding is None:
                self._holding = set()
            if any(doc is not None for _, doc in copies.values()):
                self._holding.add(directory)
            for candidate in copies.values():
                if newest is None or candidate[0] > newest[0]:
                    newest = candidate
        return None if newest is None else newest[1]

    def copies(self) -> list[dict[str, Any]]:
        """Every valid copy in every directory (both slots), for documents whose copies are merged
        rather than the newest one taken."""
        return [doc for directory in self.dirs for _, doc in self._read(directory).values() if doc is not None]

    def newest_in_each(self) -> list[dict[str, Any] | None]:
        """The newest valid copy in each directory (None where there is none)."""
        newest = []
        for directory in self.dirs:
            found = sorted(self._read(directory).values(), key=lambda saved: saved[0])
            newest.append(found[-1][1] if found else None)
        return newest

    def discard(self) -> None:
        """Write a newer empty copy, without fsync: a stale copy is recognised on load by its owner."""
        frame = _frame(self._stamp(), None)
        for directory in list(self.dirs if self._holding is None else self._holding):
            try:
                self._write(directory, frame, sync=False)
            except OSError:
                continue
            assert self._holding is not None  # _write() adds the directory it wrote to
            self._holding.discard(directory)
