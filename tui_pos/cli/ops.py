"""What support runs beside the till: status, doctor, alerts, support-bundle (backup and restore:
backup.py; the live view: monitor.py)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from tui_pos.cli.base import emit, json_option, main, shop_config


@main.command()
@json_option
@click.pass_context
def status(ctx: click.Context, as_json: bool) -> None:
    """One screen: storage, journal, last sale, shift, sale in progress, printer, backup, disk (read-only).
    A bad config.toml is said first (the rest is then read with the defaults)."""
    from tui_pos.config import ConfigError, default_config
    from tui_pos.ops.status import till_status

    try:
        config, config_error = shop_config(ctx), ""
    except ConfigError as err:
        config, config_error = default_config(ctx.obj), str(err)
    data = {**till_status(config), "config_error": config_error}
    emit(as_json, data, lambda: status_text(data))


def status_text(s: dict[str, Any]) -> str:
    from tui_pos.ops.status import hq_text, shift_text

    db, journal, printer, backup, clock = s["database"], s["journal"], s["printer"], s["backup"], s["clock"]
    running = f"till running (pid {s['till_running_pid']})" if s["till_running_pid"] else "till not running"
    lines = [f"CONFIG    {s['config_error']} (the till will not start; below: with the defaults)"] \
        if s.get("config_error") else []
    lines += [f"Till {s['till_id']}  {s['data_dir']}  {running}  at {s['checked_at']}",
             f"Storage   {s['storage'].upper()}" + (f" - {s['last_error']}" if s["last_error"] else ""),
             f"Database  {db['state']}, schema {db['schema_version']}, WAL {db['wal_bytes'] // 1024} KB, "
             f"{s['products']} products" + (f" ({db['error']})" if db["error"] else ""),
             f"Journal   {journal['backlog']} waiting" + (f" since {journal['oldest_waiting_at']}" if journal["backlog"] else "")
             + f", {journal['quarantined']} quarantined, {journal['bad_lines']} damaged line(s)"]
    sale = s["last_sale"]
    lines.append(f"Last sale {sale['receipt']}  {sale['completed_at']}  {sale['total']}  ({sale['stored']})" if sale
                 else "Last sale none")
    if clock["behind_s"]:
        lines.append(f"CLOCK     reads {clock['behind_s']:.0f} s before the last sale: it went back")
    lines.append(f"Shift     {shift_text(s['shift'])}")
    cart = s["cart"]
    if cart["lines"]:
        lines.append(f"Sale in progress: {len(cart['lines'])} line(s), total {cart['total']}"
                     + (" (may already be paid: database unreadable)" if cart["unverified"] else ""))
        lines += [f"  {l['qty']} x {l['name']} ({l['barcode']}) @ {l['unit_price']}" for l in cart["lines"]]
        lines += [f"  paid {t['kind']} {t['amount']} {t['reference']}".rstrip() for t in cart["tenders"]]
    else:
        lines.append("No sale in progress.")
    lines.append(f"Printer   none: receipts on screen, {printer['unprinted']} paid sale(s) without a receipt"
                 if printer["connection"] == "none" else
                 f"Printer   {printer['connection']}: {printer['unprinted']} receipt(s) not printed"
                 + (f" ({printer['last_error']})" if printer["last_error"] else ""))
    lines.append("Backup    " + (f"last good {backup['age_hours']} h ago" if backup["last_ok_at"] else "never")
                 + (f"; LAST ATTEMPT FAILED: {backup['last_error']}" if backup["last_attempt_ok"] is False else "")
                 + ("; OVERDUE" if backup["overdue"] else ""))
    lines += [f"Disk      {d['role']:<7} {d['path']}: {d['free_mb']} MB free" + ("" if d["writable"] else ", NOT WRITABLE")
              for d in s["disk"]]
    lines.append(f"HQ        {hq_text(s['hq'], s['checked_at'])}")
    return "\n".join(lines)


@main.command()
@click.option("--full", is_flag=True, help="integrity_check of the whole database instead of quick_check.")
@json_option
@click.pass_context
def doctor(ctx: click.Context, full: bool, as_json: bool) -> None:
    """Check everything; each problem says what to do. Exit status 1 when a check fails."""
    from tui_pos.ops.doctor import run_doctor

    report = run_doctor(ctx.obj, full)
    emit(as_json, report.as_dict(), lambda: "\n".join(
        f"{c.level.upper():<4}  {c.name:<9} {c.detail}" + (f"\n{'':<16}-> {c.fix}" if c.fix else "")
        for c in report.checks))
    if not report.ok:
        sys.exit(1)


@main.command("support-bundle")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), help="Archive to write (default: ./tui-pos-support-TILL-TIME.tar.gz).")
@json_option
@click.pass_context
def support_bundle(ctx: click.Context, output: Path | None, as_json: bool) -> None:
    """One .tar.gz for support: doctor, status, logs, config (secrets removed), schema, journal summary."""
    from tui_pos.ops.bundle import support_bundle as write_bundle

    path = write_bundle(ctx.obj, output)
    emit(as_json, {"path": str(path), "bytes": path.stat().st_size}, lambda: f"Wrote {path}")


@main.command()
@click.option("--run-hook", is_flag=True, help="Hand each alert to the [alerts] hook, as the till would.")
@json_option
@click.pass_context
def alerts(ctx: click.Context, run_hook: bool, as_json: bool) -> None:
    """The alerts the till would show now."""
    from tui_pos.i18n import _, message
    from tui_pos.ops.alerts import alerts_now

    found = alerts_now(shop_config(ctx), run_hook)
    emit(as_json, [a.as_dict() for a in found], lambda: "\n".join(
        f"{a.level.upper():<7} {message(a)}\n        -> {_(a.hint)}" for a in found) or _("No alerts."))

