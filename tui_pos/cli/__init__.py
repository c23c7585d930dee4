"""The command line: a thin click layer over the core, `--json` on every command.

Each module registers its commands on the root group `main` (defined in base.py)."""

from tui_pos.cli import receipts, selling  # noqa: F401 - importing registers the commands
from tui_pos.cli.base import main

__all__ = ["main"]
