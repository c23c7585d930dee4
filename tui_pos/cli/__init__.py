"""The command line: a thin click layer over the library, `--json` on every command.

One file per command group, named for the group: audit, backup, catalog, hq, payments, printer, receipts,
report, shift, stock, sync, user (`tui-pos report ...` is report.py). A top-level command lives with what it
belongs to: restore in backup.py, refund and void-last in refunds.py, monitor in monitor.py,
status, doctor, alerts and support-bundle in ops.py; init, sell, sales and replay in selling.py.
Who acts (--cashier / --manager / --pin) is signin.py, shared by all. A command calls the library
and formats what comes back.

Each module registers its commands on the root group `main` (defined in base.py); importing it
is enough.
"""

try:  # Ctrl-C while Python imports the CLI (its first 0.1 s): one line, not a traceback
    from tui_pos.cli import (
        audit,  # noqa: F401
        backup,  # noqa: F401
        catalog,  # noqa: F401
        hq,  # noqa: F401
        monitor,  # noqa: F401
        ops,  # noqa: F401
        payments,  # noqa: F401
        printer,  # noqa: F401
        receipts,  # noqa: F401
        refunds,  # noqa: F401
        report,  # noqa: F401
        selling,  # noqa: F401
        shift,  # noqa: F401
        stock,  # noqa: F401
        sync,  # noqa: F401
        user,  # noqa: F401
    )
    from tui_pos.cli.base import main
except KeyboardInterrupt:
    from tui_pos import exit_interrupted

    exit_interrupted()

__all__ = ["main"]
