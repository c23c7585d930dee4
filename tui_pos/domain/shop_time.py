"""Times as a shop writes them (issue 16): 2026-12-04 14:05, in the till's local time.

Records keep UTC ISO 8601 to the millisecond (app/clock.py); everything a cashier, a manager or a
customer reads (receipts, X/Z reports, the receipt and refund lists, held sales, status) shows
this one form: the date as 2026-12-04, the time on the 24-hour clock, to the minute.
"""

from __future__ import annotations

from datetime import datetime, tzinfo

SHOP_TIME = "%Y-%m-%d %H:%M"


def shop_time(iso: str, tz: tzinfo | None = None) -> str:
    """'2026-12-04T06:05:09.120+00:00' -> '2026-12-04 14:05' in Asia/Shanghai (tz None: the
    machine's local time). Text that is not a time comes back as it is (never an error on a receipt)."""
    try:
        moment = datetime.fromisoformat(iso)
    except (TypeError, ValueError):
        return iso
    return moment.astimezone(tz).strftime(SHOP_TIME)


def shop_clock(iso: str, tz: tzinfo | None = None) -> str:
    """The time of day alone, '14:05' (a list of today's sales)."""
    return shop_time(iso, tz)[11:] or iso
