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
    theme: str = "auto"  # "auto" (console theme when TERM=linux), "default" or "console"
    keys: dict[str, str] = field(default_factory=dict)  # binding id -> keys, e.g. pay = "f12,ctrl+p"

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
        theme=_choice(raw.get("ui", {}).get("theme", "auto"), ("auto", "default", "console"), "[ui] theme"),
        keys={str(k): str(v) for k, v in raw.get("keys", {}).items()},
        printer=_printer_from_toml(raw.get("printer", {})),
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

[shop]
name = "{shop_name}"
currency = "CNY"
symbol = "￥"
exponent = 2                    # minor units: 2 = fen/cents
cash_rounding = "0"             # e.g. "0.10" to round cash payments to 1 jiao; "0" = none
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
"""
