"""What the till's main screens share: the status line, the message line, and one way to call the
core that turns errors into plain messages and asks a manager when the core requires it."""

from __future__ import annotations

from typing import Callable, TypeVar

from rich.text import Text
from textual.screen import Screen
from textual.widgets import Static

from tui_pos.core.errors import PosError
from tui_pos.core.users import Approval, ApprovalRequired
from tui_pos.ui.screens.dialogs import ManagerScreen

T = TypeVar("T")


class TillScreen(Screen[None]):
    def say(self, message: str, error: bool = False) -> None:
        line = self.query_one("#message", Static)
        text = Text(message, style="bold red" if error else "")
        # a scan's "1 x NAME" after another: a repaint; only a wrap or an unwrap needs a layout
        rows = lambda t: max(1, -(-t.cell_len // max(line.size.width, 1)))  # noqa: E731
        line.update(text, layout=rows(text) != rows(getattr(line, "shown", Text())))
        line.shown = text
        if error:
            self.app.bell()

    def core(self, operation: Callable[[Approval | None], T], done: Callable[[T], None] | None = None) -> None:
        """Run a core operation; on ApprovalRequired ask for a manager inline and run it again."""
        try:
            result = operation(None)
        except ApprovalRequired as err:
            def approved(approval: Approval | None) -> None:
                if approval is None:
                    self.say("Not approved: nothing changed.")
                else:
                    self.core(lambda _: operation(approval), done)

            self.app.push_screen(ManagerScreen(err.action, str(err)), approved)
            return
        except PosError as err:
            self.say(str(err), error=True)
            return
        if done is not None:
            done(result)
