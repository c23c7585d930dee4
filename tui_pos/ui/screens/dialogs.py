"""Small modal dialogs: confirm, ask for a value, manager approval. All keyboard-only."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from tui_pos.core.errors import PosError
from tui_pos.core.users import Approval


class ConfirmScreen(ModalScreen[bool]):
    BINDINGS = [
        Binding("y,enter", "answer(True)", "Yes", id="confirm.yes"),
        Binding("n,escape", "answer(False)", "No", id="confirm.no"),
    ]

    def __init__(self, question: str):
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.question)
            yield Label("[b]Y[/b] / Enter: yes    [b]N[/b] / Esc: no", classes="hint")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class AskScreen(ModalScreen["str | None"]):
    """Ask for one value (a quantity, a price, a discount, a payment reference)."""

    BINDINGS = [Binding("escape", "cancel", "Back", id="ask.cancel")]

    def __init__(self, question: str, placeholder: str = "", value: str = ""):
        super().__init__()
        self.question, self.placeholder, self.value = question, placeholder, value

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.question)
            yield Input(value=self.value, placeholder=self.placeholder, id="answer")
            yield Label("Enter: OK    Esc: back", classes="hint")

    def on_mount(self) -> None:
        self.query_one(Input).cursor_blink = False

    @on(Input.Submitted)
    def answered(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip())

    def action_cancel(self) -> None:
        self.dismiss(None)


class ManagerScreen(ModalScreen["Approval | None"]):
    """A manager approves inline: name and PIN, checked by the core (off the UI thread)."""

    BINDINGS = [Binding("escape", "cancel", "Back", id="manager.cancel")]

    def __init__(self, action: str, reason: str):
        super().__init__()
        self.action, self.reason = action, reason

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(f"Manager approval: {self.reason}")
            yield Input(placeholder="manager name", id="manager-name")
            yield Input(placeholder="PIN", password=True, id="manager-pin")
            yield Static("", id="manager-message", classes="error")
            yield Label("Enter: next / approve    Esc: back", classes="hint")

    def on_mount(self) -> None:
        for field in self.query(Input):
            field.cursor_blink = False

    @on(Input.Submitted, "#manager-name")
    def to_pin(self) -> None:
        self.query_one("#manager-pin", Input).focus()

    @on(Input.Submitted, "#manager-pin")
    def check(self) -> None:
        self.approve(self.query_one("#manager-name", Input).value, self.query_one("#manager-pin", Input).value)

    @work(thread=True, exclusive=True)
    def approve(self, name: str, pin: str) -> None:
        try:
            approval = self.app.till.approve(name, pin, self.action)
        except PosError as err:
            self.app.call_from_thread(self.refused, str(err))
            return
        self.app.call_from_thread(self.dismiss, approval)

    def refused(self, message: str) -> None:
        self.query_one("#manager-message", Static).update(message)
        self.query_one("#manager-pin", Input).value = ""
        self.query_one("#manager-name", Input).focus()

    def action_cancel(self) -> None:
        self.dismiss(None)
