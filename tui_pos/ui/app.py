"""The till application: theme, keymap, kiosk-safe quitting, login and lock, background replay."""

from __future__ import annotations

import os
import time

from textual.app import App
from textual.binding import Binding
from textual.screen import Screen
from textual.scrollbar import ScrollBar, ScrollBarRender

from tui_pos.core.till import Till
from tui_pos.printing.queue import PrintQueue
from tui_pos.printing.worker import PrintWorker, WorkerState
from tui_pos.core.users import User
from tui_pos.ui.screens.checkout import CheckoutScreen
from tui_pos.ui.screens.dialogs import ConfirmScreen, ManagerScreen
from tui_pos.ui.screens.login import LoginScreen
from tui_pos.ui.widgets.key_bar import bindings_by_action, key_label
from tui_pos.ui.widgets.status_bar import StatusBar


class ConsoleScrollBarRender(ScrollBarRender):
    """The Linux console's fonts lack the eighth blocks of the default scrollbar."""

    VERTICAL_BARS = [" "] * 8
    HORIZONTAL_BARS = [" "] * 8


def wants_console_theme(setting: str, term: str | None = None) -> bool:
    term = os.environ.get("TERM", "") if term is None else term
    return setting == "console" or (setting == "auto" and term == "linux")


class PosApp(App[None]):
    CSS_PATH = "pos.tcss"
    TITLE = "tui-pos"
    ENABLE_COMMAND_PALETTE = False  # cashiers get no command palette
    BINDINGS = [Binding("ctrl+q,ctrl+c", "leave", "Quit", priority=True, id="quit")]

    def __init__(self, till: Till):
        super().__init__()
        self.till = till
        self.printer_state = "starting"
        self.console_theme = wants_console_theme(till.config.theme)
        # The worker owns the printer in its own thread with its own queue (and connection);
        # the UI's screens use a second queue, coordinated with it by the printer's file lock.
        self.print_worker = PrintWorker(PrintQueue(till.config),
                                        on_change=lambda state: self.call_from_thread(self.printer_changed, state))
        self.print_queue = PrintQueue(till.config)

    def on_mount(self) -> None:
        if self.console_theme:
            self.theme = "ansi-dark"
            self.add_class("console")
            ScrollBar.renderer = ConsoleScrollBarRender
        self.set_keymap(self.till.config.keys)
        self.till.start_background_replay(lambda _: self.call_from_thread(self.refresh_status))
        self.print_worker.start()
        self.push_screen(LoginScreen(), self.logged_in)
        self.tick()

    def on_unmount(self) -> None:
        self.print_worker.stop()
        self.print_queue.close()
        ScrollBar.renderer = ScrollBarRender  # a class-wide setting: do not leak it to another app

    def printer_changed(self, state: WorkerState) -> None:
        self.printer_state = state.status.state + (f", {state.unprinted} unprinted" if state.unprinted else "")
        self.refresh_status()

    def sale_paid(self) -> None:
        """A sale was stored: its receipt is waiting."""
        self.print_worker.wake()

    def tick(self) -> None:
        """Refresh the status line's clock on each new minute: one timer a minute, no polling."""
        self.refresh_status()
        self.set_timer(60.5 - time.time() % 60, self.tick)

    def logged_in(self, user: User | None) -> None:
        if user is not None:
            self.push_screen(CheckoutScreen())

    def lock(self) -> None:
        self.push_screen(LoginScreen(locked_by=self.till.cashier), lambda _: None)

    def refresh_status(self) -> None:
        for bar in self.screen.query(StatusBar):  # none while a screen is still composing
            bar.refresh_from_app()

    def describe_keys(self, screen: Screen) -> list[str]:
        """Every action of a screen with all its keys, after remapping, for the help screen."""
        return [f"{binding.description:<10} {'  '.join(key_label(k) for k in keys)}"
                for binding, keys in bindings_by_action(screen)]

    def action_leave(self) -> None:
        """Ctrl+Q/Ctrl+C never quit by accident: confirm, then a manager PIN when configured."""
        def confirmed(yes: bool | None) -> None:
            if not yes:
                return
            if self.till.config.quit_needs_manager:
                self.push_screen(ManagerScreen("quit", "leaving the till"), lambda ok: ok and self.exit())
            else:
                self.exit()

        self.push_screen(ConfirmScreen("Leave the till? The sale in progress is kept."), confirmed)
