"""The till's life beside its support engineer: `tui-pos monitor`."""

from __future__ import annotations

import click

from tui_pos.cli.base import emit, json_option, main, shop_config


@main.command()
@click.option("--once", is_flag=True, help="Print one snapshot as text and exit (for scripts; --json implies it).")
@click.option("--interval", type=click.FloatRange(min=0.5, max=60), default=2.0, show_default=True,
              help="Seconds between refreshes of the live view.")
@json_option
@click.pass_context
def monitor(ctx: click.Context, once: bool, interval: float, as_json: bool) -> None:
    """A read-only live view of the till, beside it, for support over SSH: the sale in progress,
    the last sales, storage, printer, backup and alerts. Takes no lock and writes nothing."""
    config = shop_config(ctx)
    if once or as_json:
        from tui_pos.ops.monitor import monitor_snapshot, snapshot_text

        snapshot = monitor_snapshot(config)
        emit(as_json, snapshot, lambda: snapshot_text(snapshot))
        return
    from tui_pos.ui.monitor import MonitorApp

    MonitorApp(config, interval).run()
