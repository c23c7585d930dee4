"""hq/sync-state.json (0600, in the data directory's 0700 hq/): what the till last knew of its sync
with HQ, written by whoever syncs (the worker, `tui-pos sync`) and read by `tui-pos status`
without reaching HQ:

    {"state": "synced"|"offline"|"conflict"|"off", "pending": N, "last_sync": ISO|null,
     "last_error": "...", "high_water": N, "catalog_version": N}

Advisory, not a record: written whole (a temporary file renamed over it) but not fsync'd (a sync
writes it often; after a power cut HQ, not this file, says how far it has got). A missing or
damaged file reads as "never synced".
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

from tui_pos.config import Config
from tui_pos.domain.sync import SyncState
from tui_pos.hq.enrol import HQ_DIR

STATE_NAME = "sync-state.json"


def state_path(data_dir: Path) -> Path:
    return data_dir / HQ_DIR / STATE_NAME


def load_state(config: Config) -> SyncState:
    """The state as last written; state "off" when the till has not joined an HQ ([hq] dsn), and
    "offline" with last_error saying so when it has but never synced."""
    if not config.hq.dsn:
        return SyncState(state="off")
    try:
        held: Any = json.loads(state_path(config.data_dir).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return SyncState(state="offline", last_error="not synced with HQ yet")
    except (OSError, ValueError) as err:
        return SyncState(state="offline", last_error=f"cannot read {state_path(config.data_dir)}: {err}")
    return SyncState.from_dict(held) if isinstance(held, dict) else SyncState(state="offline")


def save_state(data_dir: Path, state: SyncState) -> None:
    """Write the state whole (0600). OSError when the directory cannot take it."""
    write_hq_document(data_dir, STATE_NAME, state.as_dict())


def write_hq_document(data_dir: Path, name: str, doc: dict[str, Any]) -> None:
    """A JSON document of the till's hq/ directory (0700) written whole, or not at all (a
    temporary file renamed over it), readable by this user only (0600); OSError when the
    directory cannot take it."""
    directory = data_dir / HQ_DIR
    if not directory.is_dir():
        directory.mkdir(mode=0o700, exist_ok=True)
    path = directory / name
    temporary = path.with_name(f".{name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            os.fchmod(out.fileno(), 0o600)
            out.write(json.dumps(doc, ensure_ascii=False, indent=1) + "\n")
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def update_state(config: Config, **changes: Any) -> SyncState:
    """The state with some fields changed, written (what others wrote kept: catalog_version)."""
    state = replace(load_state(config), **changes)
    save_state(config.data_dir, state)
    return state
