"""A till that takes one code payment, as a real process (test_payment_crashes.py runs it, and
takes its steps, by_code and refund_whole, for the tills it runs itself): open the shop's till (its gateways from config.toml's [payments]), scan an item,
start a code payment with the customer's code, advance it until it is done, and complete the
sale when it is paid. TUI_POS_CRASH_AT kills it at a point of that flow (tui_pos.store.crash).

    python pay_till.py SHOP_DIR CODE ITEM           # prints one JSON line once the sale is stored

Or, for a refund of a stored sale paid by code (the whole sale, back through its provider):

    python pay_till.py SHOP_DIR --refund RECEIPT

The cashier is the demo shop's `demo`; the sale in progress is kept (saved) as the till's own, so
the next process that opens the till finds it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from tui_pos.bootstrap.till import open_till
from tui_pos.config import load_config


def by_code(till: Any, code: str) -> Any:
    """What the sale in progress has left to pay, paid by the customer's code: the code payment,
    advanced until it is done (its state: paid, failed, cancelled...)."""
    charge = till.payments.start(code)
    while not charge.done:
        charge = till.payments.advance(charge)
    return charge


def refund_whole(till: Any, receipt: str) -> Any:
    """The whole of a stored sale refunded (a manager's approval), back through its tenders."""
    found = till.find_refundable(receipt)
    return till.refund(receipt, {line.line_no: line.left for line in found.lines}, "customer changed mind",
                       till.approve("manager", "9999", "refund"))


def pay(shop: Path, code: str, item: str) -> dict[str, object]:
    till = open_till(load_config(shop), cashier="demo")
    try:
        till.scan(item)
        charge = by_code(till, code)
        result: dict[str, object] = {"state": charge.state, "sale_uuid": till.cart.uuid}
        if charge.state == "paid":
            paid = till.pay()
            result.update(receipt=paid.sale.receipt, transaction_id=charge.transaction_id)
        return result
    finally:
        till.close()


def refund(shop: Path, receipt: str) -> dict[str, object]:
    till = open_till(load_config(shop), cashier="demo", keep_cart=False)
    try:
        paid = refund_whole(till, receipt)
        return {"receipt": paid.sale.receipt, "refund_uuid": paid.sale.uuid}
    finally:
        till.close()


if __name__ == "__main__":
    shop_dir = Path(sys.argv[1])
    if sys.argv[2] == "--refund":
        print(json.dumps(refund(shop_dir, sys.argv[3])), flush=True)
    else:
        print(json.dumps(pay(shop_dir, sys.argv[2], sys.argv[3])), flush=True)
