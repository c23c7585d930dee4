"""The ports: what the use cases need from storage, as a few small Protocols the store fulfils.

The app never imports the store. bootstrap/ opens the store (a Ledger, its documents, its locks)
and hands it to the Till as these. Errors the store raises for the app to catch (StorageFailed,
NumberingBusy, DocumentFailed) are in domain/errors.py.

The one way a record becomes durable is RecordLog.commit; a numbered record (a receipt, a shift,
a Z report) is built and committed inside a numbered unit of work, under the numbering lock every
process on the data directory shares:

    with log.numbered(till_id, "seq") as unit:   # the lock is taken here, and held to the end
        sale = build_sale(..., seq=unit.number)
        stored = unit.commit(sale.to_record())    # the number is used (or freed) by this commit

Leaving the block without commit uses no number; an exception inside it stores nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from tui_pos.domain.payments import GatewayReply, Provider, Trade
from tui_pos.domain.storage import Counter, ReplayResult, StorageState, Stored
from tui_pos.domain.sync import SyncState

Record = dict[str, Any]  # a record as the store takes it: a domain.records value's to_record()


class Unit(Protocol):
    """Work done under the numbering lock: checks made there still hold when the record is stored."""

    def commit(self, record: Record) -> Stored:
        """Make the record durable (SQLite, else the journal), else StorageFailed."""
        ...


class NumberedUnit(Unit, Protocol):
    @property
    def number(self) -> int:
        """The number the record takes (its receipt seq, shift number or Z number)."""
        ...


class RecordLog(Protocol):
    """Where records become durable: SQLite first, else the journal, else refused."""

    def numbered(self, till_id: str, counter: Counter, last_known: int = 0) -> AbstractContextManager[NumberedUnit]:
        """A unit of work with the next number of this counter. last_known: the highest number
        the caller saw used, for when the database cannot be read. NumberingBusy when another
        process held the lock too long (nothing numbered)."""
        ...

    def locked(self) -> AbstractContextManager[Unit]:
        """A unit of work under the numbering lock, for a record without a number (a paid-in/out)."""
        ...

    def commit(self, record: Record) -> Stored:
        """Make one record durable; StorageFailed if nothing took it (outcome_unknown: it may be stored)."""
        ...

    def state(self) -> StorageState: ...

    def replay(self) -> ReplayResult:
        """Bring what waits in the journal into the database."""
        ...


class SaleQueries(Protocol):
    """Sales, refunds and voids as stored (database and journal together)."""

    def is_recorded(self, uuid: str) -> bool | None:
        """Stored anywhere? None: cannot say (the database cannot be read)."""
        ...

    def find_sales(self, *, receipt: str | None = None, original_uuid: str | None = None,
                   last_of_till: str | None = None) -> list[Record]: ...

    def last_sale_at(self, till_id: str, before_seq: int) -> tuple[str, str] | None: ...


class ShiftQueries(Protocol):
    def open_shift(self, till_id: str) -> tuple[Record | None, bool]:
        """The open shift's record (or None), and whether the database could say."""
        ...

    def current_shift(self, till_id: str, saved: Callable[[], Record | None]) -> Record | None:
        """The open shift: what is stored says when the database could be read, else the shift
        saved (saved(): the shift document's content), else the journal's (one rule, the
        store's, for the till and for `status`)."""
        ...

    def shift_closed(self, shift_uuid: str) -> bool: ...

    def shift_totals(self, shift_uuid: str) -> tuple[dict[str, Any], int, bool]:
        """(the shift's summed figures, how many of its records are only in the journal, whether
        the database could be read)."""
        ...

    def unapproved_paid_out(self, shift_uuid: str) -> int: ...

    def z_reports(self, till_id: str, number: int | None = None) -> list[Record]: ...

    def audit_head(self) -> tuple[int, str] | None: ...


class PeriodQueries(Protocol):
    def period_totals(self, start: str, end: str) -> tuple[dict[str, Any], int, bool]:
        """(the summed figures of what was completed in [start, end), how many only in the
        journal, whether the database could be read)."""
        ...


class StockQueries(Protocol):
    """Stock on hand and what moved it, as stored (database and journal together)."""

    def stock_levels(self, barcodes: list[str] | None = None) -> tuple[list[Record] | None, int]:
        """Products with their on-hand (milli-units), reorder level and quantity, weighed and
        tracked; how many journaled records moved stock. None: the database cannot be read."""
        ...

    def stock_period(self, lookback: str, first: str, last: str, outflow_min: int) -> Record | None:
        """{"outflow", "last_moved", "moved_after", "came_in"} of the local days first..last
        (YYYY-MM-DD); None: the database cannot be read."""
        ...

    def stock_days(self, barcode: str, first: str, last: str) -> dict[str, list[int]] | None:
        """One product's days first..last (YYYY-MM-DD) that moved: day -> [sold, qty_in, qty_out] (milli-units)."""
        ...

    def stock_moves(self, start: str, end: str, kinds: tuple[str, ...] = (),
                    barcodes: list[str] | None = None) -> list[Record] | None:
        """Stock movement records of [start, end) (of these kinds, of these products), in the order stored."""
        ...

    def stock_sold(self, start: str, end: str, barcodes: list[str]) -> list[tuple[str, str, int]] | None:
        """(barcode, at, qty milli-units) of these products' sale lines of [start, end), in time order."""
        ...

    def stock_receipts(self, until: str, barcodes: list[str] | None = None) -> list[tuple[Any, ...]] | None:
        """(barcode, expected, qty, unit_cost) of every receive stored before until (of these products)."""
        ...

    def risk_facts(self, start: str, end: str) -> Record | None:
        """{"per_cashier": cashier -> counts, "refunds": [(refund, original)]} of [start, end)."""
        ...


class PaymentQueries(Protocol):
    """Code payments as stored (database and journal together)."""

    def payment_attempts(self, *, unresolved: bool = False,
                         sale_uuid: str | None = None) -> tuple[list[Record], bool]:
        """Every PaymentAttempt's fields with state ("open" or its last outcome's), transaction_id,
        charged, reason, code, outcome_at, sale_completed (a stored sale carries it) and stored;
        unresolved: only those that may need someone (open, unknown, or paid and in no stored
        sale); sale_uuid: that sale's; both: either, in one read. And whether the database could be read."""
        ...


class ShopQueries(Protocol):
    def users(self) -> list[Record] | None:
        """The people (with PIN hashes); None when the database cannot be read."""
        ...

    def products(self) -> list[Record] | None:
        """The catalog rows; None when the database cannot be read."""
        ...


class ShopChanges(Protocol):
    """Who may do what and at which price: changed only in the database, never journaled."""

    def change_shop(self, records: Sequence[Record] = (), products: Sequence[Record] | None = None, *,
                    at: str = "", catalog_event: Callable[[list[Record]], Record] | None = None,
                    new_shop: bool = False, openings: Callable[[dict[str, Record]], list[Record]] | None = None) -> None:
        """User changes (UserChanged records), then the opening counts openings(each product's
        {"moved", "unrecorded", "opened"}: those given a stock and those holding stock unrecorded)
        makes, then products audited by catalog_event(the catalog as it was): each with its audit
        entry, all in one transaction. StorageError when the database cannot take them;
        NameTaken or NoSuchUser: nothing changed."""
        ...

    def stock_unrecorded(self) -> bool | None:
        """Does a product hold stock from before its opening stock was a record? None: the database cannot be read."""
        ...


class TillStore(RecordLog, SaleQueries, ShiftQueries, PeriodQueries, ShopQueries, ShopChanges, StockQueries,
                PaymentQueries, Protocol):
    """Everything a Till asks of storage."""

    def close(self) -> None: ...


class Document(Protocol):
    """A small JSON document that survives a crash (the cart in progress, the held sales, the
    open shift, the shop snapshot); save raises DocumentFailed when no directory took it."""

    def load(self) -> Record | None: ...

    def save(self, doc: Record, everywhere: bool = False, sync: bool = True) -> object:
        """sync=False: to the page cache only (a power cut may leave the copy before it)."""
        ...

    def discard(self) -> None: ...


class ExclusiveLock(Protocol):
    """A lock every process on the data directory shares; held() raises NumberingBusy past its bound."""

    def held(self) -> AbstractContextManager[None]: ...

    def close(self) -> None: ...


class Waker(Protocol):
    """A background worker told that there is work (a sale went to the journal: replay it)."""

    def wake(self) -> None: ...


class Worker(Waker, Protocol):
    """A background worker the till starts and stops (the journal's replay)."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


class Syncer(Worker, Protocol):
    """The sync with HQ (tui_pos/sync/worker.py): woken after each commit, it says how it is doing."""

    def status(self) -> SyncState: ...


class CodeGateway(Protocol):
    """One code-payment provider (tui_pos/payments/: Alipay, WeChat Pay). Every call may block up
    to its timeout, so the use cases call it from a worker, never on the scan path; none raises for
    the network or the provider: a reply it cannot trust is status "unknown"."""

    provider: Provider

    def online(self) -> bool:
        """Whether the gateway can be reached now (a quick connect, no money moves): False refuses
        a code payment at once ("offline: take cash or card")."""
        ...

    def pay(self, trade: Trade) -> GatewayReply:
        """Charge the customer's code (Alipay barcode pay, WeChat code pay)."""
        ...

    def query(self, out_trade_no: str) -> GatewayReply:
        """Where the trade stands (paid, paying, failed/closed, unknown)."""
        ...

    def cancel(self, out_trade_no: str) -> GatewayReply:
        """Cancel (Alipay) or reverse (WeChat) the trade: closed when done, any charge returned."""
        ...

    def refund(self, out_trade_no: str, out_refund_no: str, amount: int, total: int, reason: str) -> GatewayReply:
        """Give amount (fen) of a paid trade of total back; the same out_refund_no is the same refund."""
        ...

    def query_refund(self, out_trade_no: str, out_refund_no: str) -> GatewayReply:
        """Where a refund stands (refunded, paying = processing, failed, unknown)."""
        ...
