"""Refunds and voids from the command line: `tui-pos refund RECEIPT` and `tui-pos void-last`.

Both always need a manager (--manager NAME), who is then the one recorded as doing them. Each is
a new record linked to the original sale, printed like a sale's receipt.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from tui_pos.cli.base import emit, interrupts, json_option, main
from tui_pos.cli.selling import parse_item, print_receipt
from tui_pos.cli.signin import manager_hint, operating_till, person_options, sign_in
from tui_pos.domain.errors import BadInput
from tui_pos.i18n import N_, _

if TYPE_CHECKING:
    from tui_pos.app.till import Paid, Till
    from tui_pos.domain.refund import Refundable


def quantities_of(sale: Refundable, items: tuple[str, ...]) -> dict[int, int]:
    """--item CODE[xQTY] ... -> {line number: quantity}; no items: everything still left."""
    if not items:
        return {line.line_no: line.left for line in sale.lines if line.left}
    quantities: dict[int, int] = {}
    for spec in items:
        code, qty, price = parse_item(spec)
        if price is not None:
            raise BadInput(N_("item {spec}: a refund pays back what was paid; give CODE or CODExQTY"), spec=repr(spec))
        line = sale.line_for_code(code)
        quantities[line.line_no] = quantities.get(line.line_no, 0) + qty
    return quantities


@main.command()
@click.argument("receipt")
@click.option("--item", "items", multiple=True, metavar="CODE[xQTY]", help="What comes back (repeat); none: everything left.")
@click.option("--all", "everything", is_flag=True, help="Refund everything not yet returned (the default without --item).")
@click.option("--cash", is_flag=True, help="Pay it all back in cash (default: to the original tenders).")
@click.option("--reason", required=True, help="Why (audited), e.g. Damaged, Wrong item.")
@person_options(cashier=False)
@click.option("--no-print", is_flag=True, help="Do not print the refund receipt now (it stays queued).")
@json_option
@click.pass_context
def refund(ctx: click.Context, receipt: str, items: tuple[str, ...], everything: bool, cash: bool, reason: str,
           manager: str | None, pin: str | None, no_print: bool, as_json: bool) -> None:
    """Return items of the sale on RECEIPT (its number, or its scanned QR text), never more than was sold."""
    if everything and items:
        raise BadInput(N_("--all refunds everything left: leave out --item, or leave out --all"))
    till = operating_till(ctx)
    sale = till.find_refundable(receipt)
    quantities = quantities_of(sale, items)
    approval = sign_in(till, "refund", manager=manager, pin=pin, reason=reason, required="manager")
    interrupts.before = N_("the refund was not recorded")
    with manager_hint(), interrupts.holding("the refund", "'tui-pos sales'"):
        paid = till.refund(receipt, quantities, reason, approval, all_cash=cash)
    show_reversal(as_json, till, paid, sale.receipt, no_print)


@main.command("void-last")
@click.option("--reason", required=True, help="Why (audited), e.g. Wrong item.")
@person_options(cashier=False)
@click.option("--no-print", is_flag=True, help="Do not print the void receipt now (it stays queued).")
@json_option
@click.pass_context
def void_last(ctx: click.Context, reason: str, manager: str | None, pin: str | None, no_print: bool,
              as_json: bool) -> None:
    """Void this till's last sale completely (a linked reversal; its money goes back as it came)."""
    till = operating_till(ctx)
    approval = sign_in(till, "void", manager=manager, pin=pin, reason=reason, required="manager")
    interrupts.before = N_("the void was not recorded")
    with manager_hint(), interrupts.holding("the void", "'tui-pos sales'"):
        paid = till.void_last_sale(reason, approval)
    show_reversal(as_json, till, paid, paid.sale.original_receipt, no_print)


def show_reversal(as_json: bool, till: Till, paid: Paid, original: str | None, no_print: bool) -> None:
    """What was refunded or voided, and where the money went back to."""
    fmt = till.currency.format
    sale = paid.sale
    printed = None if no_print else print_receipt(till.config, sale.uuid)
    data = {"receipt": sale.receipt, "kind": sale.kind, "original": original, "original_uuid": sale.original_uuid,
            "total": fmt(sale.total), "reason": sale.reason, "approved_by": sale.approved_by, "stored": paid.stored,
            "lines": [{"code": l.barcode, "name": l.name, "qty": -l.qty, "amount": fmt(l.total)} for l in sale.lines],
            "tenders": [{"kind": t.kind, "amount": fmt(t.amount), "reference": t.reference} for t in sale.tenders],
            "printed": bool(printed and printed.printed)}
    from tui_pos.domain.tender import TENDER_WORDS
    from tui_pos.ops.status import STORED_IN

    said = {("refund", True): N_("{receipt}  refund of {original}  total {total}  approved by {manager}  stored in {stored}"),
            ("void", True): N_("{receipt}  void of {original}  total {total}  approved by {manager}  stored in {stored}"),
            ("refund", False): N_("{receipt}  refund  total {total}  approved by {manager}  stored in {stored}"),
            ("void", False): N_("{receipt}  void  total {total}  approved by {manager}  stored in {stored}")}
    emit(as_json, data, lambda: "\n".join(
        [_(said[sale.kind if sale.kind == "void" else "refund", bool(original)]).format(
            receipt=sale.receipt, original=original, total=fmt(sale.total, True), manager=sale.approved_by,
            stored=_(STORED_IN.get(paid.stored, paid.stored)))]
        + [f"  {-l.qty} x {l.name} ({l.barcode})  {fmt(l.total)}" for l in sale.lines]
        + ["  " + (_("back to {kind} {amount} (ref {reference})") if t.reference else _("back to {kind} {amount}")).format(
            kind=_(TENDER_WORDS.get(t.kind, t.kind)), amount=fmt(t.amount), reference=t.reference)
           for t in sale.tenders]))
