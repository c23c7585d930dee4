"""The Till: the one API the UI and the CLI call to sell. It owns the cart in progress (saved on
every change), prices it, checks tenders, and hands the finished sale to the ledger.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import tomllib
import uuid as uuidlib
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any, Callable, Sequence

from tui_pos.config import CONFIG_NAME, Config, ConfigError
from tui_pos.store.background import BackgroundReplay
from tui_pos.domain.cart import Cart, check_price
from tui_pos.domain.catalog import Catalog, Product, TaxRate
from tui_pos.domain.errors import BadInput, CartError, NotDurable, StorageError, TenderError, check_text
from tui_pos.domain.money import Currency, format_bp, percent_to_bp, round_to_step
from tui_pos.domain.pricing import Discount
from tui_pos.app.clock import utc_now
from tui_pos.app.reports import sales_report
from tui_pos.domain.reports import TOP_PRODUCTS, SalesReport
from tui_pos.domain.refund import Refundable, build_reversal, refund_lines, refundable
from tui_pos.domain.sale import Sale, build_sale
from tui_pos.domain.shift import ShiftReport, shift_report
from tui_pos.domain.tender import Tender, require_taken, settle
from tui_pos.app.lockout import PinLockout
from tui_pos.domain.auth import Approval, ApprovalRequired, LoginFailed, PinRefused, User
from tui_pos.store.audit import event_record
from tui_pos.store.documents import DocumentFailed, DurableDocument
from tui_pos.store.journal import Journal
from tui_pos.store.ledger import Ledger, ReplayResult, StorageFailed, StorageState, Stored
from tui_pos.store.sequence import NumberingBusy

CART_DOCUMENT = "cart.json"
HELD_DOCUMENT = "held.json"
SHOP_SNAPSHOT = "shop.json"  # catalog and users, beside the journal: sell and log in without SQLite
SHIFT_DOCUMENT = "shift.json"  # the open shift, for when the database cannot say
LOCKOUT_DOCUMENT = "lockout.json"  # wrong PINs in a row, per user, shared by every process
LOCKOUT_LOCK = "lockout.lock"  # held while a PIN is checked and counted, by every process
REASON_LENGTH = 100  # a refund, void, paid-in or paid-out reason as typed

# What support reads in logs/tui-pos.log: logins and failed logins (by a user's name, or
# UNKNOWN_USER: never what was typed, which may be a PIN), every sale, refund and void with its
# receipt number and amounts as money, what was refused and why, shifts opened and closed, Z reports.
log = logging.getLogger("tui_pos.app.till")


def _logs_refusal(what: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A Till operation whose refusal (no shift open, nothing left to refund, a bad amount...)
    is logged with the reason. Refusals for want of a manager, a PIN or storage log themselves."""
    def decorate(method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        def logged(self: Till, *args: Any, **kwargs: Any) -> Any:
            try:
                return method(self, *args, **kwargs)
            except (BadInput, CartError, TenderError) as err:
                log.warning("refused: %s by %s: %s", what, self.cashier or "nobody logged in", err)
                raise
        return logged
    return decorate


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


def currency_of(config: Config) -> Currency:
    return Currency(config.currency_code, config.currency_symbol, config.currency_exponent)


def tax_rates_of(config: Config) -> dict[str, TaxRate]:
    return {code: TaxRate(code, percent_to_bp(pct)) for code, pct in config.tax_rates.items()}


def open_ledger(config: Config) -> Ledger:
    journal = Journal(config.storage.journal_dirs, config.till_id, config.data_dir)
    return Ledger(config.db_path, journal, busy_timeout_ms=config.storage.busy_timeout_ms,
                  retry_budget_ms=config.storage.retry_budget_ms)


def currency_refusal(config: Config, stored: dict[str, Any] | None) -> str:
    """Why config.toml's currency cannot be used with the amounts stored in `stored`, or ''."""
    if stored is None or (stored["code"], stored["exponent"]) == (config.currency_code, config.currency_exponent):
        return ""
    misread = Currency(config.currency_code, "", config.currency_exponent).format(1050)
    return (f"{config.data_dir / CONFIG_NAME} says [shop] currency = \"{config.currency_code}\", exponent = "
            f"{config.currency_exponent}, but the amounts stored here are {stored['code']} with exponent "
            f"{stored['exponent']} (10.50 would read as {misread}): set currency = \"{stored['code']}\" and "
            f"exponent = {stored['exponent']} back. The currency cannot change once sales are stored; a new "
            "currency needs a new data directory")


def shop_snapshot(config: Config) -> DurableDocument:
    return DurableDocument(SHOP_SNAPSHOT, config.storage.journal_dirs)


def config_digests(config: Config) -> dict[str, str]:
    """A digest of every setting in config.toml (values are not kept: a hook may hold a token)."""
    try:
        raw = tomllib.loads((config.data_dir / CONFIG_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    flat: dict[str, str] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), inner)
        else:
            flat[prefix] = hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:16]

    walk("", raw)
    return flat


def load_catalog(config: Config, ledger: Ledger) -> Catalog:
    """From SQLite; if the database cannot be read, from the snapshot kept beside the journal."""
    rows = ledger.products()
    if rows is None:
        snapshot = shop_snapshot(config).load()
        rows = snapshot["products"] if snapshot else []
    products = [Product(**{**row, "open_price": bool(row["open_price"])}) for row in rows]
    return Catalog(products, tax_rates_of(config))



def pin_lockout(config: Config) -> PinLockout:
    """The data directory's PIN lockout: one count for every process (the till, the CLI, restore)."""
    return PinLockout(DurableDocument(LOCKOUT_DOCUMENT, [config.data_dir]), config.pin_attempts,
                      config.pin_lockout_s, config.data_dir / LOCKOUT_LOCK)

class Till:
    def __init__(self, config: Config, ledger: Ledger, catalog: Catalog, cashier: str,
                 clock: Callable[[], str] = utc_now, keep_cart: bool = True):
        """keep_cart=False for one-shot sales (the CLI): they neither restore nor overwrite the
        till's saved sale in progress."""
        self.config = config
        self.ledger = ledger
        self.catalog = catalog
        self.cashier = cashier
        self.clock = clock
        self.currency = currency_of(config)
        self.cash_step = self.currency.parse(config.cash_rounding)
        self._cart_doc = DurableDocument(CART_DOCUMENT, [config.data_dir, *config.storage.journal_dirs]) if keep_cart else None
        self._pending: Sale | None = None  # refused with an unknown outcome: retry, never edit
        self._last_sale: tuple[str, str] | None = None  # (completed_at, receipt) of the latest stored sale
        self._replayer: BackgroundReplay | None = None
        self.cart_save_error = ""
        self.user: User | None = None
        self._issued: dict[str, tuple[str, str]] = {}  # token -> (manager, action) of approvals given out, unused
        self.discount_limit_bp = percent_to_bp(config.discount_limit)
        self._held_doc = DurableDocument(HELD_DOCUMENT, [config.data_dir, *config.storage.journal_dirs])
        self.restored = False
        self.restored_unverified = False  # restored while the database could not say whether it was paid
        self.cart = self._restore_cart()
        self._shift_doc = DurableDocument(SHIFT_DOCUMENT, [config.data_dir, *config.storage.journal_dirs])
        self.shift = self._load_shift()
        self.lockout = pin_lockout(config)

    @classmethod
    def open(cls, config: Config, cashier: str, replay: bool = True, keep_cart: bool = True,
             clock: Callable[[], str] = utc_now) -> Till:
        """Open the till: replay what the journal holds first, so the database is complete."""
        ledger = open_ledger(config)
        ledger.check_anchor(config.till_id, clock())  # before anything moves the anchor
        if replay:
            ledger.replay()
        else:
            ledger.refresh_backlog()
        ledger.note_config(config.till_id, config_digests(config))
        refusal = currency_refusal(config, ledger.fix_currency(config.currency_code, config.currency_exponent))
        if refusal:
            ledger.close()
            raise ConfigError(refusal)
        try:
            ledger.journal.key(create=True)  # now, not when the data disk fails and a sale needs the journal
        except OSError:
            pass  # the first journaled sale tries again
        return cls(config, ledger, load_catalog(config, ledger), cashier, clock=clock, keep_cart=keep_cart)

    def close(self) -> None:
        if self._replayer is not None:
            self._replayer.stop()
        self.lockout.close()
        self.ledger.close()

    def start_background_replay(self, on_result: Callable[[ReplayResult], None] | None = None) -> None:
        """For a long-running till: replay every replay_interval_s while sales wait in the journal."""
        self._replayer = BackgroundReplay(self.ledger, self.config.storage.replay_interval_s, on_result)
        self._replayer.start()

    # -- the cart ---------------------------------------------------------------------------
    def _new_cart(self) -> Cart:
        return Cart(uuid=str(uuidlib.uuid4()), opened_at=self.clock())

    def _restore_cart(self) -> Cart:
        saved = self._cart_doc.load() if self._cart_doc else None
        if saved and saved.get("lines"):
            cart = Cart.from_record(saved)
            recorded = self.ledger.is_recorded(cart.uuid)
            if recorded is not True and cart.uuid not in {h["cart"]["uuid"] for h in self._held_records()}:
                self.restored = True
                if recorded is None:  # its payment may be stored already: keep the lines, not the identity
                    self.restored_unverified = True
                    return replace(cart, uuid=str(uuidlib.uuid4()))
                return cart
            self._discard_saved_cart()  # stored (or held): never restore it again
        return self._new_cart()

    def _set_cart(self, cart: Cart) -> Cart:
        if self._pending is not None:
            raise CartError("the last payment may already be stored: retry it before changing the sale")
        self.cart = cart
        if self._cart_doc is None:
            return cart
        try:
            self._cart_doc.save(cart.to_record())
            self.cart_save_error = ""
        except DocumentFailed as err:
            self.cart_save_error = f"the sale in progress could not be saved: {err}"
        return cart

    def _discard_saved_cart(self) -> None:
        if self._cart_doc is not None:
            self._cart_doc.discard()

    def scan(self, code: str, qty: int = 1, unit_price: int | None = None, approval: Approval | None = None) -> Cart:
        """Add an item. unit_price: keyed in; for an open-price item the cashier's to give, for
        any other a price override (a manager's approval, audited with the catalog price)."""
        product = self.catalog.lookup(code)
        override = unit_price is not None and not product.open_price and unit_price != product.price
        approved = None
        if override:
            check_price(unit_price)
            approved = self._require(approval, "price_override",
                                     f"{product.name}: a price other than the catalog's is a price override: it "
                                     "needs a manager")
        cart = self._set_cart(self.cart.add(product, self.catalog.rate_of(product), qty, unit_price))
        if approved is not None:
            self._audit("price_override", approved, subject=product.barcode, amount=unit_price,
                        detail={"sale": cart.uuid, "line": cart.lines[-1].line_id, "was": product.price})
        return cart

    def set_qty(self, line_id: int, qty: int) -> Cart:
        return self._set_cart(self.cart.set_qty(line_id, qty))

    def void_line(self, line_id: int) -> Cart:
        return self._set_cart(self.cart.void(line_id))

    def set_price(self, line_id: int, unit_price: int, approval: Approval | None = None) -> Cart:
        """Price override: always a manager's decision."""
        check_price(unit_price)
        line = self.cart.line(line_id)
        approved = self._require(approval, "price_override", "changing a price needs a manager")
        cart = self._set_cart(self.cart.set_price(line_id, unit_price))
        self._audit("price_override", approved, subject=line.barcode, amount=unit_price,
                    detail={"sale": cart.uuid, "line": line_id, "was": line.unit_price})
        return cart

    def discount_line(self, line_id: int, discount: Discount | None, approval: Approval | None = None) -> Cart:
        line = self.cart.line(line_id)
        manager = self._check_discount(discount, line.unit_price * line.qty, approval)
        cart = self._set_cart(self.cart.discount_line(line_id, discount))
        self._audit_discount(manager, discount, cart, line_id)
        return cart

    def discount_order(self, discount: Discount | None, approval: Approval | None = None) -> Cart:
        base = self.cart.totals(self.config.prices_include_tax).total
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
            return self._require(approval, "discount", f"a discount over {format_bp(limit)} needs a manager")
        return None

    def _audit_discount(self, approved: Approval | None, discount: Discount | None, cart: Cart, line_id: int | None) -> None:
        if approved is not None and discount is not None:
            self._audit("discount_approval", approved, subject=f"line {line_id}" if line_id else "order",
                        amount=discount.value, detail={"sale": cart.uuid, "kind": discount.kind})

    @_logs_refusal("no-sale")
    def no_sale(self, approval: Approval | None = None, reason: str = "") -> None:
        """Opening the cash drawer without a sale needs a manager (the caller then kicks it)."""
        approved = self._require(approval, "no_sale", "opening the drawer without a sale needs a manager")
        self._audit("no_sale", approved, subject=reason or None, required=True,
                    detail={"shift": self.shift["uuid"] if self.shift else None})

    # -- people -----------------------------------------------------------------------------
    def _user_rows(self) -> list[dict[str, Any]]:
        rows = self.ledger.users()
        if rows is None:
            snapshot = shop_snapshot(self.config).load()
            rows = snapshot.get("users", []) if snapshot else []
        return rows

    def check_pin(self, name: str, pin: str) -> User:
        """Whose name and PIN these are (LoginFailed if nobody's), without logging them in: a
        sign-in for one command (the CLI), or unlocking the till. Logged (never the PIN)."""
        user = self._verify_pin(name, pin)
        log.info("PIN accepted for %s (%s)", user.name, user.role)
        return user

    def _verify_pin(self, name: str, pin: str) -> User:
        """Whose name and PIN these are (LoginFailed if nobody's).
        Wrong PINs in a row lock that name out for a while; each failure is audited. A name that
        is nobody's is counted and audited as UNKNOWN_USER: what was typed there may be a PIN."""
        try:
            return self.lockout.verify(self._user_rows(), name, pin, self._now())
        except PinRefused as refused:
            who, left = refused.who, refused.left
            if left is None:  # a guessing attack must show in the audit log, locked or not
                self._audit("login_failed", None, actor=who, detail={"locked": True})
                log.warning("login failed for %s: locked out after too many wrong PINs", who)
                raise
            self._audit("login_failed", None, actor=who)
            log.warning("login failed for %s: wrong name or PIN (%s)", who,
                        f"{left} more tries before a lockout" if left else "now locked out")
            raise LoginFailed(f"{refused}" + (f" ({left} more tries before a lockout)" if left else
                                              f"; {who} is locked for {self.config.pin_lockout_s // 60 or 1} min")) from None

    def login(self, name: str, pin: str) -> User:
        """Check the PIN (slow on purpose: run it off the UI thread) and make this user the cashier."""
        user = self._verify_pin(name, pin)
        self.user, self.cashier = user, user.name
        self._audit("login", None)
        log.info("login %s (%s)", user.name, user.role)
        return user

    def approve(self, name: str, pin: str, action: str, reason: str = "") -> Approval:
        """A manager's PIN turns into an Approval for one kind of action, used once."""
        manager = self._verify_pin(name, pin)
        if not manager.is_manager:
            log.warning("refused: %s is not a manager (asked to approve %s)", manager.name, action)
            raise LoginFailed(f"{manager.name} is not a manager")
        log.info("manager %s approved %s%s", manager.name, action, f" ({reason})" if reason else "")
        approval = Approval(manager.name, action, reason)
        self._issued[approval.token] = (manager.name, action)
        return approval

    def require_manager(self, approval: Approval | None, action: str, message: str) -> str:
        """For core modules beside the Till (user administration): the manager who allows `action`."""
        return self._require(approval, action, message).manager

    def _require(self, approval: Approval | None, action: str, message: str) -> Approval:
        """The approval that allows this action: the manager logged in, or one this Till issued
        for exactly this action and manager (it is used up). ApprovalRequired otherwise."""
        if self.user is not None and self.user.is_manager:
            return Approval(self.user.name, action)
        if approval is None or self._issued.get(approval.token) != (approval.manager, action) or approval.action != action:
            log.info("refused: %s (%s asked by %s)", message, action, self.cashier or "nobody logged in")
            raise ApprovalRequired(action, message)
        del self._issued[approval.token]
        return approval

    def _now(self) -> datetime:
        return datetime.fromisoformat(self.clock())

    def _audit(self, action: str, approved: Approval | None, *, actor: str | None = None, subject: str | None = None,
               amount: int | None = None, detail: dict[str, Any] | None = None, required: bool = False) -> None:
        """Append an audit event (with the approving manager and their reason code). required: the
        operation must not go ahead unrecorded (StorageError); otherwise (logins) a failure to
        record is not a reason to stop the till."""
        if approved is not None and approved.reason:
            detail = {**(detail or {}), "reason": approved.reason}
        record = event_record(self.config.till_id, action, actor or self.cashier or None, subject=subject,
                              amount=amount, approved_by=approved.manager if approved else None, detail=detail,
                              at=self.clock())
        try:
            self.ledger.commit(record)
        except StorageFailed as err:
            if required:
                log.error("refused: %s not done, it could not be recorded (%s)", action, err)
                raise StorageError(f"not done: it could not be recorded ({err})") from None
            log.warning("%s by %s could not be audited (%s)", action, record["actor"], err)
        if action not in ("login", "login_failed"):  # those are logged by _verify_pin and login
            log.info("%s by %s%s%s%s", action, record["actor"], f": {subject}" if subject else "",
                     f", amount {self.currency.format(amount)}" if amount is not None else "",
                     f", approved by {approved.manager}" if approved else "")

    # -- held sales ---------------------------------------------------------------------------
    def _held_records(self) -> list[dict[str, Any]]:
        saved = self._held_doc.load()
        return saved["held"] if saved else []

    def _save_held(self, held: list[dict[str, Any]]) -> None:
        try:
            self._held_doc.save({"held": held})
        except DocumentFailed as err:
            raise CartError(f"held sales could not be saved: {err}") from None

    def held_sales(self) -> list[HeldSale]:
        return [
            HeldSale(cart=Cart.from_record(h["cart"]), held_at=h["held_at"], cashier=h["cashier"])
            for h in self._held_records() if h["cart"]["uuid"] != self.cart.uuid
        ]

    def hold(self) -> None:
        """Park the sale in progress (durably) and start a fresh one."""
        if self.cart.is_empty:
            raise CartError("there is nothing to hold")
        self._set_cart(self.cart)  # refuses while a payment is pending
        self._save_held(self._held_records() + [
            {"cart": self.cart.to_record(), "held_at": self.clock(), "cashier": self.cashier}])
        self.cart = self._new_cart()
        self._discard_saved_cart()

    def recall(self, uuid: str) -> Cart:
        """Bring a held sale back; the current sale must be empty (hold it first)."""
        if not self.cart.is_empty:
            raise CartError("finish or hold the current sale before recalling another")
        held = self._held_records()
        entry = next((h for h in held if h["cart"]["uuid"] == uuid), None)
        if entry is None:
            raise CartError("that held sale is no longer there")
        cart = self._set_cart(Cart.from_record(entry["cart"]))  # saved first: a crash keeps it somewhere
        self._save_held([h for h in held if h is not entry])
        return cart

    def delete_held(self, uuid: str, approval: Approval | None = None) -> None:
        """Throw a held sale away: a manager's decision, audited."""
        held = self._held_records()
        entry = next((h for h in held if h["cart"]["uuid"] == uuid), None)
        if entry is None:
            raise CartError("that held sale is no longer there")
        approved = self._require(approval, "delete_held", "deleting a held sale needs a manager")
        cart = Cart.from_record(entry["cart"])
        self._audit("delete_held", approved, subject=uuid, amount=cart.totals(self.config.prices_include_tax).total,
                    detail={"held_by": entry["cashier"], "lines": len(cart.active_lines)}, required=True)
        self._save_held([h for h in held if h is not entry])

    def cancel(self) -> None:
        """Abandon the sale in progress (the UI confirms first)."""
        if self._pending is not None:
            raise CartError("the last payment may already be stored: retry it, it cannot be cancelled")
        self.cart = self._new_cart()
        self._discard_saved_cart()

    # -- payment ----------------------------------------------------------------------------
    def due(self) -> Due:
        """What the tender screen shows: total, paid so far, and what is left (exact and in cash)."""
        total = self.cart.totals(self.config.prices_include_tax).total
        paid = sum(t.amount for t in self.cart.tenders)
        left = max(total - paid, 0)
        cash_left = max(round_to_step(total - sum(t.amount for t in self.cart.tenders if t.kind != "cash"),
                                      self.cash_step) - sum(t.amount for t in self.cart.tenders if t.kind == "cash"), 0)
        return Due(total, paid, left, cash_left if left else 0)

    def add_tender(self, tender: Tender) -> Cart:
        """Record a payment taken (saved with the sale in progress before anything else happens)."""
        if self.cart.is_empty:
            raise CartError("the sale is empty: scan an item first")
        require_taken(tender)
        non_cash = sum(t.amount for t in self.cart.tenders + (tender,) if t.kind != "cash")
        if non_cash > self.cart.totals(self.config.prices_include_tax).total:
            raise TenderError("card and mobile payments would be more than the total; no change is given on them")
        return self._set_cart(self.cart.add_tender(tender))

    def remove_tender(self, index: int) -> Cart:
        return self._set_cart(self.cart.remove_tender(index))

    @_logs_refusal("sale")
    def pay(self, tenders: Sequence[Tender] | None = None) -> Paid:
        """Complete the sale with its tenders (or these). Returns only once it is durable;
        NotDurable keeps the cart, tenders included, intact."""
        if self._pending is not None:
            if self._pending.kind != "sale":
                raise CartError(f"the last {self._pending.kind} may already be stored: retry it first")
            return self.retry()
        if self.cart.is_empty:
            raise CartError("the sale is empty: scan an item first")
        shift = self._require_shift()
        tenders = self.cart.tenders if tenders is None else tuple(tenders)
        totals = self.cart.totals(self.config.prices_include_tax)  # priced once, not twice
        settlement = settle(totals.total, tenders, self.cash_step, self.currency)
        cart = self.cart
        built: list[Sale] = []

        def build(seq: int) -> dict[str, Any]:
            built.append(build_sale(
                cart, totals, tuple(tenders), settlement, till_id=self.config.till_id, seq=seq,
                cashier=self.cashier, completed_at=self.clock(), currency=self.currency.code,
                tax_included=self.config.prices_include_tax, shift_uuid=shift["uuid"],
            ))
            return built[-1].to_record()

        return self._record_sale(build, built)

    def _record_sale(self, build: Callable[[int], dict[str, Any]], built: list[Sale]) -> Paid:
        """Number and store a sale, refund or void; keep it for retry when the outcome is unknown.
        Refused if its shift was closed meanwhile (by another process): it would be in no Z."""
        shift = self._require_shift()

        def build_in_open_shift(seq: int) -> dict[str, Any]:
            self._ensure_still_open(shift)
            return build(seq)

        try:
            _, stored = self.ledger.record_sale(self.config.till_id, build_in_open_shift)
        except StorageFailed as err:
            if err.outcome_unknown:
                self._pending = built[-1]
            self._log_refusal(built[-1] if built else None, err)
            raise NotDurable(self._refusal(err)) from None
        except NumberingBusy as err:  # nothing numbered, nothing stored: the cart is kept as it is
            raise NotDurable(self._busy_refusal(err)) from None
        return self._finish(built[-1], stored)

    def retry(self) -> Paid:
        """Store again a sale whose first attempt ended with an unknown outcome (same uuid)."""
        sale = self._pending
        if sale is None:
            raise CartError("there is no payment waiting to be retried")
        try:
            stored = self.ledger.commit(sale.to_record())
        except StorageFailed as err:
            self._log_refusal(sale, err)
            raise NotDurable(self._refusal(err)) from None
        self._pending = None
        return self._finish(sale, stored)

    def _finish(self, sale: Sale, stored: Stored) -> Paid:
        fmt = self.currency.format
        log.info("%s: total %s (%s%s) by %s%s, stored in %s", self._what(sale), fmt(sale.total),
                 ", ".join(f"{t.kind} {fmt(t.amount)}" for t in sale.tenders),
                 f", change {fmt(sale.change)}" if sale.change else "", sale.cashier,
                 f", approved by {sale.approved_by}" if sale.approved_by else "", stored)
        if sale.kind == "sale":  # a refund or void leaves the sale in progress alone
            self.cart = self._new_cart()
            self._discard_saved_cart()
        if stored == "journal" and self._replayer is not None:
            self._replayer.wake()
        return Paid(sale, stored, self._check_clock(sale))

    def _check_clock(self, sale: Sale) -> str:
        """A sale stamped before its shift opened or before the last stored sale: the clock went
        back. Warned (the sale stands: it is stored) and audited; doctor flags such sales too."""
        if self._last_sale is None:  # read once per process: one indexed lookup
            self._last_sale = self.ledger.last_sale_at(self.config.till_id, before_seq=sale.seq) or ("", "")
        last_at, last_receipt = self._last_sale
        at = sale.completed_at
        if at >= last_at:
            self._last_sale = (at, sale.receipt)
        opened_at = (self.shift or {}).get("opened_at") or ""
        if at >= last_at and at >= opened_at:
            return ""
        before = [f"the last sale {last_receipt} at {last_at}"] if at < last_at else []
        if at < opened_at:
            before.append(f"the opening of shift {(self.shift or {}).get('number')} at {opened_at}")
        warning = (f"the clock reads {at}, before {' and '.join(before)}: it was set back. {sale.receipt} is stored "
                   "with that time; set the clock right (timedatectl; enable NTP), then check 'tui-pos doctor'")
        log.warning("%s", warning)
        self._audit("clock_back", None, subject=sale.receipt,
                    detail={"at": at, "last_sale_at": last_at or None, "shift_opened_at": opened_at or None})
        return warning

    @staticmethod
    def _what(sale: Sale) -> str:
        """'sale T1-000012', 'refund T1-000013 of T1-000012' (for the log)."""
        return f"{sale.kind} {sale.receipt}" + (f" of {sale.original_receipt}" if sale.original_receipt else "")

    def _log_refusal(self, sale: Sale | None, err: StorageFailed) -> None:
        what = f"{self._what(sale)} (total {self.currency.format(sale.total)})" if sale else "a sale"
        log.error("NOT STORED: %s; outcome %s; database: %s; journal: %s", what,
                  "unknown (kept for a retry)" if err.outcome_unknown else "not stored", err.sqlite_error,
                  err.journal_error)

    @staticmethod
    def _refusal(err: StorageFailed) -> str:
        return (
            "SALE NOT STORED - do not hand over goods or money. "
            f"The database failed ({err.sqlite_error}) and so did every journal ({err.journal_error}). "
            "The sale is kept: free disk space or plug in the journal drive, then retry."
        )

    @staticmethod
    def _busy_refusal(err: NumberingBusy) -> str:
        return f"NOT RECORDED - {err}, so no number could be given; nothing was stored (the sale is kept). {err.remedy}"

    # -- storage ----------------------------------------------------------------------------
    def storage(self) -> StorageState:
        return self.ledger.state()

    def replay(self) -> ReplayResult:
        return self.ledger.replay()


    # -- shifts and cash ------------------------------------------------------------------------
    def _load_shift(self) -> dict[str, Any] | None:
        """The open shift: from the database (and journal), else from the saved copy."""
        record, certain = self.ledger.open_shift(self.config.till_id)
        if certain:
            return record
        saved = self._shift_doc.load()
        return saved["shift"] if saved and saved.get("shift") else record

    def _ensure_still_open(self, shift: dict[str, Any]) -> None:
        """Under the numbering lock, before a record joins the shift: not if a Z closed it
        meanwhile (another process): the record would be in no Z report at all."""
        if self.ledger.shift_closed(shift["uuid"]) or (self.storage().mode != "ok" and self._closed_elsewhere(shift)):
            self.shift = None
            log.warning("refused: shift %s was closed meanwhile (by another process)", shift["number"])
            raise CartError("this shift was closed meanwhile (a Z report was taken): open a new shift first")

    def _closed_elsewhere(self, shift: dict[str, Any]) -> bool:
        """While storage is degraded a Z may be only in the journal: the process that took it also
        saved the shift document (a few small reads, not a scan of the journal). A document older
        than this shift (its save failed) proves nothing."""
        saved = self._shift_doc.load() or {}
        return (saved.get("shift") or {}).get("uuid") != shift["uuid"] and saved.get("last_shift", 0) >= shift["number"]

    def _last_numbers(self) -> dict[str, int]:
        """The last shift and Z numbers this till saw used (kept with the shift document), for
        numbering while the database cannot be read."""
        saved = self._shift_doc.load() or {}
        return {"last_shift": saved.get("last_shift", 0), "last_z": saved.get("last_z", 0)}

    def refresh_shift(self) -> dict[str, Any] | None:
        """Read the open shift again (another process, e.g. the CLI, may have opened or closed one)."""
        self.shift = self._load_shift()
        return self.shift

    def _require_shift(self) -> dict[str, Any]:
        if self.shift is None:
            raise CartError("no shift is open: open a shift (count the float into the drawer) first")
        return self.shift

    def _save_shift(self, shift: dict[str, Any] | None, **numbers: int) -> None:
        self.shift = shift
        try:
            self._shift_doc.save({"shift": shift, **self._last_numbers(), **numbers}, everywhere=True)
        except DocumentFailed:
            pass  # a fallback copy only: the record itself is durable in the ledger

    @_logs_refusal("opening a shift")
    def open_shift(self, float_amount: int) -> dict[str, Any]:
        """Start a shift with the float counted into the drawer; one open shift per till."""
        if self.refresh_shift() is not None:
            raise CartError(f"shift {self.shift['number']} is already open: close it (Z report) first")
        if float_amount < 0:
            raise BadInput("the float cannot be negative")

        def build(number: int) -> dict[str, Any]:
            return {"type": "shift_open", "uuid": str(uuidlib.uuid4()), "till_id": self.config.till_id,
                    "number": number, "opened_at": self.clock(), "opened_by": self.cashier, "float": float_amount}

        record, stored = self._store(lambda: self.ledger.record_numbered(
            self.config.till_id, "number", build, self._last_numbers()["last_shift"]))
        self._save_shift(record, last_shift=record["number"])
        log.info("shift %d opened by %s, float %s, stored in %s", record["number"], record["opened_by"],
                 self.currency.format(float_amount), stored)
        return record

    def _store(self, commit: Callable[[], tuple[dict[str, Any], Stored]]) -> tuple[dict[str, Any], Stored]:
        try:
            return commit()
        except StorageFailed as err:
            log.error("NOT STORED: a shift record; database: %s; journal: %s", err.sqlite_error, err.journal_error)
            raise NotDurable(self._refusal(err)) from None
        except NumberingBusy as err:
            raise NotDurable(self._busy_refusal(err)) from None

    @_logs_refusal("paid-in/out")
    def cash_movement(self, kind: str, amount: int, reason: str, approval: Approval | None = None) -> dict[str, Any]:
        """Paid-in or paid-out of the drawer, with a reason; a paid-out over the limit needs a manager."""
        shift = self._require_shift()
        if kind not in ("paid_in", "paid_out"):
            raise BadInput("a cash movement is paid_in or paid_out")
        if amount <= 0:
            raise BadInput("the amount must be more than zero")
        if not reason.strip():
            raise BadInput(f"a {kind.replace('_', '-')} needs a reason")
        check_text(reason, "the reason", REASON_LENGTH)
        manager = None
        limit = self.currency.parse(self.config.paid_out_limit)

        def over_limit() -> str:  # the limit holds for the shift in total, not for each paid-out
            already = self.ledger.unapproved_paid_out(shift["uuid"]) if kind == "paid_out" else 0
            if kind != "paid_out" or already + amount <= limit:
                return ""
            return f"a paid-out over {self.config.paid_out_limit} needs a manager" + (
                f" (the limit is for the shift: {self.currency.format(already)} already paid out without one)"
                if already else "")

        message = over_limit()
        if message:
            manager = self._require(approval, "paid_out", message).manager
        record = {"type": "cash_movement", "uuid": str(uuidlib.uuid4()), "shift_uuid": shift["uuid"],
                  "till_id": self.config.till_id, "kind": kind, "amount": amount, "reason": reason.strip(),
                  "user": self.cashier, "approved_by": manager, "at": self.clock()}

        def check() -> None:  # again under the numbering lock: paid-outs from two processes at once
            self._ensure_still_open(shift)
            refusal = "" if manager else over_limit()
            if refusal:
                raise ApprovalRequired("paid_out", refusal)

        _, stored = self._store(lambda: (record, self.ledger.commit_checked(record, check)))
        log.info("%s %s by %s%s: %s, stored in %s", kind.replace("_", "-"), self.currency.format(amount), self.cashier,
                 f", approved by {manager}" if manager else "", record["reason"], stored)
        return record

    def x_report(self) -> ShiftReport:
        """The shift so far (sales still in the journal included)."""
        return self._report(self._require_shift())

    def _report(self, shift: dict[str, Any]) -> ShiftReport:
        """Replay first where possible; whatever stays in the journal is counted from there."""
        if self.ledger.state().journal_backlog:
            self.ledger.replay()
        facts, journaled, readable = self.ledger.shift_totals(shift["uuid"])
        return shift_report(shift, facts, taken_at=self.clock(), taken_by=self.cashier, journaled=journaled,
                            database_readable=readable)

    @_logs_refusal("closing the shift (Z)")
    def close_shift(self, counted: int, counted_detail: Sequence[tuple[str, int]] = (),
                    approval: Approval | None = None) -> ShiftReport:
        """The Z report: count the drawer, compare with what is expected, close the shift.
        Being further over or short than the limit needs a manager."""
        if self.refresh_shift() is None:  # another process (the CLI) may have closed it
            raise CartError("no shift is open: it was closed already (see the last Z report)")
        shift = self.shift
        if self._pending is not None:
            raise CartError("a payment may already be stored: retry it before closing the shift")
        if counted < 0:
            raise BadInput("counted cash cannot be negative")
        x = self._report(shift)
        manager = None
        limit = self.currency.parse(self.config.z_difference_limit)
        if abs(counted - x.expected_cash) > limit:
            manager = self._require(approval, "close_shift",
                                    f"the drawer is {self.currency.format(abs(counted - x.expected_cash), True)} "
                                    f"{'over' if counted > x.expected_cash else 'short'}: a manager must close the shift").manager
        reports: list[ShiftReport] = []

        def build(z_number: int) -> dict[str, Any]:
            # again under the numbering lock: a sale stored since the X above (another process)
            # must be in this Z, and its cash in what is expected
            self._ensure_still_open(shift)
            final = self._report(shift)
            if manager is None and abs(counted - final.expected_cash) > limit:
                raise ApprovalRequired("close_shift", "a sale was stored meanwhile and the drawer is now out by more "
                                       "than the limit: a manager must close the shift")
            head = self.ledger.audit_head()
            report = replace(final, z_number=z_number, counted=counted, counted_detail=tuple(counted_detail),
                             audit_head=head[1] if head else None)
            reports.append(report)
            return {"type": "shift_close", "uuid": str(uuidlib.uuid4()), "shift_uuid": shift["uuid"],
                    "till_id": self.config.till_id, "z_number": z_number, "closed_at": report.taken_at,
                    "closed_by": self.cashier, "approved_by": manager, "counted": counted,
                    "expected": report.expected_cash, "difference": report.difference, "report": report.to_dict()}

        _, stored = self._store(lambda: self.ledger.record_numbered(
            self.config.till_id, "z_number", build, self._last_numbers()["last_z"]))
        z = reports[-1]
        self._save_shift(None, last_z=z.z_number or 0)
        fmt = self.currency.format
        log.info("Z %s: shift %s closed by %s%s, net sales %s, counted %s, expected %s, difference %s, stored in %s",
                 z.z_number, shift["number"], self.cashier, f", approved by {manager}" if manager else "",
                 fmt(z.net_sales), fmt(counted), fmt(z.expected_cash), fmt(z.difference or 0), stored)
        return z

    def z_reports(self, number: int | None = None) -> list[ShiftReport]:
        """Stored Z reports of this till, newest first (one, by number)."""
        return [ShiftReport.from_dict(r["report"]) for r in self.ledger.z_reports(self.config.till_id, number)]

    def sales_report(self, first: date, last: date | None = None, top: int = TOP_PRODUCTS) -> SalesReport:
        """The sales of local days first..last (one day by default), journaled ones included."""
        return sales_report(self.ledger, first, last or first, top)

    # -- refunds and voids ----------------------------------------------------------------------
    def find_refundable(self, receipt_or_qr: str) -> Refundable:
        """The sale on a receipt (its number typed, or its QR code scanned), with what is left to return."""
        words = receipt_or_qr.split()
        receipt = next((w for w in words if w.upper().startswith(f"{self.config.till_id}-")), receipt_or_qr.strip())
        found = self.ledger.find_sales(receipt=receipt.upper())
        if not found:
            raise BadInput(f"no sale with receipt number {receipt}")
        original = found[0]
        return refundable(original, self.ledger.find_sales(original_uuid=original["uuid"]))

    @_logs_refusal("refund")
    def refund(self, receipt: str, quantities: dict[int, int], reason: str, approval: Approval | None = None,
               all_cash: bool = False) -> Paid:
        """Return items of a sale: a new record linked to it, never more than was sold.
        Money goes back to the original tenders (all_cash: in cash). Needs a manager."""
        return self._reverse("refund", self.find_refundable(receipt), quantities, reason, approval, all_cash)

    def last_sale(self) -> Refundable | None:
        """This till's last sale, with what was returned of it: what void_last_sale reverses
        (the UI shows it before a manager approves)."""
        last = self.ledger.find_sales(last_of_till=self.config.till_id)
        return refundable(last[0], self.ledger.find_sales(original_uuid=last[0]["uuid"])) if last else None

    @_logs_refusal("void of the last sale")
    def void_last_sale(self, reason: str, approval: Approval | None = None, shown: str | None = None) -> Paid:
        """Reverse this till's last sale completely (a linked void), e.g. rung up by mistake.
        shown: the uuid of the sale the manager was shown; refused if another sale came since."""
        sale = self.last_sale()
        if sale is None:
            raise CartError("there is no sale to void")
        if shown is not None and sale.original["uuid"] != shown:
            raise CartError(f"another sale ({sale.receipt}) was stored meanwhile: look again before voiding")
        if sale.reversals:
            raise CartError(f"{sale.receipt} already has a refund: refund the rest instead of voiding it")
        return self._reverse("void", sale, {l.line_no: l.left for l in sale.lines if l.left}, reason, approval, False)

    def _reverse(self, kind: str, sale: Refundable, quantities: dict[int, int], reason: str,
                 approval: Approval | None, all_cash: bool) -> Paid:
        shift = self._require_shift()
        if self._pending is not None:
            raise CartError("a payment may already be stored: retry it first")
        if sale.fully_returned:
            raise CartError(f"everything on {sale.receipt} has already been returned")
        if not reason.strip():
            raise CartError(f"a {kind} needs a reason")
        check_text(reason, "the reason", REASON_LENGTH)
        refund_lines(sale, quantities)  # checked before a manager's approval is used up
        manager = self._require(approval, kind, f"a {kind} needs a manager").manager
        built: list[Sale] = []

        def build(seq: int) -> dict[str, Any]:
            # the returns so far again, under the numbering lock: two refunds at once (the till
            # and the CLI) must not both return the last item
            current = refundable(sale.original, self.ledger.find_sales(original_uuid=sale.original["uuid"]))
            built.append(build_reversal(
                current, quantities, kind=kind, uuid=str(uuidlib.uuid4()), till_id=self.config.till_id, seq=seq,
                cashier=self.cashier, at=self.clock(), shift_uuid=shift["uuid"], reason=reason,
                approved_by=manager, cash_step=self.cash_step, all_cash=all_cash))
            return built[-1].to_record()

        return self._record_sale(build, built)
