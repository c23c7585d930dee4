"""Interrupts (Ctrl-C, SIGTERM, SIGHUP) against the real CLI in subprocesses.

Once a sale's outcome is decided the command reports it truthfully, whatever signal arrives; a
second interrupt while it is still being decided says the outcome is unknown. An interrupt
never prints a traceback: one line and exit status 130.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pytest

from conftest import AS_DEMO, COLA, cli_json, in_chinese
from tests.cli.stopped import DEADLINE_S, signal_and_continue, start_stopped

SELL = ("sell", *AS_DEMO, "--item", COLA, "--tender", "cash", "--no-print", "--json")


def stored_receipts(data_dir: Path) -> list[str]:
    with closing(sqlite3.connect(f"{(data_dir / 'pos.sqlite3').as_uri()}?mode=ro", uri=True)) as conn:
        return [r for (r,) in conn.execute("SELECT receipt FROM sale ORDER BY seq")]


@pytest.mark.parametrize("point", ["sqlite_before_commit", "sqlite_after_commit"])
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_interrupt_while_a_sale_is_stored_reports_it_truthfully(shop_dir: Path, point: str, signum: int):
    proc = start_stopped(shop_dir, point, *SELL)
    status, out, err = signal_and_continue(proc, signum)
    assert "Traceback" not in err
    receipts = stored_receipts(shop_dir)
    assert len(receipts) == 1  # the commit went ahead: the signal came while it was being decided
    assert status == 0, err  # ... so the command says so, with the receipt number, and succeeds
    assert json.loads(out)["receipt"] == receipts[0]
    assert [s["receipt"] for s in cli_json(shop_dir, "sales")] == receipts


def test_second_interrupt_while_deciding_says_the_outcome_is_unknown(shop_dir: Path):
    proc = start_stopped(shop_dir, "sqlite_before_commit", *SELL)
    status, out, err = signal_and_continue(proc, signal.SIGINT, signal.SIGTERM)
    assert status == 130
    assert "outcome unknown" in err and "tui-pos sales" in err
    assert "Traceback" not in err and out == ""


def test_interrupt_after_a_catalog_import_committed_says_it_was_imported(shop_dir: Path, tmp_path: Path):
    csv = tmp_path / "catalog.csv"
    csv.write_text("barcode,name,price,tax\n" + "".join(f"77{i:08d},Item {i},1.{i % 100:02d},A\n" for i in range(500)))
    proc = start_stopped(shop_dir, "catalog_after_commit", "catalog", "import", str(csv), "--manager", "manager",
                         "--pin", "9999", "--json")
    status, out, err = signal_and_continue(proc, signal.SIGINT)
    with closing(sqlite3.connect(shop_dir / "pos.sqlite3")) as conn:
        assert conn.execute("SELECT count(*) FROM product WHERE barcode LIKE '77%'").fetchone()[0] == 500
    assert status == 0, err
    assert json.loads(out) == {"imported": 500, "openings": 0, "stock_kept": []}


def test_interrupt_at_any_moment_never_lies_about_a_sale(shop_dir: Path):
    """Ctrl-C at random moments of real `sell` runs: whatever the moment, exit 0 means the sale
    is stored (and printed with its receipt), exit 130 means it is not, or says it is unknown.
    The delays only spread the moments; nothing here depends on when the signal lands."""
    rng = random.Random(11)
    acknowledged, unknown = [], 0
    env = {**os.environ, "TUI_POS_DATA_DIR": str(shop_dir)}
    for _ in range(16):
        proc = subprocess.Popen([sys.executable, "-m", "tui_pos", *SELL], env=env, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(rng.uniform(0, 0.8))  # a stimulus, not a wait: the assertions hold for any value
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=DEADLINE_S)
        assert "tui_pos/" not in err, err  # never a traceback through tui-pos' code
        if proc.returncode == 0:
            acknowledged.append(json.loads(out)["receipt"])
        elif proc.returncode == 130:
            assert err.strip().count("\n") == 0, err  # one line
            if "outcome unknown" in err:
                unknown += 1
            else:
                assert "not recorded" in err or "interrupted" in err.lower(), err
        else:  # the interpreter's own start-up, before any of tui-pos ran (killed, or its traceback)
            assert proc.returncode == -signal.SIGINT or "KeyboardInterrupt" in err, (proc.returncode, err)
    stored = stored_receipts(shop_dir)
    assert set(acknowledged) <= set(stored)
    assert len(set(stored) - set(acknowledged)) <= unknown  # "not recorded" was true every time


def as_a_shell_starts_it() -> None:
    """The child's Ctrl-C as an interactive shell hands it over: default, not blocked. A child
    inherits an ignored or blocked SIGINT, and a test worker's may be either by then (a library
    or a test before this one in the same process): then no interrupt would ever land."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def test_early_interrupt_is_one_line_and_130(tmp_path: Path):
    """Ctrl-C while Python is still importing the CLI (its first tenth of a second or so): no
    KeyboardInterrupt traceback from tui-pos' code. (Before the first line of tui-pos runs, the
    interpreter's own start-up is Python's: a traceback there names no tui_pos/ file.)"""
    env = {**os.environ, "TUI_POS_DATA_DIR": str(tmp_path / "none")}
    outcomes: list[tuple[int, str]] = []
    deadline = time.monotonic() + 60
    step = 0
    # Moments spread from 0 on, and on (later and later: a busy machine starts Python slowly) until
    # one interrupt has landed while tui-pos ran; the assertions hold for every moment.
    while step < 14 or not any(code == 130 for code, _ in outcomes):
        assert time.monotonic() < deadline, f"no interrupt landed while tui-pos ran: {outcomes}"
        proc = subprocess.Popen([sys.executable, "-m", "tui_pos", "status", "--json"], env=env, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=as_a_shell_starts_it)
        time.sleep(step * 0.025)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=DEADLINE_S)
        outcomes.append((proc.returncode, err))
        assert "tui_pos/" not in err, err  # no traceback through tui-pos' code
        if proc.returncode == 130:
            assert err.strip() == "Error: interrupted", err
        step += 1


INTERRUPT_AT_IMPORT = """
import os, signal, sys

class InterruptAt:
    \"\"\"Ctrl-C exactly when Python looks for {name!r}: the moment a busy machine may hit.\"\"\"
    def find_spec(self, name, path=None, target=None):
        if name == {name!r}:
            os.kill(os.getpid(), signal.SIGINT)
        return None

sys.meta_path.insert(0, InterruptAt())
"""


@pytest.mark.parametrize("module", ["tui_pos.cli", "tui_pos.cli.base"])
def test_interrupt_while_the_cli_is_imported_is_one_line_and_130(tmp_path: Path, module: str):
    """The same at two exact moments: before the CLI package runs a line (from __main__) and
    while it imports its commands: one line and 130, never a traceback."""
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(INTERRUPT_AT_IMPORT.format(name=module))
    env = {**os.environ, "TUI_POS_DATA_DIR": str(tmp_path / "none"), "PYTHONPATH": str(hook)}
    proc = subprocess.run([sys.executable, "-m", "tui_pos", "status", "--json"], env=env, text=True,
                          capture_output=True, timeout=DEADLINE_S, preexec_fn=as_a_shell_starts_it)
    assert (proc.returncode, proc.stderr.strip()) == (130, "Error: interrupted"), proc.stderr


def test_interrupt_while_a_z_report_is_stored_reports_it(shop_dir: Path):
    """The same holding for the Z report (and refunds, voids, paid-in/out, shift opening)."""
    proc = start_stopped(shop_dir, "sqlite_after_commit", "shift", "close", "--counted", "100.00", *AS_DEMO, "--json")
    status, out, err = signal_and_continue(proc, signal.SIGINT)
    with closing(sqlite3.connect(shop_dir / "pos.sqlite3")) as conn:
        assert conn.execute("SELECT z_number FROM z_report").fetchall() == [(1,)]
    assert status == 0, err
    assert json.loads(out)["z_number"] == 1


def test_an_interrupt_is_said_in_the_shops_language(shop_dir: Path, tmp_path: Path):
    """Ctrl-C once the shop's config.toml is read ([ui] language = "zh_CN"): the one line is
    Chinese; before any shop is read (the CLI still importing), the system's locale decides."""
    in_chinese(shop_dir)
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(INTERRUPT_AT_IMPORT.format(name="tui_pos.sync.state"))  # status reads it late
    env = {**os.environ, "TUI_POS_DATA_DIR": str(shop_dir), "PYTHONPATH": str(hook)}
    proc = subprocess.run([sys.executable, "-m", "tui_pos", "status"], env=env, text=True, capture_output=True,
                          timeout=DEADLINE_S, preexec_fn=as_a_shell_starts_it)
    assert (proc.returncode, proc.stderr.strip()) == (130, "错误：已中断"), proc.stderr

    (hook / "sitecustomize.py").write_text(INTERRUPT_AT_IMPORT.format(name="tui_pos.cli.base"))
    proc = subprocess.run([sys.executable, "-m", "tui_pos", "status"], env={**env, "LANG": "zh_CN.UTF-8"}, text=True,
                          capture_output=True, timeout=DEADLINE_S, preexec_fn=as_a_shell_starts_it)
    assert (proc.returncode, proc.stderr.strip()) == (130, "错误：已中断"), proc.stderr
