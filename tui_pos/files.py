"""A file a person names on the command line. Read (a catalog, stock counts, a provider's
statement): a regular file only, never read past a bound. A FIFO, /dev/zero or a terminal never
ends, and opening a FIFO waits for a writer that may never come: the command would hang. Written
(--csv, support-bundle --output): opening a FIFO to write waits for a reader the same way."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from tui_pos.domain.errors import N_, BadInput


class NotARegularFile(Exception):
    """The path is a directory, a FIFO, a device or a socket: nothing to import."""


def read_bounded(path: Path, max_bytes: int) -> bytes:
    """At most max_bytes + 1 bytes of the regular file at path (more than max_bytes: the caller's
    "too large"). OSError as opening or reading raises it; NotARegularFile for anything else."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)  # NONBLOCK: opening a FIFO does not wait
    try:
        regular = stat.S_ISREG(os.fstat(fd).st_mode)
    except OSError:
        os.close(fd)
        raise
    if not regular:
        os.close(fd)
        raise NotARegularFile(str(path))
    with os.fdopen(fd, "rb") as file:
        return file.read(max_bytes + 1)


def open_to_write(path: Path | str, mode: int = 0o666) -> int:
    """A descriptor of path opened to write, created or truncated (mode as os.open's, before the
    umask). A FIFO nobody reads refuses at once (OSError ENXIO) instead of waiting for a reader;
    once open, writes block as usual. OSError as opening raises it."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NONBLOCK | os.O_CLOEXEC, mode)
    os.set_blocking(fd, True)
    return fd


def read_named(path: Path, max_bytes: int, not_regular: str, too_large: str) -> bytes:
    """read_bounded for a file a person named, its refusals said to that person: not_regular and
    too_large are the caller's sentences (what the file should be; {file}: the path, {mb}: the
    bound in MB); a file that cannot be opened or read is one sentence for every kind of file."""
    try:
        data = read_bounded(path, max_bytes)
    except NotARegularFile:
        raise BadInput(not_regular, file=str(path)) from None
    except OSError as err:
        raise BadInput(N_("cannot read {file}: {error}"), file=str(path), error=err.strerror or str(err)) from None
    if len(data) > max_bytes:
        raise BadInput(too_large, file=str(path), mb=max_bytes // 2**20)
    return data
