"""`tui-pos report ...`: X and Z reports of shifts, sales reports for a day or a period."""

from __future__ import annotations

from tui_pos.cli.base import main


@main.group()
def report() -> None:
    """Reports: x (the shift so far), z [NUMBER] (closed shifts), sales (a day or a period)."""
