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
from tui_pos.domain.catalog import Product, parse_catalog_csv
from tui_pos.domain.errors import BadInput, StorageError
from tui_pos.app.till import Till, currency_of, load_catalog, open_ledger, shop_snapshot, tax_rates_of
from tui_pos.app.clock import utc_now
from tui_pos.domain.auth import Approval, hash_pin
from tui_pos.store import db
from tui_pos.store.audit import event_record
from tui_pos.store.crash import crash_point
from tui_pos.store.documents import DocumentFailed
from tui_pos.store.ledger import Ledger
from tui_pos.store.journal import make_private_dir

# Written in the README too: the demo shop's people.
DEMO_USERS = (("demo", "cashier", "1234"), ("manager", "manager", "9999"))
SYSTEM_ACTOR = "system"  # who the audit log says loaded the demo shop or imported from set-up code


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
            out.write(CONFIG_TEMPLATE.format(till_id="T1", shop_name="tui-pos demo shop" if demo else "tui-pos shop"))
    config = load_config(data_dir)
    for directory in config.storage.journal_dirs:
        make_private_dir(directory)
    products = 0
    with storage_errors(), closing(open_ledger(config)) as ledger:
        ledger.connection()  # the schema, created or migrated
        if demo:
            products = _load_demo(config, ledger)
    if shift_float is not None:
        till = Till.open(config, cashier=DEMO_USERS[0][0], keep_cart=False)
        try:
            till.open_shift(shift_float)
        finally:
            till.close()
    return InitResult(config, created, products)


def _load_demo(config: Config, ledger: Ledger) -> int:
    """The demo people and catalog, with their audit entries, in one transaction; refused
    (nothing changed) unless the shop has neither people nor products."""
    csv_text = resources.files("tui_pos").joinpath("demo_catalog.csv").read_text(encoding="utf-8")
    products = parse_catalog_csv(csv_text, tax_rates_of(config), currency_of(config))
    users = [{"name": n, "role": r, "pin_hash": hash_pin(p)} for n, r, p in DEMO_USERS]

    kept = shop_snapshot(config).load() or {}
    if kept.get("users") or kept.get("products"):  # the database is gone, not the shop: a backup brings it back
        raise BadInput(f"{config.data_dir} is a shop already (its people and products are kept beside the journal): "
                       "the demo shop is loaded only into a new, empty one; nothing was changed (a lost database "
                       "comes back with 'tui-pos restore')")

    def load(conn: sqlite3.Connection) -> list[dict[str, Any]]:
        if db.load_users(conn) or db.load_products(conn):
            raise BadInput(f"{config.data_dir} is a shop already (it has people or products): the demo shop is "
                           "loaded only into a new, empty one; nothing was changed")
        now = utc_now()
        events = []
        for user in users:
            db.insert_user(conn, user["name"], user["role"], user["pin_hash"])
            events.append(event_record(config.till_id, "user_add", SYSTEM_ACTOR, subject=user["name"],
                                       detail={"role": user["role"], "demo": True}, at=now))
        db.write_products(conn, [p.__dict__ for p in products], now)
        return events + [_catalog_event(config, SYSTEM_ACTOR, None, "demo_catalog.csv", [], products, now)]

    ledger.change_audited(load)
    refresh_snapshot(config, ledger)
    return len(products)


@contextmanager
def storage_errors() -> Iterator[None]:
    """Turn a database failure during set-up work into a message for a person."""
    try:
        yield
    except (sqlite3.Error, OSError) as err:
        raise StorageError(f"the database cannot be written ({err}); nothing was changed") from None


def _catalog_event(config: Config, actor: str | None, manager: str | None, source: str,
                   before: list[dict[str, Any]], products: list[Product], now: str) -> dict[str, Any]:
    """The audit event of a catalog import: what was added, every price that changed (old and
    new), which products changed otherwise."""
    old = {row["barcode"]: row for row in before}
    added = [{"barcode": p.barcode, "price": p.price} for p in products if p.barcode not in old]
    changed = [{"barcode": p.barcode, "was": old[p.barcode]["price"], "now": p.price} for p in products
               if p.barcode in old and old[p.barcode]["price"] != p.price]
    details = [p.barcode for p in products if p.barcode in old and any(
        (bool(old[p.barcode][c]) if c == "open_price" else old[p.barcode][c]) != getattr(p, c)
        for c in ("name", "tax_code", "department", "open_price", "stock"))]
    unchanged = sum(1 for p in products if p.barcode in old) - len({c["barcode"] for c in changed} | set(details))
    return event_record(config.till_id, "catalog_import", actor, subject=f"{len(products)} products",
                        approved_by=manager, at=now,
                        detail={"file": source, "added": added, "changed": changed, "details_changed": details,
                                "unchanged": unchanged})


def _store_catalog(config: Config, ledger: Ledger, products: list[Product], actor: str | None,
                   manager: str | None, source: str, now: str,
                   storing: Callable[[], ContextManager[Any]]) -> int:
    """Every product and the import's audit entry in one transaction (no entry, no change); then
    the snapshot beside the journal."""
    def write(conn: sqlite3.Connection) -> list[dict[str, Any]]:
        before = db.load_products(conn)
        db.write_products(conn, [p.__dict__ for p in products], now)
        return [_catalog_event(config, actor, manager, source, before, products, now)]

    with storing(), storage_errors():
        ledger.change_audited(write)
        crash_point("catalog_after_commit")
        refresh_snapshot(config, ledger)
    return len(products)


def import_catalog(till: Till, text: str, approval: Approval | None = None, source: str = "",
                   storing: Callable[[], ContextManager[Any]] = nullcontext) -> int:
    """Validate the whole CSV, then write every product and the import's audit entry (each old
    and new price) in one transaction, and refresh the snapshot. A manager's decision (an
    Approval for "catalog", or a manager logged in), except while the shop has no active manager
    (a new shop being set up). storing: entered around the storing part (the CLI holds
    interrupts there: the outcome is reported once it is decided)."""
    config = till.config
    products = parse_catalog_csv(text, tax_rates_of(config), currency_of(config))
    users = till.ledger.users()
    if users is None:
        raise StorageError("the database cannot be read: the catalog can be changed only when it can")
    manager = None
    if any(u["active"] and u["role"] == "manager" for u in users):
        manager = till.require_manager(approval, "catalog", "changing the catalog needs a manager")
    count = _store_catalog(config, till.ledger, products, manager or till.cashier or None, manager, source,
                           till.clock(), storing)
    till.catalog = load_catalog(config, till.ledger)  # this till sells at the new prices at once
    return count


def import_catalog_text(config: Config, text: str,
                        storing: Callable[[], ContextManager[Any]] = nullcontext) -> int:
    """import_catalog for set-up code and tests running as the shop's own account (which can
    write the database file anyway): no person signs in; audited as SYSTEM_ACTOR, in the same
    transaction. Whatever a person does goes through import_catalog."""
    products = parse_catalog_csv(text, tax_rates_of(config), currency_of(config))
    with closing(open_ledger(config)) as ledger:
        return _store_catalog(config, ledger, products, SYSTEM_ACTOR, None, "", utc_now(), storing)


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
