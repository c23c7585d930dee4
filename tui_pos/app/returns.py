"""Refunds and voids: new records linked to the sale they reverse, never edits; numbered on the
receipt sequence and stored like a sale, a manager's decision, never more than was sold."""

from __future__ import annotations

import uuid as uuidlib
from typing import Any

from tui_pos.app.context import REASON_LENGTH, TillContext, busy_refusal
from tui_pos.app.payments import CodePayments
from tui_pos.app.ports import TillStore
from tui_pos.app.selling import Paid, Selling
from tui_pos.app.session import Session
from tui_pos.app.shifts import Shifts
from tui_pos.domain.auth import Approval
from tui_pos.domain.errors import N_, BadInput, CartError, CodePaymentRefused, NotDurable, NumberingBusy, check_text
from tui_pos.domain.refund import Refundable, build_reversal, refund_lines, refundable


class Returns:
    def __init__(self, ctx: TillContext, store: TillStore, session: Session, shifts: Shifts, selling: Selling,
                 payments: CodePayments | None = None):
        self.ctx = ctx
        self.payments = payments  # a sale paid by code is refunded through its provider
        self.store = store
        self.session = session
        self.shifts = shifts
        self.selling = selling  # a reversal is stored (and retried) like a sale

    def find_refundable(self, receipt_or_qr: str) -> Refundable:
        """The sale on a receipt (its number typed, or its QR code scanned), with what is left to return."""
        words = receipt_or_qr.split()
        receipt = next((w for w in words if w.upper().startswith(f"{self.ctx.till_id}-")), receipt_or_qr.strip())
        found = self.store.find_sales(receipt=receipt.upper())
        if not found:
            raise BadInput(N_("no sale with receipt number {receipt}"), receipt=receipt)
        original = found[0]
        return refundable(original, self.store.find_sales(original_uuid=original["uuid"]))

    def refund(self, receipt: str, quantities: dict[int, int], reason: str, approval: Approval | None = None,
               all_cash: bool = False) -> Paid:
        """Return items of a sale: a new record linked to it, never more than was sold.
        Money goes back to the original tenders (all_cash: in cash). Needs a manager."""
        return self._reverse("refund", self.find_refundable(receipt), quantities, reason, approval, all_cash)

    def last_sale(self) -> Refundable | None:
        """This till's last sale, with what was returned of it: what void_last_sale reverses
        (the UI shows it before a manager approves)."""
        last = self.store.find_sales(last_of_till=self.ctx.till_id)
        return refundable(last[0], self.store.find_sales(original_uuid=last[0]["uuid"])) if last else None

    def void_last_sale(self, reason: str, approval: Approval | None = None, shown: str | None = None) -> Paid:
        """Reverse this till's last sale completely (a linked void), e.g. rung up by mistake.
        shown: the uuid of the sale the manager was shown; refused if another sale came since."""
        sale = self.last_sale()
        if sale is None:
            raise CartError(N_("there is no sale to void"))
        if shown is not None and sale.original["uuid"] != shown:
            raise CartError(N_("another sale ({receipt}) was stored meanwhile: look again before voiding"),
                            receipt=sale.receipt)
        if sale.reversals:
            raise CartError(N_("{receipt} already has a refund: refund the rest instead of voiding it"),
                            receipt=sale.receipt)
        return self._reverse("void", sale, {line.line_no: line.left for line in sale.lines if line.left}, reason,
                             approval, False)

    def _reverse(self, kind: str, sale: Refundable, quantities: dict[int, int], reason: str,
                 approval: Approval | None, all_cash: bool) -> Paid:
        shift = self.shifts.require()
        self.selling.refuse_if_pending("a payment may already be stored: retry it first")
        if sale.fully_returned:
            raise CartError(N_("everything on {receipt} has already been returned"), receipt=sale.receipt)
        if not reason.strip():
            raise CartError(N_("a refund needs a reason") if kind == "refund" else N_("a void needs a reason"))
        check_text(reason, "the reason", REASON_LENGTH)
        refund_lines(sale, quantities)  # checked before a manager's approval is used up
        manager = self.session.require(approval, kind, N_("a refund needs a manager") if kind == "refund"
                                       else N_("a void needs a manager")).manager
        ctx = self.ctx
        uuid = self._through_providers(kind, sale, quantities, reason, manager, shift, all_cash)
        try:
            with self.store.numbered(ctx.till_id, "seq") as unit:
                self.shifts.ensure_still_open(shift)  # a Z taken meanwhile (another process): in no Z
                # the returns so far again, under the numbering lock: two refunds at once (the till
                # and the CLI) must not both return the last item
                current = refundable(sale.original, self.store.find_sales(original_uuid=sale.original["uuid"]))
                reversal = build_reversal(
                    current, quantities, kind=kind, uuid=uuid, till_id=ctx.till_id, seq=unit.number,
                    cashier=self.session.cashier, at=ctx.clock(), shift_uuid=shift["uuid"], reason=reason,
                    approved_by=manager, cash_step=ctx.cash_step, all_cash=all_cash)
                stored = self.selling.commit(unit, reversal)
        except NumberingBusy as err:  # nothing numbered, nothing stored
            raise NotDurable(busy_refusal(err)) from None
        return self.selling.finish(reversal, stored)

    def _through_providers(self, kind: str, sale: Refundable, quantities: dict[int, int], reason: str, manager: str,
                           shift: dict[str, Any], all_cash: bool) -> str:
        """The reversal's uuid, after the money its mobile tenders give back was refunded through the
        code-payment provider that charged it (blocking; app/payments.py CodePayments.refund: the
        refund attempt durable before the call, never refunded twice). A refund of this sale asked
        of a provider before and not stored yet is stored now under its own uuid (the same
        amounts, or refused). Tenders the till did not charge (a reference typed by hand) are
        given back as before."""
        payments = self.payments
        original_uuid = sale.original["uuid"]
        if payments is None:
            return str(uuidlib.uuid4())
        earlier = payments.open_refund(original_uuid)
        uuid = earlier["sale_uuid"] if earlier is not None else str(uuidlib.uuid4())
        preview = build_reversal(sale, quantities, kind=kind, uuid=uuid, till_id=self.ctx.till_id, seq=0,
                                 cashier=self.session.cashier, at=self.ctx.clock(), shift_uuid=shift["uuid"],
                                 reason=reason, approved_by=manager, cash_step=self.ctx.cash_step, all_cash=all_cash)
        charged = [(t, paid) for t in preview.tenders if t.kind == "mobile"
                   if (paid := payments.paid_by_code(original_uuid, t.reference)) is not None]
        if earlier is not None and not any(paid["out_trade_no"] == earlier["out_trade_no"] and -t.amount
                                           == earlier["amount"] for t, paid in charged):
            raise CodePaymentRefused(N_("an earlier refund of {receipt} through {provider} ({amount}) is not recorded "
                                        "yet: refund those same items first"), receipt=sale.receipt,
                                     provider=earlier["provider"], amount=self.ctx.currency.format(earlier["amount"]))
        for tender, paid in charged:
            payments.refund(paid, uuid, -tender.amount, reason)
        return uuid
