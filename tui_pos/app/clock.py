"""The till's clock: UTC, ISO 8601 to the millisecond (the one place that reads the time)."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")
