"""Sales reports for a day or a period of days: totals, tenders, tax rates, departments, top
products, refunds and voids by cashier, and sales by hour, in the till's local time.

A day is a local calendar day (the time zone of the till's process); sales are stored with UTC
times, so a period becomes [local midnight of its first day, local midnight after its last) in
UTC. A refund or void counts on the day it was made, with its negative amounts. Sales still in
the fallback journal are included (like the X and Z reports), and the report says how many.
Everything here is pure: tui_pos.app.reports reads the summed figures and calls summarize().
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from tui_pos.domain.errors import N_, BadInput, Said
from tui_pos.domain.money import Currency, format_bp
from tui_pos.domain.shift import SALE_KINDS, KindTotals, TaxTotals, TenderTotals
from tui_pos.domain.tender import TENDER_KINDS

TOP_PRODUCTS = 10
NO_DEPARTMENT = "(none)"  # a product without a department, or no longer in the catalog (the till's and HQ's reports)
CSV_HEADER = ("section", "key", "name", "count", "quantity", "amount", "tax")
CSV_NUMERIC = ("count", "quantity", "amount", "tax")  # the columns that hold numbers (the rest is text)


@dataclass(frozen=True)
class ProductSales:
    barcode: str
    name: str  # as on the sale lines (the most sold name, if it changed)
    department: str
    qty: int  # sold less returned
    amount: int  # tax included


@dataclass(frozen=True)
class DepartmentSales:
    department: str
    qty: int
    amount: int


@dataclass(frozen=True)
class CashierReversals:
    cashier: str
    refunds: int
    refunds_amount: int  # negative: money paid back
    voids: int
    voids_amount: int


@dataclass(frozen=True)
class HourSales:
    day: str  # local date, YYYY-MM-DD ("" when summed over the days of a period)
    hour: int  # local hour, 0-23 (-1 when summed over the hours of a day)
    sales: int  # number of sales (refunds and voids are not sales)
    amount: int  # net: sales less refunds and voids


@dataclass(frozen=True)
class SalesReport:
    first_day: date
    last_day: date
    sales: KindTotals
    refunds: KindTotals
    voids: KindTotals
    gross: int  # the sales before their discounts
    tenders: tuple[TenderTotals, ...]
    taxes: tuple[TaxTotals, ...]
    departments: tuple[DepartmentSales, ...]  # biggest amount first
    top_by_qty: tuple[ProductSales, ...]
    top_by_amount: tuple[ProductSales, ...]
    cashiers: tuple[CashierReversals, ...]  # the cashiers who made refunds or voids
    hours: tuple[HourSales, ...]  # each local day and hour with a sale, refund or void, in order
    voided_lines: int  # lines taken off a sale before payment
    voided_lines_amount: int
    journaled: int  # of these records, how many were only in the fallback journal
    database_readable: bool  # False: the figures are the journal's alone (say so)

    @property
    def net(self) -> int:
        return self.sales.total + self.refunds.total + self.voids.total

    @property
    def tax(self) -> int:
        return self.sales.tax + self.refunds.tax + self.voids.tax

    @property
    def by_hour(self) -> tuple[HourSales, ...]:
        """The 24 hours of the day, each summed over the period's days (what the chart shows)."""
        sums = _sum_by(self.hours, lambda cell: cell.hour)
        return tuple(HourSales("", hour, sums[hour]["sales"], sums[hour]["amount"]) for hour in range(24))

    @property
    def by_day(self) -> tuple[HourSales, ...]:
        """Each day of the period, its hours summed."""
        sums = _sum_by(self.hours, lambda cell: cell.day)
        days = [(self.first_day + timedelta(n)).isoformat() for n in range((self.last_day - self.first_day).days + 1)]
        return tuple(HourSales(day, -1, sums[day]["sales"], sums[day]["amount"]) for day in days)


def _sum_by(cells: tuple[HourSales, ...], bucket: Callable[[HourSales], Any]) -> dict[Any, Counter]:
    sums: dict[Any, Counter] = defaultdict(Counter)
    for cell in cells:
        sums[bucket(cell)].update(sales=cell.sales, amount=cell.amount)
    return sums


# -- the period -------------------------------------------------------------------------------------
EARLIEST_DAY, LATEST_DAY = date(1900, 1, 1), date(9998, 12, 31)  # local midnights on both sides convert to UTC
LONGEST_PERIOD_DAYS = 3660  # ten years: one row per day is still a report a person can read


def parse_day(text: str, what: str = Said(N_("day"))) -> date:
    """A report's day; what names it in a refusal (the word "day", or the option as typed: --from)."""
    try:
        return _in_range(date.fromisoformat(text.strip()), what, text)
    except ValueError:
        raise BadInput(N_("{what} {text} is not a date (expected YYYY-MM-DD)"), what=what, text=repr(text)) from None


def _in_range(day: date, what: str, text: str) -> date:
    if not EARLIEST_DAY <= day <= LATEST_DAY:
        raise BadInput(N_("{what} {text} is outside the dates a report covers ({first} to {last})"), what=what,
                       text=repr(text), first=str(EARLIEST_DAY), last=str(LATEST_DAY))
    return day


def period(day: str | None = None, first: str | None = None, last: str | None = None, month: str | None = None,
           today: date | None = None) -> tuple[date, date]:
    """The first and last local day of a report: one day, --from/--to (--to defaults to today),
    or a month (YYYY-MM); nothing given means today."""
    today = today or date.today()
    if sum(x is not None for x in (day, first or last, month)) > 1:
        raise BadInput(N_("give one of: a day, --from/--to, or a month"))
    if day is not None:
        return parse_day(day), parse_day(day)
    if month is not None:
        try:
            start = _in_range(date.fromisoformat(f"{month.strip()}-01"), Said(N_("month")), month)
        except ValueError:
            raise BadInput(N_("month {text} is not a month (expected YYYY-MM)"), text=repr(month)) from None
        return start, (start.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    if last is not None and first is None:
        raise BadInput(N_("--to needs --from"))
    if first is not None:
        start, end = parse_day(first, "--from"), parse_day(last, "--to") if last is not None else today
        if end < start:
            raise BadInput(N_("the period ends ({end}) before it starts ({start})"), end=str(end), start=str(start))
        if (end - start).days >= LONGEST_PERIOD_DAYS:
            raise BadInput(N_("the period {start} to {end} is longer than {days} days: report a part of it"), start=str(start),
                           end=str(end), days=LONGEST_PERIOD_DAYS)
        return start, end
    return today, today


def utc_bounds(first: date, last: date) -> tuple[str, str]:
    """[local midnight starting first, local midnight after last) as stored times (UTC ISO)."""
    def utc(day: date) -> str:
        return datetime.combine(day, time()).astimezone(UTC).isoformat(timespec="milliseconds")

    return utc(first), utc(last + timedelta(days=1))


# -- the report ----------------------------------------------------------------------------------------
def summarize(facts: Mapping[str, Any], first: date, last: date, *, journaled: int, database_readable: bool,
              top: int = TOP_PRODUCTS) -> SalesReport:
    """A report from the store's period totals (see tui_pos.store.period_totals.empty_period_totals)."""
    kinds: dict[str, Counter] = {kind: Counter() for kind in SALE_KINDS}
    reversals: dict[str, Counter] = defaultdict(Counter)
    hours: dict[tuple[str, int], Counter] = defaultdict(Counter)
    for (kind, cashier, when), figures in facts["sales"].items():
        kinds.setdefault(kind, Counter()).update(figures)
        if kind != "sale":
            reversals[cashier].update({kind: figures["count"], f"{kind}_amount": figures["total"]})
        if when:  # 'YYYY-MM-DD HH' in local time
            hours[(when[:10], int(when[11:]))].update({"sales": figures["count"] if kind == "sale" else 0,
                                                        "amount": figures["total"]})
    taken: dict[str, int] = defaultdict(int)
    back: dict[str, int] = defaultdict(int)
    for (sale_kind, tender_kind), figures in facts["tenders"].items():
        (taken if sale_kind == "sale" else back)[tender_kind] += figures["amount"]
    taken["cash"] -= sum(k["change"] for k in kinds.values())  # change is given in cash

    taxes: dict[tuple[str, int], Counter] = defaultdict(Counter)
    departments: dict[str, Counter] = defaultdict(Counter)
    products: dict[str, Counter] = defaultdict(Counter)
    names: dict[str, Counter] = defaultdict(Counter)
    department_of: dict[str, str] = {}
    voided: Counter[str] = Counter()
    for (barcode, name, department, tax_code, rate_bp), figures in facts["lines"].items():
        voided.update({"count": figures["voided"], "amount": figures["voided_amount"]})
        if not figures["lines"]:
            continue  # voided before payment, every one of them
        taxes[(tax_code, rate_bp)].update({"net": figures["total"] - figures["tax"], "tax": figures["tax"]})
        departments[department].update({"qty": figures["qty"], "amount": figures["total"]})
        products[barcode].update({"qty": figures["qty"], "amount": figures["total"]})
        names[barcode][name] += figures["qty"]
        department_of[barcode] = department
    sold = [ProductSales(code, names[code].most_common(1)[0][0], department_of[code], p["qty"], p["amount"])
            for code, p in products.items()]

    return SalesReport(
        first_day=first, last_day=last,
        sales=_kind_totals(kinds["sale"]), refunds=_kind_totals(kinds["refund"]), voids=_kind_totals(kinds["void"]),
        gross=kinds["sale"]["gross"],
        tenders=tuple(TenderTotals(k, taken[k], back[k]) for k in TENDER_KINDS if taken[k] or back[k]),
        taxes=tuple(TaxTotals(code, rate, t["net"], t["tax"]) for (code, rate), t in sorted(taxes.items())),
        departments=tuple(sorted((DepartmentSales(d, c["qty"], c["amount"]) for d, c in departments.items()),
                                 key=lambda d: (-d.amount, d.department))),
        top_by_qty=tuple(sorted((p for p in sold if p.qty > 0), key=lambda p: (-p.qty, -p.amount, p.barcode))[:top]),
        top_by_amount=tuple(sorted((p for p in sold if p.amount > 0),
                                   key=lambda p: (-p.amount, -p.qty, p.barcode))[:top]),
        cashiers=tuple(CashierReversals(name, c["refund"], c["refund_amount"], c["void"], c["void_amount"])
                       for name, c in sorted(reversals.items())),
        hours=tuple(HourSales(day, hour, c["sales"], c["amount"]) for (day, hour), c in sorted(hours.items())),
        voided_lines=voided["count"], voided_lines_amount=voided["amount"],
        journaled=journaled, database_readable=database_readable,
    )


def _kind_totals(figures: Mapping[str, int]) -> KindTotals:
    return KindTotals(count=figures["count"], total=figures["total"], discount=figures["discount"], tax=figures["tax"])


# -- for the command line: JSON and CSV ------------------------------------------------------------
def report_json(report: SalesReport, currency: Currency) -> dict[str, Any]:
    """The report as JSON data, amounts as decimal strings in the shop currency."""
    fmt = currency.format

    def kind(totals: KindTotals) -> dict[str, Any]:
        return {"count": totals.count, "total": fmt(totals.total), "discount": fmt(totals.discount),
                "tax": fmt(totals.tax)}

    def hour(cell: HourSales) -> dict[str, Any]:
        return {"sales": cell.sales, "amount": fmt(cell.amount)}

    def product(p: ProductSales) -> dict[str, Any]:
        return {"barcode": p.barcode, "name": p.name, "department": p.department, "quantity": p.qty,
                "amount": fmt(p.amount)}

    return {
        "first_day": report.first_day.isoformat(), "last_day": report.last_day.isoformat(),
        "journaled": report.journaled, "database_readable": report.database_readable,
        "sales": kind(report.sales) | {"gross": fmt(report.gross)}, "refunds": kind(report.refunds),
        "voids": kind(report.voids), "net": fmt(report.net), "tax": fmt(report.tax),
        "voided_lines": {"count": report.voided_lines, "amount": fmt(report.voided_lines_amount)},
        "tenders": [{"kind": t.kind, "sales": fmt(t.sales), "refunds": fmt(t.refunds), "net": fmt(t.net)}
                    for t in report.tenders],
        "taxes": [{"code": t.code, "rate": format_bp(t.rate_bp), "net": fmt(t.net), "tax": fmt(t.tax)}
                  for t in report.taxes],
        "departments": [{"department": d.department, "quantity": d.qty, "amount": fmt(d.amount)}
                        for d in report.departments],
        "top_by_quantity": [product(p) for p in report.top_by_qty],
        "top_by_amount": [product(p) for p in report.top_by_amount],
        "refunds_and_voids_by_cashier": [
            {"cashier": c.cashier, "refunds": c.refunds, "refunds_amount": fmt(c.refunds_amount), "voids": c.voids,
             "voids_amount": fmt(c.voids_amount)} for c in report.cashiers],
        "days": [{"day": d.day} | hour(d) for d in report.by_day],
        "hours": [{"hour": h.hour} | hour(h) for h in report.by_hour],
    }


def report_rows(report: SalesReport, currency: Currency) -> list[tuple[str, ...]]:
    """The report as one table (CSV_HEADER): a row per figure, the section first, so that a
    spreadsheet can filter it; amounts as decimal strings, empty cells where nothing applies."""
    fmt = currency.format
    rows: list[tuple[str, ...]] = []

    def add(section: str, key: str, name: str, count: int | None = None, qty: int | None = None,
            amount: int | None = None, tax: int | None = None) -> None:
        rows.append((section, key, name, *("" if v is None else str(v) for v in (count, qty)),
                     *("" if v is None else fmt(v) for v in (amount, tax))))

    add("totals", "sales", "Sales", report.sales.count, None, report.sales.total, report.sales.tax)
    add("totals", "gross", "Sales before discounts", None, None, report.gross)
    add("totals", "discounts", "Discounts", None, None, report.sales.discount)
    add("totals", "refunds", "Refunds", report.refunds.count, None, report.refunds.total, report.refunds.tax)
    add("totals", "voids", "Voids", report.voids.count, None, report.voids.total, report.voids.tax)
    add("totals", "net", "Net sales", None, None, report.net, report.tax)
    add("totals", "voided_lines", "Lines voided before payment", report.voided_lines, None,
        report.voided_lines_amount)
    for t in report.tenders:
        add("tenders", t.kind, f"{t.kind} sales", None, None, t.sales)
        add("tenders", f"{t.kind}:refunds", f"{t.kind} refunds", None, None, t.refunds)
    for tax in report.taxes:
        add("taxes", f"{tax.code}:{tax.rate_bp}", f"{tax.code} {format_bp(tax.rate_bp)}", None, None, tax.net, tax.tax)
    for d in report.departments:
        add("departments", d.department, d.department, None, d.qty, d.amount)
    for section, products in (("top_by_quantity", report.top_by_qty), ("top_by_amount", report.top_by_amount)):
        for p in products:
            add(section, p.barcode, p.name, None, p.qty, p.amount)
    for c in report.cashiers:
        if c.refunds:
            add("refunds_by_cashier", c.cashier, c.cashier, c.refunds, None, c.refunds_amount)
    for c in report.cashiers:
        if c.voids:
            add("voids_by_cashier", c.cashier, c.cashier, c.voids, None, c.voids_amount)
    for day in report.by_day:
        add("days", day.day, day.day, day.sales, None, day.amount)
    for h in report.by_hour:
        if h.sales or h.amount:
            add("hours", f"{h.hour:02d}", f"{h.hour:02d}:00-{h.hour + 1:02d}:00", h.sales, None, h.amount)
    return rows
