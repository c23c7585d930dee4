"""`tui-pos status`: one read-only snapshot of a till, for an SSH session and for the monitor.

Safe beside a running, selling till and on a damaged directory: what is stored is read through
store/view.py's read-only view (the same answers the till gets: the database opened read-only,
no lock of the till's taken, nothing replayed or written; see tui_pos/ops/readonly.py).
Every key the first `status` had is kept (storage, journal_backlog, quarantined, last_error,
till_id, data_dir, journal_dirs, products, cart); the rest was added for support.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tui_pos.app.clock import utc_now
from tui_pos.app.till import CART_DOCUMENT, HELD_DOCUMENT, SHIFT_DOCUMENT, SHOP_SNAPSHOT, currency_of
from tui_pos.config import Config
from tui_pos.domain.cart import Cart
from tui_pos.domain.columns import pad
from tui_pos.domain.errors import Said
from tui_pos.domain.payments import is_unresolved, paid_not_completed
from tui_pos.domain.shift import shift_report
from tui_pos.domain.shop_time import shop_time
from tui_pos.domain.stock import format_qty, is_low
from tui_pos.domain.sync import age, seconds_since, waiting
from tui_pos.domain.tender import TENDER_WORDS
from tui_pos.i18n import N_, _, message, pgettext
from tui_pos.ops.backup import backup_age_hours, backup_overdue, last_backup, last_error
from tui_pos.ops.instance import running_pid
from tui_pos.ops.readonly import (
    DiskFacts,
    disks,
    first_sale_at,
    product_count,
    read_only_view,
    schema_version,
    wal_bytes,
)
from tui_pos.store import print_jobs as pj
from tui_pos.store.documents import DurableDocument
from tui_pos.store.journal import key_missing
from tui_pos.store.view import Backlog, StoreView


def storage_mode(mode: str) -> str:
    """The storage's state as status and monitor say it (OK is a state here: 正常, not a button's 确定)."""
    return pgettext("state", "OK") if mode == "ok" else \
        {"degraded": _("DEGRADED"), "failing": _("FAILING")}.get(mode, mode)


def storage_problems_text(snap: dict[str, Any]) -> str:
    """What is wrong with the storage in one line of the screen's language (its problems, else
    the last error); "" when nothing is."""
    return _("; ").join(message(p) for p in snap.get("storage_problems") or []) or snap["last_error"]


def disk_line(disk: dict[str, Any], role_width: int | None = None) -> str:
    """One disk the till writes to, as status and monitor say it (its role in a column of
    role_width when given)."""
    role = _(DISK_ROLES.get(disk["role"], disk["role"]))
    return (_("{role} {path}: {free_mb} MB free") if disk["writable"] else
            _("{role} {path}: {free_mb} MB free, NOT WRITABLE")).format(
        role=role if role_width is None else pad(role, role_width), path=disk["path"], free_mb=disk["free_mb"])


def paid_lines(cart: dict[str, Any]) -> list[str]:
    """The tenders the sale in progress has taken, a line each, as status and monitor say them."""
    return [_("paid {kind} {amount} {reference}").format(
        kind=_(TENDER_WORDS.get(t["kind"], t["kind"])), amount=t["amount"], reference=t["reference"]).rstrip()
        for t in cart["tenders"]]


STORED_IN = {"sqlite": N_("sqlite"), "journal": N_("journal")}  # where a sale is stored (English as the data says it)
PRINT_STATES = {"pending": N_("pending"), "failed": N_("failed"), "uncertain": N_("uncertain"),
                "printing": N_("printing")}  # a receipt not printed: why (English as the print queue says it)
DATABASE_STATES = {"ok": N_("ok"), "missing": N_("missing"), "corrupt": N_("corrupt"), "unreadable": N_("unreadable")}
DISK_ROLES = {"data": N_("data"), "journal": N_("journal"), "backup": N_("backup")}
CLOCK_SLACK_S = 60  # a last sale this far "in the future" means the clock went back (not NTP slewing)


@dataclass
class _Seen:
    """What was read, from the database when it could be read, else from the journal and snapshot."""

    journal: Backlog
    quarantined: int = 0
    products: int = 0
    last_sale: dict[str, Any] | None = None
    first_sale_at: str | None = None
    unprinted: list[dict[str, Any]] = field(default_factory=list)  # paid sales without a receipt (print_jobs.without_receipt)
    cart: Cart | None = None  # the sale in progress
    cart_unverified: bool = False  # the database could not say whether it was already paid
    shift: dict[str, Any] | None = None  # the open shift and its figures so far
    low_stock: list[dict[str, Any]] = field(default_factory=list)  # products at or below their reorder level
    last_commit: int | None = None  # the till's last commit number (None: the database cannot say)
    payments: list[dict[str, Any]] = field(default_factory=list)  # code payments that need someone


def till_status(config: Config, now: str | None = None) -> dict[str, Any]:
    """Everything support asks first, as JSON-ready data (amounts as decimal strings)."""
    now = now or utc_now()
    fmt = currency_of(config).format
    database: dict[str, Any] = {"path": str(config.db_path), "state": "ok", "error": "", "schema_version": None,
                                "wal_bytes": wal_bytes(config)}
    with read_only_view(config) as view:
        opened = view.database.state == "ok"
        database["schema_version"] = view.query(schema_version, None)
        seen = _read(config, view)
        if opened and view.database.state != "ok":  # a read failed midway: all again, from the journal alone
            seen = _read(config, view)
        database.update(state=view.database.state, error=view.database.error)
    disk = disks(config)
    problems = _storage_problems(database, seen.journal, disk)
    sqlite_usable = database["state"] == "ok" and disk[0].writable
    mode = "failing" if not sqlite_usable and not any(d.writable for d in disk[1:]) else \
        "degraded" if problems else "ok"
    sale = seen.last_sale
    pid = running_pid(config.data_dir)
    paying = _paying(seen, pid)
    return {
        "till_id": config.till_id, "data_dir": str(config.data_dir), "checked_at": now,
        "journal_dirs": [str(d) for d in config.storage.journal_dirs],
        "storage": mode, "journal_backlog": len(seen.journal.waiting), "quarantined": seen.quarantined,
        "last_error": "; ".join(problems), "storage_problems": problems,
        "database": database,
        "journal": {"backlog": len(seen.journal.waiting), "oldest_waiting_at": seen.journal.oldest_waiting_at,
                    "bad_lines": len(seen.journal.scan.bad), "quarantined": seen.quarantined,
                    "unchecked": len(seen.journal.scan.unchecked),
                    "files": len(seen.journal.scan.files), "unreadable": seen.journal.scan.unreadable},
        "products": seen.products,
        "last_sale": sale and {**sale, "total": fmt(sale["total"])},
        "clock": _clock(now, sale),
        "shift": seen.shift,
        "cart": _cart(config, seen, fmt),
        "printer": _printer(config, seen, pid),
        "backup": _backup(config, now, seen.first_sale_at),
        "disk": [d.as_dict() for d in disk],
        "till_running_pid": pid,
        "hq": hq_status(config, seen.last_commit),
        "stock": {"low": len(seen.low_stock),
                  "low_products": [{"barcode": r["barcode"], "name": r["name"], "on_hand": format_qty(r["on_hand"]),
                                    "reorder_level": format_qty(r["reorder_level"])} for r in seen.low_stock[:5]]},
        "payments": {"unresolved": sum(1 for p in seen.payments if is_unresolved(p["state"])
                                       and not _charging(config, p, now)),
                     "paid_not_completed": sum(1 for p in seen.payments if paid_not_completed(p["state"], p["sale_completed"])
                                               and p["sale_uuid"] != paying)},
    }


def _paying(seen: _Seen, pid: int | None) -> str | None:
    """The sale a running till is being paid for: its code payment is paid and its sale not stored
    yet because the cashier is still taking the rest (or pressing F10), not because anything failed."""
    return seen.cart.uuid if seen.cart is not None and pid is not None else None


def _charging(config: Config, attempt: dict[str, Any], now: str) -> bool:
    """An open attempt young enough to be a charge a running till is still working on (the
    customer's wait, WeChat's reverse rule and a few calls' timeouts): not an alert yet."""
    if attempt["state"] != "open":
        return False
    settings = config.payments
    since = seconds_since(attempt["at"], now)
    return since is not None and since < settings.wait + 2 * settings.reverse_after + 3 * settings.timeout


def hq_status(config: Config, last_commit: int | None = None) -> dict[str, Any]:
    """The till's sync with HQ as last recorded (hq/sync-state.json): HQ is not reached here.
    state: synced, offline, conflict (HQ refused: last_error says why) or off (no [hq]); pending:
    the commits after the last one HQ said it had (last_commit: the store view's; None: as the
    sync last counted them)."""
    from tui_pos.sync.state import load_state  # lazy: the HQ modules only when status runs

    sync = load_state(config)
    counted = None if sync.state == "off" else waiting(last_commit, sync.high_water)
    pending = sync.pending if counted is None else counted
    return {"state": sync.state, "pending": pending, "last_sync": sync.last_sync, "last_error": sync.last_error,
            "high_water": sync.high_water, "shop": config.hq.shop, "catalog_version": sync.catalog_version}


AGE_TEXT = {"s": N_("{n} s"), "min": N_("{n} min"), "h": N_("{n} h"), "d": N_("{n} d")}


def hq_text(hq: dict[str, Any], now: str) -> str:
    """hq_status() in one line, for people (status, monitor), in the screen's language: 'synced, last
    sync 12 s ago; 0 record(s) waiting (shop S1)', 'OFFLINE, last sync 2 h ago; 7 record(s) waiting: why'."""
    if hq["state"] == "off":
        return _("not joined (tui-pos hq join DSN --shop SHOP)")
    seconds = seconds_since(hq["last_sync"], now)
    if seconds is not None:
        n, unit = age(seconds)
        ago = _(AGE_TEXT[unit]).format(n=n)
    params = {"ago": ago if seconds is not None else "", "pending": hq["pending"], "shop": hq["shop"],
              "error": hq["last_error"]}
    if hq["state"] == "synced":
        template = (N_("synced, last sync {ago} ago; {pending} record(s) waiting (shop {shop})") if seconds is not None
                    else N_("synced, never synced; {pending} record(s) waiting (shop {shop})"))
    elif hq["state"] == "offline":
        template = ((N_("OFFLINE, last sync {ago} ago; {pending} record(s) waiting: {error}") if hq["last_error"] else
                     N_("OFFLINE, last sync {ago} ago; {pending} record(s) waiting")) if seconds is not None else
                    (N_("OFFLINE, never synced; {pending} record(s) waiting: {error}") if hq["last_error"] else
                     N_("OFFLINE, never synced; {pending} record(s) waiting")))
    else:
        template = ((N_("PROBLEM, last sync {ago} ago; {pending} record(s) waiting: {error}") if hq["last_error"] else
                     N_("PROBLEM, last sync {ago} ago; {pending} record(s) waiting")) if seconds is not None else
                    (N_("PROBLEM, never synced; {pending} record(s) waiting: {error}") if hq["last_error"] else
                     N_("PROBLEM, never synced; {pending} record(s) waiting")))
    return _(template).format(**params)


def _read(config: Config, view: StoreView) -> _Seen:
    products = view.query(product_count, None)
    if products is None:  # the database cannot say: the catalog snapshot beside the journal
        products = len((DurableDocument(SHOP_SNAPSHOT, config.storage.journal_dirs).load() or {}).get("products", []))
    seen = _Seen(view.backlog(), len(view.journal.quarantined()), products, view.last_sale(),
                 view.query(first_sale_at, None),
                 view.without_receipt(pj.PrintStateLog(config.storage.journal_dirs).states(), tenders=False))
    seen.cart, seen.cart_unverified = _sale_in_progress(config, view)
    seen.shift = shift_status(config, view)
    seen.low_stock = [r for r in view.stock_levels(with_level=True)[0] or [] if is_low(r["on_hand"], r["reorder_level"])]
    seen.last_commit = view.last_commit() if config.hq.dsn else None
    seen.payments = view.payment_attempts(unresolved=True)[0]
    return seen


def _sale_in_progress(config: Config, view: StoreView) -> tuple[Cart | None, bool]:
    """The cart as the till last saved it, unless its sale is already stored or held (the till
    drops such a leftover when it next starts); and whether the database could not say if it
    was stored already."""
    dirs = [config.data_dir, *config.storage.journal_dirs]
    saved = DurableDocument(CART_DOCUMENT, dirs).load()
    if not saved or not saved.get("lines"):
        return None, False
    cart = Cart.from_record(saved)
    held = DurableDocument(HELD_DOCUMENT, dirs).load() or {}
    if cart.is_empty or cart.uuid in {h["cart"]["uuid"] for h in held.get("held", [])}:
        return None, False
    recorded = view.is_recorded(cart.uuid)
    return (None, False) if recorded else (cart, recorded is None)


def _storage_problems(database: dict[str, Any], journal: Backlog, disk: list[DiskFacts]) -> list[str]:
    """Each problem a whole sentence (a Said: English as data, said in the screen's language by status)."""
    problems: list[str] = []
    if database["state"] != "ok":
        problems.append(Said(N_("database {state}: {error}"), state=Said(DATABASE_STATES.get(database["state"], "?")),
                             error=database["error"]))
    if journal.waiting:
        problems.append(Said(N_("{n} record(s) in the journal, not yet in the database"), n=len(journal.waiting)))
    problems += [Said(N_("{role} directory {path} cannot be written (read-only, full or not permitted)"),
                      role=Said(DISK_ROLES.get(d.role, d.role)), path=str(d.path)) for d in disk if not d.writable]
    problems += [Said(N_("journal unreadable: {what}"), what=what) for what in journal.scan.unreadable]
    if journal.scan.unchecked:
        problems.append(key_missing(len(journal.scan.unchecked)))
    return problems


def _clock(now: str, sale: dict[str, Any] | None) -> dict[str, Any]:
    """behind_s > 0: the clock reads earlier than the last sale (it jumped back, or the RTC lost time)."""
    behind = 0.0
    if sale:
        try:
            behind = (datetime.fromisoformat(sale["completed_at"]) - datetime.fromisoformat(now)).total_seconds()
        except (TypeError, ValueError):
            pass
    return {"now": now, "last_sale_at": sale["completed_at"] if sale else None, "behind_s": max(behind, 0.0)}


def shift_status(config: Config, view: StoreView) -> dict[str, Any] | None:
    """The open shift as the till takes it (StoreView.current_shift): who opened it and when, the
    float, and (while the database can be read: from it and the journal together, the way the
    till's X report adds them) sales so far and the cash expected."""
    saved = DurableDocument(SHIFT_DOCUMENT, [config.data_dir, *config.storage.journal_dirs])
    shift = view.current_shift(config.till_id, saved.load)
    if not shift:
        return None
    totals, _, readable = view.shift_totals(shift["uuid"])
    fmt = currency_of(config).format
    out = {"number": shift["number"], "opened_at": shift["opened_at"], "opened_by": shift["opened_by"],
           "float": fmt(shift["float"]), "figures_from_database": readable}
    if readable:
        x = shift_report(shift, totals, taken_at=utc_now(), taken_by="status", journaled=0, database_readable=True)
        out |= {"sales": x.sales.count, "refunds": x.refunds.count + x.voids.count, "net_sales": fmt(x.net_sales),
                "expected_cash": fmt(x.expected_cash)}
    return out


def shift_text(shift: dict[str, Any] | None) -> str:
    """shift_status() in one line, for people, in the screen's language."""
    if shift is None:
        return _("none open")
    values = {**shift, "opened_at": shop_time(shift["opened_at"])}
    if "sales" in shift:
        return _("{number} opened {opened_at} by {opened_by}, float {float}; {sales} sales, {refunds} refunds/voids, "
                 "net {net_sales}, cash expected {expected_cash}").format(**values)
    return _("{number} opened {opened_at} by {opened_by}, float {float}").format(**values)


def _cart(config: Config, seen: _Seen, fmt: Callable[[int], str]) -> dict[str, Any]:
    cart = seen.cart
    if cart is None:
        return {"uuid": None, "restored": False, "unverified": False, "opened_at": None, "lines": [], "tenders": [],
                "total": fmt(0)}
    return {
        "uuid": cart.uuid, "restored": True, "unverified": seen.cart_unverified, "opened_at": cart.opened_at,
        "lines": [{"barcode": l.barcode, "name": l.name, "qty": l.qty, "unit_price": fmt(l.unit_price)}
                  for l in cart.active_lines],
        "tenders": [{"kind": t.kind, "amount": fmt(t.amount), "reference": t.reference} for t in cart.tenders],
        "total": fmt(cart.totals(config.prices_include_tax).total),
    }


def _printer(config: Config, seen: _Seen, pid: int | None) -> dict[str, Any]:
    """The printer as the print jobs tell it (status never opens the printer: the till owns it).
    unprinted: paid sales without a receipt, counted as the till counts them; with connection
    "none" too (the receipts are shown on screen and wait until handed over)."""
    rows = seen.unprinted
    by_state: dict[str, int] = {}
    for row in rows:
        by_state[row["state"]] = by_state.get(row["state"], 0) + 1
    troubled = [r for r in rows if r["last_error"]]
    return {"connection": config.printer.connection, "owned_by_running_till": pid is not None,
            "unprinted": len(rows), "unprinted_by_state": by_state,
            "oldest_unprinted_at": min((r["completed_at"] for r in rows), default=None),
            "last_error": max(troubled, key=lambda r: r["completed_at"])["last_error"] if troubled else ""}


def _backup(config: Config, now: str, first_sale: str | None) -> dict[str, Any]:
    state = last_backup(config)
    attempt, good = state.get("last_attempt") or {}, state.get("last_ok") or {}
    at = datetime.fromisoformat(now)
    age = backup_age_hours(config, at)
    return {"last_ok_at": good.get("started_at"), "age_hours": None if age is None else round(age, 2),
            "last_attempt_at": attempt.get("started_at"), "last_attempt_ok": attempt.get("ok"),
            "last_error": last_error(attempt),
            "every_hours": config.backup.every_hours,
            "overdue": backup_overdue(config, at, first_sale),
            "destinations": [str(d) for d in config.backup.destinations]}
