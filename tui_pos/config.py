"""One config.toml, read once into one typed, immutable object; no file at all means defaults."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

CONFIG_NAME = "config.toml"
DB_NAME = "pos.sqlite3"
DATA_DIR_ENV = "TUI_POS_DATA_DIR"


class ConfigError(Exception):
    """config.toml is unreadable or has a bad value; the message names the file and the key."""


@dataclass(frozen=True)
class StorageConfig:
    journal_dirs: tuple[Path, ...]
    retry_budget_ms: int = 300  # total time spent retrying SQLite before journaling a sale
    busy_timeout_ms: int = 100  # SQLite busy timeout per attempt
    replay_interval_s: float = 10  # background replay period while degraded


@dataclass(frozen=True)
class PrinterConfig:
    """[printer]: where receipts go and what they look like (tui_pos/printing reads it)."""

    connection: str = "none"  # none | usb | usb:VID:PID | lp:/dev/usb/lp0 | tcp:HOST[:PORT] | file:PATH
    paper: int = 58  # mm: 58 (32 columns) or 80 (48 columns)
    columns: int = 0  # 0 = from paper; 42 for the TM-T88 family on 80 mm
    profile: str = "default"  # python-escpos printer profile (code pages, cut support)
    chinese: bool = True  # Chinese-mode printer: text in GBK, CJK characters two columns wide
    address: tuple[str, ...] = ()  # header lines under the shop name
    tax_id: str = ""
    footer: tuple[str, ...] = ("Thank you!",)
    qr: str = "{receipt} {uuid}"  # QR payload; {receipt} {uuid} {total} {till}; "" = no QR
    qr_native: bool = True  # the printer draws the QR (GS ( k); false = send it as an image
    cut: bool = True
    drawer: bool = True  # kick the cash drawer after a cash sale
    drawer_pin: int = 2
    write_timeout_ms: int = 3000  # a write that stalls longer fails (the receipt becomes "uncertain")
    status_timeout_ms: int = 200  # wait for a status answer; many printers never answer


PRINTER_CONNECTION_PREFIXES = ("usb:", "lp:", "tcp:", "file:")  # besides "none" and "usb"


@dataclass(frozen=True)
class BackupConfig:
    """[backup]: verified copies of the database and of the journal files not yet replayed."""

    destinations: tuple[Path, ...] = (Path("backups"),)  # relative paths are inside the data directory
    keep: int = 7  # newest verified copies kept in each destination
    every_hours: float = 24  # automatic backup period; 0 = only by hand and after each Z report


@dataclass(frozen=True)
class AlertConfig:
    """[alerts]: when the till raises an alert, and the optional command it is handed to."""

    hook: str = ""  # shell command run with each raised or cleared alert as JSON on stdin; "" = none
    hook_timeout_s: float = 10  # a hook still running after this is killed
    disk_low_mb: int = 100  # free space below this in the data or a journal directory
    backlog_max: int = 20  # this many records waiting in the journal...
    backlog_max_minutes: float = 30  # ...or the oldest waiting longer than this: replay is not draining it
    unprinted_max_minutes: float = 10  # a paid sale without its receipt for longer than this


# Words that make a config.toml key's value a secret in a support bundle (see tui_pos/ops/bundle.py).
DEFAULT_REDACT_KEYS = ("token", "secret", "password", "passwd", "key", "auth", "credential", "hook", "url")


@dataclass(frozen=True)
class SupportConfig:
    """[support]: what a support bundle leaves out."""

    redact_keys: tuple[str, ...] = DEFAULT_REDACT_KEYS


@dataclass(frozen=True)
class Config:
    data_dir: Path
    storage: StorageConfig
    till_id: str = "T1"
    shop_name: str = "tui-pos shop"
    currency_code: str = "CNY"
    currency_symbol: str = "￥"
    currency_exponent: int = 2
    cash_rounding: str = "0"  # step as an amount, e.g. "0.05", "0.10"; "0" = none
    prices_include_tax: bool = True
    tax_rates: dict[str, str] = field(default_factory=lambda: {"A": "13", "B": "9"})  # code -> percent
    printer: PrinterConfig = field(default_factory=PrinterConfig)
    discount_limit: str = "10"  # percent: a bigger discount needs a manager
    quit_needs_manager: bool = True  # kiosk: leaving the till UI asks for a manager PIN
    pin_attempts: int = 5  # wrong PINs in a row before the user is locked out for a while
    pin_lockout_s: int = 300
    paid_out_limit: str = "100"  # amount: a bigger paid-out needs a manager
    z_difference_limit: str = "10"  # amount: closing a shift further over or short needs a manager
    reasons: tuple[str, ...] = ("Damaged", "Wrong item", "Changed mind", "Price error", "Other")  # refunds, voids
    denominations: tuple[str, ...] = ("100", "50", "20", "10", "5", "1", "0.5", "0.1")  # for counting the drawer
    theme: str = "auto"  # "auto" (console theme when TERM=linux), "default" or "console"
    keys: dict[str, str] = field(default_factory=dict)  # binding id -> keys, e.g. pay = "f12,ctrl+p"
    backup: BackupConfig = field(default_factory=BackupConfig)
    alerts: AlertConfig = field(default_factory=AlertConfig)
    support: SupportConfig = field(default_factory=SupportConfig)

    @property
    def db_path(self) -> Path:
        return self.data_dir / DB_NAME


def default_data_dir() -> Path:
    from platformdirs import user_data_dir  # lazy: only when no directory was given

    return Path(user_data_dir("tui-pos", appauthor=False))


def resolve_data_dir(option: str | os.PathLike[str] | None) -> Path:
    """--data-dir wins, then $TUI_POS_DATA_DIR, then the platform's user data directory."""
    chosen = option or os.environ.get(DATA_DIR_ENV) or default_data_dir()
    return Path(chosen).expanduser().resolve()


def load_config(data_dir: Path) -> Config:
    path = data_dir / CONFIG_NAME
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"cannot read {path}: {err}") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path} is not valid TOML: {err}") from None
    try:
        return _from_toml(data_dir, raw)
    except (TypeError, ValueError, KeyError) as err:
        raise ConfigError(f"{path}: {err}") from None


def _from_toml(data_dir: Path, raw: dict) -> Config:
    till, shop, storage, tax = (raw.get(k, {}) for k in ("till", "shop", "storage", "tax"))
    journal_dirs = tuple(data_dir / Path(d).expanduser() for d in storage.get("journal_dirs", ["journal"]))
    if not journal_dirs:
        raise ValueError("[storage] journal_dirs must name at least one directory")
    defaults = StorageConfig(journal_dirs=journal_dirs)
    rates = {str(k): str(v) for k, v in tax.get("rates", {"A": "13", "B": "9"}).items()}
    if not rates:
        raise ValueError("[tax] rates must define at least one rate")
    till_id = str(till.get("id", "T1"))
    if not till_id.isalnum() or len(till_id) > 8:
        raise ValueError(f"[till] id {till_id!r} must be 1-8 letters or digits")
    return Config(
        data_dir=data_dir,
        storage=StorageConfig(
            journal_dirs=journal_dirs,
            retry_budget_ms=int(storage.get("retry_budget_ms", defaults.retry_budget_ms)),
            busy_timeout_ms=int(storage.get("busy_timeout_ms", defaults.busy_timeout_ms)),
            replay_interval_s=float(storage.get("replay_interval_s", defaults.replay_interval_s)),
        ),
        till_id=till_id,
        shop_name=str(shop.get("name", "tui-pos shop")),
        currency_code=str(shop.get("currency", "CNY")),
        currency_symbol=str(shop.get("symbol", "￥")),
        currency_exponent=int(shop.get("exponent", 2)),
        cash_rounding=str(shop.get("cash_rounding", "0")),
        prices_include_tax=bool(shop.get("prices_include_tax", True)),
        tax_rates=rates,
        discount_limit=str(till.get("discount_limit", "10")),
        quit_needs_manager=bool(till.get("quit_needs_manager", True)),
        pin_attempts=_positive(till.get("pin_attempts", 5), "[till] pin_attempts"),
        pin_lockout_s=_positive(till.get("pin_lockout_s", 300), "[till] pin_lockout_s"),
        paid_out_limit=str(till.get("paid_out_limit", "100")),
        z_difference_limit=str(till.get("z_difference_limit", "10")),
        reasons=tuple(str(r) for r in till.get("reasons", Config.reasons)) or Config.reasons,
        denominations=tuple(str(d) for d in shop.get("denominations", Config.denominations)),
        theme=_choice(raw.get("ui", {}).get("theme", "auto"), ("auto", "default", "console"), "[ui] theme"),
        keys={str(k): str(v) for k, v in raw.get("keys", {}).items()},
        printer=_printer_from_toml(raw.get("printer", {})),
        backup=_backup_from_toml(data_dir, raw.get("backup", {})),
        alerts=_alerts_from_toml(raw.get("alerts", {})),
        support=SupportConfig(redact_keys=_words(raw.get("support", {}), "redact_keys", DEFAULT_REDACT_KEYS)),
    )


def _printer_from_toml(table: dict) -> PrinterConfig:
    d = PrinterConfig()

    def lines(key: str, default: tuple[str, ...]) -> tuple[str, ...]:
        value = table.get(key, default)
        return (value,) if isinstance(value, str) else tuple(str(v) for v in value)

    connection = str(table.get("connection", d.connection)).strip()
    if not (connection in ("none", "usb") or connection.startswith(PRINTER_CONNECTION_PREFIXES)):
        raise ValueError(f"[printer] connection {connection!r}: use none, usb, usb:VID:PID, "
                         "lp:/dev/usb/lp0, tcp:HOST:9100 or file:PATH")
    paper = int(table.get("paper", d.paper))
    if paper not in (58, 80):
        raise ValueError(f"[printer] paper {paper}: use 58 or 80 (mm)")
    columns = int(table.get("columns", d.columns))
    if columns and not 24 <= columns <= 64:
        raise ValueError(f"[printer] columns {columns}: use 0 (from paper) or 24-64")
    return PrinterConfig(
        connection=connection, paper=paper, columns=columns,
        profile=str(table.get("profile", d.profile)),
        chinese=bool(table.get("chinese", d.chinese)),
        address=lines("address", d.address), tax_id=str(table.get("tax_id", d.tax_id)),
        footer=lines("footer", d.footer), qr=str(table.get("qr", d.qr)),
        qr_native=bool(table.get("qr_native", d.qr_native)), cut=bool(table.get("cut", d.cut)),
        drawer=bool(table.get("drawer", d.drawer)), drawer_pin=int(table.get("drawer_pin", d.drawer_pin)),
        write_timeout_ms=int(table.get("write_timeout_ms", d.write_timeout_ms)),
        status_timeout_ms=int(table.get("status_timeout_ms", d.status_timeout_ms)),
    )


def _backup_from_toml(data_dir: Path, table: dict) -> BackupConfig:
    d = BackupConfig()
    destinations = _words(table, "destinations", tuple(str(p) for p in d.destinations))
    if not destinations:
        raise ValueError("[backup] destinations must name at least one directory")
    keep = int(table.get("keep", d.keep))
    if keep < 1:
        raise ValueError(f"[backup] keep {keep}: keep at least 1 copy")
    every_hours = float(table.get("every_hours", d.every_hours))
    if every_hours < 0:
        raise ValueError(f"[backup] every_hours {every_hours}: use 0 (no timer) or a number of hours")
    return BackupConfig(destinations=tuple(data_dir / Path(p).expanduser() for p in destinations),
                        keep=keep, every_hours=every_hours)


def _alerts_from_toml(table: dict) -> AlertConfig:
    d = AlertConfig()
    hook = table.get("hook", d.hook)
    if not isinstance(hook, str):
        raise ValueError("[alerts] hook must be a command line in a string, e.g. \"/usr/local/bin/send-alert\"")
    alerts = AlertConfig(
        hook=hook.strip(), hook_timeout_s=float(table.get("hook_timeout_s", d.hook_timeout_s)),
        disk_low_mb=int(table.get("disk_low_mb", d.disk_low_mb)), backlog_max=int(table.get("backlog_max", d.backlog_max)),
        backlog_max_minutes=float(table.get("backlog_max_minutes", d.backlog_max_minutes)),
        unprinted_max_minutes=float(table.get("unprinted_max_minutes", d.unprinted_max_minutes)),
    )
    if alerts.hook_timeout_s <= 0:
        raise ValueError(f"[alerts] hook_timeout_s {alerts.hook_timeout_s}: use a number of seconds above 0")
    for name in ("disk_low_mb", "backlog_max", "backlog_max_minutes", "unprinted_max_minutes"):
        if getattr(alerts, name) < 0:
            raise ValueError(f"[alerts] {name} {getattr(alerts, name)} cannot be negative")
    return alerts


def _words(table: dict, key: str, default: tuple[str, ...]) -> tuple[str, ...]:
    """A list of strings (one string is a list of one)."""
    value = table.get(key, default)
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, (list, tuple)) or not all(isinstance(v, str) for v in values):
        raise ValueError(f"{key} must be a list of strings")
    return tuple(values)


def default_config(data_dir: Path) -> Config:
    """The configuration a data directory has with no config.toml (doctor uses it when the file is bad)."""
    return _from_toml(data_dir, {})


def _positive(value: object, name: str) -> int:
    if not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a whole number of at least 1, not {value!r}")
    return value


def _choice(value: object, allowed: tuple[str, ...], name: str) -> str:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}, not {value!r}")
    return str(value)


CONFIG_TEMPLATE = """\
# tui-pos configuration. Every key is optional; the values shown are the defaults.

[till]
id = "{till_id}"                # receipt numbers are {till_id}-000001, {till_id}-000002, ...
discount_limit = "10"           # percent: a bigger discount (or any price override) needs a manager PIN
quit_needs_manager = true       # leaving the till UI asks for a manager PIN
pin_attempts = 5                # wrong PINs in a row before that user is locked out ...
pin_lockout_s = 300             # ... for this many seconds
paid_out_limit = "100"          # a bigger paid-out needs a manager PIN
z_difference_limit = "10"       # closing a shift more over or short than this needs a manager PIN
reasons = ["Damaged", "Wrong item", "Changed mind", "Price error", "Other"]  # for refunds and voids

[shop]
name = "{shop_name}"
currency = "CNY"
symbol = "￥"
exponent = 2                    # minor units: 2 = fen/cents
cash_rounding = "0"             # e.g. "0.10" to round cash payments to 1 jiao; "0" = none
denominations = ["100", "50", "20", "10", "5", "1", "0.5", "0.1"]  # notes and coins, for counting the drawer
prices_include_tax = true       # false: catalog prices are before tax

[tax.rates]                     # code = percent; the catalog's tax column uses either
A = "13"
B = "9"

[ui]
theme = "auto"                  # "console" on the Linux console (TERM=linux), else "default"

[keys]                          # remap any key by its binding id (see the README), e.g.
# pay = "f12,ctrl+p"

[storage]
# Where sales go when the database fails, tried in order (relative paths are inside the
# data directory). Add a second disk or a USB stick, e.g. "/media/usb/tui-pos-journal".
journal_dirs = ["journal"]
retry_budget_ms = 300
busy_timeout_ms = 100
replay_interval_s = 10

[printer]
# Where receipts go: "none" (on screen only), "usb" (the first USB receipt printer found),
# "usb:0416:5011" (by VID:PID, see `tui-pos printer list`), "lp:/dev/usb/lp0",
# "tcp:192.0.2.10:9100" (network printer) or "file:/tmp/receipts.bin".
connection = "none"
paper = 58                      # 58 (32 columns) or 80 (48 columns)
columns = 0                     # 0 = from paper; 42 for Epson TM-T88 printers on 80 mm
profile = "default"             # python-escpos printer profile, e.g. "POS-5890", "TM-T88V"
chinese = true                  # Chinese-mode printer (GBK); false: Latin code pages
address = []                    # lines under the shop name, e.g. ["1 Main Street", "Shanghai"]
tax_id = ""
footer = ["Thank you!"]
qr = "{{receipt}} {{uuid}}"         # QR code content ({{receipt}} {{uuid}} {{total}} {{till}}); "" = none
qr_native = true                # false: print the QR as an image (printers without QR support)
cut = true
drawer = true                   # open the cash drawer after a cash sale
drawer_pin = 2
write_timeout_ms = 3000
status_timeout_ms = 200

[backup]
# Verified copies of the database (and of journal files not yet replayed). Relative paths are
# inside the data directory; add a second disk or a USB stick, e.g. "/media/usb/tui-pos-backups"
# (a destination whose parent directory is missing, such as an unplugged stick, is reported, not created).
destinations = ["backups"]
keep = 7                        # newest copies kept in each destination
every_hours = 24                # also after each Z report; 0 = only then and by hand (`tui-pos backup`)

[alerts]
hook = ""                       # a command run with each alert as JSON on stdin, e.g. "/usr/local/bin/forward-alert"
hook_timeout_s = 10
disk_low_mb = 100               # free space below this (data or journal directory)
backlog_max = 20                # sales waiting in the journal...
backlog_max_minutes = 30        # ...or waiting longer than this
unprinted_max_minutes = 10      # a paid sale without its receipt for longer than this

[support]
# Values of keys whose name contains one of these words are removed from support bundles.
redact_keys = ["token", "secret", "password", "passwd", "key", "auth", "credential", "hook", "url"]
"""
