"""Stock at the till: stock on hand, receiving, adjusting, counting, and counts or receipts
imported from a file. Every change is a StockMoved record committed through the ledger (SQLite,
else the journal), under the numbering lock that sales take too: the on-hand a count is compared
with, and a movement's expected on-hand, are read there, with no sale slipping in between.

Who may: anyone signed in receives and counts; an adjustment of more than [stock] adjust_limit
units, and a count whose variance is beyond a threshold ([stock] variance_*), need a manager
(approved like a refund: the manager signed in, or an Approval for "stock_adjust" / "stock_count").
A till never refuses a sale for stock: selling at zero or below is allowed, and flagged by the
anomalies report.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction
from typing import Any, Protocol

from tui_pos.app.context import REASON_LENGTH, TillContext, log, storing
from tui_pos.app.ports import PeriodQueries, RecordLog, StockQueries
from tui_pos.app.session import Session
from tui_pos.config import StockConfig
from tui_pos.domain.anomalies import (
    PeriodFacts,
    Thresholds,
    Warning,
    period_warnings,
    variance_beyond,
    write_offs,
)
from tui_pos.domain.auth import Approval, ApprovalRequired
from tui_pos.domain.catalog import ERRORS_SHOWN, Catalog, Product, more_lines
from tui_pos.domain.errors import (
    N_,
    BadInput,
    BadLines,
    PosError,
    Said,
    StorageError,
    StorageFailed,
    check_text,
)
from tui_pos.domain.money import Currency, percent_to_bp
from tui_pos.domain.records import StockMoved, new_uuid
from tui_pos.domain.reports import utc_bounds
from tui_pos.domain.stock import (
    ADJUST_REASONS,
    QTY_SCALE,
    MoveKind,
    cost_of,
    format_qty,
    is_low,
    is_opening,
    moving_average_cost,
    parse_item,
    parse_qty,
    reorder_suggestion,
)

IMPORT_COLUMNS = ("barcode", "qty", "kind", "cost", "supplier", "reference")
IMPORT_KINDS = ("count", "receive")


# an import file's header refused: (lacks columns, has unknown ones) -> what is said
_HEADER_REFUSALS = {
    (False, False): N_("line 1: the header must be barcode,qty[,kind][,cost][,supplier][,reference]"),
    (True, False): N_("line 1: the header must be barcode,qty[,kind][,cost][,supplier][,reference] (lacks {missing})"),
    (False, True): N_("line 1: the header must be barcode,qty[,kind][,cost][,supplier][,reference] (unknown: {unknown})"),
    (True, True): N_("line 1: the header must be barcode,qty[,kind][,cost][,supplier][,reference] (lacks {missing}) "
                     "(unknown: {unknown})"),
}


class StockStore(RecordLog, StockQueries, Protocol):
    """What stock asks of storage."""


@dataclass(frozen=True)
class Level:
    """A product's stock as the till sees it now (quantities in milli-units)."""

    barcode: str
    name: str
    department: str
    weighed: bool
    on_hand: int
    reorder_level: int | None
    reorder_qty: int | None
    tracked: bool
    since: str | None = None  # the catalog's last change of the product (stock idle since then at least)
    incoming: int | None = None  # on its way to the shop (open transfers to it), where known: HQ knows it

    @property
    def low(self) -> bool:
        return is_low(self.on_hand, self.reorder_level)

    @property
    def suggested(self) -> int:
        return reorder_suggestion(self.on_hand, self.reorder_level, self.reorder_qty, self.incoming or 0)

    def to_dict(self) -> dict[str, Any]:
        """For --json: quantities as decimal strings (like amounts), and in milli-units too."""
        def qty(milli: int | None) -> str | None:
            return None if milli is None else format_qty(milli)

        return {"barcode": self.barcode, "name": self.name, "department": self.department, "weighed": self.weighed,
                "on_hand": qty(self.on_hand), "reorder_level": qty(self.reorder_level),
                "reorder_qty": qty(self.reorder_qty), "low": self.low, "tracked": self.tracked,
                "on_hand_milli": self.on_hand}


def _level(row: dict[str, Any]) -> Level:
    return Level(row["barcode"], row["name"], row["department"], row["weighed"], row["on_hand"], row["reorder_level"],
                 row["reorder_qty"], row["tracked"], row["since"])


def thresholds_of(ctx: TillContext) -> Thresholds:
    """[stock] in config.toml as the anomaly rules take it."""
    return stock_thresholds(ctx.config.stock, ctx.currency)


def stock_thresholds(stock: StockConfig, currency: Currency) -> Thresholds:
    """[stock] as the anomaly rules take it, amounts in this currency (the till's, or HQ's chain's)."""
    return Thresholds(parse_qty(stock.variance_qty, True), percent_to_bp(stock.variance_percent),
                      currency.parse(stock.variance_value), currency.parse(stock.shrinkage_value),
                      stock.outflow_factor, parse_qty(stock.outflow_min, True), stock.outflow_days, stock.dead_days,
                      stock.risk_factor, stock.risk_min)


def stock_refusal(err: StorageFailed) -> Said:
    """What a person reads when nothing took a stock movement."""
    return Said(N_("NOT STORED: The database failed ({sqlite_error}) and so did every journal ({journal_error}). "
                   "Nothing of it was stored: free disk space or plug in the journal drive, then retry."),
                sqlite_error=err.sqlite_error, journal_error=err.journal_error)


@dataclass(frozen=True)
class Line:
    """One product of a command or a file, its quantity (milli-units) and what came with it."""

    product: Product
    qty: int
    kind: MoveKind = "count"
    unit_cost: int | None = None
    supplier: str = ""
    reference: str = ""


class Stock:
    def __init__(self, ctx: TillContext, store: StockStore, session: Session, catalog: Callable[[], Catalog]):
        self.ctx = ctx
        self.store = store
        self.session = session
        self.catalog = catalog  # the till's catalog as it is now (reloaded after an import)

    # -- reading -----------------------------------------------------------------------------
    def levels(self, code: str | None = None, low: bool = False) -> list[Level]:
        """Every product's stock (or one product's: UnknownCode if no such code), or only the low ones."""
        barcodes = [self.catalog().lookup(code).barcode] if code is not None else None
        rows, _ = self.store.stock_levels(barcodes)
        if rows is None:
            raise StorageError(N_("the database cannot be read: stock on hand can be shown only when it can"))
        levels = [_level(r) for r in rows]
        return [lv for lv in levels if lv.low] if low else levels

    def of(self, barcodes: Sequence[str]) -> dict[str, Level] | None:
        """These products' stock by barcode (what `tui-pos stock` and the product look-up show: the
        one answer, store/stock.py); None: the database cannot be read (stock not shown)."""
        rows, _ = self.store.stock_levels(list(barcodes))
        if rows is None:
            return None
        return {r["barcode"]: _level(r) for r in rows}

    def average_costs(self, until: str = "9999", barcodes: list[str] | None = None) -> dict[str, Fraction | None]:
        """Each received product's (of these) moving average unit cost (domain/stock.py), from
        every receive stored before `until`."""
        receipts: dict[str, list[tuple[int | None, int, int | None]]] = {}
        for barcode, expected, qty, unit_cost in self.store.stock_receipts(until, barcodes) or []:
            receipts.setdefault(barcode, []).append((expected, qty, unit_cost))
        return {barcode: moving_average_cost(lots) for barcode, lots in receipts.items()}

    # -- what the CLI and the screens give ---------------------------------------------------
    def lines(self, items: Sequence[str], kind: MoveKind, **fields: Any) -> list[Line]:
        """CODE[xQTY] items as lines, the same product's added up (a scanner burst: one scan one
        unit) in the order first seen; quantities negative only for an adjustment."""
        catalog = self.catalog()
        found: dict[str, Line] = {}
        for item in items:
            code, qty_text = parse_item(item)
            product = catalog.lookup(code)
            qty = parse_qty(qty_text, product.weighed, signed=kind == "adjust", what=Said(N_("{code}: quantity"), code=code))
            before = found.get(product.barcode)
            found[product.barcode] = Line(product, qty + (before.qty if before else 0), kind, **fields)
        for line in found.values():
            if line.qty == 0 and kind != "count":
                raise BadInput(N_("{code}: a quantity of 0 moves nothing"), code=line.product.barcode)
        if not found:
            raise BadInput(N_("no item given (--item CODE[xQTY])"))
        return list(found.values())

    # -- the movements -----------------------------------------------------------------------
    def receive(self, lines: Sequence[Line], batch: str | None = None) -> list[dict[str, Any]]:
        """Goods in: each product's quantity, with its unit cost, supplier and reference."""
        for line in lines:
            check_text(line.supplier, "the supplier", REASON_LENGTH)
            check_text(line.reference, "the reference", REASON_LENGTH)
            if line.unit_cost is not None and line.unit_cost < 0:
                raise BadInput(N_("a cost cannot be negative"))
        return self._store(lines, None, batch)

    def adjust(self, lines: Sequence[Line], reason: str, approval: Approval | None = None) -> list[dict[str, Any]]:
        """Stock written off or found, with a reason code; over [stock] adjust_limit a manager's."""
        if reason not in ADJUST_REASONS:
            raise BadInput(N_("the reason {reason!r} is not one of {reasons}"), reason=reason, reasons=", ".join(ADJUST_REASONS))
        limit = parse_qty(self.ctx.config.stock.adjust_limit, True)
        over = [line for line in lines if abs(line.qty) > limit]
        manager = None
        if over:
            manager = self.session.require(
                approval, "stock_adjust", N_("an adjustment of more than {limit} units ({name}: {qty}) needs a manager"),
                limit=format_qty(limit), name=over[0].product.name, qty=format_qty(over[0].qty)).manager
        return self._store([Line(line.product, line.qty, "adjust") for line in lines], manager, None, reason=reason)

    def count(self, lines: Sequence[Line], approval: Approval | None = None,
              batch: str | None = None) -> list[dict[str, Any]]:
        """A stock take: the quantities counted; each variance against what was expected at this
        moment is recorded. Beyond a threshold a manager approves it."""
        beyond = self._beyond(lines)
        manager = self.session.require(approval, "stock_count", beyond.template, **beyond.params).manager \
            if beyond is not None else None
        return self._store(lines, manager, batch, counting=True)

    def _beyond(self, lines: Sequence[Line], levels: dict[str, int] | None = None) -> Said | None:
        """Why a count needs a manager, one whole sentence (None when it does not)."""
        if levels is None:
            levels = self.on_hand([line.product.barcode for line in lines], required=True)
        costs = self.average_costs(barcodes=[line.product.barcode for line in lines])
        t = thresholds_of(self.ctx)
        found = [why for line in lines
                 if (why := variance_beyond(line.product.name, line.qty, levels[line.product.barcode],
                                            costs.get(line.product.barcode), t, self.ctx.currency)) is not None]
        if not found:
            return None
        if len(found) == 1:
            return Said(N_("{reason}: a manager must approve the count"), reason=found[0])
        return Said(N_("{reason} (and {more} more): a manager must approve the count"), reason=found[0],
                    more=len(found) - 1)

    def on_hand(self, barcodes: list[str], required: bool) -> dict[str, int]:
        """These products' stock on hand by barcode, what a movement records as expected (read under
        the numbering lock). The database unreadable: StorageError when required, else {} (unknown)."""
        rows, _ = self.store.stock_levels(barcodes)
        if rows is None:
            if required:
                raise StorageError(N_("the database cannot be read: stock can be counted only when it can "
                                      "(what is expected must be known)"))
            return {}
        return {r["barcode"]: r["on_hand"] for r in rows}

    def _store(self, lines: Sequence[Line], manager: str | None, batch: str | None, *, counting: bool = False,
               reason: str | None = None) -> list[dict[str, Any]]:
        """Each line as one record, every one under the numbering lock (the on-hand read there)."""
        ctx, cashier = self.ctx, self.session.cashier or None
        batch = batch or (new_uuid() if len(lines) > 1 else None)
        stored = []
        with storing("a stock movement", stock_refusal), self.store.locked():  # every line committed while it is held
            levels = self.on_hand([line.product.barcode for line in lines], required=counting)
            if counting and manager is None and (beyond := self._beyond(lines, levels)) is not None:
                raise ApprovalRequired("stock_count", N_("stock moved meanwhile and the count is now beyond a "
                                                         "threshold: {reason}"), reason=beyond)
            for line in lines:
                expected = levels.get(line.product.barcode)
                if counting:
                    assert expected is not None
                    move = StockMoved(new_uuid(), ctx.till_id, ctx.clock(), "count", line.product.barcode,
                                      line.qty - expected, expected, counted=line.qty, batch=batch, actor=cashier,
                                      approved_by=manager)
                else:
                    move = StockMoved(new_uuid(), ctx.till_id, ctx.clock(), line.kind, line.product.barcode, line.qty,
                                      expected, unit_cost=line.unit_cost, reason=reason, supplier=line.supplier,
                                      reference=line.reference, batch=batch, actor=cashier, approved_by=manager)
                where = self.store.commit(move.to_record())
                stored.append(move.to_record())
                log.info("stock %s %s %s by %s%s, stored in %s", move.kind, move.barcode, format_qty(move.qty), cashier,
                         f", approved by {manager}" if manager else "", where)
        return stored

    # -- a file ------------------------------------------------------------------------------
    def parse_import(self, text: str) -> list[Line]:
        """A CSV of counts or receipts (barcode,qty[,kind][,cost][,supplier][,reference]; kind
        count, the default, or receive), validated as a whole: every line or BadLines by line."""
        reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
        header = [h.strip().lower() for h in (reader.fieldnames or [])]
        missing = [c for c in ("barcode", "qty") if c not in header]
        unknown = [c for c in header if c not in IMPORT_COLUMNS]
        if missing or unknown or len(set(header)) != len(header):
            raise BadInput(_HEADER_REFUSALS[bool(missing), bool(unknown)], missing=", ".join(missing),
                           unknown=", ".join(unknown))
        reader.fieldnames = header
        catalog = self.catalog()
        lines: list[Line] = []
        errors: list[str] = []
        seen: set[str] = set()
        for row in reader:
            try:
                if None in row:
                    raise BadInput(N_("more cells than the header has columns"))
                cells = {k: (v or "").strip() for k, v in row.items()}
                kind = cells.get("kind") or "count"
                if kind not in IMPORT_KINDS:
                    raise BadInput(N_("kind {kind!r} is not count or receive"), kind=kind)
                if lines and kind != lines[0].kind:
                    raise BadInput(N_("a file is counts or receipts, not both (line 2 is a {kind})"), kind=lines[0].kind)
                product = catalog.lookup(cells["barcode"])
                qty = parse_qty(cells["qty"], product.weighed)
                if kind == "count" and product.barcode in seen:
                    raise BadInput(N_("{code} is counted twice in the file"), code=product.barcode)
                seen.add(product.barcode)
                cost = self.ctx.currency.parse(cells["cost"]) if cells.get("cost") else None
                if kind == "count" and (cost is not None or cells.get("supplier") or cells.get("reference")):
                    raise BadInput(N_("a count has no cost, supplier or reference"))
                for name in ("supplier", "reference"):
                    check_text(cells.get(name, ""), name, REASON_LENGTH)
                lines.append(Line(product, qty, "receive" if kind == "receive" else "count", cost,
                                  cells.get("supplier", ""), cells.get("reference", "")))
            except PosError as err:  # BadInput, UnknownCode
                errors.append(Said(N_("line {line}: {error}"), line=reader.line_num, error=err))
        if errors:
            raise BadLines(N_("nothing imported:"), errors[:ERRORS_SHOWN]
                           + ([more_lines(len(errors) - ERRORS_SHOWN)] if len(errors) > ERRORS_SHOWN else []))
        if not lines:
            raise BadInput(N_("nothing imported: the file has no lines"))
        return lines

    def import_file(self, text: str, approval: Approval | None = None) -> list[dict[str, Any]]:
        """Every line of a CSV of counts or receipts, or (a bad line) none. Counts beyond a threshold need a manager."""
        lines = self.parse_import(text)
        if lines[0].kind == "receive":
            return self.receive(lines, new_uuid())
        return self.count(lines, approval, new_uuid())


# -- reports -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MarginLine:
    """A product's (or a department's) gross margin over a period; cost None: no cost received."""

    barcode: str
    name: str
    department: str
    qty: int  # milli-units sold, net of refunds
    revenue: int  # net of tax, minor units
    cost: int | None
    unit_cost: Fraction | None

    @property
    def margin(self) -> int | None:
        return None if self.cost is None else self.revenue - self.cost

    @property
    def margin_bp(self) -> int | None:
        """The margin as basis points of the revenue."""
        margin = self.margin
        return None if margin is None or not self.revenue else round(margin * 10000 / self.revenue)


class StockReports:
    """Reorder suggestions, the anomalies of a period and the margin of a period, from what is stored."""

    def __init__(self, stock: Stock, store: StockStore, periods: PeriodQueries):
        self.stock = stock
        self.store = store
        self.periods = periods

    def reorder(self) -> list[Level]:
        """The products at or below their reorder level, each with what to order."""
        return self.stock.levels(low=True)

    def anomalies(self, first: date, last: date, today: date | None = None) -> list[Warning]:
        """Every stock and operation-risk warning of the local days first..last, with its numbers.
        Daily outflow, last movement and the period's end levels come from the store's per-day
        sums (store/stock_daily.py); single movements are read only for the products a rule needs
        them for (counts, write-offs, sales at or below zero)."""
        ctx, t = self.stock.ctx, thresholds_of(self.stock.ctx)
        start, end = utc_bounds(first, last)
        levels = self.stock.levels()
        period = self.store.stock_period((first - timedelta(days=t.outflow_days)).isoformat(), first.isoformat(),
                                         last.isoformat(), t.outflow_min)
        checked = self.store.stock_moves(start, end, ("count", "adjust"))
        risk = self.store.risk_facts(start, end)
        if period is None or checked is None or risk is None:
            raise StorageError(N_("the database cannot be read: the anomalies can be reported only when it can"))
        names = {lv.barcode: lv.name for lv in levels}
        # costs value a count's variance or a write-off: an opening count has none (a year's first month holds them all)
        costs = self.stock.average_costs(barcodes=sorted({m["barcode"] for m in checked if not is_opening(m)}))
        later, came_in = period["moved_after"], period["came_in"]
        end_levels = {lv.barcode: lv.on_hand - later.get(lv.barcode, 0) for lv in levels}
        # only a product whose level could have been at or below zero in the period has its movements read
        low = sorted(b for b, level in end_levels.items() if level - came_in.get(b, 0) <= 0)
        sold = self.store.stock_sold(start, end, low) if low else []
        moved = self.store.stock_moves(start, end, barcodes=low) if low else []
        if sold is None or moved is None:
            raise StorageError(N_("the database cannot be read: the anomalies can be reported only when it can"))
        events: dict[str, list[tuple[str, int, bool]]] = {}  # the period's movements per product, in time order
        for barcode, at, qty in sold:
            events.setdefault(barcode, []).append((at, qty, True))
        for move in moved:
            events.setdefault(move["barcode"], []).append((move["at"], move["qty"], False))
        for moves in events.values():
            moves.sort(key=lambda e: e[0])
        daily = {barcode: {date.fromisoformat(day): qty for day, qty in days.items()}
                 for barcode, days in period["outflow"].items()}
        period_days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
        rows = [dict(vars(lv)) for lv in levels]
        return period_warnings(PeriodFacts(
            levels=rows, moves=checked, costs=costs, names=names, events=events, end_levels=end_levels, daily=daily,
            period_days=period_days, last_moved=period["last_moved"], today=min(last, today or date.today()),
            per_cashier=risk["per_cashier"], refunds=[r for r, _ in risk["refunds"]],
            originals={o["uuid"]: o for _, o in risk["refunds"]}), t, ctx.currency)

    def daily_sold(self, barcode: str, first: date, last: date) -> list[tuple[date, int]]:
        """What a product's sales took out on each local day first..last (milli-units; 0 on a day
        nothing sold): what the stock screen's chart draws (the same per-day sums as the outflow rule)."""
        days = self.store.stock_days(barcode, first.isoformat(), last.isoformat())
        if days is None:
            raise StorageError(N_("the database cannot be read: the anomalies can be reported only when it can"))
        return [(day, days.get(day.isoformat(), [0])[0])
                for day in (first + timedelta(days=n) for n in range((last - first).days + 1))]

    def write_offs(self, first: date, last: date) -> dict[str, tuple[int, int, int]]:
        """Write-offs of the local days first..last per reason: (how many, milli-units, value at cost)."""
        start, end = utc_bounds(first, last)
        adjusted = self.store.stock_moves(start, end, ("adjust",))
        if adjusted is None:
            raise StorageError(N_("the database cannot be read: the anomalies can be reported only when it can"))
        return write_offs(adjusted, self.stock.average_costs(barcodes=sorted({m["barcode"] for m in adjusted})))

    def margin(self, first: date, last: date) -> tuple[list[MarginLine], int, bool]:
        """Each product's gross margin over the local days first..last: what its lines sold for net
        of tax, less the quantity sold at its moving average cost at the end of the period
        (domain/stock.py); how many records are still in the journal; whether the database could be read."""
        start, end = utc_bounds(first, last)
        facts, journaled, readable = self.periods.period_totals(start, end)
        sold: dict[str, list[Any]] = {}
        for (barcode, name, department, _code, _rate), figures in facts["lines"].items():
            entry = sold.setdefault(barcode, [name, department, 0, 0])
            entry[2] += figures["qty"] * QTY_SCALE
            entry[3] += figures["total"] - figures["tax"]
        costs = self.stock.average_costs(end, sorted(sold))
        lines = [MarginLine(barcode, name, department, qty, revenue, cost_of(qty, costs.get(barcode)), costs.get(barcode))
                 for barcode, (name, department, qty, revenue) in sorted(sold.items())]
        return lines, journaled, readable
