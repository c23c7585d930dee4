"""Hand-made sale records for the printing tests (the format Sale.to_record() produces).

Every amount was worked out by hand with the README's rounding rule, so a receipt's numbers
can be checked against this file, not against the code that prints them.
"""

from __future__ import annotations

import copy
from typing import Any

UUID_1 = "0b8e0d4c-1111-4222-8333-944455556666"
MOBILE_REF = "4200001234567890123456789012"  # 28 digits, like a WeChat Pay transaction id


def _line(no: int, barcode: str, name: str, qty: int, unit: int, line_off: int, order_off: int, code: str,
          bp: int, tax: int, total: int, voided: bool = False) -> dict[str, Any]:
    return {"line_no": no, "barcode": barcode, "name": name, "qty": qty, "unit_price": unit, "line_discount": line_off,
            "order_discount": order_off, "tax_code": code, "rate_bp": bp, "tax": tax, "total": total, "voided": voided}


def mixed_sale(**changes: Any) -> dict[str, Any]:
    """Three sold lines (CJK, accented Latin, CJK at 9 %) and a voided one; a 0.50 line discount
    and a 1.00 order discount; paid 20.00 cash + 3.00 mobile; change 1.00.

    Order discount 100 over 650/1200/450 (sum 2300): floors 28/52/19, remainders 600/400/1300,
    the missing fen to line 3 -> 28/52/20. Nets 622/1148/430. Tax, prices including tax:
    622*13/113 = 71.56 -> 72; 1148*13/113 = 132.07 -> 132; 430*9/109 = 35.50 -> 36.
    Total 2200, tax 240; A: 1566 net + 204 tax, B: 394 net + 36 tax.
    """
    record = {
        "uuid": UUID_1, "receipt": "T1-000123", "till_id": "T1", "seq": 123, "cashier": "demo",
        "opened_at": "2026-11-21T06:01:00.000+00:00", "completed_at": "2026-11-21T06:03:04.000+00:00",
        "currency": "CNY", "tax_included": True,
        "lines": [
            _line(1, "6900000000014", "可口可乐 330ml", 2, 350, 50, 28, "A", 1300, 72, 622),
            _line(2, "6900000000021", "农夫山泉 550ml", 1, 200, 0, 0, "A", 1300, 0, 0, voided=True),
            _line(3, "6900000000090", "Café Crème latte", 1, 1200, 0, 52, "A", 1300, 132, 1148),
            _line(4, "6900000000113", "康师傅红烧牛肉面", 1, 450, 0, 20, "B", 900, 36, 430),
        ],
        "tenders": [{"kind": "cash", "amount": 2000, "reference": ""},
                    {"kind": "mobile", "amount": 300, "reference": MOBILE_REF}],
        "gross": 2350, "discount": 150, "tax": 240, "total": 2200, "rounding": 0, "paid": 2300, "change": 100,
    }
    record.update(changes)
    return record


def card_sale(**changes: Any) -> dict[str, Any]:
    """One Latin line, 3 x 4.00 at 9 %, paid by card: no cash, so no drawer and no change line.
    Tax 1200*9/109 = 99.08 -> 99."""
    record = {
        "uuid": "5f7c0a2e-2222-4333-8444-a55566667777", "receipt": "T1-000124", "till_id": "T1", "seq": 124,
        "cashier": "Zoë", "opened_at": "2026-11-21T07:00:00.000+00:00",
        "completed_at": "2026-11-21T07:00:30.000+00:00", "currency": "CNY", "tax_included": True,
        "lines": [_line(1, "6900000000175", "Baguette à l'ancienne", 3, 400, 0, 0, "B", 900, 99, 1200)],
        "tenders": [{"kind": "card", "amount": 1200, "reference": "AUTH77"}],
        "gross": 1200, "discount": 0, "tax": 99, "total": 1200, "rounding": 0, "paid": 1200, "change": 0,
    }
    record.update(changes)
    return record


def long_sale(lines: int = 30) -> dict[str, Any]:
    """A 30-line receipt for the benchmark and width properties: n x 1.00 per line, cash exact."""
    record = copy.deepcopy(mixed_sale())
    record["lines"] = [
        _line(i, f"69{i:011d}", f"商品 {i} Produkt Größe {i}" if i % 2 else f"Item number {i} 测试商品名称很长很长", 1,
              100 * i, 0, 0, "A", 1300, round(100 * i * 13 / 113), 100 * i)
        for i in range(1, lines + 1)
    ]
    total = sum(100 * i for i in range(1, lines + 1))
    record.update(gross=total, discount=0, tax=sum(l["tax"] for l in record["lines"]), total=total, paid=total,
                  change=0, tenders=[{"kind": "cash", "amount": total, "reference": ""}])
    return record
