"""A till without HQ never loads psycopg, nor does one that has joined HQ until an hq command runs
or its till UI syncs: the CLI's --help and a command import none of it, nor does the till UI started
as `tui-pos` starts it (signed in, the selling screen up) without HQ. (With HQ the UI's sync worker
loads it, in its own thread, when it first connects: tests/bootstrap/test_till_sync.py.)"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import open_demo_shop
from tui_pos.hq.enrol import with_hq_section

PROBE = """
import asyncio, json, sys
from pathlib import Path
from tui_pos.cli import main
data_dir, alone_dir = sys.argv[1], sys.argv[2]
for args in (["--help"], ["hq", "--help"], ["hq", "join", "--help"], ["--data-dir", data_dir, "status", "--json"]):
    try:
        main(args)
    except SystemExit:
        pass
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in ("psycopg", "psycopg_binary", "tui_pos"))))
from tui_pos.ui.app import PosApp
from tui_pos.ui.screens.checkout import CheckoutScreen
async def drive(app):  # the till as `tui-pos` starts it, headless: signed in, on the selling screen
    async with app.run_test() as pilot:
        for key in "demo":
            await pilot.press(key)
        await pilot.press("enter", "1", "2", "3", "4", "enter")
        for _ in range(600):
            if isinstance(app.screen, CheckoutScreen):
                break
            await pilot.pause(0.05)
        assert isinstance(app.screen, CheckoutScreen), app.screen
PosApp.run = lambda self, *args, **kwargs: asyncio.run(drive(self))
try:
    main(["--data-dir", alone_dir])
except SystemExit as exit:
    assert not exit.code, exit.code
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in ("psycopg", "psycopg_binary", "tui_pos"))))
"""


def test_the_cli_and_the_till_start_without_psycopg(tmp_path: Path):
    shop = open_demo_shop(tmp_path / "shop")
    config = shop / "config.toml"
    config.write_text(with_hq_section(config.read_text(), "host=127.0.0.1 port=1 dbname=hq user=till", "S1"))
    alone = open_demo_shop(tmp_path / "alone")
    proc = subprocess.run([sys.executable, "-c", PROBE, str(shop), str(alone)], capture_output=True, text=True,
                          timeout=300, check=False, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr[-3000:]
    commands, loaded = (json.loads(line) for line in proc.stdout.strip().splitlines()[-2:])
    assert "tui_pos.cli.hq" in commands and "tui_pos.ui.app" in loaded  # the probe really ran them
    assert not [m for m in loaded if m.startswith("psycopg")]
