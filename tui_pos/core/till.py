"""The Till: the one API the UI and the CLI call to sell. It owns the cart in progress (saved on
every change), prices it, checks tenders, and hands the finished sale to the ledger.
"""

from __future__ import annotations

import uuid as uuidlib
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any, Callable, Sequence

from tui_pos.config import Config
from tui_pos.core.background import BackgroundReplay
from tui_pos.core.cart import Cart
from tui_pos.core.catalog import Catalog, Product, TaxRate
from tui_pos.core.errors import CartError, NotDurable, TenderError
from tui_pos.core.money import Currency, format_bp, percent_to_bp, round_to_step
from tui_pos.core.pricing import Discount
from tui_pos.core.sale import Sale, build_sale
from tui_pos.core.tender import Tender, settle
from tui_pos.core.users import Approval, ApprovalRequired, LoginFailed, User, authenticate
from tui_pos.store.documents import DocumentFailed, DurableDocument
from tui_pos.store.journal import Journal
from tui_pos.store.ledger import Ledger, ReplayResult, StorageFailed, StorageState, Stored

CART_DOCUMENT = "cart.json"
HELD_DOCUMENT = "held.json"
SHOP_SNAPSHOT = "shop.json"  # catalog and users, beside the journal: sell and log in without SQLite


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


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


def currency_of(config: Config) -> Currency:
    return Currency(config.currency_code, config.currency_symbol, config.currency_exponent)


def tax_rates_of(config: Config) -> dict[str, TaxRate]:
    return {code: TaxRate(code, percent_to_bp(pct)) for code, pct in config.tax_rates.items()}


def open_ledger(config: Config) -> Ledger:
    journal = Journal(config.storage.journal_dirs, config.till_id)
    return Ledger(config.db_path, journal, busy_timeout_ms=config.storage.busy_timeout_ms,
                  retry_budget_ms=config.storage.retry_budget_ms)


def shop_snapshot(config: Config) -> DurableDocument:
    return DurableDocument(SHOP_SNAPSHOT, config.storage.journal_dirs)


def load_catalog(config: Config, ledger: Ledger) -> Catalog:
    """From SQLite; if the database cannot be read, from the snapshot kept beside the journal."""
    rows = ledger.products()
    if rows is None:
        snapshot = shop_snapshot(config).load()
        rows = snapshot["products"] if snapshot else []
    products = [Product(**{**row, "open_price": bool(row["open_price"])}) for row in rows]
    return Catalog(products, tax_rates_of(config))


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
        self._replayer: BackgroundReplay | None = None
        self.cart_save_error = ""
        self.user: User | None = None
        self._issued: set[str] = set()  # tokens of the approvals this till gave out
        self.discount_limit_bp = percent_to_bp(config.discount_limit)
        self._held_doc = DurableDocument(HELD_DOCUMENT, [config.data_dir, *config.storage.journal_dirs])
        self.restored = False
        self.restored_unverified = False  # restored while the database could not say whether it was paid
        self.cart = self._restore_cart()

    @classmethod
    def open(cls, config: Config, cashier: str, replay: bool = True, keep_cart: bool = True) -> Till:
        """Open the till: replay what the journal holds first, so the database is complete."""
        ledger = open_ledger(config)
        if replay:
            ledger.replay()
        else:
            ledger.refresh_backlog()
        return cls(config, ledger, load_catalog(config, ledger), cashier, keep_cart=keep_cart)

    def close(self) -> None:
        if self._replayer is not None:
            self._replayer.stop()
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

    def scan(self, code: str, qty: int = 1, unit_price: int | None = None) -> Cart:
        product = self.catalog.lookup(code)
        return self._set_cart(self.cart.add(product, self.catalog.rate_of(product), qty, unit_price))

    def set_qty(self, line_id: int, qty: int) -> Cart:
        return self._set_cart(self.cart.set_qty(line_id, qty))

    def void_line(self, line_id: int) -> Cart:
        return self._set_cart(self.cart.void(line_id))

    def set_price(self, line_id: int, unit_price: int, approval: Approval | None = None) -> Cart:
        """Price override: always a manager's decision."""
        self._require(approval, "price_override", "changing a price needs a manager")
        if unit_price < 0:
            raise CartError("a price cannot be negative")
        return self._set_cart(self.cart.set_price(line_id, unit_price))

    def discount_line(self, line_id: int, discount: Discount | None, approval: Approval | None = None) -> Cart:
        line = self.cart.line(line_id)
        self._check_discount(discount, line.unit_price * line.qty, approval)
        return self._set_cart(self.cart.discount_line(line_id, discount))

    def discount_order(self, discount: Discount | None, approval: Approval | None = None) -> Cart:
        base = self.cart.totals(self.config.prices_include_tax).total
        self._check_discount(discount, base, approval)
        return self._set_cart(self.cart.discount_order(discount))

    def _check_discount(self, discount: Discount | None, base: int, approval: Approval | None) -> None:
        if discount is None:
            return
        limit = self.discount_limit_bp
        too_big = discount.value > limit if discount.kind == "percent" else discount.amount_off(base) * 10000 > base * limit
        if too_big:
            self._require(approval, "discount", f"a discount over {format_bp(limit)} needs a manager")

    def no_sale(self, approval: Approval | None = None) -> None:
        """Opening the cash drawer without a sale needs a manager (the caller then kicks it)."""
        self._require(approval, "no_sale", "opening the drawer without a sale needs a manager")

    # -- people -----------------------------------------------------------------------------
    def _user_rows(self) -> list[dict[str, Any]]:
        rows = self.ledger.users()
        if rows is None:
            snapshot = shop_snapshot(self.config).load()
            rows = snapshot.get("users", []) if snapshot else []
        return rows

    def check_pin(self, name: str, pin: str) -> User:
        """Whose name and PIN these are (LoginFailed if nobody's), without logging them in."""
        return authenticate(self._user_rows(), name, pin)

    def login(self, name: str, pin: str) -> User:
        """Check the PIN (slow on purpose: run it off the UI thread) and make this user the cashier."""
        user = self.check_pin(name, pin)
        self.user, self.cashier = user, user.name
        return user

    def approve(self, name: str, pin: str, action: str) -> Approval:
        """A manager's PIN turns into an Approval for one kind of action."""
        manager = authenticate(self._user_rows(), name, pin)
        if not manager.is_manager:
            raise LoginFailed(f"{manager.name} is not a manager")
        approval = Approval(manager.name, action)
        self._issued.add(approval.token)
        return approval

    def _require(self, approval: Approval | None, action: str, message: str) -> None:
        if self.user is not None and self.user.is_manager:
            return
        if approval is None or approval.action != action or approval.token not in self._issued:
            raise ApprovalRequired(action, message)

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
        non_cash = sum(t.amount for t in self.cart.tenders + (tender,) if t.kind != "cash")
        if non_cash > self.cart.totals(self.config.prices_include_tax).total:
            raise TenderError("card and mobile payments would be more than the total; no change is given on them")
        return self._set_cart(self.cart.add_tender(tender))

    def remove_tender(self, index: int) -> Cart:
        return self._set_cart(self.cart.remove_tender(index))

    def pay(self, tenders: Sequence[Tender] | None = None) -> Paid:
        """Complete the sale with its tenders (or these). Returns only once it is durable;
        NotDurable keeps the cart, tenders included, intact."""
        if self._pending is not None:
            return self.retry()
        if self.cart.is_empty:
            raise CartError("the sale is empty: scan an item first")
        tenders = self.cart.tenders if tenders is None else tuple(tenders)
        totals = self.cart.totals(self.config.prices_include_tax)  # priced once, not twice
        settlement = settle(totals.total, tenders, self.cash_step, self.currency)
        cart = self.cart
        built: list[Sale] = []

        def build(seq: int) -> dict[str, Any]:
            built.append(build_sale(
                cart, totals, tuple(tenders), settlement, till_id=self.config.till_id, seq=seq,
                cashier=self.cashier, completed_at=self.clock(), currency=self.currency.code,
                tax_included=self.config.prices_include_tax,
            ))
            return built[-1].to_record()

        try:
            _, stored = self.ledger.record_sale(self.config.till_id, build)
        except StorageFailed as err:
            if err.outcome_unknown:
                self._pending = built[-1]
            raise NotDurable(self._refusal(err)) from None
        return self._finish(built[-1], stored)

    def retry(self) -> Paid:
        """Store again a sale whose first attempt ended with an unknown outcome (same uuid)."""
        sale = self._pending
        if sale is None:
            raise CartError("there is no payment waiting to be retried")
        try:
            stored = self.ledger.commit(sale.to_record())
        except StorageFailed as err:
            raise NotDurable(self._refusal(err)) from None
        self._pending = None
        return self._finish(sale, stored)

    def _finish(self, sale: Sale, stored: Stored) -> Paid:
        self.cart = self._new_cart()
        self._discard_saved_cart()
        if stored == "journal" and self._replayer is not None:
            self._replayer.wake()
        return Paid(sale, stored)

    @staticmethod
    def _refusal(err: StorageFailed) -> str:
        return (
            "SALE NOT STORED - do not hand over goods as paid. "
            f"The database failed ({err.sqlite_error}) and so did every journal ({err.journal_error}). "
            "The sale is kept: free disk space or plug in the journal drive, then retry."
        )

    # -- storage ----------------------------------------------------------------------------
    def storage(self) -> StorageState:
        return self.ledger.state()

    def replay(self) -> ReplayResult:
        return self.ledger.replay()

