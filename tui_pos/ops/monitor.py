"""What `tui-pos monitor` shows a support engineer: the till's status, its alerts and the last
sales, as data (for --json) and as titled sections of text (for --once and the live view).

Read-only like status itself (see tui_pos/ops/readonly.py): no lock of the till's, no write, no
replay; alerts are only computed here, never logged or sent to the hook (the till does that).
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from typing import Any

from tui_pos.app.till import currency_of
from tui_pos.config import Config
from tui_pos.domain.shift import SALE_KIND_WORDS
from tui_pos.i18n import N_, _, message
from tui_pos.ops.alerts import current_alerts
from tui_pos.ops.readonly import DatabaseUnavailable, read_only_database
from tui_pos.ops.status import (
    DATABASE_STATES,
    PRINT_STATES,
    STORED_IN,
    disk_line,
    hq_text,
    paid_lines,
    shift_text,
    storage_mode,
    storage_problems_text,
    till_status,
)
from tui_pos.store import db

RECENT_SALES = 8


def monitor_snapshot(config: Config) -> dict[str, Any]:
    """till_status() plus "alerts" and "recent_sales" (newest last)."""
    status = till_status(config)
    newest = status["last_sale"]
    return {**status, "alerts": [a.as_dict() for a in current_alerts(config, status)],  # each message a Said
            "recent_sales": recent_sales(config, newest["completed_at"] if newest else None)}


def recent_sales(config: Config, newest_at: str | None, limit: int = RECENT_SALES) -> list[dict[str, Any]]:
    """The last sales in the database: those of the hour up to the newest one, or if that is too
    few, of its (UTC) day. A bounded read every refresh, however big the database or busy the day."""
    if newest_at is None:
        return []
    fmt = currency_of(config).format
    hour_before = (datetime.fromisoformat(newest_at) - timedelta(hours=1)).isoformat(timespec="milliseconds")
    try:
        with read_only_database(config) as conn:
            rows = db.list_sales(conn, hour_before)
            if len(rows) < limit:
                rows = db.list_sales(conn, newest_at[:10])
    except (DatabaseUnavailable, sqlite3.Error):
        return []  # status already says why the database cannot be read
    rows = rows[-limit:]
    return [{"receipt": r["receipt"], "completed_at": r["completed_at"], "cashier": r["cashier"],
             "total": fmt(r["total"]), "kind": r.get("kind") or "sale", "stored": "sqlite"} for r in rows]


def local_time(iso: str | None) -> str:
    """A stored UTC time as the till's local time, to the second."""
    if not iso:
        return "-"
    try:
        return datetime.fromisoformat(iso).astimezone().strftime("%m-%d %H:%M:%S")
    except ValueError:
        return iso


def headline(snap: dict[str, Any]) -> str:
    pid = snap["till_running_pid"]
    running = _("till UI running (pid {pid})").format(pid=pid) if pid else _("till UI NOT running")
    # what support reads first comes first: a long data directory wraps, it never hides the state
    return _("Till {till}  {running}  checked {at}  {data_dir}").format(
        till=snap["till_id"], running=running, at=local_time(snap["checked_at"]), data_dir=snap["data_dir"])


def sections(snap: dict[str, Any]) -> dict[str, list[str]]:
    """Title (English: SECTION_TITLES, each N_-marked; _(title) on screen) -> lines in the screen's
    language, in the order support reads them."""
    return {title: render(snap) for title, render in _SECTIONS}


def snapshot_text(snap: dict[str, Any]) -> str:
    parts = [headline(snap)]
    for title, lines in sections(snap).items():
        parts.append("\n" + _("{title}:").format(title=_(title)))
        parts += [f"  {line}" for line in lines]
    return "\n".join(parts)


LEVELS = {"warning": N_("WARNING"), "error": N_("ERROR")}


def _alerts(snap: dict[str, Any]) -> list[str]:
    return [_("{level}: {message} - {hint}").format(level=_(LEVELS.get(a["level"], a["level"])),
                                                    message=message(a["message"]), hint=_(a["hint"]))
            for a in snap["alerts"]] or [_("none")]


def _cart(snap: dict[str, Any]) -> list[str]:
    cart = snap["cart"]
    if not cart["lines"]:
        return [_("none")]
    values = {"opened": local_time(cart["opened_at"]), "n": len(cart["lines"]), "total": cart["total"]}
    lines = [(_("opened {opened}, {n} line(s), total {total} (could not check whether it is already paid: the database "
                "is unreadable)") if cart["unverified"] else _("opened {opened}, {n} line(s), total {total}")).format(**values)]
    lines += [_("{qty} x {name} @ {price}").format(qty=line["qty"], name=line["name"], price=line["unit_price"])
              for line in cart["lines"]]
    return lines + paid_lines(cart)


def _sales(snap: dict[str, Any]) -> list[str]:
    rows = list(snap["recent_sales"])
    newest = snap["last_sale"]
    if newest and newest["stored"] == "journal":  # in the journal only: not in the database's list
        rows.append({**newest, "cashier": "", "kind": "sale"})
    return [f"{r['receipt']}  {local_time(r['completed_at'])}  {r['total']:>10}  {r['cashier'] or '-'}"
            f"{'' if r['kind'] == 'sale' else '  ' + _(SALE_KIND_WORDS.get(r['kind'], r['kind']))}  "
            f"{_(STORED_IN.get(r['stored'], r['stored']))}" for r in rows] or [_("none")]


def _storage(snap: dict[str, Any]) -> list[str]:
    database, journal = snap["database"], snap["journal"]
    mode = storage_mode(snap["storage"])
    problems = storage_problems_text(snap)
    lines = [_("{mode}: {problems}").format(mode=mode, problems=problems) if problems else mode,
             _("database {state}, schema {schema}, WAL {wal} KB").format(
                 state=_(DATABASE_STATES.get(database["state"], database["state"])),
                 schema=database["schema_version"], wal=database["wal_bytes"] // 1024),
             _("journal: {backlog} waiting, {quarantined} quarantined, {bad} bad line(s)").format(
                 backlog=journal["backlog"], quarantined=journal["quarantined"], bad=journal["bad_lines"])]
    return lines + [disk_line(d) for d in snap["disk"]]


def _printer(snap: dict[str, Any]) -> list[str]:
    printer = snap["printer"]
    states = ", ".join(_("{n} {state}").format(n=n, state=_(PRINT_STATES.get(state, state)))
                       for state, n in sorted(printer["unprinted_by_state"].items()))
    connection = _("no printer") if printer["connection"] == "none" else printer["connection"]
    values = {"connection": connection, "n": printer["unprinted"], "states": states}
    lines = [(_("{connection}: {n} paid sale(s) without a receipt ({states})") if states else
              _("{connection}: {n} paid sale(s) without a receipt")).format(**values)]
    if printer["last_error"]:
        lines.append(_("last error: {error}").format(error=printer["last_error"]))
    return lines


def _backup(snap: dict[str, Any]) -> list[str]:
    backup = snap["backup"]
    every = (_("every {hours} h").format(hours=f"{backup['every_hours']:g}") if backup["every_hours"]
             else _("by hand only"))
    last = local_time(backup["last_ok_at"]) if backup["last_ok_at"] else _("never")
    said = (_("last good {at} ({hours} h ago), {every}").format(at=last, hours=f"{backup['age_hours']:.1f}", every=every)
            if backup["age_hours"] is not None else _("last good {at}, {every}").format(at=last, every=every))
    lines = [_("{backup}, OVERDUE").format(backup=said) if backup["overdue"] else said]
    if backup["last_attempt_ok"] is False:
        lines.append(_("last attempt {at} FAILED: {error}").format(at=local_time(backup["last_attempt_at"]),
                                                                   error=message(backup["last_error"])))
    return lines


def _shift(snap: dict[str, Any]) -> list[str]:
    return [shift_text(snap["shift"])]


def _hq(snap: dict[str, Any]) -> list[str]:
    return [hq_text(snap["hq"], snap["checked_at"])]


_SECTIONS = ((N_("Alerts"), _alerts), (N_("Shift"), _shift), (N_("Sale in progress"), _cart),
             (N_("Last sales"), _sales), (N_("Storage"), _storage), (N_("Printer"), _printer), (N_("Backup"), _backup),
             (N_("HQ"), _hq))
SECTION_TITLES = tuple(title for title, _render in _SECTIONS)
