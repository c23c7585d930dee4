"""The audit log: one hash chain over everything that happened at the till.

Each entry carries the hash of the entry before it, and its own hash covers its position (seq)
and every field, so editing, deleting or reordering entries breaks the chain. An entry for a
stored record (a sale, a refund, a shift, a Z report...) also carries a digest of the rows the
record was stored as, so editing the sale itself is detected too. Entries are appended inside
the transaction that stores their record; journaled records get theirs when replay stores them,
in replay order, so the chain stays one unbroken line.

What a chain inside the database cannot show on its own is the loss of its newest entries
together with their records, or a chain rewritten from an edit onwards. So it is anchored outside
the database: the anchor document (anchor.json in the data directory and in every journal
directory) holds the head (seq and hash, seq being its monotonic count) and the highest receipt,
shift and Z numbers used; every Z report carries (and prints) the head when it was taken. verify()
checks the chain against both, and receipt numbers for gaps. The tables that decide money and
rights besides the records (users and roles, products: prices and stock) are covered by
``table_state`` entries: the digest of the table after each change made through tui-pos (stock
counted as stock + quantity sold, which sales do not change).
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tui_pos.domain.errors import N_, Each, Said, kept_sentence, sentence_data
from tui_pos.domain.records import AuditEvent, UserChanged
from tui_pos.store import codec
from tui_pos.store.documents import SLOTS, DurableDocument

GENESIS = "0" * 64
ANCHOR_DOCUMENT = "anchor.json"
COVERED_TABLES = ("user", "product")  # besides the records: who may do what, prices and stock
RECORD_TABLES = {"sale": "sale", "shift_open": "shift", "cash_movement": "cash_movement", "shift_close": "z_report",
                 "stock_move": "stock_move", "payment_attempt": "payment_attempt", "payment_outcome": "payment_outcome"}
RECORD_ACTIONS = codec.RECORD_ACTIONS  # an entry's action -> the type of the record it covers
# The entries indexed by uuid (idx_audit_event_uuid): events, and the records of types added after
# the index was made (stock movements), whose uuid is unique in the log too. The list is the
# index's own condition, and never changes: SQLite uses a partial index only for this very term.
_INDEXED_EXCEPT = ("sale", "refund", "void", "shift_open", "paid_in", "paid_out", "z_report")
EVENTS_ONLY = f"action NOT IN ({', '.join(repr(a) for a in _INDEXED_EXCEPT)})"
COLUMNS = ("seq", "uuid", "at", "till_id", "action", "actor", "approved_by", "subject", "amount", "detail")
_INSERT = (f"INSERT INTO audit ({', '.join(COLUMNS)}, prev_hash, hash) "
           f"VALUES ({', '.join('?' * len(COLUMNS))}, ?, ?)")


def create_table(db: Any) -> None:
    """db is a sqlite_utils.Database (only the schema code imports sqlite-utils)."""
    db["audit"].create(
        {"seq": int, **{c: str for c in COLUMNS if c not in ("seq", "amount")}, "amount": int,
         "prev_hash": str, "hash": str},
        pk="seq", not_null=["uuid", "at", "action", "prev_hash", "hash"], if_not_exists=True,
    )
    # Events are only in the audit log: their uuids are indexed here (replay skips what exists).
    # A stored record's uuid is the key of its own table already; indexing it twice would cost
    # every sale one more page written.
    db.execute(f"CREATE UNIQUE INDEX IF NOT EXISTS idx_audit_event_uuid ON audit (uuid) WHERE {EVENTS_ONLY}")


def _canonical(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def digest(rows: Sequence[Sequence[Any]]) -> str:
    """Of the rows a record was stored as (codec.sale_rows / codec.stored_rows)."""
    return hashlib.sha256(_canonical(rows).encode()).hexdigest()


def entry_hash(prev_hash: str, values: Sequence[Any]) -> str:
    return hashlib.sha256((prev_hash + _canonical(list(values))).encode()).hexdigest()


def entries_for(record: dict[str, Any], rows: Sequence[Sequence[Any]]) -> list[dict[str, Any]]:
    """The audit entries for one record: an event is its own entry; any other record gets one
    entry with the digest of the rows it was stored as."""
    kind = record.get("type", "sale")
    if kind == "event":
        return [{c: record.get(c) for c in COLUMNS if c != "seq"} | {"detail": _canonical(record.get("detail") or {})}]
    if kind == "user_change":  # the entry people changes always had; never the PIN hash
        change = UserChanged.from_record(record)
        return [{"uuid": change.uuid, "at": change.at, "till_id": change.till_id, "action": change.action,
                 "actor": change.actor, "approved_by": change.approved_by, "subject": change.name, "amount": None,
                 "detail": _canonical(change.audit_detail())}]
    detail: dict[str, Any] = {"digest": digest(rows)}
    if kind == "sale":
        sale_kind = record.get("kind", "sale")
        entry = {"action": sale_kind, "at": record["completed_at"], "actor": record["cashier"],
                 "subject": record["receipt"], "amount": record["total"],
                 "approved_by": record.get("approved_by")}
        if record.get("original_uuid"):
            detail["original"] = record["original_uuid"]
        if record.get("shift_uuid"):
            detail["shift"] = record["shift_uuid"]
    elif kind == "shift_open":
        entry = {"action": "shift_open", "at": record["opened_at"], "actor": record["opened_by"],
                 "subject": f"shift {record['number']}", "amount": record["float"], "approved_by": None}
    elif kind == "cash_movement":
        entry = {"action": record["kind"], "at": record["at"], "actor": record["user"],
                 "subject": record["reason"], "amount": record["amount"], "approved_by": record.get("approved_by")}
        detail["shift"] = record["shift_uuid"]
    elif kind == "shift_close":
        entry = {"action": "z_report", "at": record["closed_at"], "actor": record["closed_by"],
                 "subject": f"Z {record['z_number']}", "amount": record["counted"],
                 "approved_by": record.get("approved_by")}
        detail |= {"shift": record["shift_uuid"], "expected": record["expected"], "difference": record["difference"]}
    elif kind == "stock_move":
        entry = {"action": f"stock_{record['kind']}", "at": record["at"], "actor": record["actor"],
                 "subject": record["barcode"], "amount": record["unit_cost"], "approved_by": record.get("approved_by")}
        detail |= {"qty": record["qty"]}
    elif kind == "payment_attempt":  # before the gateway is called: the trade it asks for
        entry = {"action": "payment_attempt", "at": record["at"], "actor": record["cashier"],
                 "subject": record["out_refund_no"] or record["out_trade_no"], "amount": record["amount"],
                 "approved_by": None}
        detail |= {"sale": record["sale_uuid"], "kind": record["kind"], "provider": record["provider"]}
    elif kind == "payment_outcome":  # what the provider said became of it
        entry = {"action": "payment_outcome", "at": record["at"], "actor": None, "subject": record["attempt_uuid"],
                 "amount": record["amount"], "approved_by": None}
        detail |= {"state": record["state"]}
    else:
        raise KeyError(f"unknown record type {kind!r}")
    return [entry | {"uuid": record["uuid"], "till_id": record["till_id"], "detail": _canonical(detail)}]


def event_record(till_id: str, action: str, actor: str | None, *, subject: str | None = None,
                 amount: int | None = None, approved_by: str | None = None,
                 detail: dict[str, Any] | None = None, at: str | None = None) -> dict[str, Any]:
    """A record that is only an audit entry (a login, a failed login, a no-sale, an approval, a
    replay, a configuration change), as its dict (domain.records.AuditEvent, dated now unless at
    is given): committed through the ledger like any other record."""
    return AuditEvent.new(till_id, action, actor, at=at or datetime.now(UTC).isoformat(timespec="milliseconds"),
                          subject=subject, amount=amount, approved_by=approved_by, detail=detail).to_record()


def head(conn: sqlite3.Connection) -> tuple[int, str]:
    """(seq, hash) of the newest entry; (0, GENESIS) for an empty log."""
    row = conn.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    return (row[0], row[1]) if row else (0, GENESIS)


def append(conn: sqlite3.Connection, entries: Iterable[dict[str, Any]],
           at_head: tuple[int, str] | None = None) -> tuple[int, str]:
    """Chain entries onto the head (at_head: the head as the caller already knows it, inside the
    same transaction); return the new head. The caller holds the write transaction."""
    seq, prev = at_head or head(conn)
    for entry in entries:
        seq += 1
        values = [seq] + [entry.get(c) for c in COLUMNS[1:]]
        digest_ = entry_hash(prev, values)
        conn.execute(_INSERT, values + [prev, digest_])
        prev = digest_
    return seq, prev


def backfill(conn: sqlite3.Connection, stored: Iterable[tuple[dict[str, Any], Sequence[Sequence[Any]]]]) -> None:
    """Chain the sales of a database made before the audit log existed (schema 1), each with the
    rows it is stored as."""
    for record, rows in stored:
        append(conn, entries_for(record, rows))


def table_state(table: str, rows: Sequence[Sequence[Any]]) -> list[dict[str, Any]]:
    """The entry that covers a table (db.covered_rows) after a change made through tui-pos."""
    return entries_for(event_record(None, "table_state", "system", subject=table,  # type: ignore[arg-type]
                                    detail={"digest": digest(rows)}), [])


# -- the anchor outside the database -------------------------------------------------------------------
UNKNOWN_COMMIT = "unknown"  # the anchor's commit hash when a COMMIT's outcome was unknown: matches no HQ hash


def merge_anchors(copies: Iterable[Any]) -> dict[str, Any]:
    """One anchor from every copy found: the newest head (highest epoch, then seq), the highest
    number of each counter, every note. Writers never wait for each other; a copy that lags is
    harmless (the merge takes the newest), and no copy can be ahead of the database."""
    merged: dict[str, Any] = {"epoch": 0, "seq": 0, "hash": GENESIS, "numbers": {}, "notes": []}
    seen = set()
    for copy in copies:
        if not isinstance(copy, dict):
            continue
        try:
            if (int(copy.get("epoch", 0)), int(copy.get("seq", 0))) > (merged["epoch"], merged["seq"]):
                merged["epoch"], merged["seq"], merged["hash"] = int(copy.get("epoch", 0)), int(copy["seq"]), str(copy["hash"])
            commit = copy.get("commit")
            if isinstance(commit, list) and len(commit) == 3 and (
                    "commit" not in merged or (int(copy.get("epoch", 0)), int(commit[0]), commit[1] != UNKNOWN_COMMIT)
                    > merged["commit_at"]):
                merged["commit"], merged["commit_at"] = commit, (int(copy.get("epoch", 0)), int(commit[0]), commit[1] != UNKNOWN_COMMIT)
            for key, value in (copy.get("numbers") or {}).items():
                merged["numbers"][key] = max(merged["numbers"].get(key, 0), int(value))
        except (KeyError, TypeError, ValueError):
            continue
        for note in copy.get("notes") or []:
            if isinstance(note, dict) and _canonical(note) not in seen:
                seen.add(_canonical(note))
                merged["notes"].append(note)
    merged["notes"].sort(key=lambda n: str(n.get("at", "")))
    merged.pop("commit_at", None)
    return merged


class Anchor:
    """The anchor document. Advanced after every commit with one unsynced write to the data
    directory (no fsync per sale: the page cache shows it to every process at once; a power cut
    can lose the last seconds of it, which the till notes at its next start), and written durably
    to every directory at start, replay, close and restore. A process keeps what it last read or
    wrote and reads the copies again only when another process wrote the data directory's copy
    since (two stat calls), or for a durable write."""

    def __init__(self, dirs: Sequence[Any]):
        self.document = DurableDocument(ANCHOR_DOCUMENT, dirs)
        self._slot_paths = [os.fspath(Path(dirs[0]) / f"{ANCHOR_DOCUMENT}.{slot}") for slot in SLOTS]
        self._known: dict[str, Any] | None = None
        self._seen: tuple[tuple[int, int], ...] | None = None  # the data directory's slots as last written or read

    def read(self) -> dict[str, Any] | None:
        """The merged anchor, or None when there is no copy anywhere."""
        copies = self.document.copies()
        return merge_anchors(copies) if copies else None

    def settled(self, head: tuple[int, str], numbers: dict[str, int]) -> bool:
        """Every directory's newest copy already holds this head and these numbers: the last writer
        wrote it durably everywhere (a commit's unsynced write reaches the data directory only), so
        a start that found nothing amiss has nothing to write."""
        for copy in self.document.newest_in_each():
            if not isinstance(copy, dict) or (copy.get("seq"), copy.get("hash")) != tuple(head) \
                    or any((copy.get("numbers") or {}).get(k, 0) < v for k, v in numbers.items()):
                return False
        return True

    def _slots(self) -> tuple[tuple[int, int], ...]:
        found = []
        for path in self._slot_paths:
            try:
                st = os.stat(path)
                found.append((st.st_mtime_ns, st.st_size))
            except OSError:
                found.append((0, 0))
        return tuple(found)

    def advance(self, head: tuple[int, str] | None, numbers: dict[str, int] | None = None, *,
                note: dict[str, Any] | None = None, reset: bool = False, sync: bool = False,
                commit: list[Any] | None = None) -> dict[str, Any]:
        """Move the head forward (reset: to this head even if lower, in a new epoch: after a
        recorded break or a forced rollback), raise numbers, add a note; commit: the last SQLite
        commit [number, hash, uuid] (commit_log.last), read before this write (a durable write
        only raises it, unless reset). Raises OSError or
        DocumentFailed when no directory took it."""
        fresh = sync or note is not None or reset or self._known is None or self._slots() != self._seen
        known = self._known if not fresh and self._known is not None else merge_anchors(self.document.copies())
        anchor = {**known, "numbers": dict(known["numbers"]), "notes": list(known["notes"])}
        if head is not None and (reset or head[0] >= anchor["seq"]):
            anchor["epoch"] += 1 if reset else 0
            anchor["seq"], anchor["hash"] = head
        if commit is not None and (reset or int(commit[0]) >= int((anchor.get("commit") or [0])[0])):
            anchor["commit"] = list(commit)
        for key, value in (numbers or {}).items():
            anchor["numbers"][key] = max(anchor["numbers"].get(key, 0), value)
        if note is not None:
            anchor["notes"].append(note)
        self._known = None  # until the write is done
        self.document.save(anchor, everywhere=sync, sync=sync)
        self._known, self._seen = anchor, self._slots()
        return anchor


def anchor_findings(conn: sqlite3.Connection, anchor: dict[str, Any],
                    reread: Callable[[], dict[str, Any] | None] | None = None) -> list[tuple[str, str]]:
    """(kind, what) for each way the chain differs from its anchor: "cut" (entries the anchor
    saw are gone), "rewritten" (the anchored entry is another one now), "unanchored" (entries
    written after the anchor last moved: by a process that died first, lost in a power cut, or
    added behind the till's back).

    The anchor is read before the head, and a writer moves the anchor only after its COMMIT, so
    the anchor can never look ahead of a sound chain. It can lag by one commit being anchored at
    this moment by another process: reread() is then asked a few times (about half a second)."""
    head_seq, _ = head(conn)
    unanchored = head_seq > anchor["seq"]
    for _ in range(5 if unanchored and reread is not None else 0):
        time.sleep(0.1)
        fresh = reread() if reread is not None else None
        if fresh is not None and fresh["seq"] >= head_seq:
            unanchored = False
            break
    found: list[tuple[str, str]] = []
    if anchor["seq"] > head_seq:
        found.append(("cut", Said(N_("the chain ends at entry {head}, but entry {anchored} was anchored: the newest {n} "
                                     "entries were deleted"), head=head_seq, anchored=anchor["seq"],
                                  n=anchor["seq"] - head_seq)))
    elif anchor["seq"] > 0:
        row = conn.execute("SELECT hash FROM audit WHERE seq = ?", (anchor["seq"],)).fetchone()
        if row is None or row[0] != anchor["hash"]:
            found.append(("rewritten", Said(N_("entry {seq} is not the one anchored: the chain was rewritten"),
                                            seq=anchor["seq"])))
    if unanchored:
        found.append(("unanchored", Said(N_("entries {first}-{last} were written after the anchor last moved"),
                                         first=anchor["seq"] + 1, last=head_seq)))
    return found


def anchor_missing() -> tuple[str, str]:
    """The finding of a chain whose anchor is gone while the database says it had one."""
    return "missing", Said(N_("the anchor ({anchor}) was deleted"), anchor=ANCHOR_DOCUMENT)


# -- the anchor's notes: kept for good, read back by audit verify in the reader's language ---------------

def note(at: str, kind: str, what: str, problem: bool, **more: Any) -> dict[str, Any]:
    """A note for the anchor (Anchor.advance(note=...)): what it says as its English ("what", as every
    version reads it) and, when it is a Said or an Each, as that sentence itself ("said"), so that
    note_what says it in the language of whoever reads it, years later."""
    kept = {"said": sentence_data(what)} if isinstance(what, Said | Each) else {}
    return {"at": at, "kind": kind, "what": str(what), "problem": problem, **more, **kept}


def note_what(anchored: dict[str, Any]) -> str:
    """What a note says: the sentence it keeps (said in the screen's language by i18n.message) when that
    says exactly what its English says, else its English as it is (an older note, or one edited)."""
    return kept_sentence(anchored.get("said"), str(anchored.get("what", "")))
