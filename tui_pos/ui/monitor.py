"""`tui-pos monitor`: a read-only live view of a till for a support engineer over SSH.

It runs beside the till and shares nothing with it but the data directory: every refresh is one
monitor_snapshot() (read-only, no lock of the till's) in a thread, on a timer of a few seconds.
"""

from __future__ import annotations

from typing import Any

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from tui_pos.config import Config
from tui_pos.i18n import N_, _
from tui_pos.ops.monitor import SECTION_TITLES, headline, monitor_snapshot, sections
from tui_pos.ui.widgets.key_bar import KeyBar


class MonitorApp(App[None]):
    CSS_PATH = "monitor.tcss"
    TITLE = "tui-pos monitor"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS = [
        Binding("r,f5", "refresh_now", N_("Refresh"), id="monitor.refresh"),
        Binding("q,escape,ctrl+c", "quit", N_("Quit"), id="monitor.quit", priority=True),
    ]

    def __init__(self, config: Config, interval_s: float = 2.0):
        super().__init__()
        self.config = config
        self.interval_s = interval_s
        self.snapshot: dict[str, Any] | None = None
        self.refreshing = False

    def compose(self) -> ComposeResult:
        yield Static(_("Reading the till..."), id="headline")
        with VerticalScroll(id="sections"):
            for title in SECTION_TITLES:
                section = Static(id=section_id(title), classes="section")
                section.border_title = _(title)
                yield section
        yield KeyBar(id="keys")

    def on_mount(self) -> None:
        self.query_one("#sections").focus()  # arrows and PgUp/PgDn scroll
        self.action_refresh_now()
        self.set_interval(self.interval_s, self.action_refresh_now)

    def action_refresh_now(self) -> None:
        if not self.refreshing:  # a slow read (a busy disk) is never stacked with another
            self.refreshing = True
            self.read_snapshot()

    @work(thread=True, exit_on_error=False)
    def read_snapshot(self) -> None:
        try:
            snapshot: dict[str, Any] | Exception = monitor_snapshot(self.config)
        except Exception as err:  # noqa: BLE001 - the view stays up and says what failed
            snapshot = err
        self.call_from_thread(self.show, snapshot)

    def show(self, snapshot: dict[str, Any] | Exception) -> None:
        self.refreshing = False
        if isinstance(snapshot, Exception):
            self.query_one("#headline", Static).update(_("Cannot read the till: {error}").format(error=snapshot))
            return
        self.snapshot = snapshot
        self.query_one("#headline", Static).update(headline(snapshot))
        self.query_one("#headline").set_class(bool(snapshot["alerts"]), "alerting")
        for title, lines in sections(snapshot).items():
            self.query_one(f"#{section_id(title)}", Static).update("\n".join(lines))


def section_id(title: str) -> str:
    return "section-" + title.lower().replace(" ", "-")

