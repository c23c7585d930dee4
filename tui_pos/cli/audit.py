"""The audit log from the command line: `tui-pos audit verify` and `tui-pos audit show`.

Both only read: the database is opened read-only, so they work beside a running till.
"""

from __future__ import annotations

import sys

import click

from tui_pos.cli.base import WholeNumber, emit, json_option, main, shop_config
from tui_pos.domain.columns import pad
from tui_pos.i18n import _, message


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
        f"{r['seq']:>6}  {r['at']}  {r['action']:<14} {pad(r['actor'] or '-', 10)} "
        + (_("approved by {name}").format(name=r["approved_by"]) + "  " if r["approved_by"] else "")
        + f"{r['subject'] or ''}" + (f"  {r['amount']}" if r["amount"] is not None else "") for r in rows)
        or _("The audit log is empty."))
