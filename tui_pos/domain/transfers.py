"""Transfers of stock between shops, through HQ (pure): what one shop sends is a transfer_out per
product (stock leaves it at once); HQ keeps the transfer open until the other shop receives it, a
transfer_in per product sent (and per product that came without being sent). What was received
less what was sent is the transfer's variance (domain.stock.transfer_variance): out and in sum to
zero, or to that variance.

Exactly once: the movements of a transfer at a till have UUIDs derived from the shops, the
transfer and the product (transfer_uuid), so the same transfer received twice at a till is found
by its UUIDs (and refused), and a record stored twice is one record.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from tui_pos.domain.errors import N_, BadInput
from tui_pos.domain.records import StockMoved
from tui_pos.domain.stock import transfer_variance

TRANSFER_NAMESPACE = uuid.UUID("6d1c8b0e-6f3e-4f4e-9a57-2f1e0c7a5b14")  # tui-pos transfers
TRANSFER_ID_LENGTH = 40


def transfer_uuid(kind: Literal["transfer_out", "transfer_in"], from_shop: str, transfer_id: str, barcode: str) -> str:
    """The UUID of a transfer's movement of one product at the sending (out) or receiving (in) shop."""
    return str(uuid.uuid5(TRANSFER_NAMESPACE, f"{kind}\x1f{from_shop}\x1f{transfer_id}\x1f{barcode}"))


def check_transfer_id(transfer_id: str) -> str:
    """A transfer's id as given (--ref): 1-40 letters, digits, '-', '_', '/' or '.'."""
    text = transfer_id.strip()
    if not text or len(text) > TRANSFER_ID_LENGTH or not all((c.isascii() and c.isalnum()) or c in "-_/." for c in text):
        raise BadInput(N_("{ref!r} is not a transfer id: use 1-40 letters, digits, -, _, / or ."), ref=transfer_id[:60])
    return text


@dataclass(frozen=True)
class OpenTransfer:
    """A transfer sent to this till's shop, as HQ says (the sync pulls them): not received yet."""

    transfer: str
    from_shop: str
    to_shop: str
    sent_at: str
    lines: tuple[tuple[str, int], ...]  # (barcode, milli-units sent)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> OpenTransfer:
        return cls(str(data["transfer"]), str(data["from_shop"]), str(data["to_shop"]), str(data.get("sent_at") or ""),
                   tuple((str(line["barcode"]), int(line["qty"])) for line in data.get("lines") or ()))

    @property
    def sent(self) -> dict[str, int]:
        return dict(self.lines)

    def to_dict(self) -> dict[str, Any]:
        return {"transfer": self.transfer, "from_shop": self.from_shop, "to_shop": self.to_shop,
                "sent_at": self.sent_at, "lines": [{"barcode": b, "qty": q} for b, q in self.lines]}


def received_quantities(sent: Mapping[str, int], counted: Mapping[str, int] | None) -> dict[str, int]:
    """What was received of each product: as sent (counted None), or what was counted on arrival,
    a product sent but not counted being none of it (0), one counted but not sent its count."""
    if counted is None:
        return dict(sent)
    return {**{barcode: 0 for barcode in sent}, **counted}


def sent_moves(transfer_id: str, from_shop: str, to_shop: str, quantities: Mapping[str, int], *, till_id: str,
               at: str, expected: Mapping[str, int], batch: str, actor: str | None) -> list[StockMoved]:
    """The sending till's movements: a transfer_out of each product (its quantity taken off)."""
    return [StockMoved(transfer_uuid("transfer_out", from_shop, transfer_id, barcode), till_id, at, "transfer_out",
                       barcode, -qty, expected.get(barcode), reference=transfer_id, peer=to_shop, batch=batch,
                       actor=actor)
            for barcode, qty in quantities.items()]


def received_moves(transfer: OpenTransfer, received: Mapping[str, int], *, till_id: str, at: str,
                   expected: Mapping[str, int], batch: str, actor: str | None) -> list[StockMoved]:
    """The receiving till's movements: a transfer_in of each product sent or received (0: none of
    it came), peer the sending shop, reference the transfer."""
    return [StockMoved(transfer_uuid("transfer_in", transfer.from_shop, transfer.transfer, barcode), till_id, at,
                       "transfer_in", barcode, qty, expected.get(barcode), reference=transfer.transfer,
                       peer=transfer.from_shop, batch=batch, actor=actor)
            for barcode, qty in received.items()]


def variances(sent: Mapping[str, int], received: Mapping[str, int]) -> dict[str, int]:
    """Each product's variance (received - sent) where it is not zero."""
    found = {b: transfer_variance(sent.get(b, 0), received.get(b, 0)) for b in sorted({*sent, *received})}
    return {b: v for b, v in found.items() if v}
