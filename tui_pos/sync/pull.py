"""The till's pull: what HQ changed for its shop since the catalog version the till applied last,
in ONE answer (hq.catalog_changes, SECURITY DEFINER: the till's role reaches HQ's catalog only
through it; a till back after a week offline catches up in that one call), handed to the app to
apply whole (app.chain_catalog.apply_chain_changes, through the till's ShopChanges port).

The caller keeps the version applied (sync-state.json's catalog_version) and asks from it next
time; applying is idempotent, so a version lost costs a pull from 0, never a change made twice.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tui_pos.app.chain_catalog import Applied, ChainChanges, ChainRefused, apply_chain_changes
from tui_pos.app.till import Till
from tui_pos.domain.errors import N_, StorageError
from tui_pos.hq.connection import HqError, HqUnreachable, first_line

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger("tui_pos.sync.pull")

Target = Callable[[ChainChanges], Applied]  # e.g. functools.partial(apply_chain_changes, till)


@dataclass(frozen=True)
class Pulled:
    version: int  # HQ's catalog version this till now has applied
    products: int  # products added or changed at the till
    users: int  # user changes stored at the till
    role_differs: tuple[str, ...] = ()  # till users HQ has under another role (kept as they are)

    @property
    def applied(self) -> int:
        return self.products + self.users


def fetch_changes(conn: psycopg.Connection[Any], since: int) -> ChainChanges:
    """What HQ changed for this till's shop after version `since` (0: everything)."""
    import psycopg

    try:
        row = conn.execute("SELECT hq.catalog_changes(%s)", (max(0, since),)).fetchone()
    except psycopg.OperationalError as err:
        raise HqUnreachable(N_("lost HQ during the pull: {error}"), error=first_line(err)) from None
    except psycopg.Error as err:
        raise HqError(N_("HQ refused the pull: {error}"), error=first_line(err)) from None
    assert row is not None
    return ChainChanges.from_dict(row[0])


class PullRefused(HqError):
    """HQ's changes could not be applied at this till (another currency, the database unreadable):
    nothing of them was; str() says why. The next sync tries again."""


def pull(conn: psycopg.Connection[Any], target: Target, since: int) -> Pulled:
    """Fetch HQ's changes since `since` and apply them (all or none); the version now applied.
    HqUnreachable / HqError from HQ; PullRefused from the till (nothing applied)."""
    changes = fetch_changes(conn, since)
    try:
        applied = target(changes)
    except (ChainRefused, StorageError) as err:
        raise PullRefused(f"HQ's catalog version {changes.version} was not applied: {err}") from None
    if applied.role_differs:
        log.warning("pull: HQ has %s under another role than this till's: kept as the till has them",
                    ", ".join(applied.role_differs))
    if applied.products or applied.users or applied.settings:
        log.info("pull: HQ's catalog version %d applied: %d product(s), %d user change(s), %d setting(s)",
                 applied.version, applied.products, applied.users, applied.settings)
    return Pulled(applied.version, applied.products, applied.users, applied.role_differs)


class CatalogPull:
    """The pull half of a sync step, for one till: asks from the version it applied last (the
    state file's catalog_version when it starts, then what each pull applied)."""

    def __init__(self, target: Target, since: int = 0):
        self.target = target
        self.since = since

    @classmethod
    def into(cls, till: Till, since: int = 0) -> CatalogPull:
        """The pull that applies HQ's changes to this till (its catalog, users, settings, snapshot)."""
        return cls(functools.partial(apply_chain_changes, till), since)

    def __call__(self, conn: psycopg.Connection[Any]) -> Pulled:
        pulled = pull(conn, self.target, self.since)
        self.since = pulled.version
        return pulled
