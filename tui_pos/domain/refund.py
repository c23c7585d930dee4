"""Refunds and voids: new records linked to the sale they reverse, never edits of it.

Pure functions over sale records (the dict form every store speaks). A refund line keeps the
line number of the line it returns. Its amounts are the original line's, shared by quantity so
that refunding a line piece by piece adds up to exactly what was paid for it: the first k of n
units get round(total * k / n), the next j get round(total * (k + j) / n) - round(total * k / n).
Money goes back to the original tenders by default (card and mobile first, so the payment
provider can match the refund, then cash), or all in cash.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from tui_pos.domain.errors import N_, CartError, Said
from tui_pos.domain.money import round_half_up, round_to_step
from tui_pos.domain.sale import Sale, SaleLine, receipt_number
from tui_pos.domain.shift import SALE_KIND_WORDS
from tui_pos.domain.tender import Tender, TenderKind


@dataclass(frozen=True)
class RefundableLine:
    line_no: int
    barcode: str
    name: str
    unit_price: int
    sold: int
    returned: int  # by earlier refunds and voids

    @property
    def left(self) -> int:
        return self.sold - self.returned


@dataclass(frozen=True)
class Refundable:
    """A sale as seen from the returns desk: what was sold, and what can still be returned."""

    original: Mapping[str, Any]
    lines: tuple[RefundableLine, ...]
    reversals: tuple[Mapping[str, Any], ...]  # earlier refunds and voids of this sale

    @property
    def receipt(self) -> str:
        return self.original["receipt"]

    @property
    def fully_returned(self) -> bool:
        return all(line.left == 0 for line in self.lines)

    def line(self, line_no: int) -> RefundableLine:
        for line in self.lines:
            if line.line_no == line_no:
                return line
        raise CartError(N_("receipt {receipt} has no line {line}"), receipt=self.receipt, line=line_no)

    def line_for_code(self, code: str) -> RefundableLine:
        """The line of this barcode with the most left to return (a code may be on several lines)."""
        lines = [line for line in self.lines if line.barcode == code]
        if not lines:
            raise CartError(N_("{code} is not on receipt {receipt}"), code=code, receipt=self.receipt)
        return max(lines, key=lambda line: line.left)


def refundable(original: Mapping[str, Any], reversals: Iterable[Mapping[str, Any]]) -> Refundable:
    if original.get("kind", "sale") != "sale":
        raise CartError(N_("{receipt} is itself a {kind}: refund the original sale"), receipt=original["receipt"],
                        kind=Said(SALE_KIND_WORDS.get(original["kind"], original["kind"])))
    reversals = tuple(reversals)
    returned: dict[int, int] = {}
    for reversal in reversals:
        for line in reversal["lines"]:
            returned[line["line_no"]] = returned.get(line["line_no"], 0) - line["qty"]
    lines = tuple(
        RefundableLine(l["line_no"], l["barcode"], l["name"], l["unit_price"], 0 if l["voided"] else l["qty"],
                       returned.get(l["line_no"], 0))
        for l in original["lines"]
    )
    return Refundable(original, lines, reversals)


def _share(amount: int, before: int, taking: int, of: int) -> int:
    """The part of amount that units before+1 .. before+taking of `of` units carry."""
    return round_half_up(amount * (before + taking), of) - round_half_up(amount * before, of)


def refund_lines(refundable_: Refundable, quantities: Mapping[int, int]) -> tuple[SaleLine, ...]:
    """The (negative) lines returning quantities[line_no] units of each line."""
    if not quantities or not any(quantities.values()):
        raise CartError(N_("choose at least one item to return"))
    by_no = {l["line_no"]: l for l in refundable_.original["lines"]}
    tax_included = refundable_.original["tax_included"]
    lines = []
    for line_no, qty in sorted(quantities.items()):
        if qty == 0:
            continue
        left = refundable_.line(line_no)
        if qty < 0 or qty > left.left:
            raise CartError(N_("{name}: {left} of {sold} can still be returned, not {qty}"), name=left.name, left=left.left,
                             sold=left.sold, qty=qty)
        sold = by_no[line_no]
        total = _share(sold["total"], left.returned, qty, left.sold)
        tax = _share(sold["tax"], left.returned, qty, left.sold)
        line_discount = _share(sold["line_discount"], left.returned, qty, left.sold)
        net = total - tax if not tax_included else total
        order_discount = sold["unit_price"] * qty - line_discount - net
        lines.append(SaleLine(line_no, sold["barcode"], sold["name"], -qty, sold["unit_price"], -line_discount,
                              -order_discount, sold["tax_code"], sold["rate_bp"], -tax, -total, False))
    return tuple(lines)


def refund_tenders(refundable_: Refundable, amount: int, cash_step: int, all_cash: bool) -> tuple[tuple[Tender, ...], int]:
    """(negative tenders paying `amount` back, cash rounding). Each original tender takes back at
    most what it paid, less what earlier refunds returned to it; the rest is cash."""
    original = refundable_.original
    left = amount
    tenders: list[Tender] = []
    if not all_cash:
        paid: dict[tuple[TenderKind, str], int] = {}  # by (kind, reference), in the original's order: two
        for t in original["tenders"]:  # cards without a reference are one capacity, not one each
            if t["kind"] != "cash":
                paid[(t["kind"], t["reference"])] = paid.get((t["kind"], t["reference"]), 0) + t["amount"]
        for reversal in refundable_.reversals:
            for t in reversal["tenders"]:
                key = (t["kind"], t["reference"])
                if key in paid:
                    paid[key] += t["amount"]  # refunded amounts are negative
        for (kind, reference), still in paid.items():
            back = min(left, still)
            if back > 0:
                tenders.append(Tender(kind, -back, reference))
                left -= back
    rounding = 0
    if left:
        cash = round_to_step(left, cash_step)
        rounding = cash - left
        if cash:
            tenders.append(Tender("cash", -cash))
    return tuple(tenders), -rounding


def build_reversal(refundable_: Refundable, quantities: Mapping[int, int], *, kind: str, uuid: str, till_id: str,
                   seq: int, cashier: str, at: str, shift_uuid: str, reason: str, approved_by: str,
                   cash_step: int, all_cash: bool) -> Sale:
    """A refund (kind 'refund') or a void of a whole sale (kind 'void'), ready for the ledger."""
    if not reason.strip():
        raise CartError(N_("a void needs a reason") if kind == "void" else N_("a refund needs a reason"))
    lines = refund_lines(refundable_, quantities)
    total = sum(line.total for line in lines)
    tenders, rounding = refund_tenders(refundable_, -total, cash_step, all_cash)
    original = refundable_.original
    return Sale(
        uuid=uuid, receipt=receipt_number(till_id, seq), till_id=till_id, seq=seq, cashier=cashier, opened_at=at,
        completed_at=at, currency=original["currency"], tax_included=original["tax_included"], lines=lines,
        tenders=tenders, gross=sum(line.unit_price * line.qty for line in lines),
        discount=sum(line.line_discount + line.order_discount for line in lines), tax=sum(line.tax for line in lines),
        total=total, rounding=rounding, paid=sum(t.amount for t in tenders), change=0, kind=kind,
        original_uuid=original["uuid"], original_receipt=original["receipt"], shift_uuid=shift_uuid, reason=reason.strip(), approved_by=approved_by,
    )
