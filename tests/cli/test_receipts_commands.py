"""The receipt commands of the real `tui-pos` CLI, in subprocesses, printing to a file
(connection = "file:PATH": the same queue and renderer as USB, with bytes we can read back)."""

from __future__ import annotations

import time

import pytest

from conftest import AS_DEMO, COLA, NOODLES, cli_json, database_write_locked, run_cli, set_config
from printing.escpos_decode import decode
from printing.fakes import printed_receipts, receipt_state


@pytest.fixture
def file_shop(shop_dir, tmp_path):
    out = tmp_path / "receipts.bin"
    set_config(shop_dir, "printer", "connection", f'"file:{out}"')
    return shop_dir, out


def test_sell_prints_its_receipt_and_says_so(file_shop):
    shop, out = file_shop
    sale = cli_json(shop, "sell", *AS_DEMO, "--item", f"{COLA}x2", "--tender", "mobile:7.00:4200001234")
    assert sale["printed"] is True and receipt_state(shop / "pos.sqlite3", sale["uuid"]) == "printed"
    assert printed_receipts(out.read_bytes()) == [(sale["receipt"], False)]
    texts = decode(out.read_bytes()).texts
    assert "  Ref                 4200001234" in texts
    assert cli_json(shop, "receipts", "--unprinted") == []


def test_no_print_leaves_the_receipt_queued_and_listed(file_shop):
    """--no-print: nothing is printed now; the sale is listed as unprinted with its amount,
    time and payment reference (the JSON the issue asks for: receipt, uuid, total, state)."""
    shop, out = file_shop
    sale = cli_json(shop, "sell", *AS_DEMO, "--item", NOODLES, "--tender", "card:4.50:AUTH77", "--no-print")
    assert sale["printed"] is False and not out.exists()
    [row] = cli_json(shop, "receipts", "--unprinted")
    assert {k: row[k] for k in ("receipt", "uuid", "total", "state")} == \
        {"receipt": sale["receipt"], "uuid": sale["uuid"], "total": "4.50", "state": "pending"}
    assert row["references"] == ["AUTH77"] and row["completed_at"].startswith("20")
    human = run_cli(shop, "receipts", "--unprinted").stdout
    assert sale["receipt"] in human and "4.50" in human and "AUTH77" in human


def test_reprint_is_marked_copy_and_takes_the_sale_off_the_list(file_shop):
    shop, out = file_shop
    sale = cli_json(shop, "sell", *AS_DEMO, "--item", COLA, "--tender", "cash", "--no-print")
    result = cli_json(shop, "receipts", "reprint", sale["receipt"])
    assert result["printed"] is True and result["state"] == "printed"
    assert printed_receipts(out.read_bytes()) == [(sale["receipt"], True)]
    assert cli_json(shop, "receipts", "--unprinted") == []
    assert not decode(out.read_bytes()).kinds("drawer")  # a copy never opens the drawer


def test_reprint_of_an_unknown_number_fails_in_one_line(file_shop):
    shop, _ = file_shop
    proc = run_cli(shop, "receipts", "reprint", "T1-999999", check=False)
    assert proc.returncode == 1 and "T1-999999" in proc.stderr + proc.stdout


def test_show_draws_the_receipt_and_its_qr_code_on_screen(shop_dir):
    """No printer at all: the receipt can still be shown, QR code included, for a photo."""
    sale = cli_json(shop_dir, "sell", *AS_DEMO, "--item", COLA, "--tender", "cash")
    assert sale["printed"] is False
    screen = run_cli(shop_dir, "receipts", "show", sale["receipt"]).stdout.splitlines()
    assert any(sale["receipt"] in line for line in screen)
    qr = [line for line in screen if set(line) <= set("█▀▄ ") and len(line) > 20]
    assert len(qr) >= 12  # a version-3+ QR code, two modules per text line
    assert all(len(line) == len(qr[0]) for line in qr)


def test_confirm_takes_an_uncertain_receipt_off_the_list(file_shop):
    shop, _ = file_shop
    sale = cli_json(shop, "sell", *AS_DEMO, "--item", COLA, "--tender", "cash", "--no-print")
    run_cli(shop, "receipts", "confirm", sale["receipt"])
    assert cli_json(shop, "receipts", "--unprinted") == []
    assert run_cli(shop, "receipts", "confirm", sale["receipt"], check=False).returncode == 1


def test_journaled_sale_prints_from_the_cli_and_once_only(file_shop):
    """Degraded mode end to end: sell while the database is locked (the sale goes to the
    journal), the receipt prints all the same; replay later does not print it again."""
    shop, out = file_shop
    with database_write_locked(shop):
        sale = cli_json(shop, "sell", *AS_DEMO, "--item", COLA, "--tender", "cash")
        assert (sale["stored"], sale["printed"]) == ("journal", True)
        assert cli_json(shop, "receipts", "--unprinted") == []
    cli_json(shop, "replay")
    assert receipt_state(shop / "pos.sqlite3", sale["uuid"]) == "pending"  # as replay inserted it
    assert cli_json(shop, "receipts", "--unprinted") == []
    cli_json(shop, "sell", *AS_DEMO, "--item", COLA, "--tender", "cash")  # the next print reconciles
    assert receipt_state(shop / "pos.sqlite3", sale["uuid"]) == "printed"
    assert [r for r, copy in printed_receipts(out.read_bytes())] == [sale["receipt"], "T1-000002"]


def test_printer_test_page_and_its_status(file_shop, shop_dir):
    shop, out = file_shop
    result = cli_json(shop, "printer", "test")
    assert result["printed"] is True and result["status"] == "ready_no_status"
    assert "tui-pos printer test" in decode(out.read_bytes()).texts


def test_printer_test_without_a_printer_fails_clearly(shop_dir):
    proc = run_cli(shop_dir, "printer", "test", check=False)
    assert proc.returncode == 1 and "no printer" in proc.stdout


def test_bad_printer_connection_never_costs_the_sale(shop_dir):
    """A malformed connection is reported, but only after the sale is safely stored."""
    set_config(shop_dir, "printer", "connection", '"usb:zz:11"')
    started = time.monotonic()
    proc = run_cli(shop_dir, "sell", *AS_DEMO, "--item", COLA, "--tender", "cash", "--json")
    assert time.monotonic() - started < 10
    assert '"printed": false' in proc.stdout and "usb:VID:PID" in proc.stderr
    assert cli_json(shop_dir, "sales")[0]["receipt"] == "T1-000001"


def test_unknown_connection_kind_is_a_config_error(shop_dir):
    set_config(shop_dir, "printer", "connection", '"serial:/dev/ttyS0"')
    proc = run_cli(shop_dir, "receipts", "--unprinted", check=False)
    assert proc.returncode == 1 and "[printer] connection" in proc.stderr


def test_receipts_without_an_option_says_what_to_do(shop_dir):
    proc = run_cli(shop_dir, "receipts", check=False)
    assert proc.returncode == 1 and "--unprinted" in proc.stderr and len(proc.stderr.splitlines()) == 1
