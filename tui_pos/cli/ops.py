"""What support runs beside the till: status, doctor, alerts, support-bundle (backup and restore:
backup.py; the live view: monitor.py)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from tui_pos.cli.base import emit, json_option, main, shop_config, speak_shop_language
from tui_pos.domain.columns import pad
from tui_pos.i18n import N_, _, message, pgettext


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
        config, config_error = default_config(ctx.obj), err.said  # --json: its English; said below in the shop's language
    data = {**till_status(config), "config_error": config_error}
    emit(as_json, data, lambda: status_text(data))




def _row(label: str, text: str) -> str:
    """One line of status: its label (translated, in a column of 10) and what it says."""
    return f"{pad(_(label), 10)}{text}"


def status_text(s: dict[str, Any]) -> str:
    """status in the screen's language ([ui] language): every line a whole sentence of its own."""
    from tui_pos.ops.status import (
        DATABASE_STATES,
        STORED_IN,
        disk_line,
        hq_text,
        paid_lines,
        shift_text,
        storage_mode,
        storage_problems_text,
    )

    db, journal, printer, backup, clock = s["database"], s["journal"], s["printer"], s["backup"], s["clock"]
    running = (_("till running (pid {pid})").format(pid=s["till_running_pid"]) if s["till_running_pid"]
               else _("till not running"))
    lines = [_row(N_("CONFIG"), _("{error} (the till will not start; below: with the defaults)").format(
        error=message(s["config_error"])))] if s.get("config_error") else []
    lines.append(_("Till {till}  {data_dir}  {running}  at {at}").format(
        till=s["till_id"], data_dir=s["data_dir"], running=running, at=s["checked_at"]))
    problems = storage_problems_text(s)
    mode = storage_mode(s["storage"])
    lines.append(_row(N_("Storage"), _("{mode} - {problems}").format(mode=mode, problems=problems) if problems else mode))
    state = _(DATABASE_STATES.get(db["state"], db["state"]))
    lines.append(_row(N_("Database"), (
        _("{state}, schema {schema}, WAL {wal} KB, {products} products ({error})") if db["error"] else
        _("{state}, schema {schema}, WAL {wal} KB, {products} products")).format(
        state=state, schema=_("unknown") if db["schema_version"] is None else db["schema_version"],
        wal=db["wal_bytes"] // 1024, products=s["products"], error=db["error"])))
    lines.append(_row(N_("Journal"), (
        _("{backlog} waiting since {since}, {quarantined} quarantined, {bad} damaged line(s)") if journal["backlog"] else
        _("{backlog} waiting, {quarantined} quarantined, {bad} damaged line(s)")).format(
        backlog=journal["backlog"], since=journal["oldest_waiting_at"], quarantined=journal["quarantined"],
        bad=journal["bad_lines"])))
    sale = s["last_sale"]
    lines.append(_row(N_("Last sale"), _("{receipt}  {at}  {total}  ({stored})").format(
        receipt=sale["receipt"], at=sale["completed_at"], total=sale["total"],
        stored=_(STORED_IN.get(sale["stored"], sale["stored"]))) if sale else _("none")))
    if clock["behind_s"]:
        lines.append(_row(N_("CLOCK"), _("reads {seconds:.0f} s before the last sale: it went back").format(
            seconds=clock["behind_s"])))
    lines.append(_row(N_("Shift"), shift_text(s["shift"])))
    cart = s["cart"]
    if cart["lines"]:
        lines.append((_("Sale in progress: {n} line(s), total {total} (may already be paid: database unreadable)")
                      if cart["unverified"] else _("Sale in progress: {n} line(s), total {total}")).format(
            n=len(cart["lines"]), total=cart["total"]))
        lines += ["  " + _("{qty} x {name} ({barcode}) @ {price}").format(
            qty=line["qty"], name=line["name"], barcode=line["barcode"], price=line["unit_price"]) for line in cart["lines"]]
        lines += ["  " + line for line in paid_lines(cart)]
    else:
        lines.append(_("No sale in progress."))
    if printer["connection"] == "none":
        said = _("none: receipts on screen, {n} paid sale(s) without a receipt").format(n=printer["unprinted"])
    else:
        said = (_("{connection}: {n} receipt(s) not printed ({error})") if printer["last_error"] else
                _("{connection}: {n} receipt(s) not printed")).format(
            connection=printer["connection"], n=printer["unprinted"], error=printer["last_error"])
    lines.append(_row(N_("Printer"), said))
    backed_up = [_("last good {hours} h ago").format(hours=backup["age_hours"]) if backup["last_ok_at"] else _("never")]
    if backup["last_attempt_ok"] is False:
        backed_up.append(_("LAST ATTEMPT FAILED: {error}").format(error=message(backup["last_error"])))
    if backup["overdue"]:
        backed_up.append(_("OVERDUE"))
    lines.append(_row(N_("Backup"), _("; ").join(backed_up)))
    lines += [_row(N_("Disk"), disk_line(d, role_width=7)) for d in s["disk"]]
    lines.append(_row(N_("HQ"), hq_text(s["hq"], s["checked_at"])))
    return "\n".join(lines)


CHECK_LEVELS = {"warn": N_("WARN"), "fail": N_("FAIL")}


def _level(level: str) -> str:
    """A check's level as doctor says it (OK a state: 正常)."""
    return _(CHECK_LEVELS[level]) if level in CHECK_LEVELS else pgettext("state", "OK")
CHECK_NAMES = {"config": N_("config"), "data_dir": N_("data_dir"), "files": N_("files"), "disk": N_("disk"),
               "database": N_("database"), "wal": N_("wal"), "journal": N_("journal"), "clock": N_("clock"),
               "printer": N_("printer"), "backup": N_("backup"), "users": N_("users"), "payments": N_("payments")}


@main.command()
@click.option("--full", is_flag=True, help="integrity_check of the whole database instead of quick_check.")
@json_option
@click.pass_context
def doctor(ctx: click.Context, full: bool, as_json: bool) -> None:
    """Check everything; each problem says what to do. Exit status 1 when a check fails."""
    from tui_pos.ops.doctor import run_doctor

    speak_shop_language(ctx)  # what is wrong with config.toml, the config check says
    report = run_doctor(ctx.obj, full)
    emit(as_json, report.as_dict(), lambda: "\n".join(
        f"{pad(_level(c.level), 4)}  {pad(_(CHECK_NAMES.get(c.name, c.name)), 9)} {message(c.detail)}"
        + (f"\n{'':<16}-> {message(c.fix)}" if c.fix else "") for c in report.checks))
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
    emit(as_json, {"path": str(path), "bytes": path.stat().st_size}, lambda: _("Wrote {path}").format(path=path))


@main.command()
@click.option("--run-hook", is_flag=True, help="Hand each alert to the [alerts] hook, as the till would.")
@json_option
@click.pass_context
def alerts(ctx: click.Context, run_hook: bool, as_json: bool) -> None:
    """The alerts the till would show now."""
    from tui_pos.ops.alerts import alerts_now

    found = alerts_now(shop_config(ctx), run_hook)
    emit(as_json, [a.as_dict() for a in found], lambda: "\n".join(
        f"{a.level.upper():<7} {message(a)}\n        -> {_(a.hint)}" for a in found) or _("No alerts."))

