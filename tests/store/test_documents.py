"""Durable documents (the cart in progress, the catalog snapshot): two slot files per directory
written alternately in place, each holding one checksummed frame. The newest valid copy wins, a
torn or failed write leaves the previous copy loadable, a corrupt copy is ignored.

Frames are built and parsed here by hand ("v1 <sha256[:16]> <length>\\n<json payload>"), never
with the code under test."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import stat
import types
from pathlib import Path

import pytest

from tui_pos.store import documents
from tui_pos.store.documents import DocumentFailed, DurableDocument

from .records import umask_zero  # noqa: F401 (fixture)

NAME = "cart.json"
REAL_PWRITE, REAL_FDATASYNC = os.pwrite, os.fdatasync  # documents.os *is* os: patches replace these
HOUR_NS = 3600 * 10**9


def framed(payload: bytes) -> bytes:
    return b"v1 %s %d\n" % (hashlib.sha256(payload).hexdigest()[:16].encode(), len(payload)) + payload


def frame(saved_ns: int, doc: dict | None) -> bytes:
    """A valid copy as another process (or an older run) left it, with a chosen timestamp."""
    return framed(json.dumps({"saved_ns": saved_ns, "doc": doc}, ensure_ascii=False).encode())


def slot(directory: Path, n: int) -> Path:
    return directory / f"{NAME}.{n}"


def write_slot(directory: Path, n: int, data: bytes) -> None:
    directory.mkdir(exist_ok=True)
    slot(directory, n).write_bytes(data)


def read_slot(path: Path) -> tuple[int, dict | None]:
    """(saved_ns, doc) of the frame in a slot file, checked by our own parser; AssertionError if invalid."""
    header, _, rest = path.read_bytes().partition(b"\n")
    version, digest, length = header.split(b" ")
    payload = rest[:int(length)]
    assert version == b"v1" and len(payload) == int(length), header
    assert hashlib.sha256(payload).hexdigest()[:16].encode() == digest, header
    wrapper = json.loads(payload)
    return wrapper["saved_ns"], wrapper["doc"]


def slot_files(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


@pytest.fixture
def dirs(tmp_path) -> list[Path]:
    return [tmp_path / "data", tmp_path / "usb"]


@pytest.fixture
def fake_clock(monkeypatch):
    """The wall clock as documents sees it; set .now_ns to step it (even backwards)."""
    clock = types.SimpleNamespace(now_ns=1_800_000_000 * 10**9)
    monkeypatch.setattr(documents, "time", types.SimpleNamespace(time_ns=lambda: clock.now_ns))
    return clock


@pytest.fixture
def dir_syncs(monkeypatch):
    """Every fsync_dir documents makes: (directory, names it then held, i.e. made durable)."""
    calls: list[tuple[Path, set[str]]] = []
    real = documents.fsync_dir

    def recording(path):
        calls.append((Path(path), set(os.listdir(path))))
        real(path)

    monkeypatch.setattr(documents, "fsync_dir", recording)
    return calls


# -- which copy wins -----------------------------------------------------------------------------
@pytest.mark.parametrize("newer", [0, 1])
def test_load_returns_the_newest_copy_whatever_the_directory_order(dirs, newer):
    """After a save that reached only one disk, the newest copy wins, not the first directory nor slot 0."""
    write_slot(dirs[newer], 1, frame(2_000, {"lines": ["可口可乐"], "v": "new"}))
    write_slot(dirs[newer], 0, frame(500, {"v": "oldest"}))
    write_slot(dirs[1 - newer], 0, frame(1_000, {"lines": [], "v": "old"}))
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
    saved = DurableDocument(NAME, [blocked, *dirs]).save({"v": 1})
    assert saved.parent == dirs[0] and read_slot(saved)[1] == {"v": 1}
    assert not dirs[1].exists()

    other = tmp_path / "other"
    other.write_text("")
    with pytest.raises(DocumentFailed) as failed:
        DurableDocument(NAME, [blocked, other]).save({"v": 1})
    assert str(blocked) in str(failed.value) and str(other) in str(failed.value)


# -- the two slots -------------------------------------------------------------------------------
def test_saves_alternate_between_two_private_slots(dirs, umask_zero):
    """Save 3 overwrites the slot of save 1 and the other still holds save 2: the previous copy is
    always intact on disk. Nothing but the two slots is left behind, readable by us alone."""
    doc = DurableDocument(NAME, dirs)
    first = doc.save({"v": 1}, everywhere=True)
    assert read_slot(first)[1] == {"v": 1}
    second = doc.save({"v": 2}, everywhere=True)
    assert second != first and second.parent == first.parent
    assert (read_slot(first)[1], read_slot(second)[1]) == ({"v": 1}, {"v": 2})
    assert doc.save({"v": 3}, everywhere=True) == first
    assert (read_slot(first)[1], read_slot(second)[1]) == ({"v": 3}, {"v": 2})
    for directory in dirs:
        assert slot_files(directory) == [f"{NAME}.0", f"{NAME}.1"]
        assert stat.S_IMODE(os.stat(directory).st_mode) == 0o700
        for n in (0, 1):
            assert stat.S_IMODE(os.stat(slot(directory, n)).st_mode) == 0o600
        assert sorted(read_slot(slot(directory, n))[1]["v"] for n in (0, 1)) == [2, 3]
    assert DurableDocument(NAME, dirs).load() == {"v": 3}


@pytest.mark.parametrize("slot0, slot1, kept", [
    (frame(2_000, {"v": "newest"}), frame(1_000, {"v": "older"}), 0),
    (frame(1_000, {"v": "older"}), frame(2_000, {"v": "newest"}), 1),
    (frame(1_000, {"v": "newest"}), frame(9_000, {"v": "torn"})[:-5], 0),
    (b"", frame(1_000, {"v": "newest"}), 1),
    (None, frame(1_000, {"v": "newest"}), 1),
], ids=["slot0-newest", "slot1-newest", "slot1-torn", "slot0-empty", "slot0-missing"])
def test_a_new_process_overwrites_the_older_or_invalid_slot_never_the_newest(tmp_path, slot0, slot1, kept):
    """A restarted till does not know which slot it wrote last: it must find out from the disk, or its
    first save would overwrite the only good copy (and a torn first write would lose the cart)."""
    directory = tmp_path / "data"
    for n, data in ((0, slot0), (1, slot1)):
        if data is not None:
            write_slot(directory, n, data)
    newest = slot(directory, kept).read_bytes()

    doc = DurableDocument(NAME, [directory])
    assert doc.save({"v": "after restart"}) == slot(directory, 1 - kept)
    assert slot(directory, kept).read_bytes() == newest
    assert doc.load() == {"v": "after restart"}
    assert doc.save({"v": "next"}) == slot(directory, kept)  # then it alternates
    assert read_slot(slot(directory, 1 - kept))[1] == {"v": "after restart"}

    again = DurableDocument(NAME, [directory])  # and the process after that, too
    assert again.save({"v": "third run"}) == slot(directory, 1 - kept)
    assert read_slot(slot(directory, kept))[1] == {"v": "next"}


def test_the_newest_save_wins_even_when_the_wall_clock_steps_back(tmp_path, fake_clock):
    """A headless till's clock is stepped back (NTP, a wrong RTC): the last save must still be the one
    loaded and the last discard must still empty the cart, in this process and after a restart."""
    directory = tmp_path / "data"
    doc = DurableDocument(NAME, [directory])
    doc.save({"v": 1})
    fake_clock.now_ns -= HOUR_NS
    doc.save({"v": 2})
    assert doc.load() == {"v": 2}

    fake_clock.now_ns -= HOUR_NS
    DurableDocument(NAME, [directory]).save({"v": 3})  # a restarted till
    assert DurableDocument(NAME, [directory]).load() == {"v": 3}

    fake_clock.now_ns -= HOUR_NS
    doc = DurableDocument(NAME, [directory])
    doc.discard()
    assert DurableDocument(NAME, [directory]).load() is None


# -- failures and damage -------------------------------------------------------------------------
def failing_fdatasync(fd):
    raise OSError(errno.EIO, "Input/output error")


def short_pwrite(fd, data, offset):
    """The disk took only half the frame (disk full mid-write)."""
    return REAL_PWRITE(fd, data[:len(data) // 2], offset)


@pytest.mark.parametrize("fault, message", [
    (("fdatasync", failing_fdatasync), "Input/output error"),
    (("pwrite", short_pwrite), "short write"),
], ids=["fdatasync-EIO", "short-pwrite"])
def test_a_failed_save_leaves_the_previous_copy_loadable(dirs, monkeypatch, fault, message):
    """The failed write lands on the older slot only: the previous copy stays intact on disk, the
    unacknowledged one is never loaded, and the next save still works."""
    doc = DurableDocument(NAME, dirs[:1])
    doc.save({"v": 1})
    previous = doc.save({"v": 2})
    intact = previous.read_bytes()

    monkeypatch.setattr(documents.os, *fault)
    with pytest.raises(DocumentFailed, match=message):
        doc.save({"v": 3})
    monkeypatch.undo()
    assert previous.read_bytes() == intact
    assert doc.load() == {"v": 2}
    assert DurableDocument(NAME, dirs[:1]).load() == {"v": 2}

    assert doc.save({"v": 4}) != previous
    assert previous.read_bytes() == intact
    assert DurableDocument(NAME, dirs[:1]).load() == {"v": 4}


def truncated(new: bytes, old: bytes) -> bytes:
    return new[:len(new) // 2]


def mixed_with_the_overwritten_frame(new: bytes, old: bytes) -> bytes:
    """The first page of the new frame reached the disk, the rest is still the old frame's bytes."""
    assert len(new) == len(old)
    return new[:len(new) // 2] + old[len(new) // 2:]


def byte_flipped(new: bytes, old: bytes) -> bytes:
    return new[:-3] + bytes([new[-3] ^ 0x01]) + new[-2:]


def zeroed_tail(new: bytes, old: bytes) -> bytes:
    """Some file systems show zeros where data did not reach the disk before the power cut."""
    return new[:len(new) // 2] + b"\0" * (len(new) - len(new) // 2)


@pytest.mark.parametrize("tear", [truncated, mixed_with_the_overwritten_frame, byte_flipped, zeroed_tail])
def test_a_torn_write_of_the_newer_slot_falls_back_to_the_previous_copy(tmp_path, tear):
    """A power cut during save 3 (which overwrites save 1 in place) leaves save 2 as the cart, and the
    till then keeps writing into the torn slot, never over save 2."""
    directory = tmp_path / "data"
    doc = DurableDocument(NAME, [directory])
    overwritten = doc.save({"v": 1, "名": "可口可乐"})
    old = overwritten.read_bytes()
    previous = doc.save({"v": 2, "名": "康师傅"})
    assert doc.save({"v": 3, "名": "农夫山泉"}) == overwritten
    overwritten.write_bytes(tear(overwritten.read_bytes(), old))

    after_power_cut = DurableDocument(NAME, [directory])
    assert after_power_cut.load() == {"v": 2, "名": "康师傅"}
    assert after_power_cut.save({"v": 4}) == overwritten
    assert read_slot(previous)[1] == {"v": 2, "名": "康师傅"}
    assert after_power_cut.load() == {"v": 4}


@pytest.mark.parametrize("corrupt", [
    b"",
    frame(9_999_999, {"v": "torn"})[:-7],
    b"\xff\xfe\x00garbage",
    frame(9_999_999, {"v": "bad checksum"}).replace(b"bad checksum", b"bad chedksum"),
    b"v1 0123456789abcdef 12\n" + json.dumps({"saved_ns": 9_999_999, "doc": {}}).encode()[:12],
    framed(b'{"saved_ns": 9999999, "doc": {"v": "to'),
    framed(b'{"saved_ns": 9999999, "doc": "\xff\xfe"}'),
    framed(b'{"doc": {"v": "no timestamp"}}'),
    framed(b"[9999999]"),
    framed(b'{"saved_ns": "soon", "doc": {}}'),
    framed(b'{"saved_ns": 9999999}'),
    frame(9_999_999, {"v": "v2"}).replace(b"v1 ", b"v2 ", 1),
    b"v1 0123456789abcdef\n{}",
    b"v1 0123456789abcdef lots\n{}",
    b'{"saved_ns": 9999999, "doc": {"v": "the old single-file format"}}',
], ids=["empty", "torn", "binary", "wrong-checksum", "made-up-checksum", "bad-json", "not-utf8",
        "no-timestamp", "list", "bad-timestamp", "no-doc", "unknown-version", "short-header",
        "bad-length", "no-frame"])
def test_load_ignores_a_corrupt_copy(dirs, corrupt):
    """A damaged copy (even one that would look newer), in the other slot or another directory,
    never hides the good one, nor crashes the till."""
    write_slot(dirs[0], 0, frame(1_000, {"v": "good"}))
    write_slot(dirs[0], 1, corrupt)
    write_slot(dirs[1], 0, corrupt)
    assert DurableDocument(NAME, dirs).load() == {"v": "good"}
    assert DurableDocument(NAME, dirs[::-1]).load() == {"v": "good"}
    assert DurableDocument(NAME, dirs[1:]).load() is None


# -- discard and directory syncs -----------------------------------------------------------------
@pytest.mark.parametrize("saves", [1, 3])
def test_discard_makes_every_copy_unloadable(dirs, saves):
    """A finished sale's cart must not come back from any directory or slot, even after a restart;
    the next sale's cart is saved and loaded as usual."""
    doc = DurableDocument(NAME, dirs)
    for v in range(saves):
        doc.save({"v": v}, everywhere=True)
    doc.discard()
    assert doc.load() is None
    for directory in dirs:
        assert DurableDocument(NAME, [directory]).load() is None
    doc.save({"v": "next sale"})
    assert DurableDocument(NAME, dirs).load() == {"v": "next sale"}


def test_only_a_save_that_creates_a_slot_syncs_the_directory(tmp_path, dir_syncs):
    """The new slot's name must survive a power cut (directory fsync), but the steady state is one
    fdatasync per save: overwriting an existing slot does not sync the directory."""
    directory = tmp_path / "data"
    doc = DurableDocument(NAME, [directory])
    per_save = []
    for v in range(4):
        before = len(dir_syncs)
        saved = doc.save({"v": v})
        per_save.append([(d, saved.name in names) for d, names in dir_syncs[before:]])
    assert per_save == [[(directory, True)], [(directory, True)], [], []]


def discard_after_one_save(doc: DurableDocument, monkeypatch) -> None:
    doc.save({"v": "one scan"})
    doc.discard()  # the sale was paid: creates the second slot, without any sync


def a_first_save_that_failed(doc: DurableDocument, monkeypatch) -> None:
    monkeypatch.setattr(documents.os, "fdatasync", failing_fdatasync)
    with pytest.raises(DocumentFailed):
        doc.save({"v": "refused"})  # created the slot, then failed before syncing its name
    monkeypatch.setattr(documents.os, "fdatasync", REAL_FDATASYNC)


@pytest.mark.parametrize("history", [discard_after_one_save, a_first_save_that_failed])
def test_every_slot_a_save_returns_has_a_durable_name(tmp_path, dir_syncs, monkeypatch, history):
    """A slot file created without syncing its directory (by a discard, or by a save that failed) may
    vanish in a power cut; a later save that reuses it and reports success must sync its name first,
    or that acknowledged cart silently rolls back to the previous one."""
    directory = tmp_path / "data"
    doc = DurableDocument(NAME, [directory])
    history(doc, monkeypatch)
    for v in range(3):
        saved = doc.save({"v": v})
        durable = set().union(*(names for d, names in dir_syncs if d == directory))
        assert saved.name in durable, f"save {v} returned {saved.name}, whose name was never synced"
