"""X and Z reports on paper: a ShiftReport -> layout -> ESC/POS bytes, read back with the
independent decoder (escpos_decode.py), and print_report's best effort against a file printer,
a printer that is not there, and a printer busy with another process.

The report is built by hand (the core's arithmetic is tested in tests/domain): four sales of
128.50 in all, a refund of 3.50 and a void of 2.00, both paid back in cash, paid in 10.00, paid
out 30.00 and a float of 100.00. Tenders: cash taken 73.50, paid back 5.50 -> 68.00; card 35.00;
mobile 20.00; 68.00 + 35.00 + 20.00 = 123.00 = 128.50 - 3.50 - 2.00 (net sales). Tax included:
A 100.00 -> 100.00 * 13/113 = 11.50, net 88.50; B 23.00 -> 23.00 * 9/109 = 1.90, net 21.10.
Expected cash = 100.00 + 68.00 + 10.00 - 30.00 = 148.00.
"""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from dataclasses import replace
from datetime import timedelta, timezone

import pytest

from tui_pos.config import load_config
from tui_pos.domain.shift import KindTotals, ShiftReport, TaxTotals, TenderTotals
from tui_pos.printing.layout import ReceiptOptions, check_fits
from tui_pos.printing.queue import LOCK_NAME
from tui_pos.printing.render import render
from tui_pos.printing.report_layout import print_report, report_layout

from .escpos_decode import decode
from .fakes import config_printing_to

SHANGHAI = timezone(timedelta(hours=8))
RULE = "-" * 32

X_REPORT = ShiftReport(
    till_id="T1", shift_number=3, shift_uuid="shift-3", opened_at="2026-11-21T01:00:00.000+00:00", opened_by="amy",
    float=10000, taken_at="2026-11-21T10:30:00.000+00:00", taken_by="manager",
    sales=KindTotals(count=4, total=12850, discount=150, tax=1363), refunds=KindTotals(1, -350, 0, -40),
    voids=KindTotals(1, -200, 0, -23), voided_lines=2, voided_lines_amount=1600,
    tenders=(TenderTotals("cash", 7350, -550), TenderTotals("card", 3500, 0), TenderTotals("mobile", 2000, 0)),
    taxes=(TaxTotals("A", 1300, 8850, 1150), TaxTotals("B", 900, 2110, 190)),
    paid_in=1000, paid_out=3000, rounding=0, expected_cash=14800, first_receipt="T1-000101",
    last_receipt="T1-000106", journaled=0, database_readable=True,
)
AUDIT_HEAD = "0123456789abcdef" * 4


def z_report(counted: int = 14650, detail=(("100", 1), ("20", 2), ("5", 1), ("1", 1), ("0.5", 1))) -> ShiftReport:
    return replace(X_REPORT, z_number=7, counted=counted, counted_detail=detail, audit_head=AUDIT_HEAD)


def options(**changes) -> ReceiptOptions:
    return ReceiptOptions(**{"columns": 32, "chinese": True, "shop_name": "好运便利店", "tz": SHANGHAI, **changes})


def printed(report: ShiftReport, **opts):
    return decode(render(report_layout(report, options(**opts))))


def test_x_report_on_58mm_paper_reads_as_expected():
    """The whole X report, line by line as it comes off the paper (CJK is two columns wide, so
    the shop name is 10 columns; ￥ is two columns in GBK: the amounts stay flush right)."""
    decoded = printed(X_REPORT)
    assert decoded.texts == [
        "X REPORT",
        "the shift so far, not closed",
        "好运便利店",
        RULE,
        "Till T1                  Shift 3",
        "Opened by amy   2026-11-21 09:00",  # the shop's form (issue 16): now on one line at 58 mm
        "Taken by manager",
        "                2026-11-21 18:30",
        RULE,
        "Sales       4             128.50",
        "Refunds     1              -3.50",
        "Voids       1              -2.00",
        "NET SALES               ￥123.00",
        "Discounts given             1.50",
        "Lines voided 2             16.00",
        RULE,
        "By tender",
        "Cash                       68.00",
        "  taken                    73.50",
        "  paid back                -5.50",
        "Card                       35.00",
        "Mobile                     20.00",
        RULE,
        "Tax by rate",
        "  A 13% on 88.50           11.50",
        "  B 9% on 21.10             1.90",
        RULE,
        "Cash drawer",
        "Float                     100.00",
        "Cash taken                 73.50",
        "Cash paid back             -5.50",
        "Paid in                    10.00",
        "Paid out                  -30.00",
        "EXPECTED                ￥148.00",
        RULE,
        "Receipts   T1-000101 - T1-000106",
    ]
    title = decoded.lines[0]
    assert title.bold and title.tall and title.align == "center"
    assert ("cut", "partial") in decoded.events or ("cut", "full") in decoded.events


def test_the_cash_drawer_section_adds_up_on_paper():
    """Float + cash taken + cash paid back + paid in + paid out = EXPECTED, read off the paper."""
    texts = printed(X_REPORT).texts
    section = texts[texts.index("Cash drawer") + 1:]
    amounts = {}
    for text in section[:section.index(RULE)]:
        label, amount = re.fullmatch(r"(.+?)\s+(-?￥?\d+\.\d\d)", text).groups()
        amounts[label] = int(amount.replace("￥", "").replace(".", ""))
    assert list(amounts) == ["Float", "Cash taken", "Cash paid back", "Paid in", "Paid out", "EXPECTED"]
    assert sum(amounts.values()) - amounts["EXPECTED"] == amounts["EXPECTED"] == 14800


@pytest.mark.parametrize("counted, verdict", [(14650, "SHORT                    -￥1.50"),
                                              (14800, "EXACT                     ￥0.00"),
                                              (15000, "OVER                      ￥2.00")])
def test_z_report_shows_the_count_by_note_and_over_or_short(counted, verdict):
    texts = printed(z_report(counted)).texts
    assert texts[:2] == ["Z REPORT 7", "shift closed"]
    assert "Closed by manager" in texts
    drawer = texts[texts.index("EXPECTED                ￥148.00"):]
    assert drawer[:8] == [
        "EXPECTED                ￥148.00",
        "  100 x 1                 100.00",
        "  20 x 2                   40.00",
        "  5 x 1                     5.00",
        "  1 x 1                     1.00",
        "  0.5 x 1                   0.50",
        f"COUNTED                 ￥{counted // 100}.{counted % 100:02d}",
        verdict,
    ]
    assert texts[-1] == "Audit           0123456789abcdef"  # 16 hex digits of the chain's head


def test_a_count_as_one_total_has_no_note_lines():
    texts = printed(z_report(13000, detail=())).texts
    expected = texts.index("EXPECTED                ￥148.00")
    assert texts[expected + 1:expected + 3] == ["COUNTED                 ￥130.00", "SHORT                   -￥18.00"]


def test_figures_from_the_journal_are_said_on_the_report():
    """Issue 5: sales still in the fallback journal count in X and Z, and the report says so."""
    assert "journal" not in " ".join(printed(X_REPORT).texts)
    some_in_journal = " ".join(printed(replace(X_REPORT, journaled=3)).texts)
    assert "Includes 3 records still in the journal (not yet in the database)" in some_in_journal
    journal_only = " ".join(printed(replace(X_REPORT, journaled=3, database_readable=False)).texts)
    assert "DATABASE UNREADABLE: these figures are the journal's alone" in journal_only


def test_an_empty_shift_says_so():
    empty = replace(X_REPORT, sales=KindTotals(), refunds=KindTotals(), voids=KindTotals(), voided_lines=0,
                    voided_lines_amount=0, tenders=(), taxes=(), paid_in=0, paid_out=0, expected_cash=10000,
                    first_receipt=None, last_receipt=None)
    texts = printed(empty).texts
    assert "  no payments" in texts and "  none" in texts and texts[-1] == "No receipts"


@pytest.mark.parametrize("columns", [32, 42, 48])
@pytest.mark.parametrize("chinese", [True, False])
def test_every_line_fits_the_paper(columns, chinese):
    """Long names (a CJK cashier, a long till id) wrap; nothing is wider than the paper, measured
    on the bytes (one byte is one column of Font A)."""
    report = replace(z_report(), opened_by="王小明 Wang Xiaoming the morning cashier", taken_by="店长 manager",
                     till_id="TILL0001", first_receipt="TILL0001-000001", last_receipt="TILL0001-123456",
                     journaled=12)
    layout = report_layout(report, options(columns=columns, chinese=chinese))
    check_fits(layout)
    decoded = decode(render(layout))
    assert max(line.columns for line in decoded.lines) <= columns
    assert "TILL0001-000001 - TILL0001-123456" in " ".join(decoded.texts)


# -- print_report: best effort, never raising ---------------------------------------------------------
def test_print_report_prints_on_the_configured_printer(shop_dir, tmp_path):
    out = tmp_path / "printer.bin"
    config = config_printing_to(shop_dir, f"file:{out}")
    assert print_report(config, z_report()) == (True, "")
    decoded = decode(out.read_bytes())
    assert decoded.texts[0] == "Z REPORT 7" and decoded.lines[0].tall
    assert "COUNTED                 ￥146.50" in decoded.texts
    assert any(event[0] == "cut" for event in decoded.events)


def test_no_printer_configured_prints_nothing_and_says_why(shop_dir, tmp_path):
    config = load_config(shop_dir)
    assert config.printer.connection == "none"
    assert print_report(config, X_REPORT) == (False, "no receipt printer is configured")
    assert not (shop_dir / LOCK_NAME).exists(), "with no printer nothing is even locked"


def test_a_printer_that_is_not_there_is_reported_not_raised(shop_dir, tmp_path):
    """A file printer in a directory that does not exist, and a network printer that refuses the
    connection (a port nobody listens on): both say why, neither raises."""
    missing = config_printing_to(shop_dir, f"file:{tmp_path / 'unplugged' / 'printer.bin'}")
    printed_, why = print_report(missing, X_REPORT)
    assert not printed_ and "unplugged" in why
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: connections are refused
        refused = config_printing_to(shop_dir, f"tcp:127.0.0.1:{port}")
        printed_, why = print_report(refused, X_REPORT)
    assert not printed_ and why


def test_a_busy_printer_waits_then_gives_up(shop_dir, tmp_path):
    """Another process holds the printer (a receipt being printed): the report is not forced in
    between; print_report waits up to its timeout and says so."""
    out = tmp_path / "printer.bin"
    config = config_printing_to(shop_dir, f"file:{out}")
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from tui_pos.printing.queue import PrinterLock; "
         "assert PrinterLock(sys.argv[1]).acquire(5); print('held', flush=True); time.sleep(30)",
         str(shop_dir / LOCK_NAME)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        assert print_report(config, X_REPORT, lock_timeout_s=0.2) == (False, "the printer is busy printing")
        assert not out.exists()
    finally:
        holder.kill()
        holder.wait()


def test_a_chinese_z_report_has_every_word_in_chinese():
    layout = report_layout(z_report(), options(language="zh_CN"))
    check_fits(layout)
    text = "\n".join(layout.lines())
    for word in ("Z 报表", "净销售额", "备用金", "应有", "清点合计", "短款", "按支付方式", "现金", "第 3 班"):
        assert word in text, word
    names = {"amy", "manager", "abcdef"}  # the people and the audit hash: data
    assert not set(re.findall(r"[A-Za-z]{2,}", text)) - names, text


def test_a_chinese_x_report_keeps_its_count_column_issue_16():
    """销售 退货 作废 are four columns each on the paper: the counts after them stay in one column
    (the labels are padded in printer columns, not characters), every line within 58 mm."""
    decoded = printed(X_REPORT, language="zh_CN")
    assert all(line.columns <= 32 for line in decoded.lines)
    counts = [line.text for line in decoded.lines if re.match(r"(销售|退货|作废)\s", line.text)]
    assert len(counts) == 3, decoded.texts
    ends = {len(re.match(r"\S+\s+\d+", text).group().encode("gbk")) for text in counts}
    assert ends == {13}, counts  # 8 columns of label, 5 of count
