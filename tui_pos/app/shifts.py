"""Shifts: opening one with the float, paid-in and paid-out, the X report (the shift so far) and
the Z report (count the drawer, compare, close). One open shift per till; every shift record is
numbered and stored under the numbering lock, so that a Z taken by another process (the CLI)
cannot slip between a check and the record it allows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any, cast

from tui_pos.app.context import REASON_LENGTH, TillContext, log, storing
from tui_pos.app.ports import Document, TillStore
from tui_pos.app.session import Session
from tui_pos.domain.auth import Approval, ApprovalRequired
from tui_pos.domain.errors import (
    N_,
    BadInput,
    DocumentFailed,
    NoShiftOpen,
    PaymentPending,
    ShiftAlreadyOpen,
    ShiftClosedMeanwhile,
    check_text,
)
from tui_pos.domain.records import CashKind, CashMovement, ShiftClosed, ShiftOpened, new_uuid
from tui_pos.domain.shift import ShiftReport, shift_report

SHIFT_DOCUMENT = "shift.json"  # the open shift, for when the database cannot say


class Shifts:
    def __init__(self, ctx: TillContext, store: TillStore, session: Session, document: Document):
        self.ctx = ctx
        self.store = store
        self.session = session
        self.document = document  # the open shift and the last numbers seen, beside the journal too
        self.shift: dict[str, Any] | None = self._load()

    # -- the open shift ---------------------------------------------------------------------
    def _load(self) -> dict[str, Any] | None:
        """The open shift: from the database (and journal), else from the saved copy."""
        return self.store.current_shift(self.ctx.till_id, self.document.load)

    def refresh(self) -> dict[str, Any] | None:
        """Read the open shift again (another process, e.g. the CLI, may have opened or closed one)."""
        self.shift = self._load()
        return self.shift

    def require(self) -> dict[str, Any]:
        if self.shift is None:
            raise NoShiftOpen(N_("no shift is open: open a shift (count the float into the drawer) first"))
        return self.shift

    def ensure_still_open(self, shift: dict[str, Any]) -> None:
        """Under the numbering lock, before a record joins the shift: not if a Z closed it
        meanwhile (another process): the record would be in no Z report at all."""
        if self.store.shift_closed(shift["uuid"]) or (self.store.state().mode != "ok" and self._closed_elsewhere(shift)):
            self.shift = None
            log.warning("refused: shift %s was closed meanwhile (by another process)", shift["number"])
            raise ShiftClosedMeanwhile(N_("this shift was closed meanwhile (a Z report was taken): open a new shift first"))

    def _closed_elsewhere(self, shift: dict[str, Any]) -> bool:
        """While storage is degraded a Z may be only in the journal: the process that took it also
        saved the shift document (a few small reads, not a scan of the journal). A document older
        than this shift (its save failed) proves nothing."""
        saved = self.document.load() or {}
        return (saved.get("shift") or {}).get("uuid") != shift["uuid"] and saved.get("last_shift", 0) >= shift["number"]

    def _last_numbers(self) -> dict[str, int]:
        """The last shift and Z numbers this till saw used (kept with the shift document), for
        numbering while the database cannot be read."""
        saved = self.document.load() or {}
        return {"last_shift": saved.get("last_shift", 0), "last_z": saved.get("last_z", 0)}

    def _save(self, shift: dict[str, Any] | None, **numbers: int) -> None:
        self.shift = shift
        try:
            self.document.save({"shift": shift, **self._last_numbers(), **numbers}, everywhere=True)
        except DocumentFailed:
            pass  # a fallback copy only: the record itself is durable in the ledger

    # -- opening, paid-in/out ---------------------------------------------------------------
    def open(self, float_amount: int) -> dict[str, Any]:
        """Start a shift with the float counted into the drawer; one open shift per till."""
        if (already := self.refresh()) is not None:
            raise ShiftAlreadyOpen(N_("shift {number} is already open: close it (Z report) first"), number=already["number"])
        if float_amount < 0:
            raise BadInput(N_("the float cannot be negative"))
        ctx = self.ctx
        with storing("a shift record"), \
                self.store.numbered(ctx.till_id, "number", self._last_numbers()["last_shift"]) as unit:
            opened = ShiftOpened(new_uuid(), ctx.till_id, unit.number, opened_at=ctx.clock(),
                                 opened_by=self.session.cashier, float=float_amount)
            stored = unit.commit(opened.to_record())
        record = opened.to_record()
        self._save(record, last_shift=opened.number)
        log.info("shift %d opened by %s, float %s, stored in %s", opened.number, opened.opened_by,
                 ctx.currency.format(float_amount), stored)
        return record

    def cash_movement(self, kind: str, amount: int, reason: str, approval: Approval | None = None) -> dict[str, Any]:
        """Paid-in or paid-out of the drawer, with a reason; a paid-out over the limit needs a manager."""
        shift = self.require()
        if kind not in ("paid_in", "paid_out"):
            raise BadInput(N_("a cash movement is paid_in or paid_out"))
        if amount <= 0:
            raise BadInput(N_("the amount must be more than zero"))
        if not reason.strip():
            raise BadInput(N_("a paid-in needs a reason") if kind == "paid_in" else N_("a paid-out needs a reason"))
        check_text(reason, "the reason", REASON_LENGTH)
        ctx, cashier = self.ctx, self.session.cashier
        manager = None
        limit = ctx.currency.parse(ctx.config.paid_out_limit)

        def over_limit() -> str:  # the limit holds for the shift in total, not for each paid-out
            already = self.store.unapproved_paid_out(shift["uuid"]) if kind == "paid_out" else 0
            if kind != "paid_out" or already + amount <= limit:
                return ""
            return f"a paid-out over {ctx.config.paid_out_limit} needs a manager" + (
                f" (the limit is for the shift: {ctx.currency.format(already)} already paid out without one)"
                if already else "")

        message = over_limit()
        if message:
            manager = self.session.require(approval, "paid_out", message).manager
        # kind: checked above (one of CashKind)
        movement = CashMovement(new_uuid(), shift["uuid"], ctx.till_id, cast(CashKind, kind), amount, reason.strip(),
                                user=cashier, approved_by=manager, at=ctx.clock())
        with storing("a shift record"), self.store.locked() as unit:
            # again under the numbering lock: a Z or paid-outs from another process meanwhile
            self.ensure_still_open(shift)
            refusal = "" if manager else over_limit()
            if refusal:
                raise ApprovalRequired("paid_out", refusal)
            stored = unit.commit(movement.to_record())
        log.info("%s %s by %s%s: %s, stored in %s", kind.replace("_", "-"), ctx.currency.format(amount), cashier,
                 f", approved by {manager}" if manager else "", movement.reason, stored)
        return movement.to_record()

    # -- X and Z ----------------------------------------------------------------------------
    def x_report(self) -> ShiftReport:
        """The shift so far (sales still in the journal included)."""
        return self.report(self.require())

    def report(self, shift: dict[str, Any]) -> ShiftReport:
        """Replay first where possible; whatever stays in the journal is counted from there."""
        if self.store.state().journal_backlog:
            self.store.replay()
        facts, journaled, readable = self.store.shift_totals(shift["uuid"])
        return shift_report(shift, facts, taken_at=self.ctx.clock(), taken_by=self.session.cashier,
                            journaled=journaled, database_readable=readable)

    def close(self, counted: int, counted_detail: Sequence[tuple[str, int]] = (), approval: Approval | None = None,
              payment_pending: bool = False) -> ShiftReport:
        """The Z report: count the drawer, compare with what is expected, close the shift.
        Being further over or short than the limit needs a manager."""
        shift = self.refresh()
        if shift is None:  # another process (the CLI) may have closed it
            raise NoShiftOpen(N_("no shift is open: it was closed already (see the last Z report)"))
        if payment_pending:
            raise PaymentPending(N_("a payment may already be stored: retry it before closing the shift"))
        if counted < 0:
            raise BadInput(N_("counted cash cannot be negative"))
        ctx, cashier = self.ctx, self.session.cashier
        fmt = ctx.currency.format
        x = self.report(shift)
        manager = None
        limit = ctx.currency.parse(ctx.config.z_difference_limit)
        if abs(counted - x.expected_cash) > limit:
            manager = self.session.require(
                approval, "close_shift", N_("the drawer is {amount} over: a manager must close the shift")
                if counted > x.expected_cash else N_("the drawer is {amount} short: a manager must close the shift"),
                amount=ctx.currency.format(abs(counted - x.expected_cash), True)).manager
        with storing("a shift record"), \
                self.store.numbered(ctx.till_id, "z_number", self._last_numbers()["last_z"]) as unit:
            # again under the numbering lock: a sale stored since the X above (another process)
            # must be in this Z, and its cash in what is expected
            self.ensure_still_open(shift)
            final = self.report(shift)
            if manager is None and abs(counted - final.expected_cash) > limit:
                raise ApprovalRequired("close_shift", N_("a sale was stored meanwhile and the drawer is now out by more "
                                                         "than the limit: a manager must close the shift"))
            head = self.store.audit_head()
            z = replace(final, z_number=unit.number, counted=counted, counted_detail=tuple(counted_detail),
                        audit_head=head[1] if head else None)
            closed = ShiftClosed(new_uuid(), shift["uuid"], ctx.till_id, unit.number, closed_at=z.taken_at,
                                 closed_by=cashier, approved_by=manager, counted=counted, expected=z.expected_cash,
                                 difference=counted - z.expected_cash, report=z.to_dict())  # = z.difference (counted)
            stored = unit.commit(closed.to_record())
        self._save(None, last_z=z.z_number or 0)
        log.info("Z %s: shift %s closed by %s%s, net sales %s, counted %s, expected %s, difference %s, stored in %s",
                 z.z_number, shift["number"], cashier, f", approved by {manager}" if manager else "",
                 fmt(z.net_sales), fmt(counted), fmt(z.expected_cash), fmt(z.difference or 0), stored)
        return z

    def z_reports(self, number: int | None = None) -> list[ShiftReport]:
        """Stored Z reports of this till, newest first (one, by number)."""
        return [ShiftReport.from_dict(r["report"]) for r in self.store.z_reports(self.ctx.till_id, number)]
