"""The audit log from the command line: `tui-pos audit verify` and `tui-pos audit show`.

Both only read: the database is opened read-only, so they work beside a running till.
"""

from __future__ import annotations

import re
import sys

import click

from tui_pos.cli.base import WholeNumber, emit, json_option, main, shop_config
from tui_pos.domain.columns import columns, pad
from tui_pos.domain.errors import Said
from tui_pos.i18n import N_, _, message

# What audit show calls each action, in the shop's language (in English: the action as stored, as --json has it).
ACTION_NAMES = {
    "sale": N_("sale"), "refund": N_("refund"), "void": N_("void"), "shift_open": N_("shift_open"),
    "z_report": N_("z_report"), "paid_in": N_("paid_in"), "paid_out": N_("paid_out"),
    "stock_receive": N_("stock_receive"), "stock_adjust": N_("stock_adjust"), "stock_count": N_("stock_count"),
    "stock_transfer_out": N_("stock_transfer_out"), "stock_transfer_in": N_("stock_transfer_in"),
    "payment_attempt": N_("payment_attempt"), "payment_outcome": N_("payment_outcome"), "user_add": N_("user_add"),
    "user_set_pin": N_("user_set_pin"), "user_enable": N_("user_enable"), "user_disable": N_("user_disable"),
    "login": N_("login"), "login_failed": N_("login_failed"), "price_override": N_("price_override"),
    "discount_approval": N_("discount_approval"), "no_sale": N_("no_sale"), "delete_held": N_("delete_held"),
    "clock_back": N_("clock_back"), "catalog_import": N_("catalog_import"), "catalog_pull": N_("catalog_pull"),
    "config_change": N_("config_change"), "replay": N_("replay"), "journal_rejected": N_("journal_rejected"),
    "restore": N_("restore"), "restored_from_hq": N_("restored_from_hq"), "anchor_mismatch": N_("anchor_mismatch"),
    "table_state": N_("table_state")}
# The actors the audit log itself uses (domain.auth.RESERVED_NAMES: no person is called so).
ACTORS = {"cli": N_("cli"), "system": N_("system"), "hq": N_("hq")}
# The subjects written as English words (an entry is hashed: its subject stays as it was written), per action:
# one that reads exactly as a template is said in the shop's language, any other as it is.
SUBJECTS = {
    "shift_open": (N_("shift {n}"),), "catalog_import": (N_("{n} products"),), "catalog_pull": (N_("{n} products"),),
    "config_change": (N_("{n} settings"),), "replay": (N_("{n} journaled records"),),
    "journal_rejected": (N_("{n} journal line(s) quarantined"),), "restored_from_hq": (N_("{n} records"),),
    "discount_approval": (N_("line {n}"), N_("order"))}


def action_name(action: str) -> str:
    """An entry's action as audit show says it, in a column of 14 (a longer name is not cut)."""
    name = _(ACTION_NAMES[action]) if action in ACTION_NAMES else action
    return pad(name, max(14, columns(name)))


def said_subject(action: str, subject: str) -> str:
    """An entry's subject as audit show says it: in the shop's language when it reads exactly as one of its
    action's templates, else as it is (a receipt number, a name, a code)."""
    for template in SUBJECTS.get(action, ()):
        found = re.fullmatch(re.escape(template).replace(re.escape("{n}"), r"(\d+)"), subject)
        if found:
            return message(Said(template, n=int(found[1])) if found.groups() else Said(template))
    return subject


@main.group()
def audit() -> None:
    """The hash-chained audit log of everything done at the till."""


@audit.command("verify")
@json_option
@click.pass_context
def audit_verify(ctx: click.Context, as_json: bool) -> None:
    """Check the chain, every record it covers, and receipt numbers for gaps. Exit 1 at the first
    broken record (edited, deleted or reordered)."""
    from tui_pos.ops.audit_log import verify_audit

    checked = verify_audit(shop_config(ctx))
    result, waiting = checked.verification, checked.journal_waiting
    first = result.first_broken
    data = {"ok": result.ok, "entries": result.entries, "records_checked": result.records_checked,
            "first_broken": None if first is None else {"entry": first.seq, "what": first.what},
            "problems": [{"entry": p.seq, "what": p.what} for p in result.problems], "journal_waiting": waiting,
            "warnings": list(result.warnings)}

    def human() -> str:
        counts = _("{entries} entries, {records} records checked").format(entries=result.entries,
                                                                          records=result.records_checked)
        lines = [(_("Audit log OK: {counts}") if result.ok else _("AUDIT LOG BROKEN ({counts})")).format(counts=counts)]
        lines += ["  " + (_("entry {seq}: {what}").format(seq=p.seq, what=message(p.what)) if p.seq is not None else
                          _("record: {what}").format(what=message(p.what))) for p in result.problems]
        lines += ["  " + _("warning: {warning}").format(warning=message(w)) for w in result.warnings]
        if waiting:
            lines.append(_("{n} record(s) wait in the journal: they join the chain when replayed").format(n=waiting))
        return "\n".join(lines)

    emit(as_json, data, human)
    if not result.ok:
        sys.exit(1)


@audit.command("show")
@click.option("--last", "count", type=WholeNumber(), default=20, show_default=True, help="How many entries.")
@json_option
@click.pass_context
def audit_show(ctx: click.Context, count: int, as_json: bool) -> None:
    """The newest entries: when, what, who, approved by whom, on what, how much."""
    from tui_pos.app.till import currency_of
    from tui_pos.ops.audit_log import newest_entries

    config = shop_config(ctx)
    entries = newest_entries(config, count)
    fmt = currency_of(config).format
    rows = [entry | {"amount": None if entry["amount"] is None else fmt(entry["amount"])} for entry in entries]
    emit(as_json, rows, lambda: "\n".join(
        f"{r['seq']:>6}  {r['at']}  {action_name(r['action'])} {pad(_(ACTORS[r['actor']]) if r['actor'] in ACTORS else r['actor'] or '-', 10)} "
        + (_("approved by {name}").format(name=r["approved_by"]) + "  " if r["approved_by"] else "")
        + said_subject(r["action"], r["subject"] or "") + (f"  {r['amount']}" if r["amount"] is not None else "")
        for r in rows)
        or _("The audit log is empty."))
