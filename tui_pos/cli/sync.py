"""`tui-pos sync`: push what this till recorded to HQ and pull what HQ changed, now (what the sync
worker does in the background), and say what it did and what is still pending.

HQ that cannot be reached is one line and exit status 1 (as every error). psycopg is loaded only
here, when the command runs (through tui_pos.hq and tui_pos.sync).
"""

from __future__ import annotations

from typing import Any

import click

from tui_pos.cli.base import emit, json_option, main, shop_config
from tui_pos.domain.errors import BadInput


def _text(data: dict[str, Any]) -> str:
    pending = "unknown (the database cannot be read)" if data["pending"] is None else str(data["pending"])
    text = (f"Pushed {data['pushed']} record(s) to HQ, pulled {data['pulled']} change(s); HQ has every commit up to "
            f"{data['high_water']}; still pending: {pending}.")
    if data.get("breaks"):
        text += f" HQ stored {data['breaks']} commit(s) that break the chain it holds (tui-pos hq verify)."
    return text


@main.command("sync")
@json_option
@click.pass_context
def sync(ctx: click.Context, as_json: bool) -> None:
    """Push this till's records to HQ and pull what HQ changed, now: says what was pushed, pulled and
    what is still pending ('pushed', 'pulled', 'pending', 'high_water', 'state'). Exits 1, after one
    line, when HQ cannot be reached."""
    from tui_pos.bootstrap.till import open_ledger
    from tui_pos.hq.connection import connect
    from tui_pos.hq.enrol import till_dsn
    from tui_pos.sync.run import sync_once

    config = shop_config(ctx)
    dsn = till_dsn(config)
    if not dsn:
        raise BadInput("this till has not joined HQ: tui-pos hq join DSN --shop SHOP")
    ledger = open_ledger(config)
    try:
        with connect(dsn) as conn:
            data = sync_once(conn, ledger.view).as_dict()
    finally:
        ledger.close()
    emit(as_json, data, lambda: _text(data))
