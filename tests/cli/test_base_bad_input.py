"""Hostile command-line input is one `Error:` line and exit status 1: never a traceback, never a
silent accept, never a sale or half a sale stored."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from conftest import AS_DEMO, cli_error, cli_json, run_cli
from tui_pos.bootstrap.shop import import_catalog_text
from tui_pos.config import load_config

BIG = "6900000000777"  # imported at 9999999999999.99: the largest price there is


def sale_count(shop: Path) -> int:
    with closing(sqlite3.connect(shop / "pos.sqlite3")) as conn:
        return conn.execute("SELECT COUNT(*) FROM sale").fetchone()[0]


@pytest.mark.parametrize("qty", ["9999", "2"])
def test_a_sale_above_the_amount_limit_is_refused_before_it_is_built(shop_dir, qty):
    """x9999 was an OverflowError at the commit; x2 stored a total above the amount limit."""
    import_catalog_text(load_config(shop_dir), f"barcode,name,price,tax\n{BIG},Big TV,9999999999999.99,A\n")
    message = cli_error(shop_dir, "sell", *AS_DEMO, "--item", f"{BIG}x{qty}", "--tender", "cash")
    assert message == f"Big TV: {qty} x that price is too large an amount; nothing changed"
    assert sale_count(shop_dir) == 0


def test_an_open_price_of_zero_says_so(shop_dir):
    """Not 'a tender amount must be more than zero'."""
    message = cli_error(shop_dir, "sell", *AS_DEMO, "--item", "6900000000595@0", "--tender", "cash")
    assert message.endswith("open price, key in a price above zero")


@pytest.mark.parametrize("args, says", [
    (["report", "sales", "--day", "0001-01-01"], "outside the dates a report covers"),
    (["report", "sales", "--day", "9999-12-31"], "outside the dates a report covers"),
    (["report", "sales", "--month", "9999-12"], "outside the dates a report covers"),
    (["report", "sales", "--from", "1900-01-01", "--to", "2026-01-01"], "longer than 3660 days"),
    (["report", "z", "99999999999999999999"], "not a whole number from 1 to"),
    (["report", "z", "３"], "not a whole number from 1 to"),
    (["audit", "show", "--last", "99999999999999999999"], "not a whole number from 1 to"),
    (["support-bundle", "--output", "/nonexistent/x.tgz"], "cannot write /nonexistent/x.tgz"),
], ids=["day-0001", "day-9999", "month-9999-12", "ten-years", "z-huge", "z-fullwidth", "audit-last-huge",
        "bundle-nowhere"])
def test_out_of_range_arguments_are_one_error_line(shop_dir, args, says):
    assert says in cli_error(shop_dir, *args)


def test_the_last_day_a_report_covers_still_works(shop_dir):
    assert cli_json(shop_dir, "report", "sales", "--day", "9998-12-31")["sales"]["count"] == 0


def test_sales_since_garbage_is_refused_not_an_empty_list(shop_dir):
    """It said 'No sales.'"""
    run_cli(shop_dir, "sell", *AS_DEMO, "--item", "6900000000014", "--tender", "cash")
    assert "--since 'garbage' is not a date or time" in cli_error(shop_dir, "sales", "--since", "garbage")
    assert len(cli_json(shop_dir, "sales", "--since", "2000-01-01T08:00+08:00")) == 1


@pytest.mark.parametrize("args, says", [
    (["sell", *AS_DEMO, "--item", "6900000000014", "--tender", f"card:3.50:{'7' * 100_000}"], "at most 64"),
    (["sell", *AS_DEMO, "--item", "6900000000014", "--tender", "mobile:3.50:42\x1b[2J"], "control character"),
    (["shift", "paid-in", *AS_DEMO, "10", "--reason", "float\ntop-up"], "control character"),
], ids=["card-ref-100k", "mobile-ref-escape", "reason-newline"])
def test_text_a_receipt_cannot_hold_is_refused(shop_dir, args, says):
    assert says in cli_error(shop_dir, *args)
    assert sale_count(shop_dir) == 0
