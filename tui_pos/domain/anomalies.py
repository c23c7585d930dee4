"""The stock and operation-risk warnings (pure): each rule takes hand-made or stored facts and
returns warnings that say why, with their numbers. Thresholds come from config.toml [stock].

Stock: a count variance beyond a threshold (quantity, percent of what was expected, or value at
the moving average cost); sales while stock was at or below zero; write-offs of one reason worth
more than a threshold over the period; a product whose outflow on a day is far above its usual
daily rate; stock on hand that has not moved in N days; low stock (at or below the reorder level).
Operation risk: voids, line voids, refunds, no-sales, price overrides and discounts per cashier
against the shop's rate over the same period; refunds paid in a tender the original sale did not use.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from fractions import Fraction
from typing import Any

from tui_pos.domain.errors import N_, Said
from tui_pos.domain.money import Currency
from tui_pos.domain.stock import QTY_SCALE, cost_of, format_qty, is_low, is_opening, transfer_variance
from tui_pos.domain.tender import TENDER_WORDS

RISK_ACTIONS = ("void", "line_void", "refund", "no_sale", "price_override", "discount")


@dataclass(frozen=True)
class Thresholds:
    """[stock] in config.toml, quantities in milli-units and amounts in minor units."""

    variance_qty: int = 5 * QTY_SCALE
    variance_bp: int = 1000  # percent of what was expected, in basis points
    variance_value: int = 5000
    shrinkage_value: int = 10000
    outflow_factor: float = 3
    outflow_min: int = 5 * QTY_SCALE
    outflow_days: int = 28
    dead_days: int = 30
    risk_factor: float = 2
    risk_min: int = 3


@dataclass(frozen=True)
class Warning:
    kind: str  # count_variance, sold_below_zero, shrinkage, outflow, dead_stock, low_stock, risk, refund_tender,
    # transfer_variance, transfer_twice
    subject: str  # a barcode, a reason code, a cashier, a receipt
    message: str  # says why, with the numbers (English: --json, --csv)
    figures: dict[str, Any] = field(default_factory=dict, hash=False)
    # the message's marked template and values (i18n.message(warning) says it in the screen's language)
    template: str = field(default="", compare=False)
    params: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "subject": self.subject, "message": self.message, **self.figures}


def warned(kind: str, subject: str, figures: dict[str, Any], template: str, **params: Any) -> Warning:
    """A warning whose message is a marked template (N_) filled with params."""
    return Warning(kind, subject, template.format(**params), figures, template, params)


# a count's variance beyond thresholds: (beyond the quantity, the percent, the value) -> the whole sentence
_VARIANCES = {
    (True, False, False): N_("{name}: counted {counted}, expected {expected}: {variance} (more than {limit} units)"),
    (False, True, False): N_("{name}: counted {counted}, expected {expected}: {variance} ({percent}% of the "
                             "{expected} expected)"),
    (False, False, True): N_("{name}: counted {counted}, expected {expected}: {variance} ({value} at cost)"),
    (True, True, False): N_("{name}: counted {counted}, expected {expected}: {variance} (more than {limit} units, "
                            "{percent}% of the {expected} expected)"),
    (True, False, True): N_("{name}: counted {counted}, expected {expected}: {variance} (more than {limit} units, "
                            "{value} at cost)"),
    (False, True, True): N_("{name}: counted {counted}, expected {expected}: {variance} ({percent}% of the "
                            "{expected} expected, {value} at cost)"),
    (True, True, True): N_("{name}: counted {counted}, expected {expected}: {variance} (more than {limit} units, "
                           "{percent}% of the {expected} expected, {value} at cost)"),
}


def variance_beyond(name: str, counted: int, expected: int, unit_cost: Fraction | int | None, t: Thresholds,
                    currency: Currency) -> Said | None:
    """Why a count's variance is beyond a threshold, as one whole sentence (None when it is not)."""
    off = counted - expected
    if off == 0:
        return None
    value = cost_of(abs(off), unit_cost)
    beyond = (abs(off) > t.variance_qty, expected > 0 and abs(off) * 10000 > t.variance_bp * expected,
              value is not None and value > t.variance_value)
    if not any(beyond):
        return None
    return Said(_VARIANCES[beyond], name=name, counted=format_qty(counted), expected=format_qty(expected),
                variance=f"{'+' if off > 0 else ''}{format_qty(off)}", limit=format_qty(t.variance_qty),
                percent=f"{abs(off) * 100 / expected:.0f}" if expected > 0 else "",
                value=currency.format(value) if value is not None else "")


def count_variances(counts: Iterable[Mapping[str, Any]], costs: Mapping[str, Fraction | None], names: Mapping[str, str],
                    t: Thresholds, currency: Currency) -> list[Warning]:
    """Counts (stock_move records of kind count) whose variance is beyond a threshold; an opening
    count (a product's opening stock) is none: nothing was found or lost."""
    found = []
    for move in counts:
        if is_opening(move):
            continue
        why = variance_beyond(names.get(move["barcode"], move["barcode"]), move["counted"], move["expected"],
                              costs.get(move["barcode"]), t, currency)
        if why is not None:
            found.append(warned("count_variance", move["barcode"],
                                {"counted": move["counted"], "expected": move["expected"], "variance": move["qty"],
                                 "at": move["at"]}, why.template, **why.params))
    return found


def sold_below_zero(by_product: Mapping[str, Sequence[tuple[str, int, bool]]], end_levels: Mapping[str, int],
                    names: Mapping[str, str]) -> list[Warning]:
    """Sales while stock was at or below zero. by_product: barcode -> (at, qty, is a sale) of every
    movement in the period, in time order; end_levels: each product's on-hand at the period's end.
    Walking back from the end, the level before each movement is the level after it less its
    quantity: a sale taking stock from a level at or below zero is flagged. A product whose level
    could never have been that low (its end level above everything that came in) is passed over."""
    found = []
    for barcode, moves in sorted(by_product.items()):
        if barcode not in end_levels or end_levels[barcode] - sum(qty for _, qty, _ in moves if qty > 0) > 0:
            continue
        level, hits = end_levels[barcode], []
        for at, qty, sale in reversed(moves):
            before = level - qty
            if sale and qty < 0 and before <= 0:
                hits.append(at)
            level = before
        if hits:
            found.append(warned("sold_below_zero", barcode, {"sales": len(hits), "on_hand": end_levels[barcode]},
                                N_("{name}: {n} sale(s) while stock was at or below zero (the first at {first}; "
                                   "on hand at the end {on_hand})"), name=names.get(barcode, barcode), n=len(hits),
                                first=min(hits)[:16], on_hand=format_qty(end_levels[barcode])))
    return found


def write_offs(adjustments: Iterable[Mapping[str, Any]], costs: Mapping[str, Fraction | None]) -> dict[str, tuple[int, int, int]]:
    """Write-offs (negative adjustments) per reason: (how many, milli-units, value at the moving
    average cost; a product without a cost counts nothing), by reason code. What the shrinkage
    warning weighs and the stock screen's chart draws."""
    totals: dict[str, tuple[int, int, int]] = {}
    for move in adjustments:
        if move["qty"] < 0:
            count, qty, value = totals.get(move["reason"] or "other", (0, 0, 0))
            totals[move["reason"] or "other"] = (count + 1, qty - move["qty"],
                                                  value + (cost_of(-move["qty"], costs.get(move["barcode"])) or 0))
    return totals


def shrinkage(adjustments: Iterable[Mapping[str, Any]], costs: Mapping[str, Fraction | None], t: Thresholds,
              currency: Currency) -> list[Warning]:
    """Write-offs (negative adjustments) of one reason worth more than the threshold at cost."""
    return [warned("shrinkage", reason, {"count": count, "qty": qty, "value": value},
                   N_("{count} write-off(s) for {reason}: {qty} units, {value} at cost (over {limit})"), count=count,
                   reason=reason, qty=format_qty(qty), value=currency.format(value),
                   limit=currency.format(t.shrinkage_value))
            for reason, (count, qty, value) in sorted(write_offs(adjustments, costs).items())
            if value > t.shrinkage_value]


def outflow_spikes(daily: Mapping[str, Mapping[date, int]], period: Sequence[date], names: Mapping[str, str],
                   t: Thresholds) -> list[Warning]:
    """A product whose outflow on a day of the period is above outflow_factor times its usual daily
    rate (its outflow over the outflow_days before that day) and at least outflow_min. daily:
    barcode -> day -> units out (milli-units, positive), the lookback days included; period:
    consecutive days (the window of days before slides along them)."""
    found = []
    span = timedelta(t.outflow_days)
    for barcode, days in daily.items():
        if not period or max(days.values(), default=0) < t.outflow_min:
            continue
        window = sum(days.get(period[0] - timedelta(n), 0) for n in range(1, t.outflow_days + 1))
        for day in period:
            out = days.get(day, 0)
            usual = window / t.outflow_days
            if out >= t.outflow_min and out > t.outflow_factor * usual:
                found.append(warned("outflow", barcode, {"day": day.isoformat(), "out": out, "usual": round(usual)},
                                    N_("{name}: {out} out on {day}, usually {usual} a day (over the {days} days before)"),
                                    name=names.get(barcode, barcode), out=format_qty(out), day=day.isoformat(),
                                    usual=format_qty(round(usual)), days=t.outflow_days))
            window += out - days.get(day - span, 0)
    return found


def dead_stock(levels: Iterable[Mapping[str, Any]], last_moved: Mapping[str, str], today: date,
               t: Thresholds) -> list[Warning]:
    """Stock on hand (tracked products) that has not moved in dead_days: since its newest movement,
    or (never moved) since the catalog last changed it (its "since")."""
    found = []
    for row in levels:
        if not row["tracked"] or row["on_hand"] <= 0:
            continue
        last = last_moved.get(row["barcode"]) or row.get("since")
        if not last:
            continue
        idle = (today - date.fromisoformat(last[:10])).days
        if idle >= t.dead_days:
            found.append(warned("dead_stock", row["barcode"], {"on_hand": row["on_hand"], "idle_days": idle},
                                N_("{name}: {on_hand} on hand, not moved in {days} days (since {since})"),
                                name=row["name"], on_hand=format_qty(row["on_hand"]), days=idle, since=last[:10]))
    return found


def low_stock(levels: Iterable[Mapping[str, Any]]) -> list[Warning]:
    """Products at or below their reorder level."""
    return [warned("low_stock", row["barcode"], {"on_hand": row["on_hand"], "reorder_level": row["reorder_level"]},
                   N_("{name}: {on_hand} on hand, reorder level {level}"), name=row["name"],
                   on_hand=format_qty(row["on_hand"]), level=format_qty(row["reorder_level"]))
            for row in levels if is_low(row["on_hand"], row["reorder_level"])]


# an action of operation risk -> the whole sentence that says a cashier does it more than the shop
_RISKS = {
    "void": N_("{cashier}: {count} void(s) in {sales} sales ({rate} per 100), the shop's {norm} per 100"),
    "line_void": N_("{cashier}: {count} line void(s) in {sales} sales ({rate} per 100), the shop's {norm} per 100"),
    "refund": N_("{cashier}: {count} refund(s) in {sales} sales ({rate} per 100), the shop's {norm} per 100"),
    "no_sale": N_("{cashier}: {count} no sale(s) in {sales} sales ({rate} per 100), the shop's {norm} per 100"),
    "price_override": N_("{cashier}: {count} price override(s) in {sales} sales ({rate} per 100), the shop's {norm} "
                         "per 100"),
    "discount": N_("{cashier}: {count} discount(s) in {sales} sales ({rate} per 100), the shop's {norm} per 100"),
}


def operation_risk(per_cashier: Mapping[str, Mapping[str, int]], t: Thresholds) -> list[Warning]:
    """Cashiers whose rate of an action (voids, refunds, no-sales...) per sale is above risk_factor
    times the shop's rate over the same period, with at least risk_min of them. per_cashier:
    cashier -> {"sales": n, action: n, ...}."""
    sales = sum(c.get("sales", 0) for c in per_cashier.values())
    found = []
    for action in RISK_ACTIONS:
        total = sum(c.get(action, 0) for c in per_cashier.values())
        if not total or not sales:
            continue
        norm = Fraction(total, sales)
        for cashier, counts in sorted(per_cashier.items()):
            if not cashier:  # nobody named (the system): no one to compare
                continue
            mine, own_sales = counts.get(action, 0), max(counts.get("sales", 0), 1)
            if mine >= t.risk_min and Fraction(mine, own_sales) > norm * Fraction(t.risk_factor):
                found.append(warned("risk", cashier, {"action": action, "count": mine, "sales": counts.get("sales", 0)},
                                    _RISKS[action], cashier=cashier, count=mine, sales=counts.get("sales", 0),
                                    rate=f"{float(Fraction(mine, own_sales)) * 100:.0f}",
                                    norm=f"{float(norm) * 100:.0f}"))
    return found


def _tenders(kinds: Iterable[str]) -> Said:
    """Tender kinds as a list a person reads ("cash, card"), each word in the screen's language."""
    words = sorted(kinds)
    return Said(", ".join(f"{{w{n}}}" for n in range(len(words))),
                **{f"w{n}": Said(TENDER_WORDS.get(kind, kind)) for n, kind in enumerate(words)})


def refunds_without_original_tender(refunds: Iterable[Mapping[str, Any]],
                                    originals: Mapping[str, Mapping[str, Any]]) -> list[Warning]:
    """Refunds paid in a tender kind the original sale was not paid with (e.g. cash back for a card sale)."""
    found = []
    for refund in refunds:
        original = originals.get(refund.get("original_uuid") or "")
        if original is None:
            continue
        paid_with = {t["kind"] for t in original["tenders"]}
        other = sorted({t["kind"] for t in refund["tenders"]} - paid_with)
        if other:
            figures = {"cashier": refund["cashier"], "original": original["receipt"]}
            template = N_("refund {receipt} by {cashier} paid in {paid_in}; the sale {original} was paid in "
                          "{paid_with}") if paid_with else \
                N_("refund {receipt} by {cashier} paid in {paid_in}; the sale {original} was paid in nothing")
            found.append(warned("refund_tender", refund["receipt"], figures, template, receipt=refund["receipt"],
                                cashier=refund["cashier"], paid_in=_tenders(other), original=original["receipt"],
                                paid_with=_tenders(paid_with)))
    return found


def transfer_variances(transfers: Iterable[Mapping[str, Any]], names: Mapping[str, str]) -> list[Warning]:
    """Transfers between shops received with another quantity of a product than was sent (the
    variance: received - sent, domain.stock.transfer_variance), and transfers received more than
    once. transfers: {"transfer", "from_shop", "to_shop", "received_at" (None: open), "receipts",
    "lines": [{"barcode", "sent", "received"}]} (milli-units)."""
    found = []
    for move in transfers:
        if move["received_at"] is None:
            continue
        for line in move["lines"]:
            received = line["received"] or 0
            off = transfer_variance(line["sent"], received)
            if off:
                found.append(warned(
                    "transfer_variance", move["transfer"],
                    {"from_shop": move["from_shop"], "to_shop": move["to_shop"], "barcode": line["barcode"],
                     "sent": line["sent"], "received": received, "variance": off},
                    N_("transfer {transfer} from {from_shop} to {to_shop}: {name} sent {sent}, received {received} "
                       "(variance {variance})"), transfer=move["transfer"], from_shop=move["from_shop"],
                    to_shop=move["to_shop"], name=names.get(line["barcode"], line["barcode"]), sent=format_qty(line["sent"]),
                    received=format_qty(received), variance=("+" if off > 0 else "") + format_qty(off)))
        if move["receipts"] > 1:
            found.append(warned("transfer_twice", move["transfer"], {"from_shop": move["from_shop"],
                                                                    "to_shop": move["to_shop"], "receipts": move["receipts"]},
                                N_("transfer {transfer} from {from_shop} to {to_shop} was received {n} times"),
                                transfer=move["transfer"], from_shop=move["from_shop"], to_shop=move["to_shop"],
                                n=move["receipts"]))
    return found


@dataclass(frozen=True)
class PeriodFacts:
    """What the rules read of a shop's period, gathered by the till (its store) or by HQ (its tills
    summed): period_warnings runs every rule on them, so that both report the same warnings."""

    levels: Sequence[Mapping[str, Any]]  # tracked products: barcode, name, on_hand, reorder_level, since...
    moves: Sequence[Mapping[str, Any]]  # the period's stock_move records (counts and adjustments are read)
    costs: Mapping[str, Fraction | None]  # moving average unit cost per product
    names: Mapping[str, str]
    events: Mapping[str, Sequence[tuple[str, int, bool]]]  # see sold_below_zero
    end_levels: Mapping[str, int]  # on hand at the period's end
    daily: Mapping[str, Mapping[date, int]]  # see outflow_spikes
    period_days: Sequence[date]
    last_moved: Mapping[str, str]
    today: date
    per_cashier: Mapping[str, Mapping[str, int]]  # see operation_risk
    refunds: Sequence[Mapping[str, Any]]
    originals: Mapping[str, Mapping[str, Any]]  # the refunded sales, by uuid
    transfers: Sequence[Mapping[str, Any]] = ()  # see transfer_variances (HQ's: a till knows no receipt)


def period_warnings(facts: PeriodFacts, t: Thresholds, currency: Currency) -> list[Warning]:
    """Every warning of a period: low stock, count variances, sales at or below zero, shrinkage,
    outflow spikes, dead stock, operation risk, refunds in another tender, transfer variances."""
    f = facts
    return [
        *low_stock(f.levels),
        *count_variances([m for m in f.moves if m["kind"] == "count"], f.costs, f.names, t, currency),
        *sold_below_zero(f.events, f.end_levels, f.names),
        *shrinkage([m for m in f.moves if m["kind"] == "adjust"], f.costs, t, currency),
        *outflow_spikes(f.daily, f.period_days, f.names, t),
        *dead_stock(f.levels, f.last_moved, f.today, t),
        *operation_risk(f.per_cashier, t),
        *refunds_without_original_tender(f.refunds, f.originals),
        *transfer_variances(f.transfers, f.names),
    ]
