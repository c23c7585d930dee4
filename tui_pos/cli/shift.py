"""The cash drawer's day: `tui-pos shift open|paid-in|paid-out|close` and `tui-pos report x|z`.

Opening and closing a shift are refused while the till UI runs on the same data directory (the
UI's open shift would go stale): do those at the till, or stop it first. Paid-in, paid-out and
the X report are fine beside a running till. Who acts and who approves: see cli/people.py.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Callable

import click

from tui_pos.cli.base import WholeNumber, emit, interrupts, json_option, main
from tui_pos.cli.people import manager_hint, operating_till, person_options, sign_in
from tui_pos.cli.reports import report
from tui_pos.domain.errors import BadInput
from tui_pos.domain.money import format_bp, parse_count

if TYPE_CHECKING:
    from tui_pos.domain.shift import KindTotals, ShiftReport
    from tui_pos.app.till import Till

Format = Callable[[int], str]


@main.group()
def shift() -> None:
    """Shifts: open with a float, paid-in, paid-out, close with the Z report.

    Who acts: --cashier NAME (PIN checked), or --manager NAME, who also approves what needs a
    manager (paid-outs over [till] paid_out_limit in a shift, a difference at close over
    z_difference_limit); nobody named: $TUI_POS_USER. The PIN is asked for (hidden), or
    $TUI_POS_PIN / --pin for scripts."""


def refuse_beside_running_till(ctx: click.Context, what: str) -> None:
    from tui_pos.ops.instance import running_pid

    pid = running_pid(ctx.obj)
    if pid is not None:
        raise BadInput(f"the till is running on {ctx.obj} (pid {pid}): {what} at the till (its shift would go "
                       "stale), or stop it first")


@shift.command("open")
@click.option("--float", "float_text", metavar="AMOUNT", required=True, help="Cash counted into the drawer.")
@person_options(manager=False)
@json_option
@click.pass_context
def shift_open(ctx: click.Context, float_text: str, cashier: str | None, pin: str | None, as_json: bool) -> None:
    """Open a shift with the float counted into the drawer (one open shift per till)."""
    refuse_beside_running_till(ctx, "open the shift")
    till = operating_till(ctx)
    amount = till.currency.parse(float_text)
    sign_in(till, "shift_open", cashier=cashier, pin=pin, required="cashier")
    interrupts.before = "the shift was not opened"
    with interrupts.holding("the shift's opening", "'tui-pos status'"):
        record = till.open_shift(amount)
    fmt = till.currency.format
    data = {"shift": record["number"], "uuid": record["uuid"], "float": fmt(record["float"]),
            "opened_by": record["opened_by"], "opened_at": record["opened_at"]}
    emit(as_json, data, lambda: f"Shift {data['shift']} open: float {fmt(record['float'], True)}, "
                                f"by {data['opened_by']}")


def _cash_movement(kind: str, help_text: str) -> None:
    """Register `shift paid-in` or `shift paid-out` (the same command, but for its kind)."""

    @shift.command(kind.replace("_", "-"), help=help_text)
    @click.argument("amount")
    @click.option("--reason", required=True, help="Why the cash went in or out (audited).")
    @person_options()
    @json_option
    @click.pass_context
    def command(ctx: click.Context, amount: str, reason: str, cashier: str | None, manager: str | None,
                pin: str | None, as_json: bool) -> None:
        till = operating_till(ctx)
        minor = till.currency.parse(amount)
        approval = sign_in(till, kind, cashier=cashier, manager=manager, pin=pin, reason=reason, required="cashier")
        interrupts.before = f"the {kind.replace('_', '-')} was not recorded"
        with manager_hint(), interrupts.holding(f"the {kind.replace('_', '-')}", "'tui-pos report x'"):
            record = till.cash_movement(kind, minor, reason, approval)
        fmt = till.currency.format
        data = {"kind": kind, "amount": fmt(record["amount"]), "reason": record["reason"], "user": record["user"],
                "approved_by": record["approved_by"], "shift": till.shift["number"], "at": record["at"]}
        emit(as_json, data, lambda: f"{kind.replace('_', '-').capitalize()} {fmt(record['amount'], True)} "
                                    f"({record['reason']}) by {record['user']}"
                                    + (f", approved by {record['approved_by']}" if record["approved_by"] else ""))


_cash_movement("paid_in", "Cash put into the drawer (change from the bank...), with a reason.")
_cash_movement("paid_out", "Cash taken out of the drawer, with a reason; over [till] paid_out_limit a manager "
                           "must give it (--manager).")


def parse_counts(till: Till, counts: tuple[str, ...]) -> tuple[int, tuple[tuple[str, int], ...]]:
    """--count NOTE=HOW_MANY ... -> (total, ((denomination as configured, how many), ...))."""
    from tui_pos.domain.shift import count_cash

    configured = {till.currency.parse(text): text for text in till.config.denominations}
    tally: dict[int, int] = {}
    for spec in counts:
        note, _, how_many = spec.partition("=")
        value = till.currency.parse(note) if note.strip() else 0
        if value not in configured:
            raise BadInput(f"--count {spec!r}: {note or '?'} is not one of the shop's notes and coins "
                           f"({', '.join(till.config.denominations)}; [shop] denominations in config.toml)")
        count = parse_count(how_many)
        if count is None:
            raise BadInput(f"--count {spec!r}: expected NOTE=HOW_MANY, e.g. 100=3")
        tally[value] = tally.get(value, 0) + count
    detail = tuple((configured[value], n) for value, n in sorted(tally.items(), reverse=True))
    return count_cash(tally), detail


print_option = click.option("--print", "print_it", is_flag=True,
                            help="Print it on the receipt printer too (exit 1 if it cannot be printed).")


@shift.command("close")
@click.option("--counted", metavar="AMOUNT", help="The cash counted in the drawer, as a total.")
@click.option("--count", "counts", multiple=True, metavar="NOTE=HOW_MANY",
              help="Or counted by note and coin, e.g. --count 100=3 --count 0.5=4.")
@person_options()
@json_option
@click.pass_context
def shift_close(ctx: click.Context, counted: str | None, counts: tuple[str, ...], cashier: str | None,
                manager: str | None, pin: str | None, as_json: bool) -> None:
    """Count the drawer and close the shift: shows the Z report, prints it (when a receipt
    printer is configured) and backs up the database. Further over or short than [till] z_difference_limit, a manager must
    close it (--manager)."""
    if (counted is None) == (not counts):
        raise BadInput("count the drawer: give --counted AMOUNT, or --count NOTE=HOW_MANY for each note and coin "
                       "(one of the two)")
    refuse_beside_running_till(ctx, "close the shift")
    till = operating_till(ctx)
    total, detail = (till.currency.parse(counted), ()) if counted is not None else parse_counts(till, counts)
    approval = sign_in(till, "close_shift", cashier=cashier, manager=manager, pin=pin, required="cashier")
    interrupts.before = "the shift was not closed"
    with manager_hint(), interrupts.holding("the Z report", "'tui-pos report z' and 'tui-pos status'"):
        z = till.close_shift(total, detail, approval)
    show_report(as_json, z, till, print_it=till.config.printer.connection != "none")
    from tui_pos.ops.backup import run_scheduled_backup  # after every Z: the day's sales leave the till

    backup = run_scheduled_backup(till.config)
    if not backup.ok:
        click.echo(f"Warning: the backup after the Z report failed ({backup.error or 'see tui-pos status'})", err=True)


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
        raise BadInput("--list lists them all: leave out the NUMBER and --print")
    till = operating_till(ctx, replay=False)
    reports = till.z_reports(number)
    if list_all:
        from tui_pos.printing.layout import local_time

        fmt = till.currency.format
        rows = [{"z_number": z.z_number, "shift": z.shift_number, "closed_at": z.taken_at, "closed_by": z.taken_by,
                 "net_sales": fmt(z.net_sales), "expected_cash": fmt(z.expected_cash),
                 "counted": None if z.counted is None else fmt(z.counted),
                 "difference": None if z.difference is None else fmt(z.difference)} for z in reports]
        emit(as_json, rows, lambda: "\n".join(
            f"Z {r['z_number']:<5} shift {r['shift']:<5} {local_time(r['closed_at'], None)}  {r['closed_by']:<10} "
            f"net sales {r['net_sales']:>10}  difference {r['difference']:>8}" for r in rows) or "No Z report yet.")
        return
    if not reports:
        raise BadInput(f"there is no Z report {number}" if number is not None else "there is no Z report yet")
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
        click.echo(f"Warning: the report was not printed: {why_not}", err=True)
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
