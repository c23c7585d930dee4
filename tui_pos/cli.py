"""The command line: a thin click layer over the core, `--json` on every command."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any, Callable

import click

from tui_pos.config import CONFIG_NAME, ConfigError, Config, load_config, resolve_data_dir
from tui_pos.core.errors import BadInput, PosError
from tui_pos.core.money import Currency
from tui_pos.core.tender import TENDER_KINDS, Tender

json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")


def emit(as_json: bool, data: Any, human: Callable[[], str]) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2) if as_json else human())


def fail(message: str, code: int = 1) -> None:
    click.echo(f"Error: {message}", err=True)
    sys.exit(code)


class PosGroup(click.Group):
    """Bad input of any kind (PosError, ConfigError, a click usage error) is one line on stderr
    and exit status 1, never a traceback or a usage screen."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().main(*args, standalone_mode=False, **kwargs)
        except (PosError, ConfigError) as err:
            fail(str(err))
        except click.exceptions.Abort:
            fail("aborted")
        except click.ClickException as err:
            fail(f"{err.format_message()} (see --help)")


@click.group(cls=PosGroup, invoke_without_command=True)
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), envvar="TUI_POS_DATA_DIR",
              help="Data directory (default: $TUI_POS_DATA_DIR, else the user data directory).")
@click.version_option(package_name="tui-pos")
@click.pass_context
def main(ctx: click.Context, data_dir: Path | None) -> None:
    """tui-pos: a point-of-sale till for the terminal. With no command, starts the till."""
    os.umask(0o077)  # every file we create (database, WAL, journal) is 0600, directories 0700
    ctx.obj = resolve_data_dir(data_dir)
    if ctx.invoked_subcommand is None:
        os.environ.setdefault("ESCDELAY", "25")  # read by Textual at import: Esc must not lag
        from tui_pos.ui.app import PosApp

        till = open_till(ctx)
        PosApp(till).run()


def shop_config(ctx: click.Context) -> Config:
    data_dir: Path = ctx.obj
    if not (data_dir / CONFIG_NAME).exists():
        raise BadInput(f"no shop in {data_dir}: run 'tui-pos init --demo' (or 'tui-pos init') first")
    return load_config(data_dir)


def open_till(ctx: click.Context, cashier: str = "", replay: bool = True, keep_cart: bool = True):
    from tui_pos.core.till import Till

    till = Till.open(shop_config(ctx), cashier=cashier, replay=replay, keep_cart=keep_cart)
    ctx.call_on_close(till.close)
    return till


@main.command()
@click.option("--demo", is_flag=True, help="Load the demo catalog and the demo cashier and manager.")
@json_option
@click.pass_context
def init(ctx: click.Context, demo: bool, as_json: bool) -> None:
    """Create a shop in the data directory (safe to run again)."""
    from tui_pos.core.shop import init_shop

    result = init_shop(ctx.obj, demo)
    data = {"data_dir": str(result.config.data_dir), "created": result.created, "products_imported": result.products}
    emit(as_json, data, lambda: f"{'Created' if result.created else 'Updated'} shop in {result.config.data_dir}"
         + (f" with {result.products} demo products" if demo else ""))


@main.command()
@json_option
@click.pass_context
def status(ctx: click.Context, as_json: bool) -> None:
    """Storage mode, journal backlog and the sale in progress (read-only)."""
    till = open_till(ctx, replay=False)
    state = till.storage()
    fmt = till.currency.format
    totals = till.cart.totals(till.config.prices_include_tax)
    cart = {
        "uuid": till.cart.uuid,
        "restored": till.restored,
        "lines": [{"barcode": l.barcode, "name": l.name, "qty": l.qty, "unit_price": fmt(l.unit_price)}
                  for l in till.cart.active_lines],
        "total": fmt(totals.total),
    }
    data = {
        "storage": state.mode, "journal_backlog": state.journal_backlog, "quarantined": state.quarantined,
        "last_error": state.last_error, "till_id": till.config.till_id, "data_dir": str(till.config.data_dir),
        "journal_dirs": [str(d) for d in till.config.storage.journal_dirs], "products": len(till.catalog),
        "cart": cart,
    }

    def human() -> str:
        lines = [f"Till {data['till_id']}  data {data['data_dir']}",
                 f"Storage: {state.mode.upper()}" + (f" - {state.journal_backlog} sale(s) in the journal" if state.journal_backlog else ""),
                 f"Quarantined journal lines: {state.quarantined}", f"Products: {len(till.catalog)}"]
        if state.last_error:
            lines.append(f"Last storage error: {state.last_error}")
        if cart["lines"]:
            lines.append(f"Sale in progress ({len(cart['lines'])} lines, total {cart['total']}):")
            lines += [f"  {l['qty']} x {l['name']} ({l['barcode']}) @ {l['unit_price']}" for l in cart["lines"]]
        else:
            lines.append("No sale in progress.")
        return "\n".join(lines)

    emit(as_json, data, human)


@main.command()
@json_option
@click.pass_context
def replay(ctx: click.Context, as_json: bool) -> None:
    """Bring journaled sales into the database now (idempotent)."""
    till = open_till(ctx, replay=False)
    result = till.replay()
    data = {**result.__dict__, "storage": till.storage().mode}
    emit(as_json, data, lambda: (f"Replayed {result.replayed}, already present {result.skipped}, "
                                 f"quarantined {result.quarantined}, files retired {result.retired_files}"
                                 + (f"; error: {result.error}" if result.error else "")))
    if result.error:
        sys.exit(1)


@main.group()
def catalog() -> None:
    """Products."""


@catalog.command("import")
@click.argument("csv_file", type=click.Path(dir_okay=False, path_type=Path))
@json_option
@click.pass_context
def catalog_import(ctx: click.Context, csv_file: Path, as_json: bool) -> None:
    """Import FILE.csv (barcode,name,price,tax[,department,stock]): all lines or none."""
    from tui_pos.core.shop import import_catalog_file

    count = import_catalog_file(shop_config(ctx.find_root()), csv_file)
    emit(as_json, {"imported": count}, lambda: f"Imported {count} products")


def parse_item(spec: str) -> tuple[str, int, str | None]:
    """CODE[xQTY][@PRICE] -> (code, qty, price text or None)."""
    code, _, price = spec.partition("@")
    code, _, qty = code.lower().partition("x")
    if not code.strip() or (qty and not qty.isdigit()):
        raise BadInput(f"item {spec!r}: expected CODE, CODExQTY or CODExQTY@PRICE")
    return code.strip(), int(qty) if qty else 1, price or None


def parse_tender(spec: str, currency: Currency, due: Callable[[], int]) -> Tender:
    """cash[:AMOUNT] | card:AMOUNT[:REF] | mobile:AMOUNT:REF; bare cash pays exactly what is due."""
    kind, _, rest = spec.partition(":")
    amount_text, _, reference = rest.partition(":")
    if kind not in TENDER_KINDS:
        raise BadInput(f"tender {spec!r}: use cash[:AMOUNT], card:AMOUNT[:REF] or mobile:AMOUNT:REF")
    if not amount_text:
        if kind != "cash":
            raise BadInput(f"tender {spec!r}: {kind} needs an amount")
        return Tender("cash", due())
    return Tender(kind, currency.parse(amount_text), reference)


@main.command()
@click.option("--item", "items", multiple=True, required=True, metavar="CODE[xQTY][@PRICE]")
@click.option("--tender", "tenders", multiple=True, required=True,
              metavar="cash[:AMOUNT]|card:AMOUNT[:REF]|mobile:AMOUNT:REF")
@click.option("--cashier", default="cli", show_default=True)
@click.option("--no-print", is_flag=True, help="Do not print the receipt now (it stays queued as unprinted).")
@json_option
@click.pass_context
def sell(ctx: click.Context, items: tuple[str, ...], tenders: tuple[str, ...], cashier: str, no_print: bool,
         as_json: bool) -> None:
    """Record one sale through the same core API as the till UI, then print its receipt."""
    till = open_till(ctx, cashier=cashier, keep_cart=False)  # never touches the till's sale in progress
    for spec in items:
        code, qty, price = parse_item(spec)
        till.scan(code, qty, till.currency.parse(price) if price else None)
    for spec in tenders:
        till.add_tender(parse_tender(spec, till.currency, lambda: till.due().cash_left))
    paid = till.pay()
    fmt = till.currency.format
    sale = paid.sale
    receipt = None if no_print else print_receipt(till.config, sale.uuid)
    data = {"uuid": sale.uuid, "receipt": sale.receipt, "total": fmt(sale.total), "rounding": fmt(sale.rounding),
            "paid": fmt(sale.paid), "change": fmt(sale.change), "stored": paid.stored, "lines": len(sale.lines),
            "printed": bool(receipt and receipt.printed)}
    emit(as_json, data, lambda: f"{sale.receipt}  total {fmt(sale.total, True)}  change {fmt(sale.change, True)}"
         f"  stored in {paid.stored}" + (f"\nReceipt {receipt.state}" + (f": {receipt.error}" if receipt.error else "")
                                        if receipt and not receipt.printed else ""))


def print_receipt(config: Config, uuid: str):
    """After the sale is stored: print it, waiting a few seconds at most. Never fails the sale."""
    from tui_pos.printing.commands import print_after_sale

    try:
        return print_after_sale(config, uuid)
    except Exception as err:  # noqa: BLE001 - the sale is stored; the receipt stays queued
        click.echo(f"Warning: receipt not printed ({err}); see 'tui-pos receipts --unprinted'", err=True)
        return None


@main.command()
@click.option("--since", help="ISO date or time (UTC), e.g. 2026-11-21")
@json_option
@click.pass_context
def sales(ctx: click.Context, since: str | None, as_json: bool) -> None:
    """Recorded sales, journaled ones included."""
    till = open_till(ctx, replay=False)
    fmt = till.currency.format
    rows = [{"uuid": r["uuid"], "receipt": r["receipt"], "completed_at": r["completed_at"], "cashier": r["cashier"],
             "total": fmt(r["total"]), "stored": r["stored"]} for r in till.ledger.sales(since)]
    if till.storage().mode != "ok":
        click.echo(f"Warning: storage is {till.storage().mode} ({till.storage().last_error}); "
                   "sales the database holds may be missing from this list", err=True)
    emit(as_json, rows, lambda: "\n".join(f"{r['receipt']}  {r['completed_at']}  {r['total']:>10}  {r['stored']}"
                                          for r in rows) or "No sales.")


@main.group()
def printer() -> None:
    """Receipt printers ([printer] in config.toml)."""


@printer.command("list")
@json_option
def printer_list(as_json: bool) -> None:
    """ESC/POS printers on USB, with the connection string for config.toml."""
    from tui_pos.printing.commands import list_printers

    data = list_printers()
    emit(as_json, data, lambda: "\n".join(
        [f"{p['connection']}  {p['manufacturer']} {p['product']}  (bus {p['bus']} address {p['address']}, "
         f"out {p['out_ep']}, in {p['in_ep']})" for p in data["usb"]] + [f"lp:{path}" for path in data["lp"]]
        + ([f"Error: {data['error']}"] if data["error"] else [])) or "No printer found.")


@printer.command("test")
@json_option
@click.pass_context
def printer_test(ctx: click.Context, as_json: bool) -> None:
    """Print a test page and report the printer's status."""
    from tui_pos.printing.commands import print_test_page

    data = print_test_page(shop_config(ctx))
    emit(as_json, data, lambda: f"{data['connection']}: {data['status_text']}; test page "
         + ("printed" if data["printed"] else f"NOT printed ({data['error']})"))
    if not data["printed"]:
        sys.exit(1)


@main.group(invoke_without_command=True)
@click.option("--unprinted", is_flag=True, help="Paid sales whose receipt is not printed.")
@json_option
@click.pass_context
def receipts(ctx: click.Context, unprinted: bool, as_json: bool) -> None:
    """Receipts: --unprinted, reprint NUMBER, show NUMBER, confirm NUMBER."""
    if ctx.invoked_subcommand is not None:
        return
    if not unprinted:
        raise BadInput("use 'tui-pos receipts --unprinted', or reprint/show/confirm NUMBER")
    from tui_pos.printing.commands import unprinted_rows

    rows = unprinted_rows(shop_config(ctx))
    emit(as_json, rows, lambda: "\n".join(
        f"{r['receipt']}  {r['completed_at']}  {r['total']:>10}  {r['state']}"
        + (f"  ref {', '.join(r['references'])}" if r["references"] else "")
        + (f"  ({r['last_error']})" if r["last_error"] else "") for r in rows) or "Every receipt is printed.")


@receipts.command("reprint")
@click.argument("number")
@json_option
@click.pass_context
def receipts_reprint(ctx: click.Context, number: str, as_json: bool) -> None:
    """Print a copy of receipt NUMBER (marked COPY)."""
    from tui_pos.printing.commands import reprint

    result = reprint(shop_config(ctx), number)
    data = {"receipt": number, "uuid": result.uuid, "state": result.state, "printed": result.printed,
            "error": result.error}
    emit(as_json, data, lambda: f"Copy of {number} " + ("printed" if result.printed else f"{result.state}: {result.error}"))
    if not result.printed:
        sys.exit(1)


@receipts.command("show")
@click.argument("number")
@click.pass_context
def receipts_show(ctx: click.Context, number: str) -> None:
    """Show receipt NUMBER on screen, QR code included (when no printer works)."""
    from tui_pos.printing.commands import show_receipt

    lines = show_receipt(shop_config(ctx), number)
    if lines is None:
        raise BadInput(f"no sale with receipt number {number}")
    click.echo("\n".join(lines))


@receipts.command("confirm")
@click.argument("number")
@click.pass_context
def receipts_confirm(ctx: click.Context, number: str) -> None:
    """Receipt NUMBER did come out after all: take it off the unprinted list."""
    from tui_pos.printing.commands import confirm_printed

    if not confirm_printed(shop_config(ctx), number):
        raise BadInput(f"receipt {number} is not waiting to be printed")
    click.echo(f"Receipt {number} marked printed")
