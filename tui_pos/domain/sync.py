"""What the till knows of its HQ sync (issue 13): a value the sync worker keeps, hq/sync-state.json
holds, and the status line and `tui-pos status` show (in their words: the UI translates). Pure:
no clock read here (now is given)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Literal

SyncMode = Literal["synced", "offline", "conflict", "off"]
SYNC_MODES: tuple[SyncMode, ...] = ("synced", "offline", "conflict", "off")


@dataclass(frozen=True)
class SyncState:
    """synced: the last sync reached HQ; offline: HQ cannot be reached (the worker retries, backing
    off); conflict: HQ answered but refused (a person must act: last_error says what); off: this
    till has not joined an HQ."""

    state: SyncMode = "off"
    pending: int = 0  # records committed at the till and not yet at HQ (as of the last look)
    last_sync: str | None = None  # when HQ last took a sync (ISO, the till's clock); None: never
    last_error: str = ""
    high_water: int = 0  # HQ has every commit up to this one
    catalog_version: int = 0  # the chain catalog's version last applied (the pull)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SyncState:
        """Whatever a state file holds, made safe: unknown keys dropped, bad values defaulted."""
        state = data.get("state")
        last_sync = data.get("last_sync")
        return cls(state=state if state in SYNC_MODES else "offline",
                   pending=_count(data.get("pending")),
                   last_sync=last_sync if isinstance(last_sync, str) and last_sync else None,
                   last_error=str(data.get("last_error") or "")[:500],
                   high_water=_count(data.get("high_water")), catalog_version=_count(data.get("catalog_version")))


def waiting(last_commit: int | None, high_water: int) -> int | None:
    """The records HQ has not got: the till's commits after HQ's high-water mark; None when the
    till cannot say (its database unreadable). The one count of them: push, the worker, status."""
    return None if last_commit is None else max(last_commit - high_water, 0)


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


AgeUnit = Literal["s", "min", "h", "d"]


def age(seconds: float) -> tuple[int, AgeUnit]:
    """How long ago, in the unit that fits: (12, "s"), (5, "min"), (3, "h"), (2, "d")."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return seconds, "s"
    if seconds < 3600:
        return seconds // 60, "min"
    if seconds < 2 * 86400:
        return seconds // 3600, "h"
    return seconds // 86400, "d"


def seconds_since(at: str | None, now: str) -> float | None:
    if not at:
        return None
    try:
        return (datetime.fromisoformat(now) - datetime.fromisoformat(at)).total_seconds()
    except ValueError:
        return None
