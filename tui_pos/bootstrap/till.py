"""Start-up: config -> store -> services -> Till.

The one place that knows both the use cases (app/) and the adapters that fulfil their ports
(store/): it opens the ledger (the journal, SQLite, the numbering lock), checks the audit anchor
and the currency, replays the journal, notes configuration changes, and hands the store, the
catalog, the documents and the PIN lockout to a Till. The CLI and the UI get their till here.
"""

from __future__ import annotations

import hashlib
import json
import logging
import tomllib
from collections.abc import Callable
from typing import Any

from tui_pos.app.catalog_import import record_held_stock
from tui_pos.app.chain_catalog import CHAIN_SETTINGS_DOCUMENT, chain_config
from tui_pos.app.clock import utc_now
from tui_pos.app.ports import Syncer
from tui_pos.app.selling import CART_DOCUMENT, HELD_DOCUMENT
from tui_pos.app.shifts import SHIFT_DOCUMENT
from tui_pos.app.till import (
    SHOP_SNAPSHOT,
    Till,
    TillDocuments,
    catalog_from,
    currency_refusal,
)
from tui_pos.app.transfers import TransferSource
from tui_pos.bootstrap.payments import gateways_of
from tui_pos.config import CONFIG_NAME, Config, ConfigError
from tui_pos.domain.catalog import Catalog
from tui_pos.domain.errors import StorageError
from tui_pos.domain.storage import ReplayResult
from tui_pos.domain.sync import SyncState, waiting
from tui_pos.ops.pin_lockout import pin_lockout
from tui_pos.store.background import BackgroundReplay
from tui_pos.store.crash import crash_point
from tui_pos.store.documents import DurableDocument
from tui_pos.store.journal import Journal
from tui_pos.store.ledger import Ledger

log = logging.getLogger(__name__)
SYSTEM_ACTOR = "system"  # who the audit log says loaded the demo shop, imported from set-up code or recorded held stock


def open_ledger(config: Config) -> Ledger:
    journal = Journal(config.storage.journal_dirs, config.till_id, config.data_dir)
    return Ledger(config.db_path, journal, busy_timeout_ms=config.storage.busy_timeout_ms,
                  retry_budget_ms=config.storage.retry_budget_ms)


def shop_snapshot(config: Config) -> DurableDocument:
    """The catalog and the people beside the journal: sell and log in without SQLite."""
    return DurableDocument(SHOP_SNAPSHOT, config.storage.journal_dirs)


def load_catalog(config: Config, ledger: Ledger) -> Catalog:
    """From SQLite; if the database cannot be read, from the snapshot kept beside the journal."""
    return catalog_from(config, ledger, shop_snapshot(config))


def config_digests(config: Config) -> dict[str, str]:
    """A digest of every setting in config.toml (values are not kept: a hook may hold a token)."""
    try:
        raw = tomllib.loads((config.data_dir / CONFIG_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    flat: dict[str, str] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), inner)
        else:
            flat[prefix] = hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:16]

    walk("", raw)
    return flat


def till_documents(config: Config, keep_cart: bool = True) -> TillDocuments:
    """The till's documents, each in the data directory and beside every journal."""
    everywhere = [config.data_dir, *config.storage.journal_dirs]
    return TillDocuments(DurableDocument(CART_DOCUMENT, everywhere) if keep_cart else None,
                         DurableDocument(HELD_DOCUMENT, everywhere), DurableDocument(SHIFT_DOCUMENT, everywhere),
                         shop_snapshot(config), chain_settings(config))


def chain_settings(config: Config) -> DurableDocument:
    """HQ's tax rates and settings as last pulled (app.chain_catalog), laid over config.toml's."""
    return DurableDocument(CHAIN_SETTINGS_DOCUMENT, [config.data_dir, *config.storage.journal_dirs])


def assemble(config: Config, ledger: Ledger, catalog: Catalog, cashier: str, *,
             clock: Callable[[], str] = utc_now, keep_cart: bool = True) -> Till:
    """A Till over an open ledger, with the data directory's documents, PIN lockout and background replay."""
    def replayer(on_result: Callable[[ReplayResult], None] | None) -> BackgroundReplay:
        return BackgroundReplay(ledger, config.storage.replay_interval_s, on_result)

    def syncer(on_change: Callable[[SyncState], None] | None) -> Syncer:
        return sync_worker(config, ledger, on_change, pull_into=till)  # the Till below: HQ's changes go into it

    till = Till(config, ledger, catalog, cashier, documents=till_documents(config, keep_cart),
                lockout=pin_lockout(config), clock=clock, replayer=replayer,
                syncer=syncer if config.hq.dsn else None, gateways=gateways_of(lambda: till.config),
                crash=crash_point, transfers=lambda: transfer_file(config))
    return till


def transfer_file(config: Config) -> TransferSource:
    """The open transfers the sync keeps in hq/transfers.json (sync/ imported when first asked)."""
    from tui_pos.sync.transfers import TransferFile

    return TransferFile(config.data_dir)


def sync_worker(config: Config, ledger: Ledger, on_change: Callable[[SyncState], None] | None = None,
                pull_into: Till | None = None) -> Syncer:
    """The sync with HQ for a long-running till (tui_pos/sync/worker.py), woken by each commit of
    the ledger: its own connection (the till's role, keepalives on: a dead link is noticed within
    a minute), one sync = sync_once over a read-only view of what is stored (never the ledger's
    connection or lock), the health report from ops, then HQ's changes pulled into pull_into (its
    catalog, users and settings; from the version sync-state.json says it applied) and the transfers open
    for its shop (hq/transfers.json). Imported here,
    not at start-up: psycopg is loaded by the worker's thread when it first connects."""
    from tui_pos.hq.connection import connect
    from tui_pos.hq.enrol import till_dsn
    from tui_pos.ops.health import health_report
    from tui_pos.ops.readonly import read_only_view
    from tui_pos.sync.pull import CatalogPull
    from tui_pos.sync.run import sync_once
    from tui_pos.sync.state import load_state
    from tui_pos.sync.transfers import TransferPull
    from tui_pos.sync.worker import KEEPALIVES, SyncWorker

    pull = CatalogPull.into(pull_into, load_state(config).catalog_version) if pull_into is not None else None
    transfers = TransferPull(config.data_dir) if pull_into is not None else None

    def step(conn: Any, status: dict[str, Any]) -> Any:
        with read_only_view(config) as view:
            return sync_once(conn, view, status, pull=pull, transfers=transfers)

    def count_pending(high_water: int) -> int | None:
        with read_only_view(config) as view:
            return waiting(view.last_commit(), high_water)

    worker = SyncWorker(config, lambda: connect(till_dsn(config), **KEEPALIVES), step, lambda: health_report(config),
                        on_change, count_pending=count_pending)
    ledger.on_commit.append(worker.wake)
    return worker


def open_till(config: Config, cashier: str, replay: bool = True, keep_cart: bool = True,
              clock: Callable[[], str] = utc_now) -> Till:
    """Open the till: replay what the journal holds first, so the database is complete.
    keep_cart=False for one-shot sales (the CLI): they neither restore nor overwrite the
    till's saved sale in progress."""
    config = chain_config(config, chain_settings(config).load())  # HQ's tax rates and settings, if pulled
    ledger = open_ledger(config)
    ledger.check_anchor(config.till_id, clock())  # before anything moves the anchor
    if replay:
        ledger.replay()
    else:
        ledger.refresh_backlog()
    ledger.note_config(config.till_id, config_digests(config))
    refusal = currency_refusal(config, ledger.fix_currency(config.currency_code, config.currency_exponent))
    if refusal:
        ledger.close()
        raise ConfigError(refusal)
    if replay:  # after the journal's records (they were committed first)
        try:
            record_held_stock(config.till_id, ledger, SYSTEM_ACTOR, clock())
        except StorageError as err:  # the next start tries again; on hand counts the holding meanwhile
            log.warning("the stock held before openings were records was not recorded yet: %s", err)
    try:
        ledger.journal.key(create=True)  # now, not when the data disk fails and a sale needs the journal
    except OSError:
        pass  # the first journaled sale tries again
    return assemble(config, ledger, load_catalog(config, ledger), cashier, clock=clock, keep_cart=keep_cart)
