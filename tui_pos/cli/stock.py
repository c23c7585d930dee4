"""`tui-pos stock [CODE] [--low]` and `tui-pos stock receive|adjust|count|import`: what is on the
shelf and every change of it (app/stock.py). The reorder, anomalies and margin reports are
`tui-pos report reorder|anomalies|margin` (report.py)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from tui_pos.cli.base import emit, interrupts, json_option, main, open_till
from tui_pos.cli.signin import manager_hint, operating_till, person_options, sign_in
from tui_pos.domain.errors import BadInput
from tui_pos.domain.stock import ADJUST_REASONS, format_qty
from tui_pos.files import read_named
from tui_pos.i18n import N_, _

if TYPE_CHECKING:
    from tui_pos.app.till import Till

# ADJUST_REASONS as a person reads them (the record keeps the English word): _(reason)
_REASON_WORDS = (N_("damaged"), N_("expired"), N_("theft"), N_("found"), N_("other"))

_CODE = "tui_pos.cli.stock.code"  # ctx.meta key: the CODE given to `tui-pos stock`


class StockGroup(click.Group):
    """A group that also takes a CODE: a first word that is not one of its commands is the product
    to show (`tui-pos stock 6901234`), not a command."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        first = next((i for i, arg in enumerate(args) if not arg.startswith("-")), None)
        if first is not None and args[first] not in self.commands:
            ctx.meta[_CODE] = args[first]
            args = args[:first] + args[first + 1:]
        return super().parse_args(ctx, args)


@main.group(cls=StockGroup, invoke_without_command=True)
@click.option("--low", is_flag=True, help="Only products at or below their reorder level.")
@json_option
@click.pass_context
def stock(ctx: click.Context, low: bool, as_json: bool) -> None:
    """Stock on hand: every tracked product, or CODE's, or (--low) those to reorder. Quantities
    are units (weighed goods to 3 decimals); journaled movements included.

    Subcommands receive, adjust, count and import change it; who acts: --cashier NAME, or
    --manager NAME, who also approves what needs a manager (adjustments over [stock]
    adjust_limit, counts off by more than [stock] variance_*)."""
    if ctx.invoked_subcommand is not None:
        return
    code = ctx.meta.get(_CODE)
    till = open_till(ctx, replay=False, keep_cart=False)
    levels = till.stock.levels(code, low=low)
    if code is None:
        levels = [lv for lv in levels if lv.tracked or lv.low]
    rows = [lv.to_dict() for lv in levels]
    emit(as_json, rows, lambda: "\n".join(level_line(r) for r in rows) or (
        _("Nothing is low.") if low else _("No product's stock is tracked yet (tui-pos stock receive or count).")))


def level_line(row: dict[str, Any]) -> str:
    """A product's stock in one line (Level.to_dict()): a till's (`tui-pos stock`) and a shop's (`hq stock`)."""
    from tui_pos.domain.columns import pad

    level = "  " + _("reorder at {level}").format(level=row["reorder_level"]) if row["reorder_level"] is not None else ""
    low = "  " + _("LOW") if row["low"] else ""
    return f"{row['barcode']:<13}  {pad(row['name'], 30)} {row['on_hand']:>10}{level}{low}"


item_option = click.option("--item", "items", multiple=True, required=True, metavar="CODE[xQTY]",
                           help="A product's code and quantity (default 1; weighed goods to 3 decimals, e.g. "
                                "2000123x1.25); repeat for more, the same code's quantities add up.")


def _moved(till: Till, records: list[dict[str, Any]], as_json: bool) -> None:
    """What was stored, one line per product."""
    fmt = till.currency.format
    names = {p.barcode: p.name for p in (till.catalog.lookup(r["barcode"]) for r in records)}

    def qty(milli: int | None) -> str | None:
        return None if milli is None else format_qty(milli)

    rows = [{"uuid": r["uuid"], "kind": r["kind"], "barcode": r["barcode"], "name": names[r["barcode"]],
             "qty": qty(r["qty"]), "expected": qty(r["expected"]), "counted": qty(r["counted"]),
             "on_hand": qty(r["counted"] if r["kind"] == "count" else
                            None if r["expected"] is None else r["expected"] + r["qty"]),
             "unit_cost": None if r["unit_cost"] is None else fmt(r["unit_cost"]), "reason": r["reason"],
             "supplier": r["supplier"], "reference": r["reference"], "actor": r["actor"],
             "approved_by": r["approved_by"], "at": r["at"]} for r in records]

    def line(r: dict[str, Any]) -> str:
        what = {"receive": _("received {qty}").format(qty=r["qty"]),
                "adjust": _("adjusted {qty} ({reason})").format(qty=r["qty"], reason=_(r["reason"])),
                "count": _("counted {counted} (expected {expected}, variance {qty})").format(
                    counted=r["counted"], expected=r["expected"], qty=r["qty"])}.get(r["kind"], r["kind"])
        said = _("{code} {name}: {what}; on hand {on_hand}").format(
            code=r["barcode"], name=r["name"], what=what, on_hand=r["on_hand"] or _("unknown"))
        return said + (_(", approved by {manager}").format(manager=r["approved_by"]) if r["approved_by"] else "")

    emit(as_json, rows, lambda: "\n".join(line(r) for r in rows))


@stock.command("receive")
@item_option
@click.option("--cost", metavar="AMOUNT", help="The unit cost of each item received (for the margin report).")
@click.option("--supplier", metavar="NAME", default="", help="Who delivered it.")
@click.option("--ref", "reference", metavar="TEXT", default="", help="The delivery note or invoice number.")
@person_options()
@json_option
@click.pass_context
def stock_receive(ctx: click.Context, items: tuple[str, ...], cost: str | None, supplier: str, reference: str,
                  cashier: str | None, manager: str | None, pin: str | None, as_json: bool) -> None:
    """Goods in: each item's quantity, at a unit cost, from a supplier, with a reference."""
    till = operating_till(ctx.find_root(), replay=False)
    unit_cost = till.currency.parse(cost) if cost is not None else None
    lines = till.stock.lines(items, "receive", unit_cost=unit_cost, supplier=supplier.strip(),
                             reference=reference.strip())
    sign_in(till, "stock_receive", cashier=cashier, manager=manager, pin=pin, required="cashier")
    interrupts.before = N_("nothing was received")
    with interrupts.holding("the receipt of goods", "'tui-pos stock'"):
        records = till.stock.receive(lines)
    _moved(till, records, as_json)


@stock.command("adjust")
@click.option("--item", "items", multiple=True, required=True, metavar="CODE[xQTY]",
              help="A product's code and the change (negative: stock written off, e.g. 111x-2); repeatable.")
@click.option("--reason", required=True, type=click.Choice(ADJUST_REASONS),
              help="Why: damaged, expired, theft, found or other.")
@person_options()
@json_option
@click.pass_context
def stock_adjust(ctx: click.Context, items: tuple[str, ...], reason: str, cashier: str | None, manager: str | None,
                 pin: str | None, as_json: bool) -> None:
    """Stock written off or found, with a reason; more than [stock] adjust_limit units needs --manager."""
    till = operating_till(ctx.find_root(), replay=False)
    lines = till.stock.lines(items, "adjust")
    approval = sign_in(till, "stock_adjust", cashier=cashier, manager=manager, pin=pin, reason=reason,
                       required="cashier")
    interrupts.before = N_("nothing was adjusted")
    with manager_hint(), interrupts.holding("the adjustment", "'tui-pos stock'"):
        records = till.stock.adjust(lines, reason, approval)
    _moved(till, records, as_json)


@stock.command("count")
@item_option
@person_options()
@json_option
@click.pass_context
def stock_count(ctx: click.Context, items: tuple[str, ...], cashier: str | None, manager: str | None,
                pin: str | None, as_json: bool) -> None:
    """A stock take: the quantities counted; each variance against what was expected is recorded.
    Off by more than [stock] variance_* needs --manager."""
    till = operating_till(ctx.find_root(), replay=False)
    lines = till.stock.lines(items, "count")
    approval = sign_in(till, "stock_count", cashier=cashier, manager=manager, pin=pin, required="cashier")
    interrupts.before = N_("nothing was counted")
    with manager_hint(), interrupts.holding("the count", "'tui-pos stock'"):
        records = till.stock.count(lines, approval)
    _moved(till, records, as_json)


@stock.command("import")
@click.argument("csv_file", type=click.Path(dir_okay=False, path_type=Path))
@person_options()
@json_option
@click.pass_context
def stock_import(ctx: click.Context, csv_file: Path, cashier: str | None, manager: str | None, pin: str | None,
                 as_json: bool) -> None:
    """Counts or receipts from FILE.csv (barcode,qty[,kind][,cost][,supplier][,reference]; kind
    count, the default, or receive; one kind per file), validated as a whole: every line or, with
    errors listed by line, none."""
    from tui_pos.bootstrap.shop import MAX_CATALOG_BYTES  # a stock file is bounded as a catalog is

    data = read_named(csv_file, MAX_CATALOG_BYTES,
                      N_("{file} is not a regular file: save the counts as a .csv file and import that"),
                      N_("{file} is larger than {mb} MB: not a stock file; split it"))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise BadInput(N_("cannot read {file}: {error}"), file=csv_file, error=err) from None
    till = operating_till(ctx.find_root(), replay=False)
    till.stock.parse_import(text)  # a bad file is refused before any PIN
    approval = sign_in(till, "stock_count", cashier=cashier, manager=manager, pin=pin, required="cashier")
    interrupts.before = N_("nothing was imported")
    with manager_hint(), interrupts.holding("the import", "'tui-pos stock'"):
        records = till.stock.import_file(text, approval)
    _moved(till, records, as_json)


# -- transfers between shops, through HQ (app/transfers.py) -----------------------------------------
@stock.group("transfer")
def stock_transfer() -> None:
    """Goods sent to another shop of the chain (out), or received from one (in), through HQ."""


def _transferred(till: Till, moved: Any, as_json: bool) -> None:
    from tui_pos.domain.columns import pad

    names = {r["barcode"]: till.catalog.lookup(r["barcode"]).name for r in moved.records}
    rows = {"transfer": moved.transfer, "peer": moved.peer,
            "lines": [{"uuid": r["uuid"], "kind": r["kind"], "barcode": r["barcode"], "name": names[r["barcode"]],
                       "qty": format_qty(abs(r["qty"])), "variance": format_qty(moved.variances.get(r["barcode"], 0)),
                       "at": r["at"]} for r in moved.records]}

    def text() -> str:
        out = moved.records and moved.records[0]["kind"] == "transfer_out"
        head = (_("Transfer {transfer} sent to shop {shop}:") if out else
                _("Transfer {transfer} from shop {shop} received:")).format(transfer=moved.transfer, shop=moved.peer)
        lines = [f"  {line['barcode']:<13}  {pad(line['name'], 30)} {line['qty']:>10}" + (
            "  " + _("variance {variance}").format(variance=line["variance"]) if line["variance"] != "0" else "")
            for line in rows["lines"]]
        return "\n".join([head, *lines])

    emit(as_json, rows, text)


@stock_transfer.command("out")
@click.option("--to", "to_shop", required=True, metavar="SHOP", help="The shop the goods go to.")
@item_option
@click.option("--ref", "reference", metavar="ID", default=None,
              help="The transfer's id (e.g. the delivery note's number; default: a new one, TILL-XXXXXX).")
@person_options()
@json_option
@click.pass_context
def stock_transfer_out(ctx: click.Context, to_shop: str, items: tuple[str, ...], reference: str | None,
                       cashier: str | None, manager: str | None, pin: str | None, as_json: bool) -> None:
    """Send goods to another shop: they leave this shop's stock now; HQ keeps the transfer open until
    that shop receives it (tui-pos stock transfer in, there). SHOP must be one of the chain's
    shops as HQ last sent them down (tui-pos sync); a till that has no list yet says it could not
    check it."""
    till = operating_till(ctx.find_root(), replay=False)
    transfers = till.transfers
    to_shop = transfers.destination(to_shop)  # a shop that is not the chain's is refused before any PIN
    sign_in(till, "stock_transfer", cashier=cashier, manager=manager, pin=pin, required="cashier")
    interrupts.before = "nothing was sent"
    with interrupts.holding("the transfer", "'tui-pos stock'"):
        moved = transfers.send(to_shop, items, reference)
    if transfers.shops() is None:
        click.echo(_("Warning: this till has no list of the chain's shops from HQ yet (tui-pos sync pulls it): "
                     "shop {shop} could not be checked").format(shop=to_shop), err=True)
    _transferred(till, moved, as_json)


@stock_transfer.command("in")
@click.argument("transfer_id", metavar="[TRANSFER_ID]", required=False)
@click.option("--item", "items", multiple=True, metavar="CODE[xQTY]",
              help="What arrived (repeatable): a product sent and not listed did not arrive. Default: all that was sent.")
@person_options()
@json_option
@click.pass_context
def stock_transfer_in(ctx: click.Context, transfer_id: str | None, items: tuple[str, ...], cashier: str | None,
                      manager: str | None, pin: str | None, as_json: bool) -> None:
    """Receive a transfer another shop sent to this one (TRANSFER_ID, or the start of it; none: the
    only one open): as sent, or (--item) what arrived, the difference recorded as its variance.
    A transfer is received once."""
    till = operating_till(ctx.find_root(), replay=False)
    transfers = till.transfers
    transfers.find(transfer_id)  # a transfer that is not open is refused before any PIN
    sign_in(till, "stock_transfer", cashier=cashier, manager=manager, pin=pin, required="cashier")
    interrupts.before = "nothing was received"
    with interrupts.holding("the transfer", "'tui-pos stock'"):
        moved = transfers.receive(transfer_id, list(items) if items else None)
    _transferred(till, moved, as_json)


@stock.command("transfers")
@json_option
@click.pass_context
def stock_transfers(ctx: click.Context, as_json: bool) -> None:
    """The transfers other shops sent to this one and it has not received yet (as the last sync
    pulled them from HQ): id, from which shop, when, what."""
    till = open_till(ctx.find_root(), replay=False, keep_cart=False)
    transfers = till.transfers
    found = transfers.open()
    rows = [{**t.to_dict(), "lines": [{"barcode": b, "qty": format_qty(q)} for b, q in t.lines]} for t in found]

    def text() -> str:
        if not rows:
            return _("No transfer is waiting to be received.") if transfers.pulled() else \
                _("No transfers pulled from HQ yet (tui-pos sync).")
        return "\n".join(_("{transfer} from shop {shop}, sent {sent_at}: {lines}").format(
            transfer=r["transfer"], shop=r["from_shop"], sent_at=r["sent_at"][:16],
            lines=", ".join(f"{line['barcode']} x{line['qty']}" for line in r["lines"])) for r in rows)

    emit(as_json, rows, text)
