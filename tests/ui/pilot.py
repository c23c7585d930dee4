"""What the Pilot tests of the till's screens share: the app running on a shop at 80x24, keys
typed as a keyboard or a scanner sends them, waiting for the app (never a sleep), and reading back
what the screen says and what the till holds. The fixtures (a demo shop, the app logged in) are
tests/ui/conftest.py's."""

from __future__ import annotations

import asyncio
import html
import re
import sqlite3
import time
from collections.abc import Callable
from contextlib import asynccontextmanager
from pathlib import Path

from rich.cells import cell_len
from textual import events
from textual.keys import _character_to_key
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Static

from conftest import COLA, CONSOLE_GLYPHS, NOODLES, WATER
from payments.paying import Stepper, open_wired
from tui_pos.app.ports import CodeGateway
from tui_pos.app.till import Till
from tui_pos.bootstrap.till import open_till
from tui_pos.config import load_config
from tui_pos.ui.app import PosApp
from tui_pos.ui.screens.checkout import CheckoutScreen
from tui_pos.ui.screens.dialogs import AskScreen, ManagerScreen
from tui_pos.ui.screens.login import LoginScreen
from tui_pos.ui.screens.manager_menu import ManagerMenuScreen
from tui_pos.ui.screens.stock import ScanningScreen
from tui_pos.ui.screens.tender import TenderScreen
from tui_pos.ui.widgets.big_amount import BigAmount

OREO = "6900000000120"  # 奥利奥饼干 Oreo, 8.90
RED_BULL = "6900000000052"  # Red Bull 250ml, 6.00
BURST_CODES = [COLA, WATER, NOODLES, OREO, RED_BULL]  # what a scanner burst scans, over and over


@asynccontextmanager
async def running(shop_dir: Path, user: str | None = "demo", pin: str = "1234", till: Till | None = None,
                  then: type = CheckoutScreen):
    """The till app on shop_dir at 80x24 (till: one the test opened on it, wired its own way),
    logged in as user (None: left on the login screen), once the screen is a `then` (a dialog the
    till shows at start-up may stand over the checkout: then=Screen)."""
    till = till or open_till(load_config(shop_dir), cashier="")
    app = PosApp(till)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, lambda: isinstance(app.screen, LoginScreen))
            if user is not None:
                await log_in(pilot, user, pin)
                await wait_for(pilot, lambda: not isinstance(app.screen, LoginScreen)
                               and isinstance(app.screen, then))
            yield pilot
    finally:
        till.close()


async def wait_for(pilot: Pilot, condition: Callable[[], bool], what: str = "", timeout: float = 30.0) -> None:
    """Let the app work (threads included: PIN checks and the durable commit run off the UI thread)
    until condition() holds; what: what is waited for, said if it never comes."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting{' for ' + what if what else ''}; screen is "
                                 f"{type(pilot.app.screen).__name__}, message: {message(pilot)!r}")
        await asyncio.sleep(0.01)  # not pilot.pause(): that redraws the screen each time
    await pilot.pause()


def post_keys(app: PosApp, text: str) -> None:
    """Hand keys to the app exactly as Textual's terminal driver does (driver.process_message ->
    app._post_message), all at once, without yielding to the event loop in between. A newline
    is Enter; other characters get the key names Textual's input parser gives them."""
    driver = app._driver
    for char in text:
        if char == "\n":
            key = events.Key("enter", "\r")
        else:
            key = events.Key(char if char.isalnum() else _character_to_key(char), char)
        driver.process_message(key)


async def type_text(pilot: Pilot, text: str, *then: str) -> None:
    """Type text (any characters, CJK too) as fast as a keyboard does, let the app settle, then
    press the keys in `then` (Pilot's press() waits after every key: too slow for whole codes)."""
    post_keys(pilot.app, text)
    await settle(pilot, lambda: app_state(pilot))
    if then:
        await pilot.press(*then)


async def settle(pilot: Pilot, probe: Callable[[], object], timeout: float = 30.0) -> None:
    """Wait until the app is idle and probe() has stopped changing (a scan's durable save is I/O,
    not CPU: idle alone could be declared between two keys)."""
    deadline = time.monotonic() + timeout
    last, stable = object(), 0
    while stable < 1 and time.monotonic() < deadline:
        await pilot.pause()
        now = probe()
        stable, last = (stable + 1, last) if now == last else (0, now)


async def scanning_screen_burst(pilot: Pilot, n: int = 100) -> list[str]:
    """A scanner's burst on the scanning screen shown (stock, transfers): n codes of BURST_CODES
    posted at once, each listed, in order; the codes."""
    screen = pilot.app.screen
    assert isinstance(screen, ScanningScreen)
    codes = [BURST_CODES[(i * 3) % len(BURST_CODES)] for i in range(n)]
    post_keys(pilot.app, "".join(code + "\n" for code in codes))
    await settle(pilot, lambda: len(screen.items))
    assert screen.items == codes
    return codes


def app_state(pilot: Pilot) -> tuple:
    """What typing can change: the screen, the focus and its value, the sale, the message."""
    app, focused = pilot.app, pilot.app.focused
    cart = app.till.cart
    return (id(app.screen), id(focused), getattr(focused, "value", None), cart.uuid, cart.version, message(pilot))


async def log_in(pilot: Pilot, user: str, pin: str) -> None:
    """Fill a name + PIN form (login, unlock, manager approval) and wait for the PIN check."""
    await type_text(pilot, f"{user}\n")
    await enter_pin(pilot, pin)


async def enter_pin(pilot: Pilot, pin: str) -> None:
    await type_text(pilot, f"{pin}\n")
    await pilot.app.workers.wait_for_complete()  # never cancelled: see tests/ui/screens/test_login.py
    await pilot.pause()


async def on_screen(pilot: Pilot, screen_type: type) -> None:
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, screen_type))


async def approve(pilot: Pilot, user: str = "manager", pin: str = "9999") -> None:
    """Answer the inline manager prompt."""
    await on_screen(pilot, ManagerScreen)
    await log_in(pilot, user, pin)


async def ask(pilot: Pilot, key: str, answer: str) -> None:
    """Press the key of an action that asks for a value, and answer it."""
    await pilot.press(key)
    await on_screen(pilot, AskScreen)
    await type_text(pilot, answer, "enter")


def text_of(widget: Static) -> str:
    if isinstance(widget, BigAmount):  # large digits on screen: read what it says
        return widget.plain
    content = widget.content
    return getattr(content, "plain", str(content))


def message(pilot: Pilot) -> str:
    found = pilot.app.screen.query("#message")
    return text_of(found.first()) if found else ""


def screen_text(pilot: Pilot, selector: str) -> str:
    return text_of(pilot.app.screen.query_one(selector, Static))


def till_of(pilot: Pilot) -> Till:
    return pilot.app.till


def lines(pilot: Pilot) -> list[tuple[str, int, bool]]:
    return [(line.barcode, line.qty, line.voided) for line in till_of(pilot).cart.lines]


def total(pilot: Pilot) -> int:
    till = till_of(pilot)
    return till.cart.totals(till.config.prices_include_tax).total


async def scan(pilot: Pilot, *entries: str) -> None:
    """Scan (or type) each entry and Enter."""
    await type_text(pilot, "".join(f"{entry}\n" for entry in entries))


def stored_sales(pilot: Pilot) -> list[dict]:
    return till_of(pilot).ledger.sales(None)


async def to_payment(pilot: Pilot, *entries: str) -> None:
    """Scan the entries, then F10: on the payment screen."""
    await scan(pilot, *entries)
    await pilot.press("f10")
    await on_screen(pilot, TenderScreen)


async def paid_and_back(pilot: Pilot) -> None:
    """The tender screen committed the sale (in a thread) and the checkout shows the result."""
    await on_screen(pilot, CheckoutScreen)
    await wait_for(pilot, lambda: screen_text(pilot, "#total").startswith("CHANGE"))


def post_scans(app: PosApp, *codes: str) -> None:
    """Every code and its Enter as a keyboard-wedge scanner sends them: one burst (post_keys)."""
    post_keys(app, "".join(f"{code}\n" for code in codes))


async def unlock_as(pilot: Pilot, user: str, pin: str) -> None:
    """On the lock screen, and after a refused PIN, the PIN field has the focus and the user field
    says who locked (or who was refused): go back to it."""
    await pilot.press("shift+tab", "backspace")  # focusing selects the old name: gone
    await log_in(pilot, user, pin)


async def menu(pilot: Pilot, item: str) -> None:
    """Open the function menu (F11) and press an item's key."""
    await pilot.press("f11")
    await on_screen(pilot, ManagerMenuScreen)
    await pilot.press(item)


def rows(pilot: Pilot, query: str, *args) -> list[tuple]:
    """What the till stored, read from its database file itself (sqlite3, never the code under test)."""
    conn = sqlite3.connect(till_of(pilot).config.db_path)
    try:
        return conn.execute(query, args).fetchall()
    finally:
        conn.close()


def dialog_text(pilot: Pilot) -> str:
    """Every text widget of the screen, one a line."""
    return "\n".join(text_of(widget) for widget in pilot.app.screen.query(Static))


def shown(pilot: Pilot) -> str:
    """Exactly what the terminal shows, as text."""
    return svg_text(pilot.app.export_screenshot())


def in_dialog(pilot: Pilot) -> str:
    """The words on screen, box lines left out, as one line: a dialog wraps its long sentences."""
    return " ".join(re.sub(r"[\u2500-\u257f]", " ", shown(pilot)).split())


@asynccontextmanager
async def paying_app(shop_dir: Path, *gateways: CodeGateway, stepper: Stepper | None = None,
                     clock: Callable[[], str] | None = None):
    """The till app with these gateways (its waiting on stepper's clock), the demo cashier logged
    in (at the checkout, or at what the settling at start-up found)."""
    stepper = stepper or Stepper()
    try:
        async with running(shop_dir, till=open_wired(shop_dir, *gateways, stepper=stepper, clock=clock),
                           then=Screen) as pilot:
            yield pilot
    finally:
        stepper.release()


async def at_checkout(pilot: Pilot, user: str = "demo", pin: str = "1234") -> None:
    """Logged in from the login screen, at the checkout, the printer's state known: the print
    worker reports it from its thread (until it has, the status line says "starting")."""
    await pilot.pause()
    await pilot.press(*user, "enter", *pin, "enter")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, CheckoutScreen), "the checkout after login")
    await wait_for(pilot, lambda: pilot.app.printer_state != "starting", "the printer state")


async def rendered_text(app: PosApp, reach: Callable[[Pilot], object], size: tuple[int, int] = (80, 24)) -> str:
    """Drive the app to a screen (reach) and return exactly what the terminal shows (from the SVG)."""
    async with app.run_test(size=size) as pilot:
        await reach(pilot)
        return svg_text(app.export_screenshot())


def svg_text(svg: str) -> str:
    """The screen's characters, one line per row, placed by their x/y in an exported screenshot
    (Rich draws a cell 12.2 px wide and a row 24.4 px high; whitespace-only spans are not emitted)."""
    rows: dict[int, dict[int, str]] = {}
    for match in re.finditer(r'<text class="[^"]*" x="([\d.]+)" y="([\d.]+)"[^>]*>(.*?)</text>', svg):
        row = rows.setdefault(round((float(match.group(2)) - 20) / 24.4), {})
        column = round(float(match.group(1)) / 12.2)
        for char in html.unescape(match.group(3)):
            row[column] = char
            column += cell_len(char)
    lines = []
    for number in range(max(rows, default=-1) + 1):
        cells = rows.get(number, {})
        line, column = "", 0
        while column <= max(cells, default=-1):
            char = cells.get(column, " ")
            line += char
            column += cell_len(char) or 1
        lines.append(line.replace("\xa0", " ").rstrip())
    return "\n".join(lines)


def assert_console_glyphs_only(text: str, screen: str) -> None:
    """Every character on screen is one the console's fonts have (an allow-list: CJK names and
    the fullwidth ￥ fail it as much as half blocks do)."""
    assert "STORAGE OK" in text or "Log in" in text, f"{screen}: the screenshot text was not read:\n{text}"
    found = sorted({char for char in text if char != "\n" and char not in CONSOLE_GLYPHS})
    assert not found, f"{screen}: glyphs the Linux console lacks: {found}\n{text}"
