"""The use cases reach storage only through the ports (tui_pos/app/ports.py): importing every app
module, as a fresh process would, loads no store module (bootstrap/ hands the store in)."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

import tui_pos.app


def test_importing_every_use_case_loads_no_store_module():
    modules = sorted(f"tui_pos.app.{m.name}" for m in pkgutil.iter_modules(tui_pos.app.__path__))
    code = ("import importlib, json, sys\n"
            f"for name in {modules!r}: importlib.import_module(name)\n"
            "print(json.dumps(sorted(sys.modules)))\n")
    loaded = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                       check=True).stdout)
    assert "tui_pos.app.till" in loaded and "tui_pos.app.ports" in loaded
    assert [m for m in loaded if m == "tui_pos.store" or m.startswith("tui_pos.store.")] == []
