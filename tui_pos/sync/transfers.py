"""The transfers HQ has open for this till's shop (hq.open_transfers, SECURITY DEFINER: sent to the
shop, not received yet), pulled at each sync like the catalog and kept in hq/transfers.json (0600,
in the data directory's 0700 hq/) so that `tui-pos stock transfers` and `stock transfer in` work
offline too; with them the chain's shops (id and name: hq.chain.shop_list), where a transfer out
may go. Written whole (a temporary file renamed over it); a missing file: never pulled; a file
without "shops" (written before they were pulled): no list yet.

    {"pulled_at": ISO, "transfers": [{"transfer", "from_shop", "to_shop", "sent_at",
                                      "lines": [{"barcode", "qty"}]}],
     "shops": [{"shop", "name"}]}
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tui_pos.app.clock import utc_now
from tui_pos.domain.errors import N_
from tui_pos.hq.chain import shop_list
from tui_pos.hq.connection import HqError, HqUnreachable, first_line
from tui_pos.hq.enrol import HQ_DIR
from tui_pos.sync.state import write_hq_document

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger("tui_pos.sync.transfers")

TRANSFERS_NAME = "transfers.json"


def transfers_path(data_dir: Path) -> Path:
    return data_dir / HQ_DIR / TRANSFERS_NAME


@contextmanager
def _pulling() -> Iterator[None]:
    """HQ lost during the pull (HqUnreachable) or refusing it (HqError), said as such."""
    import psycopg

    try:
        yield
    except psycopg.OperationalError as err:
        raise HqUnreachable(N_("lost HQ during the pull of transfers: {error}"), error=first_line(err)) from None
    except psycopg.Error as err:
        raise HqError(N_("HQ refused the pull of transfers: {error}"), error=first_line(err)) from None


def fetch_open_transfers(conn: psycopg.Connection[Any]) -> list[dict[str, Any]] | None:
    """The transfers HQ has open for this till's shop; None when HQ is older than transfers (its
    schema lacks them: nothing to pull)."""
    import psycopg

    with _pulling():
        try:
            row = conn.execute("SELECT hq.open_transfers()").fetchone()
        except psycopg.errors.UndefinedFunction:
            return None
    assert row is not None
    return list(row[0] or [])


def fetch_shops(conn: psycopg.Connection[Any]) -> list[dict[str, str]]:
    """The chain's shops, id and name, as HQ has them now."""
    with _pulling():
        return shop_list(conn)


def save_transfers(data_dir: Path, transfers: list[dict[str, Any]], pulled_at: str,
                   shops: list[dict[str, str]] | None = None) -> None:
    """Write the open transfers (and the chain's shops, when given) whole (0600). OSError when the
    directory cannot take them."""
    write_hq_document(data_dir, TRANSFERS_NAME, {"pulled_at": pulled_at, "transfers": transfers,
                                                 **({} if shops is None else {"shops": shops})})


class TransferFile:
    """hq/transfers.json as the app reads it (app/transfers.py TransferSource)."""

    def __init__(self, data_dir: Path):
        self.data_dir = data_dir

    def _listed(self, key: str) -> list[dict[str, Any]] | None:
        """The file's list under key, its objects only; None: no file, no such list, or unreadable (logged)."""
        try:
            held = json.loads(transfers_path(self.data_dir).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as err:
            log.warning("cannot read %s: %s", transfers_path(self.data_dir), err)
            return None
        found = held.get(key) if isinstance(held, dict) else None
        return [t for t in found if isinstance(t, dict)] if isinstance(found, list) else None

    def open_transfers(self) -> list[dict[str, Any]] | None:
        return self._listed("transfers")

    def shops(self) -> list[dict[str, Any]] | None:
        return self._listed("shops")


class TransferPull:
    """The transfers half of a sync's pull: fetch the chain's shops and what HQ has open for the
    shop, keep them (only when they changed: an idle sync writes nothing). Returns how many
    transfers are open (None: HQ has none to give, its schema being older)."""

    def __init__(self, data_dir: Path, clock: Any = utc_now):
        self.data_dir = data_dir
        self.clock = clock
        held = TransferFile(data_dir)
        self._last: tuple[Any, Any] = (held.open_transfers(), held.shops())

    def __call__(self, conn: psycopg.Connection[Any]) -> int | None:
        shops = fetch_shops(conn)
        found = fetch_open_transfers(conn)
        if found is None:
            return None
        if (found, shops) != self._last:
            try:
                save_transfers(self.data_dir, found, self.clock(), shops)
                self._last = (found, shops)
            except OSError as err:
                log.warning("sync: cannot keep the open transfers: %s", err)
        return len(found)
