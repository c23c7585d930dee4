"""The house rules that keep the core thin, enforced rather than hoped for."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_import_contracts_hold():
    """import-linter: the core and store never import Textual or click; arrows point down only."""
    lint = Path(sys.executable).with_name("lint-imports")
    proc = subprocess.run([str(lint)], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 broken" in proc.stdout


def test_core_loads_no_ui_and_no_heavy_modules():
    """Importing the whole core (as a fresh process would) must not pull in Textual, click,
    the printer stack, or sqlite-utils (imported lazily, only to create the schema)."""
    code = (
        "import json, sys\n"
        "import tui_pos.app.till, tui_pos.app.shop, tui_pos.store.ledger\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(json.loads(proc.stdout))
    for banned in ("textual", "click", "escpos", "usb", "PIL", "sqlite_utils"):
        assert not {m for m in loaded if m == banned or m.startswith(banned + ".")}, f"core imported {banned}"
    assert "tui_pos.app.till" in loaded  # the probe really imported the core
