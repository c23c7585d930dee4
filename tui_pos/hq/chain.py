"""The chain as HQ knows it: shops and their tills (an HQ administrator's connection)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from tui_pos.domain.errors import BadInput, check_text
from tui_pos.hq.connection import HqError
from tui_pos.hq.schema import check_current

if TYPE_CHECKING:
    import psycopg

SHOP_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,31}")
SHOP_NAME_LENGTH = 200


def check_shop_id(shop_id: str) -> str:
    if not SHOP_ID.fullmatch(shop_id):
        raise BadInput(f"{shop_id[:40]!r} is not a shop id: use 1-32 letters, digits, _ or - (a letter or digit first)")
    return shop_id


def add_shop(conn: psycopg.Connection[Any], shop_id: str, name: str | None) -> dict[str, Any]:
    """Add a shop; adding one that is there already with the same name (or no name given) changes
    nothing and says so ("added": false); another name for it is refused."""
    check_shop_id(shop_id)
    if name is not None:
        check_text(name, "the shop name", SHOP_NAME_LENGTH)
    check_current(conn)
    with conn.transaction():
        row = conn.execute("INSERT INTO hq.shop (shop_id, name) VALUES (%s, %s) ON CONFLICT (shop_id) DO NOTHING "
                           "RETURNING name", (shop_id, name or "")).fetchone()
        if row is not None:
            return {"shop": shop_id, "name": row[0], "added": True}
        held = conn.execute("SELECT name FROM hq.shop WHERE shop_id = %s", (shop_id,)).fetchone()
        assert held is not None
        if name is not None and name != held[0]:
            raise HqError(f"shop {shop_id} is at HQ already, named {held[0]!r}, not {name!r}")
        return {"shop": shop_id, "name": held[0], "added": False}


def list_tills(conn: psycopg.Connection[Any]) -> list[dict[str, Any]]:
    """Every enrolled till: its shop, when HQ last heard from it, how many records it has added,
    how far its stream is complete, and what it last said was still waiting to be sent."""
    check_current(conn)
    rows = conn.execute(
        "SELECT t.shop_id, s.name, t.till_id, t.enrolled_at, t.last_seen, t.records, t.high_water, "
        "t.status->'pending' FROM hq.till t JOIN hq.shop s USING (shop_id) ORDER BY t.shop_id, t.till_id").fetchall()
    return [{"shop": shop, "shop_name": shop_name, "till": till, "enrolled_at": _iso(enrolled),
             "last_seen": _iso(seen), "records": records, "high_water": high_water,
             "pending": pending if isinstance(pending, int) else None}
            for shop, shop_name, till, enrolled, seen, records, high_water, pending in rows]


def _iso(moment: Any) -> str | None:
    return moment.isoformat(timespec="seconds") if moment is not None else None
