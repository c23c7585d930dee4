"""Times as Chinese shops write them (issue 16): 2026-12-04 14:05, local time, to the minute."""

from __future__ import annotations

from datetime import timedelta, timezone

from tui_pos.domain.shop_time import shop_clock, shop_time

SHANGHAI = timezone(timedelta(hours=8))


def test_a_stored_utc_time_is_shown_in_local_time_to_the_minute():
    assert shop_time("2026-12-04T06:05:59.999+00:00", SHANGHAI) == "2026-12-04 14:05"
    assert shop_time("2026-12-04T16:30:00.000+00:00", SHANGHAI) == "2026-12-05 00:30"  # the local date
    assert shop_clock("2026-12-04T06:05:00.000+00:00", SHANGHAI) == "14:05"


def test_text_that_is_not_a_time_is_shown_as_it_is():
    assert shop_time("?", SHANGHAI) == "?" and shop_time("", SHANGHAI) == "" and shop_clock("", SHANGHAI) == ""
