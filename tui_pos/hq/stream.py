"""A till's side of its records stream at HQ, over the till's own connection (its own role):
`push` adds records in the till's commit order, `high_water` asks how far HQ has got.

The sync worker (to come) sends the records as the till's journal holds them (JSON objects with
"uuid", "type" (none: a sale) and the till's "till_id"), each with the till's commit order number:
`[{"commit_seq": 7, "record": {...}}, ...]`. HQ, not the till, keeps the high-water mark: after any
failure the till asks it and sends again from the next commit; what HQ already has is skipped.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tui_pos.hq import schema
from tui_pos.hq.connection import HqError, first_line

if TYPE_CHECKING:
    import psycopg


@dataclass(frozen=True)
class Pushed:
    high_water: int  # every commit up to this one is at HQ
    added: int  # records added by this push
    duplicates: int  # records HQ already had (not added again)


class SequenceGap(HqError):
    """The batch starts after a commit HQ does not have: send again from high_water + 1."""

    def __init__(self, message: str, high_water: int):
        super().__init__(message)
        self.high_water = high_water


class StreamConflict(HqError):
    """A commit number HQ holds with another record: the till's numbering is not what HQ saw."""


def envelope(commit_seq: int, record: Mapping[str, Any]) -> dict[str, Any]:
    return {"commit_seq": commit_seq, "record": dict(record)}


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
    return Pushed(row[0]["high_water"], row[0]["added"], row[0]["duplicates"])


def high_water(conn: psycopg.Connection[Any]) -> int:
    import psycopg

    try:
        row = conn.execute("SELECT hq.high_water()").fetchone()
    except psycopg.Error as err:
        raise _stream_error(err) from None
    assert row is not None
    return int(row[0])


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
        return HqError(f"lost HQ during the push: {first_line(err)}")
    return HqError(message)
