"""Log in (or unlock) with a user name and PIN."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Input, Label, Static
from textual.worker import Worker, WorkerState

from tui_pos.domain.auth import User
from tui_pos.domain.errors import PosError
from tui_pos.i18n import _, message
from tui_pos.ui.widgets.entry import FieldInput
from tui_pos.ui.widgets.key_bar import KeyBar
from tui_pos.ui.widgets.status_bar import StatusBar

if TYPE_CHECKING:
    from textual import getters

    from tui_pos.ui.app import PosApp


class LoginScreen(Screen[User]):
    """locked_by: the screen locks a session; only that cashier or a manager unlocks it."""

    if TYPE_CHECKING:
        app = getters.app(PosApp)  # self.app, typed as the till's app (Textual's way)

    def __init__(self, locked_by: str = ""):
        super().__init__()
        self.locked_by = locked_by

    def compose(self) -> ComposeResult:
        config = self.app.till.config
        yield StatusBar(id="status")
        with Vertical(classes="dialog", id="login-box"):
            yield Label(_("[b]{shop}[/b]  -  till {till}").format(shop=config.shop_name, till=config.till_id))
            yield Label(_("Locked by {cashier}: enter a PIN to unlock").format(cashier=self.locked_by) if self.locked_by
                        else _("Log in"))
            yield FieldInput(value=self.locked_by, placeholder=_("user"), id="login-user", next_field="#login-pin")
            yield FieldInput(placeholder=_("PIN"), password=True, select_on_focus=False, id="login-pin")
            yield Static("", id="login-message", classes="error")
        yield KeyBar(id="keys")

    def on_mount(self) -> None:
        for field in self.query(Input):
            field.cursor_blink = False
        self.query_one("#login-pin" if self.locked_by else "#login-user", Input).focus()

    @on(Input.Submitted, "#login-user")
    def to_pin(self) -> None:
        self.query_one("#login-pin", Input).focus()

    @on(Input.Submitted, "#login-pin")
    def submit(self) -> None:
        self.check(self.query_one("#login-user", Input).value, self.query_one("#login-pin", Input).value)

    @work(thread=True, exclusive=True)
    def check(self, name: str, pin: str) -> User | None:
        """scrypt takes tens of milliseconds on purpose: never on the UI thread. The user is the
        worker's result: dismissing from inside the worker would cancel the worker itself."""
        till = self.app.till
        try:
            if self.locked_by:  # unlocking: the session stays with the cashier who locked it
                user = till.check_pin(name, pin)
                if user.name != self.locked_by and not user.is_manager:
                    raise PosError(_("only {cashier} or a manager can unlock this till").format(cashier=self.locked_by))
            else:
                user = till.login(name, pin)
        except PosError as err:
            self.app.call_from_thread(self.refused, message(err))
            return None
        return user

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.SUCCESS and event.worker.result is not None:
            self.dismiss(event.worker.result)

    def refused(self, message: str) -> None:
        self.query_one("#login-message", Static).update(message)
        pin = self.query_one("#login-pin", Input)
        pin.value = ""
        pin.focus()
