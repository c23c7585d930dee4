"""Selling from the command line: init, replay, catalog import and list, sell, sales."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import click

from tui_pos.cli.base import emit, interrupts, json_option, main, open_till
from tui_pos.cli.signin import manager_hint, operating_till, person_options, sign_in
from tui_pos.config import Config
from tui_pos.domain.columns import pad
from tui_pos.domain.errors import BadInput, PosError
from tui_pos.domain.money import Currency, parse_count
from tui_pos.domain.shift import SALE_KIND_WORDS
from tui_pos.domain.shop_time import shop_time
from tui_pos.domain.tender import TENDER_KINDS, Tender
from tui_pos.i18n import N_, _, message

if TYPE_CHECKING:
    from tui_pos.app.till import Till


@main.command()
@click.option("--demo", is_flag=True, help="Load the demo catalog and the demo cashier and manager.")
@json_option
@click.pass_context
def init(ctx: click.Context, demo: bool, as_json: bool) -> None:
    """Create a shop in the data directory. Safe to run again: on a shop that exists it changes
    no person, price or record (--demo is refused there)."""
    from tui_pos.bootstrap.shop import init_shop

    result = init_shop(ctx.obj, demo)
    data = {"data_dir": str(result.config.data_dir), "created": result.created, "products_imported": result.products}
    said = ((_("Created shop in {dir} with {n} demo products") if demo else _("Created shop in {dir}"))
            if result.created else
            (_("Updated shop in {dir} with {n} demo products") if demo else _("Updated shop in {dir}")))
    emit(as_json, data, lambda: said.format(dir=result.config.data_dir, n=result.products))


@main.command()
@json_option
@click.pass_context
def replay(ctx: click.Context, as_json: bool) -> None:
    """Bring journaled sales into the database now (idempotent)."""
    till = open_till(ctx, replay=False)
    result = till.replay()
    data = {**result.__dict__, "storage": till.storage().mode}
    emit(as_json, data, lambda: (
        _("Replayed {replayed}, already present {skipped}, quarantined {quarantined}, files retired {retired}; error: "
          "{error}") if result.error else
        _("Replayed {replayed}, already present {skipped}, quarantined {quarantined}, files retired {retired}")).format(
        replayed=result.replayed, skipped=result.skipped, quarantined=result.quarantined, retired=result.retired_files,
        error=message(result.error)))
    if result.quarantined:  # forged, damaged or out-of-place lines: never silently
        click.echo(_("WARNING: {n} journal line(s) were NOT stored and are kept in quarantine (forged, damaged or out of "
                     "place): see 'tui-pos audit verify'").format(n=result.quarantined), err=True)
    if result.error:
        sys.exit(1)


def parse_item(spec: str) -> tuple[str, int, str | None]:
    """CODE[xQTY][@PRICE] -> (code, qty, price text or None)."""
    code, _, price = spec.partition("@")
    code, _, qty_text = code.lower().partition("x")
    qty = parse_count(qty_text) if qty_text else 1
    if not code.strip() or qty is None:
        raise BadInput(N_("item {spec}: expected CODE, CODExQTY or CODExQTY@PRICE (QTY in digits 0-9)"), spec=repr(spec))
    return code.strip(), qty, price or None


def parse_tender(spec: str, currency: Currency, due: Callable[[], int]) -> Tender:
    """cash[:AMOUNT] | card:AMOUNT[:REF] | mobile:AMOUNT:REF; bare cash pays exactly what is due."""
    kind, _, rest = spec.partition(":")
    amount_text, _, reference = rest.partition(":")
    if kind not in TENDER_KINDS:
        raise BadInput(N_("tender {spec}: use cash[:AMOUNT], card:AMOUNT[:REF], mobile:AMOUNT:REF or code:CODE[:AMOUNT]"),
                       spec=repr(spec))
    if not amount_text:
        if kind != "cash":
            raise BadInput(N_("tender {spec}: {kind} needs an amount"), spec=repr(spec), kind=kind)
        return Tender("cash", due())
    return Tender(kind, currency.parse(amount_text), reference)


@main.command()
@click.option("--item", "items", multiple=True, required=True, metavar="CODE[xQTY][@PRICE]",
              help="A product by barcode (repeat for more): x3 for three, @PRICE for a price keyed in.")
@click.option("--tender", "tenders", multiple=True, required=True,
              metavar="cash[:AMOUNT]|card:AMOUNT[:REF]|mobile:AMOUNT:REF|code:CODE[:AMOUNT]",
              help="How it is paid (repeat to split); bare 'cash' pays exactly what is due; code: the "
                   "customer's Alipay/WeChat payment code, charged by the till (what is left, or AMOUNT).")
@person_options()
@click.option("--no-print", is_flag=True, help="Do not print the receipt now (it stays queued as unprinted).")
@json_option
@click.pass_context
def sell(ctx: click.Context, items: tuple[str, ...], tenders: tuple[str, ...], cashier: str | None,
         manager: str | None, pin: str | None, no_print: bool, as_json: bool) -> None:
    """Record one sale through the same core API as the till UI, then print its receipt. Who sells:
    --cashier NAME (or $TUI_POS_USER) and their PIN; a price keyed for an item that has one in the
    catalog (@PRICE) is a price override: --manager NAME sells it."""
    interrupts.before = N_("the sale was not recorded")
    till = operating_till(ctx)  # never touches the till's sale in progress
    specs = [parse_item(spec) for spec in items]
    sign_in(till, "sale", cashier=cashier, manager=manager, pin=pin, required="cashier")
    with manager_hint():
        for code, qty, price in specs:
            till.scan(code, qty, till.currency.parse(price) if price else None)
    codes = [spec for spec in tenders if spec.startswith("code:")]
    for spec in tenders:
        if not spec.startswith("code:"):
            till.add_tender(parse_tender(spec, till.currency, lambda: till.due().cash_left))
    for spec in codes:
        charge_code(till, spec)
    with interrupts.holding("the sale", "'tui-pos sales'"):  # from here an interrupt waits for the outcome
        paid = till.pay()
    fmt = till.currency.format
    sale = paid.sale
    receipt = None if no_print else print_receipt(till.config, sale.uuid)
    data = {"uuid": sale.uuid, "receipt": sale.receipt, "total": fmt(sale.total), "rounding": fmt(sale.rounding),
            "paid": fmt(sale.paid), "change": fmt(sale.change), "stored": paid.stored, "lines": len(sale.lines),
            "printed": bool(receipt and receipt.printed), "warning": paid.warning}
    if paid.warning:
        click.echo(_("Warning: {warning}").format(warning=paid.warning), err=True)
    from tui_pos.ops.status import PRINT_STATES, STORED_IN

    emit(as_json, data, lambda: _("{receipt}  total {total}  change {change}  stored in {stored}").format(
        receipt=sale.receipt, total=fmt(sale.total, True), change=fmt(sale.change, True),
        stored=_(STORED_IN.get(paid.stored, paid.stored)))
         + ("\n" + (_("Receipt {state}: {error}") if receipt.error else _("Receipt {state}")).format(
             state=_(PRINT_STATES.get(receipt.state, receipt.state)), error=receipt.error)
            if receipt and not receipt.printed else ""))


def charge_code(till: Till, spec: str) -> None:
    """code:CODE[:AMOUNT]: charge the customer's Alipay/WeChat payment code (what is left, or
    AMOUNT) through the till's gateway, waiting for the outcome; anything but paid stops the sale
    (PosError: nothing stored but the payment's own records)."""
    _, _, rest = spec.partition(":")
    code, _, amount_text = rest.partition(":")
    amount = till.currency.parse(amount_text) if amount_text else None
    if till.payments.unresolved():
        till.payments.resolve()
    charge = till.payments.start(code, amount)
    with interrupts.holding("the code payment", "'tui-pos payments'"):
        while not charge.done:
            charge = till.payments.advance(charge)
    if charge.state != "paid":
        raise PosError(charge.template, **charge.params)


def print_receipt(config: Config, uuid: str):
    """After the sale is stored: print it, waiting a few seconds at most. Never fails the sale."""
    from tui_pos.printing.commands import print_after_sale

    try:
        return print_after_sale(config, uuid)
    except Exception as err:  # noqa: BLE001 - the sale is stored; the receipt stays queued
        click.echo(_("Warning: receipt not printed ({error}); see 'tui-pos receipts --unprinted'").format(error=err),
                   err=True)
        return None


def parse_since(text: str) -> str:
    """--since as the stored times are written (UTC ISO 8601, milliseconds): a time without an offset is UTC."""
    try:
        when = datetime.fromisoformat(text.strip())
        return (when.replace(tzinfo=UTC) if when.tzinfo is None else when).astimezone(UTC) \
            .isoformat(timespec="milliseconds")
    except (ValueError, OverflowError):
        raise BadInput(N_("--since {text} is not a date or time (expected e.g. 2026-11-21 or 2026-11-21T09:30)"),
                       text=repr(text)) \
            from None


@main.command()
@click.option("--since", help="ISO date or time (UTC), e.g. 2026-11-21")
@json_option
@click.pass_context
def sales(ctx: click.Context, since: str | None, as_json: bool) -> None:
    """Recorded sales, refunds and voids (each refund or void with the receipt it reverses),
    journaled ones included."""
    since = parse_since(since) if since is not None else None
    till = open_till(ctx, replay=False)
    fmt = till.currency.format
    rows = [{"uuid": r["uuid"], "receipt": r["receipt"], "completed_at": r["completed_at"], "cashier": r["cashier"],
             "total": fmt(r["total"]), "stored": r["stored"], "kind": r["kind"] or "sale",
             "original": r["original_receipt"], "original_uuid": r["original_uuid"]} for r in till.ledger.sales(since)]
    if till.storage().mode != "ok":
        click.echo(_("Warning: storage is {mode} ({error}); sales the database holds may be missing from this list")
                   .format(mode=till.storage().mode, error=till.storage().last_error), err=True)
    from tui_pos.ops.status import STORED_IN

    emit(as_json, rows, lambda: "\n".join(
        f"{r['receipt']}  {shop_time(r['completed_at'])}  {r['total']:>10}  "
        f"{pad(_(STORED_IN.get(r['stored'], r['stored'])), 7)}  {_(SALE_KIND_WORDS.get(r['kind'], r['kind']))}"
        + (" " + _("of {receipt}").format(receipt=r["original"]) if r["original"] else "") for r in rows)
         or _("No sales."))
