"""End-to-end: the real `tui-pos` in a detached 80x24 tmux session, driven by `send-keys` and read
with `capture-pane`, as a support engineer attached over SSH would see it (issue 3, "Tests").

Each test gets a fresh demo shop made by `tui-pos init --demo` and its own tmux server (a private
socket, killed in a finalizer). Screens are polled with a timeout, never read after a fixed sleep.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import (
    COLA,
    CONSOLE_GLYPHS,
    CONSOLE_MISSING_GLYPHS,
    NOODLES,
    WATER,
    WEIGHED,
    cli_json,
    open_shift_in,
    run_cli,
)

from .tmux import TmuxTill, log_in

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None,
                                reason="tmux is not installed (CI installs it: Makefile TEST_DEBS)")


@pytest.fixture
def start_till(tmp_path: Path):
    """start_till(term) -> (TmuxTill, data_dir): the real till on a fresh demo shop."""
    tills: list[TmuxTill] = []

    def start(term: str = "screen-256color") -> tuple[TmuxTill, Path]:
        data_dir = tmp_path / f"shop-{len(tills)}"
        run_cli(data_dir, "init", "--demo")
        open_shift_in(data_dir)
        till = TmuxTill()
        tills.append(till)
        till.start(data_dir, term)
        till.wait_for(r"┌.*Log in .*PIN .*┘")  # the whole login box, not a first partial paint
        return till, data_dir

    yield start
    for till in tills:
        till.close()


def demo_codes() -> list[str]:
    """Every fixed-price barcode of the demo catalog, in file order."""
    import csv
    from importlib import resources

    text = resources.files("tui_pos").joinpath("demo_catalog.csv").read_text(encoding="utf-8")
    return [row["barcode"] for row in csv.DictReader(text.splitlines()) if row["barcode"] != WEIGHED]


def test_log_in_scan_pay_exact_cash_and_find_the_sale(start_till) -> None:
    """The whole checkout on the real program: what the screen says after payment (receipt number,
    total, change) is what `tui-pos sales --json` finds stored."""
    till, data_dir = start_till()
    log_in(till)
    till.keys(COLA, "Enter", WATER, "Enter", NOODLES, "Enter")
    # 3.50 + 2.00 + 4.50 = 10.00; tax included, per line: 0.40 + 0.23 + 0.37 = 1.00
    till.wait_for(r"Items 3 Discount 0\.00 Tax 1\.00 .*TOTAL")  # the total itself is drawn in large digits
    till.keys("F10")
    till.wait_for(r"TOTAL .*TO PAY .*Quick cash: F5 ￥10\.00")  # exact cash is the total
    till.keys("Enter")  # Enter on an empty amount: cash, exactly what is due
    paid = till.wait_for(r"CHANGE .*Sale (T1-\d{6}) paid: total ￥(\d+\.\d\d), change ￥(\d+\.\d\d),"
                         r" stored in the database\. Next customer\.")
    receipt, total, change = paid.groups()
    assert (receipt, total, change) == ("T1-000001", "10.00", "0.00")

    sales = cli_json(data_dir, "sales")
    assert [(s["receipt"], s["total"], s["cashier"], s["stored"]) for s in sales] == [
        (receipt, total, "demo", "sqlite")]
    status = cli_json(data_dir, "status")
    assert status["cart"]["lines"] == [] and status["cart"]["total"] == "0.00", "a fresh sale did not start"


def test_a_burst_of_100_scans_in_one_send_keys_gives_100_lines_in_order(start_till) -> None:
    """A keyboard-wedge scanner's burst through a real pty: 100 codes, each with Enter, written in
    one `send-keys`; the saved cart must hold exactly those 100 lines, in the order sent."""
    till, data_dir = start_till()
    log_in(till)
    codes = demo_codes()
    burst = [codes[i % len(codes)] for i in range(100)]
    till.keys(*[key for code in burst for key in (code, "Enter")])
    till.wait_for(r"Items 100 ", timeout=60)
    lines = cli_json(data_dir, "status")["cart"]["lines"]
    assert [line["barcode"] for line in lines] == burst
    assert all(line["qty"] == 1 for line in lines)


def test_login_typed_ahead_in_one_burst_logs_in_and_never_shows_the_pin(start_till) -> None:
    """A fast typist (or a pasted line) sends 'demo Enter 1234 Enter' before the PIN field has
    taken focus: the keys after the first Enter belong to the PIN field. They must not land in
    the user field, where the PIN would show in clear text and the login fail."""
    till, _ = start_till()
    till.keys("demo", "Enter", "1234", "Enter")
    till.wait_for(r"\| demo \|", timeout=10, forbid=r"1234")


def test_term_linux_picks_the_console_theme_without_block_glyphs(start_till) -> None:
    """TERM=linux (theme "auto") must draw nothing the Linux console's fonts lack: on the login
    screen, a cart long enough to scroll, and the tender screen."""
    till, _ = start_till(term="linux")

    def assert_console_glyphs(where: str) -> None:
        screen = till.screen()
        found = sorted(set(screen) & CONSOLE_MISSING_GLYPHS)
        assert not found, f"{where}: glyphs the Linux console lacks: {found}\n{screen}"
        found = sorted(c for c in set(screen) - {"\n"} if c not in CONSOLE_GLYPHS)  # CJK names, ￥ (issue 10)
        assert not found, f"{where}: characters the Linux console cannot draw: {found}\n{screen}"

    assert_console_glyphs("login")
    log_in(till)
    codes = demo_codes()[:20]  # more lines than fit: the cart's scrollbar is drawn
    till.keys(*[key for code in codes for key in (code, "Enter")])
    till.wait_for(r"Items 20 ")
    assert_console_glyphs("checkout with a scrolled cart")
    till.keys("F10")
    till.wait_for(r"TO PAY ")
    assert_console_glyphs("tender")


def test_the_receipts_qr_code_is_read_off_the_linux_console_by_zbar(start_till, tmp_path) -> None:
    """Issue 10 item 7, as reported: TERM=linux at 80x25, no printer. After a sale, the change
    screen's key shows its receipt; the QR code drawn (read back from tmux with its colours) is
    decoded by zbar, and names that sale."""
    from screen_qr import need_zbar, screen_image, zbar_decode

    need_zbar()
    till, data_dir = start_till(term="linux")
    till.tmux("resize-window", "-t", "till", "-x", "80", "-y", "25")
    log_in(till)
    till.keys(COLA, "Enter")
    till.wait_for(r"Items 1 ")
    till.keys("F10")
    till.wait_for(r"TO PAY ")
    till.keys("Enter")
    receipt = till.wait_for(r"Sale (T1-\d{6}) paid: .*\^Y: this receipt on screen\.").group(1)
    till.keys("C-y")
    till.wait_for(rf"{receipt} Esc: close")
    rows = till.tmux("capture-pane", "-p", "-e", "-t", "till").split("\n")
    assert len(rows) >= 25
    decoded = zbar_decode(screen_image(rows, tmp_path / "console.png"))
    assert len(decoded) == 1, f"zbar read {decoded} off the screen:\n{till.screen()}"
    [sale] = cli_json(data_dir, "sales")
    assert decoded[0].split()[0] == receipt == sale["receipt"]
    assert sale["uuid"].upper() in decoded[0]
