"""The command line: a thin click layer over the core, `--json` on every command.

Each module registers its commands on the root group `main` (defined in base.py); importing it
is enough. One import per line, so that adding a module touches one line.
"""

from tui_pos.cli import audit  # noqa: F401
from tui_pos.cli import lifecycle  # noqa: F401
from tui_pos.cli import ops  # noqa: F401
from tui_pos.cli import people  # noqa: F401
from tui_pos.cli import receipts  # noqa: F401
from tui_pos.cli import refunds  # noqa: F401
from tui_pos.cli import reports  # noqa: F401
from tui_pos.cli import sales_report  # noqa: F401
from tui_pos.cli import selling  # noqa: F401
from tui_pos.cli import shift  # noqa: F401
from tui_pos.cli.base import main

__all__ = ["main"]
