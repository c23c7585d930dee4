"""One config.toml, read once into one typed, immutable object; no file at all means defaults."""

from __future__ import annotations

import datetime
import json
import math
import os
import re
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from tui_pos.domain.errors import CONTROL_CHARACTERS, BadInput, Said, said_of
from tui_pos.domain.money import MAX_MINOR, TooManyDecimals, parse_fixed, percent_to_bp
from tui_pos.i18n import AUTO as AUTO_LANGUAGE
from tui_pos.i18n import LANGUAGES, N_, translator
from tui_pos.i18n import resolve as resolve_language

CONFIG_NAME = "config.toml"
DB_NAME = "pos.sqlite3"
DATA_DIR_ENV = "TUI_POS_DATA_DIR"


class ConfigError(Exception):
    """config.toml is unreadable or has a bad value; the message (one line) names the file, the line and the
    key; problems lists every problem found, one message each. Each is a Said (English as a str: --json and
    logs; i18n.message says it translated) and language is the one to say them in: the file's [ui] language
    when that one value is valid (the rest of the file may not be), else "" (the system's, as "auto")."""

    def __init__(self, message: str, problems: Sequence[str] = (), language: str = ""):
        super().__init__(message)
        self.said = message if isinstance(message, Said) else Said(message)
        self.template, self.params = self.said.template, self.said.params  # as a PosError's: i18n.message(err)
        self.problems = list(problems) or [self.said]
        self.language = language


@dataclass(frozen=True)
class StorageConfig:
    journal_dirs: tuple[Path, ...] = (Path("journal"),)  # relative paths are inside the data directory
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
    footer: tuple[str, ...] = (N_("Thank you!"),)
    qr: str = "{receipt} {uuid}"  # QR payload; {receipt} {uuid} {total} {till}; "" = no QR
    qr_native: bool = True  # the printer draws the QR (GS ( k); false = send it as an image
    cut: bool = True
    drawer: bool = True  # kick the cash drawer after a cash sale
    drawer_pin: int = 2
    write_timeout_ms: int = 3000  # a write that stalls longer fails (the receipt becomes "uncertain")
    status_timeout_ms: int = 200  # wait for a status answer; many printers never answer
    language: str = "auto"  # the receipt's words: "auto" (as [ui] language), "en" or "zh_CN"


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
    hq_offline_minutes: float = 60  # a till that joined HQ with records waiting, not synced for longer than this


@dataclass(frozen=True)
class StockConfig:
    """[stock]: when stock needs a manager, and the thresholds of the stock and risk warnings
    (tui-pos report anomalies). Quantities are units (3 decimals at most), amounts the shop's."""

    adjust_limit: str = "10"  # units: an adjustment of more, either way, needs a manager
    variance_qty: str = "5"  # units: a count off by more than this...
    variance_percent: str = "10"  # ...or by more than this percent of what was expected...
    variance_value: str = "50"  # ...or by more than this amount at cost is an anomaly, approved by a manager
    shrinkage_value: str = "100"  # amount: write-offs of one reason over the period above this
    outflow_factor: float = 3  # a day's outflow this many times the usual daily rate...
    outflow_min: str = "5"  # ...and at least this many units
    outflow_days: int = 28  # the usual rate: the days before the period
    dead_days: int = 30  # stock on hand that has not moved in this many days
    risk_factor: float = 2  # a cashier's voids, refunds... per sale this many times the shop's...
    risk_min: int = 3  # ...and at least this many of them


# Words that make a config.toml key's value a secret in a support bundle (see tui_pos/ops/bundle.py).
DEFAULT_REDACT_KEYS = ("token", "secret", "password", "passwd", "key", "auth", "credential", "hook", "url")


@dataclass(frozen=True)
class SupportConfig:
    """[support]: what a support bundle leaves out."""

    redact_keys: tuple[str, ...] = DEFAULT_REDACT_KEYS


@dataclass(frozen=True)
class HqConfig:
    """[hq]: the chain's HQ this till has joined (`tui-pos hq join`); its password is kept apart, in
    hq/secret.json (0600) in the data directory."""

    dsn: str = ""  # libpq DSN without the password; "" = no HQ
    shop: str = ""  # the shop this till belongs to
    sync_every_s: float = 60  # the sync worker's heartbeat (the health report; commits are pushed at once)


# [payments.alipay] / [payments.wechat]: the gateways' constructor keywords (tui_pos/payments/), a key's
# PEM text given in the file itself or, better, as KEY_file = a path (relative: inside the data
# directory; the file 0600). Required keys first; gateway (the provider's address) is optional.
PAYMENT_PROVIDER_KEYS: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    # provider: (required, secret or long: may be KEY_file instead, optional)
    "alipay": (("app_id", "private_key", "alipay_public_key"), ("private_key", "alipay_public_key"), ("gateway",)),
    "wechat": (("mchid", "appid", "private_key", "cert_serial_no", "apiv3_key", "public_key", "public_key_id"),
               ("private_key", "apiv3_key", "public_key"), ("gateway",)),
}


@dataclass(frozen=True)
class PaymentsConfig:
    """[payments]: code payments (付款码) at the till. wait: seconds the customer gets to confirm
    before the trade is cancelled; query_every: seconds between two queries; reverse_after: WeChat
    takes no reverse sooner after the pay call; timeout: seconds one gateway call may take.
    alipay / wechat: [payments.alipay] / [payments.wechat], the gateway's settings ({}: not set up;
    KEY_file entries are paths, read when the gateway is first used)."""

    wait: float = 60
    query_every: float = 5
    reverse_after: float = 15
    timeout: float = 10
    alipay: dict[str, str] = field(default_factory=dict)
    wechat: dict[str, str] = field(default_factory=dict)

    def provider(self, name: str) -> dict[str, str]:
        """A provider's settings ({}: not set up)."""
        return dict(getattr(self, name, None) or {})


# The limits HQ may set for every till (tui-pos hq settings set; applied over config.toml by the pull).
CHAIN_LIMITS = ("discount_limit", "paid_out_limit", "z_difference_limit")

# Reason codes a manager picks from, per kind of approval ([till.reasons]; the first is preselected).
# The old single `[till] reasons` list sets refund and void (what it was documented for).
DEFAULT_REASONS: dict[str, tuple[str, ...]] = {
    "refund": (N_("Damaged"), N_("Wrong item"), N_("Changed mind"), N_("Price error"), N_("Other")),
    "void": (N_("Cashier error"), N_("Wrong item"), N_("Payment problem"), N_("Customer changed mind"), N_("Other")),
    "discount": (N_("Promotion"), N_("Damaged packaging"), N_("Near expiry"), N_("Price match"), N_("Loyal customer"), N_("Other")),
    "price_override": (N_("Shelf price differs"), N_("Price error"), N_("Price match"), N_("Other")),
    "no_sale": (N_("Change for a customer"), N_("Check the drawer"), N_("Other")),
    "delete_held": (N_("Customer left"), N_("Duplicate"), N_("Other")),
}


@dataclass(frozen=True)
class Config:
    data_dir: Path
    storage: StorageConfig = field(default_factory=StorageConfig)
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
    reasons: tuple[str, ...] = DEFAULT_REASONS["refund"]  # refunds (the old single list); see reasons_for()
    reason_lists: dict[str, tuple[str, ...]] = field(default_factory=lambda: dict(DEFAULT_REASONS))
    denominations: tuple[str, ...] = ("100", "50", "20", "10", "5", "1", "0.5", "0.1")  # for counting the drawer
    theme: str = "auto"  # "auto" (console theme when TERM=linux), "default" or "console"
    language: str = "auto"  # [ui] language: the screen's and human CLI output's; "auto" = the system locale
    keys: dict[str, str] = field(default_factory=dict)  # binding id -> keys, e.g. pay = "f12,ctrl+p"
    backup: BackupConfig = field(default_factory=BackupConfig)
    alerts: AlertConfig = field(default_factory=AlertConfig)
    support: SupportConfig = field(default_factory=SupportConfig)
    hq: HqConfig = field(default_factory=HqConfig)
    stock: StockConfig = field(default_factory=StockConfig)
    payments: PaymentsConfig = field(default_factory=PaymentsConfig)

    @property
    def db_path(self) -> Path:
        return self.data_dir / DB_NAME

    @property
    def ui_language(self) -> str:
        """The language of the screen and of human CLI output ([ui] language, "auto" decided)."""
        return resolve_language(self.language)

    @property
    def printer_language(self) -> str:
        """The language of receipts and printed reports ([printer] language; "auto": as the screen)."""
        return resolve_language(self.printer.language, self.ui_language)

    def reasons_for(self, kind: str) -> tuple[str, ...]:
        """The reason codes for one kind of approval ("refund", "discount", ...); () when it has none."""
        return self.reason_lists.get(kind, ())


def default_data_dir() -> Path:
    from platformdirs import user_data_dir  # lazy: only when no directory was given

    return Path(user_data_dir("tui-pos", appauthor=False))


def resolve_data_dir(option: str | os.PathLike[str] | None) -> Path:
    """--data-dir wins, then $TUI_POS_DATA_DIR, then the platform's user data directory."""
    chosen = option or os.environ.get(DATA_DIR_ENV) or default_data_dir()
    return Path(chosen).expanduser().resolve()


def load_config(data_dir: Path) -> Config:
    """config.toml checked against SCHEMA as a whole: a wrong type, a value out of range or an unknown
    key is a ConfigError naming the file, the line and the key (and how many other problems there are)."""
    path = data_dir / CONFIG_NAME
    try:
        data = path.read_bytes() if path.exists() else b""
    except OSError as err:
        raise ConfigError(Said(N_("cannot read {path}: {error}"), path=str(path), error=err.strerror or str(err))) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ConfigError(Said(N_("{path} line {line} is not UTF-8 text: save the file as UTF-8"), path=str(path),
                               line=data[:err.start].count(b"\n") + 1),
                          language=stated_language(data.decode("utf-8", errors="replace"))) from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(_not_toml(path, str(err)), language=stated_language(text)) from None
    values, problems = validate(raw)
    if problems:
        lines = key_lines(text)
        messages = [_problem_at(path, lines, where, problem) for where, problem in problems]
        more = len(messages) - 1
        first = messages[0] if not more else Said(N_("{problem} (and 1 more problem)"), problem=messages[0]) \
            if more == 1 else Said(N_("{problem} (and {n} more problems)"), problem=messages[0], n=more)
        raise ConfigError(first, messages, language=stated_language(text, raw))
    return _build(data_dir, values)


def _problem_at(path: Path, lines: dict[Where, int], where: Where, problem: str) -> Said:
    """One problem, in one line: the file, the line (when found), the key as typed, what is wrong with it."""
    line = _at_line(lines, where)
    return (Said(N_("{path} line {line}: {key} {problem}"), path=str(path), line=line, key=_key_name(where),
                 problem=problem) if line else
            Said(N_("{path}: {key} {problem}"), path=str(path), key=_key_name(where), problem=problem))


def stated_language(text: str, raw: dict[str, Any] | None = None) -> str:
    """The language to say a config.toml's problems in: its [ui] language when that one value is valid,
    whatever else is wrong (read from raw, the parsed file, else from its own line of text), "" if not."""
    if raw is None:
        line = key_lines(text).get(("ui", "language"))
        try:
            one = tomllib.loads(text.splitlines()[line - 1]) if line else {}
        except tomllib.TOMLDecodeError:
            one = {}
        raw = one if "ui" in one else {"ui": one}  # `ui.language = ...` at the top, or `language = ...` in [ui]
    ui = raw.get("ui")
    value = ui.get("language") if isinstance(ui, dict) else None
    return resolve_language(value) if value in (AUTO_LANGUAGE, *LANGUAGES) else ""


# What tomllib says is wrong, marked for the catalog (said in the shop's language when it is one of them)
TOML_ERRORS = (N_("Invalid value"), N_("Invalid statement"), N_("Unclosed array"), N_("Unclosed inline table"),
               N_("Unterminated string"), N_("Invalid date or datetime"), N_("Invalid hex value"),
               N_("Invalid initial character for a key part"), N_("Expected '=' after a key in a key/value pair"),
               N_("Expected newline or end of document after a statement"),
               N_("Expected ']' at the end of a table declaration"), N_("Expected ']]' at the end of an array declaration"),
               N_("Escaped character is not a Unicode scalar value"), N_("Unescaped '\\' in a string"),
               N_("Cannot overwrite a value"), N_("Cannot declare {key} twice"), N_("Cannot mutate immutable namespace {key}"),
               N_("Cannot redefine namespace {key}"), N_("Duplicate inline table key {key}"), N_("Expected {key}"),
               N_("Found invalid character {key}"), N_("Illegal character {key}"))
_TOML_ERROR_PATTERNS = [(re.compile(re.escape(t).replace(re.escape("{key}"), r"""(?P<key>'.*'|".*"|\(.*\))""")), t)
                        for t in TOML_ERRORS]  # {key}: what tomllib shows as its repr, a string or a tuple
_TOML_AT = re.compile(r"(?P<error>.*) \(at line (?P<line>\d+), column (?P<column>\d+)\)", re.S)
_TOML_END = re.compile(r"(?P<error>.*) \(at end of document\)", re.S)


def _not_toml(path: Path, error: str) -> Said:
    """tomllib's error as a sentence: the file, the line and column, what the parser found (its own words
    translated when they are known)."""
    at, end = _TOML_AT.fullmatch(error), _TOML_END.fullmatch(error)
    found = at["error"] if at else end["error"] if end else error

    def said(words: str) -> str:
        for pattern, template in _TOML_ERROR_PATTERNS:
            match = pattern.fullmatch(words)
            if match:
                return Said(template, **match.groupdict())
        return words

    if at:
        return Said(N_("{path} line {line} column {column} is not valid TOML: {error}"), path=str(path),
                    line=int(at["line"]), column=int(at["column"]), error=said(found))
    if end:
        return Said(N_("{path} is not valid TOML at its end: {error}"), path=str(path), error=said(found))
    return Said(N_("{path} is not valid TOML: {error}"), path=str(path), error=said(found))


def unusable_data_dir(data_dir: Path) -> str:
    """Why this user cannot enter and read the data directory, with the fix, in one line (a Said: its
    params' fix, when there is one, is what to do); '' when it can (or the directory does not exist
    yet: init creates it)."""
    try:
        info = data_dir.stat()
    except FileNotFoundError:
        return ""
    except OSError as err:
        return Said(N_("cannot reach the data directory {dir}: {error}"), dir=str(data_dir), error=err.strerror)
    if os.access(data_dir, os.R_OK | os.X_OK):
        return ""
    import pwd  # lazy: only for this message

    def name(uid: int) -> str:
        try:
            return pwd.getpwuid(uid).pw_name
        except KeyError:
            return str(uid)

    owner, me = name(info.st_uid), name(os.geteuid())
    fix = (Said(N_("run 'chmod 700 {dir}' as {owner} or root"), dir=str(data_dir), owner=owner) if owner == me else
           Said(N_("run 'chmod 700 {dir}' as {owner} or root, and run tui-pos as {owner}"), dir=str(data_dir), owner=owner))
    return Said(N_("the data directory {dir} cannot be read by {user} (mode {mode}, owner {owner}): {fix}"),
                dir=str(data_dir), user=me, mode=f"{info.st_mode & 0o7777:04o}", owner=owner, fix=fix)


def default_config(data_dir: Path) -> Config:
    """The configuration a data directory has with no config.toml (doctor uses it when the file is bad)."""
    return _build(data_dir, {})


# -- the schema: every section and key of config.toml, its type and range ---------------------------------
# A kind is a function (value, exponent) -> the typed value, raising ValueError with what is wrong with it
# (the caller puts the file, line and key in front). New keys are one line in SCHEMA; a new kind is a
# function below. A Key's kind may be any such function (e.g. one that accepts a list or a table).

Kind = Callable[[Any, int], Any]


@dataclass(frozen=True)
class Key:
    kind: Kind
    attr: str = ""  # the Config (or [section] dataclass) field it fills; "" = the key's own name


class EntryProblem(ValueError):
    """A bad entry of a table value (a tax rate, a key binding): the message names the entry itself."""

    def __init__(self, entry: str, message: str):
        super().__init__(message)
        self.entry = entry


def _type_name(value: Any) -> str:
    """What a TOML value is, in words."""
    names = {bool: N_("true/false"), int: N_("a whole number"), float: N_("a number"), str: N_("a string"),
             list: N_("a list"), dict: N_("a table"), datetime.date: N_("a date"), datetime.time: N_("a time"),
             datetime.datetime: N_("a date and time")}
    return Said(names[type(value)]) if type(value) in names else type(value).__name__


def _wrong(value: Any, wanted: str) -> ValueError:
    shown = repr(value)
    return ValueError(Said(N_("must be {wanted}, not {shown}"), wanted=wanted,
                           shown=shown if len(shown) <= 60 else _type_name(value)))


def integer(low: int, high: int) -> Kind:
    def kind(value: Any, _exponent: int) -> int:
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise _wrong(value, Said(N_("a whole number from {low} to {high}"), low=low, high=high))
        return value
    return kind


def number(low: float, high: float, above_low: bool = False) -> Kind:
    """int or float; finite (no nan/inf); low < value if above_low, else low <= value."""
    def kind(value: Any, _exponent: int) -> float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        if not ok or not (low < value if above_low else low <= value) or value > high:
            raise _wrong(value, Said(N_("a number above {low} and at most {high}") if above_low
                                     else N_("a number from {low} to {high}"), low=f"{low:g}", high=f"{high:g}"))
        return float(value)
    return kind


def flag(value: Any, _exponent: int) -> bool:
    if not isinstance(value, bool):
        raise _wrong(value, Said(N_("true or false (without quotes)")))
    return value


def one_of(*allowed: int) -> Kind:
    def kind(value: Any, _exponent: int) -> int:
        if not isinstance(value, int) or isinstance(value, bool) or value not in allowed:
            raise _wrong(value, Said(N_("{some} or {last}"), some=", ".join(map(str, allowed[:-1])), last=allowed[-1]))
        return value
    return kind


def text(choices: tuple[str, ...] = (), pattern: str = "", hint: str = "", max_len: int = 200,
         strip: bool = False) -> Kind:
    """A string without control characters; one of choices, or matching pattern (hint: what to use, N_-marked), if given."""
    def kind(value: Any, _exponent: int) -> str:
        if not isinstance(value, str):
            raise _wrong(value, Said(N_("a string in quotes")))
        value = value.strip() if strip else value
        if CONTROL_CHARACTERS.search(value) or len(value) > max_len:
            raise ValueError(Said(N_("{value} must be at most {n} characters, none of them control characters"),
                                  value=repr(value[:40]), n=max_len))
        if (choices and value not in choices) or (pattern and not re.fullmatch(pattern, value)):
            raise ValueError(Said(N_("{value}: {hint}"), value=repr(value), hint=Said(hint) if hint else
                                  Said(N_("use {choices}"), choices=", ".join(choices))))
        return value
    return kind


def words(item: Kind = text(), at_least: int = 0, max_items: int = 100) -> Kind:  # noqa: B008 (a pure checker)
    """A list of strings; one string is a list of one (never a list of its letters)."""
    def kind(value: Any, exponent: int) -> tuple[Any, ...]:
        values = [value] if isinstance(value, str) else value
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise _wrong(value, Said(N_('a list of strings, e.g. ["a", "b"]')))
        if not at_least <= len(values) <= max_items:
            raise ValueError(Said(N_("must have {low} to {high} entries, not {n}"), low=at_least, high=max_items,
                                  n=len(values)))
        return tuple(item(v, exponent) for v in values)
    return kind


def _decimal_text(value: Any) -> str:
    """An amount or a percentage as written: "12.50" (or a bare TOML number, 12.5); never nan or 1e3."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise _wrong(value, Said(N_('a decimal number in quotes, e.g. "12.50"')))
    return value if isinstance(value, str) else str(value)


def amount(positive: bool = False) -> Kind:
    """An amount in the shop currency ([shop] exponent decimals at most), kept as its text."""
    def kind(value: Any, exponent: int) -> str:
        written = _decimal_text(value)
        try:
            minor = parse_fixed(written, exponent)
        except TooManyDecimals:
            raise ValueError(Said(N_("{value} has more than {n} decimals ([shop] exponent)"), value=repr(written),
                                  n=exponent)) from None
        if minor is None or minor < 0 or (positive and minor == 0) or minor >= MAX_MINOR:
            raise ValueError(Said(N_('{value} must be an amount above 0, e.g. "10.00"') if positive else
                                  N_('{value} must be an amount of at least 0, e.g. "10.00"'), value=repr(written)))
        return written
    return kind


def quantity(value: Any, _exponent: int) -> str:
    """A quantity of units (3 decimals at most, domain.stock), at least 0, kept as its text."""
    written = _decimal_text(value)
    try:
        milli = parse_fixed(written, 3)
    except TooManyDecimals:
        raise ValueError(Said(N_("{value} has more than 3 decimals"), value=repr(written))) from None
    if milli is None or milli < 0 or milli > 10**12:
        raise ValueError(Said(N_('{value} must be a quantity of at least 0, e.g. "5" or "2.5"'), value=repr(written)))
    return written


def percent(value: Any, _exponent: int) -> str:
    written = _decimal_text(value)
    try:
        percent_to_bp(written)
    except BadInput:
        raise ValueError(Said(N_("{value} must be a percentage from 0 to 100 with at most 2 decimals"),
                              value=repr(written))) from None
    return written


def table(value_kind: Kind, name_pattern: str = r"[A-Za-z0-9_-]{1,32}", at_least: int = 0) -> Kind:
    """A table of free names (tax codes, binding ids) to values of one kind."""
    def kind(value: Any, exponent: int) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise _wrong(value, Said(N_("a table ([section] with name = value lines)")))
        if len(value) < at_least:
            raise ValueError(Said(N_("must have at least 1 entry") if at_least == 1 else
                                  N_("must have at least {n} entries"), n=at_least))
        result = {}
        for name, item in value.items():
            if not re.fullmatch(name_pattern, name):
                raise EntryProblem(name, Said(N_("is not a good name: use 1-32 letters, digits, _ or -")))
            try:
                result[name] = value_kind(item, exponent)
            except ValueError as err:
                raise EntryProblem(name, said_of(err)) from None
        return result
    return kind


def _reasons(value: Any, exponent: int) -> tuple[str, ...] | dict[str, tuple[str, ...]]:
    """[till] reasons = [...] (the old single list: refunds and voids), or a [till.reasons] table of
    a list per kind of approval."""
    reasons = words(text(max_len=100), at_least=1)  # as long as a reason may be (app.till.REASON_LENGTH)
    if not isinstance(value, dict):
        return reasons(value, exponent)
    unknown = next((name for name in value if name not in DEFAULT_REASONS), None)
    if unknown is not None:
        raise EntryProblem(unknown, Said(N_("is not a kind of approval with reasons (use {kinds})"),
                                         kinds=", ".join(DEFAULT_REASONS)))
    return table(reasons)(value, exponent)


def _reason_lists(value: tuple[str, ...] | dict[str, tuple[str, ...]] | None) -> dict[str, Any]:
    """The Config fields that [till] reasons fills (none when it is not set)."""
    if value is None:
        return {}
    lists = {**DEFAULT_REASONS, **(value if isinstance(value, dict) else {"refund": value, "void": value})}
    return {"reasons": lists["refund"], "reason_lists": lists}


def _connection(value: Any, exponent: int) -> str:
    connection = text(strip=True)(value, exponent)
    if not (connection in ("none", "usb") or connection.startswith(PRINTER_CONNECTION_PREFIXES)):
        raise ValueError(Said(N_("{value}: use none, usb, usb:VID:PID, lp:/dev/usb/lp0, tcp:HOST:9100 or file:PATH"),
                              value=repr(connection)))
    return connection


def _columns(value: Any, exponent: int) -> int:
    columns = integer(0, 64)(value, exponent)
    if columns and columns < 24:
        raise ValueError(Said(N_("{columns}: use 0 (from paper) or 24-64"), columns=columns))
    return columns


def _payment_provider(provider: str) -> Kind:
    """[payments.PROVIDER]: its keys (PAYMENT_PROVIDER_KEYS), each a string; a secret as itself or as KEY_file."""
    required, files, optional = PAYMENT_PROVIDER_KEYS[provider]
    allowed = set(required) | set(optional) | {f"{key}_file" for key in files}

    def kind(value: Any, exponent: int) -> dict[str, str]:
        if not isinstance(value, dict):
            raise _wrong(value, Said(N_("a table ([payments.{provider}] with name = value lines)"), provider=provider))
        settings = {}
        for name, item in value.items():
            if name not in allowed:
                raise EntryProblem(name, Said(N_("is not a setting of [payments.{provider}] (known: {known})"),
                                              provider=provider, known=", ".join(sorted(allowed))))
            if not isinstance(item, str) or not item.strip():
                raise EntryProblem(name, Said(N_("must be a string, not {type}"), type=_type_name(item))
                                   if not isinstance(item, str) else Said(N_("must not be empty")))
            settings[name] = item.strip() if not name.endswith("key") else item
        missing = [key for key in required if key not in settings and f"{key}_file" not in settings]
        if missing:
            raise ValueError(Said(N_('needs {keys} (a key may be given as KEY_file = "path")'), keys=", ".join(missing)))
        return settings
    return kind


_DAY = 86400
# section -> key -> its kind, and the Config field it fills when that is not the key's own name. The
# defaults are the dataclasses' (Config, StorageConfig, ...); [storage], [printer], [backup], [alerts] and
# [support] fill the dataclass of the same name, the other sections fill Config itself.
SCHEMA: dict[str, dict[str, Key] | Key] = {
    "till": {
        "id": Key(text(pattern=r"[A-Za-z0-9]{1,8}", hint=N_("use 1-8 letters or digits")), "till_id"),
        "discount_limit": Key(percent),
        "quit_needs_manager": Key(flag),
        "pin_attempts": Key(integer(1, 1000)),
        "pin_lockout_s": Key(integer(1, 7 * _DAY)),
        "paid_out_limit": Key(amount()),
        "z_difference_limit": Key(amount()),
        "reasons": Key(_reasons),  # a list, or a table of lists per kind; each reason at most 100 characters
    },
    "shop": {
        "name": Key(text(), "shop_name"),
        "currency": Key(text(pattern=r"[A-Za-z]{3}", hint=N_("use a 3-letter ISO 4217 code, e.g. CNY")), "currency_code"),
        "symbol": Key(text(max_len=8), "currency_symbol"),
        "exponent": Key(integer(0, 4), "currency_exponent"),
        "cash_rounding": Key(amount()),
        "prices_include_tax": Key(flag),
        "denominations": Key(words(amount(positive=True), at_least=1, max_items=30)),
    },
    "tax": {
        "rates": Key(table(percent, at_least=1), "tax_rates"),
    },
    "ui": {
        "theme": Key(text(choices=("auto", "default", "console"))),
        "language": Key(text(choices=(AUTO_LANGUAGE, *LANGUAGES))),
    },
    "keys": Key(table(text(), name_pattern=r"[A-Za-z0-9_.-]{1,64}"), "keys"),  # the whole section is one table
    "storage": {
        "journal_dirs": Key(words(text(max_len=4096), at_least=1, max_items=10)),
        "retry_budget_ms": Key(integer(0, 60_000)),
        "busy_timeout_ms": Key(integer(0, 60_000)),
        "replay_interval_s": Key(number(0, _DAY, above_low=True)),
    },
    "printer": {
        "connection": Key(_connection),
        "paper": Key(one_of(58, 80)),
        "columns": Key(_columns),
        "profile": Key(text()),
        "chinese": Key(flag),
        "address": Key(words()),
        "tax_id": Key(text()),
        "footer": Key(words()),
        "qr": Key(text(max_len=500)),
        "qr_native": Key(flag),
        "cut": Key(flag),
        "drawer": Key(flag),
        "drawer_pin": Key(one_of(2, 5)),
        "write_timeout_ms": Key(integer(1, 600_000)),
        "status_timeout_ms": Key(integer(1, 600_000)),
        "language": Key(text(choices=(AUTO_LANGUAGE, *LANGUAGES))),
    },
    "backup": {
        "destinations": Key(words(text(max_len=4096), at_least=1, max_items=10)),
        "keep": Key(integer(1, 10_000)),
        "every_hours": Key(number(0, 24 * 366)),
    },
    "alerts": {
        "hook": Key(text(max_len=4096, strip=True)),
        "hook_timeout_s": Key(number(0, 3600, above_low=True)),
        "disk_low_mb": Key(integer(0, 10**9)),
        "backlog_max": Key(integer(0, 10**9)),
        "backlog_max_minutes": Key(number(0, 10**7)),
        "unprinted_max_minutes": Key(number(0, 10**7)),
        "hq_offline_minutes": Key(number(0, 10**7)),
    },
    "support": {
        "redact_keys": Key(words()),
    },
    "stock": {
        "adjust_limit": Key(quantity),
        "variance_qty": Key(quantity),
        "variance_percent": Key(percent),
        "variance_value": Key(amount()),
        "shrinkage_value": Key(amount()),
        "outflow_factor": Key(number(1, 1000)),
        "outflow_min": Key(quantity),
        "outflow_days": Key(integer(1, 366)),
        "dead_days": Key(integer(1, 3660)),
        "risk_factor": Key(number(1, 1000)),
        "risk_min": Key(integer(1, 10**6)),
    },
    "hq": {
        "dsn": Key(text(max_len=4096, strip=True)),
        "shop": Key(text(pattern=r"[A-Za-z0-9][A-Za-z0-9_-]{0,31}", hint=N_("use 1-32 letters, digits, _ or -"))),
        "sync_every_s": Key(number(1, _DAY)),
    },
    "payments": {
        "wait": Key(number(5, 600)),
        "query_every": Key(number(1, 60)),
        "reverse_after": Key(number(0, 600)),
        "timeout": Key(number(1, 120)),
        "alipay": Key(_payment_provider("alipay")),
        "wechat": Key(_payment_provider("wechat")),
    },
}
_SUB_CONFIGS = {"storage": StorageConfig, "printer": PrinterConfig, "backup": BackupConfig, "alerts": AlertConfig,
                "support": SupportConfig, "hq": HqConfig, "stock": StockConfig, "payments": PaymentsConfig}

Where = tuple[str, ...]  # ("till", "id"): a section and a key (or a section alone)


def validate(raw: dict[str, Any]) -> tuple[dict[Where, Any], list[tuple[Where, str]]]:
    """The typed value of every key present, and every problem found as (where, message). The currency
    exponent is checked first: amounts depend on it."""
    problems: list[tuple[Where, str]] = []
    values: dict[Where, Any] = {}

    def check(where: Where, key: Key, value: Any, exponent: int) -> None:
        try:
            values[where] = key.kind(value, exponent)
        except EntryProblem as err:
            problems.append(((*where, err.entry), said_of(err)))
        except ValueError as err:
            problems.append((where, said_of(err)))

    shop = raw.get("shop")
    if isinstance(shop, dict) and "exponent" in shop:
        check(("shop", "exponent"), SCHEMA["shop"]["exponent"], shop["exponent"], 0)  # type: ignore[index]
    exponent = values.get(("shop", "exponent"), Config.currency_exponent)
    for name in raw:
        if name not in SCHEMA:
            problems.append(((name,), Said(N_("is not a setting of tui-pos (sections: {sections})"),
                                           sections=", ".join(SCHEMA))))
    for section, keys in SCHEMA.items():
        if section not in raw:
            continue
        table_value = raw[section]
        if isinstance(keys, Key):
            check((section,), keys, table_value, exponent)
            continue
        if not isinstance(table_value, dict):
            problems.append(((section,), Said(N_("must be a table ([{section}] and its keys), not {type}"),
                                              section=section, type=_type_name(table_value))))
            continue
        for name, value in table_value.items():
            if name not in keys:
                problems.append(((section, name), Said(N_("is not a setting of tui-pos (known: {known})"),
                                                       known=", ".join(keys))))
            elif (section, name) != ("shop", "exponent"):
                check((section, name), keys[name], value, exponent)
    return values, problems


def _key_name(where: Where) -> str:
    return f"[{where[0]}]" if len(where) == 1 else f"[{'.'.join(where[:-1])}] {where[-1]}"


def _at_line(lines: dict[Where, int], where: Where) -> int:
    """The line of the key, else of its section; 0 when neither is found."""
    for length in range(len(where), 0, -1):
        if where[:length] in lines:
            return lines[where[:length]]
    return 0


_HEADER = re.compile(r"\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?")
_ASSIGN = re.compile(r"\s*((?:[A-Za-z0-9_-]+|\"[^\"]*\"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|\"[^\"]*\"|'[^']*'))*)\s*=")


def _dotted(name: str) -> Where:
    return tuple(part.strip().strip("\"'") for part in re.findall(r"\"[^\"]*\"|'[^']*'|[^.]+", name))


def key_lines(toml_text: str) -> dict[Where, int]:
    """Where each table and key of (already valid) TOML text is defined: (section, key) -> line number.
    A light scan instead of a position-keeping TOML parser: tomllib has no positions, and start-up must stay fast."""
    lines: dict[Where, int] = {}
    table: Where = ()
    in_string = ""
    for number, line in enumerate(toml_text.splitlines(), start=1):
        if in_string:
            if line.count(in_string) % 2:
                in_string = ""
            continue
        header = _HEADER.fullmatch(line)
        if header:
            table = _dotted(header[1])
            lines.setdefault(table, number)
            continue
        assign = _ASSIGN.match(line)
        if assign:
            lines.setdefault(table + _dotted(assign[1]), number)
            rest = line[assign.end():]
            for quote in ('"""', "'''"):
                if rest.count(quote) % 2:
                    in_string = quote
    return lines


def _build(data_dir: Path, values: dict[Where, Any]) -> Config:
    """Config from the validated values; whatever is not set keeps its dataclass default."""
    top: dict[str, Any] = {}
    sub: dict[str, dict[str, Any]] = {section: {} for section in _SUB_CONFIGS}
    for where, value in values.items():
        key = SCHEMA[where[0]]
        key = key if isinstance(key, Key) else key[where[1]]
        name = key.attr or where[-1]
        (sub[where[0]] if where[0] in _SUB_CONFIGS else top)[name] = value
    top.update(_reason_lists(top.pop("reasons", None)))
    for paths in (("storage", "journal_dirs"), ("backup", "destinations")):
        if paths[1] in sub[paths[0]]:
            sub[paths[0]][paths[1]] = tuple(Path(p).expanduser() for p in sub[paths[0]][paths[1]])
    storage, backup = StorageConfig(**sub["storage"]), BackupConfig(**sub["backup"])
    return Config(
        data_dir=data_dir,
        storage=replace(storage, journal_dirs=tuple(data_dir / p for p in storage.journal_dirs)),
        backup=replace(backup, destinations=tuple(data_dir / p for p in backup.destinations)),
        printer=PrinterConfig(**sub["printer"]), alerts=AlertConfig(**sub["alerts"]),
        support=SupportConfig(**sub["support"]), hq=HqConfig(**sub["hq"]), stock=StockConfig(**sub["stock"]),
        payments=PaymentsConfig(**sub["payments"]), **top,
    )


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

[till.reasons]                  # reason codes a manager picks from, per kind of approval (first: preselected)
{reasons}

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
# the screen's words and human CLI output: "en", "zh_CN", or "auto" (the system's locale)
language = "{language}"

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
footer = {footer}
qr = "{{receipt}} {{uuid}}"         # QR code content ({{receipt}} {{uuid}} {{total}} {{till}}); "" = none
qr_native = true                # false: print the QR as an image (printers without QR support)
cut = true
drawer = true                   # open the cash drawer after a cash sale
drawer_pin = 2
write_timeout_ms = 3000
status_timeout_ms = 200
language = "auto"               # the receipt's words: "en", "zh_CN", or "auto" (as [ui] language)

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
hq_offline_minutes = 60         # records waiting for HQ (a till that joined one), not synced for longer than this

[stock]
# Stock (tui-pos stock ...) and its warnings (tui-pos report anomalies). Quantities are units.
adjust_limit = "10"             # an adjustment of more units, either way, needs a manager PIN
variance_qty = "5"              # a count off by more units than this...
variance_percent = "10"         # ...or by more than this percent of what was expected...
variance_value = "50"           # ...or by more than this amount at cost: an anomaly, and a manager approves it
shrinkage_value = "100"         # write-offs of one reason (damaged, expired, theft...) worth more over the period
outflow_factor = 3              # a day's sales of a product this many times its usual daily rate...
outflow_min = "5"               # ...and at least this many units
outflow_days = 28               # the usual rate: over this many days before
dead_days = 30                  # stock on hand that has not moved in this many days
risk_factor = 2                 # a cashier's voids, refunds, no-sales... per sale this many times the shop's...
risk_min = 3                    # ...and at least this many of them

[payments]
# Code payments: the customer's Alipay or WeChat payment code (付款码), scanned at the till.
wait = 60                       # seconds the customer gets to confirm on the phone, then the trade is cancelled
query_every = 5                 # seconds between two questions to the provider
reverse_after = 15              # WeChat: no reverse sooner than this after the payment was sent
timeout = 10                    # seconds one call to the provider may take
# Each provider is set up in its own table (keys as PEM text, or better as KEY_file = "path", 0600):
# [payments.alipay]
# app_id = "2021000000000000"
# private_key_file = "keys/alipay_app_private.pem"
# alipay_public_key_file = "keys/alipay_public.pem"
# [payments.wechat]
# mchid = "1900000000"
# appid = "wx0000000000000000"
# private_key_file = "keys/wechat_apiclient_key.pem"
# cert_serial_no = "..."
# apiv3_key_file = "keys/wechat_apiv3.key"
# public_key_file = "keys/wechat_pub_key.pem"
# public_key_id = "PUB_KEY_ID_..."

[support]
# Values of keys whose name contains one of these words are removed from support bundles.
redact_keys = ["token", "secret", "password", "passwd", "key", "auth", "credential", "hook", "url"]
"""


def config_text(till_id: str = "T1", shop_name: str = "tui-pos shop", language: str = AUTO_LANGUAGE) -> str:
    """A new shop's config.toml: every key with its default, but the words a person reads (reason
    codes, the receipt's footer) in the shop's language, and [ui] language set to it."""
    words = translator(resolve_language(language)).gettext

    def toml_list(values: tuple[str, ...]) -> str:
        return json.dumps([words(value) for value in values], ensure_ascii=False)  # a JSON list of strings is TOML

    reasons = "\n".join(f"{kind} = {toml_list(values)}" for kind, values in DEFAULT_REASONS.items())
    return CONFIG_TEMPLATE.format(till_id=till_id, shop_name=shop_name, language=language, reasons=reasons,
                                  footer=toml_list(PrinterConfig.footer))
