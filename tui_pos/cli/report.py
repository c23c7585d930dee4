"""`tui-pos report ...`: X and Z reports of shifts, sales reports for a day or a period.

`report x` and `report z` show a shift's report as it prints (show_report, also used by `shift
close`); `report sales` as text, JSON or CSV (write_csv: every CSV tui-pos writes).
"""

from __future__ import annotations

import csv
import io
import os
import re
import sys
from collections.abc import Callable, Collection, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from tui_pos.cli.base import WholeNumber, emit, json_option, main, open_till
from tui_pos.cli.signin import operating_till
from tui_pos.domain.columns import pad
from tui_pos.domain.errors import BadInput
from tui_pos.domain.money import format_bp
from tui_pos.domain.shop_time import shop_time
from tui_pos.files import open_to_write
from tui_pos.i18n import N_, _, message

if TYPE_CHECKING:
    from tui_pos.app.stock import Level
    from tui_pos.app.till import Till
    from tui_pos.domain.shift import KindTotals, ShiftReport

Format = Callable[[int], str]


@main.group()
def report() -> None:
    """Reports: x (the shift so far), z [NUMBER] (closed shifts), sales (a day or a period)."""


print_option = click.option("--print", "print_it", is_flag=True,
                            help="Print it on the receipt printer too (exit 1 if it cannot be printed).")


@report.command("x")
@print_option
@json_option
@click.pass_context
def report_x(ctx: click.Context, print_it: bool, as_json: bool) -> None:
    """The open shift so far (journaled sales included); changes nothing."""
    till = operating_till(ctx, replay=False)
    if not show_report(as_json, till.x_report(), till, print_it):
        sys.exit(1)


@report.command("z")
@click.argument("number", type=WholeNumber(), required=False)
@click.option("--list", "list_all", is_flag=True, help="One line per stored Z report, newest first.")
@print_option
@json_option
@click.pass_context
def report_z(ctx: click.Context, number: int | None, list_all: bool, print_it: bool, as_json: bool) -> None:
    """A stored Z report again: the latest, or Z NUMBER."""
    if list_all and (number is not None or print_it):
        raise BadInput(N_("--list lists them all: leave out the NUMBER and --print"))
    till = operating_till(ctx, replay=False)
    reports = till.z_reports(number)
    if list_all:
        fmt = till.currency.format
        rows: list[dict[str, Any]] = [{"z_number": z.z_number, "shift": z.shift_number, "closed_at": z.taken_at, "closed_by": z.taken_by,
                 "net_sales": fmt(z.net_sales), "expected_cash": fmt(z.expected_cash),
                 "counted": None if z.counted is None else fmt(z.counted),
                 "difference": None if z.difference is None else fmt(z.difference)} for z in reports]
        emit(as_json, rows, lambda: "\n".join(
            _("Z {z} shift {shift} {closed_at}  {closed_by} net sales {net_sales}  difference {difference}").format(
                z=f"{r['z_number']:<5}", shift=f"{r['shift']:<5}", closed_at=shop_time(r["closed_at"]),
                closed_by=pad(r["closed_by"], 10), net_sales=f"{r['net_sales']:>10}", difference=f"{r['difference']:>8}")
            for r in rows) or _("No Z report yet."))
        return
    if not reports:
        raise BadInput(N_("there is no Z report {number}") if number is not None else N_("there is no Z report yet"),
                       number=number)
    if not show_report(as_json, reports[0], till, print_it):
        sys.exit(1)


SCREEN_COLUMNS = 42  # the report on screen: the width of an 80 mm receipt


def show_report(as_json: bool, shift_report: ShiftReport, till: Till, print_it: bool) -> bool:
    """The report on screen (its printed layout; JSON with --json) and, with print_it, on the
    receipt printer. False: it should have been printed and was not (said on stderr)."""
    from tui_pos.printing.layout import ReceiptOptions
    from tui_pos.printing.report_layout import print_report, report_layout

    data = report_data(shift_report, till.currency.format)
    printed, why_not = print_report(till.config, shift_report) if print_it else (False, "")
    data |= {"printed": printed, "print_error": why_not}
    options = replace(ReceiptOptions.from_config(till.config), columns=SCREEN_COLUMNS, cut=False)
    emit(as_json, data, lambda: "\n".join(report_layout(shift_report, options).lines()))
    if why_not and not as_json:
        click.echo(_("Warning: the report was not printed: {why}").format(why=why_not), err=True)
    return printed or not print_it


def _kind_totals(totals: KindTotals, fmt: Format) -> dict[str, Any]:
    return {"count": totals.count, "total": fmt(totals.total), "discount": fmt(totals.discount),
            "tax": fmt(totals.tax)}


def report_data(r: ShiftReport, fmt: Format) -> dict[str, Any]:
    """The report for --json: amounts as decimal strings, like every command."""
    return {
        "report": "Z" if r.z_number is not None else "X", "z_number": r.z_number, "till_id": r.till_id,
        "shift": r.shift_number, "shift_uuid": r.shift_uuid, "opened_at": r.opened_at, "opened_by": r.opened_by,
        "taken_at": r.taken_at, "taken_by": r.taken_by,
        "sales": _kind_totals(r.sales, fmt), "refunds": _kind_totals(r.refunds, fmt), "voids": _kind_totals(r.voids, fmt),
        "net_sales": fmt(r.net_sales), "voided_lines": {"count": r.voided_lines, "amount": fmt(r.voided_lines_amount)},
        "tenders": [{"kind": t.kind, "sales": fmt(t.sales), "refunds": fmt(t.refunds), "net": fmt(t.net)}
                    for t in r.tenders],
        "taxes": [{"code": t.code, "rate": format_bp(t.rate_bp), "net": fmt(t.net), "tax": fmt(t.tax)} for t in r.taxes],
        "float": fmt(r.float), "paid_in": fmt(r.paid_in), "paid_out": fmt(r.paid_out), "rounding": fmt(r.rounding),
        "expected_cash": fmt(r.expected_cash), "counted": None if r.counted is None else fmt(r.counted),
        "counted_detail": [{"denomination": note, "count": n} for note, n in r.counted_detail],
        "difference": None if r.difference is None else fmt(r.difference), "first_receipt": r.first_receipt,
        "last_receipt": r.last_receipt, "journaled": r.journaled, "database_readable": r.database_readable,
        "audit_head": r.audit_head,
    }


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
    from tui_pos.domain.reports import CSV_HEADER, CSV_NUMERIC, period, report_json, report_rows

    if csv_file == "-" and as_json:
        raise BadInput(N_("--json with --csv needs a FILE for the CSV"))
    first_day, last_day = period(day=day, first=first, last=last, month=month)
    till = open_till(ctx, replay=False, keep_cart=False)
    result = till.sales_report(first_day, last_day)
    rows = report_rows(result, till.currency)
    if csv_file is not None:
        count = write_csv(csv_file, [CSV_HEADER, *rows], numeric=CSV_NUMERIC)
        if csv_file == "-":
            return
        emit(as_json, {"csv": str(Path(csv_file).resolve()), "rows": count},
             lambda: _("Wrote {n} rows to {file}").format(n=count, file=csv_file))
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
            with os.fdopen(open_to_write(target), "w", encoding="utf-8", newline="") as out:
                out.write(text)
        except OSError as err:
            raise BadInput(N_("cannot write {file}: {error}"), file=str(target), error=err.strerror) from None
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
    "totals": N_("Totals"), "tenders": N_("By tender"), "taxes": N_("By tax rate (net of tax, tax)"),
    "departments": N_("By department"),
    "top_by_quantity": N_("Top products by quantity"), "top_by_amount": N_("Top products by amount"),
    "refunds_by_cashier": N_("Refunds by cashier"), "voids_by_cashier": N_("Voids by cashier"), "days": N_("By day"),
    "hours": N_("By hour (local time)"),
}


def as_text(result, rows: list[tuple[str, ...]]) -> str:
    """The report's rows under a title per section: name, count, quantity, amount, tax."""
    lines = [_("Sales report {first} to {last}").format(first=result.first_day, last=result.last_day)
             if result.last_day != result.first_day else _("Sales report {day}").format(day=result.first_day)]
    if result.journaled:
        lines.append(_("({n} of these records are still in the journal: included)").format(n=result.journaled))
    if not result.database_readable:
        lines.append(_("WARNING: the database could not be read: these are the journal's records alone"))
    shown = ""
    for section, _kind, label, count, qty, amount, tax in rows:
        if section != shown:
            shown = section
            lines += ["", _(SECTION_TITLES[section])]
        lines.append(f"  {pad(label, 34)} {count:>6} {qty:>6} {amount:>12} {tax:>10}".rstrip())
    return "\n".join(lines)


# -- stock reports (app/stock.py StockReports) -----------------------------------------------------------
period_options = (
    click.option("--day", metavar="YYYY-MM-DD", help="One day (the default: today)."),
    click.option("--from", "first", metavar="YYYY-MM-DD", help="The first day of a period."),
    click.option("--to", "last", metavar="YYYY-MM-DD", help="The last day of the period (default: today)."),
    click.option("--month", metavar="YYYY-MM", help="A calendar month."),
)
csv_option = click.option("--csv", "csv_file", is_flag=False, flag_value="-", default=None, metavar="[FILE]",
                          help="Write it as CSV to FILE (or, with no FILE, to standard output).")


def _with_period(func: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(period_options):
        func = option(func)
    return func


def _emit_table(as_json: bool, csv_file: str | None, rows: list[dict[str, Any]], header: Sequence[str],
                numeric: Collection[str], text: Callable[[], str]) -> None:
    """rows as JSON, CSV (header's columns) or text."""
    if csv_file == "-" and as_json:
        raise BadInput(N_("--json with --csv needs a FILE for the CSV"))
    if csv_file is not None:
        count = write_csv(csv_file, [list(header), *[[("" if r[c] is None else r[c]) for c in header] for r in rows]],
                          numeric=numeric)
        if csv_file != "-":
            emit(as_json, {"csv": str(Path(csv_file).resolve()), "rows": count},
                 lambda: _("Wrote {n} rows to {file}").format(n=count, file=csv_file))
        return
    emit(as_json, rows, text)


REORDER_HEADER = ("barcode", "name", "department", "on_hand", "reorder_level", "reorder_qty", "suggested")


@report.command("reorder")
@csv_option
@json_option
@click.pass_context
def report_reorder(ctx: click.Context, csv_file: str | None, as_json: bool) -> None:
    """What to reorder: every product at or below its reorder level, with what to order (its
    reorder quantity, or up to twice the level). Journaled movements included."""
    till = open_till(ctx, replay=False, keep_cart=False)
    emit_reorder(as_json, csv_file, till.stock_reports.reorder())


def emit_reorder(as_json: bool, csv_file: str | None, levels: Sequence[Level]) -> None:
    """The reorder report of these levels (a till's, or a shop's at HQ: `hq report reorder`), each
    with what to order, as text, --json or --csv."""
    from tui_pos.domain.stock import format_qty

    in_transit = any(lv.incoming is not None for lv in levels)  # known at HQ: said, and not ordered twice
    rows = [{**lv.to_dict(), **({"in_transit": format_qty(lv.incoming or 0)} if in_transit else {}),
             "suggested": format_qty(lv.suggested)} for lv in levels]
    header = REORDER_HEADER[:-1] + ("in_transit", "suggested") if in_transit else REORDER_HEADER

    def line(r: dict[str, Any]) -> str:
        """A product's line: on hand, level, what to order, and what is on its way, when known and any."""
        said = _("on hand {on_hand}  level {level}  order {order}").format(
            on_hand=f"{r['on_hand']:>8}", level=f"{r['reorder_level']:>6}", order=f"{r['suggested']:>6}")
        if r.get("in_transit", "0") != "0":
            said += "  " + _("{qty} in transit to the shop").format(qty=r["in_transit"])
        return f"{r['barcode']:<13}  {pad(r['name'], 30)} {said}"

    _emit_table(as_json, csv_file, rows, header, ("on_hand", "reorder_level", "reorder_qty", "in_transit", "suggested"),
                lambda: "\n".join(line(r) for r in rows) or _("Nothing to reorder."))


ANOMALY_HEADER = ("kind", "subject", "message")


@report.command("anomalies")
@_with_period
@csv_option
@json_option
@click.pass_context
def report_anomalies(ctx: click.Context, day: str | None, first: str | None, last: str | None, month: str | None,
                     csv_file: str | None, as_json: bool) -> None:
    """Stock and operation-risk warnings of a day or a period, each with why and its numbers: low
    stock, count variances, sales at or below zero, shrinkage by reason, outflow far above the
    usual, stock not moving; voids, refunds, no-sales, price overrides and discounts per cashier
    against the shop's rate, refunds in another tender than the sale's. Thresholds: [stock]."""
    from tui_pos.domain.reports import period

    first_day, last_day = period(day=day, first=first, last=last, month=month)
    till = open_till(ctx, replay=False, keep_cart=False)
    warnings = till.stock_reports.anomalies(first_day, last_day)
    rows = [w.to_dict() for w in warnings]
    _emit_table(as_json, csv_file, rows, ANOMALY_HEADER, (),
                lambda: "\n".join(f"{w.kind:<16} {message(w)}" for w in warnings) or _("No anomalies."))


MARGIN_HEADER = ("barcode", "name", "department", "qty", "revenue", "cost", "margin", "margin_percent", "unit_cost")


@report.command("margin")
@_with_period
@csv_option
@json_option
@click.pass_context
def report_margin(ctx: click.Context, day: str | None, first: str | None, last: str | None, month: str | None,
                  csv_file: str | None, as_json: bool) -> None:
    """Gross margin per product and department of a day or a period: sales net of tax less the
    quantity sold at its moving average cost (from the receiving costs, as at the period's end)."""
    from tui_pos.domain.reports import period
    from tui_pos.domain.stock import format_qty

    first_day, last_day = period(day=day, first=first, last=last, month=month)
    till = open_till(ctx, replay=False, keep_cart=False)
    lines, journaled, _unused = till.stock_reports.margin(first_day, last_day)
    fmt = till.currency.format
    departments: dict[str, list[int]] = {}
    for line in lines:
        entry = departments.setdefault(line.department, [0, 0, 0])
        entry[0] += line.revenue
        entry[1] += line.cost or 0
        entry[2] += line.margin or 0

    def money(minor: int | None) -> str | None:
        return None if minor is None else fmt(minor)

    rows = [{"barcode": line.barcode, "name": line.name, "department": line.department, "qty": format_qty(line.qty),
             "revenue": fmt(line.revenue), "cost": money(line.cost), "margin": money(line.margin),
             "margin_percent": None if line.margin_bp is None else format_bp(line.margin_bp),
             "unit_cost": None if line.unit_cost is None else fmt(round(line.unit_cost))} for line in lines]
    rows += [{"barcode": "", "name": f"department {name}", "department": name, "qty": "", "revenue": fmt(revenue),
              "cost": fmt(cost), "margin": fmt(margin), "margin_percent": None, "unit_cost": None}
             for name, (revenue, cost, margin) in sorted(departments.items())]
    _emit_table(as_json, csv_file, rows, MARGIN_HEADER, ("qty", "revenue", "cost", "margin", "unit_cost"),
                lambda: "\n".join(_margin_line(r) for r in rows)
                + ("\n" + _("({n} records still in the journal: included)").format(n=journaled) if journaled else "")
                or _("Nothing sold."))


def _margin_line(row: dict[str, Any]) -> str:
    """One margin row for a person: a department's total named in the screen's language."""
    name = row["name"] if row["barcode"] else _("department {name}").format(name=row["department"])
    return f"{pad(name, 30)} {row['qty']:>8} {row['revenue']:>10} " + _("cost {cost}  margin {margin}").format(
        cost=f"{row['cost'] or '?':>10}", margin=f"{row['margin'] or '?':>10}") + f" {row['margin_percent'] or '':>6}"
