"""Pilot tests for the shift and manager screens of issue 5, at 80x24, on a fresh demo shop on disk:
open a shift with a float, paid-in and paid-out (a manager over the limit), the X report, the Z
report with the drawer counted by note and as a total, a stored Z shown again, held sales
deleted by a manager, and the function menu. Plus snapshots of the Z count screen in both themes.

What the till stored is read back from the database file itself (sqlite3 here, never the code
under test); figures are worked out by hand from the demo prices: COLA 3.50, WATER 2.00,
NOODLES 4.50 (tax A 13 % on COLA and WATER, B 9 % on NOODLES, prices include tax); the test shop's
shift opens with a float of 100.00.
"""

from __future__ import annotations

import asyncio
import re
import shutil
from pathlib import Path

import pytest

from conftest import COLA, NOODLES, WATER, set_config
from printing.escpos_decode import decode
from tui_pos.bootstrap.shop import init_shop
from tui_pos.domain.tender import Tender
from tui_pos.ui.screens.checkout import CheckoutScreen
from tui_pos.ui.screens.dialogs import AskScreen, ConfirmScreen, ManagerScreen
from tui_pos.ui.screens.login import LoginScreen
from tui_pos.ui.screens.manager_menu import ManagerMenuScreen
from tui_pos.ui.screens.pickers import HeldScreen
from tui_pos.ui.screens.shift import CloseShiftScreen, OpenShiftScreen, ReportScreen
from tui_pos.ui.screens.tender import TenderScreen

from ..pilot import (
    approve,
    assert_console_glyphs_only,
    in_dialog,
    log_in,
    menu,
    message,
    on_screen,
    paid_and_back,
    rendered_text,
    rows,
    running,
    scan,
    shown,
    svg_text,
    till_of,
    type_text,
    unlock_as,
    wait_for,
)


# -- helpers ------------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def no_shift_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("no-shift") / "shop"
    init_shop(data_dir, demo=True)  # no shift_float: nothing is open
    return data_dir


@pytest.fixture
def no_shift_dir(no_shift_template: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(no_shift_template, tmp_path / "shop"))


async def answer(pilot, text: str) -> None:
    await on_screen(pilot, AskScreen)
    await type_text(pilot, text, "enter")


async def settled_message(pilot, starts: str) -> str:
    await wait_for(pilot, lambda: message(pilot).startswith(starts))
    return message(pilot)


def sell(pilot, items: dict[str, int], tenders: list[Tender]):
    """A sale through the Till API of the running app (the checkout flows are tested elsewhere)."""
    till = till_of(pilot)
    for code, qty in items.items():
        till.scan(code, qty)
    return till.pay(tenders).sale


# -- opening a shift ------------------------------------------------------------------------------------
@pytest.mark.asyncio
async def test_a_cashier_without_an_open_shift_counts_the_float_first(no_shift_dir):
    """Login with no open shift goes to "open shift"; Esc leaves it, but paying sends the cashier
    back there; the float is stored with the shift and the sale belongs to that shift."""
    async with running(no_shift_dir, user=None) as pilot:
        await log_in(pilot, "demo", "1234")
        await on_screen(pilot, OpenShiftScreen)
        assert "No shift is open on till T1." in shown(pilot)
        await type_text(pilot, "", "enter")
        assert message(pilot) == "Type the float's total first (0 for an empty drawer)."
        await pilot.press("escape")
        await on_screen(pilot, CheckoutScreen)
        await scan(pilot, COLA)
        await pilot.press("f10")
        await on_screen(pilot, OpenShiftScreen)
        await type_text(pilot, "150.5", "enter")
        await on_screen(pilot, CheckoutScreen)
        assert message(pilot) == "Shift 1 open, float ￥150.50. Ready to sell."
        assert rows(pilot, "SELECT number, float, opened_by FROM shift") == [(1, 15050, "demo")]
        await pilot.press("f10")
        await on_screen(pilot, TenderScreen)
        await pilot.press("enter")
        await paid_and_back(pilot)
        assert rows(pilot, "SELECT s.receipt, s.total FROM sale s JOIN shift h ON h.uuid = s.shift_uuid") == [
            ("T1-000001", 350)]


@pytest.mark.asyncio
async def test_a_second_shift_cannot_be_opened_over_an_open_one(pilot):
    await pilot.app.push_screen(OpenShiftScreen())
    await type_text(pilot, "50", "enter")
    assert await settled_message(pilot, "shift 1 is already open") == \
        "shift 1 is already open: close it (Z report) first"
    assert rows(pilot, "SELECT number FROM shift") == [(1,)]


# -- paid in, paid out ------------------------------------------------------------------------------
@pytest.mark.asyncio
async def test_paid_in_and_out_with_a_reason_and_a_manager_over_the_limit(pilot):
    """[till] paid_out_limit is 100.00: a paid-out of 150.00 asks a manager inline, and the cashier's
    own PIN does not count as one."""
    await menu(pilot, "3")
    await answer(pilot, "200")
    await answer(pilot, "change for the float")
    said = await settled_message(pilot, "Paid in")
    assert said.startswith("Paid in ￥200.00 recorded (change for the float). Drawer not opened")

    await pilot.press("4")
    await answer(pilot, "30")
    await answer(pilot, "window cleaner")
    assert (await settled_message(pilot, "Paid out")).startswith("Paid out ￥30.00 recorded (window cleaner).")

    await pilot.press("4")
    await answer(pilot, "150")
    await answer(pilot, "supplier")
    await on_screen(pilot, ManagerScreen)
    assert "a paid-out over 100 needs a manager" in in_dialog(pilot)
    await log_in(pilot, "demo", "1234")
    assert pilot.app.screen.query_one("#manager-message").content == "demo is not a manager"
    await unlock_as(pilot, "manager", "9999")  # the PIN field kept the focus: back to the name
    assert (await settled_message(pilot, "Paid out ￥150")).startswith("Paid out ￥150.00 recorded (supplier).")
    assert rows(pilot, "SELECT kind, amount, reason, user, approved_by FROM cash_movement ORDER BY at") == [
        ("paid_in", 20000, "change for the float", "demo", None),
        ("paid_out", 3000, "window cleaner", "demo", None),
        ("paid_out", 15000, "supplier", "demo", "manager"),
    ]


@pytest.mark.asyncio
async def test_a_paid_out_without_a_reason_is_refused(pilot):
    await menu(pilot, "4")
    await answer(pilot, "5")
    await answer(pilot, "")
    assert await settled_message(pilot, "a paid-out") == "a paid-out needs a reason"
    assert rows(pilot, "SELECT count(*) FROM cash_movement") == [(0,)]


# -- X report -------------------------------------------------------------------------------------------
@pytest.mark.asyncio
async def test_the_x_report_shows_the_shift_so_far(pilot):
    """Sale 1: 3 COLA + NOODLES = 15.00, card 5.00 + cash 20.00, change 10.00. Sale 2: WATER 2.00
    cash. Refund of 1 COLA of sale 1, in cash: 3.50. Paid in 10.00, paid out 3.00.
    Cash taken 20.00 - 10.00 + 2.00 = 12.00, paid back 3.50: cash 8.50; card 5.00.
    Expected: 100.00 + 12.00 - 3.50 + 10.00 - 3.00 = 115.50. Net sales 17.00 - 3.50 = 13.50.
    Tax A: COLA 10.50 -> 1.21, WATER 2.00 -> 0.23, less a third of 1.21 (0.40) -> 1.04 on 7.96;
    B: NOODLES 4.50 -> 0.37 on 4.13."""
    till = till_of(pilot)
    first = sell(pilot, {COLA: 3, NOODLES: 1}, [Tender("card", 500, "C1"), Tender("cash", 2000)])
    sell(pilot, {WATER: 1}, [Tender("cash", 200)])
    till.refund(first.receipt, {1: 1}, "Damaged", till.approve("manager", "9999", "refund"), all_cash=True)
    till.cash_movement("paid_in", 1000, "float top-up")
    till.cash_movement("paid_out", 300, "window cleaner")

    await menu(pilot, "1")
    await on_screen(pilot, ReportScreen)
    text = shown(pilot)
    for figure in [r"X REPORT", r"Till T1\s+Shift 1", r"Sales\s+2\s+17\.00", r"Refunds\s+1\s+-3\.50",
                   r"NET SALES\s+￥13\.50", r"Cash\s+8\.50", r"taken\s+12\.00", r"paid back\s+-3\.50",
                   r"Card\s+5\.00", r"A 13% on 7\.96\s+1\.04", r"B 9% on 4\.13\s+0\.37", r"Float\s+100\.00",
                   r"Paid in\s+10\.00", r"Paid out\s+-3\.00", r"EXPECTED\s+￥115\.50",
                   r"Receipts\s+T1-000001 - T1-000003"]:
        assert re.search(figure, text), f"{figure!r} not on the X report:\n{text}"
    assert "COUNTED" not in text and till.shift is not None, "an X report closes nothing"
    await pilot.press("escape")
    await on_screen(pilot, ManagerMenuScreen)


# -- Z report ---------------------------------------------------------------------------------------------
@pytest.fixture
def printing_shop(shop_dir: Path, tmp_path: Path) -> tuple[Path, Path]:
    out = tmp_path / "printer.bin"
    set_config(shop_dir, "printer", "connection", f'"file:{out}"')
    return shop_dir, out


@pytest.mark.asyncio
async def test_z_counted_by_note_shows_over_or_short_closes_prints_and_signs_out(printing_shop):
    """Sale: WATER 2.00 cash; expected 102.00. Counted 1 x 100 + 1 x 1 + 1 x 0.50 = 101.50: short
    0.50, within the 10.00 limit, so no manager. The count is blind (the expected cash appears
    only when the cashier confirms). Then the Z report is shown and printed, the till goes back to
    the login, and the next login opens shift 2."""
    shop, out = printing_shop
    set_config(shop, "backup", "every_hours", "0")  # no timed backups: the one after the Z is the only one
    async with running(shop) as pilot:
        sell(pilot, {WATER: 1}, [Tender("cash", 200)])
        await menu(pilot, "2")
        await on_screen(pilot, CloseShiftScreen)
        await type_text(pilot, "1\n\n\n\n\n1\n1\n")  # 100 x 1, Enter past 50 20 10 5, 1 x 1, 0.50 x 1
        counting = shown(pilot)
        assert re.search(r"100\.00\s+1\s+100\.00", counting) and re.search(r"0\.50\s+1\s+0\.50", counting)
        assert re.search(r"COUNTED\s+￥101\.50", counting)
        assert "102.00" not in counting and "EXPECTED" not in counting.upper(), "a blind count"

        await pilot.press("f10")
        await on_screen(pilot, ConfirmScreen)
        assert "Expected in the drawer: ￥102.00" in in_dialog(pilot)
        assert "Counted: ￥101.50, SHORT by ￥0.50." in in_dialog(pilot)
        await pilot.press("y")
        await on_screen(pilot, ReportScreen)
        await settled_message(pilot, "Z REPORT 1 printed")
        report = shown(pilot)
        for figure in [r"Z REPORT 1", r"EXPECTED\s+￥102\.00", r"100 x 1\s+100\.00", r"1 x 1\s+1\.00",
                       r"0\.5 x 1\s+0\.50", r"COUNTED\s+￥101\.50", r"SHORT\s+-￥0\.50"]:
            assert re.search(figure, report), f"{figure!r} not on the Z report:\n{report}"
        paper = decode(out.read_bytes()).texts
        assert "Z REPORT 1" in paper and "SHORT                    -￥0.50" in paper

        assert rows(pilot, "SELECT z_number, counted, expected, difference, closed_by, approved_by FROM z_report") == [
            (1, 10150, 10200, -50, "demo", None)]
        [stored] = till_of(pilot).z_reports(1)
        assert stored.counted_detail == (("100", 1), ("1", 1), ("0.5", 1))
        await wait_for(pilot, lambda: list((shop / "backups").glob("*.sqlite3")), "the backup after the Z")

        await pilot.press("escape")
        await on_screen(pilot, LoginScreen)
        assert till_of(pilot).shift is None and len(pilot.app.screen_stack) == 2  # the login over nothing
        await log_in(pilot, "demo", "1234")
        await on_screen(pilot, OpenShiftScreen)
        await type_text(pilot, "100", "enter")
        await on_screen(pilot, CheckoutScreen)
        assert message(pilot) == "Shift 2 open, float ￥100.00. Ready to sell."


@pytest.mark.asyncio
async def test_z_short_beyond_the_limit_needs_a_manager(pilot):
    """Counted as one total, 80.00 of an expected 100.00: 20.00 short, over [till]
    z_difference_limit (10.00). Without a manager nothing closes; with one, the Z records who."""
    await menu(pilot, "2")
    await on_screen(pilot, CloseShiftScreen)
    await pilot.press("f3")  # as one total
    await type_text(pilot, "80", "enter")
    assert re.search(r"COUNTED\s+￥80\.00", shown(pilot))
    await pilot.press("f10")
    await on_screen(pilot, ConfirmScreen)
    assert "Counted: ￥80.00, SHORT by ￥20.00." in in_dialog(pilot)
    await pilot.press("y")
    await on_screen(pilot, ManagerScreen)
    assert "the drawer is ￥20.00 short: a manager must close the shift" in in_dialog(pilot)
    await pilot.press("escape")
    await on_screen(pilot, CloseShiftScreen)
    assert message(pilot) == "Not approved: nothing changed."
    assert till_of(pilot).shift is not None and rows(pilot, "SELECT count(*) FROM z_report") == [(0,)]

    await pilot.press("f10")
    await on_screen(pilot, ConfirmScreen)
    await pilot.press("y")
    await approve(pilot)
    await on_screen(pilot, ReportScreen)
    assert re.search(r"SHORT\s+-￥20\.00", shown(pilot))
    assert rows(pilot, "SELECT z_number, counted, difference, closed_by, approved_by FROM z_report") == [
        (1, 8000, -2000, "demo", "manager")]


@pytest.mark.asyncio
async def test_a_stored_z_report_is_shown_again_by_number(pilot):
    till = till_of(pilot)
    till.close_shift(12345, approval=till.approve("manager", "9999", "close_shift"))
    till.open_shift(10000)
    await menu(pilot, "9")
    await answer(pilot, "1")
    await on_screen(pilot, ReportScreen)
    assert re.search(r"Z REPORT 1", shown(pilot)) and re.search(r"COUNTED\s+￥123\.45", shown(pilot))
    await pilot.press("escape")
    await on_screen(pilot, ManagerMenuScreen)
    await pilot.press("9")
    await answer(pilot, "7")
    assert await settled_message(pilot, "Till T1") == "Till T1 has no Z report 7."


# -- held sales, the menu -----------------------------------------------------------------------------
@pytest.mark.asyncio
async def test_a_held_sale_is_deleted_only_with_a_manager(pilot):
    await scan(pilot, f"2*{COLA}")
    await pilot.press("f7")
    await pilot.press("f8")
    await on_screen(pilot, HeldScreen)
    await pilot.press("f4")
    await on_screen(pilot, ManagerScreen)
    await pilot.press("escape")
    await on_screen(pilot, CheckoutScreen)
    assert message(pilot) == "Not approved: nothing changed."
    assert len(till_of(pilot).held_sales()) == 1
    await pilot.press("f8")
    await on_screen(pilot, HeldScreen)
    await pilot.press("delete")
    await approve(pilot)
    assert await settled_message(pilot, "Held sale") == "Held sale deleted."
    assert till_of(pilot).held_sales() == []
    assert rows(pilot, "SELECT actor, approved_by, amount FROM audit WHERE action = 'delete_held'") == [
        ("demo", "manager", 700)]


@pytest.mark.asyncio
async def test_the_menu_runs_items_by_digit_or_from_the_list(pilot):
    """Ctrl+S opens it too; Up/Down and Enter run the highlighted item; a checkout item (No sale)
    closes the menu and runs at the checkout (a manager is asked)."""
    await pilot.press("ctrl+s")
    await on_screen(pilot, ManagerMenuScreen)
    items = [text_of_option(pilot, i) for i in range(10)]
    assert items[0] == "  1  X report: the shift so far" and items[1].startswith("  2  Close the shift")
    assert items[9] == "  0  Sales report: the day by hour"
    await pilot.press("down", "down", "enter")
    await on_screen(pilot, AskScreen)
    assert "Paid in: amount" in in_dialog(pilot)
    await pilot.press("escape")
    await on_screen(pilot, ManagerMenuScreen)
    await pilot.press("0")
    await wait_for(pilot, lambda: type(pilot.app.screen).__name__ == "SalesReportScreen")
    await pilot.press("escape")
    await on_screen(pilot, ManagerMenuScreen)
    await pilot.press("7")
    await on_screen(pilot, ManagerScreen)
    assert "opening the drawer without a sale needs a manager" in in_dialog(pilot)
    await pilot.press("escape")
    await on_screen(pilot, CheckoutScreen)


def text_of_option(pilot, index: int) -> str:
    return str(pilot.app.screen.query_one("#menu").get_option_at_index(index).prompt)


# -- snapshots of the Z count screen ----------------------------------------------------------------------
async def z_count_screen(pilot) -> None:
    """Logged in, one sale, the drawer counted by note: 100 x 1, 1 x 2, 0.50 x 1 (counted 102.50)."""
    await pilot.pause()
    await pilot.press(*"demo", "enter", *"1234", "enter")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, CheckoutScreen), "the checkout")
    await wait_for(pilot, lambda: pilot.app.printer_state != "starting", "the printer state")
    till = pilot.app.till
    till.scan(WATER)
    till.pay([Tender("cash", 200)])
    pilot.app.sale_paid()  # as the payment screen does: the print worker counts the receipt now, not at a random later moment
    await wait_for(pilot, lambda: "1 unprinted" in pilot.app.printer_state, "the receipt counted as unprinted")
    await pilot.press("f11", "2")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, CloseShiftScreen), "the count screen")
    await pilot.press("1", "enter", "enter", "enter", "enter", "enter", "2", "enter", "1", "enter")
    await wait_for(pilot, lambda: "102.50" in svg_text(pilot.app.export_screenshot()), "the count")


@pytest.mark.parametrize("theme", ["default", "console"])
def test_z_count_snapshot(snap_compare, make_app, theme: str) -> None:
    """The count screen at 80x24 looks as reviewed; the console theme draws nothing its fonts lack."""
    seen: list[str] = []

    async def reach(pilot) -> None:
        await z_count_screen(pilot)
        seen.append(svg_text(pilot.app.export_screenshot()))

    assert snap_compare(make_app(theme), terminal_size=(80, 24), run_before=reach)
    if theme == "console":
        assert_console_glyphs_only(seen[0], "the Z count screen")


def test_the_console_theme_draws_the_new_screens_with_the_consoles_glyphs(make_app) -> None:
    """TERM=linux: the menu (a bordered list), the X report, the refund screen with its lines and
    the manager's dialog with its reason codes use nothing the console's fonts lack."""
    seen: dict[str, str] = {}

    async def visit(pilot) -> None:
        await z_count_screen(pilot)
        seen["count"] = svg_text(pilot.app.export_screenshot())
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ManagerMenuScreen), "the menu")
        seen["menu"] = svg_text(pilot.app.export_screenshot())
        await pilot.press("1")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ReportScreen), "the X report")
        seen["x report"] = svg_text(pilot.app.export_screenshot())
        await pilot.press("escape", "5", *"T1-000001", "enter")
        await wait_for(pilot, lambda: getattr(pilot.app.screen, "sale", None) is not None, "the refund lines")
        await pilot.press("f4", "f10", "1")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ManagerScreen), "the manager's dialog")
        seen["refund and manager"] = svg_text(pilot.app.export_screenshot())

    asyncio.run(rendered_text(make_app("console"), visit))
    for screen, text in seen.items():
        assert_console_glyphs_only(text, screen)
    assert "Reason: Damaged" in seen["refund and manager"] and "EXPECTED" in seen["x report"]
