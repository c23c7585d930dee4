"""Stock arithmetic (pure): quantities, stock on hand, the moving average cost, reorder suggestions.

Stock is movements, never edits. Every change is a record (domain.records.StockMoved: receive,
adjust, count, transfer out and in) or a sale's line (sale and refund, automatic). Stock on hand
of a product = its last count + the movements since.

Quantities: one schema for whole and weighed goods. Every stock quantity is an integer of
milli-units (QTY_SCALE = 1000 per unit): 3 cans = 3000, 1.25 kg = 1250. A product says whether it
may be counted in fractions (its `weighed` flag, in the catalog CSV); the others take whole units
only. Integers keep sums exact in SQLite and PostgreSQL alike (no float, no Decimal column);
three decimals are a gram of a kilo product. Costs are minor units (fen) per whole unit (a kilo
for weighed goods).

A count is stored with what was expected at that moment (the on-hand just before it, as the till
saw it under the numbering lock) and its variance (counted - expected) as its quantity. So "last
count + movements since" equals "opening + the sum of every movement's quantity": the store sums
(one query, no ordering), and the properties test both ways agree (tests/domain/test_stock.py).

The moving average cost: each receive's unit cost is averaged with the cost of what was on hand
before it (never less than zero units): avg' = (max(on_hand, 0) * avg + qty * cost) / (max(on_hand,
0) + qty), kept to a thousandth of a minor unit. Sales, adjustments and counts take stock out at the average in force, leaving it
unchanged. The cost of goods sold over a period (the margin report) is the quantity sold times the
moving average cost at the end of that period.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Literal, Protocol

from tui_pos.domain.errors import N_, BadInput, Said
from tui_pos.domain.money import TooManyDecimals, parse_fixed, round_half_up

QTY_SCALE = 1000  # milli-units per unit
QTY_PLACES = 3
MAX_QTY = 10**9 * QTY_SCALE  # a billion units: more is a typing mistake

MoveKind = Literal["receive", "adjust", "count", "transfer_out", "transfer_in"]
MOVE_KINDS: tuple[MoveKind, ...] = ("receive", "adjust", "count", "transfer_out", "transfer_in")
ADJUST_REASONS = ("damaged", "expired", "theft", "found", "other")
# The reason of a product's opening count: what a till held when it started tracking the product
# (the catalog CSV's stock column, or what a till held before that was a record:
# app/catalog_import.py opening_count). A count, not a sixth kind: stock on hand = last count + movements since, at the
# till and at HQ alike (HQ restarts the till's level at it as at any count); its "variance" is
# no stock found or lost, so the count-variance warning passes it by (domain/anomalies.py).
OPENING = "opening"
OPENING_NAMESPACE = uuid.UUID("0b7c3f5e-2d4a-4c1b-8e6f-93a1d5c07e21")  # tui-pos opening counts


def is_opening(move: Mapping[str, Any]) -> bool:
    """A product's opening count (a stock movement of kind count, reason OPENING)."""
    return move.get("kind") == "count" and move.get("reason") == OPENING


def opening_uuid(till_id: str, barcode: str) -> str:
    """The one uuid of a product's opening count at a till: stored twice (an import run again, a
    start after an unknown outcome) it is found, never doubled."""
    return str(uuid.uuid5(OPENING_NAMESPACE, f"{till_id}\x1f{barcode}"))
_ITEM = re.compile(r"(?P<code>[^xX*]+?)(?:[xX*](?P<qty>[^xX*]+))?")


_QUANTITY = Said(N_("quantity"))


def parse_qty(text: str, weighed: bool = False, *, signed: bool = False, what: str = _QUANTITY) -> int:
    """'3' -> 3000, '1.25' -> 1250 (milli-units). Fractions only for weighed goods (3 decimals at
    most); negative only when signed (an adjustment); BadInput otherwise. what: the quantity's name
    in the message (a marked word, a Said such as Said(N_("{code}: quantity"), code=...), or a
    column's name)."""
    shown = text.strip()
    try:
        milli = parse_fixed(text, QTY_PLACES)
    except TooManyDecimals:
        raise BadInput(N_("{what} {text!r} has more than {places} decimals"), what=what, text=shown,
                       places=QTY_PLACES) from None
    if milli is None or "," in text:
        raise BadInput(N_("{what} {text!r} is not a number (e.g. 3, or 1.25 for weighed goods)"), what=what, text=shown)
    if milli % QTY_SCALE and not weighed:
        raise BadInput(N_("{what} {text!r} must be a whole number (the product is not weighed)"), what=what, text=shown)
    if milli < 0 and not signed:
        raise BadInput(N_("{what} {text!r} cannot be negative"), what=what, text=shown)
    if abs(milli) > MAX_QTY:
        raise BadInput(N_("{what} {text!r} is too large"), what=what, text=shown)
    return milli


def format_qty(milli: int) -> str:
    """3000 -> '3', 1250 -> '1.25', -500 -> '-0.5'."""
    whole, fraction = divmod(abs(milli), QTY_SCALE)
    text = f"{whole}.{fraction:03d}".rstrip("0").rstrip(".") if fraction else str(whole)
    return f"-{text}" if milli < 0 else text


def parse_item(text: str) -> tuple[str, str]:
    """'6901234x12' -> ('6901234', '12'); a bare code is one unit ('1'). The quantity is parsed
    later (parse_qty), once the product says whether it is weighed."""
    match = _ITEM.fullmatch(text.strip())
    if not match or not match["code"].strip():
        raise BadInput(N_("{text!r} is not CODE or CODExQTY"), text=text)
    return match["code"].strip(), (match["qty"] or "1").strip()


class Move(Protocol):
    """What the arithmetic needs of a movement (a StockMoved record, or a sale's line as one)."""

    @property
    def kind(self) -> str: ...

    @property
    def qty(self) -> int: ...  # the change, milli-units (a count: its variance)

    @property
    def counted(self) -> int | None: ...  # a count: the quantity counted


@dataclass(frozen=True)
class Movement:
    """A movement as the arithmetic sees it: kind "sale" for a sale's or refund's line."""

    kind: str
    qty: int
    counted: int | None = None
    unit_cost: int | None = None


def on_hand(moves: Iterable[Move], opening: int = 0) -> int:
    """The stock on hand after these movements, in order: a count sets it, any other adds its quantity."""
    level = opening
    for move in moves:
        level = move.counted if move.kind == "count" and move.counted is not None else level + move.qty
    return level


def last_count_plus_since(moves: Sequence[Move], opening: int = 0) -> int:
    """The same figure as the issue states it: the last count, plus every movement after it."""
    counts = [i for i, m in enumerate(moves) if m.kind == "count" and m.counted is not None]
    if not counts:
        return opening + sum(m.qty for m in moves)
    last = counts[-1]
    counted = moves[last].counted
    assert counted is not None
    return counted + sum(m.qty for m in moves[last + 1:])


def variance(counted: int, expected: int) -> int:
    """What a count finds more (+) or less (-) than expected."""
    return counted - expected


def transfer_variance(sent: int, received: int) -> int:
    """A transfer out of one shop and in at another sum to zero, or leave this variance (received - sent)."""
    return received - sent


AVG_PLACES = 1000  # the moving average is kept to a thousandth of a minor unit (exact integers, no drift)


def moving_average_cost(receipts: Iterable[tuple[int | None, int, int | None]],
                        start: Fraction | None = None) -> Fraction | None:
    """The moving average unit cost after receipts of (on hand before, quantity, unit cost), in
    order; receipts without a cost leave it as it is; an on-hand not known (None) counts as none
    (the lot's own cost). Kept to a thousandth of a minor unit at each step (rounded half up).
    None: no cost known."""
    avg = None if start is None else round_half_up((start * AVG_PLACES).numerator, (start * AVG_PLACES).denominator)
    for before, qty, cost in receipts:
        if cost is None or qty <= 0:
            continue
        base = max(before or 0, 0)
        avg = cost * AVG_PLACES if avg is None or base == 0 else \
            round_half_up(base * avg + qty * cost * AVG_PLACES, base + qty)
    return None if avg is None else Fraction(avg, AVG_PLACES)


def cost_of(qty: int, unit_cost: Fraction | int | None) -> int | None:
    """The cost (minor units, rounded half up) of qty milli-units at a unit cost per whole unit."""
    if unit_cost is None:
        return None
    exact = Fraction(qty) * Fraction(unit_cost) / QTY_SCALE
    return round_half_up(exact.numerator, exact.denominator)


def is_low(level: int, reorder_level: int | None) -> bool:
    """At or below the reorder level (a product without one is never low)."""
    return reorder_level is not None and level <= reorder_level


def reorder_suggestion(level: int, reorder_level: int | None, reorder_qty: int | None, incoming: int = 0) -> int:
    """What to order for a low product: its reorder quantity, or (none set) enough to reach twice
    its reorder level. Goods already on their way to the shop (incoming: transfers sent to it, not
    received yet) count as stock, so they are not ordered twice. 0: not low, or covered by what comes."""
    if reorder_level is None or not is_low(level, reorder_level) or not is_low(level + incoming, reorder_level):
        return 0
    return reorder_qty if reorder_qty is not None else max(2 * reorder_level - level - incoming, 0)
