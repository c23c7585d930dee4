"""A transfer's slip on paper (printing/transfer_slip.py): from the records a send stored to the
ESC/POS bytes, read back with the independent decoder (escpos_decode.py), in English and in
Chinese, every line within the paper; printed on a file printer, and said (not raised) when the
printer is not there."""

from __future__ import annotations

from datetime import timedelta, timezone

import pytest

from tui_pos.printing.layout import ReceiptOptions, check_fits
from tui_pos.printing.render import render
from tui_pos.printing.transfer_slip import TransferSlip, print_slip, slip_layout

from .escpos_decode import decode
from .fakes import config_printing_to

SHANGHAI = timezone(timedelta(hours=8))
COLA, RICE = "6900000000014", "6900000000212"
RECORDS = [{"kind": "transfer_out", "barcode": COLA, "qty": -12_000, "till_id": "T1",
            "at": "2026-12-05T01:30:00.000+00:00", "actor": "amy", "peer": "S2", "reference": "T1-3FA9C2"},
           {"kind": "transfer_out", "barcode": RICE, "qty": -2_500, "till_id": "T1",
            "at": "2026-12-05T01:30:00.000+00:00", "actor": "amy", "peer": "S2", "reference": "T1-3FA9C2"}]
SLIP = TransferSlip.sent("T1-3FA9C2", "S1", "S2", "Second", RECORDS, {COLA: "可口可乐 330ml", RICE: "Rice (loose)"})


def options(**changes) -> ReceiptOptions:
    return ReceiptOptions(**{"columns": 32, "chinese": True, "shop_name": "好运便利店", "tz": SHANGHAI, **changes})


def test_the_slip_names_the_transfer_the_shops_and_every_line_sent():
    decoded = decode(render(slip_layout(SLIP, options())))
    assert decoded.texts[0] == "TRANSFER SLIP" and decoded.lines[0].tall
    heads = [t for t in decoded.texts if t.startswith(("Transfer ", "From", "To", "Till", "Sent", "Products"))]
    assert [t.split() for t in heads] == [["Transfer", "T1-3FA9C2"], ["From", "shop", "S1"], ["To", "shop", "S2", "Second"],
                                          ["Till", "T1", "2026-12-05", "09:30"], ["Sent", "by", "amy"], ["Products", "2"]]
    assert {len(t) for t in heads} == {32}  # each value at the right edge of the paper
    assert decoded.texts[decoded.texts.index("可口可乐 330ml") + 1].split() == [COLA, "12"]  # the quantity sent, not -12
    assert decoded.texts[decoded.texts.index("Rice (loose)") + 1].split() == [RICE, "2.5"]
    assert any(event[0] == "cut" for event in decoded.events)


@pytest.mark.parametrize("columns", [32, 42, 48])
def test_every_line_fits_the_paper_in_chinese_too(columns):
    layout = slip_layout(SLIP, options(columns=columns, language="zh_CN"))
    check_fits(layout)
    lines = layout.lines()
    assert lines[0].strip() == "调拨单" and any("T1-3FA9C2" in line and "调拨" in line for line in lines)


def test_the_slip_is_printed_on_the_configured_printer_and_a_missing_one_is_said(shop_dir, tmp_path):
    out = tmp_path / "printer.bin"
    assert print_slip(config_printing_to(shop_dir, f"file:{out}"), SLIP) == (True, "")
    assert "T1-3FA9C2" in " ".join(decode(out.read_bytes()).texts)
    printed, why = print_slip(config_printing_to(shop_dir, f"file:{tmp_path / 'unplugged' / 'p.bin'}"), SLIP)
    assert not printed and why
