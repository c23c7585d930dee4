"""What `tui-pos printer ...`, `tui-pos receipts ...` and `tui-pos sell` do about receipts.

cli.py parses arguments and prints; the work is here. Nothing imports python-escpos until a
receipt is actually rendered, and with connection = "none" nothing is rendered at all.
"""

from __future__ import annotations

import glob
from typing import Any

from tui_pos.config import Config
from tui_pos.domain.money import Currency
from tui_pos.printing.layout import selftest_layout
from tui_pos.printing.printer import Printer
from tui_pos.printing.queue import PrintQueue, PrintResult, Unprinted
from tui_pos.printing.transports import NoneTransport, PrinterUnavailable, WriteIncomplete
from tui_pos.printing.transports.usb import list_printers as usb_printers

SELL_WAIT_S = 4.0  # `tui-pos sell` waits at most about this long for its receipt


def _offline_queue(config: Config) -> PrintQueue:
    """A queue for reading and marking jobs: it never touches (or even parses) the printer."""
    return PrintQueue(config, Printer(NoneTransport()))


def _currency(config: Config) -> Currency:
    return Currency(config.currency_code, config.currency_symbol, config.currency_exponent)


def print_after_sale(config: Config, uuid: str, wait_s: float = SELL_WAIT_S) -> PrintResult | None:
    """Print a sale's receipt right after it was stored; None when no printer is configured.
    Whatever happens, the job stays in the queue unless printed (a running till retries it)."""
    if config.printer.connection == "none":
        return None
    queue = PrintQueue(config)
    try:
        return queue.print_sale(uuid, wait_s)
    finally:
        queue.close()


def unprinted_rows(config: Config) -> list[dict[str, Any]]:
    """`tui-pos receipts --unprinted`: receipt, uuid, total, state, time, references, last error."""
    queue = _offline_queue(config)
    try:
        rows = queue.unprinted()
    finally:
        queue.close()
    return [unprinted_dict(row, _currency(config)) for row in rows]


def unprinted_dict(row: Unprinted, currency: Currency) -> dict[str, Any]:
    return {
        "receipt": row.receipt, "uuid": row.uuid, "total": currency.format(row.total), "state": row.state,
        "completed_at": row.completed_at, "cashier": row.cashier, "attempts": row.attempts,
        "last_error": row.last_error, "stored": row.stored,
        "tenders": [{"kind": t["kind"], "amount": currency.format(t["amount"]), "reference": t.get("reference", "")}
                    for t in row.tenders],
        "references": row.references,
    }


def reprint(config: Config, receipt: str) -> PrintResult:
    queue = PrintQueue(config)
    try:
        return queue.reprint(receipt)
    finally:
        queue.close()


def confirm_printed(config: Config, receipt: str) -> bool:
    queue = _offline_queue(config)
    try:
        return queue.confirm_printed(receipt)
    finally:
        queue.close()


def show_receipt(config: Config, receipt: str, with_qr: bool = True) -> list[str] | None:
    """The receipt as text for the screen (with its QR code drawn), or None if there is no such sale."""
    from tui_pos.printing.screen import screen_lines

    queue = _offline_queue(config)
    try:
        found = queue.find_sale(receipt)
        if found is None:
            return None
        return screen_lines(queue.layout(found[0]), with_qr=with_qr)
    finally:
        queue.close()


def list_printers() -> dict[str, Any]:
    """`tui-pos printer list`: USB printer-class devices and usblp device nodes."""
    result: dict[str, Any] = {"usb": [], "lp": sorted(glob.glob("/dev/usb/lp*")), "error": ""}
    try:
        result["usb"] = [p.as_dict() for p in usb_printers()]
    except PrinterUnavailable as err:
        result["error"] = str(err)
    return result


def print_test_page(config: Config) -> dict[str, Any]:
    """`tui-pos printer test`: probe the status, print a test page if the printer can take it."""
    queue = PrintQueue(config)
    printer = queue.printer
    out: dict[str, Any] = {"connection": config.printer.connection, "printed": False, "error": ""}
    try:
        with queue.lock.held(5.0) as got:
            if not got:
                out.update(status="busy", status_text="another process is printing", error="printer busy")
                return out
            status = printer.probe()
            out.update(status=status.state, status_text=status.text, answers_status=status.answered,
                       paper=status.paper, online=status.online, cover_open=status.cover_open)
            if not status.can_print:
                out["error"] = status.text
                return out
            data = queue.render(selftest_layout(queue.options, printer.description, status.text))
            try:
                printer.send(data)
                out["printed"] = True
            except (PrinterUnavailable, WriteIncomplete) as err:
                out["error"] = str(err)
            return out
    finally:
        queue.close()
