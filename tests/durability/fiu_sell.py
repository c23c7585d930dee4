"""Run the real tui-pos CLI in a process whose SQLite I/O fails, by libfiu (`fiu-run -x`).

Used by test_fs_faults.py as a subprocess, never imported. Faults are enabled from inside the
process (enabling them on the fiu-run command line breaks Python's imports). SQLite writes with
pwrite64 and syncs with fdatasync; the journal and the cart use write, fsync and fdatasync, so:

- FIU_MODE=none: nothing fails (the control: fiu-run and this wrapper alone change nothing).
- FIU_MODE=pwrite: every pwrite/pwrite64 fails with EIO for the whole run: SQLite cannot write
  at all, while write() (the journal) still works.
- FIU_MODE=fdatasync-at-commit: fdatasync fails with EIO from the moment the sale's COMMIT is
  about to be issued until its journal append starts (tui_pos.store.crash points), so COMMIT
  fails after writing its WAL frames: outcome unknown. The journal's own fdatasync works.

FIU_LOG, if set, names a file that gets one line per crash point reached, so the test can check
what really failed.

Usage: FIU_MODE=... fiu-run -x -f '' python fiu_sell.py [tui-pos arguments...]
"""

from __future__ import annotations

import ctypes
import errno
import os
import sys

FDATASYNC = b"posix/io/sync/fdatasync"
PWRITE = b"posix/io/rw/pwrite"  # covers pwrite and pwrite64


def main() -> None:
    libfiu = ctypes.CDLL("libfiu.so.0")
    libfiu.fiu_enable.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.c_void_p, ctypes.c_uint]
    libfiu.fiu_disable.argtypes = [ctypes.c_char_p]
    eio = ctypes.c_void_p(errno.EIO)  # the POSIX wrappers set errno to failinfo

    def enable(name: bytes) -> None:
        if libfiu.fiu_enable(name, 1, eio, 0) != 0:
            sys.exit(f"fiu_enable({name!r}) failed")

    from tui_pos.cli import main as cli_main
    from tui_pos.store import crash

    mode = os.environ["FIU_MODE"]
    log_path = os.environ.get("FIU_LOG")

    def hook(point: str) -> None:
        if log_path:
            with open(log_path, "a") as log:
                log.write(point + "\n")
        if mode == "fdatasync-at-commit":
            if point == "sqlite_before_commit":
                enable(FDATASYNC)
            elif point == "journal_before_append":
                libfiu.fiu_disable(FDATASYNC)

    crash.set_hook(hook)
    if mode == "pwrite":
        enable(PWRITE)
    elif mode not in ("none", "fdatasync-at-commit"):
        sys.exit(f"unknown FIU_MODE {mode!r}")
    cli_main(prog_name="tui-pos")


if __name__ == "__main__":
    main()
