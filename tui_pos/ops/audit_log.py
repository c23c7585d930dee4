"""The audit log as support reads it (`tui-pos audit verify` and `tui-pos audit show`).

Both only read: the database is opened read-only, so they work beside a running till. The chain
is checked by store/verification.py; here it is checked together with the journal, whose lines
join the chain only when replayed.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

from tui_pos.config import Config
from tui_pos.domain.errors import N_, Said, StorageError
from tui_pos.ops.readonly import DatabaseUnavailable, journal_backlog, read_only_database
from tui_pos.store.audit import Anchor
from tui_pos.store.db import last_audit_entries
from tui_pos.store.journal import Journal, key_missing, quarantine_reason
from tui_pos.store.verification import Problem, Verification, verify
from tui_pos.store.view import Backlog


@contextmanager
def read_database(config: Config) -> Iterator[sqlite3.Connection]:
    """The database, read-only; StorageError (one line) when it cannot be opened or read."""
    try:
        with read_only_database(config) as conn:
            yield conn
    except DatabaseUnavailable as err:
        raise StorageError(N_("the database cannot be read ({state}): {error}"), state=err.state, error=str(err)) from None
    except sqlite3.Error as err:
        raise StorageError(N_("the database cannot be read: {error}"), error=str(err)) from None


@dataclass(frozen=True)
class AuditCheck:
    """The chain verified, with the journal's problems among its problems."""

    verification: Verification
    journal_waiting: int  # records in the journal, not yet in the chain (they join it when replayed)


def verify_audit(config: Config) -> AuditCheck:
    """The chain, every record it covers, receipt numbers and the anchor (store/verification.py),
    and the journal: lines that fail the journal key, holes in a file, lines replay set aside."""
    with read_database(config) as conn:
        journal = journal_backlog(config, conn)
        result = verify(conn, anchor=Anchor([config.data_dir, *config.storage.journal_dirs]), pending=journal.waiting)
    result = replace(result, problems=result.problems + journal_problems(config, journal))
    return AuditCheck(result, len(journal.waiting))


def journal_problems(config: Config, backlog: Backlog) -> tuple[Problem, ...]:
    """Journal lines that fail the journal key (edited or invented), holes in a journal file, and
    lines replay set aside: none of them may pass as a clean audit."""
    found = [Problem(None, Said(N_("journal {file} line {line}: {reason}"), file=b.file.name, line=b.line_no,
                                reason=b.reason)) for b in backlog.scan.bad]
    found += [Problem(None, Said(N_("journal {what}"), what=b.what)) for b in backlog.scan.breaks]
    if backlog.scan.unchecked:  # held, not bad: still nothing that may pass as clean
        found.append(Problem(None, key_missing(len(backlog.scan.unchecked))))
    quarantined = Journal(config.storage.journal_dirs, config.till_id, config.data_dir).quarantined()
    found += [Problem(None, Said(N_("journal {file} line {line} was quarantined at replay: {reason}"),
                                 file=q.get("file"), line=q.get("line"), reason=quarantine_reason(q)))
              for q in quarantined]
    return tuple(found)


def newest_entries(config: Config, count: int) -> list[dict[str, Any]]:
    """The newest `count` audit entries, oldest first."""
    with read_database(config) as conn:
        return last_audit_entries(conn, count)
