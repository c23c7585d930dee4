"""Durable documents (the cart in progress, the catalog snapshot): newest readable copy wins,
writes are atomic, a corrupt copy is ignored."""

from __future__ import annotations

import errno
import json
import os
import stat
from pathlib import Path

import pytest

from tui_pos.store import documents
from tui_pos.store.documents import DocumentFailed, DurableDocument

from .records import umask_zero  # noqa: F401 (fixture)

NAME = "cart.json"


def write_copy(directory: Path, saved_ns: int, doc: dict) -> None:
    """A copy as another process (or an older run) left it, with a chosen timestamp."""
    directory.mkdir(exist_ok=True)
    (directory / NAME).write_text(json.dumps({"saved_ns": saved_ns, "doc": doc}, ensure_ascii=False), encoding="utf-8")


@pytest.fixture
def dirs(tmp_path) -> list[Path]:
    return [tmp_path / "data", tmp_path / "usb"]


@pytest.mark.parametrize("newer", [0, 1])
def test_load_returns_the_newest_copy_whatever_the_directory_order(dirs, newer):
    """After a save that reached only one disk, the newest copy wins, not the first directory."""
    write_copy(dirs[newer], 2_000, {"lines": ["可口可乐"], "v": "new"})
    write_copy(dirs[1 - newer], 1_000, {"lines": [], "v": "old"})
    assert DurableDocument(NAME, dirs).load()["v"] == "new"
    assert DurableDocument(NAME, dirs[::-1]).load()["v"] == "new"


def test_a_later_save_wins_over_an_earlier_one_in_another_directory(dirs):
    """Saved everywhere, then only to the second disk (the first failed): load sees the later one."""
    DurableDocument(NAME, dirs).save({"v": 1}, everywhere=True)
    DurableDocument(NAME, dirs[1:]).save({"v": 2, "名": "康师傅"})
    assert DurableDocument(NAME, dirs).load() == {"v": 2, "名": "康师傅"}


def test_save_goes_to_the_first_directory_that_accepts_it(tmp_path, dirs):
    """A first directory that is a regular file is skipped; when none accepts, DocumentFailed names each."""
    blocked = tmp_path / "blocked"
    blocked.write_text("")
    assert DurableDocument(NAME, [blocked, *dirs]).save({"v": 1}) == dirs[0] / NAME
    assert not (dirs[1] / NAME).exists()

    other = tmp_path / "other"
    other.write_text("")
    with pytest.raises(DocumentFailed) as failed:
        DurableDocument(NAME, [blocked, other]).save({"v": 1})
    assert str(blocked) in str(failed.value) and str(other) in str(failed.value)


def test_save_is_atomic_and_private(dirs, umask_zero):
    """Only the final file remains (no temp file), readable by us alone, and replaced whole on resave."""
    doc = DurableDocument(NAME, dirs)
    doc.save({"v": 1}, everywhere=True)
    doc.save({"v": 2}, everywhere=True)
    for directory in dirs:
        assert sorted(p.name for p in directory.iterdir()) == [NAME]
        assert stat.S_IMODE(os.stat(directory / NAME).st_mode) == 0o600
        assert stat.S_IMODE(os.stat(directory).st_mode) == 0o700
        assert json.loads((directory / NAME).read_text())["doc"] == {"v": 2}


def test_a_failed_save_leaves_the_previous_copy_intact(dirs, monkeypatch):
    """The target is replaced only by rename after fsync: a write failure never leaves half a cart."""
    doc = DurableDocument(NAME, dirs[:1])
    doc.save({"v": 1})

    def failing_fsync(fd):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(documents.os, "fsync", failing_fsync)
    with pytest.raises(DocumentFailed, match="Input/output error"):
        doc.save({"v": 2})
    monkeypatch.undo()
    assert doc.load() == {"v": 1}


@pytest.mark.parametrize("corrupt", [
    b"",
    b'{"saved_ns": 9999999, "doc": {"v": "to',  # torn write
    b"\xff\xfe\x00garbage",  # not UTF-8
    b'{"doc": {"v": "no timestamp"}}',
    b"[9999999]",
    b'{"saved_ns": "soon", "doc": {}}',
], ids=["empty", "torn", "binary", "no-timestamp", "list", "bad-timestamp"])
def test_load_ignores_a_corrupt_copy(dirs, corrupt):
    """A damaged copy (even one that would look newer) never hides the good one, nor crashes the till."""
    write_copy(dirs[1], 1_000, {"v": "good"})
    dirs[0].mkdir()
    (dirs[0] / NAME).write_bytes(corrupt)
    assert DurableDocument(NAME, dirs).load() == {"v": "good"}
    assert DurableDocument(NAME, dirs[:1]).load() is None


def test_discard_removes_every_copy(dirs):
    """A finished sale's cart must not come back from any directory."""
    doc = DurableDocument(NAME, dirs)
    doc.save({"v": 1}, everywhere=True)
    doc.discard()
    assert doc.load() is None
    assert not any((d / NAME).exists() for d in dirs)
