"""Alerts at HQ (`tui-pos hq alerts [--run-hook]`): what needs a person across the chain, as Alerts
the till's own hook takes (ops/alerts.py): every till's alerts as HQ has them (hq.chain.list_tills:
what it last pushed, not seen for N minutes, a clock off) and each shop's low stock (its tills
summed, at or below HQ's reorder level: hq/stock.py) and each open transfer to a shop HQ does not
have (a till that had no list of the chain's shops yet let a mistyped one through: HQ kept the
till's records, and no till will ever receive it)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tui_pos.config import Config
from tui_pos.domain.stock import format_qty
from tui_pos.i18n import N_
from tui_pos.ops.alerts import Alert, AlertDispatcher, low_stock_alert, said

if TYPE_CHECKING:
    import psycopg

LOW_SHOWN = 5  # products named in a shop's low-stock alert (then "and N more")


def chain_alerts(conn: psycopg.Connection[Any], stale_minutes: int | None = None) -> list[Alert]:
    """Every till's alerts, then each shop's low stock, then the transfers to nowhere (errors first)."""
    from tui_pos.hq.chain import STALE_MINUTES, list_tills
    from tui_pos.hq.stock import low_by_shop, transfers

    found = []
    for till in list_tills(conn, stale_minutes or STALE_MINUTES):
        for n, alert in enumerate(till["alerts"]):
            found.append(said(f"hq_till:{till['shop']}:{till['till']}:{n}", "error" if till["state"] == "stale" else
                              "warning", N_("till {till} (shop {shop}): {alert}"),
                              N_("'tui-pos hq tills' shows its state; 'tui-pos status' at the till says more"),
                              till=till["till"], shop=till["shop"], alert=alert))
    for shop, low in low_by_shop(conn).items():
        if low:
            found.append(low_stock_alert(
                f"hq_low_stock:{shop}", [(p["name"], format_qty(p["on_hand"]), format_qty(p["reorder_level"]))
                                         for p in low[:LOW_SHOWN]], len(low),
                N_("reorder: 'tui-pos hq report reorder --shop SHOP' lists what to order"), shop))
    for t in transfers(conn, open_only=True):
        if not t["to_known"]:
            found.append(said(f"hq_transfer_to_unknown:{t['from_shop']}:{t['transfer']}", "warning",
                              N_("transfer {transfer} from shop {from_shop} goes to shop {to_shop}, which HQ does not "
                                 "have: no till can receive it"),
                              N_("'tui-pos hq shop add SHOP' if it is a shop of the chain; if it was mistyped, the "
                                 "shop that got the goods takes them in with 'tui-pos stock receive'"),
                              transfer=t["transfer"], from_shop=t["from_shop"], to_shop=t["to_shop"]))
    return sorted(found, key=lambda a: a.level != "error")


def dispatch(config: Config, alerts: list[Alert]) -> None:
    """Hand each alert to the [alerts] hook of this machine's config (as the till does), and wait for it."""
    dispatcher = AlertDispatcher(config)
    dispatcher.dispatch(alerts)
    dispatcher.wait(config.alerts.hook_timeout_s + 1)
