"""The fallback journal: append-only, authenticated, fsync'd lines, one record (a sale, a shift
event, an audit event) per line.

Line format: ``v2 <n> <prev> <mac> <json>\\n``: n is the line's number in its file, prev the mac of
line n-1 ("-" for the first), mac the first 32 hex digits of HMAC-SHA256 under the till's journal
key (``journal.key`` in the data directory, 0600) of the file's name, n, prev and the JSON. A plain
checksum only catches accidents: anyone could edit a sale and recompute it. Without the key no
line can be edited or invented; a line removed from the middle of a file shows as a break in the
prev links (the lines around it are still genuine and are replayed; the break is reported). The
key sits on the same box, so it raises the bar rather than proving anything: the audit chain's
anchors (tui_pos/store/audit.py) carry the evidence. ``v1 <checksum> <json>`` lines (the format
before keys, still used by the print-job log) are never replayed from the sale journal.
Each process writes its own files (named till-time-pid-random.jsonl, held with flock), so a
torn tail from a crash is only ever at the end of a file nobody appends to again. After any
failed write the file is abandoned for the same reason. Files are retired (moved to
``replayed/``) only once their records are committed to SQLite; lines that fail their
checksum are first copied to ``quarantine/`` with the reason, never dropped. The reason is kept as
its English ("reason", as every version reads it) and as the sentence itself ("said": its template
and values), so that audit verify says it in the reader's language (quarantine_reason).
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import hmac
import json
import os
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tui_pos.domain.errors import N_, BadValue, Said, kept_sentence, said_of, sentence_data
from tui_pos.store.codec import RecordLike, as_dict
from tui_pos.store.crash import crash_point

REPLAYED = "replayed"
QUARANTINE = "quarantine"
QUARANTINE_FILE = "quarantine.jsonl"
KEY_FILE = "journal.key"  # in the data directory: the key the journal's lines are authenticated with
MAC_HEX = 32


class JournalFailed(Exception):
    """No journal directory accepted the record; str() says which failed and why.

    maybe_written: a whole line was written but its fsync failed, so it may still be replayed.
    """

    def __init__(self, message: str, maybe_written: bool = False):
        super().__init__(message)
        self.maybe_written = maybe_written


class BadJournalLine(BadValue):
    """What is wrong with a journal line: str() its English, .said its sentence, which is what a
    quarantined line keeps and audit verify says in the reader's language."""


class KeyMissing(BadJournalLine):
    """A keyed line read without the journal key: not bad, only not checkable until the key is back."""


class _Unsynced(OSError):
    """The whole line was written, then fdatasync failed: the line may still reach the disk."""


def checksum(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()[:16]


def encode_line(record: RecordLike) -> bytes:
    payload = json.dumps(as_dict(record), ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()
    return b"v1 " + checksum(payload).encode() + b" " + payload + b"\n"


def decode_line(line: bytes) -> dict[str, Any]:
    """Parse one complete line (v1: checksum checked; v2: format only, its key is checked by
    verify_line); BadJournalLine (a ValueError) says what is wrong with it."""
    if line.startswith(b"v2 "):
        return _record(_split_v2(line)[3])
    parts = line.rstrip(b"\n").split(b" ", 2)
    if len(parts) != 3 or parts[0] != b"v1":
        raise BadJournalLine(N_("not a journal line"))
    if checksum(parts[2]).encode() != parts[1]:
        raise BadJournalLine(N_("checksum mismatch"))
    return _record(parts[2])


def _record(payload: bytes) -> dict[str, Any]:
    try:
        record = json.loads(payload)
    except ValueError as err:  # not JSON, or not UTF-8 (only a line whose checksum or key still matches)
        raise BadJournalLine(N_("not a record ({error})"), error=str(err)) from None
    if not isinstance(record, dict) or "uuid" not in record:
        raise BadJournalLine(N_("no record uuid"))
    return record


def _split_v2(line: bytes) -> tuple[int, str, str, bytes]:
    parts = line.rstrip(b"\n").split(b" ", 4)
    if len(parts) != 5 or parts[0] != b"v2" or not parts[1].isdigit():
        raise BadJournalLine(N_("not a journal line"))
    return int(parts[1]), parts[2].decode("ascii", "replace"), parts[3].decode("ascii", "replace"), parts[4]


def held_record(line: bytes) -> dict[str, Any] | None:
    """The record a keyed line carries, unchecked (its key is missing): JournalScan.held."""
    try:
        return _record(_split_v2(line)[3])
    except ValueError:
        return None


def line_mac(key: bytes, file_name: str, n: int, prev: str, payload: bytes) -> str:
    return hmac.new(key, f"{file_name}\n{n}\n{prev}\n".encode() + payload, hashlib.sha256).hexdigest()[:MAC_HEX]


def encode_keyed(record: RecordLike, key: bytes, file_name: str, n: int, prev: str) -> tuple[bytes, str]:
    """Line n of file_name (after the line whose mac is prev) carrying a record (typed, or its
    dict: the line holds the dict); returns it and its mac."""
    payload = json.dumps(as_dict(record), ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()
    mac = line_mac(key, file_name, n, prev, payload)
    return b"v2 %d %s %s " % (n, prev.encode(), mac.encode()) + payload + b"\n", mac


def verify_line(line: bytes, key: bytes | None, file_name: str) -> tuple[int, str, str, dict[str, Any]]:
    """(n, prev, mac, record) of a line made with this key in this file; BadJournalLine if it was not."""
    if line.startswith(b"v1 "):
        decode_line(line)
        raise BadJournalLine(N_("unkeyed line (the format before journal keys, or forged): not replayed"))
    n, prev, mac, payload = _split_v2(line)
    if key is None:
        raise KeyMissing(N_("cannot be checked: the journal key ({key} in the data directory) is missing"),
                         key=KEY_FILE)
    if not hmac.compare_digest(line_mac(key, file_name, n, prev, payload), mac):
        raise BadJournalLine(N_("forged or damaged: it does not match the journal key"))
    return n, prev, mac, _record(payload)


def key_missing(n: int) -> Said:
    """What support is told while the journal key is gone and n journaled records wait for it."""
    return Said(N_("journal key missing: {n} record(s) cannot be checked; restore {key} from a backup"), n=n, key=KEY_FILE)


def read_key(key_dir: Path) -> bytes | None:
    try:
        return parse_key((key_dir / KEY_FILE).read_bytes())
    except OSError:
        return None


def parse_key(data: bytes) -> bytes | None:
    """The key in a journal.key file's bytes (64 hex digits), or None when it is not one."""
    try:
        text = data.decode("ascii").strip()
        return bytes.fromhex(text) if len(text) == 64 else None
    except ValueError:
        return None


def load_or_create_key(key_dir: Path) -> bytes:
    """The till's journal key, created (32 random bytes, 0600, durably) on first use."""
    key = read_key(key_dir)
    if key is not None:
        return key
    make_private_dir(key_dir)
    path = key_dir / KEY_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    except FileExistsError:  # another process made it meanwhile (or it is damaged: then say so)
        key = read_key(key_dir)
        if key is None:
            raise OSError(f"{path} is damaged") from None
        return key
    try:
        os.write(fd, secrets.token_hex(32).encode() + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    fsync_dir(key_dir)
    return read_key(key_dir) or b""


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def make_private_dir(path: Path) -> None:
    """Create a data directory 0700 (and fsync its parent so the entry survives a power cut)."""
    if not path.is_dir():
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        fsync_dir(path.parent)


@dataclass(frozen=True)
class BadLine:
    file: Path
    line_no: int
    reason: str  # a Said (quarantine keeps its sentence too), or plain English
    raw: bytes


@dataclass(frozen=True)
class Entry:
    file: Path
    line_no: int
    record: dict[str, Any]


@dataclass(frozen=True)
class Break:
    """Lines missing from the middle of a file: the line after them does not follow the one before."""

    file: Path
    line_no: int  # the first line after the break
    what: str  # a Said


@dataclass
class JournalScan:
    """Everything readable in the journal directories' active files."""

    records: list[Entry] = field(default_factory=list)
    bad: list[BadLine] = field(default_factory=list)  # failed their key or checksum: quarantined, never replayed
    unchecked: list[BadLine] = field(default_factory=list)  # keyed lines read without the key: held, never set aside
    breaks: list[Break] = field(default_factory=list)
    torn: list[Path] = field(default_factory=list)  # files ending in an unfinished line (tolerated)
    files: list[Path] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)  # directories or files we could not read

    @property
    def held(self) -> list[dict[str, Any]]:
        """The records of the lines held unchecked, read without their key: only to keep their numbers
        used and their uuids known (a paid sale there is not paid again); nothing is replayed from them."""
        return [r for b in self.unchecked if (r := held_record(b.raw)) is not None]

    @property
    def unique(self) -> list[Entry]:
        """One entry per record uuid (a record may be in two directories), in the order they were
        written: file names start with the time the file was opened, lines are appended in order.
        (A shift's opening replays before its sales, and its sales before its Z report.)"""
        by_uuid = {entry.record["uuid"]: entry for entry in self.records}
        return sorted(by_uuid.values(), key=lambda e: (e.file.name, e.line_no))


class Journal:
    def __init__(self, dirs: Sequence[Path], till_id: str, key_dir: Path | None = None):
        """key_dir: where journal.key is (the data directory; default: the first journal
        directory's parent, which is the data directory unless configured otherwise)."""
        self.dirs = list(dirs)
        self.till_id = till_id
        self.key_dir = key_dir if key_dir is not None else self.dirs[0].parent
        self._key: bytes | None = None
        self._active: dict[Path, int] = {}  # dir -> fd of this process's open journal file
        self._active_paths: dict[Path, Path] = {}
        self._chain: dict[Path, tuple[int, str]] = {}  # dir -> (lines written, mac of the last) of the open file

    def key(self, create: bool = False) -> bytes | None:
        """The journal key (read again while it is missing). create: make one when there is none, but
        never while keyed lines wait for the old one: a new key would make them unreadable for good
        (OSError: the journal cannot take a record until journal.key is restored)."""
        if self._key is None:
            self._key = read_key(self.key_dir)
        if self._key is None and create:
            if self.holds_keyed_lines():
                raise OSError(str(Said(N_("the journal key ({key}) is missing and journaled records need it: restore "
                                          "it from a backup"), key=KEY_FILE)))
            self._key = load_or_create_key(self.key_dir)
        return self._key

    def holds_keyed_lines(self) -> bool:
        """Does a file not yet replayed hold a line made with a journal key?"""
        for path in self.files():
            try:
                with path.open("rb") as f:
                    if any(line.startswith(b"v2 ") for line in f):
                        return True
            except OSError:
                continue
        return False

    def append(self, record: RecordLike) -> Path:
        """Write the record to the first directory that takes it durably; return that file."""
        failures = []
        maybe_written = False
        crash_point("journal_before_append")
        for directory in self.dirs:
            try:
                path = self._append_to(directory, record)
            except OSError as err:
                self._abandon(directory, unused=not isinstance(err, _Unsynced))
                failures.append(f"{directory}: {err.strerror or err}")
                maybe_written = maybe_written or isinstance(err, _Unsynced)
                continue
            crash_point("journal_after_append")
            return path
        raise JournalFailed("; ".join(failures), maybe_written)

    def _append_to(self, directory: Path, record: RecordLike) -> Path:
        key = self.key(create=True)
        assert key is not None  # created when missing
        fd = self._active.get(directory)
        if fd is None:
            fd = self._open_new(directory)
        path = self._active_paths[directory]
        n, prev = self._chain.get(directory, (0, "-"))
        line, mac = encode_keyed(record, key, path.name, n + 1, prev)
        written = os.write(fd, line)
        if written != len(line):
            raise OSError(f"short write ({written} of {len(line)} bytes)")
        try:
            os.fdatasync(fd)
        except OSError as err:
            raise _Unsynced(err.errno, err.strerror) from err
        self._chain[directory] = (n + 1, mac)
        return path

    def _open_new(self, directory: Path) -> int:
        make_private_dir(directory)
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        path = directory / f"{self.till_id}-{stamp}-{os.getpid()}-{secrets.token_hex(3)}.jsonl"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            fsync_dir(directory)  # the new file's name must survive a power cut too
        except OSError:
            os.close(fd)
            try:
                os.unlink(path)  # nothing was written to it: leave nothing behind
            except OSError:
                pass
            raise
        self._active[directory] = fd
        self._active_paths[directory] = path
        return fd

    def _abandon(self, directory: Path, unused: bool = False) -> None:
        """Stop appending to this directory's file. unused: the append failed before its line
        could reach the disk; a file that then holds no acknowledged line is removed (on a full
        disk, every refused sale would otherwise leave an empty or torn file behind)."""
        fd = self._active.pop(directory, None)
        path = self._active_paths.pop(directory, None)
        written, _ = self._chain.pop(directory, (0, ""))
        if fd is not None:
            try:
                os.close(fd)
            except OSError:
                pass
        if unused and path is not None and not written:
            try:
                os.unlink(path)
                fsync_dir(directory)
            except OSError:
                pass  # replay reads a torn or empty file as holding nothing

    def close(self) -> None:
        """Close this process's files so that a replay can retire them."""
        for directory in list(self._active):
            self._abandon(directory)

    def files(self) -> list[Path]:
        found = []
        for directory in self.dirs:
            try:
                found.extend(sorted(p for p in directory.glob("*.jsonl") if p.is_file()))
            except OSError:
                continue
        return found

    def scan(self, include_replayed: bool = False) -> JournalScan:
        scan = JournalScan()
        for directory in self.dirs:
            try:
                if not directory.is_dir():
                    continue
            except OSError as err:  # cannot even look (a parent at mode 000)
                scan.unreadable.append(f"{directory}: {err.strerror}")
                continue
            pattern = f"{REPLAYED}/*.jsonl" if include_replayed else "*.jsonl"
            try:
                paths = sorted(directory.glob(pattern))
            except OSError as err:
                scan.unreadable.append(f"{directory}: {err}")
                continue
            for path in paths:
                scan_lines(path, self.key(), scan)
        return scan

    def is_in_use(self, path: Path) -> bool:
        """True when another open journal (this process or another) still appends to path."""
        if path in self._active_paths.values():
            return True
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return True
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return True
        finally:
            os.close(fd)
        return False

    def quarantine(self, bad: Sequence[BadLine]) -> None:
        """Copy bad lines, with their reason, to quarantine/ (durably) before their file is retired."""
        by_dir: dict[Path, list[BadLine]] = {}
        for item in bad:
            by_dir.setdefault(item.file.parent, []).append(item)
        for directory, items in by_dir.items():
            target_dir = directory / QUARANTINE
            make_private_dir(target_dir)
            target = target_dir / QUARANTINE_FILE
            seen = {(q.get("file"), q.get("line")) for q in read_quarantine(target)}
            fresh = [i for i in items if (i.file.name, i.line_no) not in seen]
            if not fresh:
                continue
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
            try:
                for item in fresh:
                    said = {"said": sentence_data(item.reason)} if isinstance(item.reason, Said) else {}
                    entry = {"file": item.file.name, "line": item.line_no, "reason": str(item.reason),
                             "raw_b64": base64.b64encode(item.raw).decode(), "at": time.time(), **said}
                    os.write(fd, json.dumps(entry).encode() + b"\n")
                os.fsync(fd)
            finally:
                os.close(fd)

    def retire(self, paths: Sequence[Path]) -> list[Path]:
        """Move fully replayed files to replayed/; return those moved (files in use are kept)."""
        moved = []
        for path in paths:
            if self.is_in_use(path):
                continue
            target_dir = path.parent / REPLAYED
            make_private_dir(target_dir)
            os.rename(path, target_dir / path.name)
            moved.append(path)
        for directory in {p.parent for p in moved}:
            fsync_dir(directory)
        return moved

    def quarantined(self) -> list[dict[str, Any]]:
        entries = []
        for directory in self.dirs:
            entries.extend(read_quarantine(directory / QUARANTINE / QUARANTINE_FILE))
        return entries


def scan_lines(path: Path, key: bytes | None, scan: JournalScan, data: bytes | None = None) -> None:
    """Add one journal file's lines to scan: records whose key checks, bad lines, breaks in the
    links between lines. data: the file's content when it is not read from path (a backup's copy)."""
    if data is None:
        try:
            data = path.read_bytes()
        except OSError as err:
            scan.unreadable.append(f"{path}: {err.strerror}")
            return
    scan.files.append(path)
    lines = data.split(b"\n")
    if lines[-1]:
        scan.torn.append(path)  # a crash mid-append: never fsync'd, so never acknowledged
    last: tuple[int, str] | None = (0, "-")  # the line before: its number and mac (None: it was bad)
    for line_no, line in enumerate(lines[:-1], start=1):
        try:
            n, prev, mac, record = verify_line(line, key, path.name)
        except KeyMissing as err:
            scan.unchecked.append(BadLine(path, line_no, err.said, line))
            last = None
            continue
        except ValueError as err:
            scan.bad.append(BadLine(path, line_no, said_of(err), line))
            last = None  # reported already; the next line cannot be linked to it
            continue
        if last is not None and (n, prev) != (last[0] + 1, last[1]):
            scan.breaks.append(Break(path, line_no, Said(N_("{file} line {line} does not follow line {before}: {n} "
                                                            "line(s) removed or reordered"), file=path.name,
                                                         line=line_no, before=last[0], n=max(n - last[0] - 1, 1))))
        scan.records.append(Entry(path, line_no, record))
        last = (n, mac)


def quarantine_reason(entry: dict[str, Any]) -> str:
    """Why a line was quarantined: the sentence the entry keeps (said in the reader's language by
    i18n.message) when that says exactly what its English says, else its English as it is (an entry an
    older version wrote, or one edited since)."""
    return kept_sentence(entry.get("said"), str(entry.get("reason", "")))


def read_quarantine(path: Path) -> list[dict[str, Any]]:
    """The quarantine's entries (a line that is not one, edited into something else, is left out)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return []
    entries = []
    for line in text.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict):
            entries.append(entry)
    return entries
