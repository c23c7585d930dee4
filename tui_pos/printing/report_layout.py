"""Shift reports on paper: the X report (the shift so far) and the Z report (the shift closed).

report_layout is pure, like the receipt's layout: the same Layout is printed (render.py) or
shown on screen (the UI's report view). print_report prints one, best effort: a report is
stored before it is printed, so a printer that fails costs a reprint, never the report.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tui_pos.config import Config
from tui_pos.domain.errors import BadInput
from tui_pos.domain.money import format_bp
from tui_pos.domain.shift import ShiftReport
from tui_pos.domain.shop_time import shop_time
from tui_pos.i18n import translator
from tui_pos.printing.layout import TENDER_LABELS, Cut, Layout, ReceiptOptions, _Builder
from tui_pos.printing.text import pad_right

if TYPE_CHECKING:
    from tui_pos.printing.queue import PrintQueue

AUDIT_HASH_SHOWN = 16  # hex digits of the audit chain's head: enough to compare with `tui-pos audit verify`


def report_title(report: ShiftReport, language: str | None = None) -> str:
    """"X REPORT" or "Z REPORT 12", in the language given (else the screen's)."""
    from tui_pos.i18n import current_language

    tr = translator(language or current_language())
    return tr.gettext("X REPORT") if report.z_number is None else tr.gettext("Z REPORT {number}").format(
        number=report.z_number)


def report_layout(report: ShiftReport, options: ReceiptOptions) -> Layout:
    """Every figure of the report, in sections separated by rules: the sales, the tenders, tax,
    the cash drawer (float + cash taken - cash paid back + paid in - paid out = expected, then
    what was counted), and the receipt range."""
    o, fmt = options, options.currency.format
    b = _Builder(options)
    tr = b.tr
    b.text(report_title(report, o.language), "center", bold=True, tall=True)
    b.text(tr.gettext("the shift so far, not closed") if report.z_number is None else tr.gettext("shift closed"),
           "center")
    b.text(o.shop_name, "center")
    if not report.database_readable:
        b.text(tr.gettext("DATABASE UNREADABLE: these figures are the journal's alone"), bold=True)
    elif report.journaled:
        b.text(tr.ngettext("Includes {n} record still in the journal (not yet in the database)",
                           "Includes {n} records still in the journal (not yet in the database)",
                           report.journaled).format(n=report.journaled), bold=True)
    b.rule()
    b.pair(tr.gettext("Till {till}").format(till=report.till_id),
           tr.gettext("Shift {number}").format(number=report.shift_number))
    b.pair(tr.gettext("Opened by {name}").format(name=report.opened_by), shop_time(report.opened_at, o.tz))
    b.pair((tr.gettext("Taken by {name}") if report.z_number is None else tr.gettext("Closed by {name}")).format(
        name=report.taken_by), shop_time(report.taken_at, o.tz))
    b.rule()

    for label, kind in ((tr.gettext("Sales"), report.sales), (tr.gettext("Refunds"), report.refunds),
                        (tr.gettext("Voids"), report.voids)):
        b.pair(f"{pad_right(label, 8, o.chinese)}{kind.count:>5}", fmt(kind.total))
    b.pair(tr.gettext("NET SALES"), fmt(report.net_sales, True), bold=True)
    b.pair(tr.gettext("Discounts given"), fmt(report.sales.discount))
    b.pair(tr.gettext("Lines voided {n}").format(n=report.voided_lines), fmt(report.voided_lines_amount))
    if report.rounding:
        b.pair(tr.gettext("Cash rounding"), fmt(report.rounding))
    b.rule()

    b.text(tr.gettext("By tender"), bold=True)
    for tender in report.tenders:
        b.pair(tr.gettext(TENDER_LABELS.get(tender.kind, tender.kind)), fmt(tender.net))
        if tender.refunds:
            b.pair("  " + tr.gettext("taken"), fmt(tender.sales))
            b.pair("  " + tr.gettext("paid back"), fmt(tender.refunds))
    if not report.tenders:
        b.text("  " + tr.gettext("no payments"))
    b.rule()

    b.text(tr.gettext("Tax by rate"), bold=True)
    for tax in report.taxes:
        b.pair("  " + tr.gettext("{code} {rate} on {net}").format(code=tax.code, rate=format_bp(tax.rate_bp),
                                                                  net=fmt(tax.net)), fmt(tax.tax))
    if not report.taxes:
        b.text("  " + tr.gettext("none"))
    b.rule()

    cash = next((t for t in report.tenders if t.kind == "cash"), None)
    b.text(tr.gettext("Cash drawer"), bold=True)
    b.pair(tr.gettext("Float"), fmt(report.float))
    b.pair(tr.gettext("Cash taken"), fmt(cash.sales if cash else 0))
    b.pair(tr.gettext("Cash paid back"), fmt(cash.refunds if cash else 0))
    b.pair(tr.gettext("Paid in"), fmt(report.paid_in))
    b.pair(tr.gettext("Paid out"), fmt(-report.paid_out))
    b.pair(tr.gettext("EXPECTED"), fmt(report.expected_cash, True), bold=True)
    if report.counted is not None:
        for denomination, how_many in report.counted_detail:
            b.pair(f"  {denomination} x {how_many}", fmt(_value(o, denomination) * how_many))
        b.pair(tr.gettext("COUNTED"), fmt(report.counted, True), bold=True)
        difference = report.difference or 0
        b.pair(tr.gettext("OVER") if difference > 0 else tr.gettext("SHORT") if difference < 0 else tr.gettext("EXACT"),
               fmt(difference, True), bold=True)
    b.rule()

    if report.first_receipt:
        b.pair(tr.gettext("Receipts"), f"{report.first_receipt} - {report.last_receipt}")
    else:
        b.text(tr.gettext("No receipts"))
    if report.audit_head:
        b.pair(tr.gettext("Audit"), report.audit_head[:AUDIT_HASH_SHOWN])
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
    no printer configured touches nothing (printing.queue.print_now)."""
    from tui_pos.printing.queue import print_now

    return print_now(config, lambda options: report_layout(report, options), report_title(report, "en"), queue,
                     lock_timeout_s)
