"""The cart: an immutable value; every operation returns a new cart (easy to save, undo, test)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from tui_pos.domain.catalog import Product, TaxRate
from tui_pos.domain.errors import N_, CartError, OpenPriceRequired
from tui_pos.domain.money import MAX_MINOR, round_half_up
from tui_pos.domain.pricing import Discount, LineInput, Totals, price
from tui_pos.domain.tender import Tender

MAX_QTY = 9999


@dataclass(frozen=True)
class CartLine:
    line_id: int
    barcode: str
    name: str
    unit_price: int
    qty: int
    tax_code: str
    rate_bp: int
    discount: Discount | None = None
    voided: bool = False
    price_keyed: bool = False  # open price typed by the cashier

    def pricing_input(self) -> LineInput:
        return LineInput(self.unit_price, self.qty, self.rate_bp, self.discount, self.voided)


def _check_qty(qty: int) -> int:
    if not 1 <= qty <= MAX_QTY:
        raise CartError(N_("quantity must be between 1 and {most}"), most=MAX_QTY)
    return qty


def check_price(unit_price: int) -> int:
    """A keyed unit price in range (checked before a manager is asked, so no approval is spent on it)."""
    if not 0 <= unit_price < MAX_MINOR:
        raise CartError(N_("a price cannot be negative") if unit_price < 0 else N_("that price is too large an amount"))
    return unit_price


def _check_amounts(lines: tuple[CartLine, ...]) -> tuple[CartLine, ...]:
    """Every line and the sale's total stay below MAX_MINOR, tax added on top included (the most any
    line can come to before discounts): refused when the line is added, never an overflow at the commit."""
    total = 0
    for line in lines:
        if line.voided:
            continue
        gross = line.unit_price * line.qty
        most = gross + round_half_up(gross * max(line.rate_bp, 0), 10000)
        if most >= MAX_MINOR:
            raise CartError(N_("{name}: {qty} x that price is too large an amount; nothing changed"), name=line.name,
                            qty=line.qty)
        total += most
    if total >= MAX_MINOR:
        raise CartError(N_("the sale's total would be too large an amount; nothing changed"))
    return lines


def _check_tenders(tenders: tuple[Tender, ...]) -> tuple[Tender, ...]:
    if sum(abs(t.amount) for t in tenders) >= MAX_MINOR:
        raise CartError(N_("the payments add up to too large an amount; nothing changed"))
    return tenders


@dataclass(frozen=True)
class Cart:
    uuid: str  # the sale's identity from the moment it is opened
    opened_at: str  # ISO 8601 UTC
    lines: tuple[CartLine, ...] = ()
    order_discount: Discount | None = None
    tenders: tuple[Tender, ...] = ()  # taken so far: a mobile payment already charged is never forgotten
    version: int = 0  # bumped on every change: the newest saved copy wins on restore

    @property
    def active_lines(self) -> tuple[CartLine, ...]:
        return tuple(line for line in self.lines if not line.voided)

    @property
    def is_empty(self) -> bool:
        return not self.active_lines

    @property
    def units(self) -> int:
        """The items as a cashier counts them: the units of the lines not voided (3 x cola: 3)."""
        return sum(line.qty for line in self.active_lines)

    def totals(self, tax_included: bool) -> Totals:
        return price([line.pricing_input() for line in self.lines], self.order_discount, tax_included)

    def add(self, product: Product, rate: TaxRate, qty: int = 1, unit_price: int | None = None) -> Cart:
        if product.open_price and unit_price is None:
            raise OpenPriceRequired(N_("{name}: open price, key the price in"), name=product.name)
        if product.open_price and unit_price == 0:
            raise CartError(N_("{name}: open price, key in a price above zero"), name=product.name)
        if unit_price is not None:
            check_price(unit_price)
        line = CartLine(
            line_id=max((l.line_id for l in self.lines), default=0) + 1,
            barcode=product.barcode,
            name=product.name,
            unit_price=product.price if unit_price is None else unit_price,
            qty=_check_qty(qty),
            tax_code=rate.code,
            rate_bp=rate.rate_bp,
            price_keyed=unit_price is not None,
        )
        return self._with(lines=self.lines + (line,))

    def line(self, line_id: int) -> CartLine:
        for line in self.lines:
            if line.line_id == line_id and not line.voided:
                return line
        raise CartError(N_("there is no line {line} in the sale"), line=line_id)

    def set_qty(self, line_id: int, qty: int) -> Cart:
        return self._replace_line(line_id, qty=_check_qty(qty))

    def set_price(self, line_id: int, unit_price: int) -> Cart:
        return self._replace_line(line_id, unit_price=check_price(unit_price), price_keyed=True)

    def void(self, line_id: int) -> Cart:
        """Voided lines stay in the sale record (for the audit) but count for nothing."""
        return self._replace_line(line_id, voided=True)

    def discount_line(self, line_id: int, discount: Discount | None) -> Cart:
        return self._replace_line(line_id, discount=discount)

    def discount_order(self, discount: Discount | None) -> Cart:
        return self._with(order_discount=discount)

    def add_tender(self, tender: Tender) -> Cart:
        return self._with(tenders=self.tenders + (tender,))

    def remove_tender(self, index: int) -> Cart:
        if not 0 <= index < len(self.tenders):
            raise CartError(N_("there is no such payment"))
        return self._with(tenders=self.tenders[:index] + self.tenders[index + 1:])

    def _replace_line(self, line_id: int, **changes: Any) -> Cart:
        target = self.line(line_id)
        return self._with(lines=tuple(replace(l, **changes) if l is target else l for l in self.lines))

    def _with(self, **changes: Any) -> Cart:
        if "lines" in changes:
            _check_amounts(changes["lines"])
        if "tenders" in changes:
            _check_tenders(changes["tenders"])
        return replace(self, version=self.version + 1, **changes)

    def to_record(self) -> dict[str, Any]:
        return {
            "uuid": self.uuid,
            "opened_at": self.opened_at,
            "version": self.version,
            "order_discount": _discount_record(self.order_discount),
            "tenders": [{"kind": t.kind, "amount": t.amount, "reference": t.reference} for t in self.tenders],
            "lines": [
                {**{k: getattr(l, k) for k in CartLine.__dataclass_fields__ if k != "discount"},
                 "discount": _discount_record(l.discount)}
                for l in self.lines
            ],
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Cart:
        lines = tuple(
            CartLine(**{**l, "discount": _discount_from(l.get("discount"))}) for l in record["lines"]
        )
        return cls(
            uuid=record["uuid"],
            opened_at=record["opened_at"],
            lines=lines,
            order_discount=_discount_from(record.get("order_discount")),
            tenders=tuple(Tender(**t) for t in record.get("tenders", [])),
            version=record.get("version", 0),
        )


def _discount_record(discount: Discount | None) -> dict[str, Any] | None:
    return None if discount is None else {"kind": discount.kind, "value": discount.value}


def _discount_from(record: dict[str, Any] | None) -> Discount | None:
    return None if record is None else Discount(record["kind"], record["value"])
