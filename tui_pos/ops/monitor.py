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
from tui_pos.ops.alerts import current_alerts
from tui_pos.ops.readonly import DatabaseUnavailable, read_only_database
from tui_pos.ops.status import hq_text, shift_text, till_status
from tui_pos.store import db

RECENT_SALES = 8


def monitor_snapshot(config: Config) -> dict[str, Any]:
    """till_status() plus "alerts" and "recent_sales" (newest last)."""
    status = till_status(config)
    newest = status["last_sale"]
    return {**status, "alerts": [a.as_dict() for a in current_alerts(config, status)],
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
    running = f"till UI running (pid {pid})" if pid else "till UI NOT running"
    # what support reads first comes first: a long data directory wraps, it never hides the state
    return f"Till {snap['till_id']}  {running}  checked {local_time(snap['checked_at'])}  {snap['data_dir']}"


def sections(snap: dict[str, Any]) -> dict[str, list[str]]:
    """Title -> lines, in the order support reads them (SECTION_TITLES)."""
    return {title: render(snap) for title, render in _SECTIONS}


def snapshot_text(snap: dict[str, Any]) -> str:
    parts = [headline(snap)]
    for title, lines in sections(snap).items():
        parts.append(f"\n{title}:")
        parts += [f"  {line}" for line in lines]
    return "\n".join(parts)


def _alerts(snap: dict[str, Any]) -> list[str]:
    return [f"{a['level'].upper()}: {a['message']} - {a['hint']}" for a in snap["alerts"]] or ["none"]


def _cart(snap: dict[str, Any]) -> list[str]:
    cart = snap["cart"]
    if not cart["lines"]:
        return ["none"]
    note = " (could not check whether it is already paid: the database is unreadable)" if cart["unverified"] else ""
    lines = [f"opened {local_time(cart['opened_at'])}, {len(cart['lines'])} line(s), total {cart['total']}{note}"]
    lines += [f"{line['qty']} x {line['name']} @ {line['unit_price']}" for line in cart["lines"]]
    lines += [f"paid {t['kind']} {t['amount']} {t['reference']}".rstrip() for t in cart["tenders"]]
    return lines


def _sales(snap: dict[str, Any]) -> list[str]:
    rows = list(snap["recent_sales"])
    newest = snap["last_sale"]
    if newest and newest["stored"] == "journal":  # in the journal only: not in the database's list
        rows.append({**newest, "cashier": "", "kind": "sale"})
    return [f"{r['receipt']}  {local_time(r['completed_at'])}  {r['total']:>10}  {r['cashier'] or '-'}"
            f"{'' if r['kind'] == 'sale' else '  ' + r['kind']}  {r['stored']}" for r in rows] or ["none"]


def _storage(snap: dict[str, Any]) -> list[str]:
    database, journal = snap["database"], snap["journal"]
    lines = [snap["storage"].upper() + (f": {snap['last_error']}" if snap["last_error"] else ""),
             f"database {database['state']}, schema {database['schema_version']}, "
             f"WAL {database['wal_bytes'] // 1024} KB",
             f"journal: {journal['backlog']} waiting, {journal['quarantined']} quarantined, "
             f"{journal['bad_lines']} bad line(s)"]
    lines += [f"{d['role']} {d['path']}: {d['free_mb']} MB free" + ("" if d["writable"] else ", NOT WRITABLE")
              for d in snap["disk"]]
    return lines


def _printer(snap: dict[str, Any]) -> list[str]:
    printer = snap["printer"]
    states = ", ".join(f"{n} {state}" for state, n in sorted(printer["unprinted_by_state"].items()))
    lines = [f"{printer['connection']}: {printer['unprinted']} paid sale(s) without a receipt"
             + (f" ({states})" if states else "")]
    if printer["last_error"]:
        lines.append(f"last error: {printer['last_error']}")
    return lines


def _backup(snap: dict[str, Any]) -> list[str]:
    backup = snap["backup"]
    every = f"every {backup['every_hours']:g} h" if backup["every_hours"] else "by hand only"
    age = f" ({backup['age_hours']:.1f} h ago)" if backup["age_hours"] is not None else ""
    lines = [f"last good {local_time(backup['last_ok_at'])}{age}, {every}" + (", OVERDUE" if backup["overdue"] else "")]
    if backup["last_attempt_ok"] is False:
        lines.append(f"last attempt {local_time(backup['last_attempt_at'])} FAILED: {backup['last_error']}")
    return lines


def _shift(snap: dict[str, Any]) -> list[str]:
    return [shift_text(snap["shift"])]


def _hq(snap: dict[str, Any]) -> list[str]:
    return [hq_text(snap["hq"], snap["checked_at"])]


_SECTIONS = (("Alerts", _alerts), ("Shift", _shift), ("Sale in progress", _cart), ("Last sales", _sales), ("Storage", _storage),
             ("Printer", _printer), ("Backup", _backup), ("HQ", _hq))
SECTION_TITLES = tuple(title for title, _ in _SECTIONS)
