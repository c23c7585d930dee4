"""The till's clock: UTC, ISO 8601 to the millisecond (the one place that reads the time)."""

from __future__ import annotations

from datetime import datetime, timezone


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")
