"""Every record the till stores: immutable values, one union (Record), one dict form each.

A record is what the ledger makes durable as one unit: SQLite rows (tui_pos.store.codec) or, when
the database cannot take it, one journal line. to_record() is the exact dict the journal line
carries and the audit entry is made from; from_record() reads it back, from lines written by
any earlier version too (their format never changes: fields added later have defaults).
record_from_dict() dispatches on the dict's "type" (a sale's dict has none: lines written
before there were other record types are sales).

Pure: no I/O. The ids are UUIDs from the moment a record is made (new()); times are the ISO
strings the caller's clock gives.

A new record type is a frozen dataclass here, a member of Record, a type in RECORD_TYPES, and
rows in store/codec.py (with a named migration and its audit entry, store/audit.py).

Code payments (domain/payments.py) are two records: a PaymentAttempt, durable BEFORE the gateway
is called, and a PaymentOutcome for each final answer after it (an attempt's state is its last
outcome's, or "open"), so that a crash in between is settled by asking the provider, never guessed.
"""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from tui_pos.domain.payments import PROVIDERS, Provider
from tui_pos.domain.sale import Sale, SaleLine
from tui_pos.domain.stock import ADJUST_REASONS, MOVE_KINDS, MoveKind

__all__ = ["AuditEvent", "CashMovement", "PaymentAttempt", "PaymentOutcome", "Record", "RECORD_TYPES", "Sale",
           "SaleLine", "ShiftClosed", "ShiftOpened", "StockMoved", "UserChanged", "USER_ACTIONS", "new_uuid", "record_from_dict", "record_type"]


def new_uuid() -> str:
    return str(uuidlib.uuid4())


@dataclass(frozen=True)
class ShiftOpened:
    """A shift opened on a till, with the float counted into the drawer (numbered per till)."""

    TYPE: ClassVar[str] = "shift_open"
    uuid: str
    till_id: str
    number: int
    opened_at: str
    opened_by: str | None
    float: int

    def to_record(self) -> dict[str, Any]:
        return {"type": self.TYPE, "uuid": self.uuid, "till_id": self.till_id, "number": self.number,
                "opened_at": self.opened_at, "opened_by": self.opened_by, "float": self.float}

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> ShiftOpened:
        return cls(record["uuid"], record["till_id"], record["number"], record["opened_at"], record["opened_by"],
                   record["float"])


CashKind = Literal["paid_in", "paid_out"]


@dataclass(frozen=True)
class CashMovement:
    """Cash paid into or out of the drawer during a shift, with a reason (and the manager who
    approved a paid-out over the limit)."""

    TYPE: ClassVar[str] = "cash_movement"
    uuid: str
    shift_uuid: str
    till_id: str
    kind: CashKind
    amount: int
    reason: str
    user: str | None
    approved_by: str | None
    at: str

    def to_record(self) -> dict[str, Any]:
        return {"type": self.TYPE, "uuid": self.uuid, "shift_uuid": self.shift_uuid, "till_id": self.till_id,
                "kind": self.kind, "amount": self.amount, "reason": self.reason, "user": self.user,
                "approved_by": self.approved_by, "at": self.at}

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> CashMovement:
        return cls(record["uuid"], record["shift_uuid"], record["till_id"], record["kind"], record["amount"],
                   record["reason"], record["user"], record.get("approved_by"), record["at"])


@dataclass(frozen=True)
class ShiftClosed:
    """The Z report: the shift closed, the drawer counted; report is the ShiftReport's dict
    (domain.shift.ShiftReport.to_dict), kept whole so that the Z prints again as it was."""

    TYPE: ClassVar[str] = "shift_close"
    uuid: str
    shift_uuid: str
    till_id: str
    z_number: int
    closed_at: str
    closed_by: str | None
    approved_by: str | None
    counted: int
    expected: int
    difference: int
    report: dict[str, Any] = field(hash=False)

    def to_record(self) -> dict[str, Any]:
        return {"type": self.TYPE, "uuid": self.uuid, "shift_uuid": self.shift_uuid, "till_id": self.till_id,
                "z_number": self.z_number, "closed_at": self.closed_at, "closed_by": self.closed_by,
                "approved_by": self.approved_by, "counted": self.counted, "expected": self.expected,
                "difference": self.difference, "report": self.report}

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> ShiftClosed:
        return cls(record["uuid"], record["shift_uuid"], record["till_id"], record["z_number"], record["closed_at"],
                   record["closed_by"], record.get("approved_by"), record["counted"], record["expected"],
                   record["difference"], record["report"])


@dataclass(frozen=True)
class AuditEvent:
    """Something that happened and is only an audit entry: a login, a failed login, a no-sale, a
    manager's approval, a replay, a configuration change, a catalog import."""

    TYPE: ClassVar[str] = "event"
    uuid: str
    till_id: str | None  # None: an entry about the whole shop (table_state)
    at: str
    action: str
    actor: str | None
    approved_by: str | None = None
    subject: str | None = None
    amount: int | None = None
    detail: dict[str, Any] = field(default_factory=dict, hash=False)

    @classmethod
    def new(cls, till_id: str | None, action: str, actor: str | None, *, at: str, subject: str | None = None,
            amount: int | None = None, approved_by: str | None = None,
            detail: Mapping[str, Any] | None = None) -> AuditEvent:
        return cls(new_uuid(), till_id, at, action, actor, approved_by, subject, amount, dict(detail or {}))

    def to_record(self) -> dict[str, Any]:
        return {"type": self.TYPE, "uuid": self.uuid, "till_id": self.till_id, "at": self.at, "action": self.action,
                "actor": self.actor, "approved_by": self.approved_by, "subject": self.subject, "amount": self.amount,
                "detail": self.detail}

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> AuditEvent:
        return cls(record["uuid"], record.get("till_id"), record["at"], record["action"], record.get("actor"),
                   record.get("approved_by"), record.get("subject"), record.get("amount"), record.get("detail") or {})


UserAction = Literal["user_add", "user_set_pin", "user_enable", "user_disable"]
USER_ACTIONS: tuple[UserAction, ...] = ("user_add", "user_set_pin", "user_enable", "user_disable")


@dataclass(frozen=True)
class UserChanged:
    """A person added, given a new PIN, enabled or disabled: the change and its audit facts in one
    record, so that the user table's change and its audit entry are one transaction (and one
    journal line). The audit entry is the one such changes always had: the action, the person
    changed as its subject, actor and approving manager, the role of a user added and any further
    facts (detail, e.g. {"demo": True}); never the PIN hash."""

    TYPE: ClassVar[str] = "user_change"
    uuid: str
    till_id: str
    at: str
    action: UserAction
    name: str  # the person changed
    actor: str | None  # who made the change (None: nobody signed in, e.g. a new shop's first manager)
    approved_by: str | None  # the manager who approved it (None: a new shop's first manager)
    role: str | None = None  # user_add: the new person's role
    pin_hash: str | None = field(default=None, repr=False)  # user_add and user_set_pin: the new PIN's hash
    detail: dict[str, Any] = field(default_factory=dict, hash=False)  # further facts for the audit entry

    def __post_init__(self) -> None:
        if self.action not in USER_ACTIONS:
            raise ValueError(f"unknown user change {self.action!r}")
        if self.action == "user_add" and (self.role is None or self.pin_hash is None):
            raise ValueError("adding a user needs a role and a PIN hash")
        if self.action == "user_set_pin" and self.pin_hash is None:
            raise ValueError("a new PIN needs its hash")

    @property
    def active(self) -> bool | None:
        """What the change sets the active flag to (None: it leaves it as it is)."""
        return {"user_add": True, "user_enable": True, "user_disable": False}.get(self.action)

    @classmethod
    def new(cls, till_id: str, action: UserAction, name: str, *, actor: str | None, approved_by: str | None, at: str,
            role: str | None = None, pin_hash: str | None = None,
            detail: Mapping[str, Any] | None = None) -> UserChanged:
        return cls(new_uuid(), till_id, at, action, name, actor, approved_by, role, pin_hash, dict(detail or {}))

    def audit_detail(self) -> dict[str, Any]:
        """The detail of its audit entry (what people changes have always recorded)."""
        return {"role": self.role, **self.detail} if self.action == "user_add" else dict(self.detail)

    def to_record(self) -> dict[str, Any]:
        return {"type": self.TYPE, "uuid": self.uuid, "till_id": self.till_id, "at": self.at, "action": self.action,
                "name": self.name, "actor": self.actor, "approved_by": self.approved_by, "role": self.role,
                "pin_hash": self.pin_hash, "detail": self.detail}

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> UserChanged:
        return cls(record["uuid"], record["till_id"], record["at"], record["action"], record["name"],
                   record.get("actor"), record.get("approved_by"), record.get("role"), record.get("pin_hash"),
                   record.get("detail") or {})


@dataclass(frozen=True)
class StockMoved:
    """A change of one product's stock other than a sale's (sales and refunds move stock with
    their lines): goods received (supplier, reference, unit cost), an adjustment with a reason
    code, a count (counted; qty is its variance against what was expected at that moment), a
    transfer out to or in from another shop (peer; reference: the transfer). Quantities are
    milli-units (domain.stock); expected is the on-hand just before, as the till saw it (None:
    a receive or adjustment while the database could not be read)."""

    TYPE: ClassVar[str] = "stock_move"
    uuid: str
    till_id: str
    at: str
    kind: MoveKind
    barcode: str
    qty: int  # the change of stock on hand, milli-units (a count: counted - expected)
    expected: int | None  # on hand just before, milli-units (None: unknown, the database could not be read)
    counted: int | None = None  # a count: the quantity counted
    unit_cost: int | None = None  # a receive: minor units per whole unit
    reason: str | None = None  # an adjustment: one of ADJUST_REASONS
    supplier: str = ""
    reference: str = ""  # a delivery note, an invoice, a transfer's id
    peer: str | None = None  # a transfer: the other shop
    batch: str | None = None  # the movements entered together (one delivery, one stock take)
    actor: str | None = None
    approved_by: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in MOVE_KINDS:
            raise ValueError(f"unknown stock movement {self.kind!r}")
        if self.kind == "count" and (self.counted is None or self.expected is None
                                     or self.qty != self.counted - self.expected):
            raise ValueError("a count needs its counted quantity, and its quantity is its variance")
        if self.kind == "adjust" and self.reason not in ADJUST_REASONS:
            raise ValueError(f"an adjustment needs a reason ({', '.join(ADJUST_REASONS)})")
        if (self.kind in ("receive", "transfer_in") and self.qty < 0) or (self.kind == "transfer_out" and self.qty > 0):
            raise ValueError(f"a {self.kind} cannot move stock the other way")

    def to_record(self) -> dict[str, Any]:
        return {"type": self.TYPE, "uuid": self.uuid, "till_id": self.till_id, "at": self.at, "kind": self.kind,
                "barcode": self.barcode, "qty": self.qty, "expected": self.expected, "counted": self.counted,
                "unit_cost": self.unit_cost, "reason": self.reason, "supplier": self.supplier,
                "reference": self.reference, "peer": self.peer, "batch": self.batch, "actor": self.actor,
                "approved_by": self.approved_by}

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> StockMoved:
        return cls(record["uuid"], record["till_id"], record["at"], record["kind"], record["barcode"], record["qty"],
                   record["expected"], record.get("counted"), record.get("unit_cost"), record.get("reason"),
                   record.get("supplier") or "", record.get("reference") or "", record.get("peer"),
                   record.get("batch"), record.get("actor"), record.get("approved_by"))


PaymentKind = Literal["pay", "refund"]
PAYMENT_KINDS: tuple[PaymentKind, ...] = ("pay", "refund")
OutcomeState = Literal["paid", "failed", "cancelled", "refunded", "unknown"]
OUTCOME_STATES: tuple[OutcomeState, ...] = ("paid", "failed", "cancelled", "refunded", "unknown")


@dataclass(frozen=True)
class PaymentAttempt:
    """One charge (kind "pay") or refund (kind "refund") asked of a code-payment provider, made
    durable before the gateway is called. sale_uuid: the sale's (the cart's) uuid, or for a refund
    the refund sale's; out_trade_no / out_refund_no derived from it and attempt_no
    (domain.payments), so that asking again is the same trade. code_mask: the customer's code as
    records may keep it (mask_code; "" for a refund), never the code itself. amount in fen > 0."""

    TYPE: ClassVar[str] = "payment_attempt"
    uuid: str
    till_id: str
    at: str
    sale_uuid: str
    kind: PaymentKind
    provider: Provider
    attempt_no: int
    out_trade_no: str
    out_refund_no: str  # "" for a payment
    amount: int
    code_mask: str  # "" for a refund
    cashier: str | None
    original_sale_uuid: str | None = None  # a refund: the sale refunded

    def __post_init__(self) -> None:
        if self.kind not in PAYMENT_KINDS:
            raise ValueError(f"unknown payment attempt kind {self.kind!r}")
        if self.provider not in PROVIDERS:
            raise ValueError(f"unknown payment provider {self.provider!r}")
        if self.amount <= 0:
            raise ValueError("a payment attempt is for more than nothing")
        if self.kind == "refund" and not (self.out_refund_no and self.original_sale_uuid):
            raise ValueError("a refund attempt needs its refund number and the sale it refunds")

    @classmethod
    def new(cls, till_id: str, *, at: str, sale_uuid: str, kind: PaymentKind, provider: Provider, attempt_no: int,
            out_trade_no: str, amount: int, cashier: str | None, code_mask: str = "", out_refund_no: str = "",
            original_sale_uuid: str | None = None) -> PaymentAttempt:
        return cls(new_uuid(), till_id, at, sale_uuid, kind, provider, attempt_no, out_trade_no, out_refund_no, amount,
                   code_mask, cashier, original_sale_uuid)

    def to_record(self) -> dict[str, Any]:
        return {"type": self.TYPE, "uuid": self.uuid, "till_id": self.till_id, "at": self.at,
                "sale_uuid": self.sale_uuid, "kind": self.kind, "provider": self.provider,
                "attempt_no": self.attempt_no, "out_trade_no": self.out_trade_no, "out_refund_no": self.out_refund_no,
                "amount": self.amount, "code_mask": self.code_mask, "cashier": self.cashier,
                "original_sale_uuid": self.original_sale_uuid}

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> PaymentAttempt:
        return cls(record["uuid"], record["till_id"], record["at"], record["sale_uuid"], record["kind"],
                   record["provider"], record["attempt_no"], record["out_trade_no"], record.get("out_refund_no") or "",
                   record["amount"], record.get("code_mask") or "", record.get("cashier"),
                   record.get("original_sale_uuid"))


@dataclass(frozen=True)
class PaymentOutcome:
    """What became of a PaymentAttempt, as the provider said it: paid, failed, cancelled (closed,
    reversed: any charge given back), refunded, or unknown (no answer that could be trusted: asked
    again later, never guessed). transaction_id: the provider's trade or refund number ("" when
    none); amount: what was charged or refunded (None: nothing, or not said); reason and code: the
    provider's words for it."""

    TYPE: ClassVar[str] = "payment_outcome"
    uuid: str
    attempt_uuid: str
    till_id: str
    at: str
    state: OutcomeState
    transaction_id: str = ""
    amount: int | None = None
    reason: str = ""
    code: str = ""

    def __post_init__(self) -> None:
        if self.state not in OUTCOME_STATES:
            raise ValueError(f"unknown payment outcome {self.state!r}")

    @classmethod
    def new(cls, attempt: PaymentAttempt, state: OutcomeState, *, at: str, transaction_id: str = "",
            amount: int | None = None, reason: str = "", code: str = "") -> PaymentOutcome:
        return cls(new_uuid(), attempt.uuid, attempt.till_id, at, state, transaction_id, amount, reason, code)

    def to_record(self) -> dict[str, Any]:
        return {"type": self.TYPE, "uuid": self.uuid, "attempt_uuid": self.attempt_uuid, "till_id": self.till_id,
                "at": self.at, "state": self.state, "transaction_id": self.transaction_id, "amount": self.amount,
                "reason": self.reason, "code": self.code}

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> PaymentOutcome:
        return cls(record["uuid"], record["attempt_uuid"], record["till_id"], record["at"], record["state"],
                   record.get("transaction_id") or "", record.get("amount"), record.get("reason") or "",
                   record.get("code") or "")


Record = Sale | ShiftOpened | CashMovement | ShiftClosed | AuditEvent | UserChanged | StockMoved | PaymentAttempt \
    | PaymentOutcome
RECORD_TYPES: dict[str, type[Sale] | type[ShiftOpened] | type[CashMovement] | type[ShiftClosed] | type[AuditEvent]
                   | type[UserChanged] | type[StockMoved] | type[PaymentAttempt] | type[PaymentOutcome]] = {
    cls.TYPE: cls for cls in (Sale, ShiftOpened, CashMovement, ShiftClosed, AuditEvent, UserChanged, StockMoved,
                              PaymentAttempt, PaymentOutcome)
}



def record_type(record: Mapping[str, Any]) -> str:
    """The type of a record's dict: its "type", or "sale" (sales carry none; journal lines written
    before there were other record types are sales)."""
    return record.get("type", "sale")


def record_from_dict(record: Mapping[str, Any]) -> Record:
    """The typed record of a dict (a journal line, to_record()). KeyError: an unknown type or a
    missing field; ValueError or a PosError (e.g. a tender of 0): a value no record can hold."""
    kind = record_type(record)
    cls = RECORD_TYPES.get(kind)
    if cls is None:
        raise KeyError(f"unknown record type {kind!r}")
    return cls.from_record(record)
