"""`tui-pos receipts ...`: unprinted receipts, reprint, show, confirm (the printer itself: printer.py)."""

from __future__ import annotations

import sys

import click

from tui_pos.cli.base import emit, json_option, main, shop_config
from tui_pos.domain.errors import BadInput
from tui_pos.domain.shop_time import shop_time
from tui_pos.i18n import N_, _


@main.group(invoke_without_command=True)
@click.option("--unprinted", is_flag=True, help="Paid sales whose receipt is not printed.")
@json_option
@click.pass_context
def receipts(ctx: click.Context, unprinted: bool, as_json: bool) -> None:
    """Receipts: --unprinted, reprint NUMBER, show NUMBER, confirm NUMBER."""
    if ctx.invoked_subcommand is not None:
        return
    if not unprinted:
        raise BadInput(N_("use 'tui-pos receipts --unprinted', or reprint/show/confirm NUMBER"))
    from tui_pos.ops.status import PRINT_STATES
    from tui_pos.printing.commands import unprinted_rows

    rows = unprinted_rows(shop_config(ctx))
    emit(as_json, rows, lambda: "\n".join(
        f"{r['receipt']}  {shop_time(r['completed_at'])}  {r['total']:>10}  {_(PRINT_STATES.get(r['state'], r['state']))}"
        + (f"  ref {', '.join(r['references'])}" if r["references"] else "")
        + (f"  ({r['last_error']})" if r["last_error"] else "") for r in rows) or _("Every receipt is printed."))


@receipts.command("reprint")
@click.argument("number")
@json_option
@click.pass_context
def receipts_reprint(ctx: click.Context, number: str, as_json: bool) -> None:
    """Print a copy of receipt NUMBER (marked COPY)."""
    from tui_pos.ops.status import PRINT_STATES
    from tui_pos.printing.commands import reprint

    result = reprint(shop_config(ctx), number)
    data = {"receipt": number, "uuid": result.uuid, "state": result.state, "printed": result.printed,
            "error": result.error}
    emit(as_json, data, lambda: _("Copy of {receipt} printed").format(receipt=number) if result.printed
         else _("Copy of {receipt} {state}: {error}").format(
             receipt=number, state=_(PRINT_STATES.get(result.state, result.state)), error=result.error))
    if not result.printed:
        sys.exit(1)


@receipts.command("show")
@click.argument("number")
@click.pass_context
def receipts_show(ctx: click.Context, number: str) -> None:
    """Show receipt NUMBER on screen, QR code included (when no printer works)."""
    from tui_pos.printing.commands import show_receipt

    lines = show_receipt(shop_config(ctx), number)
    if lines is None:
        raise BadInput(N_("no sale with receipt number {receipt}"), receipt=number)
    click.echo("\n".join(lines))


@receipts.command("confirm")
@click.argument("number")
@click.pass_context
def receipts_confirm(ctx: click.Context, number: str) -> None:
    """Receipt NUMBER did come out after all: take it off the unprinted list."""
    from tui_pos.printing.commands import confirm_printed

    if not confirm_printed(shop_config(ctx), number):
        raise BadInput(N_("receipt {receipt} is not waiting to be printed"), receipt=number)
    click.echo(_("Receipt {receipt} marked printed").format(receipt=number))
