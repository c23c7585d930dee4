"""What `tui-pos payments reconcile` (this till's payments, in payments.py) and `tui-pos hq payments
reconcile` (a shop's, chain-wide at HQ, in hq.py) share, as signin.py is shared: the statement and
its options, and show_reconciliation, the result as text, JSON or CSV (issue 15). No command here.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from tui_pos.cli.base import emit
from tui_pos.cli.report import write_csv
from tui_pos.domain.columns import pad
from tui_pos.domain.errors import BadInput
from tui_pos.domain.money import Currency
from tui_pos.domain.payments import PROVIDER_NAMES, STATE_WORDS
from tui_pos.domain.reconcile import MISMATCH_TEXT, Reconciliation, Statement
from tui_pos.i18n import N_, _

MISMATCH_HEADER = ("kind", "provider", "out_trade_no", "transaction_id", "out_refund_no", "statement_amount",
                   "till_amount", "sale_uuid", "receipt", "state", "at", "till_id", "line")
MISMATCH_NUMERIC = ("statement_amount", "till_amount", "line")

provider_option = click.option("--provider", type=click.Choice(["alipay", "wechat"]), default=None,
                               help="Whose statement FILE is (default: found from the file).")
statement_argument = click.argument("statement_file", metavar="FILE",
                                    type=click.Path(dir_okay=True, readable=False, path_type=Path))
day_option = click.option("--day", metavar="YYYY-MM-DD", default=None,
                          help="The day the statement is of (Beijing time; default: what the file says, else "
                               "its rows' days): this day's charges recorded and not on it are named too.")
csv_option = click.option("--csv", "csv_file", is_flag=False, flag_value="-", default=None, metavar="[FILE]",
                          help="Write the mismatches as CSV to FILE (or, with no FILE, to standard output).")


def read_statement_file(path: Path, provider: str | None, day: str | None) -> Statement:
    """The statement in FILE, of the day --day says (else its own: a WeChat bill without a trade names none)."""
    from tui_pos.domain.reports import parse_day
    from tui_pos.payments.statements import load_statement

    the_day = parse_day(day, "--day") if day is not None else None
    statement = load_statement(path, provider)
    return statement if the_day is None else replace(statement, first_day=the_day, last_day=the_day)


def reconciliation_data(result: Reconciliation, currency: Currency, **extra: Any) -> dict[str, Any]:
    """The result for --json: amounts as decimal strings, like every command."""
    return {**extra, **result.to_dict(currency.format)}


def show_reconciliation(result: Reconciliation, currency: Currency, as_json: bool, csv_file: str | None,
                        **extra: Any) -> None:
    """The reconciliation as text (JSON with --json, the mismatches as CSV with --csv); exit 1 when
    anything does not match."""
    if csv_file == "-" and as_json:
        raise BadInput(N_("--json with --csv needs a FILE for the CSV"))
    data = reconciliation_data(result, currency, **extra)
    if csv_file is not None:
        rows = [[("" if m[c] is None else m[c]) for c in MISMATCH_HEADER] for m in data["mismatches"]]
        count = write_csv(csv_file, [list(MISMATCH_HEADER), *rows], numeric=MISMATCH_NUMERIC)
        if csv_file != "-":
            emit(as_json, {**data, "csv": str(Path(csv_file).resolve()), "rows": count},
                 lambda: _("Wrote {n} rows to {file}").format(n=count, file=csv_file))
    else:
        emit(as_json, data, lambda: reconciliation_text(data))
    if not result.ok:
        sys.exit(1)


def reconciliation_text(data: dict[str, Any]) -> str:
    provider = _(PROVIDER_NAMES.get(data["provider"], data["provider"]))
    days = data["first_day"] or "?"
    if data["last_day"] and data["last_day"] != data["first_day"]:
        days = f"{days} .. {data['last_day']}"
    st, till, matched = data["statement"], data["till"], data["matched"]
    lines = [
        _("{provider} statement of {days}: {pays} charges {paid}, {refunds} refunds {refunded} ({skipped} other rows "
          "skipped)").format(provider=provider, days=days, pays=st["pays"]["count"], paid=st["pays"]["amount"],
                             refunds=st["refunds"]["count"], refunded=st["refunds"]["amount"], skipped=st["skipped"]),
        _("Recorded for those days: {pays} charges {paid}, {refunds} refunds {refunded}").format(
            pays=till["pays"]["count"], paid=till["pays"]["amount"], refunds=till["refunds"]["count"],
            refunded=till["refunds"]["amount"]),
        _("Matched: {pays} charges {paid}, {refunds} refunds {refunded}").format(
            pays=matched["pays"]["count"], paid=matched["pays"]["amount"], refunds=matched["refunds"]["count"],
            refunded=matched["refunds"]["amount"]),
    ]
    if matched["reversed"]["count"]:
        lines.append(_("Cancelled and given back by the provider: {n} charges {amount}").format(
            n=matched["reversed"]["count"], amount=matched["reversed"]["amount"]))
    if data["first_day"] is None:
        lines.append(_("The statement names no day: only its rows were looked for (give --day to check that "
                       "day's recorded payments too)."))
    mismatches = data["mismatches"]
    if not mismatches:
        lines.append(_("Everything matches."))
        return "\n".join(lines)
    lines += ["", _("{n} mismatches:").format(n=len(mismatches)),
              "  " + " ".join([pad(_("trade number"), 32), pad(_("statement"), 10, ">"), pad(_("recorded"), 10, ">"),
                               " " + _("mismatch")])]
    for m in mismatches:
        number = m["out_refund_no"] if m["kind"].startswith("refund") and m["out_refund_no"] else m["out_trade_no"]
        where = (_("receipt {receipt}").format(receipt=m["receipt"]) if m["receipt"] else
                 _("sale {uuid}").format(uuid=m["sale_uuid"]) if m["sale_uuid"] else _("no sale"))
        state = f" ({_(STATE_WORDS.get(m['state'], m['state']))})" if m["state"] else ""
        lines.append("  " + " ".join([pad(number or "-", 32), pad(m["statement_amount"] or "-", 10, ">"),
                                      pad(m["till_amount"] or "-", 10, ">"), " " + _(MISMATCH_TEXT[m["kind"]])])
                     + f"; {where}{state}" + (f" {m['till_id']}" if m["till_id"] else ""))
    return "\n".join(lines)
