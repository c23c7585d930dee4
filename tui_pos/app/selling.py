"""Selling: the cart in progress (saved on every change), held sales, tenders, and paying, which
numbers the sale and makes it durable in one unit of work under the numbering lock."""

from __future__ import annotations

import functools
import threading
import uuid as uuidlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from tui_pos.app.context import TillContext, busy_refusal, log, storage_refusal
from tui_pos.app.ports import Document, NumberedUnit, TillStore, Waker
from tui_pos.app.session import Session
from tui_pos.app.shifts import Shifts
from tui_pos.domain.auth import Approval
from tui_pos.domain.cart import Cart, check_price
from tui_pos.domain.catalog import Catalog
from tui_pos.domain.errors import (
    N_,
    CartError,
    DocumentFailed,
    HeldNotSaved,
    NotDurable,
    NumberingBusy,
    PaymentPending,
    StorageFailed,
    TenderError,
)
from tui_pos.domain.money import format_bp, percent_to_bp, round_to_step
from tui_pos.domain.pricing import Discount
from tui_pos.domain.sale import Sale, build_sale
from tui_pos.domain.storage import Stored
from tui_pos.domain.tender import Tender, require_taken, settle

CART_DOCUMENT = "cart.json"
HELD_DOCUMENT = "held.json"


@dataclass(frozen=True)
class Due:
    total: int
    paid: int
    left: int  # exact amount still to pay
    cash_left: int  # the same, if the rest is paid in cash (cash rounding applied)


@dataclass(frozen=True)
class HeldSale:
    cart: Cart
    held_at: str
    cashier: str


@dataclass(frozen=True)
class Paid:
    """A sale acknowledged as durable: stored says where ('sqlite' or 'journal')."""

    sale: Sale
    stored: Stored
    warning: str = ""  # e.g. the clock reads earlier than the last sale: show it, the sale stands


Result = TypeVar("Result")


def one_at_a_time(method: Callable[..., Result]) -> Callable[..., Result]:
    """A change of the sale in progress, made whole before the next begins: a worker (a code
    payment's tender put back by resolve() at start-up) and the cashier's scans change the same
    cart, and each computes its new cart from the one it read."""
    @functools.wraps(method)
    def serialized(self: Selling, *args: Any, **kwargs: Any) -> Result:
        with self.cart_lock:
            return method(self, *args, **kwargs)
    return serialized


def what(sale: Sale) -> str:
    """'sale T1-000012', 'refund T1-000013 of T1-000012' (for the log)."""
    return f"{sale.kind} {sale.receipt}" + (f" of {sale.original_receipt}" if sale.original_receipt else "")


class Selling:
    def __init__(self, ctx: TillContext, store: TillStore, catalog: Catalog, session: Session, shifts: Shifts,
                 cart_document: Document | None, held_document: Document):
        """cart_document None: one-shot sales (the CLI), which neither restore nor overwrite the
        till's saved sale in progress."""
        self.ctx = ctx
        self.store = store
        self.catalog = catalog
        self.session = session
        self.shifts = shifts
        self.replayer: Waker | None = None  # told when a sale went to the journal
        self._cart_doc = cart_document
        self._held_doc = held_document
        self.pending: Sale | None = None  # refused with an unknown outcome: retry, never edit
        self._last_sale: tuple[str, str] | None = None  # (completed_at, receipt) of the latest stored sale
        self.cart_save_error = ""
        self.cart_lock = threading.RLock()  # see one_at_a_time
        self.discount_limit_bp = percent_to_bp(ctx.config.discount_limit)
        self.restored = False
        self.restored_unverified = False  # restored while the database could not say whether it was paid
        self.cart = self._restore_cart()

    # -- the cart ---------------------------------------------------------------------------
    def _new_cart(self) -> Cart:
        return Cart(uuid=str(uuidlib.uuid4()), opened_at=self.ctx.clock())

    def _restore_cart(self) -> Cart:
        saved = self._cart_doc.load() if self._cart_doc else None
        if saved and saved.get("lines"):
            cart = Cart.from_record(saved)
            recorded = self.store.is_recorded(cart.uuid)
            if recorded is not True and cart.uuid not in {h["cart"]["uuid"] for h in self._held_records()}:
                self.restored = True
                if recorded is None:  # its payment may be stored already: keep the lines, not the identity
                    self.restored_unverified = True
                    return replace(cart, uuid=str(uuidlib.uuid4()))
                return cart
            self._discard_saved_cart()  # stored (or held): never restore it again
        return self._new_cart()

    def refuse_if_pending(self, message: str) -> None:
        if self.pending is not None:
            raise PaymentPending(message)

    def _set_cart(self, cart: Cart, sync: bool = True) -> Cart:
        self.refuse_if_pending("the last payment may already be stored: retry it before changing the sale")
        self.cart = cart
        if self._cart_doc is None:
            return cart
        try:
            self._cart_doc.save(cart.to_record(), sync=sync)
            self.cart_save_error = ""
        except DocumentFailed as err:
            self.cart_save_error = f"the sale in progress could not be saved: {err}"
        return cart

    def _discard_saved_cart(self) -> None:
        if self._cart_doc is not None:
            self._cart_doc.discard()

    @one_at_a_time
    def scan(self, code: str, qty: int = 1, unit_price: int | None = None, approval: Approval | None = None) -> Cart:
        """Add an item. unit_price: keyed in; for an open-price item the cashier's to give, for
        any other a price override (a manager's approval, audited with the catalog price)."""
        product = self.catalog.lookup(code)
        override = unit_price is not None and not product.open_price and unit_price != product.price
        approved = None
        if override:
            assert unit_price is not None  # an override is a keyed price
            check_price(unit_price)
            approved = self.session.require(approval, "price_override", N_(
                "{name}: a price other than the catalog's is a price override: it needs a manager"), name=product.name)
        cart = self._set_cart(self.cart.add(product, self.catalog.rate_of(product), qty, unit_price))
        if approved is not None:
            self.session.audit("price_override", approved, subject=product.barcode, amount=unit_price,
                               detail={"sale": cart.uuid, "line": cart.lines[-1].line_id, "was": product.price})
        return cart

    @one_at_a_time
    def set_qty(self, line_id: int, qty: int) -> Cart:
        return self._set_cart(self.cart.set_qty(line_id, qty))

    @one_at_a_time
    def void_line(self, line_id: int) -> Cart:
        return self._set_cart(self.cart.void(line_id))

    @one_at_a_time
    def set_price(self, line_id: int, unit_price: int, approval: Approval | None = None) -> Cart:
        """Price override: always a manager's decision."""
        check_price(unit_price)
        line = self.cart.line(line_id)
        approved = self.session.require(approval, "price_override", N_("changing a price needs a manager"))
        cart = self._set_cart(self.cart.set_price(line_id, unit_price))
        self.session.audit("price_override", approved, subject=line.barcode, amount=unit_price,
                           detail={"sale": cart.uuid, "line": line_id, "was": line.unit_price})
        return cart

    @one_at_a_time
    def discount_line(self, line_id: int, discount: Discount | None, approval: Approval | None = None) -> Cart:
        line = self.cart.line(line_id)
        manager = self._check_discount(discount, line.unit_price * line.qty, approval)
        cart = self._set_cart(self.cart.discount_line(line_id, discount))
        self._audit_discount(manager, discount, cart, line_id)
        return cart

    @one_at_a_time
    def discount_order(self, discount: Discount | None, approval: Approval | None = None) -> Cart:
        base = self.cart.totals(self.ctx.config.prices_include_tax).total
        manager = self._check_discount(discount, base, approval)
        cart = self._set_cart(self.cart.discount_order(discount))
        self._audit_discount(manager, discount, cart, None)
        return cart

    def _check_discount(self, discount: Discount | None, base: int, approval: Approval | None) -> Approval | None:
        """The manager's approval of a discount over the limit (None: within the limit)."""
        if discount is None:
            return None
        limit = self.discount_limit_bp
        too_big = discount.value > limit if discount.kind == "percent" else discount.amount_off(base) * 10000 > base * limit
        if too_big:
            return self.session.require(approval, "discount", N_("a discount over {limit} needs a manager"),
                                        limit=format_bp(limit))
        return None

    def _audit_discount(self, approved: Approval | None, discount: Discount | None, cart: Cart, line_id: int | None) -> None:
        if approved is not None and discount is not None:
            self.session.audit("discount_approval", approved, subject=f"line {line_id}" if line_id else "order",
                               amount=discount.value, detail={"sale": cart.uuid, "kind": discount.kind})

    def no_sale(self, approval: Approval | None = None, reason: str = "") -> None:
        """Opening the cash drawer without a sale needs a manager (the caller then kicks it)."""
        approved = self.session.require(approval, "no_sale", N_("opening the drawer without a sale needs a manager"))
        shift = self.shifts.shift
        self.session.audit("no_sale", approved, subject=reason or None, required=True,
                           detail={"shift": shift["uuid"] if shift else None})

    # -- held sales ---------------------------------------------------------------------------
    def _held_records(self) -> list[dict[str, Any]]:
        saved = self._held_doc.load()
        return saved["held"] if saved else []

    def _save_held(self, held: list[dict[str, Any]]) -> None:
        try:
            self._held_doc.save({"held": held})
        except DocumentFailed as err:
            raise HeldNotSaved(f"held sales could not be saved: {err}") from None

    @one_at_a_time
    def take_identity(self, uuid: str) -> Cart:
        """The sale in progress becomes sale uuid (whose code payment was charged and its sale not
        stored: app/payments.py finish), so that the sale stored carries it. Refused once it has
        payments of its own, or when that sale is stored already."""
        if self.cart.tenders:
            raise CartError(N_("the sale in progress has payments of its own: complete or hold it first"))
        if self.store.is_recorded(uuid) is not False:
            raise CartError(N_("that sale is stored already, or the database cannot say"))
        return self._set_cart(replace(self.cart, uuid=uuid))

    def held_sales(self) -> list[HeldSale]:
        return [
            HeldSale(cart=Cart.from_record(h["cart"]), held_at=h["held_at"], cashier=h["cashier"])
            for h in self._held_records() if h["cart"]["uuid"] != self.cart.uuid
        ]

    @one_at_a_time
    def hold(self) -> None:
        """Park the sale in progress (durably) and start a fresh one."""
        if self.cart.is_empty:
            raise CartError(N_("there is nothing to hold"))
        self._set_cart(self.cart)  # refuses while a payment is pending
        self._save_held(self._held_records() + [
            {"cart": self.cart.to_record(), "held_at": self.ctx.clock(), "cashier": self.session.cashier}])
        self.cart = self._new_cart()
        self._discard_saved_cart()

    @one_at_a_time
    def recall(self, uuid: str) -> Cart:
        """Bring a held sale back; the current sale must be empty (hold it first)."""
        if not self.cart.is_empty:
            raise CartError(N_("finish or hold the current sale before recalling another"))
        held = self._held_records()
        entry = next((h for h in held if h["cart"]["uuid"] == uuid), None)
        if entry is None:
            raise CartError(N_("that held sale is no longer there"))
        cart = self._set_cart(Cart.from_record(entry["cart"]))  # saved first: a crash keeps it somewhere
        self._save_held([h for h in held if h is not entry])
        return cart

    def delete_held(self, uuid: str, approval: Approval | None = None) -> None:
        """Throw a held sale away: a manager's decision, audited."""
        held = self._held_records()
        entry = next((h for h in held if h["cart"]["uuid"] == uuid), None)
        if entry is None:
            raise CartError(N_("that held sale is no longer there"))
        approved = self.session.require(approval, "delete_held", N_("deleting a held sale needs a manager"))
        cart = Cart.from_record(entry["cart"])
        self.session.audit("delete_held", approved, subject=uuid,
                           amount=cart.totals(self.ctx.config.prices_include_tax).total,
                           detail={"held_by": entry["cashier"], "lines": len(cart.active_lines)}, required=True)
        self._save_held([h for h in held if h is not entry])

    @one_at_a_time
    def cancel(self) -> None:
        """Abandon the sale in progress (the UI confirms first)."""
        self.refuse_if_pending("the last payment may already be stored: retry it, it cannot be cancelled")
        self.cart = self._new_cart()
        self._discard_saved_cart()

    # -- payment ----------------------------------------------------------------------------
    def due(self) -> Due:
        """What the tender screen shows: total, paid so far, and what is left (exact and in cash)."""
        total = self.cart.totals(self.ctx.config.prices_include_tax).total
        paid = sum(t.amount for t in self.cart.tenders)
        left = max(total - paid, 0)
        cash_left = max(round_to_step(total - sum(t.amount for t in self.cart.tenders if t.kind != "cash"),
                                      self.ctx.cash_step) - sum(t.amount for t in self.cart.tenders if t.kind == "cash"), 0)
        return Due(total, paid, left, cash_left if left else 0)

    @one_at_a_time
    def add_tender(self, tender: Tender, sync: bool = True) -> Cart:
        """Record a payment taken (saved with the sale in progress before anything else happens).
        sync=False: saved to the page cache only, for a tender whose own record is durable already
        (a code payment's paid outcome: after a power cut, resolve() puts it back on the sale)."""
        if self.cart.is_empty:
            raise CartError(N_("the sale is empty: scan an item first"))
        require_taken(tender)
        non_cash = sum(t.amount for t in self.cart.tenders + (tender,) if t.kind != "cash")
        if non_cash > self.cart.totals(self.ctx.config.prices_include_tax).total:
            raise TenderError(N_("card and mobile payments would be more than the total; no change is given on them"))
        return self._set_cart(self.cart.add_tender(tender), sync=sync)

    @one_at_a_time
    def remove_tender(self, index: int) -> Cart:
        return self._set_cart(self.cart.remove_tender(index))

    @one_at_a_time
    def pay(self, tenders: Sequence[Tender] | None = None) -> Paid:
        """Complete the sale with its tenders (or these). Returns only once it is durable;
        NotDurable keeps the cart, tenders included, intact."""
        if self.pending is not None:
            if self.pending.kind != "sale":
                raise PaymentPending(N_("the last {kind} may already be stored: retry it first"), kind=self.pending.kind)
            return self.retry()
        if self.cart.is_empty:
            raise CartError(N_("the sale is empty: scan an item first"))
        shift = self.shifts.require()
        ctx, cart = self.ctx, self.cart
        tenders = cart.tenders if tenders is None else tuple(tenders)
        totals = cart.totals(ctx.config.prices_include_tax)  # priced once, not twice
        settlement = settle(totals.total, tenders, ctx.cash_step, ctx.currency)
        try:
            with self.store.numbered(ctx.till_id, "seq") as unit:
                self.shifts.ensure_still_open(shift)  # a Z taken meanwhile (another process): in no Z
                sale = build_sale(cart, totals, tuple(tenders), settlement, till_id=ctx.till_id, seq=unit.number,
                                  cashier=self.session.cashier, completed_at=ctx.clock(), currency=ctx.currency.code,
                                  tax_included=ctx.config.prices_include_tax, shift_uuid=shift["uuid"])
                stored = self.commit(unit, sale)
        except NumberingBusy as err:  # nothing numbered, nothing stored: the cart is kept as it is
            raise NotDurable(busy_refusal(err)) from None
        return self.finish(sale, stored)

    def commit(self, unit: NumberedUnit, sale: Sale) -> Stored:
        """Store a numbered sale, refund or void; keep it for a retry when the outcome is unknown."""
        try:
            return unit.commit(sale.to_record())
        except StorageFailed as err:
            if err.outcome_unknown:
                self.pending = sale
            self._log_refusal(sale, err)
            raise NotDurable(storage_refusal(err)) from None

    @one_at_a_time
    def retry(self) -> Paid:
        """Store again a sale whose first attempt ended with an unknown outcome (same uuid)."""
        sale = self.pending
        if sale is None:
            raise CartError(N_("there is no payment waiting to be retried"))
        try:
            stored = self.store.commit(sale.to_record())
        except StorageFailed as err:
            self._log_refusal(sale, err)
            raise NotDurable(storage_refusal(err)) from None
        self.pending = None
        return self.finish(sale, stored)

    def finish(self, sale: Sale, stored: Stored) -> Paid:
        """A sale, refund or void is stored: log it, start the next sale, wake the replay."""
        fmt = self.ctx.currency.format
        log.info("%s: total %s (%s%s) by %s%s, stored in %s", what(sale), fmt(sale.total),
                 ", ".join(f"{t.kind} {fmt(t.amount)}" for t in sale.tenders),
                 f", change {fmt(sale.change)}" if sale.change else "", sale.cashier,
                 f", approved by {sale.approved_by}" if sale.approved_by else "", stored)
        if sale.kind == "sale":  # a refund or void leaves the sale in progress alone
            self.cart = self._new_cart()
            self._discard_saved_cart()
        if stored == "journal" and self.replayer is not None:
            self.replayer.wake()
        return Paid(sale, stored, self._check_clock(sale))

    def _check_clock(self, sale: Sale) -> str:
        """A sale stamped before its shift opened or before the last stored sale: the clock went
        back. Warned (the sale stands: it is stored) and audited; doctor flags such sales too."""
        if self._last_sale is None:  # read once per process: one indexed lookup
            self._last_sale = self.store.last_sale_at(self.ctx.till_id, before_seq=sale.seq) or ("", "")
        last_at, last_receipt = self._last_sale
        at = sale.completed_at
        if at >= last_at:
            self._last_sale = (at, sale.receipt)
        shift = self.shifts.shift or {}
        opened_at = shift.get("opened_at") or ""
        if at >= last_at and at >= opened_at:
            return ""
        before = [f"the last sale {last_receipt} at {last_at}"] if at < last_at else []
        if at < opened_at:
            before.append(f"the opening of shift {shift.get('number')} at {opened_at}")
        warning = (f"the clock reads {at}, before {' and '.join(before)}: it was set back. {sale.receipt} is stored "
                   "with that time; set the clock right (timedatectl; enable NTP), then check 'tui-pos doctor'")
        log.warning("%s", warning)
        self.session.audit("clock_back", None, subject=sale.receipt,
                           detail={"at": at, "last_sale_at": last_at or None, "shift_opened_at": opened_at or None})
        return warning

    def _log_refusal(self, sale: Sale, err: StorageFailed) -> None:
        log.error("NOT STORED: %s (total %s); outcome %s; database: %s; journal: %s", what(sale),
                  self.ctx.currency.format(sale.total),
                  "unknown (kept for a retry)" if err.outcome_unknown else "not stored", err.sqlite_error,
                  err.journal_error)
