"""The Till: the one API the UI and the CLI call, a small facade over the use cases of one till:
session (login, PINs, approvals), selling (cart, held sales, tenders, pay), shifts (X, Z,
paid-in/out), returns (refunds, voids), code payments (till.payments: Alipay/WeChat payment
codes), stock (till.stock: receive, adjust, count; till.transfers: between shops) and reports. It holds no state of its own beyond them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from tui_pos.app.clock import utc_now
from tui_pos.app.context import REASON_LENGTH, TillContext, currency_of, log
from tui_pos.app.lockout import PinLockout
from tui_pos.app.payments import CodePayments, Gateways
from tui_pos.app.ports import Document, ShopQueries, Syncer, TillStore, Worker
from tui_pos.app.reports import sales_report
from tui_pos.app.returns import Returns
from tui_pos.app.selling import CART_DOCUMENT, HELD_DOCUMENT, Due, HeldSale, Paid, Selling
from tui_pos.app.session import Session
from tui_pos.app.shifts import SHIFT_DOCUMENT, Shifts
from tui_pos.app.stock import Stock, StockReports
from tui_pos.app.transfers import Transfers, TransferSource
from tui_pos.config import CONFIG_NAME, Config
from tui_pos.domain.auth import Approval, User
from tui_pos.domain.cart import Cart
from tui_pos.domain.catalog import Catalog, Product, TaxRate
from tui_pos.domain.errors import N_, BadInput, CartError, Said, TenderError
from tui_pos.domain.money import Currency, percent_to_bp
from tui_pos.domain.pricing import Discount
from tui_pos.domain.refund import Refundable
from tui_pos.domain.reports import TOP_PRODUCTS, SalesReport
from tui_pos.domain.shift import ShiftReport
from tui_pos.domain.storage import ReplayResult, StorageState, Stored
from tui_pos.domain.sync import SyncState
from tui_pos.domain.tender import Tender

__all__ = ["CART_DOCUMENT", "HELD_DOCUMENT", "LOCKOUT_DOCUMENT", "LOCKOUT_LOCK", "REASON_LENGTH", "SHIFT_DOCUMENT",
           "SHOP_SNAPSHOT", "Due", "HeldSale", "Paid", "StorageState", "Stored", "Till", "TillDocuments",
           "currency_of", "tax_rates_of"]

SHOP_SNAPSHOT = "shop.json"  # catalog and users, beside the journal: sell and log in without SQLite
LOCKOUT_DOCUMENT = "lockout.json"  # wrong PINs in a row, per user, shared by every process
LOCKOUT_LOCK = "lockout.lock"  # held while a PIN is checked and counted, by every process


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


def tax_rates_of(config: Config) -> dict[str, TaxRate]:
    return {code: TaxRate(code, percent_to_bp(pct)) for code, pct in config.tax_rates.items()}


@dataclass(frozen=True)
class TillDocuments:
    """The small durable documents a till keeps beside its records."""

    cart: Document | None  # the sale in progress; None: one-shot sales (the CLI) keep none
    held: Document
    shift: Document
    snapshot: Document  # the catalog and the people, for when the database cannot be read
    chain: Document | None = None  # HQ's tax rates and settings, as last pulled (app.chain_catalog)


def currency_refusal(config: Config, stored: dict[str, Any] | None) -> str:
    """Why config.toml's currency cannot be used with the amounts stored in `stored` (a Said: its params'
    problem and fix are the two halves, as doctor shows them), or ''."""
    if stored is None or (stored["code"], stored["exponent"]) == (config.currency_code, config.currency_exponent):
        return ""
    misread = Currency(config.currency_code, "", config.currency_exponent).format(1050)
    problem = Said(N_('{path} says [shop] currency = "{code}", exponent = {exponent}, but the amounts stored here are '
                      "{stored_code} with exponent {stored_exponent} (10.50 would read as {misread})"),
                   path=str(config.data_dir / CONFIG_NAME), code=config.currency_code, exponent=config.currency_exponent,
                   stored_code=stored["code"], stored_exponent=stored["exponent"], misread=misread)
    fix = Said(N_('set currency = "{code}" and exponent = {exponent} back. The currency cannot change once sales are '
                  "stored; a new currency needs a new data directory"), code=stored["code"], exponent=stored["exponent"])
    return Said(N_("{problem}: {fix}"), problem=problem, fix=fix)


def catalog_from(config: Config, shop: ShopQueries, snapshot: Document) -> Catalog:
    """The catalog from the database; if it cannot be read, from the snapshot beside the journal."""
    rows = shop.products()
    if rows is None:
        saved = snapshot.load()
        rows = saved["products"] if saved else []
    products = [Product(**{**row, "open_price": bool(row["open_price"]), "stock": None}) for row in rows]  # stock: Stock.of
    return Catalog(products, tax_rates_of(config))


class _NeverPulled:
    """A till given no transfer source: none was ever pulled."""

    def open_transfers(self) -> None:
        return None

    def shops(self) -> None:
        return None


class Till:
    """Built by bootstrap (tui_pos.bootstrap.till.open_till) over the store's ports."""

    def __init__(self, config: Config, store: TillStore, catalog: Catalog, cashier: str, *,
                 documents: TillDocuments, lockout: PinLockout, clock: Callable[[], str] = utc_now,
                 replayer: Callable[[Callable[[ReplayResult], None] | None], Worker] | None = None,
                 syncer: Callable[[Callable[[SyncState], None] | None], Syncer] | None = None,
                 gateways: Gateways | None = None, crash: Callable[[str], None] | None = None,
                 transfers: Callable[[], TransferSource] | None = None):
        """replayer(on_result): the background replay of the journal, made when the till starts it;
        syncer(on_change): the sync with HQ, likewise (None: this till has not joined an HQ);
        gateways(provider): the code-payment gateway of a provider set up in config.toml (None:
        not set up), made on first use; crash(name): the payment flow's crash points;
        transfers(): the open transfers as the sync pulled them (None: never pulled), made on first use."""
        self.config = config
        self.ledger = store  # the CLI lists stored sales through it
        self.lockout = lockout
        self.documents = documents
        self._make_replayer = replayer
        self._make_syncer = syncer
        self._ctx = TillContext.of(config, clock)
        self.session = Session(self._ctx, store, store, documents.snapshot, lockout, cashier)
        self.shifts = Shifts(self._ctx, store, self.session, documents.shift)
        self.selling = Selling(self._ctx, store, catalog, self.session, self.shifts, documents.cart, documents.held)
        self.payments = CodePayments(self._ctx, store, self.session, self.selling, gateways=gateways, crash=crash)
        self.returns = Returns(self._ctx, store, self.session, self.shifts, self.selling, self.payments)
        self.stock = Stock(self._ctx, store, self.session, lambda: self.selling.catalog)
        self.stock_reports = StockReports(self.stock, store, store)
        self._transfer_source = transfers
        self._replayer: Worker | None = None
        self._index_lookup: Callable[[Callable[[], None]], None] | None = None  # set by prepare_lookup()
        self._syncer: Syncer | None = None

    @functools.cached_property
    def transfers(self) -> Transfers:
        """Transfers between shops through HQ (the CLI's `stock transfer`, the UI's transfer screens)."""
        return Transfers(self.stock, self.ledger, self._transfer_source() if self._transfer_source else _NeverPulled())

    def close(self) -> None:
        if self._syncer is not None:
            self._syncer.stop()
        if self._replayer is not None:
            self._replayer.stop()
        self.lockout.close()
        self.ledger.close()

    def start_background_replay(self, on_result: Callable[[ReplayResult], None] | None = None) -> None:
        """For a long-running till: replay every replay_interval_s while sales wait in the journal."""
        if self._make_replayer is None:
            return
        self._replayer = self._make_replayer(on_result)
        self._replayer.start()
        self.selling.replayer = self._replayer

    def prepare_lookup(self, run: Callable[[Callable[[], None]], None]) -> None:
        """For a long-running till: build the look-up's index (the pinyin of every name, ~0.1 s
        per 1,000 products) through run (the UI: in a worker) now and whenever a catalog is
        loaded again, so no keystroke waits for it (a search before it is ready waits for that
        same build, never a second one)."""
        self._index_lookup = run
        run(self.catalog.prepare_search)

    def start_sync(self, on_change: Callable[[SyncState], None] | None = None) -> None:
        """For a long-running till that has joined an HQ: push each commit as it is made, report
        the till's health (the one-shot CLI syncs with `tui-pos sync` instead)."""
        if self._make_syncer is None or self._syncer is not None:
            return
        self._syncer = self._make_syncer(on_change)
        self._syncer.start()

    def sync_status(self) -> SyncState | None:
        """How the sync with HQ is doing; None when it is not running (no HQ, or a one-shot till)."""
        return None if self._syncer is None else self._syncer.status()

    def reload_catalog(self) -> Catalog:
        """Read the catalog again (after an import: this till sells at the new prices at once)."""
        self.catalog = catalog_from(self.config, self.ledger, self.documents.snapshot)
        return self.selling.catalog

    def use_config(self, config: Config) -> None:
        """Take new settings at once (HQ's tax rates, limits and reasons, pulled): the catalog is read
        again with the new rates; a sale in progress keeps its lines."""
        self.config = config
        self._ctx.config = config
        self.selling.discount_limit_bp = percent_to_bp(config.discount_limit)
        self.reload_catalog()

    # -- what the UI and the CLI read ----------------------------------------------------------
    @property
    def clock(self) -> Callable[[], str]:
        return self._ctx.clock

    @clock.setter
    def clock(self, clock: Callable[[], str]) -> None:  # tests set the time a record is stamped with
        self._ctx.clock = clock

    @property
    def currency(self) -> Currency:
        return self._ctx.currency

    def show_symbol(self, symbol: str) -> None:
        """Amounts shown with another currency symbol (the console theme's own)."""
        self._ctx.currency = replace(self._ctx.currency, symbol=symbol)

    @property
    def cash_step(self) -> int:
        return self._ctx.cash_step

    @property
    def catalog(self) -> Catalog:
        return self.selling.catalog

    @catalog.setter
    def catalog(self, catalog: Catalog) -> None:  # a catalog import: this till sells at the new prices at once
        self.selling.catalog = catalog
        if self._index_lookup is not None:
            self._index_lookup(catalog.prepare_search)

    @property
    def cashier(self) -> str:
        return self.session.cashier

    @cashier.setter
    def cashier(self, name: str) -> None:  # tests stamp records with another cashier
        self.session.cashier = name

    @property
    def user(self) -> User | None:
        return self.session.user

    @property
    def cart(self) -> Cart:
        return self.selling.cart

    @property
    def shift(self) -> dict[str, Any] | None:
        return self.shifts.shift

    @property
    def cart_save_error(self) -> str:
        return self.selling.cart_save_error

    @property
    def restored(self) -> bool:
        return self.selling.restored

    def restored_notice(self) -> str:
        """Once: 'unverified' (the sale in progress was restored while the database could not say
        whether it was paid), 'restored' (restored after a restart) or ''."""
        notice = "unverified" if self.selling.restored_unverified else "restored" if self.selling.restored else ""
        self.selling.restored = self.selling.restored_unverified = False
        return notice

    # -- session -----------------------------------------------------------------------------
    def check_pin(self, name: str, pin: str) -> User:
        return self.session.check_pin(name, pin)

    def login(self, name: str, pin: str) -> User:
        return self.session.login(name, pin)

    def sign_in(self, user: User) -> None:
        """This person (their PIN checked: check_pin) works the till from now on (the CLI's sign-in)."""
        self.session.sign_in(user)

    def approve(self, name: str, pin: str, action: str, reason: str = "") -> Approval:
        return self.session.approve(name, pin, action, reason)

    def audit_in_background(self, run: Callable[[Callable[[], None]], None]) -> None:
        """Audit writes nobody waits for (a price override's, a discount approval's) go to
        run(write) instead of being done before the call returns: the UI runs them in a worker."""
        self.session.background = run

    def require_manager(self, approval: Approval | None, action: str, message: str, **params: object) -> str:
        """For use cases beside the Till (user administration): the manager who allows `action`
        (message: a marked template filled with params, as Session.require)."""
        return self.session.require(approval, action, message, **params).manager

    # -- selling -----------------------------------------------------------------------------
    def scan(self, code: str, qty: int = 1, unit_price: int | None = None, approval: Approval | None = None) -> Cart:
        return self.selling.scan(code, qty, unit_price, approval)

    def set_qty(self, line_id: int, qty: int) -> Cart:
        return self.selling.set_qty(line_id, qty)

    def void_line(self, line_id: int) -> Cart:
        return self.selling.void_line(line_id)

    def set_price(self, line_id: int, unit_price: int, approval: Approval | None = None) -> Cart:
        return self.selling.set_price(line_id, unit_price, approval)

    def discount_line(self, line_id: int, discount: Discount | None, approval: Approval | None = None) -> Cart:
        return self.selling.discount_line(line_id, discount, approval)

    def discount_order(self, discount: Discount | None, approval: Approval | None = None) -> Cart:
        return self.selling.discount_order(discount, approval)

    @_logs_refusal("no-sale")
    def no_sale(self, approval: Approval | None = None, reason: str = "") -> None:
        self.selling.no_sale(approval, reason)

    def held_sales(self) -> list[HeldSale]:
        return self.selling.held_sales()

    def hold(self) -> None:
        self.selling.hold()

    def recall(self, uuid: str) -> Cart:
        return self.selling.recall(uuid)

    def delete_held(self, uuid: str, approval: Approval | None = None) -> None:
        self.selling.delete_held(uuid, approval)

    def cancel(self) -> None:
        """Abandon the sale in progress; never one the customer paid by code (that would be charged
        with no sale: complete it, then a refund or a void gives the money back)."""
        cart = self.selling.cart
        charged = sum(t.amount for t in cart.tenders
                      if t.kind == "mobile" and self.payments.paid_by_code(cart.uuid, t.reference))
        if charged:
            raise TenderError(N_("the customer has paid {amount} by code on this sale: complete it (a refund or "
                                 "a void gives the money back)"), amount=self.currency.format(charged))
        self.selling.cancel()

    def due(self) -> Due:
        return self.selling.due()

    def add_tender(self, tender: Tender) -> Cart:
        return self.selling.add_tender(tender)

    def remove_tender(self, index: int) -> Cart:
        """Take a payment back off the sale; never one the till charged to a payment code (the
        customer paid it: it stays on the sale, and a refund gives it back after the sale)."""
        tenders = self.selling.cart.tenders
        if 0 <= index < len(tenders) or -len(tenders) <= index < 0:
            tender = tenders[index]
            if tender.kind == "mobile" and self.payments.paid_by_code(self.selling.cart.uuid, tender.reference):
                raise TenderError(N_("that payment was charged to the customer's phone: it stays on the sale (a "
                                     "refund gives it back after the sale)"))
        return self.selling.remove_tender(index)

    @_logs_refusal("sale")
    def pay(self, tenders: Sequence[Tender] | None = None) -> Paid:
        return self.selling.pay(tenders)

    def retry(self) -> Paid:
        return self.selling.retry()

    # -- storage -----------------------------------------------------------------------------
    def storage(self) -> StorageState:
        return self.ledger.state()

    def replay(self) -> ReplayResult:
        return self.ledger.replay()

    # -- shifts and cash ---------------------------------------------------------------------
    def refresh_shift(self) -> dict[str, Any] | None:
        return self.shifts.refresh()

    @_logs_refusal("opening a shift")
    def open_shift(self, float_amount: int) -> dict[str, Any]:
        return self.shifts.open(float_amount)

    @_logs_refusal("paid-in/out")
    def cash_movement(self, kind: str, amount: int, reason: str, approval: Approval | None = None) -> dict[str, Any]:
        return self.shifts.cash_movement(kind, amount, reason, approval)

    def x_report(self) -> ShiftReport:
        return self.shifts.x_report()

    @_logs_refusal("closing the shift (Z)")
    def close_shift(self, counted: int, counted_detail: Sequence[tuple[str, int]] = (),
                    approval: Approval | None = None) -> ShiftReport:
        return self.shifts.close(counted, counted_detail, approval, payment_pending=self.selling.pending is not None)

    def z_reports(self, number: int | None = None) -> list[ShiftReport]:
        return self.shifts.z_reports(number)

    def sales_report(self, first: date, last: date | None = None, top: int = TOP_PRODUCTS) -> SalesReport:
        """The sales of local days first..last (one day by default), journaled ones included."""
        return sales_report(self.ledger, first, last or first, top)

    # -- refunds and voids -------------------------------------------------------------------
    def find_refundable(self, receipt_or_qr: str) -> Refundable:
        return self.returns.find_refundable(receipt_or_qr)

    @_logs_refusal("refund")
    def refund(self, receipt: str, quantities: dict[int, int], reason: str, approval: Approval | None = None,
               all_cash: bool = False) -> Paid:
        return self.returns.refund(receipt, quantities, reason, approval, all_cash)

    def last_sale(self) -> Refundable | None:
        return self.returns.last_sale()

    @_logs_refusal("void of the last sale")
    def void_last_sale(self, reason: str, approval: Approval | None = None, shown: str | None = None) -> Paid:
        return self.returns.void_last_sale(reason, approval, shown)
