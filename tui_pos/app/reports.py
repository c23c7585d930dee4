"""Sales reports read from what is stored (database and journal together), summed by the domain."""

from __future__ import annotations

from datetime import date

from tui_pos.app.ports import PeriodQueries
from tui_pos.domain.reports import TOP_PRODUCTS, SalesReport, summarize, utc_bounds


def sales_report(ledger: PeriodQueries, first: date, last: date, top: int = TOP_PRODUCTS) -> SalesReport:
    """The report of the local days first..last, from the database and the journal together."""
    facts, journaled, readable = ledger.period_totals(*utc_bounds(first, last))
    return summarize(facts, first, last, journaled=journaled, database_readable=readable, top=top)
