"""A real till's commits as it pushes them, for the HQ query tests: every record its SQLite holds,
numbered and hash-chained in its commit log (store/commit_log.py), pushed to HQ through hq.push
under the till's own role; and hand-made records (a sale, an event) for the stream's own tests."""

from __future__ import annotations

import sqlite3
import uuid
from contextlib import closing
from pathlib import Path
from typing import Any

from hq_cluster import enrol
from tui_pos.domain.commits import chained
from tui_pos.hq.connection import connect
from tui_pos.hq.stream import push
from tui_pos.store import commit_log


def commits(data_dir: Path) -> list[dict[str, Any]]:
    """The till's commit log: its envelopes in commit order."""
    with closing(sqlite3.connect(f"{(data_dir / 'pos.sqlite3').as_uri()}?mode=ro", uri=True)) as conn:
        return commit_log.after(conn, 0, 10**9)


def stored_records(data_dir: Path) -> list[dict[str, Any]]:
    """Every record the till committed, in its commit order."""
    return [envelope["record"] for envelope in commits(data_dir)]


def push_till(admin_dsn: str, data_dir: Path, shop: str = "S1", records: list[dict[str, Any]] | None = None) -> int:
    """Enrol the till in data_dir and push its commits (records given: those, numbered and chained
    from the first commit on); how many."""
    envelopes = commits(data_dir) if records is None else list(chained(records))
    with connect(enrol(admin_dsn, data_dir, shop)) as conn:
        push(conn, envelopes)
    return len(envelopes)


def sale(seq: int, till: str = "T1", at: str = "2026-12-04T10:00:00.000+00:00", typed: bool = True) -> dict:
    """A sale as the till's journal holds it (journal lines before schema 2 have no "type")."""
    record = {"uuid": str(uuid.uuid4()), "till_id": till, "seq": seq, "receipt": f"{till}-{seq:06d}",
              "completed_at": at, "total": 350, "lines": [{"code": "6900000000014", "qty": 1}]}
    return {"type": "sale", **record} if typed else record


def event(till: str = "T1") -> dict:
    return {"type": "event", "uuid": str(uuid.uuid4()), "till_id": till, "at": "2026-12-04T10:05:00.000+00:00",
            "action": "login", "actor": "demo"}
