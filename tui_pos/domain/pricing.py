"""Pure pricing: discounts, order-discount allocation, per-line tax, cash rounding, change.

Rounding rule (documented in the README): every rounding is half away from zero, to one minor
unit, once per line. Tax is computed per line on the line's amount after its own discount and
its share of the order discount; the order discount is shared in proportion to the lines'
amounts by the largest-remainder method, so the shares add up to the discount exactly. The
sale total is the sum of the line totals, so lines and total always reconcile to the unit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from tui_pos.domain.errors import N_, BadInput
from tui_pos.domain.money import MAX_MINOR, round_half_up

DiscountKind = Literal["percent", "amount"]


@dataclass(frozen=True)
class Discount:
    """A discount as keyed: kind 'percent' with value in basis points, or 'amount' in minor units."""

    kind: DiscountKind
    value: int

    def __post_init__(self) -> None:
        if self.kind not in ("percent", "amount"):
            raise BadInput(N_("unknown discount kind {kind}"), kind=repr(self.kind))
        if self.value < 0 or (self.kind == "percent" and self.value > 10000):
            raise BadInput(N_("a discount must be between 0 and 100% (or a positive amount)"))
        if self.value >= MAX_MINOR:
            raise BadInput(N_("that discount is too large an amount"))

    def amount_off(self, base: int) -> int:
        """The discount on base, never more than base (a price never goes below zero)."""
        if base <= 0:
            return 0
        off = round_half_up(base * self.value, 10000) if self.kind == "percent" else self.value
        return min(off, base)


@dataclass(frozen=True)
class LineInput:
    """What pricing needs of a cart line."""

    unit_price: int
    qty: int
    rate_bp: int
    discount: Discount | None = None
    voided: bool = False


@dataclass(frozen=True)
class PricedLine:
    gross: int  # unit_price * qty
    line_discount: int
    order_discount: int  # this line's share of the order discount
    tax: int
    total: int  # what the customer pays for this line, tax included


@dataclass(frozen=True)
class Totals:
    lines: tuple[PricedLine, ...]
    gross: int
    discount: int  # line + order discounts
    tax: int
    total: int


def allocate(amount: int, weights: Sequence[int]) -> list[int]:
    """Split amount over weights in proportion, largest remainder first; the parts sum to amount."""
    total_weight = sum(weights)
    if amount == 0 or total_weight <= 0:
        return [0] * len(weights)
    floors = [amount * w // total_weight for w in weights]
    remainders = [amount * w % total_weight for w in weights]
    short = amount - sum(floors)
    for index in sorted(range(len(weights)), key=lambda i: (-remainders[i], i))[:short]:
        floors[index] += 1
    return floors


def price(lines: Sequence[LineInput], order_discount: Discount | None, tax_included: bool) -> Totals:
    """Price a cart. Voided lines are priced at zero so indexes still match the cart's lines."""
    gross = [0 if line.voided else line.unit_price * line.qty for line in lines]
    line_off = [
        line.discount.amount_off(g) if line.discount and not line.voided else 0
        for line, g in zip(lines, gross)
    ]
    after_line = [g - off for g, off in zip(gross, line_off)]
    order_off_total = order_discount.amount_off(sum(after_line)) if order_discount else 0
    order_off = allocate(order_off_total, after_line)
    priced = []
    for line, g, loff, ooff, base in zip(lines, gross, line_off, order_off, after_line):
        net = base - ooff
        if tax_included:
            tax = round_half_up(net * line.rate_bp, 10000 + line.rate_bp)
            total = net
        else:
            tax = round_half_up(net * line.rate_bp, 10000)
            total = net + tax
        priced.append(PricedLine(g, loff, ooff, tax, total))
    return Totals(
        lines=tuple(priced),
        gross=sum(gross),
        discount=sum(line_off) + order_off_total,
        tax=sum(p.tax for p in priced),
        total=sum(p.total for p in priced),
    )
