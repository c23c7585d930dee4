"""The chain as HQ knows it: shops and their tills (an HQ administrator's connection)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from tui_pos.domain.errors import N_, BadInput, check_text
from tui_pos.hq.connection import HqError
from tui_pos.hq.schema import check_current

if TYPE_CHECKING:
    import psycopg

SHOP_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,31}")
SHOP_NAME_LENGTH = 200


def check_shop_id(shop_id: str) -> str:
    if not SHOP_ID.fullmatch(shop_id):
        raise BadInput(N_("{shop} is not a shop id: use 1-32 letters, digits, _ or - (a letter or digit first)"),
                       shop=repr(shop_id[:40]))
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
            raise HqError(N_("shop {shop} is at HQ already, named {held}, not {name}"), shop=shop_id, held=repr(held[0]),
                          name=repr(name))
        return {"shop": shop_id, "name": held[0], "added": False}


def shop_list(conn: psycopg.Connection[Any]) -> list[dict[str, str]]:
    """The chain's shops, id and name only, by id: what a till is sent so that a transfer goes to a
    shop that is there (its role may read hq.shop, the chain's reference data)."""
    return [{"shop": shop, "name": name} for shop, name in
            conn.execute("SELECT shop_id, name FROM hq.shop ORDER BY shop_id").fetchall()]


STALE_MINUTES = 10  # a till not heard from for longer is itself an alert (hq tills --stale-minutes)
CLOCK_OFF_S = 300  # a till whose clock is further off HQ's (it measures it at each sync) is an alert


def list_tills(conn: psycopg.Connection[Any], stale_minutes: int = STALE_MINUTES) -> list[dict[str, Any]]:
    """Every enrolled till: its shop, when HQ last heard from it (and how many minutes ago, by HQ's
    clock), how many records it has added, how far its stream is complete, what it last said was
    still waiting to be sent, the status it last pushed (its health: storage, printer, alerts...),
    and its state: "never" (not heard from since it joined), "stale" (not heard from for more than
    stale_minutes), "alert" (its last status raised alerts) or "ok". alerts: the till's own and
    HQ's ("not seen for N minutes")."""
    check_current(conn)
    rows = conn.execute(
        "SELECT t.shop_id, s.name, t.till_id, t.enrolled_at, t.last_seen, t.records, t.high_water, t.status, "
        "floor(extract(epoch FROM now() - t.last_seen) / 60)::bigint "
        "FROM hq.till t JOIN hq.shop s USING (shop_id) ORDER BY t.shop_id, t.till_id").fetchall()
    tills = []
    for shop, shop_name, till, enrolled, seen, records, high_water, status, minutes in rows:
        status = status if isinstance(status, dict) else {}
        pending = status.get("pending")
        alerts = till_alerts(status)
        offset = status.get("clock_offset_s")
        if isinstance(offset, (int, float)) and not isinstance(offset, bool) and abs(offset) > CLOCK_OFF_S:
            alerts.append(f"clock {abs(offset) / 60:.0f} minutes {'ahead of' if offset > 0 else 'behind'} HQ's "
                          "(receipts and reports carry the till's time)")
        if seen is None:
            state = "never"
        elif minutes > stale_minutes:
            state = "stale"
            alerts.insert(0, f"not seen for {minutes} minutes")
        else:
            state = "alert" if alerts else "ok"
        tills.append({"shop": shop, "shop_name": shop_name, "till": till, "enrolled_at": _iso(enrolled),
                      "last_seen": _iso(seen), "minutes_since_seen": minutes, "records": records,
                      "high_water": high_water, "pending": pending if _is_count(pending) else None,
                      "state": state, "alerts": alerts, "status": status})
    return tills


def till_alerts(status: dict[str, Any]) -> list[str]:
    """The alerts a till's pushed status raised, as lines of text (an alert is a string, or an
    object with a "message" or "text")."""
    raw = status.get("alerts")
    found = []
    for alert in raw if isinstance(raw, list) else []:
        if isinstance(alert, dict):
            alert = alert.get("message") or alert.get("text") or alert.get("code") or ""
        if isinstance(alert, str) and alert.strip():
            found.append(" ".join(alert.split())[:300])
    return found


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _iso(moment: Any) -> str | None:
    return moment.isoformat(timespec="seconds") if moment is not None else None
