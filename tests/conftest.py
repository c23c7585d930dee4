"""Shared fixtures: a real shop in a real directory on disk, and helpers to run the real CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tui_pos import i18n
from tui_pos.app.till import Till
from tui_pos.bootstrap.shop import init_shop
from tui_pos.bootstrap.till import open_till
from tui_pos.config import load_config

# The tests read English unless they ask for another language: a developer's zh_CN locale must not
# change what a new shop's config.toml says (its [ui] language follows the system's, see i18n.py).
for _name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES"):
    os.environ.pop(_name, None)
os.environ["LANG"] = "C.UTF-8"

# hq_cluster: a throwaway PostgreSQL for the HQ tests (tests/hq, tests/cli/test_hq.py);
# payments.*_sim: the code-payment gateway simulators, for any test that charges a payment code
pytest_plugins = [
    "hq_cluster",
    "payments.alipay_sim",
    "payments.wechat_sim",
]



@pytest.fixture(autouse=True)
def _english_screen_after_each_test():
    """The screen's language is the process's (i18n.use_language): a test that says something in
    Chinese, or runs a till whose [ui] language is zh_CN, leaves the next test reading English,
    whether it passed or failed. So a test switches with a plain i18n.use_language("zh_CN")."""
    yield
    if i18n.current_language() != "en":
        i18n.use_language("en")


def in_chinese(shop: Path) -> Path:
    """The shop speaking Chinese: [ui] language = "zh_CN" in its config.toml, as `init` writes it
    for a zh_CN locale (the CLI and the till read it: their human output is Chinese)."""
    set_config(shop, "ui", "language", '"zh_CN"')
    return shop


# Demo catalog codes used across tests (see tui_pos/demo_catalog.csv).
COLA = "6900000000014"  # 3.50, tax A (13%)
WATER = "6900000000021"  # 2.00, tax A
NOODLES = "6900000000113"  # 4.50, tax B (9%)
WEIGHED = "6900000000595"  # open price (0 in the catalog), tax B


FLOAT = 10000  # 100.00 in the drawer when the test shop's shift opens


def open_shift_in(data_dir: Path) -> None:
    """Open a shift (float 100.00, by the demo cashier) in an existing shop: sales need one."""
    init_shop(data_dir, demo=False, shift_float=FLOAT)


def open_demo_shop(data_dir: Path) -> Path:
    """A demo shop with a shift open: ready to sell."""
    init_shop(data_dir, demo=True, shift_float=FLOAT)
    return data_dir


@pytest.fixture
def shop_dir(tmp_path: Path) -> Path:
    """A fresh demo shop on disk, its shift open."""
    return open_demo_shop(tmp_path / "shop")


def till_at(data_dir: Path, user: str | None = None, pin: str = "") -> Till:
    """The shop's till as a person finds it at the counter: no one logged in, or (user) this
    person logged in with their PIN. The caller closes it."""
    till = open_till(load_config(data_dir), cashier="")
    if user is not None:
        till.login(user, pin)
    return till


@pytest.fixture
def till(shop_dir: Path):
    t = open_till(load_config(shop_dir), cashier="test")
    yield t
    t.close()


# Who sells in the tests that are not about who may sell (a command that moves money needs a
# named person's PIN; scripts give it like this, see the README).
AS_DEMO = ("--cashier", "demo", "--pin", "1234")
CREDENTIALS_ENV = ("TUI_POS_USER", "TUI_POS_PIN")


def run_cli(data_dir: Path, *args: str, env: dict[str, str] | None = None, check: bool = True,
            timeout: float = 60, input: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run the real `tui-pos` entry point in a subprocess (stdin: `input`, else nothing, so
    that a PIN prompt reads end-of-file instead of waiting for a terminal)."""
    inherited = {k: v for k, v in os.environ.items() if k not in CREDENTIALS_ENV}
    full_env = {**inherited, "TUI_POS_DATA_DIR": str(data_dir), **(env or {})}
    proc = subprocess.run([sys.executable, "-m", "tui_pos", *args], capture_output=True, text=True,
                          env=full_env, timeout=timeout, input=input,
                          stdin=subprocess.DEVNULL if input is None else None)
    if check and proc.returncode != 0:
        raise AssertionError(f"tui-pos {' '.join(args)} failed ({proc.returncode}): {proc.stderr}")
    return proc


def cli_json(data_dir: Path, *args: str, **kwargs):
    return json.loads(run_cli(data_dir, *args, "--json", **kwargs).stdout)


# -- storage made unusable without fault injection (shared by tests/app, tests/cli and others) ------
import sqlite3  # noqa: E402
from contextlib import contextmanager  # noqa: E402


@contextmanager
def database_write_locked(data_dir: Path):
    """Another process holds SQLite's write lock: every write gets 'database is locked' (reads work)."""
    conn = sqlite3.connect(data_dir / "pos.sqlite3", isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        conn.execute("ROLLBACK")
        conn.close()


@contextmanager
def journal_dir_replaced_by_a_file(data_dir: Path):
    """The journal directory is gone and a regular file sits in its place; put back afterwards."""
    journal, moved = data_dir / "journal", data_dir / "journal.moved"
    journal.rename(moved)
    journal.write_text("the journal disk is gone")
    try:
        yield
    finally:
        journal.unlink()
        moved.rename(journal)


DB_FILES = ("pos.sqlite3", "pos.sqlite3-wal", "pos.sqlite3-shm")


GARBAGE_DB = b"this is not a database, it is what a failing disk returned\n" * 40


def break_sqlite(shop: Path, aside: Path, how: str = "garbage") -> None:
    """pos.sqlite3 made impossible to read: garbage (GARBAGE_DB) in its place, or (how="directory")
    a directory; the real files kept aside for restore_sqlite."""
    aside.mkdir()
    for name in DB_FILES:
        if (shop / name).exists():
            (shop / name).rename(aside / name)
    if how == "directory":
        (shop / "pos.sqlite3").mkdir()
    else:
        (shop / "pos.sqlite3").write_bytes(GARBAGE_DB)


def restore_sqlite(shop: Path, aside: Path) -> None:
    """Put back what break_sqlite set aside."""
    for name in DB_FILES:
        if (shop / name).is_dir():
            (shop / name).rmdir()
        (shop / name).unlink(missing_ok=True)
        if (aside / name).exists():
            (aside / name).rename(shop / name)
    aside.rmdir()


# -- editing config.toml in a test (shared by tests/app and tests/ui) ---------------------
import re  # noqa: E402


def set_config(data_dir: Path, section: str, key: str, toml_value: str) -> None:
    """Set `key = toml_value` in [section] of the shop's config.toml (replacing the key if it is
    there, else adding it under the section header, or adding the section)."""
    path = data_dir / "config.toml"
    text = path.read_text(encoding="utf-8")
    header = re.search(rf"^\[{re.escape(section)}\][^\n]*\n", text, re.M)
    if header is None:
        text += f"\n[{section}]\n{key} = {toml_value}\n"
    else:
        end = re.search(r"^\[", text[header.end():], re.M)
        body_end = header.end() + (end.start() if end else len(text) - header.end())
        body = text[header.end():body_end]
        line = re.compile(rf"^{re.escape(key)}\s*=.*$", re.M)
        body = line.sub(lambda _: f"{key} = {toml_value}", body, count=1) if line.search(body) \
            else f"{key} = {toml_value}\n{body}"
        text = text[:header.end()] + body + text[body_end:]
    path.write_text(text, encoding="utf-8")


# -- what the Linux console cannot draw (shared by tests/ui/test_app_snapshots.py and tests/e2e) -------
# Its fonts (TERM=linux) lack the half blocks, the eighth blocks (Textual's scrollbars and "tall"
# borders use ▔▁▎▊▕) and the rounded corners; issue 3 requires the console theme to use none.
# (Issue 10: the console's fonts do have ▀ ▄ █, and the receipt's QR code on screen uses them; they
# stay listed here so that nothing else of the UI comes to depend on them.)
# The upper and lower half blocks ▀ ▄ are the exception: the PC's 8x16 font has them (CP437) and the
# receipt's QR code on screen is drawn with them (tui_pos/printing/screen.py).
CONSOLE_MISSING_GLYPHS = frozenset("▐▔▕▁▂▃▅▆▇▉▊▋▌▍▎▏╭╮╰╯")
# What it can draw, stated independently of the till's code (issue 10 item 12): Debian's console
# fonts (console-setup's Lat15 and Uni2 sets) have printable ASCII, Latin-1 (so ¥ U+00A5, not the
# fullwidth ￥ U+FFE5), the Latin-9 extras, the light box-drawing lines, the full and the upper and
# lower half blocks; no CJK at all.
CONSOLE_GLYPHS = frozenset(
    [chr(c) for c in range(0x20, 0x7F)] + [chr(c) for c in range(0xA0, 0x100)] + list("€ŠšŽžŒœŸ")
    + list("─│┌┐└┘├┤┬┴┼█▀▄"))


# -- sales at chosen times, read in a chosen time zone (shared by the sales report tests) -----------
import time  # noqa: E402

from tui_pos.domain.tender import Tender  # noqa: E402

UTC_PLUS_8 = "CST-8"  # POSIX TZ: China's UTC+8, no daylight saving time, no tzdata needed
CANDY = "6900000099990"  # imported by sell_two_days(): 1.00, tax A, no department


@pytest.fixture
def utc_plus_8():
    """This process's local time is UTC+8 (a till in China) for the test; put back afterwards."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = UTC_PLUS_8
    time.tzset()
    yield UTC_PLUS_8
    if before is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = before
    time.tzset()


def sell_at(till: Till, at: str, items: dict[str, int], tenders: list[Tender], cashier: str = "test"):
    """One sale through the Till API, completed at `at` (a stored UTC time), by `cashier`."""
    till.clock, till.cashier = (lambda: at), cashier
    for code, qty in items.items():
        till.scan(code, qty)
    return till.pay(tenders).sale


def sell_two_days(data_dir: Path) -> None:
    """Sales, a refund, a voided line and a void of a sale over two local days in UTC+8, in the
    shop's open shift (the figures are worked out by hand in tests/app/test_reports.py):

    local 2026-03-01  07:50 amy  COLA + 2 CANDY, mobile 5.50 (UTC: still 2026-02-28)
                      09:30 amy  2 COLA + NOODLES, cash 20.00 (change 8.50)
                      10:10 amy  3 WATER (+ NOODLES voided before payment), card 6.00
                      11:00 bob  refund of 1 COLA of the 09:30 sale: cash -3.50
    local 2026-03-02  00:30 bob  2 NOODLES, cash 9.00 (UTC: still 2026-03-01)
                      01:00 amy  void of the 00:30 sale: cash -9.00
    """
    from tui_pos.app.catalog_import import import_catalog

    config = load_config(data_dir)
    till = open_till(config, cashier="amy")
    try:
        import_catalog(till, f"barcode,name,price,tax\n{CANDY},Loose candy,1.00,A\n",
                       till.approve("manager", "9999", "catalog"))
        sell_at(till, "2026-02-28T23:50:00.000+00:00", {COLA: 1, CANDY: 2}, [Tender("mobile", 550, "M1")], "amy")
        first = sell_at(till, "2026-03-01T01:30:00.000+00:00", {COLA: 2, NOODLES: 1}, [Tender("cash", 2000)], "amy")
        till.clock = lambda: "2026-03-01T02:10:00.000+00:00"
        till.scan(WATER, 3)
        till.void_line(till.scan(NOODLES).lines[-1].line_id)
        till.pay([Tender("card", 600, "C1")])
        till.clock, till.cashier = (lambda: "2026-03-01T03:00:00.000+00:00"), "bob"
        till.refund(first.receipt, {1: 1}, "Damaged", till.approve("manager", "9999", "refund"))
        sell_at(till, "2026-03-01T16:30:00.000+00:00", {NOODLES: 2}, [Tender("cash", 900)], "bob")
        till.clock, till.cashier = (lambda: "2026-03-01T17:00:00.000+00:00"), "amy"
        till.void_last_sale("Other", till.approve("manager", "9999", "void"))
    finally:
        till.close()


# -- a refused command (shared by the tests of the shift, refund, user and audit commands) -------
def cli_error(data_dir: Path, *args: str, **kwargs) -> str:
    """Run a command that must be refused: exit status 1 and one `Error:` line; returns the message."""
    proc = run_cli(data_dir, *args, check=False, **kwargs)
    assert proc.returncode == 1, f"tui-pos {' '.join(args)} was not refused: {proc.stdout}"
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), proc.stderr
    return lines[0].removeprefix("Error: ")


@pytest.fixture(scope="session")
def two_days_shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo shop holding sell_two_days()'s sales, made once per run: copy it to change it."""
    data_dir = tmp_path_factory.mktemp("two-days") / "shop"
    open_demo_shop(data_dir)
    sell_two_days(data_dir)
    return data_dir
