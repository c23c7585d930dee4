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
