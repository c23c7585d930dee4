"""The transfers HQ has open for this till's shop (hq.open_transfers, SECURITY DEFINER: sent to the
shop, not received yet), pulled at each sync like the catalog and kept in hq/transfers.json (0600,
in the data directory's 0700 hq/) so that `tui-pos stock transfers` and `stock transfer in` work
offline too. Written whole (a temporary file renamed over it); a missing file: never pulled.

    {"pulled_at": ISO, "transfers": [{"transfer", "from_shop", "to_shop", "sent_at",
                                      "lines": [{"barcode", "qty"}]}]}
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tui_pos.app.clock import utc_now
from tui_pos.domain.errors import N_
from tui_pos.hq.connection import HqError, HqUnreachable, first_line
from tui_pos.hq.enrol import HQ_DIR
from tui_pos.sync.state import write_hq_document

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger("tui_pos.sync.transfers")

TRANSFERS_NAME = "transfers.json"


def transfers_path(data_dir: Path) -> Path:
    return data_dir / HQ_DIR / TRANSFERS_NAME


def fetch_open_transfers(conn: psycopg.Connection[Any]) -> list[dict[str, Any]] | None:
    """The transfers HQ has open for this till's shop; None when HQ is older than transfers (its
    schema lacks them: nothing to pull)."""
    import psycopg

    try:
        row = conn.execute("SELECT hq.open_transfers()").fetchone()
    except psycopg.errors.UndefinedFunction:
        return None
    except psycopg.OperationalError as err:
        raise HqUnreachable(N_("lost HQ during the pull of transfers: {error}"), error=first_line(err)) from None
    except psycopg.Error as err:
        raise HqError(N_("HQ refused the pull of transfers: {error}"), error=first_line(err)) from None
    assert row is not None
    return list(row[0] or [])


def save_transfers(data_dir: Path, transfers: list[dict[str, Any]], pulled_at: str) -> None:
    """Write the open transfers whole (0600). OSError when the directory cannot take them."""
    write_hq_document(data_dir, TRANSFERS_NAME, {"pulled_at": pulled_at, "transfers": transfers})


class TransferFile:
    """hq/transfers.json as the app reads it (app/transfers.py TransferSource)."""

    def __init__(self, data_dir: Path):
        self.data_dir = data_dir

    def open_transfers(self) -> list[dict[str, Any]] | None:
        try:
            held = json.loads(transfers_path(self.data_dir).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as err:
            log.warning("cannot read %s: %s", transfers_path(self.data_dir), err)
            return None
        found = held.get("transfers") if isinstance(held, dict) else None
        return [t for t in found if isinstance(t, dict)] if isinstance(found, list) else None


class TransferPull:
    """The transfers half of a sync's pull: fetch what HQ has open for the shop, keep it (only
    when it changed: an idle sync writes nothing). Returns how many are open (None: HQ has none
    to give, its schema being older)."""

    def __init__(self, data_dir: Path, clock: Any = utc_now):
        self.data_dir = data_dir
        self.clock = clock
        self._last: list[dict[str, Any]] | None = TransferFile(data_dir).open_transfers()

    def __call__(self, conn: psycopg.Connection[Any]) -> int | None:
        found = fetch_open_transfers(conn)
        if found is None:
            return None
        if found != self._last:
            try:
                save_transfers(self.data_dir, found, self.clock())
                self._last = found
            except OSError as err:
                log.warning("sync: cannot keep the open transfers: %s", err)
        return len(found)
