"""What every use case of one till shares: its configuration, its clock, its money, its log."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from tui_pos.config import Config
from tui_pos.domain.errors import NotDurable, NumberingBusy, Said, StorageFailed
from tui_pos.domain.money import Currency

# What support reads in logs/tui-pos.log: logins and failed logins (by a user's name, or
# UNKNOWN_USER: never what was typed, which may be a PIN), every sale, refund and void with its
# receipt number and amounts as money, what was refused and why, shifts opened and closed, Z reports.
# One logger for every use case of the till (the name is in each line of the log).
log = logging.getLogger("tui_pos.app.till")

REASON_LENGTH = 100  # a refund, void, paid-in or paid-out reason as typed


def currency_of(config: Config) -> Currency:
    return Currency(config.currency_code, config.currency_symbol, config.currency_exponent)


@dataclass
class TillContext:
    config: Config
    clock: Callable[[], str]
    currency: Currency  # the UI may show another symbol (the console theme): replaced, never mutated
    cash_step: int  # what cash is rounded to

    @classmethod
    def of(cls, config: Config, clock: Callable[[], str]) -> TillContext:
        currency = currency_of(config)
        return cls(config, clock, currency, currency.parse(config.cash_rounding))

    @property
    def till_id(self) -> str:
        return self.config.till_id


def storage_refusal(err: StorageFailed) -> str:
    """What the cashier reads when nothing took a record."""
    return (
        "SALE NOT STORED - do not hand over goods or money. "
        f"The database failed ({err.sqlite_error}) and so did every journal ({err.journal_error}). "
        "The sale is kept: free disk space or plug in the journal drive, then retry."
    )


def busy_refusal(err: NumberingBusy) -> str:
    """What the cashier reads when another process held the numbering lock too long."""
    return f"NOT RECORDED - {err}, so no number could be given; nothing was stored (the sale is kept). {err.remedy}"


@contextmanager
def storing(what: str, refusal: Callable[[StorageFailed], str | Said] = storage_refusal) -> Iterator[None]:
    """Storage refusals of a record (a shift's, a stock movement) as the message a person reads
    (NotDurable); refusal: that message when nothing took it (a Said: its template and values)."""
    try:
        yield
    except StorageFailed as err:
        log.error("NOT STORED: %s; database: %s; journal: %s", what, err.sqlite_error, err.journal_error)
        raise NotDurable(refusal(err)) from None
    except NumberingBusy as err:
        raise NotDurable(busy_refusal(err)) from None
