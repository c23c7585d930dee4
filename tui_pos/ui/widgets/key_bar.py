"""The key bar: every action of the screen with its key, wrapped onto as many lines as 80
columns need (Textual's Footer is one scrolling line, and twelve actions do not fit in it).
It reads the screen's live bindings, so a key remapped in config.toml shows as remapped."""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.widgets import Static

from tui_pos.domain.columns import columns
from tui_pos.i18n import _


def key_label(key: str) -> str:
    if key.startswith("ctrl+"):
        return "^" + key[5:].upper()
    if key[0] == "f" and key[1:].isdigit():
        return key.upper()
    return {"escape": "Esc", "enter": "Enter"}.get(key, key.capitalize() if len(key) > 1 else key)  # key caps: never translated


def bindings_by_action(screen) -> list[tuple[Binding, list[str]]]:
    """(binding, its keys) for each of our actions (they all have ids, Textual's own do not),
    the screen's first, the app's (Quit) last."""
    grouped: dict[str, tuple[Binding, list[str]]] = {}
    for key, active in screen.active_bindings.items():
        binding = active.binding
        if binding.id and binding.description:
            grouped.setdefault(binding.action, (binding, []))[1].append(key)
    return sorted(grouped.values(), key=lambda item: item[0].id == "quit")


def bar_label(keys: list[str]) -> str:
    """The first key, and a letter that does the same (the payment screen's c, k, m...): a
    letter needs no F-key and is what a cashier reaches for, so it is shown, not only in help."""
    letters = [key for key in keys[1:] if len(key) == 1 and key.isalnum()]
    return "/".join([key_label(keys[0])] + letters[:1])


class KeyBar(Static):
    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, lambda _r: self.show())
        self.call_after_refresh(self.show)

    def on_resize(self) -> None:
        self.show()

    def show(self) -> None:
        width = max(self.size.width, 20)
        text, line_length = Text(), 0
        for binding, keys in bindings_by_action(self.screen):
            if not binding.show:
                continue
            key = bar_label(keys)
            description = _(binding.description)  # marked N_() where the binding is declared
            label = columns(f"{key} {description}")  # terminal columns: 付款 is four, not two
            if line_length and line_length + label + 1 > width:
                text.append("\n")
                line_length = 0
            elif line_length:
                text.append(" ")
                line_length += 1
            text.append(key, style="bold reverse")
            text.append(f" {description}")
            line_length += label
        self.update(text)
