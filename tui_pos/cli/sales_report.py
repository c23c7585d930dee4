"""`tui-pos report sales`: the sales of a day, a period or a month, as text, JSON or CSV."""

from __future__ import annotations

import csv
import io
import re
import sys
import unicodedata
from pathlib import Path
from typing import Collection, Sequence

import click

from tui_pos.cli.base import emit, json_option, open_till
from tui_pos.cli.reports import report
from tui_pos.domain.errors import BadInput


@report.command("sales")
@click.option("--day", metavar="YYYY-MM-DD", help="One day (the default: today).")
@click.option("--from", "first", metavar="YYYY-MM-DD", help="The first day of a period.")
@click.option("--to", "last", metavar="YYYY-MM-DD", help="The last day of the period (default: today).")
@click.option("--month", metavar="YYYY-MM", help="A calendar month.")
@click.option("--csv", "csv_file", is_flag=False, flag_value="-", default=None, metavar="[FILE]",
              help="Write the report as CSV to FILE (or, with no FILE, to standard output).")
@json_option
@click.pass_context
def report_sales(ctx: click.Context, day: str | None, first: str | None, last: str | None, month: str | None,
                 csv_file: str | None, as_json: bool) -> None:
    """Sales of a day, a period or a month.

    Days are the till's local days; sales still in the journal are included. Totals, tenders, tax
    rates, departments, top products, refunds and voids by cashier, and sales by hour."""
    from tui_pos.app.reports import sales_report
    from tui_pos.domain.reports import CSV_HEADER, CSV_NUMERIC, period, report_json, report_rows

    if csv_file == "-" and as_json:
        raise BadInput("--json with --csv needs a FILE for the CSV")
    first_day, last_day = period(day=day, first=first, last=last, month=month)
    till = open_till(ctx, replay=False, keep_cart=False)
    result = sales_report(till.ledger, first_day, last_day)
    rows = report_rows(result, till.currency)
    if csv_file is not None:
        count = write_csv(csv_file, [CSV_HEADER, *rows], numeric=CSV_NUMERIC)
        if csv_file == "-":
            return
        emit(as_json, {"csv": str(Path(csv_file).resolve()), "rows": count},
             lambda: f"Wrote {count} rows to {csv_file}")
        return
    emit(as_json, report_json(result, till.currency), lambda: as_text(result, rows))


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet runs a cell starting so as a formula
NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def write_csv(target: str, rows: Sequence[Sequence[object]], *, numeric: Collection[str]) -> int:
    """rows (header first) to a UTF-8 file, or to standard output for '-'; how many data rows.
    Every CSV tui-pos writes goes through here: a text cell that a spreadsheet would run as a
    formula (a product named '=HYPERLINK(...)') is written as text, behind a "'"; a number in
    one of the `numeric` columns (the header's names), negative ones included, stays a number."""
    header = [str(name) for name in rows[0]]
    numbers = {i for i, name in enumerate(header) if name in numeric}
    text = "".join(csv_line([csv_cell(cell, i in numbers) for i, cell in enumerate(row)]) for row in rows)
    if target == "-":
        sys.stdout.write(text)
    else:
        try:
            with open(target, "w", encoding="utf-8", newline="") as out:
                out.write(text)
        except OSError as err:
            raise BadInput(f"cannot write {target}: {err.strerror}") from None
    return len(rows) - 1


def csv_line(cells: list[str]) -> str:
    """One CSV line ending in \\n; a cell holding a CR or LF anywhere is quoted (the csv module
    quotes only the characters of its line terminator: a bare CR would start a row of its own)."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow(cells)
    return out.getvalue()[:-2] + "\n"


def csv_cell(value: object, numeric: bool) -> str:
    """A cell as text that no spreadsheet runs as a formula (see write_csv)."""
    text = str(value)
    if numeric and NUMBER.fullmatch(text):
        return text
    return "'" + text if text.startswith(FORMULA_START) else text


SECTION_TITLES = {
    "totals": "Totals", "tenders": "By tender", "taxes": "By tax rate (net of tax, tax)",
    "departments": "By department",
    "top_by_quantity": "Top products by quantity", "top_by_amount": "Top products by amount",
    "refunds_by_cashier": "Refunds by cashier", "voids_by_cashier": "Voids by cashier", "days": "By day",
    "hours": "By hour (local time)",
}


def as_text(result, rows: list[tuple[str, ...]]) -> str:
    """The report's rows under a title per section: name, count, quantity, amount, tax."""
    period = result.first_day.isoformat() + (f" to {result.last_day}" if result.last_day != result.first_day else "")
    lines = [f"Sales report {period}"]
    if result.journaled:
        lines.append(f"({result.journaled} of these records are still in the journal: included)")
    if not result.database_readable:
        lines.append("WARNING: the database could not be read: these are the journal's records alone")
    shown = ""
    for section, _, label, count, qty, amount, tax in rows:
        if section != shown:
            shown = section
            lines += ["", SECTION_TITLES[section]]
        lines.append(f"  {pad(label, 34)} {count:>6} {qty:>6} {amount:>12} {tax:>10}".rstrip())
    return "\n".join(lines)


def pad(text: str, width: int) -> str:
    """text cut or padded to `width` terminal columns (CJK characters take two)."""
    out, used = "", 0
    for char in text:
        size = 2 if unicodedata.east_asian_width(char) in "WF" else 1
        if used + size > width:
            break
        out, used = out + char, used + size
    return out + " " * (width - used)
