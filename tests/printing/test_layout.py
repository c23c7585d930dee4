"""A refund's receipt, from a refund made through the Till: it must say REFUND, name the original
receipt and the reason, and show the money paid back (negative), with no "Change" line."""

from __future__ import annotations

from conftest import COLA, NOODLES
from tui_pos.domain.tender import Tender
from tui_pos.printing.layout import ReceiptOptions, check_fits, receipt_layout


def test_refund_receipt_names_the_original_and_the_money_paid_back(till):
    till.scan(COLA, 2)
    till.scan(NOODLES)
    sale = till.pay([Tender("cash", 2000)]).sale  # 7.00 + 4.50 = 11.50, change 8.50
    approval = till.approve("manager", "9999", "refund", "Damaged")
    refund = till.refund(sale.receipt, {1: 1}, "Damaged", approval).sale  # one cola back: 3.50 cash
    layout = receipt_layout(refund.to_record(), ReceiptOptions(columns=32))
    check_fits(layout)
    text = "\n".join(layout.lines())
    assert "REFUND" in text
    assert f"Original receipt{' ' * (32 - 16 - 9)}{sale.receipt}" in text
    assert "Reason: Damaged" in text
    assert "-3.50" in text and "Change" not in text
    assert refund.receipt == "T1-000002"  # refunds take the next receipt number


# -- the receipt in Chinese ([printer] language = "zh_CN") --------------------------------------------
def latin_words(text: str, data: str) -> set[str]:
    """Latin words on the paper that are not the sale's own data (product names, references, ...)."""
    import re

    return set(re.findall(r"[A-Za-z]{2,}", text)) - set(re.findall(r"[A-Za-z]{2,}", data)) - {"QR"}  # lines()' QR marker


def test_a_chinese_receipt_has_every_word_in_chinese():
    """合计/实收/找零/收银员 as a Chinese shop prints them; every line still fits 58 mm."""
    from .sales import mixed_sale

    sale = mixed_sale()
    layout = receipt_layout(sale, ReceiptOptions(columns=32, language="zh_CN", shop_name="好运便利店", footer=("Thank you!",)), copy=True)
    check_fits(layout)
    text = "\n".join(layout.lines())
    for word in ("合计", "实收现金", "找零", "收银员", "小票号", "含税", "谢谢惠顾", "副本"):
        assert word in text, word
    assert not latin_words(text, repr(sale)), text


def test_a_chinese_refund_receipt():
    from .sales import mixed_sale

    refund = mixed_sale(kind="refund", original_receipt="T1-000100", reason="商品损坏", change=0)
    text = "\n".join(receipt_layout(refund, ReceiptOptions(columns=32, language="zh_CN", shop_name="好运便利店")).lines())
    assert "退货" in text and "原小票" in text and "原因：商品损坏" in text
    assert not latin_words(text, repr(refund)), text


def test_the_receipt_takes_the_printers_language_not_the_screens(tmp_path):
    from tui_pos.config import load_config

    (tmp_path / "config.toml").write_text('[ui]\nlanguage = "en"\n[printer]\nlanguage = "zh_CN"\n', encoding="utf-8")
    assert ReceiptOptions.from_config(load_config(tmp_path)).language == "zh_CN"
    (tmp_path / "config.toml").write_text('[ui]\nlanguage = "zh_CN"\n', encoding="utf-8")
    assert ReceiptOptions.from_config(load_config(tmp_path)).language == "zh_CN"  # "auto": as the screen
