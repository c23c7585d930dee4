"""`tui-pos payments`: the code payments (Alipay / WeChat payment codes charged by the till), their
states and whether each paid one is in a stored sale; `tui-pos payments resolve`: ask the providers
about every attempt whose outcome is not known, and settle it; `tui-pos payments reconcile FILE`:
a provider's daily statement against this till's payments (cli/reconcile.py shows it) (issue 15).

The list is read without writing (the store's view, opened read-only: it works while the till
runs). resolve opens the till (its gateways from config.toml's [payments]) without its sale in
progress: a paid attempt of a sale not stored stays listed as "paid, sale not completed", and the
till puts its tender back on that sale when it starts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from tui_pos.cli import reconcile as reconcile_cli
from tui_pos.cli.base import emit, json_option, main, open_till, shop_config
from tui_pos.domain.money import Currency
from tui_pos.domain.payments import PROVIDER_NAMES, STATE_WORDS
from tui_pos.domain.shop_time import shop_time
from tui_pos.i18n import N_, _

KIND_WORDS = {"pay": N_("payment"), "refund": N_("refund")}


def payment_data(view: Any, currency: Currency) -> dict[str, Any]:
    """One attempt for --json: its record's fields, its state and outcome, amounts as decimal strings."""
    data = view.to_json() if hasattr(view, "to_json") else dict(view)
    for key in ("amount", "charged"):
        data[key] = None if data.get(key) is None else currency.format(data[key])
    return data


def _line(view: Any, currency: Currency) -> str:
    state = _(STATE_WORDS.get(view.state, view.state))
    if view.paid_not_completed:
        state = _("paid, sale not completed") if view.kind == "pay" else _("refunded, refund not recorded")
    words = [shop_time(view.at), _(PROVIDER_NAMES.get(view.provider, view.provider)),
             _(KIND_WORDS.get(view.kind, view.kind)), currency.format(view.amount, symbol=True), state,
             view.out_refund_no or view.out_trade_no]
    if view.transaction_id:
        words.append(view.transaction_id)
    if view.reason and view.state not in ("paid", "refunded"):
        words.append(f"({view.reason})")
    return "  ".join(words)


def _listing(views: list[Any], currency: Currency, none: str) -> str:
    return "\n".join(_line(v, currency) for v in views) or none


@main.group(invoke_without_command=True)
@click.option("--unresolved", is_flag=True,
              help="Only those that need someone: outcome not known, or paid and in no stored sale.")
@json_option
@click.pass_context
def payments(ctx: click.Context, unresolved: bool, as_json: bool) -> None:
    """Code payments (Alipay / WeChat payment codes) and their states; resolve: settle the unknown ones."""
    if ctx.invoked_subcommand is not None:
        return
    from tui_pos.app.payments import PaymentView
    from tui_pos.app.till import currency_of
    from tui_pos.ops.readonly import read_only_view

    config = shop_config(ctx)
    currency = currency_of(config)
    with read_only_view(config) as view:
        rows, readable = view.payment_attempts(unresolved=unresolved)
        problem = "" if readable else view.database.error or view.database.state
    views = [PaymentView.of(r) for r in rows]
    emit(as_json, [payment_data(v, currency) for v in views], lambda: _listing(
        views, currency, _("No code payment needs anyone.") if unresolved else _("No code payments yet.")))
    if problem:
        click.echo(_("Warning: the database could not be read ({error}): only the journal's payments are listed")
                   .format(error=problem), err=True)


@payments.command("resolve")
@json_option
@click.pass_context
def payments_resolve(ctx: click.Context, as_json: bool) -> None:
    """Ask the providers about every payment whose outcome is not known, and settle it. Refused
    while the till runs: it settles them itself (at start-up, before each code payment, and R on
    its payments screen), and two processes settling one payment could store two outcomes."""
    from tui_pos.app.till import currency_of
    from tui_pos.cli.shift import refuse_beside_running_till

    refuse_beside_running_till(ctx, N_("the till is running on {dir} (pid {pid}): it settles code payments itself; "
                                       "use its payments screen (Menu, then p; R settles now)"))
    till = open_till(ctx, keep_cart=False)
    currency = currency_of(till.config)
    settled = till.payments.resolve()
    left = [v for v in till.payments.list(unresolved=True) if v.unresolved]
    emit(as_json, {"looked_at": [payment_data(v, currency) for v in settled],
                   "still_unresolved": [payment_data(v, currency) for v in left]},
         lambda: "\n".join([_listing(settled, currency, _("No code payment was waiting to be resolved.")),
                            *([_("{n} still unknown: asked again at the next resolve").format(n=len(left))]
                              if left else [])]))


@payments.command("reconcile")
@reconcile_cli.statement_argument
@reconcile_cli.provider_option
@reconcile_cli.day_option
@reconcile_cli.csv_option
@json_option
@click.pass_context
def payments_reconcile(ctx: click.Context, statement_file: Path, provider: str | None, day: str | None,
                       csv_file: str | None, as_json: bool) -> None:
    """Reconcile a provider's daily statement FILE (Alipay's business detail 业务明细 .csv, or WeChat
    Pay's trade bill 交易账单 .csv) with this till's code payments: charged but no sale, sale not
    charged, amounts that differ, refunds likewise. Exits 1 when anything does not match. Read
    without writing (works while the till runs). A shop whose tills share a merchant account sees
    the other tills' charges as "charged, no sale" here: reconcile it at HQ (tui-pos hq payments
    reconcile FILE --shop ID)."""
    from datetime import timedelta

    from tui_pos.app.till import currency_of
    from tui_pos.domain.reconcile import from_view, reconcile
    from tui_pos.ops.readonly import read_only_view

    statement = reconcile_cli.read_statement_file(statement_file, provider, day)
    config = shop_config(ctx)
    since = None if statement.first_day is None else (statement.first_day - timedelta(days=2)).isoformat()
    with read_only_view(config) as view:
        rows, readable = view.payment_attempts()
        sales, _sales_readable = view.sales(since)
        problem = "" if readable else view.database.error or view.database.state
    if problem:  # before the result: a reconciliation of the journal alone is not the till's
        click.echo(_("Warning: the database could not be read ({error}): only the journal's payments are "
                     "reconciled").format(error=problem), err=True)
    result = reconcile(statement, from_view(rows, {s["uuid"]: s["receipt"] for s in sales}))
    reconcile_cli.show_reconciliation(result, currency_of(config), as_json, csv_file, file=str(statement_file),
                                      till=config.till_id)
