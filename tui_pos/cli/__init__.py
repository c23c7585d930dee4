"""The command line: a thin click layer over the core, `--json` on every command.

Each module registers its commands on the root group `main` (defined in base.py); importing it
is enough. One import per line, so that adding a module touches one line.
"""

try:  # Ctrl-C while Python imports the CLI (its first 0.1 s): one line, not a traceback
    from tui_pos.cli import audit  # noqa: F401
    from tui_pos.cli import hq  # noqa: F401
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
except KeyboardInterrupt:
    import os
    import sys

    sys.stderr.write("\nError: interrupted\n")
    sys.stderr.flush()
    os._exit(130)  # not sys.exit: a clean interpreter exit can be interrupted again

__all__ = ["main"]
