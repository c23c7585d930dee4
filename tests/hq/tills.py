"""A real till's records as it would push them, for the HQ query tests: every record stored in its
SQLite, in the order its audit chain took them (the order its commit log numbers them), pushed to
HQ through hq.push under the till's own role."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from hq_cluster import enrol
from tui_pos.domain.commits import chained
from tui_pos.domain.records import USER_ACTIONS
from tui_pos.hq.connection import connect
from tui_pos.hq.stream import push
from tui_pos.store import codec


def stored_records(data_dir: Path) -> list[dict[str, Any]]:
    """Every record in the till's database, in audit-chain order (each once): the order its commit
    log numbers them."""
    conn = sqlite3.connect(f"{(data_dir / 'pos.sqlite3').as_uri()}?mode=ro", uri=True)
    try:
        seen: set[str] = set()
        records = []
        for uuid, action in conn.execute("SELECT uuid, action FROM audit WHERE action NOT IN ('table_state', "
                                         "'anchor_mismatch', 'replay', 'journal_rejected', 'config_change') "
                                         "ORDER BY seq"):  # entries the store makes by itself: no records
            if uuid in seen:
                continue
            kind = codec.RECORD_ACTIONS.get(action, "user_change" if action in USER_ACTIONS else "event")
            record = codec.load_record(conn, kind, uuid)
            if record is not None:
                seen.add(uuid)
                records.append(record)
        return records
    finally:
        conn.close()


def push_till(admin_dsn: str, data_dir: Path, shop: str = "S1", records: list[dict[str, Any]] | None = None) -> int:
    """Enrol the till in data_dir and push its records, chained (as sync pushes its commit order:
    stored_records() unless given); how many."""
    records = stored_records(data_dir) if records is None else records
    with connect(enrol(admin_dsn, data_dir, shop)) as conn:
        push(conn, list(chained(records)))
    return len(records)
