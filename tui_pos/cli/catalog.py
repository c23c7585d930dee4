"""`tui-pos catalog import|list`: the products the till sells."""

from __future__ import annotations

from pathlib import Path

import click

from tui_pos.cli.base import emit, interrupts, json_option, main, open_till
from tui_pos.cli.signin import manager_hint, operating_till, person_options, sign_in
from tui_pos.domain.money import format_bp
from tui_pos.i18n import N_, _


@main.group()
def catalog() -> None:
    """Products."""


@catalog.command("import")
@click.argument("csv_file", type=click.Path(dir_okay=False, path_type=Path))
@person_options(cashier=False)
@json_option
@click.pass_context
def catalog_import(ctx: click.Context, csv_file: Path, manager: str | None, pin: str | None, as_json: bool) -> None:
    """Import FILE.csv (barcode,name,price,tax[,department,stock,weighed,reorder_level,reorder_qty]):
    all lines or none. A manager's change (--manager NAME), audited with every old and new price.
    stock is a product's opening stock at this till, recorded once (an opening count)."""
    from tui_pos.app.catalog_import import import_catalog
    from tui_pos.bootstrap.shop import read_catalog_file
    from tui_pos.domain.catalog import parse_catalog_csv

    interrupts.before = N_("nothing was imported")
    text = read_catalog_file(csv_file)
    till = operating_till(ctx.find_root(), replay=False)
    parse_catalog_csv(text, till.catalog.tax_rates, till.currency)  # a bad file is refused before any PIN
    approval = sign_in(till, "catalog", manager=manager, pin=pin)
    with manager_hint():
        done = import_catalog(till, text, approval, source=csv_file.name,
                              storing=lambda: interrupts.holding("the import", "'tui-pos catalog' or run the import "
                                                                               "again (it is all or nothing)"))

    def said() -> str:
        lines = [_("Imported {n} products").format(n=done.products)]
        if done.openings:
            lines.append(_("Opening stock recorded for {n} products.").format(n=done.openings))
        if done.kept:
            lines.append(_("{n} products have their opening stock already: the file's stock was not used for them "
                           "(a count changes stock: tui-pos stock count).").format(n=len(done.kept)))
        return "\n".join(lines)

    emit(as_json, {"imported": done.products, "openings": done.openings, "stock_kept": list(done.kept)}, said)


@catalog.command("list")
@click.option("--search", metavar="TEXT", help="Only products whose name, barcode or department contains TEXT, or whose name TEXT spells "
              "in pinyin (initials kkkl, full kekoukele).")
@json_option
@click.pass_context
def catalog_list(ctx: click.Context, search: str | None, as_json: bool) -> None:
    """The products (barcode order): barcode, name, price, tax rate, stock on hand (tracked
    products; the same figure as `tui-pos stock`), department, open price."""
    from tui_pos.domain.columns import pad
    from tui_pos.domain.stock import format_qty

    till = open_till(ctx, replay=False, keep_cart=False)
    products = sorted(till.catalog.search(search or "", limit=len(till.catalog)), key=lambda p: p.barcode)
    levels = till.stock.of([p.barcode for p in products]) or {}  # the database unreadable: no stock shown
    rates = till.catalog.tax_rates
    fmt = till.currency.format

    def on_hand(barcode: str) -> str | None:
        level = levels.get(barcode)
        return format_qty(level.on_hand) if level is not None and level.tracked else None

    rows = [{"barcode": p.barcode, "name": p.name, "price": fmt(p.price), "tax": p.tax_code,
             "tax_rate": format_bp(rates[p.tax_code].rate_bp) if p.tax_code in rates else None,
             "department": p.department, "open_price": p.open_price, "stock": on_hand(p.barcode)} for p in products]
    open_price = "  " + _("open price")
    emit(as_json, rows, lambda: "\n".join(
        f"{r['barcode']:<13}  {pad(r['name'], 30)} {r['price']:>9}  {r['tax']} {r['tax_rate'] or '?':>4} "
        f"{r['stock'] or '':>8}  {pad(r['department'], 16)}{open_price if r['open_price'] else ''}".rstrip()
        for r in rows) or (_("No product matches.") if search else _("The catalog is empty.")))
