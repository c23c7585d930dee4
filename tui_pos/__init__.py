"""tui-pos: a point-of-sale system for headless tills."""

__version__ = "0.1.0"


def exit_interrupted() -> None:
    """Ctrl-C while Python still imports the CLI: one line and status 130, never a traceback.
    os._exit, not sys.exit: a clean interpreter exit can be interrupted again."""
    import os
    import sys

    sys.stderr.write("\nError: interrupted\n")
    sys.stderr.flush()
    os._exit(130)
