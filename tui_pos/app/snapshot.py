"""The shop snapshot beside the journal: the catalog and the people, copied there after every
change to them, so that the till can log in and sell when the database cannot be read."""

from __future__ import annotations

from tui_pos.app.till import shop_snapshot
from tui_pos.config import Config
from tui_pos.store.documents import DocumentFailed
from tui_pos.store.ledger import Ledger


def refresh_snapshot(config: Config, ledger: Ledger) -> None:
    """Copy the catalog and the users beside the journal (a failure is no error: the snapshot
    is a fallback, and the database already has everything)."""
    try:
        shop_snapshot(config).save({"products": ledger.products() or [], "users": ledger.users() or []},
                                   everywhere=True)
    except DocumentFailed:
        pass
