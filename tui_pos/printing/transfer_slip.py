"""A transfer's slip on paper, to go in the box with the goods: the transfer's id (what the
receiving shop picks), from which shop to which, when and by whom, every product and quantity
sent, and a line for the receiver's signature.

slip_layout is pure, like the receipt's layout; print_slip prints it best effort, as an X/Z report
is (printing.queue.print_now): the transfer is stored before it is printed, so a printer that fails
costs the id written on the box by hand, never the transfer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tui_pos.config import Config
from tui_pos.domain.shop_time import shop_time
from tui_pos.domain.stock import format_qty
from tui_pos.printing.layout import Cut, Layout, ReceiptOptions, _Builder

if TYPE_CHECKING:
    from tui_pos.printing.queue import PrintQueue


@dataclass(frozen=True)
class TransferSlip:
    transfer: str
    from_shop: str
    to_shop: str
    to_name: str  # "" when the till had no list of the chain's shops
    till_id: str
    sent_at: str  # ISO, UTC
    sent_by: str
    lines: tuple[tuple[str, str, int], ...]  # (barcode, name, milli-units sent)

    @classmethod
    def sent(cls, transfer: str, from_shop: str, to_shop: str, to_name: str, records: Sequence[Mapping[str, Any]],
             names: Mapping[str, str]) -> TransferSlip:
        """The slip of the transfer_out records a send stored (their qty is negative: stock left)."""
        first = records[0]
        return cls(transfer, from_shop, to_shop, to_name, str(first["till_id"]), str(first["at"]),
                   str(first.get("actor") or ""), tuple((r["barcode"], names.get(r["barcode"], ""), -r["qty"])
                                                         for r in records))


def slip_layout(slip: TransferSlip, options: ReceiptOptions) -> Layout:
    """The slip in the paper's language: title, shops, id, the lines, their count, a signature line."""
    o = options
    b = _Builder(options)
    tr = b.tr
    b.text(tr.gettext("TRANSFER SLIP"), "center", bold=True, tall=True)
    b.text(o.shop_name, "center")
    b.rule()
    b.pair(tr.gettext("Transfer"), slip.transfer, bold=True)
    b.pair(tr.gettext("From shop"), slip.from_shop)
    b.pair(tr.gettext("To shop"), f"{slip.to_shop} {slip.to_name}".strip(), bold=True)
    b.pair(tr.gettext("Till {till}").format(till=slip.till_id), shop_time(slip.sent_at, o.tz))
    if slip.sent_by:
        b.pair(tr.gettext("Sent by"), slip.sent_by)
    b.rule()
    for barcode, name, qty in slip.lines:
        b.text(name or barcode)
        b.pair(f"  {barcode}", format_qty(qty))
    b.rule()
    b.pair(tr.gettext("Products"), str(len(slip.lines)), bold=True)
    b.text("")
    b.text(tr.gettext("Received by: ____________"))
    if o.cut:
        b.items.append(Cut())
    return Layout(o.columns, o.chinese, tuple(b.items), o.qr_native, o.profile)


def print_slip(config: Config, slip: TransferSlip, queue: PrintQueue | None = None,
               lock_timeout_s: float = 5.0) -> tuple[bool, str]:
    """Print a transfer's slip on the receipt printer: (printed, why not); never raises."""
    from tui_pos.printing.queue import print_now

    return print_now(config, lambda options: slip_layout(slip, options), f"slip of transfer {slip.transfer}", queue,
                     lock_timeout_s)
