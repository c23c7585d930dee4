"""The till's user played by a real non-root process: root ignores chmod, so permission faults
are only real for another user. A demo shop owned by nobody (uid 65534) in a directory nobody
can reach (tmp_path's parents are root's, 0700), and the real CLI run as nobody (setpriv)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from conftest import open_demo_shop

NOBODY = ("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups")


@pytest.fixture
def nobody_shop(request: pytest.FixtureRequest) -> Path:
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv(1) to run the CLI as another user")
    base = Path(tempfile.mkdtemp(prefix="tui-pos-nobody-"))
    request.addfinalizer(lambda: shutil.rmtree(base, ignore_errors=True))
    base.chmod(0o711)
    shop = open_demo_shop(base / "shop")
    for path in [shop, *shop.rglob("*")]:
        os.chown(path, 65534, 65534)
    return shop


def as_nobody(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The real `tui-pos ARGS` as nobody (no traceback expected: callers check)."""
    return subprocess.run([*NOBODY, sys.executable, "-m", "tui_pos", *args], capture_output=True, text=True,
                          env={**os.environ, "TUI_POS_DATA_DIR": str(data_dir)}, timeout=120, cwd="/")
