"""What the till's main screens share: the status line, the message line, and one way to call the
core that turns errors into plain messages and asks a manager when the core requires it."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from rich.text import Text
from textual import work
from textual.screen import Screen
from textual.widgets import Static

from tui_pos.domain.auth import Approval, ApprovalRequired
from tui_pos.domain.errors import PosError
from tui_pos.domain.tender import TENDER_WORDS
from tui_pos.i18n import N_, _, message
from tui_pos.ui.screens.dialogs import ManagerScreen

if TYPE_CHECKING:
    from textual import getters

    from tui_pos.ui.app import PosApp

T = TypeVar("T")
ResultT = TypeVar("ResultT")  # what the screen gives back to whoever pushed it (dismiss)

def tender_word(kind: str) -> str:
    """A tender in running text, in the screen's language (an unknown kind as it is)."""
    return _(TENDER_WORDS.get(kind, kind))


# where a paid sale, refund or void went (Paid.stored), as the message line says it
STORED_AT = {"sqlite": N_("stored in the database"), "journal": N_("stored in the journal (database unavailable)")}


class TillScreen(Screen[ResultT]):
    if TYPE_CHECKING:
        app = getters.app(PosApp)  # self.app, typed as the till's app (Textual's way)

    working = False  # a core_in_thread operation is running
    said = Text()  # what the message line shows (the screen's one #message line)

    def say(self, message: str, error: bool = False) -> None:
        line = self.query_one("#message", Static)
        text = Text(self.app.shown(message), style="bold red" if error else "")
        # a scan's "1 x NAME" after another: a repaint; only a wrap or an unwrap needs a layout
        rows = lambda t: max(1, -(-t.cell_len // max(line.size.width, 1)))  # noqa: E731
        line.update(text, layout=rows(text) != rows(self.said))
        self.said = text
        if error:
            self.app.bell()

    def core(self, operation: Callable[[Approval | None], T], done: Callable[[T], object] | None = None,
             reason: str = "") -> None:
        """Run a core operation; on ApprovalRequired ask for a manager inline and run it again.
        reason: the reason code already chosen (else the manager picks one of [till.reasons] for the action)."""
        try:
            result = operation(None)
        except PosError as err:
            self.refused(err, lambda approval: self.core(lambda _r: operation(approval), done, reason), reason)
            return
        if done is not None:
            done(result)

    def core_in_thread(self, operation: Callable[[Approval | None], T], done: Callable[[T], object] | None = None,
                       reason: str = "") -> None:
        """core() for work that waits on storage or a PIN hash (a record to store, a report to
        read), off the UI thread. One at a time: a key pressed again meanwhile is refused with a
        message, so a refund can never be stored twice by an impatient second press."""
        if self.working:
            self.say(_("One moment: the last request is still being done."), error=True)
            return
        self.working = True
        self.core_worker(operation, done, reason)

    @work(thread=True)
    def core_worker(self, operation: Callable[[Approval | None], T], done: Callable[[T], object] | None,
                    reason: str) -> None:
        try:
            result = operation(None)
        except PosError as refusal:
            self.app.call_from_thread(self.worked, lambda err=refusal: self.refused(
                err, lambda approval: self.core_in_thread(lambda _r: operation(approval), done, reason), reason))
            return
        self.app.call_from_thread(self.worked, lambda: done(result) if done is not None else None)

    def worked(self, then: Callable[[], object]) -> None:
        self.working = False
        if self.is_attached:  # else the screen was closed meanwhile (the till signed out): nothing to show
            then()

    def refused(self, err: PosError, again: Callable[[Approval], None], reason: str) -> None:
        """Say why the core refused; when a manager can allow it, ask one and go `again`."""
        if not isinstance(err, ApprovalRequired):
            self.say(message(err), error=True)
            return

        def approved(approval: Approval | None) -> None:
            if approval is None:
                self.say(_("Not approved: nothing changed."))
            else:
                again(approval)

        self.app.push_screen(ManagerScreen(err.action, message(err), self.app.till.config.reasons_for(err.action), reason),
                             approved)
