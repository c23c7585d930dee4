"""`tui-pos support-bundle`: one .tar.gz to send to support, with no secret in it.

Inside (under tui-pos-support-<till>-<time>/): doctor.json, status.json, config.toml, logs/
(the rotating log files), schema.json (versions and row counts per table), journal.json (file
names, line counts, damaged and quarantined lines with their reasons: never the sales), and
backups.json (the last backup results and the copies in each destination).

What is left out or removed:
- the database, the catalog snapshot (shop.json) and the user table are never read, so no PIN
  hash can be copied; every text also goes through the PIN redaction of the logs (logs.redact),
  which replaces any ``scrypt$...`` hash and ``pin=...`` it finds;
- in config.toml, the value of every key whose name contains a word of [support] redact_keys
  (default: token, secret, password, passwd, key, auth, credential, hook, url), except the key
  bindings of [keys] (binding ids: never secret) and the names in SAFE_KEYS; those values are
  also removed wherever else they appear (a hook command echoed in a log line, say).
"""

from __future__ import annotations

import io
import json
import os
import platform
import re
import sqlite3
import tarfile
import time
import tomllib
from collections.abc import Callable, Iterable
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from tui_pos.app.clock import utc_now
from tui_pos.config import CONFIG_NAME, Config
from tui_pos.domain.errors import BadInput
from tui_pos.files import open_to_write
from tui_pos.i18n import N_
from tui_pos.ops.backup import backups_in, last_backup
from tui_pos.ops.doctor import check_config, run_doctor
from tui_pos.ops.logs import LOG_DIR, LOG_FILE, REDACTED, redact
from tui_pos.ops.readonly import DatabaseUnavailable, read_only_database, schema_version
from tui_pos.ops.status import till_status
from tui_pos.store.journal import Journal

SAFE_KEYS = frozenset({"redact_keys", "hook_timeout_s"})  # match a word, are never secret
MIN_SECRET_LEN = 4  # shorter values are redacted in config.toml only (replacing "10" everywhere would ruin the text)


def secret_values(raw: dict[str, Any], words: Iterable[str]) -> list[str]:
    """The values (as text) of config.toml keys that look secret."""
    words = [w.lower() for w in words]
    found: list[str] = []

    def walk(table: dict[str, Any], section: str) -> None:
        for key, value in table.items():
            if isinstance(value, dict):
                if not (section == "" and key == "keys"):  # [keys]: binding id -> key names
                    walk(value, f"{section}.{key}")
            elif key not in SAFE_KEYS and any(w in key.lower() for w in words):
                found.extend(str(v) for v in (value if isinstance(value, list) else [value]))

    walk(raw, "")
    return found


def redact_config(text: str, words: Iterable[str]) -> tuple[str, list[str]]:
    """config.toml with secret-looking values replaced, and the secret values found (to remove elsewhere)."""
    words = [w.lower() for w in words]
    try:
        values = secret_values(tomllib.loads(text), words)
    except tomllib.TOMLDecodeError:
        values = []  # a broken file: the line rule below still applies
    section = ""
    lines = []
    for line in text.splitlines():
        header = re.match(r"\s*\[+\s*([^\]]+?)\s*\]+", line)
        if header:
            section = header.group(1)
        assignment = re.match(r"(\s*([\w.\"'-]+)\s*=\s*)(.*)", line)
        if assignment and section != "keys":
            key = assignment.group(2).strip("\"'").rsplit(".", 1)[-1]
            if key not in SAFE_KEYS and any(w in key.lower() for w in words):
                line = f'{assignment.group(1)}"{REDACTED}"'
        lines.append(line)
    return scrub("\n".join(lines) + "\n", values), values


def scrub(text: str, secrets: Iterable[str]) -> str:
    """text without PINs, PIN hashes or any of the secret values."""
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) >= MIN_SECRET_LEN:
            text = text.replace(secret, REDACTED)
    return redact(text)


def schema_facts(config: Config) -> dict[str, Any]:
    """Versions and how many rows each table has (never a row itself)."""
    facts: dict[str, Any] = {"tui_pos": _version(), "python": platform.python_version(),
                             "sqlite": sqlite3.sqlite_version, "platform": platform.platform()}
    try:
        with read_only_database(config) as conn:
            facts["user_version"] = schema_version(conn)
            tables = [t for (t,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
            facts["rows"] = {t: conn.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] for t in tables}
    except (DatabaseUnavailable, sqlite3.Error) as err:
        facts["error"] = str(err)
    return facts


def _version() -> str:
    try:
        return metadata.version("tui-pos")
    except metadata.PackageNotFoundError:
        return "unknown"


def journal_summary(config: Config) -> dict[str, Any]:
    """Per journal directory: its files and line counts, damaged lines and the quarantine's reasons."""
    journal = Journal(config.storage.journal_dirs, config.till_id, config.data_dir)
    scan = journal.scan()
    summary: dict[str, Any] = {"directories": []}
    for directory in config.storage.journal_dirs:
        files = [p for p in scan.files if p.parent == directory]
        summary["directories"].append({
            "path": str(directory), "exists": directory.is_dir(),
            "files": [{"name": p.name, "bytes": p.stat().st_size,
                       "records": sum(1 for e in scan.records if e.file == p),
                       "damaged_lines": sum(1 for b in scan.bad if b.file == p), "torn_tail": p in scan.torn}
                      for p in files],
            "replayed_files": len(list(directory.glob("replayed/*.jsonl"))) if directory.is_dir() else 0,
        })
    quarantined = journal.quarantined()
    summary["quarantined"] = len(quarantined)
    summary["quarantine"] = [{"file": q.get("file"), "line": q.get("line"), "reason": q.get("reason"), "at": q.get("at")}
                             for q in quarantined]
    summary["unreadable"] = scan.unreadable
    return summary


def backups_summary(config: Config) -> dict[str, Any]:
    return {"last": last_backup(config),
            "copies": {str(d): [{"name": p.name, "bytes": p.stat().st_size} for p in backups_in(d, config.till_id)]
                       for d in config.backup.destinations}}


def support_bundle(data_dir: Path, output: Path | None = None, clock: Callable[[], str] = utc_now) -> Path:
    """Write the bundle (0600) and return its path."""
    config, _ = check_config(data_dir)
    report = run_doctor(data_dir)
    at = clock()
    stamp = datetime.fromisoformat(at).strftime("%Y%m%dT%H%M%SZ")
    name = f"tui-pos-support-{config.till_id}-{stamp}"
    output = output or Path.cwd() / f"{name}.tar.gz"
    secrets: list[str] = []
    members: list[tuple[str, str]] = []
    config_path = data_dir / CONFIG_NAME
    if config_path.exists():
        text, secrets = redact_config(config_path.read_text(encoding="utf-8", errors="replace"),
                                      config.support.redact_keys)
        members.append((CONFIG_NAME, text))

    def as_json(data: Any) -> str:
        return json.dumps(data, ensure_ascii=False, indent=1, default=str)

    members += [
        ("doctor.json", as_json(report.as_dict())),
        ("status.json", as_json(till_status(config, at))),
        ("schema.json", as_json(schema_facts(config))),
        ("journal.json", as_json(journal_summary(config))),
        ("backups.json", as_json(backups_summary(config))),
    ]
    for log_file in sorted((data_dir / LOG_DIR).glob(f"{LOG_FILE}*")):
        members.append((f"{LOG_DIR}/{log_file.name}", log_file.read_text(encoding="utf-8", errors="replace")))
    try:
        fd = open_to_write(output, 0o600)
    except OSError as err:
        raise BadInput(N_("cannot write {file}: {error} (give another --output)"), file=str(output),
                       error=err.strerror) from None
    try:
        with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as tar:
            for member, text in members:
                data = scrub(text, secrets).encode()
                info = tarfile.TarInfo(f"{name}/{member}")
                info.size, info.mtime, info.mode = len(data), int(time.time()), 0o600
                tar.addfile(info, io.BytesIO(data))
    except OSError as err:  # e.g. the disk is full: no half archive is left to be sent
        output.unlink(missing_ok=True)
        raise BadInput(N_("cannot write {file}: {error} (give another --output)"), file=str(output),
                       error=err.strerror or str(err)) from None
    return output
