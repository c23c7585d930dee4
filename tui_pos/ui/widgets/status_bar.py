"""The always-visible status line: storage state, alerts, printer, HQ sync (a till that joined one),
cashier, till, clock; or, when an alert was just raised, that alert (until the cashier hides it: it
never takes the focus)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.text import Text
from textual.widgets import Static

from tui_pos.app.clock import utc_now
from tui_pos.domain.storage import StorageState
from tui_pos.domain.sync import SyncState, age, seconds_since
from tui_pos.i18n import N_, _, message, ngettext

if TYPE_CHECKING:
    from textual import getters

    from tui_pos.ops.alerts import Alert
    from tui_pos.ui.app import PosApp

STORAGE_TEXT = {"ok": N_("STORAGE OK"), "degraded": N_("DEGRADED"), "failing": N_("STORAGE FAILING")}
ALERT_STYLE = {"error": "bold white on red", "warning": "bold black on yellow"}
SYNC_STYLE = {"synced": "", "off": "", "offline": "black on yellow", "conflict": "bold white on red"}
SYNC_TEXT = {"synced": N_("HQ synced"), "offline": N_("HQ offline"), "conflict": N_("HQ PROBLEM"), "off": N_("HQ off")}
AGE_TEXT = {"s": N_("{n} s"), "min": N_("{n} min"), "h": N_("{n} h"), "d": N_("{n} d")}


def storage_label(state: StorageState) -> str:
    label = _(STORAGE_TEXT[state.mode])
    if state.journal_backlog:
        return ngettext("{state}: {n} sale in the journal", "{state}: {n} sales in the journal",
                        state.journal_backlog).format(state=label, n=state.journal_backlog)
    return label


class StatusBar(Static):
    if TYPE_CHECKING:
        app = getters.app(PosApp)  # self.app, typed as the till's app (Textual's way)

    def on_mount(self) -> None:
        self.refresh_from_app()

    def refresh_from_app(self) -> None:
        app, till = self.app, self.app.till
        if app.alert_banner is not None:
            self.show_alert(till.storage(), app.alert_banner, app.key_of("hide_alert"))
        else:
            self.show(till.storage(), app.printer_state, till.cashier, till.config.till_id, app.alerts,
                      till.sync_status())

    def show(self, state: StorageState, printer: str, cashier: str, till_id: str, alerts: Sequence[Alert] = (),
             sync: SyncState | None = None) -> None:
        marker = (" " + ngettext("{n} ALERT", "{n} ALERTS", len(alerts)).format(n=len(alerts)) + " ",
                  ALERT_STYLE[alerts[0].level]) if alerts else ""
        self.update(Text.assemble(
            storage_segment(state), marker, "| ", _("Printer {state}").format(state=printer), " | ",
            *((sync_label(sync, utc_now()), SYNC_STYLE[sync.state]), " | ") if sync is not None else (),
            f"{cashier or '-'}", " | ", _("Till {till}").format(till=till_id), " | ", time.strftime("%m-%d %H:%M"),
        ))

    def show_alert(self, state: StorageState, alert: Alert, hide_key: str) -> None:
        """Storage state, then the key: a long message is cut at the right edge, neither of those."""
        self.update(Text.assemble(storage_segment(state), (" " + _("{key} hides").format(key=hide_key) + " ", "reverse"),
                                  (" " + _("ALERT: {message}").format(message=message(alert)) + " ",
                                   ALERT_STYLE[alert.level])))


def sync_label(sync: SyncState, now: str) -> str:
    """'HQ synced 12 s ago', 'HQ offline, 7 waiting', 'HQ PROBLEM, 2 waiting' (what the problem is:
    `tui-pos status` and the alert say)."""
    ago = seconds_since(sync.last_sync, now) if sync.state == "synced" else None
    if ago is not None:
        n, unit = age(ago)
        label = _("HQ synced {ago} ago").format(ago=_(AGE_TEXT[unit]).format(n=n))
    else:
        label = _(SYNC_TEXT[sync.state])
    if not sync.pending:
        return label
    return ngettext("{state}, {n} waiting", "{state}, {n} waiting", sync.pending).format(state=label, n=sync.pending)


def storage_segment(state: StorageState) -> tuple[str, str]:
    style = {"ok": "bold", "degraded": "bold black on yellow", "failing": "bold white on red"}[state.mode]
    return f" {storage_label(state)} ", style
