"""The completed sale: an immutable record built from a cart and its settlement.

Its dict form (to_record) is the one format every store speaks: SQLite rows are made from it,
journal lines carry it, replay reads it back. Amounts are ints of minor units.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import MISSING, dataclass, fields
from typing import Any, ClassVar

from tui_pos.domain.cart import Cart
from tui_pos.domain.pricing import Totals
from tui_pos.domain.tender import Settlement, Tender


@dataclass(frozen=True)
class SaleLine:
    line_no: int
    barcode: str
    name: str
    qty: int
    unit_price: int
    line_discount: int
    order_discount: int
    tax_code: str
    rate_bp: int
    tax: int
    total: int
    voided: bool


@dataclass(frozen=True)
class Sale:
    uuid: str
    receipt: str  # e.g. T1-000123
    till_id: str
    seq: int
    cashier: str
    opened_at: str
    completed_at: str
    currency: str
    tax_included: bool
    lines: tuple[SaleLine, ...]
    tenders: tuple[Tender, ...]
    gross: int
    discount: int
    tax: int
    total: int
    rounding: int
    paid: int
    change: int
    kind: str = "sale"  # or "refund" / "void": negative amounts, linked to the original sale
    original_uuid: str | None = None
    original_receipt: str | None = None
    shift_uuid: str | None = None
    reason: str | None = None  # why a refund or void was made
    approved_by: str | None = None  # the manager who approved a refund or void

    TYPE: ClassVar[str] = "sale"  # the record type (a sale's record carries no "type": it is the default)

    def to_record(self) -> dict[str, Any]:
        # Field by field, not dataclasses.asdict: every value is a str, int or bool, so there is
        # nothing to deep-copy, and asdict(self) also converted every line and tender a second time.
        record = {name: getattr(self, name) for name in _SALE_FIELDS}
        record["lines"] = [{name: getattr(line, name) for name in _LINE_FIELDS} for line in self.lines]
        record["tenders"] = [{name: getattr(t, name) for name in _TENDER_FIELDS} for t in self.tenders]
        return record

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Sale:
        """The sale a record holds: from the journal (lines written by any version: fields added
        since default), from SQLite (store.codec), or from to_record(). KeyError: a field every
        version wrote is missing."""
        values = {name: record[name] for name in _REQUIRED_FIELDS}
        values.update((name, record[name]) for name in _OPTIONAL_FIELDS if name in record)
        values["tax_included"] = bool(values["tax_included"])
        values["lines"] = tuple(SaleLine(**{name: line[name] for name in _LINE_FIELDS}) for line in record["lines"])
        values["tenders"] = tuple(Tender(t["kind"], t["amount"], t.get("reference") or "") for t in record["tenders"])
        return cls(**values)


_SALE_FIELDS = tuple(f.name for f in fields(Sale))
_LINE_FIELDS = tuple(f.name for f in fields(SaleLine))
_TENDER_FIELDS = tuple(f.name for f in fields(Tender))
_OPTIONAL_FIELDS = tuple(f.name for f in fields(Sale) if f.default is not MISSING)
_REQUIRED_FIELDS = tuple(f.name for f in fields(Sale) if f.default is MISSING and f.name not in ("lines", "tenders"))


def tax_summary(lines: Iterable[Mapping[str, Any]]) -> list[tuple[str, int, int, int]]:
    """(tax code, rate in basis points, taxable amount excl. tax, tax) per rate over a sale
    record's lines, voided ones left out: what the receipt prints; it adds up to the total."""
    by_rate: dict[tuple[str, int], list[int]] = {}
    for line in lines:
        if not line["voided"]:
            bucket = by_rate.setdefault((line["tax_code"], line["rate_bp"]), [0, 0])
            bucket[0] += line["total"] - line["tax"]
            bucket[1] += line["tax"]
    return [(code, rate, net, tax) for (code, rate), (net, tax) in sorted(by_rate.items())]


def receipt_number(till_id: str, seq: int) -> str:
    return f"{till_id}-{seq:06d}"


def build_sale(
    cart: Cart,
    totals: Totals,
    tenders: tuple[Tender, ...],
    settlement: Settlement,
    *,
    till_id: str,
    seq: int,
    cashier: str,
    completed_at: str,
    currency: str,
    tax_included: bool,
    shift_uuid: str | None = None,
) -> Sale:
    lines = tuple(
        SaleLine(
            line_no=index,
            barcode=line.barcode,
            name=line.name,
            qty=line.qty,
            unit_price=line.unit_price,
            line_discount=priced.line_discount,
            order_discount=priced.order_discount,
            tax_code=line.tax_code,
            rate_bp=line.rate_bp,
            tax=priced.tax,
            total=priced.total,
            voided=line.voided,
        )
        for index, (line, priced) in enumerate(zip(cart.lines, totals.lines), start=1)
    )
    return Sale(
        uuid=cart.uuid,
        receipt=receipt_number(till_id, seq),
        till_id=till_id,
        seq=seq,
        cashier=cashier,
        opened_at=cart.opened_at,
        completed_at=completed_at,
        currency=currency,
        tax_included=tax_included,
        lines=lines,
        tenders=tenders,
        gross=totals.gross,
        discount=totals.discount,
        tax=totals.tax,
        total=totals.total,
        rounding=settlement.rounding,
        paid=settlement.paid,
        change=settlement.change,
        shift_uuid=shift_uuid,
    )
