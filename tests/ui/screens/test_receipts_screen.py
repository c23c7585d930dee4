"""The on-screen receipt (tui_pos/ui/screens/receipts.py ReceiptScreen; issue 10 item 15): a
receipt with its QR code is taller than 24 rows, so how to close it must be seen at once, not
after scrolling to its bottom."""

from __future__ import annotations

import pytest

from conftest import COLA
from tui_pos.domain.tender import Tender

from ..test_app_snapshots import svg_text
from .test_checkout_flows import demo_shop_template, pilot, shop_dir, till_of, wait_for  # noqa: F401

pytestmark = pytest.mark.asyncio


async def test_how_to_close_a_receipt_on_screen_is_seen_without_scrolling(pilot):
    till = till_of(pilot)
    till.scan(COLA)
    paid = till.pay([Tender("cash", 350)])
    await pilot.press("ctrl+e")
    await wait_for(pilot, lambda: type(pilot.app.screen).__name__ == "UnprintedScreen")
    await pilot.press("s")
    await wait_for(pilot, lambda: type(pilot.app.screen).__name__ == "ReceiptScreen")
    shown = svg_text(pilot.app.export_screenshot())
    assert paid.sale.receipt in shown, shown  # the receipt is on screen...
    assert "Esc: close" in shown, f"the way out is below the fold:\n{shown}"  # ...and so is how to close it
    assert "Up/Down" in shown
    scroll = pilot.app.screen.query_one("#receipt-scroll")
    await pilot.press("down", "down")
    assert scroll.scroll_y > 0, "Up/Down scroll the receipt"
    await pilot.press("escape")
    await wait_for(pilot, lambda: type(pilot.app.screen).__name__ == "UnprintedScreen")
