"""What the use cases are told about storage: where a record went, and how storage is doing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

StorageMode = Literal["ok", "degraded", "failing"]
Stored = Literal["sqlite", "journal"]  # where a record was made durable
Counter = Literal["seq", "number", "z_number"]  # receipts, shifts, Z reports


@dataclass(frozen=True)
class StorageState:
    mode: StorageMode
    journal_backlog: int  # sales in the journal not yet in SQLite
    quarantined: int  # journal lines that failed their checksum, kept aside for support
    last_error: str = ""


@dataclass(frozen=True)
class ReplayResult:
    replayed: int = 0  # inserted into SQLite by this replay
    skipped: int = 0  # already in SQLite (committed before, or replayed twice)
    quarantined: int = 0  # bad lines set aside by this replay
    retired_files: int = 0
    remaining: int = 0  # still journaled after this replay
    error: str = ""
