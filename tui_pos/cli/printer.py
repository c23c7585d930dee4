"""`tui-pos printer ...`: the receipt printers on this machine (list) and a test page (test)."""

from __future__ import annotations

import sys

import click

from tui_pos.cli.base import emit, json_option, main, shop_config
from tui_pos.i18n import _


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
        + ([_("Error: {message}").format(message=data["error"])] if data["error"] else [])) or _("No printer found."))


@printer.command("test")
@json_option
@click.pass_context
def printer_test(ctx: click.Context, as_json: bool) -> None:
    """Print a test page and report the printer's status."""
    from tui_pos.printing.commands import print_test_page

    data = print_test_page(shop_config(ctx))
    emit(as_json, data, lambda: (_("{connection}: {status}; test page printed") if data["printed"] else
                                 _("{connection}: {status}; test page NOT printed ({error})")).format(
        connection=data["connection"], status=data["status_text"], error=data["error"]))
    if not data["printed"]:
        sys.exit(1)
