"""The till in Chinese ([ui] language = "zh_CN"): every word the cashier reads on the main screens
comes from the catalog. Any English word left on screen (other than key names and the shop's own
data) is a message that is not marked or not translated."""

from __future__ import annotations

import re

import pytest

from conftest import in_chinese

from .pilot import on_screen, running, scan, svg_text, wait_for

pytestmark = pytest.mark.asyncio

# What stays in Latin letters on a Chinese screen: key names, the product and shop names of the
# demo catalog (data, not messages), the currency code.
KEEP = {"Esc", "Enter", "Tab", "Shift", "Del", "PIN", "tui", "pos", "ml", "Sprite", "CNY", "Home", "Left",
        "Right", "Up", "Down", "demo"}
COLA = "6900000000014"


def english_words(text: str) -> set[str]:
    return {word for word in re.findall(r"[A-Za-z]{2,}", text) if word not in KEEP}


@pytest.fixture
def chinese_shop(demo_shop_template, tmp_path):
    import shutil

    shop = shutil.copytree(demo_shop_template, tmp_path / "shop")
    return in_chinese(shop)


async def test_the_checkout_and_payment_are_all_chinese(chinese_shop):
    from tui_pos.ui.screens.tender import TenderScreen

    async with running(chinese_shop) as pilot:
        await scan(pilot, COLA)
        checkout = svg_text(pilot.app.export_screenshot())
        assert "合计" in checkout and "付款" in checkout and "可口可乐" in checkout
        assert not english_words(checkout), checkout
        await scan(pilot, "6900000009999")  # not in the catalog: the core's error, in Chinese
        assert "未知条码" in svg_text(pilot.app.export_screenshot())
        await pilot.press("f10")
        await on_screen(pilot, TenderScreen)
        tender = svg_text(pilot.app.export_screenshot())
        assert "现金" in tender and not english_words(tender), tender
        await pilot.press("f1")
        await wait_for(pilot, lambda: "帮助" in svg_text(pilot.app.export_screenshot()))
        help_text = svg_text(pilot.app.export_screenshot())
        assert not english_words(help_text), help_text


async def test_a_manager_is_asked_in_chinese(chinese_shop):
    """The core's reason for asking a manager (a discount over the limit) is the dialog's title, in Chinese."""
    from tui_pos.ui.screens.dialogs import AskScreen, ManagerScreen

    async with running(chinese_shop) as pilot:
        await scan(pilot, COLA)
        await pilot.press("f5")
        await on_screen(pilot, AskScreen)
        await pilot.press("5", "0", "%", "enter")
        await on_screen(pilot, ManagerScreen)
        dialog = svg_text(pilot.app.export_screenshot())
        assert "经理批准：超过 10% 的折扣需要经理批准" in dialog, dialog
