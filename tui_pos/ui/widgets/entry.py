"""The always-ready entry line: where a scanner (keyboard wedge) and the cashier type; and the
dialogs' text field, which takes a burst of keys the same way.

A plain widget rather than Input: it handles printable keys, Backspace and Enter itself and lets
every other key bubble to the screen's bindings, has no blinking-cursor timer (idle CPU), and
takes the value and clears itself in the same handler as Enter, so a scanner's burst can never
mix two codes.
"""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Input

MAX_LENGTH = 64


class EntryLine(Widget, can_focus=True):
    value: reactive[str] = reactive("")

    class Submitted(Message):
        def __init__(self, entry: EntryLine, value: str):
            super().__init__()
            self.entry = entry
            self.value = value

        @property
        def control(self) -> EntryLine:
            return self.entry

    def __init__(self, prompt: str = "> ", *, allowed: str | None = None, id: str | None = None):
        """allowed: the characters accepted (None: any printable character)."""
        super().__init__(id=id)
        self.prompt = prompt
        self.allowed = allowed

    def render(self) -> Text:
        return Text.assemble((self.prompt, "bold"), self.value, (" ", "reverse") if self.has_focus else "")

    def on_key(self, event: events.Key) -> None:
        if event.key == "enter":
            value, self.value = self.value, ""
            self.post_message(self.Submitted(self, value.strip()))
        elif event.key == "backspace":
            self.value = self.value[:-1]
        elif event.key == "escape" and self.value:
            self.value = ""
        elif event.is_printable and event.character and len(self.value) < MAX_LENGTH and (
            self.allowed is None or event.character in self.allowed
        ):
            self.value += event.character
        else:
            return  # not ours: let the screen's bindings have it
        event.stop()
        event.prevent_default()


# The field's own editing keys (Input's bindings). Not the scrolling keys Input inherits (Up/Down,
# PageUp/PageDown): those stay the dialog's, e.g. the manager dialog's Up/Down choose the reason.
EDITING_KEYS = frozenset(key.strip() for binding in Input.BINDINGS if isinstance(binding, Binding)  # all are
                         for key in binding.key.split(","))


class FieldInput(Input):
    """A dialog's text field (a name, a PIN, a quantity, a search) that takes keys in the order
    they came, however fast: its editing keys (Backspace, Delete, arrows, Enter...) run here, in
    its own key handler, like the entry line's. Textual's Input lets them bubble up to the app's
    binding check first, so a Backspace sent in one write with the letters behind it arrived
    after them (`abc` + Backspace Backspace x y stayed `abc`).

    next_field: the field Enter and Tab move to (the PIN after the name). Keys that come after
    this field's Enter or Tab are handed to it: typed ahead, pasted or sent by tmux, they reach this field
    before the next one has focus, and a PIN would land here, in clear text. That next field is
    made with select_on_focus=False: the digits it was handed before its focus stay typed."""

    def __init__(self, *args, next_field: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.next_field = next_field
        self.entered = False

    async def _on_key(self, event: events.Key) -> None:
        if self.entered and self.next_field:
            event.stop()
            event.prevent_default()
            self.screen.query_one(self.next_field, Input).post_message(events.Key(event.key, event.character))
            return
        if event.key == "tab" and self.next_field:  # here, not after the app's focus_next
            event.stop()
            event.prevent_default()
            self.entered = True
            self.screen.query_one(self.next_field, Input).focus()
            return
        binding = next(iter(self._bindings.key_to_bindings.get(event.key, ())), None)
        if binding is not None and not binding.priority and event.key in EDITING_KEYS:
            event.stop()
            event.prevent_default()
            if event.key == "enter":
                self.entered = self.next_field is not None
            await self.run_action(binding.action)
            return
        await super()._on_key(event)

    def _on_focus(self, event: events.Focus) -> None:
        self.entered = False  # back here (a refused name): type again
        super()._on_focus(event)
