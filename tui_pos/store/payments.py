"""Code payments as stored: each PaymentAttempt with the state its last PaymentOutcome gives it,
and whether a stored sale carries it (store/view.py merges in the journal's records).

An attempt's state is its last outcome's (in commit order), or "open" while it has none.
Unresolved: open or unknown (the provider must be asked before anything else is charged). A
payment is "in a stored sale" when a stored sale with the attempt's sale uuid carries a tender
with the provider's transaction id; a refund, when its refund sale is stored.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any

from tui_pos.domain.payments import CHARGED
from tui_pos.domain.payments import needs_someone as _needs_someone
from tui_pos.domain.records import record_type

# the rows of PaymentAttempt and PaymentOutcome (codec.ROW_TABLES): what their audit digest covers.
# payment_attempt.needs (migration payment_needs), outside it: 1 while the attempt may need someone
# (needs_someone), kept by codec.insert with every attempt, outcome and sale stored (settle()).
PAYMENT_ATTEMPT_COLUMNS = ("uuid", "till_id", "at", "sale_uuid", "kind", "provider", "attempt_no", "out_trade_no",
                           "out_refund_no", "amount", "code_mask", "cashier", "original_sale_uuid")
PAYMENT_OUTCOME_COLUMNS = ("uuid", "attempt_uuid", "till_id", "at", "state", "transaction_id", "amount", "reason", "code")
OUTCOME_FIELDS = ("state", "transaction_id", "charged", "reason", "code", "outcome_at")

_SELECT = (
    f"SELECT {', '.join('a.' + c for c in PAYMENT_ATTEMPT_COLUMNS)}, a.stored_via, "
    "o.state, o.transaction_id, o.amount, o.reason, o.code, o.at, "
    "EXISTS (SELECT 1 FROM sale s WHERE s.uuid = a.sale_uuid), "
    "EXISTS (SELECT 1 FROM tender t WHERE t.sale_uuid = a.sale_uuid AND t.reference = o.transaction_id "
    "AND o.transaction_id <> '') "
    "FROM payment_attempt a LEFT JOIN payment_outcome o ON o.rowid = "
    "(SELECT MAX(rowid) FROM payment_outcome WHERE attempt_uuid = a.uuid)"
)
_NEEDS_SOMEONE = "a.needs = 1"  # the partial index idx_payment_attempt_needs: never a scan of the years


def _row(row: tuple[Any, ...]) -> dict[str, Any]:
    n = len(PAYMENT_ATTEMPT_COLUMNS)
    found = dict(zip(PAYMENT_ATTEMPT_COLUMNS, row[:n]))
    stored_via, state, transaction_id, charged, reason, code, outcome_at, sale_stored, tender_stored = row[n:]
    found.update({"stored": "sqlite", "stored_via": stored_via, "state": state or "open",
                  "transaction_id": transaction_id or "", "charged": charged, "reason": reason or "",
                  "code": code or "", "outcome_at": outcome_at,
                  "sale_completed": bool(sale_stored if found["kind"] == "refund" else tender_stored)})
    return found


def attempts(conn: sqlite3.Connection, *, needs_someone: bool = False,
             sale_uuid: str | None = None) -> list[dict[str, Any]]:
    """Every attempt the database holds (or those that may need someone, or a sale's, or
    both: either, each term indexed), oldest first, each with its state, the last outcome's
    facts and sale_completed."""
    terms, params = [_NEEDS_SOMEONE] if needs_someone else [], []
    if sale_uuid is not None:
        terms.append("a.sale_uuid = ?")
        params.append(sale_uuid)
    where = f" WHERE {' OR '.join(terms)}" if terms else ""
    return [_row(r) for r in conn.execute(_SELECT + where + " ORDER BY a.rowid", params)]


def settle(conn: sqlite3.Connection, record: dict[str, Any]) -> None:
    """After a sale, an attempt or an outcome is written (codec.insert, in its transaction): the
    needs flag of the attempts of that sale, worked out again (one indexed look-up)."""
    kind = record_type(record)
    if kind == "sale":
        sale_uuid = record["uuid"]
    elif kind == "payment_attempt":
        sale_uuid = record["sale_uuid"]
    elif kind == "payment_outcome":
        found = conn.execute("SELECT sale_uuid FROM payment_attempt WHERE uuid = ?", (record["attempt_uuid"],)).fetchone()
        if found is None:
            return
        sale_uuid = found[0]
    else:
        return
    settle_sale(conn, sale_uuid)


def settle_sale(conn: sqlite3.Connection, sale_uuid: str) -> None:
    rows = attempts(conn, sale_uuid=sale_uuid)
    conn.executemany("UPDATE payment_attempt SET needs = ? WHERE uuid = ? AND needs <> ?",
                     [(int(needs_someone(r)), r["uuid"], int(needs_someone(r))) for r in rows])


def sales_carrying(conn: sqlite3.Connection, pairs: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
    """Which (sale uuid, reference) pairs a stored sale carries as a tender (reference "": the
    sale itself is stored)."""
    found = set()
    for sale_uuid, reference in pairs:
        if reference:
            hit = conn.execute("SELECT 1 FROM tender WHERE sale_uuid = ? AND reference = ? LIMIT 1",
                               (sale_uuid, reference)).fetchone()
        else:
            hit = conn.execute("SELECT 1 FROM sale WHERE uuid = ?", (sale_uuid,)).fetchone()
        if hit:
            found.add((sale_uuid, reference))
    return found


def _apply(attempt: dict[str, Any], outcome: dict[str, Any]) -> None:
    attempt.update({"state": outcome["state"], "transaction_id": outcome.get("transaction_id") or "",
                    "charged": outcome.get("amount"), "reason": outcome.get("reason") or "",
                    "code": outcome.get("code") or "", "outcome_at": outcome["at"]})


def carried_by(attempt: dict[str, Any]) -> tuple[str, str]:
    """The (sale uuid, reference) a stored sale carries when this attempt is in it."""
    return attempt["sale_uuid"], "" if attempt["kind"] == "refund" else attempt["transaction_id"]


def merge(stored: list[dict[str, Any]], pending: list[dict[str, Any]]) -> tuple[list[dict[str, Any]],
                                                                                   list[dict[str, Any]]]:
    """The database's attempts with the journal's records laid over them (attempts added,
    outcomes applied in journal order); and the attempts whose sale_completed must be asked again
    (their state changed, or they are only in the journal). Sales in the journal are looked at
    here: an attempt they carry is completed."""
    by_uuid = {a["uuid"]: a for a in stored}
    recheck: dict[str, dict[str, Any]] = {}
    for record in pending:
        kind = record_type(record)
        if kind == "payment_attempt":
            attempt: dict[str, Any] = {c: record.get(c) for c in PAYMENT_ATTEMPT_COLUMNS}
            attempt.update({"stored": "journal", "stored_via": "journal", "state": "open", "transaction_id": "",
                            "charged": None, "reason": "", "code": "", "outcome_at": None, "sale_completed": False})
            by_uuid[attempt["uuid"]] = attempt
            recheck[attempt["uuid"]] = attempt
        elif kind == "payment_outcome" and record["attempt_uuid"] in by_uuid:
            attempt = by_uuid[record["attempt_uuid"]]
            _apply(attempt, record)
            recheck[attempt["uuid"]] = attempt
    journaled_sales = {(r["uuid"], t.get("reference") or "") for r in pending if record_type(r) == "sale"
                       for t in r.get("tenders", [])} | {(r["uuid"], "") for r in pending if record_type(r) == "sale"}
    for attempt in by_uuid.values():
        if carried_by(attempt) in journaled_sales and attempt["state"] in CHARGED:
            attempt["sale_completed"] = True
            recheck.pop(attempt["uuid"], None)
    for attempt in recheck.values():
        attempt["sale_completed"] = False
    return list(by_uuid.values()), [a for a in recheck.values() if a["state"] in CHARGED]


def needs_someone(attempt: dict[str, Any]) -> bool:
    """domain.payments.needs_someone of a stored attempt."""
    return _needs_someone(attempt["state"], attempt["sale_completed"])
