"""Backups that verify themselves, and restore.

A backup is one SQLite file, ``tui-pos-<till>-<UTC time>.sqlite3``, that needs nothing beside it:

- the database, copied with SQLite's online backup API from a read-only connection while the
  till keeps selling (WAL: the copy never blocks a sale);
- the journal files not yet replayed (and the quarantine), in the table ``tui_pos_backup_journal``,
  read *before* the database snapshot is taken, so a sale committed before the backup started is
  in the copy whether it was in SQLite or in the journal then (a file replayed in between is in
  both; restore and replay skip what is already there);
- the till's configuration (``config.toml``, secrets as they are) and its journal key, in the
  table ``tui_pos_backup_files``: a backup is the whole disaster recovery (restore onto an empty
  data directory needs no ``init``);
- a manifest (table ``tui_pos_backup``): when, which till, the number of sale rows and the sum
  of their totals, the audit chain's head, and a SHA-256 digest of every row of every table of the shop.

A backup's figures and manifest can be recomputed by anyone who edits it, so verification also
walks the backup's own audit chain (record digests, covered tables, Z heads), and restore checks
that chain against the till's: the live chain and the anchor outside the database.

The sale figures are read in the same read transaction as the copy is made from, so they are
the source's figures at exactly the copy's snapshot; the copy is then checked against them
(integrity_check, figures, digest) before it gets its final name. Beside it, ``NAME.sha256``
(the format of sha256sum) holds the whole file's hash. ``verify_backup`` repeats the checks
later: the file hash catches any flipped byte; without the .sha256 file (a copy taken alone),
the manifest's figures and row digest still catch damage to any row.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tui_pos.app.clock import utc_now
from tui_pos.app.till import currency_of
from tui_pos.config import CONFIG_NAME, Config, load_config
from tui_pos.domain.auth import LoginFailed, User, authenticate
from tui_pos.domain.errors import N_, Each, PosError, Said, kept_sentence, sentence_data
from tui_pos.ops.pin_lockout import pin_lockout
from tui_pos.ops.readonly import DatabaseUnavailable, read_only_database, sales_figures, schema_version
from tui_pos.store import audit, commit_log, db, schema, verification
from tui_pos.store.journal import (
    KEY_FILE,
    QUARANTINE,
    QUARANTINE_FILE,
    Journal,
    JournalScan,
    decode_line,
    fsync_dir,
    make_private_dir,
    parse_key,
    read_key,
    scan_lines,
)
from tui_pos.store.sequence import NumberingBusy, SequenceLock

log = logging.getLogger("tui_pos.ops.backup")

BACKUP_STATE = "backup-state.json"  # the last attempt and the last good backup, for status/doctor/alerts
BACKUP_LOCK = "backup.lock"  # one backup at a time per data directory (the timer and a Z report may meet)
SAFETY_DIR = "restore-safety"  # the database as it was before each restore
MANIFEST_TABLE = "tui_pos_backup"
JOURNAL_TABLE = "tui_pos_backup_journal"
FILES_TABLE = "tui_pos_backup_files"  # config.toml and journal.key, from the data directory
BACKUP_TABLES = (MANIFEST_TABLE, JOURNAL_TABLE, FILES_TABLE)
CARRIED_FILES = (CONFIG_NAME, KEY_FILE)
FORMAT = 2  # 2: the configuration, the journal key and the audit head are in the backup
AUDIT_PROBLEM = "audit: "  # the English prefix of problems found in the backup's audit chain (not damage)


class _CopyFailed(OSError):
    """A copy that cannot be kept, and why (a Said)."""

    def __init__(self, said: Said):
        super().__init__(str(said))
        self.said = said


class RestoreRefused(PosError):
    """Restore did not touch anything: the till is running, or the backup does not verify."""


# -- what a backup holds --------------------------------------------------------------------------
def content_digest(conn: sqlite3.Connection) -> str:
    """SHA-256 over every row of every shop table (the backup's own tables excluded), in a fixed order."""
    digest = hashlib.sha256()
    tables = [name for (name,) in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
        if name not in BACKUP_TABLES]
    for table in tables:
        digest.update(f"table {table}\n".encode())
        try:
            rows = conn.execute(f'SELECT * FROM "{table}" ORDER BY rowid')
        except sqlite3.OperationalError:  # a WITHOUT ROWID table: order by every column
            width = len(conn.execute(f'SELECT * FROM "{table}" LIMIT 0').description)
            rows = conn.execute(f'SELECT * FROM "{table}" ORDER BY {", ".join(str(i + 1) for i in range(width))}')
        for row in rows:
            digest.update(repr(row).encode() + b"\n")
    return digest.hexdigest()


@dataclass(frozen=True)
class JournalFile:
    """A journal file carried in a backup: which journal directory (by its place in the config) and its name there."""

    dir_index: int
    name: str  # e.g. T1-20261121T103000-123-abc.jsonl or quarantine/quarantine.jsonl
    content: bytes


def unreplayed_journal_files(config: Config) -> list[JournalFile]:
    """Every journal file replay has not retired yet, and the quarantine."""
    found = []
    for index, directory in enumerate(config.storage.journal_dirs):
        candidates = sorted(directory.glob("*.jsonl")) + [directory / QUARANTINE / QUARANTINE_FILE]
        for path in candidates:
            try:
                found.append(JournalFile(index, str(path.relative_to(directory)), path.read_bytes()))
            except OSError:
                continue  # gone (retired meanwhile) or unreadable: doctor reports unreadable journals
    return found


@dataclass(frozen=True)
class Verification:
    path: Path
    ok: bool
    problems: tuple[str, ...]
    created_at: str = ""
    till_id: str = ""
    sales: int = 0
    total: int = 0
    journal_files: int = 0
    schema_version: int = 0
    checksum: str = "missing"  # the .sha256 beside the file: "match", "mismatch" or "missing"
    # the till's journal as it was, faithfully copied: damaged lines (or lines the missing key could not
    # check) that are the same in the copy as they were in the journal are the journal's, not the copy's
    warnings: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "path": str(self.path), "problems": list(self.problems), "warnings": list(self.warnings)}


def checksum_path(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _checksum_state(path: Path) -> str:
    try:
        recorded = checksum_path(path).read_text(encoding="utf-8").split()[0]
    except (OSError, IndexError):
        return "missing"
    return "match" if recorded == file_sha256(path) else "mismatch"


def verify_backup(path: Path) -> Verification:
    """Check a backup file against its own manifest: integrity, sale figures, row digest, journal lines."""
    path = Path(path)
    if not path.is_file():
        return Verification(path, False, (Said(N_("{path} does not exist"), path=str(path)),))
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None)
    except sqlite3.Error as err:
        return Verification(path, False, (Said(N_("cannot open: {error}"), error=str(err)),))
    checksum = _checksum_state(path)
    problems: list[str] = [Said(N_("the file's SHA-256 differs from {name}: the file is damaged"), name=checksum_path(path).name)] \
        if checksum == "mismatch" else []
    with closing(conn):
        try:
            checked = _verify(conn, path)
        except sqlite3.Error as err:
            checked = Verification(path, False, (Said(N_("unreadable: {error}"), error=str(err)),))
        except (KeyError, TypeError) as err:
            checked = Verification(path, False, (Said(N_("the backup manifest is incomplete ({error})"), error=repr(err)),))
    problems += checked.problems
    return replace(checked, ok=not problems, problems=tuple(problems), checksum=checksum)


def _verify(conn: sqlite3.Connection, path: Path) -> Verification:
    problems: list[str] = [f"integrity_check: {msg}" for (msg,) in conn.execute("PRAGMA integrity_check(20)") if msg != "ok"]
    try:
        manifest = json.loads(conn.execute(f"SELECT value FROM {MANIFEST_TABLE} WHERE key = 'manifest'").fetchone()[0])
    except (sqlite3.Error, TypeError, ValueError) as err:
        return Verification(path, False, tuple(problems + [Said(N_("no tui-pos backup manifest ({error})"),
                                                                  error=str(err))]))
    sales, total = sales_figures(conn)
    if (sales, total) != (manifest["sales"], manifest["total"]):
        problems.append(Said(N_("sales differ from the manifest: {sales} rows totalling {total} in the file, {made_sales} "
                                "totalling {made_total} when it was made"), sales=sales, total=total,
                             made_sales=manifest["sales"], made_total=manifest["total"]))
    if content_digest(conn) != manifest["digest"]:
        problems.append(Said(N_("the rows differ from the ones backed up (digest mismatch): the file is damaged")))
    carried = carried_files(conn) if manifest.get("format", 1) >= 2 else {}
    for name, sha256 in (manifest.get("files") or {}).items():
        if name not in carried or hashlib.sha256(carried[name]).hexdigest() != sha256:
            problems.append(Said(N_("{name} in the backup differs from the one backed up"), name=name))
    if manifest.get("format", 1) >= 2:
        chain = verification.verify(conn)
        problems += [Said(N_("audit: {what}"), what=p.what) for p in chain.problems]  # AUDIT_PROBLEM
        if list(audit.head(conn)) != manifest.get("audit_head"):
            problems.append(Said(N_("the audit chain's head differs from the manifest's")))
    files = conn.execute(f"SELECT name, content, sha256 FROM {JOURNAL_TABLE}").fetchall()
    key = _key_of(carried) if manifest.get("format", 1) >= 2 else None
    warnings: list[str] = []
    for name, content, sha256 in files:
        if hashlib.sha256(content).hexdigest() != sha256:  # the copy differs from what was read: its failure
            problems.append(Said(N_("journal file {name} is damaged (checksum mismatch)"), name=name))
        elif not name.startswith(QUARANTINE):  # as the journal held it: its lines' state is the journal's
            warnings += _journal_warnings(name, *_bad_lines(content, name, key, manifest.get("format", 1)))
    return Verification(path, not problems, tuple(problems), manifest["created_at"], manifest["till_id"], sales, total,
                        len(files), manifest["schema_version"], warnings=tuple(warnings))


def _bad_lines(content: bytes, name: str, key: bytes | None, format_: int) -> tuple[list[int], list[int]]:
    """(lines that fail their journal key or are out of place, keyed lines the missing key cannot check);
    format 1 backups: lines that fail their checksum (lines were unkeyed then)."""
    if format_ >= 2:
        scan = JournalScan()
        scan_lines(Path(name), key, scan, content)
        return sorted({b.line_no for b in scan.bad} | {b.line_no for b in scan.breaks}), [b.line_no for b in scan.unchecked]
    bad = []
    for n, line in enumerate(content.split(b"\n")[:-1], start=1):  # a torn last line was never acknowledged
        try:
            decode_line(line)
        except ValueError:
            bad.append(n)
    return bad, []


def _journal_warnings(name: str, damaged: list[int], unchecked: list[int]) -> list[str]:
    """What a backed-up journal file's lines tell about the till's journal (the copy is faithful)."""
    lines: list[str] = [Said(N_("journal file {name} holds {n} damaged line(s) (line {lines}), as the journal did: they will be "
                                "set aside at the next start"), name=name, n=len(damaged),
                             lines=", ".join(map(str, damaged)))] if damaged else []
    if unchecked:
        lines.append(Said(N_("journal file {name} holds {n} line(s) that cannot be checked: the journal key was missing "
                             "when it was backed up"), name=name, n=len(unchecked)))
    return lines


def carried_files(conn: sqlite3.Connection) -> dict[str, bytes]:
    """config.toml and journal.key as the backup carries them ({} for a backup without them)."""
    try:
        return {name: content for name, content in conn.execute(f"SELECT name, content FROM {FILES_TABLE}")}
    except sqlite3.OperationalError:
        return {}


def _key_of(carried: dict[str, bytes]) -> bytes | None:
    return parse_key(carried[KEY_FILE]) if KEY_FILE in carried else None


# -- making one -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BackupCopy:
    destination: Path
    path: Path | None  # the verified copy; None when this destination failed
    error: str = ""
    removed: tuple[Path, ...] = ()  # older copies retention deleted
    warnings: tuple[str, ...] = ()  # the journal's, as the verified copy holds them (Verification.warnings)

    @property
    def ok(self) -> bool:
        return self.path is not None


@dataclass(frozen=True)
class BackupResult:
    started_at: str
    finished_at: str
    sales: int = 0
    total: int = 0
    journal_files: int = 0
    copies: tuple[BackupCopy, ...] = ()
    error: str = ""  # why no copy was even attempted

    @property
    def ok(self) -> bool:
        """Every destination holds a new verified copy."""
        return not self.error and bool(self.copies) and all(c.ok for c in self.copies)

    @property
    def warnings(self) -> list[str]:
        """What the copies say about the till itself (each the same, said once)."""
        return list(dict.fromkeys(w for c in self.copies for w in c.warnings))

    @property
    def failure(self) -> str:
        """Why it failed, as a sentence ("" when it did not): its error, else each failed copy's."""
        return self.error or Each([Said(N_("{destination}: {error}"), destination=str(c.destination), error=c.error)
                                   for c in self.copies if not c.ok])

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "started_at": self.started_at, "finished_at": self.finished_at, "sales": self.sales,
                "total": self.total, "journal_files": self.journal_files, "error": self.error,
                "warnings": self.warnings,
                "copies": [{"destination": str(c.destination), "path": str(c.path) if c.path else None, "ok": c.ok,
                            "error": c.error, "removed": [str(p) for p in c.removed]} for c in self.copies]}


def backup_name(till_id: str, at: str) -> str:
    """tui-pos-T1-20261121T103000.123Z.sqlite3: sorts by time."""
    stamp = datetime.fromisoformat(at).strftime("%Y%m%dT%H%M%S.%f")[:-3]
    return f"tui-pos-{till_id}-{stamp}Z.sqlite3"


def run_backup(config: Config, destination: Path | None = None, clock: Callable[[], str] = utc_now) -> BackupResult:
    """Back up to destination, or to every configured destination; record the result in the data directory."""
    started = clock()
    destinations = [destination] if destination is not None else list(config.backup.destinations)
    with _backup_lock(config.data_dir) as got:
        if not got:
            result = BackupResult(started, clock(), error=Said(N_("another backup is running on this data directory")))
        else:
            result = _back_up(config, [config.data_dir / d for d in destinations], started, clock)
    record_result(config, result)
    return result


def _back_up(config: Config, destinations: list[Path], started: str, clock: Callable[[], str]) -> BackupResult:
    journal = unreplayed_journal_files(config)  # before the snapshot: see the module's docstring
    try:
        with read_only_database(config) as source:
            source.execute("BEGIN")  # one read transaction: the figures and every copy see one snapshot
            try:
                sales, total = sales_figures(source)
                copies = tuple(_copy_to(config, source, d, journal, (sales, total), started) for d in destinations)
            finally:
                source.execute("COMMIT")
    except (DatabaseUnavailable, sqlite3.Error) as err:
        return BackupResult(started, clock(), error=Said(N_("the database cannot be read: {error}"), error=str(err)))
    return BackupResult(started, clock(), sales, total, len(journal), copies)


def _copy_to(config: Config, source: sqlite3.Connection, destination: Path, journal: list[JournalFile],
             figures: tuple[int, int], started: str) -> BackupCopy:
    final = destination / backup_name(config.till_id, started)
    partial = destination / f".{final.name}.partial"
    try:
        if not destination.is_dir():
            if not destination.parent.is_dir():  # e.g. a USB stick that is not mounted: never back up beside it
                raise _CopyFailed(Said(N_("{path} does not exist (is the disk mounted?)"), path=str(destination.parent)))
            make_private_dir(destination)
        partial.unlink(missing_ok=True)
        with closing(sqlite3.connect(partial, isolation_level=None)) as copy:
            source.backup(copy)
            copy.execute("PRAGMA journal_mode = DELETE")  # a standalone file: no -wal/-shm beside it
            _write_manifest(copy, config, journal, figures, started)
        _fsync(partial)
        checked = verify_backup(partial)
        # the copy is checked against the database it was made from; problems in the chain itself
        # are the database's (a backup of a tampered database is still a faithful copy: evidence)
        problems = [p for p in checked.problems if not p.startswith(AUDIT_PROBLEM)]
        if (checked.sales, checked.total) != figures:
            problems.append(Said(N_("the copy has {sales} sales totalling {total}, the database {db_sales} totalling "
                                    "{db_total} at the same moment"), sales=checked.sales, total=checked.total,
                                 db_sales=figures[0], db_total=figures[1]))
        if problems:
            raise _CopyFailed(Said(N_("the copy does not verify: {problems}"), problems=Each(problems)))
        os.replace(partial, final)
        _write_checksum(final)
        fsync_dir(destination)
    except (OSError, sqlite3.Error) as err:
        try:
            partial.unlink(missing_ok=True)
        except OSError:
            pass
        return BackupCopy(destination, None, err.said if isinstance(err, _CopyFailed) else str(err))
    return BackupCopy(destination, final, removed=tuple(_prune(destination, config.till_id, config.backup.keep)),
                      warnings=checked.warnings)


def _write_manifest(copy: sqlite3.Connection, config: Config, journal: list[JournalFile], figures: tuple[int, int],
                    started: str) -> None:
    for table in BACKUP_TABLES:  # a restored database may still carry old ones
        copy.execute(f"DROP TABLE IF EXISTS {table}")
    copy.execute(f"CREATE TABLE {MANIFEST_TABLE} (key TEXT PRIMARY KEY, value TEXT)")
    copy.execute(f"CREATE TABLE {FILES_TABLE} (name TEXT PRIMARY KEY, content BLOB)")
    carried = {}
    for name in CARRIED_FILES:
        try:
            carried[name] = (config.data_dir / name).read_bytes()
        except OSError:
            continue  # no journal key yet (nothing was ever journaled): nothing to carry
    copy.executemany(f"INSERT INTO {FILES_TABLE} VALUES (?, ?)", list(carried.items()))
    copy.execute(f"CREATE TABLE {JOURNAL_TABLE} (dir_index INTEGER, name TEXT, content BLOB, sha256 TEXT, "
                 "PRIMARY KEY (dir_index, name))")
    copy.executemany(f"INSERT INTO {JOURNAL_TABLE} VALUES (?, ?, ?, ?)",
                     [(f.dir_index, f.name, f.content, hashlib.sha256(f.content).hexdigest()) for f in journal])
    manifest = {"format": FORMAT, "created_at": started, "till_id": config.till_id, "sales": figures[0],
                "total": figures[1], "digest": content_digest(copy), "schema_version": schema_version(copy),
                "source": str(config.db_path), "audit_head": list(audit.head(copy)),
                "files": {name: hashlib.sha256(content).hexdigest() for name, content in carried.items()}}
    copy.execute(f"INSERT INTO {MANIFEST_TABLE} VALUES ('manifest', ?)", (json.dumps(manifest),))


def _write_checksum(path: Path) -> None:
    """NAME.sha256 in sha256sum's format (`sha256sum -c` checks it too)."""
    _write_private(checksum_path(path), f"{file_sha256(path)}  {path.name}\n".encode())


def _write_private(path: Path, data: bytes, exclusive: bool = False) -> None:
    """A new 0600 file, synced (exclusive: never over an existing one)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC | (os.O_EXCL if exclusive else os.O_TRUNC)
    with os.fdopen(os.open(path, flags, 0o600), "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _fsync(path: Path) -> None:
    with path.open("rb") as f:
        os.fsync(f.fileno())


def backups_in(destination: Path, till_id: str) -> list[Path]:
    """This till's backups in a destination, oldest first."""
    try:
        return sorted(destination.glob(f"tui-pos-{till_id}-*.sqlite3"))
    except OSError:
        return []


def _prune(destination: Path, till_id: str, keep: int) -> list[Path]:
    removed = []
    for old in backups_in(destination, till_id)[:-keep]:
        try:
            old.unlink()
            checksum_path(old).unlink(missing_ok=True)
            removed.append(old)
        except OSError as err:
            log.warning("backup retention: cannot remove %s: %s", old, err)
    return removed


@contextmanager
def _backup_lock(data_dir: Path) -> Iterator[bool]:
    """True when we hold the data directory's backup lock (or it cannot exist: a read-only data directory)."""
    try:
        fd = os.open(data_dir / BACKUP_LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError:
        yield True
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        yield False
        return
    try:
        yield True
    finally:
        os.close(fd)


# -- the record of the last backup ------------------------------------------------------------------
def record_result(config: Config, result: BackupResult) -> None:
    """Keep the last attempt and the last good backup in the data directory (best effort, logged)."""
    state = last_backup(config)
    failure = result.failure
    state["last_attempt"] = {**result.as_dict(), **({"said": sentence_data(failure)} if failure else {})}
    if result.ok:
        state["last_ok"] = result.as_dict()
    path = config.data_dir / BACKUP_STATE
    temporary = path.with_name(f".{BACKUP_STATE}.{os.getpid()}")
    try:
        temporary.write_text(json.dumps(state, indent=1), encoding="utf-8")
        os.replace(temporary, path)
    except OSError as err:
        log.warning("backup: cannot record the result in %s: %s", path, err)
        temporary.unlink(missing_ok=True)
    if result.ok:
        log.info("backup: %d sales (total %s) and %d journal file(s) copied to %s", result.sales,
                 currency_of(config).format(result.total),
                 result.journal_files, ", ".join(str(c.path) for c in result.copies))
    else:
        log.error("backup FAILED: %s", result.failure)
    for warning in result.warnings:
        log.warning("backup: %s", warning)


def last_backup(config: Config) -> dict[str, Any]:
    """{"last_attempt": ..., "last_ok": ...} as recorded (either may be missing)."""
    try:
        state = json.loads((config.data_dir / BACKUP_STATE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return state if isinstance(state, dict) else {}


def last_error(attempt: dict[str, Any]) -> str:
    """Why a recorded attempt failed ("" if it did not): the sentence record_result kept (said in the reader's
    language) when it says exactly what the record's English says, else that English (an older record, or
    one edited)."""
    if attempt.get("ok", True):
        return ""
    copies = attempt["copies"] if isinstance(attempt.get("copies"), list) else []
    english = str(attempt.get("error") or "; ".join(f"{c.get('destination')}: {c.get('error')}" for c in copies
                                                    if isinstance(c, dict) and not c.get("ok")))
    return kept_sentence(attempt.get("said"), english)


def backup_age_hours(config: Config, now: datetime) -> float | None:
    """Hours since the last good backup started; None if there never was one."""
    good = last_backup(config).get("last_ok")
    if good is None:
        return None
    try:
        return (now - datetime.fromisoformat(good["started_at"])) / timedelta(hours=1)
    except (TypeError, KeyError, ValueError):
        return None


def backup_due(config: Config, now: datetime | None = None) -> bool:
    """Time for the timer's backup: [backup] every_hours have passed since the last good one."""
    if not config.backup.every_hours:
        return False
    age = backup_age_hours(config, now or datetime.fromisoformat(utc_now()))
    return age is None or age >= config.backup.every_hours


def backup_overdue(config: Config, now: datetime, first_sale_at: str | None) -> bool:
    """A whole timer period missed: more than twice [backup] every_hours since the last good
    backup (or, when there never was one, since the first sale)."""
    if not config.backup.every_hours:
        return False
    age = backup_age_hours(config, now)
    if age is None:
        if not first_sale_at:
            return False
        age = (now - datetime.fromisoformat(first_sale_at)) / timedelta(hours=1)
    return age > 2 * config.backup.every_hours


def run_scheduled_backup(config: Config) -> BackupResult:
    """For the till's timer and after each Z report: back up to every destination. Never raises;
    the result is logged and recorded (status, doctor and alerts read it)."""
    started = utc_now()
    try:
        return run_backup(config)
    except Exception as err:  # noqa: BLE001 - a backup must never take the till down
        log.exception("backup crashed")
        result = BackupResult(started, utc_now(), error=Said(N_("backup crashed: {error}"), error=repr(err)))
        try:
            record_result(config, result)
        except Exception:  # noqa: BLE001
            log.exception("backup: cannot record the crash")
        return result


# -- restore ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RestoreResult:
    backup: Verification
    safety_copy: Path | None  # the database as it was; None when there was none
    journal_files: tuple[Path, ...] = ()  # journal files from the backup put back (replay brings them in)
    not_in_backup: tuple[str, ...] = field(default=())  # receipts in the safety copy that the backup lacks
    manager: str = ""  # who restored it (audited)
    brought_back: tuple[str, ...] = ()  # records of the old database the backup lacked, entered again
    rolled_back: int = 0  # audit entries the till had that are lost: only with force
    forced: str = ""  # the manager's reason, when forced
    config_restored: bool = False  # config.toml (and the journal key) came from the backup: an empty data directory

    def as_dict(self) -> dict[str, Any]:
        return {"backup": self.backup.as_dict(), "safety_copy": str(self.safety_copy) if self.safety_copy else None,
                "journal_files": [str(p) for p in self.journal_files], "not_in_backup": list(self.not_in_backup),
                "manager": self.manager, "brought_back": list(self.brought_back), "rolled_back": self.rolled_back,
                "forced": self.forced, "config_restored": self.config_restored}


@dataclass
class _Live:
    """What the data directory knows before a restore: its configuration, users, chain and anchor."""

    config: Config | None
    users: list[dict[str, Any]] | None = None  # None: no readable database
    head: tuple[int, str] = (0, audit.GENESIS)
    anchor: dict[str, Any] | None = None
    mismatches: list[str] = field(default_factory=list)
    lacking: int = 0  # audit entries of the till that the backup does not have

    @property
    def has_manager(self) -> bool:
        return any(u["role"] == "manager" and u["active"] for u in self.users or [])


def _live(data_dir: Path, backup: sqlite3.Connection) -> _Live:
    """The live chain and the anchor against the backup's chain: the backup must be a stretch of
    this till's history (its entries equal the till's where both have them); entries the till has
    beyond the backup's head are what a restore would roll back."""
    live = _Live(load_config(data_dir) if (data_dir / CONFIG_NAME).exists() else None)
    if live.config is None:
        return live
    backup_head = audit.head(backup)

    def backup_hash(seq: int) -> str | None:
        row = backup.execute("SELECT hash FROM audit WHERE seq = ?", (seq,)).fetchone()
        return row[0] if row else None

    try:
        with read_only_database(live.config) as conn:
            live.users, live.head = db.load_users(conn), audit.head(conn)
            both = min(live.head[0], backup_head[0])
            if both and conn.execute("SELECT hash FROM audit WHERE seq = ?", (both,)).fetchone()[0] != backup_hash(both):
                live.mismatches.append(Said(N_("its audit chain differs from this till's at entry {seq} (edited, or "
                                               "another till's)"), seq=both))
    except (DatabaseUnavailable, sqlite3.Error):
        live.users = None
    live.anchor = audit.Anchor([live.config.data_dir, *live.config.storage.journal_dirs]).read()
    anchored = live.anchor["seq"] if live.anchor else 0
    if live.anchor and anchored and anchored <= backup_head[0] and backup_hash(anchored) != live.anchor["hash"]:
        live.mismatches.append(Said(N_("its audit chain differs from the one anchored outside the database")))
    live.lacking = max(live.head[0], anchored) - backup_head[0]
    return live


def restore(data_dir: Path, path: Path, *, manager: str, pin: str, force: str | None = None,
            clock: Callable[[], str] = utc_now) -> RestoreResult:
    """Replace the database with a verified backup, keeping the current one as a safety copy.

    A manager's operation, audited. The manager is checked against the users of the database
    being replaced; when it cannot be read or has no manager (an empty data directory, the disaster
    case) against the backup's own users. Refused (nothing changed) unless the backup's audit chain
    is a stretch of this till's history (the live chain and the anchor); records the till had
    beyond the backup are brought back from the safety copy and entered again; when they cannot be
    (the database is unreadable), or the chains differ, only force (the manager's reason) restores it."""
    from tui_pos.ops.instance import running_pid

    path = Path(path)
    pid = running_pid(data_dir)
    if pid is not None:
        raise RestoreRefused(N_("the till is running on {dir} (pid {pid}): stop it first (e.g. systemctl stop tui-pos), "
                                "then restore; nothing was changed"), dir=str(data_dir), pid=pid)
    checked = verify_backup(path)
    force = (force or "").strip() or None
    damage = [p for p in checked.problems if not p.startswith(AUDIT_PROBLEM)]
    if damage or (checked.problems and not force):
        raise RestoreRefused(N_("{path} does not verify ({problems}); nothing was changed") if damage else
                             N_("{path} does not verify ({problems}): a manager may still restore it with --force "
                                "REASON; nothing was changed"), path=str(path), problems=Each(checked.problems[:3]))
    if checked.schema_version > db.SCHEMA_VERSION:
        raise RestoreRefused(N_("{path} comes from a newer tui-pos (schema {version}, this one knows {known}): upgrade "
                                "tui-pos first; nothing was changed"), path=str(path), version=checked.schema_version,
                             known=db.SCHEMA_VERSION)
    with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as source:
        unknown = schema.unknown(source)
        if unknown:
            raise RestoreRefused(N_("{path} comes from a newer tui-pos (migrations {migrations} are unknown to this one): "
                                    "upgrade tui-pos first; nothing was changed"), path=str(path),
                                 migrations=", ".join(unknown))
        carried, backup_users, backup_head = carried_files(source), db.load_users(source), audit.head(source)
        live = _live(data_dir, source)
    try:
        user = _restoring_manager(data_dir, live, backup_users, manager, pin)
    except LoginFailed as err:
        raise RestoreRefused(N_("{error}: a restore needs a manager's name and PIN; nothing was changed"),
                             error=err) from None
    if user.role != "manager":
        raise RestoreRefused(N_("{name} is not a manager: a restore needs a manager; nothing was changed"), name=user.name)
    if live.mismatches and not force:
        raise RestoreRefused(N_("{path} is not this till's history: {mismatches}. A manager may still restore it with "
                                "--force REASON; nothing was changed"), path=str(path), mismatches=Each(live.mismatches))
    if live.lacking > 0 and live.users is None and not force:
        raise RestoreRefused(N_("{path} lacks the newest {n} audit entries of this till (records acknowledged since it "
                                "was made), and the database they are in cannot be read to bring them back. Bring them "
                                "back first, or a manager restores it with --force REASON; nothing was changed"),
                             path=str(path), n=live.lacking)
    config_restored = live.config is None
    config = live.config or _restore_config(data_dir, carried, path)
    _restore_key(config, carried)
    lock = SequenceLock(config.data_dir / "till.lock")
    try:
        with lock.held():  # no receipt number is taken while the database changes under it
            safety = _safety_copy(config, clock())
            floors = _number_floors(config, safety, lock.last_used())
            _put_in_place(config, path)
            _keep_numbers(config, floors)
            journal = _put_back_journal(config, path)
            brought = _bring_back(config, safety, backup_head[0]) if safety and live.lacking > 0 else ()
            rolled_back = _audit_restore(config, path, checked, backup_head, user.name, live, brought, force, clock())
    except NumberingBusy as err:
        raise RestoreRefused(N_("{error}: {remedy}; nothing was changed"), error=str(err), remedy=err.remedy) from None
    finally:
        lock.close()
    _forget_catalog_version(config)
    missing = _missing_from(config, safety) if safety else ()
    log.warning("restore: %s restored over %s by %s (safety copy %s; %d journal file(s) put back; %d record(s) "
                "brought back; %d audit entries rolled back%s)", path, config.db_path, user.name, safety, len(journal),
                len(brought), rolled_back, f"; forced: {force}" if force else "")
    return RestoreResult(checked, safety, journal, missing, user.name, brought, rolled_back, force or "",
                         config_restored)


def _forget_catalog_version(config: Config) -> None:
    """The database put back may hold an older catalog than the HQ version the till had applied:
    its next sync pulls HQ's catalog from version 0 (applied again, it changes only what differs)."""
    if not config.hq.dsn:
        return
    from tui_pos.sync.state import update_state

    try:
        update_state(config, catalog_version=0)
    except OSError as err:
        log.warning("restore: cannot reset the HQ catalog version in the sync state: %s", err)


def _restoring_manager(data_dir: Path, live: _Live, backup_users: list[dict[str, Any]], name: str, pin: str) -> User:
    """The live shop's manager, counted by its PIN lockout like any login (a restore must not be
    a way to guess PINs); on an empty data directory, the backup's own manager."""
    if not live.has_manager:
        return authenticate(backup_users, name, pin)
    assert live.users is not None  # it has a manager: its database was read
    config = live.config or load_config(data_dir)
    lockout = pin_lockout(config)
    try:
        return lockout.verify(live.users, name, pin, datetime.now(UTC))
    finally:
        lockout.close()


def _restore_config(data_dir: Path, carried: dict[str, bytes], path: Path) -> Config:
    """An empty data directory: the backup's config.toml (0600), as it was."""
    if CONFIG_NAME not in carried:
        raise RestoreRefused(N_("{path} carries no config.toml (made by an older tui-pos): run 'tui-pos init' first; "
                                "nothing was changed"), path=str(path))
    make_private_dir(data_dir)
    _write_private(data_dir / CONFIG_NAME, carried[CONFIG_NAME], exclusive=True)
    fsync_dir(data_dir)
    return load_config(data_dir)


def _restore_key(config: Config, carried: dict[str, bytes]) -> None:
    """The journal key, when the data directory has none (its journal files need it)."""
    if KEY_FILE in carried and read_key(config.data_dir) is None:
        (config.data_dir / KEY_FILE).unlink(missing_ok=True)
        _write_private(config.data_dir / KEY_FILE, carried[KEY_FILE], exclusive=True)
        fsync_dir(config.data_dir)


def _bring_back(config: Config, safety: Path, after_seq: int) -> tuple[str, ...]:
    """The records (and events) of the replaced database the backup lacks, in the order they were
    chained, entered again through the journal and replay (new audit entries, same records)."""
    from tui_pos.store.ledger import Ledger

    skip = ("table_state", "anchor_mismatch", "replay", "journal_rejected", "restore")
    with read_only_database(config, safety) as old:
        records = commit_log.records_by_audit(old, after_seq, skip=skip, user_changes=False)
    if not records:
        return ()
    journal = Journal(config.storage.journal_dirs, config.till_id, config.data_dir)
    for record in records:
        journal.append(record)
    journal.close()
    ledger = Ledger(config.db_path, Journal(config.storage.journal_dirs, config.till_id, config.data_dir),
                    busy_timeout_ms=config.storage.busy_timeout_ms)
    try:
        result = ledger.replay()
    finally:
        ledger.close()
    if result.error:
        raise RestoreRefused(N_("restored, but the records it lacked could not be entered again ({error}): they wait in "
                                "the journal; run 'tui-pos replay'"), error=result.error)
    return tuple(r.get("receipt") or r.get("action") or r.get("type", "") for r in records)


def _audit_restore(config: Config, path: Path, checked: Verification, backup_head: tuple[int, str], manager: str,
                   live: _Live, brought: tuple[str, ...], force: str | None, at: str) -> int:
    """The restore's audit entry, and the anchor moved to the restored chain (a forced rollback is
    a note in the anchor: audit verify shows it). Returns the audit entries rolled back."""
    from tui_pos.store.ledger import Ledger

    rolled_back = max(live.lacking, 0) if not brought else 0
    detail = {"backup": path.name, "made": checked.created_at, "backup_head": list(backup_head),
              "till_head": list(live.head), "anchor": [live.anchor["seq"], live.anchor["hash"]] if live.anchor else None,
              "brought_back": len(brought), "rolled_back": rolled_back, "forced": force,
              "mismatches": live.mismatches, "backup_problems": list(checked.problems)}
    event = audit.event_record(config.till_id, "restore", manager, subject=path.name, approved_by=manager,
                               detail=detail, at=at)
    ledger = Ledger(config.db_path, Journal(config.storage.journal_dirs, config.till_id, config.data_dir),
                    busy_timeout_ms=config.storage.busy_timeout_ms)
    try:
        if ledger.commit(event) != "sqlite":
            raise RestoreRefused(N_("restored, but the restore could not be audited in the database"))
        head = audit.head(ledger.connection())
        lost = bool(force and (rolled_back or live.mismatches or checked.problems))
        restored = (Said(N_("{backup} restored by {manager}, forced: {reason}"), backup=path.name, manager=manager,
                         reason=force) if force else
                    Said(N_("{backup} restored by {manager}"), backup=path.name, manager=manager))
        rolled = [Said(N_("{n} audit entries rolled back"), n=rolled_back)] if rolled_back else []
        note = audit.note(at, "rollback" if lost else "restore",
                          Each([restored, *rolled, *live.mismatches, *checked.problems]), False,
                          numbers=(live.anchor or {}).get("numbers", {}))
        ledger.anchor.advance(head, db.number_floors(ledger.connection()), note=note, reset=True, sync=True)
    finally:
        ledger.close()
    return rolled_back


def _safety_copy(config: Config, at: str) -> Path | None:
    """A consistent copy when the database can be read, else the raw files as they are (damaged or not)."""
    if not config.db_path.exists():
        return None
    target_dir = config.data_dir / SAFETY_DIR / backup_name(config.till_id, at).removesuffix(".sqlite3")
    make_private_dir(target_dir)
    target = target_dir / config.db_path.name
    try:
        with read_only_database(config) as source, closing(sqlite3.connect(target, isolation_level=None)) as copy:
            source.backup(copy)
            copy.execute("PRAGMA journal_mode = DELETE")
    except (DatabaseUnavailable, sqlite3.Error):
        target.unlink(missing_ok=True)
        for suffix in ("", "-wal"):
            raw = config.data_dir / f"{config.db_path.name}{suffix}"
            if raw.exists():
                shutil.copyfile(raw, target_dir / raw.name)
    for copied in target_dir.iterdir():
        _fsync(copied)
    fsync_dir(target_dir)
    return target


def _put_in_place(config: Config, backup: Path) -> None:
    """Copy the backup's pages into the live database through SQLite (any process that has it open
    sees the restored data, never a deleted file); a database too damaged to be written to is
    replaced as a file instead."""
    try:
        with closing(db.connect(config.db_path, config.storage.busy_timeout_ms)) as live, \
                closing(sqlite3.connect(f"{backup.resolve().as_uri()}?mode=ro", uri=True)) as source:
            source.backup(live)
            _drop_backup_tables(live)
        return
    except sqlite3.Error as err:
        log.warning("restore: the live database cannot take the backup (%s): replacing the file", err)
    incoming = config.data_dir / f".{config.db_path.name}.restoring"
    shutil.copyfile(backup, incoming)
    _fsync(incoming)
    for suffix in ("-wal", "-shm"):  # belong to the damaged file (kept in the safety copy)
        (config.data_dir / f"{config.db_path.name}{suffix}").unlink(missing_ok=True)
    os.replace(incoming, config.db_path)
    fsync_dir(config.data_dir)
    with closing(db.connect(config.db_path, config.storage.busy_timeout_ms)) as live:
        _drop_backup_tables(live)


def _drop_backup_tables(conn: sqlite3.Connection) -> None:
    with db.transaction(conn):
        for table in BACKUP_TABLES:
            conn.execute(f"DROP TABLE IF EXISTS {table}")


def _put_back_journal(config: Config, backup: Path) -> tuple[Path, ...]:
    """Journal files the backup carried and the journal no longer has: back where they were."""
    with closing(sqlite3.connect(f"{backup.resolve().as_uri()}?mode=ro", uri=True)) as conn:
        files = conn.execute(f"SELECT dir_index, name, content FROM {JOURNAL_TABLE}").fetchall()
    dirs = config.storage.journal_dirs
    written = []
    for index, name, content in files:
        directory = dirs[index] if index < len(dirs) else dirs[0]
        target = directory / name
        if target.exists() or (directory / "replayed" / name).exists():
            continue
        make_private_dir(target.parent)
        _write_private(target, content, exclusive=True)
        fsync_dir(target.parent)
        written.append(target)
    return tuple(written)


def _number_floors(config: Config, safety: Path | None, last_receipt: int) -> dict[str, int]:
    """The numbers the replaced database had used (receipts, shifts, Z reports): the restored one
    must not hand them out again, or two printed receipts would carry the same number."""
    floors = {f"floor:{config.till_id}:seq": last_receipt}
    if safety is not None:
        try:
            with read_only_database(config, safety) as old:
                for key, value in db.number_floors(old).items():
                    floors[key] = max(floors.get(key, 0), value)
                if old.execute("SELECT 1 FROM sqlite_master WHERE name = 'commit_log'").fetchone():
                    floors[commit_log.FLOOR_KEY] = commit_log.highest(old)  # HQ may hold them: never numbered again
        except (DatabaseUnavailable, sqlite3.Error):
            pass  # unreadable: the receipt number in till.lock is what is left
    return floors


def _keep_numbers(config: Config, floors: dict[str, int]) -> None:
    with closing(db.connect(config.db_path, config.storage.busy_timeout_ms)) as live:
        db.raise_floors(live, floors)


def _missing_from(config: Config, safety: Path) -> tuple[str, ...]:
    """Receipts of sales in the safety copy that the restored database does not have."""
    try:
        with read_only_database(config, safety) as old, read_only_database(config) as new:
            before = dict(old.execute("SELECT uuid, receipt FROM sale"))
            after = {uuid for (uuid,) in new.execute("SELECT uuid FROM sale")}
    except (DatabaseUnavailable, sqlite3.Error):
        return ()  # the old database was unreadable: nothing can be compared
    return tuple(sorted(receipt for uuid, receipt in before.items() if uuid not in after))
