"""Small modal dialogs: confirm, ask for a value, manager approval. All keyboard-only."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static
from textual.worker import Worker, WorkerState

from tui_pos.domain.auth import Approval
from tui_pos.domain.errors import PosError
from tui_pos.i18n import N_, _, message
from tui_pos.ui.widgets.entry import FieldInput

if TYPE_CHECKING:
    from textual import getters

    from tui_pos.ui.app import PosApp


class ConfirmScreen(ModalScreen[bool]):
    if TYPE_CHECKING:
        app = getters.app(PosApp)  # self.app, typed as the till's app (Textual's way)

    BINDINGS = [
        Binding("y,enter", "answer(True)", N_("Yes"), id="confirm.yes"),
        Binding("n,escape", "answer(False)", N_("No"), id="confirm.no"),
    ]

    def __init__(self, question: str):
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.app.shown(self.question))
            yield Label(_("[b]Y[/b] / Enter: yes    [b]N[/b] / Esc: no"), classes="hint")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class AskScreen(ModalScreen["str | None"]):
    """Ask for one value (a quantity, a price, a discount, a payment reference)."""

    if TYPE_CHECKING:
        app = getters.app(PosApp)  # self.app, typed as the till's app (Textual's way)

    BINDINGS = [Binding("escape", "cancel", N_("Back"), id="ask.cancel")]

    def __init__(self, question: str, placeholder: str = "", value: str = "", required: str = ""):
        """placeholder: a hint shown in the empty field, worded so it cannot be taken for a value;
        required: when set, Enter on an empty field says this and waits (else it answers "")."""
        super().__init__()
        self.question, self.placeholder, self.value, self.required = question, placeholder, value, required

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.app.shown(self.question))
            yield FieldInput(value=self.value, placeholder=self.placeholder, id="answer")
            yield Static("", id="answer-message", classes="error")
            yield Label(_("Enter: OK    Esc: back"), classes="hint")

    def on_mount(self) -> None:
        self.query_one(Input).cursor_blink = False

    @on(Input.Submitted)
    def answered(self, event: Input.Submitted) -> None:
        if self.required and not event.value.strip():
            self.query_one("#answer-message", Static).update(self.required)
            self.app.bell()
            return
        self.dismiss(event.value.strip())

    def action_cancel(self) -> None:
        self.dismiss(None)


class ManagerScreen(ModalScreen["Approval | None"]):
    """A manager approves inline: a reason code, name and PIN, checked by the core (off the UI
    thread). The reason is picked with Up/Down while the name or PIN is typed, so the Enter-Enter
    flow stays as it is; a reason already chosen (on the refund screen) is shown, not asked again."""

    if TYPE_CHECKING:
        app = getters.app(PosApp)  # self.app, typed as the till's app (Textual's way)

    BINDINGS = [
        Binding("escape", "cancel", N_("Back"), id="manager.cancel"),
        Binding("up", "move_reason(-1)", N_("Reason"), show=False, id="manager.reason_up"),
        Binding("down", "move_reason(1)", N_("Reason"), show=False, id="manager.reason_down"),
    ]

    def __init__(self, action: str, message: str, reasons: tuple[str, ...] = (), reason: str = ""):
        super().__init__()
        self.action, self.message = action, message
        self.reasons = () if reason else reasons
        self.reason = reason or (reasons[0] if reasons else "")

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.app.shown(_("Manager approval: {action}").format(action=self.message)))
            if self.reason:
                yield Label(self.reason_text(), id="manager-reason")
            yield FieldInput(placeholder=_("manager name"), id="manager-name", next_field="#manager-pin")
            yield FieldInput(placeholder=_("PIN"), password=True, select_on_focus=False, id="manager-pin")
            yield Static("", id="manager-message", classes="error")
            yield Label(_("Enter: next / approve    Shift+Tab: name    Esc: back"), classes="hint")

    def on_mount(self) -> None:
        for field in self.query(Input):
            field.cursor_blink = False

    def reason_text(self) -> Text:
        """The reason given, or every reason code with the chosen one highlighted."""
        if not self.reasons:
            return Text.assemble(_("Reason: "), (self.reason, "bold"))
        text = Text(_("Reason (Up/Down): "))
        for reason in self.reasons:
            text.append(f" {reason} ", style="bold reverse" if reason == self.reason else "")
        return text

    def action_move_reason(self, step: int) -> None:
        if self.reasons:
            self.reason = self.reasons[(self.reasons.index(self.reason) + step) % len(self.reasons)]
            self.query_one("#manager-reason", Label).update(self.reason_text())

    @on(Input.Submitted, "#manager-name")
    def to_pin(self) -> None:
        self.query_one("#manager-pin", Input).focus()

    @on(Input.Submitted, "#manager-pin")
    def check(self) -> None:
        self.approve(self.query_one("#manager-name", Input).value, self.query_one("#manager-pin", Input).value,
                     self.reason)

    @work(thread=True, exclusive=True)
    def approve(self, name: str, pin: str, reason: str) -> Approval | None:
        """The approval is the worker's result (see LoginScreen.check)."""
        try:
            return self.app.till.approve(name, pin, self.action, reason)
        except PosError as err:
            self.app.call_from_thread(self.refused, message(err))
            return None

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.SUCCESS and event.worker.result is not None:
            self.dismiss(event.worker.result)

    def refused(self, message: str) -> None:
        """The PIN field keeps the focus, the name stays: the manager retypes the PIN at once (a
        wrong name is corrected with Shift+Tab). Never back to the name field, where a PIN
        typed again would show in clear text."""
        self.query_one("#manager-message", Static).update(message)
        pin = self.query_one("#manager-pin", Input)
        pin.value = ""
        pin.focus()

    def action_cancel(self) -> None:
        self.dismiss(None)
