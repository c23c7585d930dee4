"""The till application: theme, keymap, kiosk-safe quitting, login and lock, background replay."""

from __future__ import annotations

import asyncio
import logging
import os
import select
import signal
import threading
import time
import unicodedata
from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING

from rich.cells import cell_len
from rich.segment import Segment
from textual import work
from textual.app import App
from textual.binding import Binding
from textual.filter import LineFilter
from textual.message import Message
from textual.screen import Screen
from textual.scrollbar import ScrollBar, ScrollBarRender

from tui_pos.app.till import Till
from tui_pos.domain.auth import User
from tui_pos.domain.columns import pad
from tui_pos.domain.errors import PosError
from tui_pos.i18n import N_, _, ngettext, use_language
from tui_pos.printing.queue import PrintQueue
from tui_pos.printing.worker import PrintWorker, WorkerState
from tui_pos.ui.screens.checkout import CheckoutScreen
from tui_pos.ui.screens.code_pay import SettledScreen, settle_unknown
from tui_pos.ui.screens.dialogs import ConfirmScreen, ManagerScreen
from tui_pos.ui.screens.login import LoginScreen
from tui_pos.ui.widgets.key_bar import bindings_by_action, key_label
from tui_pos.ui.widgets.status_bar import StatusBar

if TYPE_CHECKING:
    from tui_pos.app.payments import PaymentView
    from tui_pos.domain.auth import Approval
    from tui_pos.domain.sync import SyncState
    from tui_pos.ops.alerts import Alert, AlertDispatcher

log = logging.getLogger(__name__)
# systemd stops the till with SIGTERM, a closed terminal or tmux pane sends SIGHUP, `kill -INT` SIGINT
STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)
# A till is never suspended, and the kernel sends SIGCONT along with the SIGHUP of a closed terminal:
# Textual's own handlers would "resume" into the dead terminal and hang the exit on its output queue.
IGNORED_SIGNALS = (signal.SIGTSTP, signal.SIGCONT)
HEALTH_FIRST_S = 5.0  # the first alert check and backup timer, once the till is up
# The printer's state on the status line (printing.status.PrinterStatus.state -> a word or two)
PRINTER_STATES = {"none": N_("none"), "unavailable": N_("unavailable"), "cover_open": N_("cover open"),
                  "paper_out": N_("paper out"), "offline": N_("offline"), "paper_near_end": N_("paper nearly out"),
                  "ready": N_("ready"), "ready_no_status": N_("ready (no paper status)")}
HEALTH_EVERY_S = 30.0  # and then: a read-only status in a thread, idle CPU stays near zero


class ConsoleScrollBarRender(ScrollBarRender):
    """The Linux console's fonts lack the eighth blocks of the default scrollbar."""

    VERTICAL_BARS = [" "] * 8
    HORIZONTAL_BARS = [" "] * 8


# -- what the Linux console can draw ------------------------------------------------------------------
# Debian's console fonts (console-setup's Lat15 and Uni2): printable ASCII, Latin-1 (¥ U+00A5 but not
# the fullwidth ￥ U+FFE5), the Latin-9 extras, light box-drawing lines, the full and the upper and
# lower half blocks (the receipt's QR code on screen); no CJK.
CONSOLE_EXTRA = frozenset("€ŠšŽžŒœŸ─│┌┐└┘├┤┬┴┼█▀▄")


def console_has(char: str) -> bool:
    code = ord(char)
    return 0x20 <= code < 0x7F or 0xA0 <= code <= 0xFF or char in CONSOLE_EXTRA or char in "\n\t\r"


@lru_cache(maxsize=8192)
def console_char(char: str) -> str:
    """What the console theme shows for a character: itself when the console has it; else its
    compatibility form (￥ -> ¥, fullwidth Ａ -> A, … -> ...) or its base letter (ő -> o); else
    its transliteration (a Chinese character as its pinyin syllable, 可 -> Ke); else ?."""
    if console_has(char) or unicodedata.category(char) == "Cc":
        return char
    for candidate in (unicodedata.normalize("NFKC", char), unicodedata.normalize("NFKD", char)[:1]):
        if candidate and all(map(console_has, candidate)):
            return candidate
    from anyascii import anyascii  # lazy: only the console theme, only for what it cannot draw

    spelled = anyascii(char)
    return spelled if spelled and all(map(console_has, spelled)) else "?"


def console_text(text: str) -> str:
    """Text as the console theme shows it: 可口可乐 330ml -> KeKouKeLe 330ml, ￥3.50 -> ¥3.50."""
    if text.isascii() or all(map(console_has, text)):
        return text
    return "".join(map(console_char, text))


class ConsoleGlyphs(LineFilter):
    """The console theme's last line of defence: any character still drawn that the console's
    fonts lack becomes its console form, cut or padded to the cells it had (可 -> Ke, ￥ -> "¥ "),
    so nothing is drawn as a blank box and no layout moves. Names are spelled in full where the
    screens show them (PosApp.shown); this catches the rest (reports, receipts on screen)."""

    def apply(self, segments: list[Segment], background) -> list[Segment]:
        return [segment if segment.text.isascii() or all(map(console_has, segment.text))
                else Segment(self.cells(segment.text), segment.style, segment.control) for segment in segments]

    @staticmethod
    def cells(text: str) -> str:
        out = []
        for char in text:
            width = cell_len(char)
            shown = console_char(char)
            out.append(shown if width == len(shown) else shown[:width].ljust(width))
        return "".join(out)


def wants_console_theme(setting: str, term: str | None = None) -> bool:
    term = os.environ.get("TERM", "") if term is None else term
    return setting == "console" or (setting == "auto" and term == "linux")


CONSOLE_LANGUAGES = frozenset({"en"})  # what the kernel console's fonts can spell (Latin-1 and a little more)


def screen_language(language: str, console_theme: bool) -> str:
    """The screen's language: [ui] language, except on the kernel's console, which cannot draw
    Chinese: there every Chinese label would be cut to two letters of pinyin a character (合计
    "HeJi", 付款 "FuKu"), so the screen speaks English (names stay in full pinyin: KeKouKeLe).
    A console that draws Chinese (install-till.sh --chinese-console) shows the language itself."""
    if console_theme and language not in CONSOLE_LANGUAGES:
        log.info("the kernel console cannot draw %s: the screen is in English (install-till.sh --chinese-console "
                 "puts the till on a console that can)", language)
        return "en"
    return language


def hang_up_with_the_terminal(fd: int) -> None:
    """Sleep in poll() until the terminal hangs up, then SIGHUP ourselves. The kernel sends
    SIGHUP only to the session leader: a till started through `make run` or a shell (not the
    pane's own process) would otherwise live on with no terminal, its input thread spinning on
    end-of-file and its instance lock held. Costs nothing while waiting."""
    poller = select.poll()
    poller.register(fd, 0)  # nothing asked for: only POLLHUP/POLLERR/POLLNVAL are reported
    while not poller.poll():
        pass
    log.info("the terminal hung up")
    os.kill(os.getpid(), signal.SIGHUP)


class SyncChanged(Message):
    """The sync worker's state changed (posted from its thread: post_message never waits)."""


class PosApp(App[None]):
    CSS_PATH = "pos.tcss"
    TITLE = "tui-pos"
    ENABLE_COMMAND_PALETTE = False  # cashiers get no command palette
    BINDINGS = [
        Binding("ctrl+q,ctrl+c", "leave", N_("Quit"), priority=True, id="quit"),
        Binding("f12,ctrl+a", "hide_alert", N_("Hide alert"), show=False, id="hide_alert"),
    ]

    def __init__(self, till: Till):
        super().__init__()
        self.till = till
        self.console_theme = wants_console_theme(till.config.theme)
        use_language(screen_language(till.config.ui_language, self.console_theme))  # the CLI set it too; tests start here
        self.printer_state = _("starting")
        # The worker owns the printer in its own thread with its own queue (and connection);
        # the UI's screens use a second queue, coordinated with it by the printer's file lock.
        self.print_worker = PrintWorker(PrintQueue(till.config),
                                        on_change=lambda state: self.call_from_thread(self.printer_changed, state))
        self.print_queue = PrintQueue(till.config)
        self.alerts: list[Alert] = []  # active now (as of the last check)
        self.alert_banner: Alert | None = None  # the newest raised one, until the cashier hides it
        self.alert_dispatcher: AlertDispatcher | None = None  # made by the first check (lazy import)
        self.checking_health = False
        self.storage_mode = till.storage().mode
        self.settled: list[PaymentView] = []  # code payments settled at start-up, not yet shown to the cashier

    def on_mount(self) -> None:
        if self.console_theme:
            self.theme = "ansi-dark"
            self.add_class("console")
            ScrollBar.renderer = ConsoleScrollBarRender
            self._filters.append(ConsoleGlyphs())  # Textual's (pinned) hook for filtering every line drawn
            # on screen only: receipts and reports are laid out from the configuration's own symbol
            self.till.show_symbol(console_text(self.till.currency.symbol))
        self.set_keymap(self.till.config.keys)
        self.ui_thread = threading.get_ident()
        self.till.audit_in_background(self.off_the_ui_thread)
        self.till.start_background_replay(lambda _r: self.call_from_thread(self.refresh_status))
        self.till.prepare_lookup(self.off_the_ui_thread)
        self.till.start_sync(self.sync_changed)  # a till that joined an HQ
        self.print_worker.start()
        self.settle_payments()
        self.push_screen(LoginScreen(), self.logged_in)
        self.tick()
        self.set_timer(HEALTH_FIRST_S, self.check_health)
        self.set_interval(HEALTH_EVERY_S, self.check_health)
        loop = asyncio.get_running_loop()
        for number in STOP_SIGNALS:  # until the loop closes, i.e. after the worker threads are joined
            loop.add_signal_handler(number, self.stop_on_signal, number)
        for number in IGNORED_SIGNALS:  # replaces the driver's handlers (set up before this mount)
            loop.add_signal_handler(number, lambda: None)
        if not self.is_headless and os.isatty(0):
            threading.Thread(target=hang_up_with_the_terminal, args=(0,), name="hangup", daemon=True).start()

    def stop_on_signal(self, number: int) -> None:
        """Leave at once, without asking: every change to the sale in progress (tenders included)
        is saved as it is made, and a payment being stored finishes before the process exits
        (asyncio joins the worker threads). Textual restores the terminal; the exit status is 0."""
        log.info("leaving the till on %s", signal.Signals(number).name)
        self.exit()

    def on_unmount(self) -> None:
        self.print_worker.stop()
        self.print_queue.close()
        ScrollBar.renderer = ScrollBarRender  # a class-wide setting: do not leak it to another app

    def off_the_ui_thread(self, job: Callable[[], None]) -> None:
        """Blocking work nobody waits for (an audit write): in a worker when asked on the UI
        thread, at once when already off it (a worker's own call)."""
        if threading.get_ident() == self.ui_thread:
            self.in_worker(job)
        else:
            job()

    @work(thread=True, group="audit", exit_on_error=False)
    def in_worker(self, job: Callable[[], None]) -> None:
        job()

    def sync_changed(self, _r: SyncState) -> None:
        """From the sync worker's thread: never waits for the UI (it may be closing)."""
        self.post_message(SyncChanged())

    def on_sync_changed(self, _r: SyncChanged) -> None:
        self.refresh_status()

    def printer_changed(self, state: WorkerState) -> None:
        printer = _(PRINTER_STATES.get(state.status.state, state.status.state))
        self.printer_state = ngettext("{printer}, {n} unprinted", "{printer}, {n} unprinted", state.unprinted).format(
            printer=printer, n=state.unprinted) if state.unprinted else printer
        self.refresh_status()

    def shown(self, text: str) -> str:
        """A name (or a message naming one) as this theme shows it: as it is, or spelled with what
        the Linux console can draw (console_text)."""
        return console_text(text) if self.console_theme else text

    def sale_paid(self) -> None:
        """A sale was stored: its receipt is waiting."""
        self.print_worker.wake()

    def tick(self) -> None:
        """Refresh the status line's clock on each new minute: one timer, set to just after the
        next minute boundary (re-armed first, so a failing refresh cannot stop the clock), no polling."""
        self.set_timer(60.5 - time.time() % 60, self.tick)
        self.refresh_status()

    def logged_in(self, user: User | None) -> None:
        if user is not None:
            self.push_screen(CheckoutScreen())  # it shows what settle_payments found (on_screen_resume)

    # -- code payments whose outcome the till did not know ------------------------------------
    @work(thread=True, group="payments", exit_on_error=False, description="settle code payments")
    def settle_payments(self) -> None:
        """At start-up: code payments whose outcome is not known (a crash, a kill or a power cut
        in the middle of one) are asked of their provider and settled, off the UI thread; the
        cashier is shown what was found once at the checkout."""
        try:
            settled = settle_unknown(self.till.payments)
        except PosError as err:  # the till sells on; a new code payment settles them first
            log.warning("code payments not settled at start-up: %s", err)
            return
        if settled:
            self.call_from_thread(self.payments_settled, settled)

    def payments_settled(self, settled: list[PaymentView]) -> None:
        self.settled = settled
        self.show_settled()
        self.check_health()  # the status line's payment alerts follow at once

    def show_settled(self) -> None:
        """What the settling found, on the checkout (not over the login, nor over a dialog)."""
        if self.settled and isinstance(self.screen, CheckoutScreen):
            settled, self.settled = self.settled, []
            self.screen.show_cart()  # a paid payment may be back on the sale in progress
            self.push_screen(SettledScreen(settled))

    def lock(self) -> None:
        self.push_screen(LoginScreen(locked_by=self.till.cashier), lambda _r: None)

    def sign_out(self) -> None:
        """Back to the login with nothing open under it (after a Z report): whoever logs in next
        gets a fresh checkout, which sends them to count the next shift's float."""
        while len(self.screen_stack) > 1:
            self.pop_screen()
        self.push_screen(LoginScreen(), self.logged_in)

    def refresh_status(self) -> None:
        mode = self.till.storage().mode
        if mode != self.storage_mode:  # degraded, failing or back to ok: tell at once, not in 30 s
            self.storage_mode = mode
            self.check_health()
        # every screen's, not only the top one's: a dialog shows the screen below with its status
        # line, and a screen the cashier comes back to must not show the minute it was left at
        for screen in self.screen_stack:
            for bar in screen.query(StatusBar):  # none while a screen is still composing
                bar.refresh_from_app()

    # -- alerts and the backup timer ----------------------------------------------------------
    @work(thread=True, exit_on_error=False)
    def back_up_now(self) -> None:
        """After a Z report: the day's sales leave the till at once (logged; a failure shows as an alert)."""
        from tui_pos.ops.backup import run_scheduled_backup

        run_scheduled_backup(self.till.config)
        self.call_from_thread(self.check_health)

    def check_health(self) -> None:
        if not self.checking_health:  # a slow check (a long backup) is never stacked with another
            self.checking_health = True
            self.read_health()

    @work(thread=True, exit_on_error=False)
    def read_health(self) -> None:
        """The backup when due, then the alerts: logged and handed to the hook by the dispatcher,
        shown by the status line. Never raises: a failing check must not take the till down."""
        from tui_pos.ops.alerts import AlertDispatcher, current_alerts  # not on the start-up path
        from tui_pos.ops.backup import backup_due, run_scheduled_backup

        config = self.till.config
        alerts = self.alerts
        raised: list[Alert] = []
        try:
            if backup_due(config):
                run_scheduled_backup(config)
            alerts = current_alerts(config)
            self.alert_dispatcher = self.alert_dispatcher or AlertDispatcher(config)
            raised, _unused = self.alert_dispatcher.dispatch(alerts)
        except Exception:  # noqa: BLE001
            log.exception("health check failed")
        self.call_from_thread(self.show_alerts, alerts, raised)

    def show_alerts(self, alerts: list[Alert], raised: list[Alert]) -> None:
        """Raised alerts (errors first) take the status line until hidden; it keeps a count."""
        self.checking_health = False
        self.alerts = alerts
        self.print_worker.wake()  # a receipt confirmed or reprinted from the CLI: the count follows
        if raised:
            self.alert_banner = raised[0]
        elif self.alert_banner and self.alert_banner.key not in {a.key for a in alerts}:
            self.alert_banner = None  # cleared by itself
        self.refresh_status()

    def action_hide_alert(self) -> None:
        self.alert_banner = None
        self.refresh_status()

    def key_of(self, binding_id: str) -> str:
        """The first key of one of our bindings, as remapped in config.toml, for a hint on screen."""
        keys = next((keys for binding, keys in bindings_by_action(self.screen) if binding.id == binding_id), [])
        return key_label(keys[0]) if keys else ""

    def describe_keys(self, screen: Screen) -> list[str]:
        """Every action of a screen with all its keys, after remapping, for the help screen."""
        return [f"{pad(_(binding.description), 10)} {'  '.join(key_label(k) for k in keys)}"
                for binding, keys in bindings_by_action(screen)]

    def action_leave(self) -> None:
        """Ctrl+Q/Ctrl+C never quit by accident: confirm, then a manager PIN when configured."""
        def approved(approval: Approval | None) -> None:
            if approval:
                self.exit()

        def confirmed(yes: bool | None) -> None:
            if not yes:
                return
            if self.till.config.quit_needs_manager:
                self.push_screen(ManagerScreen("quit", _("leaving the till")), approved)
            else:
                self.exit()

        self.push_screen(ConfirmScreen(_("Leave the till? The sale in progress is kept.")), confirmed)
