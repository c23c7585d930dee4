"""Setting a shop up: the data directory, config.toml, the schema, the demo shop, catalog import."""

from __future__ import annotations

import os
import sqlite3
import stat
from contextlib import closing, contextmanager, nullcontext
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Callable, ContextManager, Iterator

from tui_pos.config import CONFIG_NAME, CONFIG_TEMPLATE, Config, load_config
from tui_pos.core.catalog import parse_catalog_csv
from tui_pos.core.errors import BadInput, StorageError
from tui_pos.core.till import Till, currency_of, open_ledger, shop_snapshot, tax_rates_of, utc_now
from tui_pos.core.users import hash_pin
from tui_pos.store import db
from tui_pos.store.documents import DocumentFailed
from tui_pos.store.ledger import Ledger
from tui_pos.store.journal import make_private_dir

# Written in the README too: the demo shop's people.
DEMO_USERS = (("demo", "cashier", "1234"), ("manager", "manager", "9999"))


@dataclass(frozen=True)
class InitResult:
    config: Config
    created: bool  # the data directory was new
    products: int


def init_shop(data_dir: Path, demo: bool, shift_float: int | None = None) -> InitResult:
    """Create (or complete) a data directory; with demo, load the demo catalog and people.
    shift_float: also open a shift with this float, by the demo cashier (tests and benchmarks)."""
    created = not (data_dir / CONFIG_NAME).exists()
    make_private_dir(data_dir)
    if created:
        fd = os.open(data_dir / CONFIG_NAME, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(CONFIG_TEMPLATE.format(till_id="T1", shop_name="tui-pos demo shop" if demo else "tui-pos shop"))
    config = load_config(data_dir)
    for directory in config.storage.journal_dirs:
        make_private_dir(directory)
    products = 0
    with storage_errors(), closing(open_ledger(config)) as ledger:
        conn = ledger.connection()
        if demo:
            csv_text = resources.files("tui_pos").joinpath("demo_catalog.csv").read_text(encoding="utf-8")
            db.upsert_users(conn, [{"name": n, "role": r, "pin_hash": hash_pin(p)} for n, r, p in DEMO_USERS])
            products = import_catalog_text(config, csv_text)
    if shift_float is not None:
        till = Till.open(config, cashier=DEMO_USERS[0][0], keep_cart=False)
        try:
            till.open_shift(shift_float)
        finally:
            till.close()
    return InitResult(config, created, products)


@contextmanager
def storage_errors() -> Iterator[None]:
    """Turn a database failure during set-up work into a message for a person."""
    try:
        yield
    except (sqlite3.Error, OSError) as err:
        raise StorageError(f"the database cannot be written ({err}); nothing was changed") from None


def import_catalog_text(config: Config, text: str,
                        storing: Callable[[], ContextManager[Any]] = nullcontext) -> int:
    """Validate the whole CSV, then upsert every product in one transaction; refresh the snapshot.
    storing: entered around the storing part (the CLI holds interrupts there: the outcome is
    reported once it is decided)."""
    products = parse_catalog_csv(text, tax_rates_of(config), currency_of(config))
    with storing(), storage_errors(), closing(open_ledger(config)) as ledger:
        count = db.upsert_products(ledger.connection(), [p.__dict__ for p in products], utc_now())
        refresh_snapshot(config, ledger)
    return count


def refresh_snapshot(config: Config, ledger: Ledger) -> None:
    """Copy the catalog and the users beside the journal, so the till can log in and sell
    when the database cannot be read."""
    try:
        shop_snapshot(config).save({"products": ledger.products() or [], "users": ledger.users() or []},
                                   everywhere=True)
    except DocumentFailed:
        pass  # the snapshot is a fallback; the database already has everything


MAX_CATALOG_BYTES = 32 * 1024 * 1024  # ~300,000 products: far beyond a shop, far below the till's memory


def import_catalog_file(config: Config, path: Path,
                        storing: Callable[[], ContextManager[Any]] = nullcontext) -> int:
    return import_catalog_text(config, read_catalog_file(path), storing)


def read_catalog_file(path: Path) -> str:
    """The text of a CSV file: a regular file (not /dev/zero, a FIFO or a terminal: those never end), at
    most MAX_CATALOG_BYTES (never read further than that), UTF-8 text without NUL bytes."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)  # NONBLOCK: opening a FIFO does not wait
        with os.fdopen(fd, "rb") as file:
            if not stat.S_ISREG(os.fstat(file.fileno()).st_mode):
                raise BadInput(f"{path} is not a regular file: export the catalog to a .csv file and import that")
            data = file.read(MAX_CATALOG_BYTES + 1)
    except OSError as err:
        raise BadInput(f"cannot read {path}: {err.strerror}") from None
    if len(data) > MAX_CATALOG_BYTES:
        raise BadInput(f"{path} is larger than {MAX_CATALOG_BYTES // 2**20} MB: not a catalog; split it")
    if b"\0" in data:
        raise BadInput(f"{path} holds binary data, not CSV text (save the catalog as CSV, UTF-8)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise BadInput(f"{path} is not UTF-8 text (save the CSV as UTF-8)") from None
