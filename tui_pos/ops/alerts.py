"""Alerts: what needs a person, derived from the status facts, logged and handed to a hook.

current_alerts() is cheap enough to run every 30 s beside a selling till (it is one read-only
till_status(): a few indexed queries, a journal directory listing, statvfs; no integrity check,
no printer probe). AlertDispatcher remembers what is already raised, so each alert is logged and
sent to the hook once when it is raised (or changes level) and once when it clears.

The hook ([alerts] hook in config.toml) is a shell command; each event is written to its stdin
as one JSON object: {"event": "raised"|"cleared", "key", "level", "message", "hint", "till_id",
"data_dir", "at"}. It runs in a background thread and is killed after [alerts] hook_timeout_s.
Only its exit status and how much it printed are logged, never what it printed (a secret, maybe).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from tui_pos.app.clock import utc_now
from tui_pos.config import Config
from tui_pos.domain.errors import Each, Said
from tui_pos.i18n import N_
from tui_pos.ops.status import CLOCK_SLACK_S, till_status
from tui_pos.store.journal import key_missing

log = logging.getLogger("tui_pos.ops.alerts")

AlertLevel = Literal["warning", "error"]


@dataclass(frozen=True)
class Alert:
    key: str  # stable while the condition lasts, e.g. "storage", "disk_low:/var/lib/tui-pos"
    level: AlertLevel
    # what is wrong, for the status line: English as a str (logs, the hook, --json); a Said (its marked
    # template and values) where said(): i18n.message(alert) says it in the screen's language
    message: str
    hint: str  # what to do (English; N_-marked where it is a constant: _(alert.hint) says it on screen)

    def as_dict(self) -> dict[str, str]:
        return {"key": self.key, "level": self.level, "message": self.message, "hint": self.hint}


def said(key: str, level: AlertLevel, template: str, hint: str, **params: Any) -> Alert:
    """An alert whose message is a marked template (translated where it is shown) filled with params."""
    return Alert(key, level, Said(template, **params), hint)


def current_alerts(config: Config, status: dict[str, Any] | None = None) -> list[Alert]:
    """The alerts the facts call for now (errors first)."""
    status = status or till_status(config)
    alerts = [*_storage(status), *_journal(config, status), *_backup(status), *_disk(config, status),
              *_printer(config, status), *_clock(status), *_audit_anchor(config), *_hq(config, status),
              *_low_stock(status), *_payments(status)]
    return sorted(alerts, key=lambda a: a.level != "error")


def _minutes_since(status: dict[str, Any], at: str | None) -> float:
    if not at:
        return 0.0
    try:
        return (datetime.fromisoformat(status["checked_at"]) - datetime.fromisoformat(at)) / timedelta(minutes=1)
    except ValueError:
        return 0.0


def _storage(status: dict[str, Any]) -> list[Alert]:
    database = status["database"]
    if status["storage"] == "failing":
        return [said("storage", "error", N_("STORAGE FAILING: a sale now would not be stored anywhere"),
                      N_("free disk space or plug the journal drive back in; run 'tui-pos doctor'"))]
    if database["state"] != "ok":
        return [said("storage", "error", N_("database {state}: sales are kept in the journal"),
                     N_("run 'tui-pos doctor'; restore the newest backup when the shop closes"), state=database["state"])]
    held = status["journal"].get("unchecked")  # its own alert (journal_key_missing): nothing is "safe in the journal"
    problems = [p for p in status["storage_problems"] if not held or p != key_missing(held)]
    if status["storage"] == "degraded" and problems:
        return [said("storage", "warning", N_("storage degraded: {error}"),
                     N_("sales are safe in the journal; run 'tui-pos doctor'"), error=Each(problems))]
    return []


def _journal(config: Config, status: dict[str, Any]) -> list[Alert]:
    journal = status["journal"]
    alerts = []
    waited = _minutes_since(status, journal["oldest_waiting_at"])
    if journal["backlog"] and (journal["backlog"] >= config.alerts.backlog_max
                               or waited >= config.alerts.backlog_max_minutes):
        alerts.append(said("journal_backlog", "warning",
                           N_("{n} sale(s) waiting in the journal for {minutes} min: replay is not catching up"),
                           N_("run 'tui-pos replay' and 'tui-pos doctor'"), n=journal["backlog"], minutes=f"{waited:.0f}"))
    if journal.get("unchecked"):
        alerts.append(Alert("journal_key_missing", "error", key_missing(journal["unchecked"]),
                            N_("run 'tui-pos doctor' (journal check)")))
    if journal["quarantined"]:
        alerts.append(said("journal_quarantine", "error", N_("{n} damaged journal record(s) quarantined"),
                           N_("run 'tui-pos doctor' (journal check) and compare with the paper receipts"),
                           n=journal["quarantined"]))
    return alerts


def _audit_anchor(config: Config) -> list[Alert]:
    """The till found its audit chain cut short or rewritten at a start (a note kept in the anchor)."""
    from tui_pos.store.audit import Anchor

    anchor = Anchor([config.data_dir, *config.storage.journal_dirs]).read() or {}
    broken = [n for n in anchor.get("notes", []) if n.get("problem")]
    if not broken:
        return []
    return [said("audit_anchor", "error", N_("AUDIT: {problem}"),
                 N_("the database was changed behind the till's back: run 'tui-pos audit verify', keep the "
                    "printed Z reports and backups, call the owner"),
                 problem=broken[-1].get("what", "the chain does not match its anchor"))]


def _backup(status: dict[str, Any]) -> list[Alert]:
    backup = status["backup"]
    if backup["last_attempt_ok"] is False:
        return [said("backup", "error", N_("backup failed: {error}"),
                     N_("check the backup disk, then run 'tui-pos backup'"), error=backup["last_error"])]
    if backup["overdue"]:
        if not backup["last_ok_at"]:
            return [said("backup", "warning", N_("backup overdue (last good one: never)"), N_("run 'tui-pos backup'"))]
        return [said("backup", "warning", N_("backup overdue (last good one: {hours} h ago)"), N_("run 'tui-pos backup'"),
                     hours=f"{backup['age_hours']:.0f}")]
    return []


def _disk(config: Config, status: dict[str, Any]) -> list[Alert]:
    low = config.alerts.disk_low_mb
    hint = N_("free disk space there; run 'tui-pos doctor'")
    return [said(f"disk_low:{d['path']}", "error", N_("{role} directory {path}: only {free_mb} MB free"), hint,
                 role=d["role"], path=d["path"], free_mb=d["free_mb"]) if d["writable"]
            else said(f"disk_low:{d['path']}", "error", N_("{role} directory {path}: cannot be written"), hint,
                      role=d["role"], path=d["path"])
            for d in status["disk"] if not d["writable"] or d["free_mb"] < low]


def _printer(config: Config, status: dict[str, Any]) -> list[Alert]:
    """Receipts the printer does not print. With no printer nothing is to be fixed: the receipts
    are shown on screen (status still counts them, as the till does)."""
    if config.printer.connection == "none":
        return []
    printer = status["printer"]
    stuck = sum(n for state, n in printer["unprinted_by_state"].items() if state in ("failed", "uncertain"))
    late = _minutes_since(status, printer["oldest_unprinted_at"]) >= config.alerts.unprinted_max_minutes
    if not (stuck or (printer["unprinted"] and late)):
        return []
    return [said("printer", "warning", N_("{n} receipt(s) not printed: {error}") if printer["last_error"]
                 else N_("{n} receipt(s) not printed"),
                 N_("check the printer (paper, cover, cable); Ctrl+E at the till lists them"),
                 n=printer["unprinted"], error=printer["last_error"])]


def _hq(config: Config, status: dict[str, Any]) -> list[Alert]:
    """The sync with HQ (status' hq, as the sync last wrote it): refused, or records waiting too long
    since the last sync. Offline alone is no alert: the till sells without HQ and catches up when
    it is back; nor is a till that never synced yet (how long it has waited is not known: the
    status line and `hq tills` show it)."""
    hq = status["hq"]
    if hq["state"] == "conflict":
        return [said("hq", "error", N_("HQ refuses this till's sync: {error}"),
                     N_("records stay at the till (nothing is lost); call support: 'tui-pos status', 'tui-pos sync'"),
                     error=hq["last_error"])]
    if hq["state"] != "offline" or not hq["pending"] or not hq["last_sync"]:
        return []
    since = _minutes_since(status, hq["last_sync"])
    if since < config.alerts.hq_offline_minutes:
        return []
    return [said("hq", "warning", N_("{n} record(s) waiting for HQ, not synced for {minutes} min: {error}"),
                 N_("check the network and HQ's address ([hq] dsn); 'tui-pos sync' tries at once"),
                 n=hq["pending"], minutes=f"{since:.0f}", error=hq["last_error"])]


def _low_stock(status: dict[str, Any]) -> list[Alert]:
    """Products at or below their reorder level (the catalog's reorder_level), with their numbers."""
    stock = status.get("stock") or {}
    if not stock.get("low"):
        return []
    return [low_stock_alert("low_stock", [(p["name"], p["on_hand"], p["reorder_level"]) for p in stock["low_products"]],
                            stock["low"], N_("reorder: 'tui-pos report reorder' lists what to order"))]


_LOW_STOCK = {  # (a shop's, at HQ; more products low than named) -> what is said
    (False, False): N_("LOW STOCK (on hand/reorder level): {products}"),
    (False, True): N_("LOW STOCK (on hand/reorder level): {products} and {more} more"),
    (True, False): N_("shop {shop}: LOW STOCK (on hand/reorder level): {products}"),
    (True, True): N_("shop {shop}: LOW STOCK (on hand/reorder level): {products} and {more} more"),
}


def low_stock_alert(key: str, named: list[tuple[str, str, str]], low: int, hint: str,
                    shop: str | None = None) -> Alert:
    """The low-stock alert of a till (or of a shop, at HQ): `low` products at or below their reorder
    level, the first of them named (name, on hand, reorder level, as shown), "and N more" for the rest."""
    params: dict[str, Any] = {"products": ", ".join(f"{name} {on_hand}/{level}" for name, on_hand, level in named)}
    if shop is not None:
        params["shop"] = shop
    if low > len(named):
        params["more"] = low - len(named)
    return said(key, "warning", _LOW_STOCK[shop is not None, low > len(named)], hint, **params)


def _payments(status: dict[str, Any]) -> list[Alert]:
    """Code payments whose outcome is not known, or paid and in no stored sale (app/payments.py)."""
    payments = status.get("payments") or {}
    hint = N_("'tui-pos payments --unresolved' lists them; 'tui-pos payments resolve' asks the providers")
    alerts = []
    if payments.get("unresolved"):
        alerts.append(said("payments", "warning", N_("{n} code payment(s) with an unknown outcome"), hint,
                           n=payments["unresolved"]))
    if payments.get("paid_not_completed"):
        alerts.append(said("payments_paid", "warning", N_("{n} code payment(s) paid, sale not completed"), hint,
                           n=payments["paid_not_completed"]))
    return alerts


def _clock(status: dict[str, Any]) -> list[Alert]:
    clock = status["clock"]
    if clock["behind_s"] <= CLOCK_SLACK_S:
        return []
    return [said("clock", "error", N_("the clock went back: it reads {now}, the last sale was at {last}"),
                 N_("set the time (timedatectl); check NTP"), now=clock["now"], last=clock["last_sale_at"])]


class AlertDispatcher:
    """Logs alerts as they are raised and cleared, and runs the hook for each; never raises,
    never blocks its caller for long (hooks run in a background thread)."""

    def __init__(self, config: Config):
        self.config = config
        self._active: dict[str, Alert] = {}
        self._threads: list[threading.Thread] = []

    def dispatch(self, alerts: list[Alert]) -> tuple[list[Alert], list[Alert]]:
        """Compare with the alerts of the last call; returns (raised, cleared)."""
        try:
            current = {a.key: a for a in alerts}
            raised = [a for key, a in current.items() if key not in self._active or self._active[key].level != a.level]
            cleared = [a for key, a in self._active.items() if key not in current]
            self._active = current
            for alert in raised:
                log.log(logging.ERROR if alert.level == "error" else logging.WARNING, "alert %s: %s (%s)",
                        alert.key, alert.message, alert.hint)
            for alert in cleared:
                log.info("alert cleared %s: %s", alert.key, alert.message)
            events = [("raised", a) for a in raised] + [("cleared", a) for a in cleared]
            if self.config.alerts.hook and events:
                self._threads = [t for t in self._threads if t.is_alive()]
                thread = threading.Thread(target=self._run_hooks, args=(events,), name="tui-pos-alert-hook", daemon=True)
                self._threads.append(thread)
                thread.start()
            return raised, cleared
        except Exception:  # noqa: BLE001 - alerting must never break the caller
            log.exception("alert dispatch failed")
            return [], []

    def wait(self, timeout_s: float) -> bool:
        """Wait for hooks still running (the CLI waits before exiting); True when all finished."""
        for thread in list(self._threads):
            thread.join(timeout_s)
        return not any(t.is_alive() for t in self._threads)

    def _run_hooks(self, events: list[tuple[str, Alert]]) -> None:
        for event, alert in events:
            payload = {"event": event, **alert.as_dict(), "till_id": self.config.till_id,
                       "data_dir": str(self.config.data_dir), "at": utc_now()}
            try:
                self._run_hook(json.dumps(payload, ensure_ascii=False))
            except Exception:  # noqa: BLE001
                log.exception("alert hook for %s failed", alert.key)

    def _run_hook(self, payload: str) -> None:
        timeout = self.config.alerts.hook_timeout_s
        proc = subprocess.Popen(["/bin/sh", "-c", self.config.alerts.hook], stdin=subprocess.PIPE,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
        try:
            _, err = proc.communicate(payload.encode(), timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # its own session: the hook and whatever it started
            proc.communicate()
            log.warning("alert hook killed after %.0f s", timeout)
            return
        if proc.returncode:
            # what the hook printed is not logged: it may echo a token or a URL with credentials,
            # and the log goes into support bundles; its status and length are enough to start
            log.warning("alert hook exited with %d (%d bytes on stderr, not logged: run the hook by hand to see them)",
                        proc.returncode, len(err))


def alerts_now(config: Config, run_hook: bool = False) -> list[Alert]:
    """`tui-pos alerts`: the alerts the till would show now; run_hook: each handed to the
    [alerts] hook as the till would, and the hook waited for."""
    found = current_alerts(config)
    if run_hook:
        dispatcher = AlertDispatcher(config)
        dispatcher.dispatch(found)
        dispatcher.wait(config.alerts.hook_timeout_s + 1)
    return found
