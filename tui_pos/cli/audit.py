"""The audit log from the command line: `tui-pos audit verify` and `tui-pos audit show`.

Both only read: the database is opened read-only, so they work beside a running till.
"""

from __future__ import annotations

import sqlite3
import sys
from contextlib import contextmanager
from dataclasses import replace
from typing import TYPE_CHECKING, Iterator

import click

from tui_pos.cli.base import WholeNumber, emit, json_option, main, shop_config
from tui_pos.domain.errors import StorageError

if TYPE_CHECKING:
    from tui_pos.config import Config
    from tui_pos.store.verification import Problem
    from tui_pos.store.view import Backlog


@main.group()
def audit() -> None:
    """The hash-chained audit log of everything done at the till."""


@contextmanager
def read_database(config: Config) -> Iterator[sqlite3.Connection]:
    """The database, read-only; StorageError (one line) when it cannot be opened or read."""
    from tui_pos.ops.readonly import DatabaseUnavailable, read_only_database

    try:
        with read_only_database(config) as conn:
            yield conn
    except DatabaseUnavailable as err:
        raise StorageError(f"the database cannot be read ({err.state}): {err}") from None
    except sqlite3.Error as err:
        raise StorageError(f"the database cannot be read: {err}") from None


def journal_problems(config: Config, backlog: Backlog) -> tuple[Problem, ...]:
    """Journal lines that fail the journal key (edited or invented), holes in a journal file, and
    lines replay set aside: none of them may pass as a clean audit."""
    from tui_pos.store.journal import Journal
    from tui_pos.store.verification import Problem

    found = [Problem(None, f"journal {b.file.name} line {b.line_no}: {b.reason}") for b in backlog.scan.bad]
    found += [Problem(None, f"journal {b.what}") for b in backlog.scan.breaks]
    quarantined = Journal(config.storage.journal_dirs, config.till_id, config.data_dir).quarantined()
    found += [Problem(None, f"journal {q.get('file')} line {q.get('line')} was quarantined at replay: {q.get('reason')}")
              for q in quarantined]
    return tuple(found)


@audit.command("verify")
@json_option
@click.pass_context
def audit_verify(ctx: click.Context, as_json: bool) -> None:
    """Check the chain, every record it covers, and receipt numbers for gaps. Exit 1 at the first
    broken record (edited, deleted or reordered)."""
    from tui_pos.ops.readonly import journal_backlog
    from tui_pos.store.audit import Anchor
    from tui_pos.store.verification import verify

    config = shop_config(ctx)
    with read_database(config) as conn:
        journal = journal_backlog(config, conn)
        result = verify(conn, anchor=Anchor([config.data_dir, *config.storage.journal_dirs]), pending=journal.waiting)
    waiting = len(journal.waiting)
    result = replace(result, problems=result.problems + journal_problems(config, journal))
    first = result.first_broken
    data = {"ok": result.ok, "entries": result.entries, "records_checked": result.records_checked,
            "first_broken": None if first is None else {"entry": first.seq, "what": first.what},
            "problems": [{"entry": p.seq, "what": p.what} for p in result.problems], "journal_waiting": waiting,
            "warnings": list(result.warnings)}

    def human() -> str:
        counts = f"{result.entries} entries, {result.records_checked} records checked"
        lines = [f"Audit log OK: {counts}" if result.ok else f"AUDIT LOG BROKEN ({counts})"]
        lines += [f"  {'entry ' + str(p.seq) if p.seq is not None else 'record'}: {p.what}" for p in result.problems]
        lines += [f"  warning: {w}" for w in result.warnings]
        if waiting:
            lines.append(f"{waiting} record(s) wait in the journal: they join the chain when replayed")
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
    from tui_pos.store.db import last_audit_entries

    config = shop_config(ctx)
    with read_database(config) as conn:
        entries = last_audit_entries(conn, count)
    fmt = currency_of(config).format
    rows = [entry | {"amount": None if entry["amount"] is None else fmt(entry["amount"])} for entry in entries]
    emit(as_json, rows, lambda: "\n".join(
        f"{r['seq']:>6}  {r['at']}  {r['action']:<14} {r['actor'] or '-':<10} "
        + (f"approved by {r['approved_by']}  " if r["approved_by"] else "") + f"{r['subject'] or ''}"
        + (f"  {r['amount']}" if r["amount"] is not None else "") for r in rows) or "The audit log is empty.")
