"""Shift reports on paper: the X report (the shift so far) and the Z report (the shift closed).

report_layout is pure, like the receipt's layout: the same Layout is printed (render.py) or
shown on screen (the UI's report view). print_report prints one, best effort: a report is
stored before it is printed, so a printer that fails costs a reprint, never the report.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from tui_pos.config import Config
from tui_pos.domain.errors import BadInput
from tui_pos.domain.money import format_bp
from tui_pos.domain.shift import ShiftReport
from tui_pos.domain.shop_time import shop_time
from tui_pos.printing.layout import TENDER_LABELS, Cut, Layout, ReceiptOptions, _Builder
from tui_pos.printing.text import pad_right

if TYPE_CHECKING:
    from tui_pos.printing.queue import PrintQueue

log = logging.getLogger("tui_pos.printing")
AUDIT_HASH_SHOWN = 16  # hex digits of the audit chain's head: enough to compare with `tui-pos audit verify`


def report_title(report: ShiftReport) -> str:
    return "X REPORT" if report.z_number is None else f"Z REPORT {report.z_number}"


def report_layout(report: ShiftReport, options: ReceiptOptions) -> Layout:
    """Every figure of the report, in sections separated by rules: the sales, the tenders, tax,
    the cash drawer (float + cash taken - cash paid back + paid in - paid out = expected, then
    what was counted), and the receipt range."""
    o, fmt = options, options.currency.format
    b = _Builder(options)
    b.text(report_title(report), "center", bold=True, tall=True)
    b.text("the shift so far, not closed" if report.z_number is None else "shift closed", "center")
    b.text(o.shop_name, "center")
    if not report.database_readable:
        b.text("DATABASE UNREADABLE: these figures are the journal's alone", bold=True)
    elif report.journaled:
        b.text(f"Includes {report.journaled} record(s) still in the journal (not yet in the database)", bold=True)
    b.rule()
    b.pair(f"Till {report.till_id}", f"Shift {report.shift_number}")
    b.pair(f"Opened by {report.opened_by}", shop_time(report.opened_at, o.tz))
    b.pair(f"{'Taken' if report.z_number is None else 'Closed'} by {report.taken_by}", shop_time(report.taken_at, o.tz))
    b.rule()

    for label, kind in (("Sales", report.sales), ("Refunds", report.refunds), ("Voids", report.voids)):
        b.pair(f"{pad_right(label, 8, o.chinese)}{kind.count:>5}", fmt(kind.total))
    b.pair("NET SALES", fmt(report.net_sales, True), bold=True)
    b.pair("Discounts given", fmt(report.sales.discount))
    b.pair(f"Lines voided {report.voided_lines}", fmt(report.voided_lines_amount))
    if report.rounding:
        b.pair("Cash rounding", fmt(report.rounding))
    b.rule()

    b.text("By tender", bold=True)
    for tender in report.tenders:
        b.pair(TENDER_LABELS.get(tender.kind, tender.kind), fmt(tender.net))
        if tender.refunds:
            b.pair("  taken", fmt(tender.sales))
            b.pair("  paid back", fmt(tender.refunds))
    if not report.tenders:
        b.text("  no payments")
    b.rule()

    b.text("Tax by rate", bold=True)
    for tax in report.taxes:
        b.pair(f"  {tax.code} {format_bp(tax.rate_bp)} on {fmt(tax.net)}", fmt(tax.tax))
    if not report.taxes:
        b.text("  none")
    b.rule()

    cash = next((t for t in report.tenders if t.kind == "cash"), None)
    b.text("Cash drawer", bold=True)
    b.pair("Float", fmt(report.float))
    b.pair("Cash taken", fmt(cash.sales if cash else 0))
    b.pair("Cash paid back", fmt(cash.refunds if cash else 0))
    b.pair("Paid in", fmt(report.paid_in))
    b.pair("Paid out", fmt(-report.paid_out))
    b.pair("EXPECTED", fmt(report.expected_cash, True), bold=True)
    if report.counted is not None:
        for denomination, how_many in report.counted_detail:
            b.pair(f"  {denomination} x {how_many}", fmt(_value(o, denomination) * how_many))
        b.pair("COUNTED", fmt(report.counted, True), bold=True)
        difference = report.difference or 0
        b.pair("OVER" if difference > 0 else "SHORT" if difference < 0 else "EXACT", fmt(difference, True), bold=True)
    b.rule()

    if report.first_receipt:
        b.pair("Receipts", f"{report.first_receipt} - {report.last_receipt}")
    else:
        b.text("No receipts")
    if report.audit_head:
        b.pair("Audit", report.audit_head[:AUDIT_HASH_SHOWN])
    if o.cut:
        b.items.append(Cut())
    return Layout(o.columns, o.chinese, tuple(b.items), o.qr_native, o.profile)


def _value(options: ReceiptOptions, denomination: str) -> int:
    """A counted denomination's value; 0 for one that no longer parses (never lose the report)."""
    try:
        return options.currency.parse(denomination)
    except BadInput:
        return 0


def print_report(config: Config, report: ShiftReport, queue: PrintQueue | None = None,
                 lock_timeout_s: float = 5.0) -> tuple[bool, str]:
    """Print an X or Z report on the receipt printer: (printed, why not). Never raises, and with
    no printer configured touches nothing. queue: the caller's print queue (a running till's),
    else one is opened for this report and closed again."""
    if config.printer.connection == "none":
        return False, "no receipt printer is configured"
    from tui_pos.printing.queue import PrintQueue
    from tui_pos.printing.transports import PrinterUnavailable, WriteIncomplete, describe

    own = queue is None
    try:
        queue = queue or PrintQueue(config)
    except Exception as err:  # noqa: BLE001 - e.g. a bad [printer] connection: said, not raised
        return False, describe(err)
    try:
        with queue.lock.held(lock_timeout_s) as got:
            if not got:
                return False, "the printer is busy printing"
            status = queue.printer.probe()
            if not status.can_print:
                return False, status.text
            queue.printer.send(queue.render(report_layout(report, queue.options)))
            return True, ""
    except (PrinterUnavailable, WriteIncomplete) as err:
        return False, str(err)
    except Exception as err:  # noqa: BLE001 - a printing bug must not reach the till closing its shift
        log.exception("printing the %s failed", report_title(report))
        return False, describe(err)
    finally:
        if own:
            queue.close()
