"""`tui-pos doctor`: every check a support engineer would make by hand, each with what to do.

A check is a small function returning a Check: ok, warn (works, but look at it) or fail (fix
it now; the command exits non-zero). Doctor only reads, like status, except that it opens the
printer for a status probe when no till is running (a running till owns its printer: then the
print jobs tell the printer's state instead).
"""

from __future__ import annotations

import os
import sqlite3
import stat
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from tui_pos.app.till import currency_refusal
from tui_pos.config import CONFIG_NAME, Config, ConfigError, default_config, load_config, unusable_data_dir
from tui_pos.domain.errors import Each, Said
from tui_pos.i18n import N_
from tui_pos.ops.readonly import (
    DatabaseUnavailable,
    database_state,
    read_only_database,
    sales_out_of_time,
    schema_version,
)
from tui_pos.ops.status import CLOCK_SLACK_S, DATABASE_STATES, DISK_ROLES, till_status
from tui_pos.store import db, schema
from tui_pos.store.journal import KEY_FILE, key_missing

Level = Literal["ok", "warn", "fail"]
WAL_WARN_BYTES = 64 * 2**20  # the WAL is checkpointed every ~4 MB; this big means checkpoints do not complete
FIX_SUPPORT = N_("run 'tui-pos support-bundle' and send the file to support")


@dataclass(frozen=True)
class Check:
    name: str
    level: Level
    detail: str  # a Said: English as a str (--json), said in the screen's language by i18n.message
    fix: str = ""  # what to do; set whenever level is not ok (a Said too)


@dataclass(frozen=True)
class Report:
    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        """No check failed (warnings allowed)."""
        return all(c.level != "fail" for c in self.checks)

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "checks": [asdict(c) for c in self.checks]}


def run_doctor(data_dir: Path, full: bool = False) -> Report:
    """Every check; full adds a whole-file integrity_check (slower than quick_check on a big database)."""
    config, config_check = check_config(data_dir)
    status = till_status(config)
    return Report((config_check, check_data_dir(config), check_files(config), check_disk(config, status),
                   check_database(config, full),
                   check_wal(status), check_journal(status), check_clock(status, config), check_printer(config, status),
                   check_backup(status), check_users(config), check_payments(status)))


def check_config(data_dir: Path) -> tuple[Config, Check]:
    """config.toml loads; if not, the other checks run with the defaults."""
    problem = unusable_data_dir(data_dir)
    if problem:
        fix = getattr(problem, "params", {}).get("fix", problem)
        return default_config(data_dir), Check("config", "fail", problem, fix)
    if not (data_dir / CONFIG_NAME).exists():
        return default_config(data_dir), Check("config", "warn", Said(N_("no {file} in {dir}: defaults in use"),
                                                                           file=CONFIG_NAME, dir=str(data_dir)),
                                               Said(N_("run 'tui-pos init' if this should be a shop")))
    try:
        config = load_config(data_dir)
        refusal = currency_refusal(config, _stored_currency(config))
        if refusal:
            halves = getattr(refusal, "params", {})
            return config, Check("config", "fail", Said(N_("{refusal} (the till will not start)"),
                                                        refusal=halves.get("problem", refusal)), halves.get("fix", ""))
        return config, Check("config", "ok", Said(N_("{path} is valid"), path=str(data_dir / CONFIG_NAME)))
    except ConfigError as err:
        return default_config(data_dir), Check(
            "config", "fail", Said(N_("{problems} (the till will not start; other checks used the defaults)"),
                                   problems=Each(err.problems)),
            Said(N_("correct that key in {path} (every key is optional: delete the line to get the default)"),
                 path=str(data_dir / CONFIG_NAME)))


def _stored_currency(config: Config) -> dict[str, Any] | None:
    """The currency stored amounts are in, when there are any (None: none, or unreadable)."""
    try:
        with read_only_database(config) as conn:
            return db.stored_currency(conn) if db.holds_money(conn) else None
    except (DatabaseUnavailable, sqlite3.Error):
        return None  # the database check says why


def _sales_out_of_time(config: Config) -> list[tuple[str, str, str]]:
    try:
        with read_only_database(config) as conn:
            return sales_out_of_time(conn)
    except (DatabaseUnavailable, sqlite3.Error):
        return []  # the database check says why


def check_data_dir(config: Config) -> Check:
    """Owner, 0700, writable: the till's files must be private to its user and all owned by it."""
    path = config.data_dir
    try:
        info = path.stat()
    except OSError as err:
        return Check("data_dir", "fail", f"{path}: {err.strerror}",
                     Said(N_("run 'tui-pos init' (or fix --data-dir / $TUI_POS_DATA_DIR)")))
    owner = _user_name(info.st_uid)
    problems, fixes = [], []
    if stat.S_IMODE(info.st_mode) & 0o077:
        problems.append(Said(N_("mode {mode} lets other users in"), mode=f"{stat.S_IMODE(info.st_mode):04o}"))
        fixes.append(f"chmod 700 {path}")
    strangers = [p for d in (path, *config.storage.journal_dirs) for p in _entries(d) if p.lstat().st_uid != info.st_uid]
    if strangers:
        problems.append(Said(N_("{n} file(s) not owned by {owner}, e.g. {path} (made by a command run as another "
                                "user?)"), n=len(strangers), owner=owner, path=str(strangers[0])))
        fixes.append(f"chown -R {owner} {path}" + "".join(f" {d}" for d in config.storage.journal_dirs
                                                       if not d.is_relative_to(path)))
    if not os.access(path, os.W_OK | os.X_OK):
        problems.append(Said(N_("not writable")) if os.geteuid() == info.st_uid else
                        Said(N_("not writable by this user (owner: {owner})"), owner=owner))
        fixes.append(Said(N_("run as {owner}, or remount the file system read-write if it went read-only (dmesg)"),
                          owner=owner))
    if problems:
        return Check("data_dir", "fail", Said(N_("{path}: {problems}"), path=str(path), problems=Each(problems)),
                     Each(fixes))
    return Check("data_dir", "ok", Said(N_("{path}: owner {owner}, mode 0700, writable"), path=str(path), owner=owner))


READ_ONLY_OK = (CONFIG_NAME, KEY_FILE)  # the till only reads these: making them read-only is a choice
OWNER_WRITE = {False: stat.S_IWUSR, True: stat.S_IWUSR | stat.S_IXUSR}  # file / directory


def check_files(config: Config) -> Check:
    """Every file and directory the till writes is writable by the till's user (the data
    directory's owner): the database, its -wal and -shm (SQLite makes them with the database's
    mode: a database once read-only leaves them read-only after a chmod back), the journal
    directories, documents, lock files, logs. Checked from the mode bits, as root ignores them."""
    try:
        uid = config.data_dir.stat().st_uid
    except OSError as err:
        return Check("files", "fail", f"{config.data_dir}: {err.strerror}", Said(N_("see the data_dir check")))
    bad: list[tuple[Path, str]] = []
    for path in _till_paths(config):
        problem = _unwritable(path, uid)
        if problem:
            bad.append((path, problem))
    if bad:
        owner = _user_name(uid)
        shown = Each([Said(N_("{path} ({why})"), path=str(p), why=why) for p, why in bad[:6]])
        fix = "; ".join(f"chmod {700 if p.is_dir() else 600} {p}" for p, _ in bad[:6])
        owners = any(getattr(why, "params", {}).get("owner") for _, why in bad)
        detail = (Said(N_("not writable by {owner}, the till's user: {files} and {more} more"), owner=owner, files=shown,
                       more=len(bad) - 6) if len(bad) > 6 else
                  Said(N_("not writable by {owner}, the till's user: {files}"), owner=owner, files=shown))
        return Check("files", "fail", detail, Said(
            N_("{commands}; chown {owner} on those owned by someone else (as {owner} or root); then 'tui-pos replay'")
            if owners else N_("{commands} (as {owner} or root); then 'tui-pos replay'"), commands=fix, owner=owner))
    return Check("files", "ok", Said(N_("every file the till writes is writable by {owner}"), owner=_user_name(uid)))


def _till_paths(config: Config) -> list[Path]:
    """The existing files and directories the till writes to."""
    data = config.data_dir
    dirs = [data, data / "logs", *config.storage.journal_dirs]
    dirs += [d / sub for d in config.storage.journal_dirs for sub in ("replayed", "quarantine")]
    paths: list[Path] = []
    for directory in dirs:
        try:
            if not directory.is_dir():
                continue
        except OSError:  # its parent cannot be entered: that parent is reported
            continue
        paths.append(directory)
        paths += [p for p in _entries(directory)
                  if p.is_file() and p.name not in READ_ONLY_OK and directory.name != "replayed"]
    return sorted(set(paths), key=str)


def _unwritable(path: Path, uid: int) -> str:
    """Why user uid cannot write path (mode bits; access(2) too when that user is us), or ''."""
    try:
        info = path.lstat()
    except OSError as err:
        return err.strerror or str(err)
    directory = stat.S_ISDIR(info.st_mode)
    need = OWNER_WRITE[directory]
    mode = stat.S_IMODE(info.st_mode)
    if info.st_uid == uid:
        allowed = mode & need == need
    else:  # another owner: the group or other bits decide
        shift = 3 if info.st_gid in _groups_of(uid) else 6
        allowed = (mode << shift) & need == need
    if not allowed:
        return Said(N_("mode {mode}"), mode=f"{mode:04o}") if info.st_uid == uid else \
            Said(N_("mode {mode}, owner {owner}"), mode=f"{mode:04o}", owner=_user_name(info.st_uid))
    if os.geteuid() == uid != 0 and not os.access(path, os.W_OK | (os.X_OK if directory else 0)):
        return Said(N_("not writable (a read-only file system?)"))
    return ""


def _groups_of(uid: int) -> set[int]:
    import pwd  # lazy: only doctor needs it

    try:
        user = pwd.getpwuid(uid)
    except KeyError:
        return set()
    return set(os.getgrouplist(user.pw_name, user.pw_gid))


def _entries(directory: Path) -> list[Path]:
    try:
        return list(directory.iterdir())
    except OSError:
        return []


def _user_name(uid: int) -> str:
    import pwd  # lazy: only doctor needs it

    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def check_disk(config: Config, status: dict[str, Any]) -> Check:
    """Free space in the data directory and every journal directory."""
    low = config.alerts.disk_low_mb
    bad = [d for d in status["disk"] if not d["writable"] or d["free_mb"] < low]
    summary = Each([Said(N_("{role} {path}: {free_mb} MB free"), role=Said(DISK_ROLES.get(d["role"], d["role"])),
                         path=d["path"], free_mb=d["free_mb"]) for d in status["disk"]])
    if bad:
        worst = Each([Said(N_("{path} cannot be written (full, read-only or not permitted)"), path=d["path"])
                      if not d["writable"] else
                      Said(N_("{path} has {free_mb} MB free (< {low} MB)"), path=d["path"], free_mb=d["free_mb"], low=low)
                      for d in bad])
        return Check("disk", "fail", worst, Said(
            N_("free space there (old backups, logs, files that do not belong to the till), or move that journal "
               "directory to a disk with room ([storage] journal_dirs); sales go to another journal directory "
               "meanwhile, if one is configured")))
    return Check("disk", "ok", summary)


def check_database(config: Config, full: bool) -> Check:
    """The database opens, reads and passes quick_check (integrity_check with --full)."""
    pragma = "integrity_check" if full else "quick_check"
    restore_fix = Said(N_("the till keeps selling into the journal meanwhile. Stop the till, 'tui-pos backup verify' "
                          "the newest backup, then 'tui-pos restore FILE' (the damaged file is kept as a safety copy); "
                          "then 'tui-pos replay'. Or {support}"), support=Said(FIX_SUPPORT))
    try:
        with read_only_database(config) as conn:
            messages = [m for (m,) in conn.execute(f"PRAGMA {pragma}(10)")]
            version = schema_version(conn)
            unknown, waiting = schema.unknown(conn), schema.pending(conn)
    except DatabaseUnavailable as err:
        if err.state == "missing":
            return Check("database", "fail", Said(N_("{state}: {error}"), state=Said(DATABASE_STATES["missing"]),
                                                  error=str(err)),
                         Said(N_("'tui-pos restore FILE' from a backup, or 'tui-pos init' for a new shop")))
        return Check("database", "fail", Said(N_("{state}: {error}"), state=Said(DATABASE_STATES.get(err.state, err.state)),
                                              error=str(err)), restore_fix)
    except sqlite3.Error as err:
        state = database_state(err)
        return Check("database", "fail", Said(N_("{state}: {error}"), state=Said(DATABASE_STATES.get(state, state)),
                                              error=str(err)), restore_fix)
    upgrade = Said(N_("upgrade tui-pos to the version that wrote this database"))
    if messages != ["ok"]:
        return Check("database", "fail", Said(N_("{check} found damage: {messages}"), check=pragma,
                                              messages="; ".join(messages)), restore_fix)
    if version > db.SCHEMA_VERSION:
        return Check("database", "fail", Said(N_("schema {version} is newer than this tui-pos ({known})"),
                                              version=version, known=db.SCHEMA_VERSION), upgrade)
    if unknown:
        return Check("database", "fail", Said(N_("a newer tui-pos upgraded it: migrations {migrations} are unknown to "
                                                 "this one"), migrations=", ".join(unknown)), upgrade)
    if waiting:
        return Check("database", "warn", Said(N_("{check} ok; schema {version}, migrations waiting: {migrations} (applied "
                                                 "when the till next starts)"), check=pragma, version=version,
                                              migrations=", ".join(waiting)),
                     Said(N_("start the till (or run 'tui-pos replay') to upgrade it")))
    return Check("database", "ok", Said(N_("{check} ok, schema {version}"), check=pragma, version=version))


def check_users(config: Config) -> Check:
    """User names are one person whatever their case: a shop from before that rule may hold
    'Demo' beside 'demo' (each logs in by its exact name; the audit log cannot tell them apart
    at a glance)."""
    try:
        with read_only_database(config) as conn:
            names = [name for (name,) in conn.execute("SELECT name FROM user ORDER BY name")]
    except (DatabaseUnavailable, sqlite3.Error):
        return Check("users", "ok", Said(N_("not checked: the database cannot be read (see the database check)")))
    groups: dict[str, list[str]] = {}
    for name in names:
        groups.setdefault(name.casefold(), []).append(name)
    clashes = [" / ".join(group) for group in groups.values() if len(group) > 1]
    if clashes:
        return Check("users", "warn", Said(N_("names that differ only in case: {names}"), names="; ".join(clashes)),
                     Said(N_("disable all but one of each ('tui-pos user disable NAME --manager NAME'); a new user can "
                             "no longer be added under such a name")))
    return Check("users", "ok", Said(N_("{n} user(s), no two names alike"), n=len(names)))


def check_wal(status: dict[str, Any]) -> Check:
    size = status["database"]["wal_bytes"]
    if size > WAL_WARN_BYTES:
        return Check("wal", "warn", Said(N_("the write-ahead log is {mb} MB: checkpoints are not completing"),
                                         mb=size // 2**20),
                     Said(N_("a process keeps a read open on the database (a stuck script or monitor?); stop it, or "
                             "stop the till cleanly (its last connection checkpoints the log)")))
    return Check("wal", "ok", Said(N_("write-ahead log {kb} KB"), kb=size // 1024))


def check_journal(status: dict[str, Any]) -> Check:
    journal = status["journal"]
    dirs = " ".join(status["journal_dirs"])
    if journal["unreadable"]:
        return Check("journal", "fail", Said(N_("cannot read: {what}"), what="; ".join(journal["unreadable"])),
                     Said(N_("check the disk and permissions of {dirs}"), dirs=dirs))
    if journal.get("unchecked"):  # a status from before the key was checked has no count
        return Check("journal", "fail", key_missing(journal["unchecked"]),
                     Said(N_("put the till's {key} back in its data directory (every backup carries it, in its table "
                             "tui_pos_backup_files); the next replay takes the records as usual: none was set aside"),
                          key=KEY_FILE))
    if journal["quarantined"]:
        return Check("journal", "fail", Said(N_("{n} journal record(s) failed their checksum and are quarantined: a "
                                                "sale there may be missing from the database"), n=journal["quarantined"]),
                     Said(N_("each line of quarantine/quarantine.jsonl in the journal directory holds the damaged "
                             "record (raw_b64) and why: check those sales against the paper receipts and re-enter any "
                             "that is missing, then move the file aside (e.g. to quarantine.jsonl.reviewed)")))
    if journal["backlog"] or journal["bad_lines"]:  # damaged lines alone: nothing waits, and since no time
        waiting = [Said(N_("{n} record(s) wait in the journal since {since}"), n=journal["backlog"],
                        since=journal["oldest_waiting_at"])] if journal["backlog"] else []
        damaged = [Said(N_("{n} damaged line(s) that replay will quarantine"), n=journal["bad_lines"])
                   ] if journal["bad_lines"] else []
        return Check("journal", "warn", Each([*waiting, *damaged]),
                     Said(N_("run 'tui-pos replay'; if it fails, the database is the problem (see the database check)")))
    return Check("journal", "ok", Said(N_("nothing waiting in {dirs}"), dirs=dirs))


def check_clock(status: dict[str, Any], config: Config | None = None) -> Check:
    clock = status["clock"]
    stamped = _sales_out_of_time(config) if config is not None else []
    if stamped:
        shown = Each([Said(N_("{receipt} at {at}, before {what}"), receipt=r, at=at, what=what)
                      for r, at, what in stamped[:3]])
        return Check("clock", "fail", Said(N_("{n} sale(s) stamped while the clock was set back: {sales} ...")
                                           if len(stamped) > 3 else
                                           N_("{n} sale(s) stamped while the clock was set back: {sales}"),
                                           n=len(stamped), sales=shown),
                     Said(N_("set the time (timedatectl status; enable NTP: timedatectl set-ntp true) and check the RTC "
                             "battery; those sales keep their stored times (the audit log has a clock_back entry for "
                             "each): note the real times for the accountant, and date reports by shift (Z), not by day")))
    if clock["behind_s"] > CLOCK_SLACK_S:
        return Check("clock", "fail", Said(N_("the clock reads {now}, before the last sale ({last})"), now=clock["now"],
                                           last=clock["last_sale_at"]),
                     Said(N_("set the time (timedatectl status; enable NTP: timedatectl set-ntp true) and check the RTC "
                             "battery if it happens after power cuts; receipts meanwhile carry wrong times")))
    return Check("clock", "ok", Said(N_("{now}, last sale {last}"), now=clock["now"], last=clock["last_sale_at"])
                 if clock["last_sale_at"] else clock["now"])


def check_printer(config: Config, status: dict[str, Any]) -> Check:
    """Found, permitted, ready. Probed with the configured short timeouts, unless the running till owns it."""
    printer = status["printer"]
    if config.printer.connection == "none":
        return Check("printer", "ok", Said(N_("no printer configured (receipts on screen); {n} paid sale(s) without a "
                                              "receipt (Ctrl+E at the till lists them)"), n=printer["unprinted"]))
    if printer["owned_by_running_till"]:
        troubled = {k: v for k, v in printer["unprinted_by_state"].items() if k in ("failed", "uncertain")}
        if troubled:
            return Check("printer", "warn", Said(N_("the running till has {n} receipt(s) not printed ({error})"),
                                                 n=sum(troubled.values()), error=printer["last_error"]),
                         Said(N_("look at the till's status line; 'tui-pos receipts --unprinted'")))
        return Check("printer", "ok", Said(N_("{connection}: owned by the running till; {n} receipt(s) waiting"),
                                           connection=config.printer.connection, n=printer["unprinted"]))
    return _probe(config)


def _probe(config: Config) -> Check:
    from tui_pos.printing.printer import Printer
    from tui_pos.printing.queue import LOCK_NAME, PrinterLock

    try:
        printer = Printer.from_config(config)
    except ConfigError as err:
        return Check("printer", "fail", err.said, Said(N_("correct [printer] connection in {path}"),
                                                       path=str(config.data_dir / CONFIG_NAME)))
    lock = PrinterLock(config.data_dir / LOCK_NAME)
    if not lock.acquire(1.0):
        return Check("printer", "ok", Said(N_("{printer}: another process is printing right now"),
                                           printer=printer.description))
    try:
        probed = printer.probe()
    finally:
        printer.close()
        lock.release()
    where = printer.description
    if probed.state in ("ready", "ready_no_status"):
        return Check("printer", "ok", f"{where}: {probed.text}")
    if probed.state == "paper_near_end":
        return Check("printer", "warn", f"{where}: {probed.text}", Said(N_("put a new paper roll in soon")))
    return Check("printer", "fail", f"{where}: {probed.text}", _printer_fix(probed.state, probed.error))


def _printer_fix(state: str, error: str) -> Said:
    if state == "cover_open":
        return Said(N_("close the printer's cover"))
    if state == "paper_out":
        return Said(N_("put a new paper roll in (receipts waiting print by themselves afterwards)"))
    if state == "offline":
        return Said(N_("switch the printer on-line (check the paper and the cover, then its power button)"))
    text = error.lower()
    if "permission" in text or "access" in text:
        return Said(N_("install the udev rule (scripts/99-tui-pos-printer.rules) and add the till's user to the lp "
                       "group, then unplug and replug the printer"))
    if "busy" in text:
        return Said(N_("another program holds the printer (CUPS, another till?): stop it"))
    if "backend" in text:
        return Said(N_("install libusb: apt-get install libusb-1.0-0"))
    return Said(N_("check that the printer is plugged in and switched on ('tui-pos printer list' shows the USB "
                   "printers found), and that [printer] connection in config.toml names it"))


def check_backup(status: dict[str, Any]) -> Check:
    backup = status["backup"]
    where = ", ".join(backup["destinations"])
    if backup["last_attempt_ok"] is False:
        return Check("backup", "fail", Said(N_("the last backup ({at}) failed: {error}"), at=backup["last_attempt_at"],
                                            error=backup["last_error"]),
                     Said(N_("check the destinations ({where}: mounted? room?), then run 'tui-pos backup'"), where=where))
    if backup["overdue"]:
        detail = (Said(N_("last good backup: {hours} h ago (one is due every {every} h)"), hours=backup["age_hours"],
                       every=backup["every_hours"]) if backup["last_ok_at"] else
                  Said(N_("last good backup: never (one is due every {every} h)"), every=backup["every_hours"]))
        return Check("backup", "fail", detail, Said(N_("run 'tui-pos backup' now; the till backs up by itself while it "
                                                       "runs and after each Z report")))
    if not backup["last_ok_at"]:
        return Check("backup", "warn", Said(N_("no backup yet")), Said(N_("run 'tui-pos backup'")))
    return Check("backup", "ok", Said(N_("last good backup {hours} h ago ({where})"), hours=backup["age_hours"],
                                      where=where))


def check_payments(status: dict[str, Any]) -> Check:
    """Code payments (Alipay / WeChat payment codes) whose outcome is not known, or paid and in no
    stored sale: the till settles the first before its next code payment; the second need a cashier."""
    payments = status.get("payments") or {}
    unresolved, paid = payments.get("unresolved", 0), payments.get("paid_not_completed", 0)
    if not unresolved and not paid:
        return Check("payments", "ok", Said(N_("no code payment needs anyone")))
    detail = Each([Said(N_("{n} code payment(s) with an unknown outcome"), n=unresolved)] * bool(unresolved)
                  + [Said(N_("{n} code payment(s) paid, sale not completed"), n=paid)] * bool(paid))
    return Check("payments", "warn", detail,
                 Said(N_("'tui-pos payments --unresolved' lists them; 'tui-pos payments resolve' asks the providers; "
                         "a payment paid and not in a sale is finished from the till's payments screen")))
