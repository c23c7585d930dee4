"""The cash drawer's day: `tui-pos shift open|paid-in|paid-out|close` (the X and Z reports
are `tui-pos report x|z`, in report.py).

Opening and closing a shift are refused while the till UI runs on the same data directory (the
UI's open shift would go stale): do those at the till, or stop it first. Paid-in, paid-out and
the X report are fine beside a running till. Who acts and who approves: see cli/signin.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from tui_pos.cli.base import emit, interrupts, json_option, main
from tui_pos.cli.report import show_report
from tui_pos.cli.signin import manager_hint, operating_till, person_options, sign_in
from tui_pos.domain.errors import BadInput
from tui_pos.domain.money import parse_count
from tui_pos.i18n import N_, _

if TYPE_CHECKING:
    from tui_pos.app.till import Till


@main.group()
def shift() -> None:
    """Shifts: open with a float, paid-in, paid-out, close with the Z report.

    Who acts: --cashier NAME (PIN checked), or --manager NAME, who also approves what needs a
    manager (paid-outs over [till] paid_out_limit in a shift, a difference at close over
    z_difference_limit); nobody named: $TUI_POS_USER. The PIN is asked for (hidden), or
    $TUI_POS_PIN / --pin for scripts."""


def refuse_beside_running_till(ctx: click.Context, refusal: str) -> None:
    """refusal: the whole sentence (N_-marked, with {dir} and {pid}) said when the till is running."""
    from tui_pos.ops.instance import running_pid

    pid = running_pid(ctx.obj)
    if pid is not None:
        raise BadInput(refusal, dir=str(ctx.obj), pid=pid)


@shift.command("open")
@click.option("--float", "float_text", metavar="AMOUNT", required=True, help="Cash counted into the drawer.")
@person_options(manager=False)
@json_option
@click.pass_context
def shift_open(ctx: click.Context, float_text: str, cashier: str | None, pin: str | None, as_json: bool) -> None:
    """Open a shift with the float counted into the drawer (one open shift per till)."""
    refuse_beside_running_till(ctx, N_("the till is running on {dir} (pid {pid}): open the shift at the till (its "
                                       "shift would go stale), or stop it first"))
    till = operating_till(ctx)
    amount = till.currency.parse(float_text)
    sign_in(till, "shift_open", cashier=cashier, pin=pin, required="cashier")
    interrupts.before = N_("the shift was not opened")
    with interrupts.holding("the shift's opening", "'tui-pos status'"):
        record = till.open_shift(amount)
    fmt = till.currency.format
    data = {"shift": record["number"], "uuid": record["uuid"], "float": fmt(record["float"]),
            "opened_by": record["opened_by"], "opened_at": record["opened_at"]}
    emit(as_json, data, lambda: _("Shift {number} open: float {amount}, by {name}").format(
        number=data["shift"], amount=fmt(record["float"], True), name=data["opened_by"]))


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
        interrupts.before = {"paid_in": N_("the paid-in was not recorded"),
                             "paid_out": N_("the paid-out was not recorded")}[kind]
        with manager_hint(), interrupts.holding(f"the {kind.replace('_', '-')}", "'tui-pos report x'"):
            record = till.cash_movement(kind, minor, reason, approval)
        fmt = till.currency.format
        assert till.shift is not None  # the movement was stored in it
        data = {"kind": kind, "amount": fmt(record["amount"]), "reason": record["reason"], "user": record["user"],
                "approved_by": record["approved_by"], "shift": till.shift["number"], "at": record["at"]}
        said = {"paid_in": (N_("Paid-in {amount} ({reason}) by {name}"),
                            N_("Paid-in {amount} ({reason}) by {name}, approved by {manager}")),
                "paid_out": (N_("Paid-out {amount} ({reason}) by {name}"),
                             N_("Paid-out {amount} ({reason}) by {name}, approved by {manager}"))}[kind]
        emit(as_json, data, lambda: _(said[bool(record["approved_by"])]).format(
            amount=fmt(record["amount"], True), reason=record["reason"], name=record["user"],
            manager=record["approved_by"]))


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
            raise BadInput(N_("--count {spec}: {note} is not one of the shop's notes and coins ({notes}; [shop] "
                              "denominations in config.toml)"), spec=repr(spec), note=note or "?",
                           notes=", ".join(till.config.denominations))
        count = parse_count(how_many)
        if count is None:
            raise BadInput(N_("--count {spec}: expected NOTE=HOW_MANY, e.g. 100=3"), spec=repr(spec))
        tally[value] = tally.get(value, 0) + count
    detail = tuple((configured[value], n) for value, n in sorted(tally.items(), reverse=True))
    return count_cash(tally), detail


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
        raise BadInput(N_("count the drawer: give --counted AMOUNT, or --count NOTE=HOW_MANY for each note and coin "
                          "(one of the two)"))
    refuse_beside_running_till(ctx, N_("the till is running on {dir} (pid {pid}): close the shift at the till "
                                       "(its shift would go stale), or stop it first"))
    till = operating_till(ctx)
    total, detail = (till.currency.parse(counted), ()) if counted is not None else parse_counts(till, counts)
    approval = sign_in(till, "close_shift", cashier=cashier, manager=manager, pin=pin, required="cashier")
    interrupts.before = N_("the shift was not closed")
    with manager_hint(), interrupts.holding("the Z report", "'tui-pos report z' and 'tui-pos status'"):
        z = till.close_shift(total, detail, approval)
    show_report(as_json, z, till, print_it=till.config.printer.connection != "none")
    from tui_pos.ops.backup import run_scheduled_backup  # after every Z: the day's sales leave the till

    backup = run_scheduled_backup(till.config)
    if not backup.ok:
        click.echo(_("Warning: the backup after the Z report failed ({error})").format(
            error=backup.error or _("see tui-pos status")), err=True)
