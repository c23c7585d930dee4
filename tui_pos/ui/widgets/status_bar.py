"""The always-visible status line: storage state, printer, cashier, till, clock."""

from __future__ import annotations

import time

from rich.text import Text
from textual.widgets import Static

from tui_pos.core.till import StorageState

STORAGE_TEXT = {"ok": "STORAGE OK", "degraded": "DEGRADED", "failing": "STORAGE FAILING"}


def storage_label(state: StorageState) -> str:
    label = STORAGE_TEXT[state.mode]
    if state.journal_backlog:
        label += f": {state.journal_backlog} sale{'s' if state.journal_backlog != 1 else ''} in the journal"
    return label


class StatusBar(Static):
    def on_mount(self) -> None:
        self.refresh_from_app()

    def refresh_from_app(self) -> None:
        till = self.app.till
        self.show(till.storage(), self.app.printer_state, till.cashier, till.config.till_id)

    def show(self, state: StorageState, printer: str, cashier: str, till_id: str) -> None:
        style = {"ok": "bold", "degraded": "bold black on yellow", "failing": "bold white on red"}[state.mode]
        self.update(Text.assemble(
            (f" {storage_label(state)} ", style), "| ", f"Printer {printer}", " | ",
            f"{cashier or '-'}", " | ", f"Till {till_id}", " | ", time.strftime("%m-%d %H:%M"),
        ))
