"""A till's side of its records stream at HQ, over the till's own connection (its own role):
`push` adds commits in the till's commit order, `high_water` asks how far HQ has got.

The till (tui_pos/sync/push.py) sends its commits as envelopes (tui_pos/domain/commits.py):
`[{"commit_seq": 7, "prev_hash": "...", "hash": "...", "record": {...}}, ...]`, the record as the
till committed it (JSON objects with "uuid", "type" (none: a sale) and the till's "till_id").
HQ, not the till, keeps the high-water mark: after any failure the till asks it and sends again
from the next commit; what HQ already has is skipped. A break in the hash chain is stored, never
refused (Pushed.breaks counts them; hq verify reports them).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tui_pos.domain.commits import GENESIS
from tui_pos.domain.errors import N_
from tui_pos.hq import schema
from tui_pos.hq.connection import HqError, HqUnreachable, first_line

if TYPE_CHECKING:
    import psycopg


@dataclass(frozen=True)
class Pushed:
    high_water: int  # every commit up to this one is at HQ
    added: int  # records added by this push
    duplicates: int  # records HQ already had (not added again)
    breaks: int = 0  # commits stored whose prev_hash is not the hash of the commit before them


class SequenceGap(HqError):
    """The batch starts after a commit HQ does not have: send again from high_water + 1."""

    def __init__(self, message: str, high_water: int):
        super().__init__(message)
        self.high_water = high_water


class StreamConflict(HqError):
    """A commit number HQ holds with another record: the till's numbering is not what HQ saw."""


def envelope(commit_seq: int, record: Mapping[str, Any], prev_hash: str | None = None,
             hash_: str | None = None) -> dict[str, Any]:
    """One commit to push; without its hashes HQ stores it unchained (a chain it cannot check):
    a till pushes domain.commits.chained()'s envelopes."""
    return {"commit_seq": commit_seq, "prev_hash": prev_hash, "hash": hash_, "record": dict(record)}


def push(conn: psycopg.Connection[Any], batch: Iterable[Mapping[str, Any]],
         status: Mapping[str, Any] | None = None) -> Pushed:
    """One batch, all of it or none: Pushed, or SequenceGap / StreamConflict / HqError."""
    import psycopg
    from psycopg.types.json import Jsonb

    try:
        row = conn.execute("SELECT hq.push(%s, %s)", (Jsonb(list(batch)), None if status is None else Jsonb(dict(status)))
                           ).fetchone()
    except psycopg.Error as err:
        raise _stream_error(err) from None
    assert row is not None
    return Pushed(row[0]["high_water"], row[0]["added"], row[0]["duplicates"], row[0].get("breaks", 0))


def high_water(conn: psycopg.Connection[Any]) -> int:
    import psycopg

    try:
        row = conn.execute("SELECT hq.high_water()").fetchone()
    except psycopg.Error as err:
        raise _stream_error(err) from None
    assert row is not None
    return int(row[0])


def held_hash(conn: psycopg.Connection[Any], commit_seq: int) -> str | None:
    """The hash of the calling till's commit commit_seq as HQ holds it (GENESIS for 0; None: HQ
    holds none, or holds it without a hash). Read from the till's own rows (row-level security)."""
    import psycopg

    if commit_seq == 0:
        return GENESIS
    try:
        row = conn.execute("SELECT hash FROM hq.record WHERE commit_seq = %s UNION ALL "
                           "SELECT hash FROM hq.commit_moved WHERE commit_seq = %s LIMIT 1",
                           (commit_seq, commit_seq)).fetchone()
    except psycopg.Error as err:
        raise _stream_error(err) from None
    return None if row is None or row[0] is None else str(row[0])


def _stream_error(err: Exception) -> HqError:
    import psycopg

    state = getattr(err, "sqlstate", None)
    message = f"HQ refused the push: {first_line(err)}"
    detail = getattr(getattr(err, "diag", None), "message_detail", None)
    if state == schema.GAP:
        return SequenceGap(message, int(json.loads(detail or "{}").get("high_water", 0)))
    if state == schema.CONFLICT:
        return StreamConflict(message)
    if isinstance(err, psycopg.OperationalError):
        return HqUnreachable(N_("lost HQ during the push: {error}"), error=first_line(err))
    return HqError(message)
