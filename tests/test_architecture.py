"""The house rules that keep the core thin, enforced rather than hoped for."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import tempfile
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
        "import tui_pos.app.till, tui_pos.bootstrap.shop, tui_pos.store.ledger\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(json.loads(proc.stdout))
    for banned in ("textual", "click", "escpos", "usb", "PIL", "sqlite_utils"):
        assert not {m for m in loaded if m == banned or m.startswith(banned + ".")}, f"core imported {banned}"
    assert "tui_pos.app.till" in loaded  # the probe really imported the core


# -- deferred imports --------------------------------------------------------------------------------------------------
# The import-linter contracts read the static graph: they cannot tell an import at the top of a
# module from one deferred into the function that needs it. These are the deliberate deferrals of
# third-party modules, each with why; the tests below prove at run time that the paths they keep
# short stay short (a module-level import added anywhere on the way would load them).
DEFERRED = {
    "escpos": "python-escpos takes 0.7 s to import (Pillow and qrcode under it): only when a receipt is rendered "
              "(printing/_escpos.py)",
    "qrcode": "a receipt's QR code drawn on screen (printing/screen.py)",
    "usb": "pyusb and libusb: only when a USB printer is looked for (printing/transports/usb.py)",
    "sqlite_utils": "0.3 s: only to create or migrate the schema (store/db.py)",
    "anyascii": "only the console theme, and only for what the Linux console cannot draw (ui/app.py)",
    "pypinyin": "its dictionaries take ~0.15 s to load: only when a catalog is first searched or indexed (domain/search.py)",
    "platformdirs": "only when no data directory is given (config.py), and python-escpos's cache (printing/_escpos.py)",
    "psycopg": "HQ's PostgreSQL: only when an hq command runs (tui_pos/hq); a till without HQ never loads it",
    "wechatpayv3": "WeChat Pay's SDK (requests, cryptography): only when a WeChat code payment is first made or "
                   "asked about (payments/wechat.py)",
    "requests": "the payment SDKs' HTTP client: only with them, to tell a timeout from a dropped connection "
                "(payments/)",
    "alipay": "python-alipay-sdk (and PyCryptodome, pyOpenSSL under it): only when an Alipay gateway is first "
              "used (payments/alipay.py); a till without Alipay never loads it",
}
PRINTER_STACK = ("escpos", "PIL", "qrcode", "usb")  # PIL: python-escpos imports Pillow; we never do directly


def loaded_by(code: str, *args: str) -> tuple[set[str], str]:
    """The top-level modules in sys.modules once `code` has run in a fresh interpreter (reported
    at exit, so that a command ending in sys.exit() reports too), and what it printed."""
    probe = ("import atexit, json, os, sys\n"
             "atexit.register(lambda: open(os.environ['MODULES_OUT'], 'w').write(json.dumps(sorted(sys.modules))))\n")
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "modules.json"
        proc = subprocess.run([sys.executable, "-c", probe + code, *args], capture_output=True, text=True, timeout=120,
                              env={**os.environ, "MODULES_OUT": str(out)}, stdin=subprocess.DEVNULL)
        assert out.exists(), f"the probe did not finish ({proc.returncode}): {proc.stderr[-2000:]}"
        modules = json.loads(out.read_text())
    return {name.split(".")[0] for name in modules}, proc.stdout


def test_every_deferred_third_party_import_is_listed_with_why():
    """A function-level import of a third-party module is a deliberate deferral: it is listed in
    DEFERRED with its reason (and the tests below keep it deferred), or it goes to the top."""
    stdlib = set(sys.stdlib_module_names)
    unlisted = []
    for path in sorted((ROOT / "tui_pos").rglob("*.py")):
        for function in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(function):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    top = name.split(".")[0]
                    if top not in stdlib and top != "tui_pos" and top not in DEFERRED:
                        unlisted.append(f"{path.relative_to(ROOT)}:{node.lineno} imports {name}")
    assert not unlisted, "deferred imports not in DEFERRED (add each with why):\n" + "\n".join(unlisted)


def test_the_domain_imports_no_io_library():
    """Every module of tui_pos.domain, imported as a fresh process would: no database, UI, CLI or
    printer library comes with it (also not through a dependency, which the contracts cannot see)."""
    code = ("import importlib, pkgutil, tui_pos.domain\n"
            "for module in pkgutil.walk_packages(tui_pos.domain.__path__, 'tui_pos.domain.'):\n"
            "    importlib.import_module(module.name)\n"
            "import sys\n"
            "assert len([m for m in sys.modules if m.startswith('tui_pos.domain.')]) > 5\n")
    loaded, _ = loaded_by(code)
    banned = {"sqlite3", "_sqlite3", "sqlite_utils", "textual", "rich", "click", "escpos", "usb", "PIL", "qrcode"}
    assert not loaded & banned, f"importing the domain loaded {sorted(loaded & banned)}"


def test_the_command_line_help_loads_neither_the_ui_nor_the_printer_stack():
    """`tui-pos --help` (and so the start of every command) pays for none of the deferred imports."""
    loaded, shown = loaded_by("import sys; sys.argv = ['tui-pos', '--help']\nfrom tui_pos.cli import main\nmain()\n")
    assert "Usage: tui-pos" in shown  # the probe really ran the command line
    unwanted = {"textual", *PRINTER_STACK, *DEFERRED}
    assert not loaded & unwanted, f"tui-pos --help imported {sorted(loaded & unwanted)}"


START_THE_TILL = """
import asyncio, sys, time
from tui_pos.ui.app import PosApp
from tui_pos.ui.screens.login import LoginScreen

def run_until_the_login_screen(app):
    async def started():
        async with app.run_test(size=(80, 24)) as pilot:
            deadline = time.monotonic() + 60
            while not (isinstance(app.screen, LoginScreen) and app.printer_state != "starting"):
                assert time.monotonic() < deadline, "the till did not come up"
                await pilot.pause(0.05)
            print("the till is up, printer:", app.printer_state)
    asyncio.run(started())

PosApp.run = run_until_the_login_screen  # what `tui-pos` runs, headless
from tui_pos.cli import main
sys.argv = ["tui-pos", "--data-dir", sys.argv[1]]
main()
"""


def test_starting_the_till_loads_no_printer_library(tmp_path):
    """`tui-pos` with a receipt printer configured, up to the login screen with the printer
    probed: python-escpos, Pillow and pyusb wait for the first receipt (or a USB printer)."""
    from conftest import set_config
    from tui_pos.bootstrap.shop import init_shop

    shop = tmp_path / "shop"
    init_shop(shop, demo=True)
    set_config(shop, "printer", "connection", f'"file:{tmp_path / "printer.bin"}"')
    loaded, shown = loaded_by(START_THE_TILL, str(shop))
    assert "the till is up, printer: ready" in shown  # the probe really started the till, and probed the printer
    unwanted = {*PRINTER_STACK, "sqlite_utils"}  # the shop exists: no schema to create
    assert not loaded & unwanted, f"starting the till imported {sorted(loaded & unwanted)}"


# -- the command line --------------------------------------------------------------------------------------------------
def test_one_cli_file_per_command_group():
    """`tui-pos GROUP ...` is cli/GROUP.py, every subcommand of it included, and no file holds two
    groups: a newcomer finds a command from its name."""
    import click

    from tui_pos.cli import main

    def callbacks(command: click.Command) -> list[str]:
        found = [command.callback.__module__] if command.callback else []
        for sub in getattr(command, "commands", {}).values():
            found += callbacks(sub)
        return found

    misplaced, homes = [], {}
    for name, command in sorted(main.commands.items()):
        if not isinstance(command, click.Group):
            continue
        home = f"tui_pos.cli.{name.replace('-', '_')}"
        misplaced += [f"{name}: {module}" for module in callbacks(command) if module != home]
        homes.setdefault(home, []).append(name)
    assert not misplaced, f"commands of a group outside the group's file: {misplaced}"
    shared = {home: names for home, names in homes.items() if len(names) > 1}
    assert not shared, f"files holding more than one group: {shared}"
