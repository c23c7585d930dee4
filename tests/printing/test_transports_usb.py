"""The real USB path: tui-pos -> pyusb -> libusb -> usbdevfs ioctls, answered by an emulated
ESC/POS printer (umockdev, usb_emulator/). Each scenario runs the real `tui-pos` CLI and the
till's print queue against the printer in a given state, then checks three things: the sale is
stored, its receipt ends printed or listed as unprinted, and nothing prints twice without a
COPY mark (decoded from every byte the printer received).

Needs Debian's libusb-1.0-0, umockdev, gir1.2-umockdev-1.0 and python3-gi (`make test` installs
them as root); skipped with the reason otherwise.
"""

from __future__ import annotations

import ctypes.util
import json
import os
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest

from conftest import AS_DEMO, COLA, set_config

from .escpos_decode import decode
from .fakes import printed_receipts

HERE = Path(__file__).parent
ROOT = HERE.parents[1]
SYSTEM_PYTHON = "/usr/bin/python3"
FIRST = "T1-000001"  # the first receipt of a fresh shop
SELL_CLI = {"cli": ["sell", "--item", f"{COLA}x2", "--tender", "cash", *AS_DEMO, "--json"]}
UNPRINTED_CLI = {"cli": ["receipts", "--unprinted", "--json"]}
# The same work in the driver's own process (one Python start-up less per step; the CLI itself is
# covered by test_normal_print, the list/test page test and tests/cli/test_receipts_commands.py):
SELL = {"sell": COLA}
UNPRINTED = {"unprinted": True}
RUN_ONCE = {"run_once": True}
REPRINT = {"reprint": FIRST}


def _missing() -> str | None:
    if not ctypes.util.find_library("usb-1.0"):
        return "libusb-1.0 is not installed (Debian: libusb-1.0-0); make test installs it as root"
    if not ctypes.util.find_library("umockdev-preload"):
        return "umockdev is not installed (Debian: umockdev); make test installs it as root"
    if not Path(SYSTEM_PYTHON).exists():
        return f"{SYSTEM_PYTHON} (Debian's Python, for python3-gi) is missing"
    probe = subprocess.run([SYSTEM_PYTHON, "-c", "import gi; gi.require_version('UMockdev', '1.0'); "
                            "from gi.repository import UMockdev"], capture_output=True, text=True)
    if probe.returncode:
        return "UMockdev GObject bindings missing (Debian: python3-gi gir1.2-umockdev-1.0)"
    return None


MISSING = _missing()
pytestmark = pytest.mark.skipif(MISSING is not None, reason=MISSING or "")


@pytest.fixture
def usb_shop(shop_dir):
    """A demo shop printing on the emulated 0416:5011, with short timeouts (the emulated device
    busy-polls while a transfer waits)."""
    set_config(shop_dir, "printer", "connection", '"usb:0416:5011"')
    set_config(shop_dir, "printer", "write_timeout_ms", "400")
    set_config(shop_dir, "printer", "status_timeout_ms", "150")
    return shop_dir


def scenario(tmp_path: Path, shop: Path, knobs: dict, steps: list[dict]):
    """Run steps (usb_driver.py) against the emulated printer; return the step results, every
    byte the printer received, and the emulator's log."""
    out = tmp_path / "emulator"
    out.mkdir()
    proc = subprocess.run(
        [SYSTEM_PYTHON, str(HERE / "usb_emulator" / "harness.py"), json.dumps(knobs), str(out), "--",
         sys.executable, str(HERE / "usb_driver.py"), str(shop), json.dumps(steps)],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    results = json.loads(proc.stdout.strip().splitlines()[-1])
    return results, (out / "received.bin").read_bytes(), json.loads((out / "log.json").read_text())


def stored(shop: Path, receipt: str) -> bool:
    with closing(sqlite3.connect(shop / "pos.sqlite3")) as conn:
        return conn.execute("SELECT 1 FROM sale WHERE receipt = ?", (receipt,)).fetchone() is not None


def test_normal_print(tmp_path, usb_shop):
    """Sell: the receipt prints at once over USB, with the drawer kick (cash), the QR code and
    the cut; nothing is left unprinted."""
    (sell, unprinted), received, log = scenario(tmp_path, usb_shop, {}, [SELL_CLI, UNPRINTED_CLI])
    assert sell["rc"] == 0 and sell["out"]["printed"] is True and sell["out"]["receipt"] == FIRST
    assert stored(usb_shop, FIRST) and unprinted["out"] == []
    assert printed_receipts(received) == [(FIRST, False)]
    events = decode(received).events
    assert ("drawer", 0, 50, 50) in events and ("cut", "full") in events
    assert ("qr", f"{FIRST} {sell['out']['uuid']}") in events
    # issue 16: Chinese over the real USB path, GB18030 read back by the printer's own rules
    texts = decode(received).texts
    assert "可口可乐 330ml" in texts and any(t.startswith("TOTAL") and t.endswith("￥7.00") for t in texts), texts
    assert "RESET" not in log["ioctls"]  # unlike python-escpos's Usb.open(), we never reset the printer


def test_paper_near_end_prints_and_warns(tmp_path, usb_shop):
    (sell, probe), received, _ = scenario(tmp_path, usb_shop, {"paper": "near_end"}, [SELL, {"probe": True}])
    assert sell["printed"] is True
    assert probe["state"] == "paper_near_end"
    assert printed_receipts(received) == [(FIRST, False)]


@pytest.mark.parametrize("fault, fix, reason", [
    ({"paper": "out"}, {"paper": "ok"}, "out of paper"),
    ({"online": False}, {"online": True}, "offline"),
    ({"cover_open": True}, {"cover_open": False}, "cover open"),
    ({"claim_errno": 16}, {"claim_errno": 0}, "busy"),
], ids=["paper_out", "offline", "cover_open", "busy_interface"])
def test_fault_before_printing_then_printer_back(tmp_path, usb_shop, fault, fix, reason):
    """The printer cannot take the receipt: the sale is stored, `sell` says printed=false, the
    receipt is listed as unprinted (failed, with the reason); the till's worker does nothing
    while the fault lasts and prints it, once, when the printer is back."""
    steps = [SELL, UNPRINTED, RUN_ONCE, {"set": fix}, RUN_ONCE, UNPRINTED]
    (sell, unprinted, still_down, _, back, after), received, _ = scenario(tmp_path, usb_shop, fault, steps)
    assert sell["printed"] is False and stored(usb_shop, FIRST)
    [row] = unprinted["rows"]
    assert (row["receipt"], row["total"], row["state"]) == (FIRST, "3.50", "failed") and reason in row["last_error"]
    assert still_down["printed"] == []
    assert back["printed"] == [[FIRST, "receipt", "printed", ""]]
    assert after["rows"] == []
    assert printed_receipts(received) == [(FIRST, False)]


def test_kernel_driver_attached_is_detached(tmp_path, usb_shop):
    """usblp has claimed the printer: we detach it from the printer interface and print."""
    (sell,), received, log = scenario(tmp_path, usb_shop, {"kernel_driver": "usblp"}, [SELL])
    assert sell["printed"] is True
    assert "IOCTL" in log["ioctls"] and log["knobs"]["kernel_driver"] is None  # USBDEVFS_DISCONNECT
    assert printed_receipts(received) == [(FIRST, False)]


@pytest.mark.parametrize("fault, fix", [
    ({"unplug_after": 300}, {"unplugged": False}),
    ({"stall_after": 300}, {"stall_writes": False}),
], ids=["unplugged_mid_receipt", "stalled_mid_receipt"])
def test_fault_in_the_middle_of_a_receipt_is_never_printed_twice(tmp_path, usb_shop, fault, fix):
    """Part of the receipt reached the printer: the job is uncertain, listed for the cashier,
    never resent by the worker; the cashier's reprint is marked COPY."""
    steps = [SELL, UNPRINTED, {"set": fix}, RUN_ONCE, REPRINT, UNPRINTED]
    (sell, unprinted, _, worker, reprint, after), received, _ = scenario(tmp_path, usb_shop, fault, steps)
    assert (sell["printed"], sell["state"]) == (False, "uncertain") and stored(usb_shop, FIRST)
    assert sell["seconds"] < 6  # the stalled write gave up after its timeout (0.4 s), not hung
    [row] = unprinted["rows"]
    assert row["state"] == "uncertain"
    assert worker["printed"] == []
    assert reprint["printed"] is True and after["rows"] == []
    assert printed_receipts(received) == [(FIRST, False), (FIRST, True)]
    first_job = received.split(b"\x1b@")[1]
    assert b"\x1dV" not in first_job  # the original was cut short: no paper cut reached the printer


def test_stalled_from_the_start_sends_nothing_then_prints_once(tmp_path, usb_shop):
    """A printer that takes no data at all: even the status query times out, so nothing of the
    receipt was sent (failed, not uncertain) and it prints normally once the printer takes data."""
    steps = [SELL, {"set": {"stall_writes": False}}, RUN_ONCE]
    (sell, _, worker), received, _ = scenario(tmp_path, usb_shop, {"stall_writes": True}, steps)
    assert sell["printed"] is False and sell["state"] == "failed"
    assert worker["printed"] == [[FIRST, "receipt", "printed", ""]]
    assert printed_receipts(received) == [(FIRST, False)]


def test_status_never_answered_still_prints(tmp_path, usb_shop):
    """Many printers never answer DLE EOT over USB: print anyway, and say status is unknown."""
    (sell, probe), received, _ = scenario(tmp_path, usb_shop, {"answer_status": False}, [SELL, {"probe": True}])
    assert sell["printed"] is True
    assert (probe["state"], probe["answered"]) == ("ready_no_status", False)
    assert printed_receipts(received) == [(FIRST, False)]


def test_printer_list_and_test_page_with_auto_detection(tmp_path, usb_shop):
    """`printer list` finds the printer-class device and its endpoints; with connection = "usb"
    (the first printer found) `printer test` reports its status and prints the test page."""
    set_config(usb_shop, "printer", "connection", '"usb"')
    steps = [{"cli": ["printer", "list", "--json"]}, {"cli": ["printer", "test", "--json"]}]
    (listing, test), received, _ = scenario(tmp_path, usb_shop, {"paper": "near_end"}, steps)
    [found] = listing["out"]["usb"]
    assert (found["connection"], found["out_ep"], found["in_ep"], found["printer_class"]) == \
        ("usb:0416:5011", "0x03", "0x81", True)
    assert test["rc"] == 0 and test["out"]["printed"] is True and test["out"]["status"] == "paper_near_end"
    texts = decode(received).texts
    assert "tui-pos printer test" in texts and "12345678901234567890123456789012" in texts
