"""What HQ changed for this till's shop, applied (the pull of a sync: tui_pos.sync.pull).

HQ sends the rows changed since the version this till applied last (products as its shop sells
them, the chain's users with their PIN hashes); this use case compares them with what the till
has and stores only the differences, through the one port that changes the shop (change_shop):
every product, every user change and their audit entries in ONE transaction, all of it or none.
Applying the same changes again changes nothing (a version lost from sync-state.json costs a
pull from 0, never a double change). Then the shop snapshot beside the journal is refreshed (the
till sells and logs in without the database) and the running till's catalog is swapped: a sale
in progress keeps the prices it was scanned at (its lines hold them), the next scan uses HQ's.

HQ's tax rates and settings (limits, reason codes) are kept in a document of their own
(chain-settings.json, in the data directory and beside every journal) and laid over config.toml's
at every start (chain_config, called by bootstrap) and at once in the running till. The document
is written before the database's transaction: HQ's products may need HQ's tax rates; if the
transaction then fails, the next pull applies the rest (the version is not advanced).

HQ is the authority for what it sends: a user's PIN and switch, a product's name, price, tax and
department, a tax rate, a limit, a list of reasons. What it does not send stays the till's: its own users and products, each product's
stock, weighing and reorder fields, a user's role (HQ never changes one; a till user of HQ's name with another role
keeps it and is named in role_differs).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from tui_pos.app.catalog_import import catalog_event
from tui_pos.app.snapshot import refresh_snapshot
from tui_pos.app.till import Till, tax_rates_of
from tui_pos.config import CHAIN_LIMITS as LIMITS
from tui_pos.config import Config
from tui_pos.domain.auth import find_user
from tui_pos.domain.catalog import CHAIN_PRODUCT_FIELDS, Product, TaxRate
from tui_pos.domain.errors import N_, DocumentFailed, PosError, StorageError
from tui_pos.domain.records import UserAction, UserChanged

HQ_ACTOR = "hq"  # who made a pulled change, in the audit log (a reserved user name)
PRODUCT_FIELDS = CHAIN_PRODUCT_FIELDS
USER_FIELDS = ("name", "role", "pin_hash", "active")
CHAIN_SETTINGS_DOCUMENT = "chain-settings.json"  # HQ's tax rates and settings, as applied last


class ChainRefused(PosError):
    """HQ's changes cannot be applied at this till as it is configured (another currency, a tax
    code it does not know): nothing was changed; str() says what to do."""


@dataclass(frozen=True)
class ChainChanges:
    """What HQ changed for this till's shop after the version the till asked from, up to version."""

    version: int
    products: tuple[Mapping[str, Any], ...] = ()
    users: tuple[Mapping[str, Any], ...] = ()
    tax_rates: tuple[Mapping[str, Any], ...] = ()
    settings: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ChainChanges:
        """HQ's answer (hq.catalog_changes); ChainRefused when it is not one."""
        try:
            return cls(int(data["version"]),
                       tuple({k: p[k] for k in PRODUCT_FIELDS} for p in data.get("products") or ()),
                       tuple({k: u[k] for k in USER_FIELDS} for u in data.get("users") or ()),
                       tuple(dict(t) for t in data.get("tax_rates") or ()), dict(data.get("settings") or {}))
        except (KeyError, TypeError, ValueError) as err:
            raise ChainRefused(f"HQ's catalog changes are not what this tui-pos reads ({err!r}): upgrade tui-pos") \
                from None


@dataclass(frozen=True)
class Applied:
    version: int
    products: int  # products added or changed at this till
    users: int  # user changes stored (added, new PIN, enabled, disabled)
    role_differs: tuple[str, ...] = ()  # till users HQ has under another role (kept as they are)
    settings: int = 0  # tax rates, limits, reasons: how many of the kinds kept changed


def apply_chain_changes(till: Till, changes: ChainChanges) -> Applied:
    """Store what differs from HQ's changes, whole or not at all (see the module). StorageError when
    the database cannot be read or written (nothing changed: pull again later); ChainRefused when
    this till cannot take them as it is configured."""
    _check_currency(till, changes.settings.get("currency"))
    if not (changes.products or changes.users or changes.tax_rates or set(changes.settings) - {"currency"}):
        return Applied(changes.version, 0, 0)  # nothing new (most syncs): the database is not even read
    products_now, users_now = till.ledger.products(), till.ledger.users()
    if products_now is None or users_now is None:
        raise StorageError(N_("the database cannot be read: HQ's changes are applied when it can"))
    document = till.documents.chain
    saved = (document.load() if document is not None else None) or {}
    settings = merged_settings(saved, changes)
    config = chain_config(till.config, settings)
    products = _changed_products(tax_rates_of(config), products_now, changes.products)
    records, role_differs = _user_changes(till, users_now, changes)
    if settings != saved and document is not None:
        try:
            document.save(settings, everywhere=True)
        except DocumentFailed as err:
            raise StorageError(N_("HQ's tax rates and settings cannot be kept ({error}): nothing was applied"),
                               error=str(err)) from None
    if products or records:
        now = till.clock()
        source = f"HQ catalog version {changes.version}"
        till.ledger.change_shop(
            [r.to_record() for r in records], [p.__dict__ for p in products] if products else None, at=now,
            catalog_event=lambda before: catalog_event(till.config, HQ_ACTOR, None, source, before, products, now,
                                                       action="catalog_pull"))
        refresh_snapshot(till.session.snapshot, till.ledger)
        for record in records:
            if record.action == "user_set_pin":
                till.lockout.succeeded(record.name)  # a new PIN lifts a lockout, as at the till
    if config != till.config:
        till.use_config(config)  # its limits, reasons and tax rates now; the catalog read again
    elif products:
        till.reload_catalog()
    return Applied(changes.version, len(products), len(records), tuple(role_differs),
                   settings=sum(1 for _ in _differences(saved, settings)))


def merged_settings(saved: Mapping[str, Any], changes: ChainChanges) -> dict[str, Any]:
    """The chain-settings document after these changes: tax rates by code (percent text, as in
    config.toml), the limits as HQ wrote them, reasons by kind (the currency is only checked)."""
    merged = {key: value for key, value in saved.items()}
    if changes.tax_rates:
        merged["tax_rates"] = {**saved.get("tax_rates", {}),
                               **{str(r["code"]): _percent(int(r["rate_bp"])) for r in changes.tax_rates}}
    for key in LIMITS:
        if key in changes.settings:
            merged[key] = str(changes.settings[key])
    if isinstance(changes.settings.get("reasons"), Mapping):
        merged["reasons"] = {**saved.get("reasons", {}),
                             **{str(kind): [str(r) for r in reasons] for kind, reasons in changes.settings["reasons"].items()}}
    return merged


def chain_config(config: Config, settings: Mapping[str, Any] | None) -> Config:
    """config.toml's configuration with HQ's tax rates and settings laid over it (HQ's win; a tax
    code or a kind of reasons HQ does not name stays the till's)."""
    if not settings:
        return config
    changes: dict[str, Any] = {}
    if settings.get("tax_rates"):
        changes["tax_rates"] = {**config.tax_rates, **settings["tax_rates"]}
    changes.update({key: settings[key] for key in LIMITS if key in settings})
    if settings.get("reasons"):
        lists = {**config.reason_lists, **{kind: tuple(reasons) for kind, reasons in settings["reasons"].items()}}
        changes.update(reason_lists=lists, reasons=lists.get("refund", config.reasons))
    return replace(config, **changes)


def _differences(saved: Mapping[str, Any], settings: Mapping[str, Any]) -> list[str]:
    return [key for key in settings if saved.get(key) != settings[key]]


def _percent(rate_bp: int) -> str:
    return f"{rate_bp // 100}.{rate_bp % 100:02d}"


def _check_currency(till: Till, currency: Any) -> None:
    if currency is None:
        return
    code, exponent = str(currency.get("code")), int(currency.get("exponent", -1))
    if (code, exponent) != (till.currency.code, till.currency.exponent):
        raise ChainRefused(f"HQ's currency is {code} with {exponent} decimals, this till's {till.currency.code} with "
                           f"{till.currency.exponent} ([shop] currency and exponent in config.toml): nothing was applied")


def _changed_products(rates: Mapping[str, TaxRate], held: list[dict[str, Any]],
                      pulled: tuple[Mapping[str, Any], ...]) -> list[Product]:
    """HQ's products that differ from the till's, each keeping what is the till's own (its stock
    count, whether it is weighed, its reorder level and quantity)."""
    unknown = sorted({str(p["tax_code"]) for p in pulled if p["tax_code"] not in rates})
    if unknown:
        raise ChainRefused(f"HQ's products use tax code(s) {', '.join(unknown)}, which neither HQ's tax rates nor "
                           "this till's ([tax] rates in config.toml) have: nothing was applied")
    by_code = {row["barcode"]: row for row in held}
    changed = []
    for row in pulled:
        mine = by_code.get(row["barcode"])
        hqs = {"barcode": str(row["barcode"]), "name": str(row["name"]), "price": int(row["price"]),
               "tax_code": str(row["tax_code"]), "department": str(row["department"]), "open_price": bool(row["open_price"])}
        product = Product(**{**(mine or {}), **hqs})  # the till's own fields (stock, weighed, reorder) kept
        if mine is None or any((bool(mine[c]) if c == "open_price" else mine[c]) != getattr(product, c)
                               for c in PRODUCT_FIELDS):
            changed.append(product)
    return changed


def _user_changes(till: Till, held: list[dict[str, Any]], changes: ChainChanges) -> tuple[list[UserChanged], list[str]]:
    """The UserChanged records that make the till's users what HQ says (in order: add, PIN, switch)."""
    records: list[UserChanged] = []
    role_differs: list[str] = []
    now = till.clock()

    def record(action: UserAction, name: str, **facts: Any) -> None:
        records.append(UserChanged.new(till.config.till_id, action, name, actor=HQ_ACTOR, approved_by=None, at=now,
                                       detail={"hq_version": changes.version}, **facts))

    for user in changes.users:
        mine = find_user(held, str(user["name"]))
        if mine is None:
            if any(str(h["name"]).casefold() == str(user["name"]).casefold() for h in held):
                role_differs.append(str(user["name"]))  # two till users by case only: nobody's, never a guess
                continue
            record("user_add", str(user["name"]), role=str(user["role"]), pin_hash=str(user["pin_hash"]))
            if not user["active"]:
                record("user_disable", str(user["name"]))
            continue
        if mine["role"] != user["role"]:
            role_differs.append(str(mine["name"]))
        if mine["pin_hash"] != user["pin_hash"]:
            record("user_set_pin", str(mine["name"]), pin_hash=str(user["pin_hash"]))
        if bool(mine["active"]) != bool(user["active"]):
            record("user_enable" if user["active"] else "user_disable", str(mine["name"]))
    return records, role_differs
