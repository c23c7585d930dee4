"""The shop snapshot beside the journal: the catalog and the people, copied there after every
change to them, so that the till can log in and sell when the database cannot be read."""

from __future__ import annotations

from tui_pos.app.ports import Document, ShopQueries
from tui_pos.domain.errors import DocumentFailed


def refresh_snapshot(snapshot: Document, shop: ShopQueries) -> None:
    """Copy the catalog and the users beside the journal (a failure is no error: the snapshot
    is a fallback, and the database already has everything)."""
    try:
        snapshot.save({"products": shop.products() or [], "users": shop.users() or []}, everywhere=True)
    except DocumentFailed:
        pass
