"""The always-ready entry line: where a scanner (keyboard wedge) and the cashier type.

A plain widget rather than Input: it handles printable keys, Backspace and Enter itself and lets
every other key bubble to the screen's bindings, has no blinking-cursor timer (idle CPU), and
takes the value and clears itself in the same handler as Enter, so a scanner's burst can never
mix two codes.
"""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget

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
