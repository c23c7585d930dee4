"""Snapshot tests of the till at 80x24, in the default and the console theme (Textual is pinned).

Every snapshot starts from a fresh demo shop in tmp_path (receipts start at T1-000001) with the
status line's clock frozen, so the screens are byte-for-byte repeatable. Update them with
`pytest tests/ui/test_app_snapshots.py --snapshot-update` and look at the SVGs before committing.

Beside the snapshots, plain assertions: the checkout's figures (computed by hand) and its CJK
column alignment, a cart longer than the screen, and that the console theme draws nothing the
Linux console's fonts lack (issue 3, "Terminal reality").
"""

from __future__ import annotations

import asyncio
import re

import pytest
from rich.cells import cell_len

from conftest import COLA, NOODLES
from tui_pos.ui.screens.dialogs import AskScreen, ManagerScreen
from tui_pos.ui.screens.pickers import HelpScreen, LookupScreen
from tui_pos.ui.screens.tender import TenderScreen
from tui_pos.ui.widgets.big_amount import BigAmount

from .pilot import RED_BULL, assert_console_glyphs_only, at_checkout, post_scans, rendered_text, svg_text, wait_for

SIZE = (80, 24)
THEMES = ["default", "console"]

# COLA: 可口可乐 330ml, 3.50; NOODLES: 康师傅红烧牛肉面, 4.50 (from conftest)
ERGUOTOU = "6900000000434"  # 二锅头 Erguotou 500ml, 16.00
ZHONGHUA = "6900000000410"  # 中华 Zhonghua, 45.00


async def sale_with_lines(pilot) -> None:
    """Five lines (four with Chinese names), 2x cola, a voided line, 10% off the noodles."""
    await at_checkout(pilot)
    post_scans(pilot.app, f"2*{COLA}", NOODLES, RED_BULL, ERGUOTOU, ZHONGHUA)
    till = pilot.app.till
    await wait_for(pilot, lambda: len(till.cart.lines) == 5, "five cart lines")
    await pilot.press("up", "f4")  # void line 4 (二锅头)
    await pilot.press("up", "up", "f5")  # discount on line 2 (康师傅红烧牛肉面)
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, AskScreen), "the discount prompt")
    await pilot.press(*"10%", "enter")
    await wait_for(pilot, lambda: till.cart.lines[1].discount is not None, "the line discount")


async def partial_card_payment(pilot) -> None:
    """Total 62.05 (see sale_with_lines); 20.00 taken by card with reference AUTH77."""
    await sale_with_lines(pilot)
    await pilot.press("f10")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, TenderScreen), "the tender screen")
    await pilot.press("2", "0", "f3")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, AskScreen), "the card reference prompt")
    await pilot.press(*"AUTH77", "enter")
    await wait_for(pilot, lambda: len(pilot.app.till.cart.tenders) == 1, "the card tender")


async def help_screen(pilot) -> None:
    await sale_with_lines(pilot)
    await pilot.press("f1")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, HelpScreen), "the help screen")


async def login_screen(pilot) -> None:
    await pilot.pause()


async def long_cart(pilot) -> None:
    """More lines than fit, so the cart's scrollbar is drawn."""
    await at_checkout(pilot)
    post_scans(pilot.app, *[COLA] * 25)
    await wait_for(pilot, lambda: len(pilot.app.till.cart.lines) == 25, "25 cart lines")


async def lookup_dialog(pilot) -> None:
    """Incremental search: an Input and an OptionList (both bordered in the console theme)."""
    await at_checkout(pilot)
    await pilot.press("f2")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, LookupScreen), "the lookup dialog")
    await pilot.press("b")  # matches more products than the list shows: it scrolls
    await wait_for(pilot, lambda: pilot.app.screen.query_one("OptionList").option_count > 0, "results")
    await wait_for(pilot, lambda: pilot.app.screen.stock_of is pilot.app.screen.found, "stock on hand")


async def manager_dialog(pilot) -> None:
    """A discount over the cashier's limit asks for a manager inline (two Inputs in a dialog)."""
    await at_checkout(pilot)
    post_scans(pilot.app, ZHONGHUA)
    await wait_for(pilot, lambda: len(pilot.app.till.cart.lines) == 1, "one cart line")
    await pilot.press("f5")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, AskScreen), "the discount prompt")
    await pilot.press(*"50%", "enter")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, ManagerScreen), "manager approval")


SCREENS = {
    "login": login_screen,
    "checkout": sale_with_lines,
    "tender_after_card": partial_card_payment,
    "help": help_screen,
}


# -- snapshots --------------------------------------------------------------------------------
@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("screen", list(SCREENS))
def test_snapshot(snap_compare, make_app, screen: str, theme: str) -> None:
    """The four main screens at 80x24 look as reviewed, in both themes; in the console theme the
    screen is also checked, independently of the snapshot, for glyphs the Linux console lacks."""
    shown: list[str] = []

    async def reach_and_read(pilot) -> None:
        await SCREENS[screen](pilot)
        shown.append(svg_text(pilot.app.export_screenshot()))

    assert snap_compare(make_app(theme), terminal_size=SIZE, run_before=reach_and_read)
    if theme == "console":
        assert_console_glyphs_only(shown[0], screen)


async def pinyin_lookup(pilot) -> None:
    """The look-up with pinyin initials typed (kl: 可乐 names first, then names with kl further in)."""
    await at_checkout(pilot)
    await pilot.press("f2")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, LookupScreen), "the lookup dialog")
    await pilot.press("k", "l")
    await wait_for(pilot, lambda: pilot.app.screen.query_one("OptionList").option_count > 0, "results")
    await wait_for(pilot, lambda: pilot.app.screen.stock_of is pilot.app.screen.found, "stock on hand")


CHINESE_SCREENS = {**SCREENS, "lookup_pinyin": pinyin_lookup}


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("screen", list(CHINESE_SCREENS))
def test_snapshot_in_chinese(snap_compare, make_app, screen: str, theme: str) -> None:
    """Issue 16: the same four screens and the look-up by pinyin with [ui] language = "zh_CN", at 80x24. In the default
    theme every label is Chinese, two columns a character, and nothing is cut or pushed out of
    line; in the console theme (the kernel's console, which has no CJK glyph) the Chinese words
    are spelled in pinyin, each character in its own two columns, so the layout does not move."""
    shown: list[str] = []

    async def reach_and_read(pilot) -> None:
        await CHINESE_SCREENS[screen](pilot)
        shown.append(svg_text(pilot.app.export_screenshot()))

    assert snap_compare(make_app(theme, "zh_CN"), terminal_size=SIZE, run_before=reach_and_read)
    if theme == "console":
        assert_console_glyphs_only(shown[0], screen)
    else:
        assert re.search(r"[\u4e00-\u9fff]", shown[0]), shown[0]


def test_the_chinese_checkout_keeps_its_columns(make_app) -> None:
    """Issue 16: 数量 单价 金额 are four columns each, 作废 too: the header's words and every row's
    figures still end in the same columns (Python's :>5 would count two and push them right)."""
    text = asyncio.run(rendered_text(make_app("default", "zh_CN"), sale_with_lines))
    lines = text.splitlines()
    header = next(line for line in lines if "数量" in line and "金额" in line)
    rows = [line for line in lines if re.match(r"\s+[1-5] ", line)]

    def last_columns(line: str) -> list[tuple[str, int]]:  # (word, cell column where it ends)
        return [(m.group(), cell_len(line[:m.end()])) for m in re.finditer(r"\S+", line)][-3:]

    assert [word for word, _ in last_columns(header)] == ["数量", "单价", "金额"], header
    header_ends = [end for _, end in last_columns(header)]
    expected = [("2", "3.50", "7.00"), ("1", "4.50", "4.05"), ("1", "6.00", "6.00"),
                ("1", "16.00", "作废"), ("1", "45.00", "45.00")]
    assert len(rows) == 5
    for row, values in zip(rows, expected):
        assert last_columns(row) == list(zip(values, header_ends)), f"{row}\n{text}"
    # the key bar wraps by columns: every line starts with a key, no key is parted from its word
    keys = lines[next(n for n, line in enumerate(lines) if line.startswith(">")) + 1:]
    assert len(keys) == 2 and all(re.match(r"(F\d+|\^[A-Z]) \S", line) for line in keys), text


def test_checkout_shows_hand_computed_figures_in_aligned_columns(make_app) -> None:
    """The checkout snapshot is right, not merely unchanged. Figures computed by hand:
    2 x 3.50 = 7.00; 4.50 - 10% = 4.05 (discount 0.45); 6.00; 16.00 voided; 45.00 -> total 62.05.
    Tax included, rounded once per line (README): 7.00*13/113 = 0.805 -> 0.81; 4.05*9/109 = 0.334 -> 0.33;
    6.00*13/113 = 0.690 -> 0.69; 45.00*13/113 = 5.177 -> 5.18; sum 7.01.
    Chinese names are two cells wide: Qty/Price/Total must still end in the header's columns."""
    shown: list[str] = []

    async def reach(pilot) -> None:
        await sale_with_lines(pilot)
        shown.append(pilot.app.screen.query_one(BigAmount).plain)  # drawn in large digits on screen

    text = asyncio.run(rendered_text(make_app("default"), reach))
    assert shown == ["TOTAL ￥62.05"] and "TOTAL ￥" in text
    assert "Discount 0.45" in text and "Tax 7.01" in text
    lines = text.splitlines()
    header = next(line for line in lines if "Qty" in line and "Total" in line)
    rows = [line for line in lines if re.match(r"\s+[1-5] ", line)]
    assert len(rows) == 5 and sum(bool(re.search(r"[\u4e00-\u9fff]", row)) for row in rows) == 4

    def last_columns(line: str) -> list[tuple[str, int]]:  # (word, cell column where it ends)
        return [(m.group(), cell_len(line[:m.end()])) for m in re.finditer(r"\S+", line)][-3:]

    header_ends = [end for _, end in last_columns(header)]
    assert [word for word, _ in last_columns(header)] == ["Qty", "Price", "Total"]
    expected = [("2", "3.50", "7.00"), ("1", "4.50", "4.05"), ("1", "6.00", "6.00"),
                ("1", "16.00", "VOID"), ("1", "45.00", "45.00")]
    for row, values in zip(rows, expected):
        assert last_columns(row) == list(zip(values, header_ends)), row


async def chinese_lookup(pilot) -> None:
    """Chinese names and prices with the currency symbol, in a list."""
    await at_checkout(pilot)
    await pilot.press("f2")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, LookupScreen), "the lookup dialog")
    pilot.app.screen.query_one("Input").value = "啤酒"
    await wait_for(pilot, lambda: pilot.app.screen.query_one("OptionList").option_count == 2, "two beers")
    await wait_for(pilot, lambda: pilot.app.screen.stock_of is pilot.app.screen.found, "stock on hand")


async def receipt_on_screen(pilot) -> None:
    """A receipt (Chinese name, the printer's ￥, its QR code) handed over on screen."""
    await at_checkout(pilot)
    from tui_pos.domain.tender import Tender

    pilot.app.till.scan(COLA)
    pilot.app.till.pay([Tender("cash", 350)])
    await pilot.press("ctrl+e")
    await wait_for(pilot, lambda: type(pilot.app.screen).__name__ == "UnprintedScreen", "the receipts list")
    await pilot.press("s")
    await wait_for(pilot, lambda: type(pilot.app.screen).__name__ == "ReceiptScreen", "the receipt")


async def open_price_prompt(pilot) -> None:
    """A dialog whose question carries a Chinese product name."""
    await at_checkout(pilot)
    post_scans(pilot.app, "6900000000595")  # 散装称重 Weighed goods, open price
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, AskScreen), "the price prompt")


async def after_a_scan(pilot) -> None:
    """The message line names the Chinese product just scanned."""
    await at_checkout(pilot)
    post_scans(pilot.app, NOODLES)
    await wait_for(pilot, lambda: len(pilot.app.till.cart.lines) == 1, "one cart line")


# -- the console theme draws nothing the console's fonts lack -----------------------------------
MORE_SCREENS = {"long_cart": long_cart, "lookup": lookup_dialog, "manager": manager_dialog,
                "chinese_lookup": chinese_lookup, "receipt": receipt_on_screen, "open_price": open_price_prompt,
                "scan_message": after_a_scan, "tender": partial_card_payment}


@pytest.mark.parametrize("screen", list(MORE_SCREENS))
def test_console_theme_uses_only_glyphs_the_console_has(make_app, screen: str) -> None:
    """TERM=linux fonts lack half/eighth blocks, 'tall' borders and rounded corners: the screens
    with scrollbars and Input/OptionList borders (the snapshot screens are checked above)."""
    assert_console_glyphs_only(asyncio.run(rendered_text(make_app("console"), MORE_SCREENS[screen])), screen)


def test_the_console_shows_chinese_names_in_pinyin_and_the_yen_it_has(make_app) -> None:
    """The kernel console cannot draw CJK at all: the console theme shows a Chinese name in pinyin
    (可口可乐 330ml as KeKouKeLe 330ml), keeps what the console has (Café Crème), and shows the
    currency as ¥ (U+00A5); the default theme shows the names and ￥ as they are."""
    async def reach(pilot) -> None:
        await sale_with_lines(pilot)
        post_scans(pilot.app, "6900000000090")  # Café Crème latte, 12.00
        await wait_for(pilot, lambda: len(pilot.app.till.cart.lines) == 6, "six cart lines")

    console = asyncio.run(rendered_text(make_app("console"), reach))
    assert "KeKouKeLe 330ml" in console and "Café Crème latte" in console, console
    assert "TOTAL ¥74.05" in console and "￥" not in console, console
    default = asyncio.run(rendered_text(make_app("default"), reach))
    assert "可口可乐 330ml" in default and "KeKouKeLe" not in default and "TOTAL ￥" in default


def test_the_glyph_check_can_fail(make_app) -> None:
    """The same check on the default theme finds the 'tall' Input borders (▊▔▁▎), so the console
    checks do not pass merely because the screenshot text was misread."""
    text = asyncio.run(rendered_text(make_app("default"), lookup_dialog))
    with pytest.raises(AssertionError, match="glyphs the Linux console lacks"):
        assert_console_glyphs_only(text, "lookup in the default theme")


def test_a_cart_longer_than_the_screen_shows_whole_totals_and_the_newest_line(make_app) -> None:
    """25 lines at 80x24: the cart scrolls. Every visible row must still end with its whole line
    total (3.50, not a total cut by the scrollbar) and the line just scanned (25) must be visible."""
    text = asyncio.run(rendered_text(make_app("default"), long_cart))
    lines = text.splitlines()
    first = next(n for n, line in enumerate(lines) if "Qty" in line and "Total" in line) + 1
    last = next(n for n, line in enumerate(lines) if line.startswith("─"))
    rows = [re.sub(r"[\u2580-\u259f]+$", "", line) for line in lines[first:last]]  # less the scrollbar
    rows = [row for row in rows if row.strip()]
    assert re.fullmatch(r"\s+▲ \d+ more", rows.pop(0)), f"no sign of the rows above:\n{text}"
    assert rows and all("可口可乐 330ml" in row for row in rows), text
    assert [row.split()[0] for row in rows][-1] == "25", f"the newest line is not on screen:\n{text}"
    for row in rows:
        assert row.split()[-3:] == ["1", "3.50", "3.50"], f"cut row {row!r}:\n{text}"


def test_login_box_is_centred_and_its_key_bar_at_the_bottom(make_app) -> None:
    """pos.tcss centres the login box (align: center middle) and every screen keeps its keys on the
    bottom row; the 60-wide box belongs at column (80 - 60) / 2 = 10, the key bar on row 24."""
    lines = asyncio.run(rendered_text(make_app("default"), login_screen)).splitlines()
    assert len(lines) == SIZE[1] and lines[-1].startswith("^C Quit"), "\n".join(lines)
    top = next(line for line in lines if "┌" in line)
    assert cell_len(top[:top.index("┌")]) == (SIZE[0] - 60) // 2, "\n".join(lines)
