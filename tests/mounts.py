"""Real file-system faults for the tests that need them (root only; the test skips, saying why,
where this machine cannot mount): a small tmpfs, a bind mount made read-only, a file system filled
up to ENOSPC. Every mount is lazily unmounted at the test's teardown."""

from __future__ import annotations

import errno
import os
import subprocess
from pathlib import Path

import pytest


def need_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root: the fault is a real mount")


def mount(request: pytest.FixtureRequest, target: Path, *args: str) -> None:
    """Run mount(8) with args (root only); skip if this machine cannot; lazily unmount target at teardown."""
    need_root()
    proc = subprocess.run(["mount", *args], capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"mount {' '.join(args)} failed here: {proc.stderr.strip()}")
    request.addfinalizer(lambda: os.path.ismount(target) and subprocess.run(["umount", "-l", str(target)]))


def mount_tmpfs(request: pytest.FixtureRequest, target: Path, size: str) -> None:
    """A small tmpfs on target (a real, fillable file system), made if missing."""
    target.mkdir(parents=True, exist_ok=True)
    mount(request, target, "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(target))


def umount(target: Path) -> None:
    subprocess.run(["umount", str(target)], check=True)
    assert not os.path.ismount(target)


def fill(directory: Path) -> Path:
    """Write until the file system under directory is full (ENOSPC); the file that fills it."""
    filler = directory / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        while True:
            os.write(fd, b"\0" * 65536)
    except OSError as err:
        assert err.errno == errno.ENOSPC, err
    finally:
        os.close(fd)
    assert os.statvfs(directory).f_bavail == 0
    return filler
