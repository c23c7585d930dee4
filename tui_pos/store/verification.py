"""`audit verify`: the audit chain checked against what is stored and against its anchor.

Reading the chain back needs the row layout of every record (db), and db appends to the chain
(audit), so the check lives here, above both: audit.py writes the chain, this reads it back.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tui_pos.domain.errors import N_, Said
from tui_pos.store import audit, codec, commit_log, db, stock_level
from tui_pos.store.audit import Anchor

# the event that ends a database rebuilt from HQ's records (Ledger.rebuild): the chain before it is
# a new one over the same records, so a Z taken before it names a head of the old box's chain
REBUILT = "restored_from_hq"


@dataclass(frozen=True)
class Problem:
    seq: int | None  # the first audit entry concerned (None: a record with no entry at all)
    what: str


@dataclass(frozen=True)
class Verification:
    entries: int
    records_checked: int
    problems: tuple[Problem, ...]
    warnings: tuple[str, ...] = ()  # known and recorded, not broken: entries found unanchored, forced rollbacks

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first_broken(self) -> Problem | None:
        return self.problems[0] if self.problems else None


def verify(conn: sqlite3.Connection, max_problems: int = 20, anchor: Anchor | None = None,
           pending: Sequence[dict[str, Any]] = ()) -> Verification:
    """Walk the chain; recompute every hash and every stored record's digest; check that every
    stored record has its entry and its commit (the commit order: commit_log.problems), that
    receipt numbers have no gaps, that the covered tables are
    as their last table_state entry says, that each product's kept stock level is what its
    records add up to, and that every Z report's head is in the chain.
    anchor: the anchor to check the chain's head and the numbers used against (None: not
    checked). pending: records waiting in the journal."""
    problems: list[Problem] = []
    warnings: list[str] = []
    states: dict[str, str | None] = {}
    z_heads, z_entries, rebuilt = {}, {}, 0
    for uuid, report in conn.execute("SELECT uuid, report FROM z_report"):
        try:
            report = json.loads(report)
            if report.get("audit_head"):
                z_heads[report["audit_head"]] = (report.get("z_number"), uuid)
        except (ValueError, AttributeError):
            pass  # the Z's own digest says it was edited
    prev, expected_seq, entries, checked = audit.GENESIS, 1, 0, 0
    for row in conn.execute(f"SELECT {', '.join(audit.COLUMNS)}, prev_hash, hash FROM audit ORDER BY seq"):
        entries += 1
        values, prev_hash, stored_hash = list(row[:len(audit.COLUMNS)]), row[-2], row[-1]
        seq = values[0]
        z_heads.pop(stored_hash, None)
        if values[4] == "z_report":
            z_entries[values[1]] = seq
        elif values[4] == REBUILT:
            rebuilt = seq
        if values[4] == "table_state":
            try:
                states[values[7]] = json.loads(values[9]).get("digest")
            except (ValueError, AttributeError):
                states[values[7]] = None
        if seq != expected_seq:
            missing = f"{expected_seq}{'-' + str(seq - 1) if seq - 1 > expected_seq else ''}"
            problems.append(Problem(seq, Said(N_("entry {entries} is missing (deleted)"), entries=missing)))
        elif prev_hash != prev:
            problems.append(Problem(seq, Said(N_("does not follow the entry before it (entries deleted or reordered)"))))
        elif audit.entry_hash(prev_hash, values) != stored_hash:
            problems.append(Problem(seq, Said(N_("entry {seq} ({action} {subject}) was modified"), seq=seq,
                                              action=values[4], subject=values[7] or "")))
        kind = audit.RECORD_ACTIONS.get(values[4])
        if kind is not None:
            checked += 1
            try:
                wanted = json.loads(values[9] or "{}").get("digest")
            except (ValueError, AttributeError):
                wanted = None  # the detail itself was mangled: the entry's hash says so already
            if audit.digest(codec.stored_rows(conn, kind, values[1])) != wanted or (  # and who approved a reversal
                    values[4] in ("refund", "void") and not codec.approval_matches(conn, values[1], values[6])):
                problems.append(Problem(seq, Said(N_("the {action} {subject} it records was modified or deleted"),
                                                  action=values[4], subject=values[7] or values[1])))
        prev, expected_seq = stored_hash, seq + 1
        if len(problems) >= max_problems:
            break
    for table in audit.RECORD_TABLES.values():
        for (uuid,) in conn.execute(f"SELECT uuid FROM {table} EXCEPT SELECT uuid FROM audit LIMIT ?", (max_problems,)):
            problems.append(Problem(None, Said(N_("{table} {uuid} has no audit entry (its entry was deleted)"),
                                               table=table, uuid=uuid)))
    for till_id, seq, gap_to in conn.execute(
            "SELECT till_id, seq, next FROM (SELECT till_id, seq, LEAD(seq) OVER (PARTITION BY till_id ORDER BY seq) "
            "AS next FROM sale) WHERE next > seq + 1 UNION ALL "  # receipts start at 1: a missing first one is a gap too
            "SELECT till_id, 0, MIN(seq) FROM sale GROUP BY till_id HAVING MIN(seq) > 1 LIMIT ?", (max_problems,)):
        problems.append(Problem(None, Said(N_("receipts {till} {first}-{last} are missing (deleted sales?)"),
                                           till=till_id, first=seq + 1, last=gap_to - 1)))
    for table in audit.COVERED_TABLES:
        rows = db.covered_rows(conn, table)
        if table not in states:
            if rows:
                problems.append(Problem(None, Said(N_("the {table} table has no table_state entry: its rows are not "
                                                      "covered"), table=table)))
        elif audit.digest(rows) != states[table]:
            problems.append(Problem(None, Said(N_("the {table} table was changed outside tui-pos (it differs from its "
                                                  "last table_state entry)"), table=table)))
    for barcode in stock_level.drifted(conn, max_problems):
        problems.append(Problem(None, Said(N_("stock on hand of {barcode} is not what its records add up to (the "
                                              "stock_level table was changed outside tui-pos)"), barcode=barcode)))
    for head_hash, (z_number, z_uuid) in z_heads.items():
        if z_entries.get(z_uuid, rebuilt) < rebuilt:
            warnings.append(Said(N_("Z {z} was taken at audit head {head} of the chain on the till's old box, before "
                                    "this database was rebuilt from HQ"), z=z_number, head=head_hash[:16]))
            continue
        problems.append(Problem(None, Said(N_("Z {z} was taken at audit head {head}, which is not in the chain (the "
                                              "chain was rewritten)"), z=z_number, head=head_hash[:16])))
    problems += [Problem(None, what) for what in commit_log.problems(conn, max_problems)]
    if anchor is not None:
        anchor_found, anchor_warnings = check_anchor(conn, anchor, pending)
        problems += anchor_found
        warnings += anchor_warnings
    return Verification(entries, checked, tuple(problems), tuple(warnings))


def check_anchor(conn: sqlite3.Connection, source: Anchor,
                 pending: Sequence[dict[str, Any]] = ()) -> tuple[list[Problem], list[str]]:
    """Problems and warnings of the chain and the numbers used against the anchor (and its notes)."""
    anchor = source.read()
    if not anchor:
        return ([Problem(None, Said(N_("there is no anchor ({anchor}): the chain's newest entries cannot be checked "
                                       "(deleted?)"), anchor=audit.ANCHOR_DOCUMENT))] if audit.head(conn)[0] else []), []
    problems: list[Problem] = []
    warnings: list[str] = []
    for note in anchor.get("notes", []):
        text = Said(N_("{at} {what}"), at=str(note.get("at", ""))[:19], what=audit.note_what(note))
        if note.get("problem"):
            problems.append(Problem(None, Said(N_("recorded at start: {what}"), what=text)))
        else:
            warnings.append(text)
    for _kind, what in audit.anchor_findings(conn, anchor, source.read):
        problems.append(Problem(None, what))
    used = db.number_floors(conn, with_floors=False)
    for record in pending:
        for key, value in codec.record_numbers(record).items():
            used[key] = max(used.get(key, 0), value)
    forced = [n for n in anchor.get("notes", []) if n.get("kind") == "rollback"]
    for key, anchored in sorted(anchor.get("numbers", {}).items()):
        if used.get(key, 0) >= anchored:
            continue
        _, till_id, column = key.split(":", 2)
        template = {"seq": N_("receipts {till} {first}-{last} were used but are missing (the newest deleted?)"),
                    "number": N_("shifts {till} {first}-{last} were used but are missing (the newest deleted?)"),
                    "z_number": N_("Z reports {till} {first}-{last} were used but are missing (the newest deleted?)")
                    }.get(column, N_("{column} {till} {first}-{last} were used but are missing (the newest deleted?)"))
        text = Said(template, column=column, till=till_id, first=used.get(key, 0) + 1, last=anchored)
        if any(n.get("numbers", {}).get(key, 0) >= anchored for n in forced):
            warnings.append(Said(N_("{what}: rolled back by a forced restore"), what=text))
        else:
            problems.append(Problem(None, text))
    return problems, warnings
