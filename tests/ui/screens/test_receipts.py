"""Receipts when there is no printer (issue 10 items 6-9 and 14): the receipt of the sale just
paid is one key away on the change screen, the Ctrl+E list starts at the newest, any receipt by
number is shown on screen, the status line's count follows every change, and the QR code drawn
on screen is read by a real QR decoder (zbar) from the screen's cells, in both themes at 80x24.

The demo shop has no printer (connection "none"). Sales are paid through the checkout (scan,
F10, Enter: exact cash), or through the Till API for the ones that stand for an earlier shift.
"""

from __future__ import annotations

import asyncio
import io

import pytest
from rich.console import Console
from textual.widgets import OptionList, Static

from conftest import COLA, NOODLES, WATER, run_cli, set_config
from screen_qr import need_zbar, screen_image, zbar_decode
from tui_pos.domain.tender import Tender
from tui_pos.ui.screens.checkout import CheckoutScreen
from tui_pos.ui.screens.dialogs import AskScreen
from tui_pos.ui.screens.receipts import ReceiptScreen, UnprintedScreen
from tui_pos.ui.screens.tender import TenderScreen
from tui_pos.ui.widgets.status_bar import StatusBar

from ..pilot import on_screen, paid_and_back, running, scan, svg_text, text_of, till_of, type_text, wait_for

pytestmark = pytest.mark.asyncio
WAIT_S = 30  # the print worker counts in its own thread: a generous deadline, never a sleep


async def sell_at_till(pilot, code: str) -> str:
    """Scan one item, pay exact cash at the tender screen; the receipt number of the sale."""
    till = till_of(pilot)
    await scan(pilot, code)
    await pilot.press("f10")
    await on_screen(pilot, TenderScreen)
    await pilot.press("enter")
    await paid_and_back(pilot)
    return till.ledger.sales(None)[-1]["receipt"]


def status_line(pilot) -> str:
    """The checkout's status line (under any dialog) as drawn."""
    checkout = next(s for s in pilot.app.screen_stack if isinstance(s, CheckoutScreen))
    return text_of(checkout.query_one(StatusBar))


def shown_receipt(pilot) -> str:
    assert isinstance(pilot.app.screen, ReceiptScreen), type(pilot.app.screen).__name__
    return "\n".join(text_of(w) for w in pilot.app.screen.query(Static))


def unprinted_message(pilot) -> str:
    return text_of(pilot.app.screen.query_one("#unprinted-message", Static))


async def by_number(pilot, number: str, answer: bool = True) -> str:
    """Ctrl+E's "any receipt by number" (N); with answer, wait for what the list says about it."""
    await pilot.press("n")
    await on_screen(pilot, AskScreen)
    await type_text(pilot, number, "enter")
    if answer:
        await wait_for(pilot, lambda: unprinted_message(pilot).startswith(f"{number}: "), timeout=WAIT_S)
        return unprinted_message(pilot)
    return ""


# -- item 9 / 14: one count, refreshed when it changes -----------------------------------------------
async def test_the_status_line_count_follows_a_receipt_handed_over(shop_dir, monkeypatch):
    """Three sales without a printer: '3 unprinted' on the status line; one marked handed over in
    Ctrl+E: the status line (in view under the dialog, and after it) says 2 at once, as
    `receipts --unprinted` does; it said 3 until the next sale. No health check comes in between
    (they are an hour apart here): the change itself refreshes the count."""
    import tui_pos.ui.app as app_module

    monkeypatch.setattr(app_module, "HEALTH_FIRST_S", 3600)
    monkeypatch.setattr(app_module, "HEALTH_EVERY_S", 3600)
    async with running(shop_dir) as pilot:
        for code in (COLA, WATER, NOODLES):
            await sell_at_till(pilot, code)
        await wait_for(pilot, lambda: "3 unprinted" in status_line(pilot), timeout=WAIT_S)
        await pilot.press("ctrl+e")
        await on_screen(pilot, UnprintedScreen)
        await pilot.press("c")
        await wait_for(pilot, lambda: "marked as handed over" in unprinted_message(pilot))
        await wait_for(pilot, lambda: "2 unprinted" in status_line(pilot), timeout=WAIT_S)
        await pilot.press("escape")
        await on_screen(pilot, CheckoutScreen)
        assert "2 unprinted" in status_line(pilot)
        assert len(pilot.app.print_queue.unprinted()) == 2


async def test_a_change_made_outside_the_till_reaches_the_status_line(shop_dir, monkeypatch):
    """A receipt confirmed from the CLI (support over SSH) while the till runs: the status line
    follows at the next health check, not only at the next sale."""
    import tui_pos.ui.app as app_module

    monkeypatch.setattr(app_module, "HEALTH_FIRST_S", 0.2)
    monkeypatch.setattr(app_module, "HEALTH_EVERY_S", 0.5)
    async with running(shop_dir) as pilot:
        first = await sell_at_till(pilot, COLA)
        await sell_at_till(pilot, WATER)
        await wait_for(pilot, lambda: "2 unprinted" in status_line(pilot), timeout=WAIT_S)
        await asyncio.to_thread(run_cli, shop_dir, "receipts", "confirm", first)  # the till keeps running
        await wait_for(pilot, lambda: "1 unprinted" in status_line(pilot), timeout=WAIT_S)


# -- item 6: the receipt the cashier wants ---------------------------------------------------------
async def test_the_change_screen_shows_this_sales_receipt_and_the_list_starts_at_the_newest(pilot):
    """Last shift's T1-000001 is the oldest unprinted sale; after a new sale the change screen
    offers its receipt on one key, and Ctrl+E's selection starts on the newest sale."""
    till = till_of(pilot)
    till.scan(COLA)
    oldest = till.pay([Tender("cash", 350)]).sale.receipt
    newest = await sell_at_till(pilot, NOODLES)
    assert oldest != newest
    key = pilot.app.key_of("last_receipt")
    assert key and key in text_of(pilot.app.screen.query_one("#message", Static))  # offered on the change screen
    await pilot.press("ctrl+y")
    await on_screen(pilot, ReceiptScreen)
    assert newest in shown_receipt(pilot) and oldest not in shown_receipt(pilot)
    await pilot.press("escape")
    await on_screen(pilot, CheckoutScreen)

    await pilot.press("ctrl+e")
    await on_screen(pilot, UnprintedScreen)
    listing = pilot.app.screen.query_one(OptionList)
    assert listing.get_option_at_index(listing.highlighted).id == newest
    await pilot.press("s")
    await on_screen(pilot, ReceiptScreen)
    assert newest in shown_receipt(pilot)


# -- item 8: any receipt by number, on screen when there is no printer -------------------------------
async def test_any_receipt_by_number_is_shown_on_screen_without_a_printer(pilot):
    till = till_of(pilot)
    till.scan(COLA)
    first = till.pay([Tender("cash", 350)]).sale.receipt
    till.scan(WATER)
    till.pay([Tender("cash", 200)])
    await pilot.press("ctrl+e")
    await on_screen(pilot, UnprintedScreen)
    assert (await by_number(pilot, "T1-999999")) == "T1-999999: no sale with receipt number T1-999999"
    assert isinstance(pilot.app.screen, UnprintedScreen)
    await by_number(pilot, first.lower(), answer=False)  # typed in lower case, or scanned from its QR code: the same
    await on_screen(pilot, ReceiptScreen)
    assert first in shown_receipt(pilot)
    assert "not printed" not in shown_receipt(pilot)


async def test_with_a_printer_any_receipt_by_number_is_printed_as_a_copy(shop_dir, tmp_path):
    """Issue 4, kept: with a printer, a receipt number (or its scanned QR code) prints a COPY; a
    number that names no sale is refused as such. The printer is a file (the device node of a
    printer with no status line): what it was sent is read back."""
    paper = tmp_path / "printer.bin"
    paper.touch()
    set_config(shop_dir, "printer", "connection", f'"file:{paper}"')
    async with running(shop_dir) as pilot:
        till = till_of(pilot)
        till.scan(COLA)
        sale = till.pay([Tender("cash", 350)]).sale
        await pilot.press("ctrl+e")
        await on_screen(pilot, UnprintedScreen)
        assert (await by_number(pilot, "T1-999999")) == "T1-999999: not printed - no sale with receipt number T1-999999"
        assert (await by_number(pilot, sale.receipt)) == f"{sale.receipt}: printed (COPY)."
        assert b"COPY" in paper.read_bytes() and sale.receipt.encode() in paper.read_bytes()


# -- item 7: a QR code that a real decoder reads from the screen ------------------------------------
def screen_ansi(app) -> list[str]:
    """What the terminal is sent for the whole screen, as one line of text with SGR colours a row."""
    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), force_terminal=True,
                      color_system="truecolor", record=True, legacy_windows=False, safe_box=False)
    console.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
    return console.export_text(styles=True).split("\n")[:height]


@pytest.mark.parametrize("theme", ["default", "console"])
async def test_the_qr_code_on_screen_is_read_by_zbar_at_80x24(shop_dir, tmp_path, theme):
    """The receipt's QR code fits the 80x24 screen (no wrapped rows, no scrolling) in both themes
    and zbar reads from the screen's cells what identifies the sale: its receipt number (which the
    refund screen takes) and its uuid."""
    need_zbar()
    set_config(shop_dir, "ui", "theme", f'"{theme}"')
    async with running(shop_dir) as pilot:
        assert pilot.app.console_theme == (theme == "console")
        till = till_of(pilot)
        till.scan(COLA)
        sale = till.pay([Tender("cash", 350)]).sale
        await pilot.press("ctrl+e")
        await on_screen(pilot, UnprintedScreen)
        await pilot.press("s")
        await on_screen(pilot, ReceiptScreen)
        await pilot.pause()
        assert pilot.app.size == (80, 24)
        decoded = zbar_decode(screen_image(screen_ansi(pilot.app), tmp_path / f"screen-{theme}.png"))
        assert decoded, f"zbar found no QR code on the screen ({tmp_path / f'screen-{theme}.png'})"
        [payload] = decoded
        assert payload.split()[0] == sale.receipt
        assert sale.uuid.upper() in payload.upper()
        assert till.find_refundable(payload).receipt == sale.receipt  # what scanning it at a refund does


# -- the receipt screen's close key (was tests/ui/screens/test_receipts_screen.py) -----------------
# The on-screen receipt (tui_pos/ui/screens/receipts.py ReceiptScreen; issue 10 item 15): a
# receipt with its QR code is taller than 24 rows, so how to close it must be seen at once, not
# after scrolling to its bottom.

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
