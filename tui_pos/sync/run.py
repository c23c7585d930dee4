"""One sync step: push what the till recorded, pull what HQ changed (`tui-pos sync`, the sync worker).

The caller owns the connection (the worker keeps its own; the command opens one): sync_once only
uses it. HQ that cannot be reached raises HqUnreachable; a stream HQ holds otherwise raises
StreamConflict (an HqError); state_of() says what either means for the till's sync state.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tui_pos.domain.sync import SyncMode
from tui_pos.hq.connection import HqUnreachable
from tui_pos.sync.pull import Pulled
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
    catalog_version: int | None = None  # HQ's catalog version now applied at the till (None: no pull)
    transfers: int | None = None  # transfers open for the till's shop at HQ (None: not pulled)

    def as_dict(self) -> dict[str, Any]:
        return {"pushed": self.pushed, "pulled": self.pulled, "pending": self.pending, "high_water": self.high_water,
                "state": self.state, "breaks": self.breaks, "catalog_version": self.catalog_version,
                "transfers": self.transfers}


def sync_once(conn: psycopg.Connection[Any], view: Commits, status: Mapping[str, Any] | None = None,
              batch: int = BATCH, pull: Callable[[psycopg.Connection[Any]], Pulled] | None = None,
              transfers: Callable[[psycopg.Connection[Any]], int | None] | None = None) -> Synced:
    """Push everything pending, then pull what HQ changed (pull: a sync.pull.CatalogPull, which
    remembers the version applied; None: push only) and the transfers open for the till's shop
    (transfers: a sync.transfers.TransferPull). Raises HqUnreachable, StreamConflict, HqError
    (PullRefused: HQ's changes could not be applied at the till; what was pushed stays pushed)."""
    pushed = push_pending(conn, view, status, batch)
    pulled = pull(conn) if pull is not None else None
    open_transfers = transfers(conn) if transfers is not None else None
    return Synced(pushed.pushed, pulled.applied if pulled is not None else 0, pushed.pending, pushed.high_water,
                  "synced", pushed.breaks, pulled.version if pulled is not None else None, open_transfers)


def state_of(err: Exception) -> SyncState:
    """The sync state a failed sync_once leaves the till in: offline (HQ cannot be reached: tried
    again later), else conflict (HQ refused the stream: StreamConflict, or a till HQ does not know)."""
    return "offline" if isinstance(err, HqUnreachable) else "conflict"
