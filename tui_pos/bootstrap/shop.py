"""Setting a shop up: the data directory, config.toml, the schema, the demo shop; a catalog
imported by set-up code (no person signs in) and the reading of a catalog file."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, closing, contextmanager, nullcontext
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from tui_pos.app.catalog_import import Imported, Openings, catalog_event, store_catalog
from tui_pos.app.clock import utc_now
from tui_pos.app.snapshot import refresh_snapshot
from tui_pos.app.till import currency_of, tax_rates_of
from tui_pos.bootstrap.till import SYSTEM_ACTOR, open_ledger, open_till, shop_snapshot
from tui_pos.config import CONFIG_NAME, Config, config_text, load_config
from tui_pos.domain.auth import hash_pin
from tui_pos.domain.catalog import parse_catalog_csv
from tui_pos.domain.errors import BadInput, StorageError
from tui_pos.domain.records import UserChanged
from tui_pos.files import read_named
from tui_pos.i18n import N_, system_language, translator
from tui_pos.store.journal import make_private_dir
from tui_pos.store.ledger import Ledger, ShopNotEmpty

# Written in the README too: the demo shop's people.
DEMO_USERS = (("demo", "cashier", "1234"), ("manager", "manager", "9999"))


@dataclass(frozen=True)
class InitResult:
    config: Config
    created: bool  # the data directory was new
    products: int


def init_shop(data_dir: Path, demo: bool, shift_float: int | None = None) -> InitResult:
    """Create (or complete) a data directory; with demo, load the demo catalog and people.
    On a shop that has people or products, init never changes them (nor anything else): the demo
    is loaded only into an empty shop, else BadInput. shift_float: also open a shift with this
    float, by the demo cashier (tests and benchmarks)."""
    created = not (data_dir / CONFIG_NAME).exists()
    make_private_dir(data_dir)
    if created:
        fd = os.open(data_dir / CONFIG_NAME, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(new_config_text(demo))
    config = load_config(data_dir)
    for directory in config.storage.journal_dirs:
        make_private_dir(directory)
    products = 0
    with storage_errors(), closing(open_ledger(config)) as ledger:
        ledger.connection()  # the schema, created or migrated
        if demo:
            products = _load_demo(config, ledger)
    if shift_float is not None:
        till = open_till(config, cashier=DEMO_USERS[0][0], keep_cart=False)
        try:
            till.open_shift(shift_float)
        finally:
            till.close()
    return InitResult(config, created, products)


def new_config_text(demo: bool, language: str = "") -> str:
    """A new shop's config.toml in the system's language (its locale: LANG and the others, see
    i18n.system_language), or the language given: [ui] language, the demo shop's name, the reason
    codes and the receipt's footer in it. The language is written down, so that a till started
    by systemd (with no locale) keeps the shop's language."""
    language = language or system_language()
    name = translator(language).gettext(N_("tui-pos demo shop") if demo else N_("tui-pos shop"))
    return config_text(till_id="T1", shop_name=name, language=language)


def _load_demo(config: Config, ledger: Ledger) -> int:
    """The demo people and catalog, with their audit entries, in one transaction; refused
    (nothing changed) unless the shop has neither people nor products."""
    csv_text = resources.files("tui_pos").joinpath("demo_catalog.csv").read_text(encoding="utf-8")
    products = parse_catalog_csv(csv_text, tax_rates_of(config), currency_of(config))
    kept = shop_snapshot(config).load() or {}
    if kept.get("users") or kept.get("products"):  # the database is gone, not the shop: a backup brings it back
        raise BadInput(N_("{dir} is a shop already (its people and products are kept beside the journal): the demo "
                          "shop is loaded only into a new, empty one; nothing was changed (a lost database comes back "
                          "with 'tui-pos restore')"), dir=str(config.data_dir))
    now = utc_now()
    people = [UserChanged.new(config.till_id, "user_add", name, actor=SYSTEM_ACTOR, approved_by=None, at=now,
                              role=role, pin_hash=hash_pin(pin), detail={"demo": True}).to_record()
              for name, role, pin in DEMO_USERS]
    try:
        ledger.change_shop(people, [p.__dict__ for p in products], at=now, new_shop=True,
                           openings=Openings(config.till_id, products, SYSTEM_ACTOR, None, now),
                           catalog_event=lambda before: catalog_event(config, SYSTEM_ACTOR, None, "demo_catalog.csv",
                                                                      before, products, now))
    except ShopNotEmpty:
        raise BadInput(N_("{dir} is a shop already (it has people or products): the demo shop is loaded only into a "
                          "new, empty one; nothing was changed"), dir=str(config.data_dir)) from None
    refresh_snapshot(shop_snapshot(config), ledger)
    return len(products)


@contextmanager
def storage_errors() -> Iterator[None]:
    """Turn a database failure during set-up work into a message for a person."""
    try:
        yield
    except (sqlite3.Error, OSError) as err:
        raise StorageError(N_("the database cannot be written ({error}); nothing was changed"), error=str(err)) from None


def import_catalog_text(config: Config, text: str,
                        storing: Callable[[], AbstractContextManager[Any]] = nullcontext) -> Imported:
    """import_catalog for set-up code and tests running as the shop's own account (which can
    write the database file anyway): no person signs in; audited as SYSTEM_ACTOR, in the same
    transaction. Whatever a person does goes through import_catalog."""
    products = parse_catalog_csv(text, tax_rates_of(config), currency_of(config))
    with closing(open_ledger(config)) as ledger:
        return store_catalog(config, ledger, shop_snapshot(config), products, SYSTEM_ACTOR, None, "", utc_now(),
                             storing)


MAX_CATALOG_BYTES = 32 * 1024 * 1024  # ~300,000 products: far beyond a shop, far below the till's memory


def import_catalog_file(config: Config, path: Path,
                        storing: Callable[[], AbstractContextManager[Any]] = nullcontext) -> Imported:
    return import_catalog_text(config, read_catalog_file(path), storing)


def read_catalog_file(path: Path) -> str:
    """The text of a CSV file: a regular file (not /dev/zero, a FIFO or a terminal: those never end), at
    most MAX_CATALOG_BYTES (never read further than that), UTF-8 text without NUL bytes."""
    data = read_named(path, MAX_CATALOG_BYTES,
                      N_("{file} is not a regular file: export the catalog to a .csv file and import that"),
                      N_("{file} is larger than {mb} MB: not a catalog; split it"))
    if b"\0" in data:
        raise BadInput(N_("{path} holds binary data, not CSV text (save the catalog as CSV, UTF-8)"), path=str(path))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise BadInput(N_("{path} is not UTF-8 text (save the CSV as UTF-8)"), path=str(path)) from None
