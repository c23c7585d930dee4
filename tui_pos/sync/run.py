"""One sync step: push what the till recorded, pull what HQ changed (`tui-pos sync`, the sync worker).

The caller owns the connection (the worker keeps its own; the command opens one): sync_once only
uses it. HQ that cannot be reached raises HqUnreachable; a stream HQ holds otherwise raises
StreamConflict (an HqError); state_of() says what either means for the till's sync state.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tui_pos.domain.sync import SyncMode
from tui_pos.hq.connection import HqUnreachable
from tui_pos.sync.push import BATCH, Commits, push_pending

if TYPE_CHECKING:
    import psycopg

SyncState = SyncMode  # the domain's (tui_pos/domain/sync.py): synced, offline, conflict, off


@dataclass(frozen=True)
class Synced:
    pushed: int  # commits HQ added
    pulled: int  # changes applied from HQ
    pending: int | None  # commits HQ still lacks (None: unknown, the database cannot be read)
    high_water: int  # HQ has every commit up to this one
    state: SyncState
    breaks: int = 0  # commits HQ stored that break the chain it holds

    def as_dict(self) -> dict[str, Any]:
        return {"pushed": self.pushed, "pulled": self.pulled, "pending": self.pending, "high_water": self.high_water,
                "state": self.state, "breaks": self.breaks}


def sync_once(conn: psycopg.Connection[Any], view: Commits, status: Mapping[str, Any] | None = None,
              batch: int = BATCH) -> Synced:
    """Push everything pending, then pull (B: once pull exists). Raises HqUnreachable, StreamConflict, HqError."""
    pushed = push_pending(conn, view, status, batch)
    return Synced(pushed.pushed, 0, pushed.pending, pushed.high_water, "synced", pushed.breaks)


def state_of(err: Exception) -> SyncState:
    """The sync state a failed sync_once leaves the till in: offline (HQ cannot be reached: tried
    again later), else conflict (HQ refused the stream: StreamConflict, or a till HQ does not know)."""
    return "offline" if isinstance(err, HqUnreachable) else "conflict"
