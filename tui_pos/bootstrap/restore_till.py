"""A till rebuilt from HQ on a new box (`tui-pos hq restore-till TILL --data-dir DIR`): the cloud
backup. Every record HQ holds of the till goes into a new database in the till's commit order,
each through the store's own insert path (store/ledger.py rebuild: its rows, audit entries and
commit order as when it was committed), so receipt, shift and Z numbers continue after the last
one HQ has and are never used twice; the commit log is the one the till had (the same records in
the same order hash alike), so its next commit follows HQ's last and its stream goes on whole.
Then this box takes the till id over at HQ (hq join with take_over: a new password for the till's
role, this box's id bound to it), which is how a dead box's till id is released.

Last, the chain's catalog, users and settings for the till's shop are pulled as its first sync
would (when that fails, e.g. HQ's currency is not the till's, the result says why and the next
sync tries again). What HQ does not hold is not restored: the old box's config.toml (the new one
is written with the till id and shop name, defaults for the rest, unless DIR has one for this till
already), products it had only locally, and its records never pushed.
"""

from __future__ import annotations

import os
from contextlib import closing
from functools import partial
from pathlib import Path
from typing import Any

from tui_pos.bootstrap.till import open_ledger, open_till
from tui_pos.config import CONFIG_NAME, Config, config_text, load_config
from tui_pos.domain.errors import N_, BadInput, PosError
from tui_pos.store.journal import make_private_dir
from tui_pos.store.ledger import ShopNotEmpty


def restore_till(admin_dsn: str, till_id: str, data_dir: Path) -> dict[str, Any]:
    """Rebuild till_id's data directory in data_dir from HQ (an administrator's DSN) and enrol
    this box as that till; what was done."""
    from tui_pos.hq.connection import connect, translated
    from tui_pos.hq.enrol import join
    from tui_pos.hq.restore import commit_hash, till_at_hq, till_records

    with connect(admin_dsn) as conn, translated(admin_dsn):
        at_hq = till_at_hq(conn, till_id)
        shop, till, mark = at_hq["shop"], at_hq["till"], at_hq["high_water"]
        config = _till_config(data_dir, at_hq)
        with closing(open_ledger(config)) as ledger:
            try:
                restored = ledger.rebuild(till_records(conn, shop, till), till, {"high_water": mark, "shop": shop},
                                          commit_floor=mark)
            except ShopNotEmpty:
                raise BadInput(N_("{dir} holds a shop already (its database or journal is not empty): restore into a "
                                  "new data directory"), dir=str(data_dir)) from None
            last = ledger.view.commits_after(restored - 1, 1) if restored else []
            # the same records in the same order chain to the same hashes: the till's next commit
            # follows HQ's last one (else HQ stores a chain break there, and hq verify says so)
            continues = restored == mark and (not last or last[0]["hash"] == commit_hash(conn, shop, till, mark))
    joined = join(config, admin_dsn, shop, till, take_over=True)
    catalog: dict[str, Any] = {}
    try:
        catalog = _pull_catalog(load_config(data_dir))
    except PosError as err:  # the till is rebuilt and enrolled: the next sync pulls again
        catalog = {"error": str(err)}
    return {"till": till, "shop": shop, "data_dir": str(data_dir), "records": restored,
            "high_water": mark, "chain_continues": continues, "role": joined["role"], "dsn": joined["dsn"],
            "config": joined["config"], "secret": joined["secret"], "catalog": catalog}


def _pull_catalog(config: Config) -> dict[str, Any]:
    """The chain's catalog, users and settings for the till's shop, pulled as its first sync would
    (with the till's own new login) and applied whole; the version kept for the next sync."""
    from tui_pos.app.chain_catalog import apply_chain_changes
    from tui_pos.hq.connection import connect
    from tui_pos.hq.enrol import till_dsn
    from tui_pos.sync.pull import pull
    from tui_pos.sync.state import update_state

    till = open_till(config, cashier="", replay=False, keep_cart=False)
    try:
        with connect(till_dsn(config)) as conn:
            pulled = pull(conn, partial(apply_chain_changes, till), 0)
    finally:
        till.close()
    update_state(config, catalog_version=pulled.version)
    return {"version": pulled.version, "products": pulled.products, "users": pulled.users}


def _till_config(data_dir: Path, at_hq: dict[str, Any]) -> Config:
    """data_dir's configuration: its config.toml when it has one for this till, else a new one
    with the till id and the shop's name (the rest defaults); the journal directories made."""
    make_private_dir(data_dir)
    path = data_dir / CONFIG_NAME
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(config_text(till_id=at_hq["till"], shop_name=_toml_safe(at_hq["shop_name"] or at_hq["shop"])))
    config = load_config(data_dir)
    if config.till_id != at_hq["till"]:
        raise BadInput(N_("{path} is till {till}'s, not till {wanted}'s: restore into a new data directory (or set "
                          "[till] id there)"), path=str(path), till=config.till_id, wanted=at_hq["till"])
    for directory in config.storage.journal_dirs:
        make_private_dir(directory)
    return config


def _toml_safe(text: str) -> str:
    """A shop name as the body of a TOML basic string (HQ's names have no control characters)."""
    return text.replace("\\", "/").replace('"', "'")
