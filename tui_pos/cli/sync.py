"""`tui-pos sync`: push what this till recorded to HQ and pull what HQ changed, now (what the sync
worker does in the background), and say what it did and what is still pending.

HQ that cannot be reached is one line and exit status 1 (as every error). psycopg is loaded only
here, when the command runs (through tui_pos.hq and tui_pos.sync).
"""

from __future__ import annotations

from typing import Any

import click

from tui_pos.cli.base import emit, json_option, main, shop_config
from tui_pos.cli.signin import operating_till
from tui_pos.config import Config
from tui_pos.domain.errors import BadInput
from tui_pos.i18n import N_, _


def _text(data: dict[str, Any]) -> str:
    """What the sync did, in the screen's language: one sentence each."""
    values = {**data, "pending": data["pending"]}
    said = [(_("Pushed {pushed} record(s) to HQ, pulled {pulled} change(s); HQ has every commit up to {high_water}; "
               "still pending: unknown (the database cannot be read).") if data["pending"] is None else
             _("Pushed {pushed} record(s) to HQ, pulled {pulled} change(s); HQ has every commit up to {high_water}; "
               "still pending: {pending}.")).format(**values)]
    if data.get("catalog_version") is not None:
        said.append(_("HQ's catalog is applied up to version {catalog_version}.").format(**values))
    if data.get("transfers"):
        said.append(_("{transfers} transfer(s) from other shops are waiting to be received (tui-pos stock transfers).")
                    .format(**values))
    if data.get("breaks"):
        said.append(_("HQ stored {breaks} commit(s) that break the chain it holds (tui-pos hq verify).").format(**values))
    return " ".join(said)


def _note(config: Config, **changes: Any) -> None:
    """hq/sync-state.json follows (for `status`); a directory that cannot take it changes nothing here."""
    from tui_pos.sync.state import update_state

    try:
        update_state(config, **changes)
    except OSError:
        pass


@main.command("sync")
@json_option
@click.pass_context
def sync(ctx: click.Context, as_json: bool) -> None:
    """Push this till's records to HQ and pull what HQ changed, now: says what was pushed, pulled and
    what is still pending ('pushed', 'pulled', 'pending', 'high_water', 'state', 'catalog_version': HQ's
    catalog version now applied). Exits 1, after one line, when HQ cannot be reached."""
    from tui_pos.app.clock import utc_now
    from tui_pos.hq.connection import HqError, connect
    from tui_pos.hq.enrol import till_dsn
    from tui_pos.ops.health import health_report
    from tui_pos.ops.readonly import read_only_view
    from tui_pos.sync.pull import CatalogPull
    from tui_pos.sync.run import state_of, sync_once
    from tui_pos.sync.state import load_state
    from tui_pos.sync.transfers import TransferPull
    from tui_pos.sync.worker import till_report

    config = shop_config(ctx)
    dsn = till_dsn(config)
    if not dsn:
        raise BadInput(N_("this till has not joined HQ: tui-pos hq join DSN --shop SHOP"))
    till = operating_till(ctx, replay=False)  # HQ's changes are applied through it (catalog, users, snapshot)
    pull = CatalogPull.into(till, load_state(config).catalog_version)
    try:  # what is stored, read as the worker reads it (not a second ledger beside the till's)
        with connect(dsn) as conn, read_only_view(config) as view:
            done = sync_once(conn, view, till_report(conn, lambda: health_report(config)), pull=pull,
                             transfers=TransferPull(config.data_dir))
    except HqError as err:  # what `status` says, as the worker would have left it
        _note(config, state=state_of(err), last_error=str(err))
        raise
    data = done.as_dict()
    _note(config, state="synced", pending=done.pending if done.pending is not None else 0, high_water=done.high_water,
          last_sync=utc_now(), last_error="", catalog_version=pull.since)
    emit(as_json, data, lambda: _text(data))
