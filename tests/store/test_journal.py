"""The fallback journal: line format, torn tails, bad lines and quarantine, file modes, flock,
and falling through to the next directory."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
from pathlib import Path

import pytest

from tui_pos.domain.errors import Said
from tui_pos.domain.storage import ReplayResult
from tui_pos.store.journal import (
    Journal,
    JournalFailed,
    JournalScan,
    decode_line,
    encode_line,
    quarantine_reason,
    scan_lines,
)

from .records import flip_middle_byte, make_record, new_ledger, stored_sales, umask_zero  # noqa: F401 (fixture)
from .sentences import english_left, said_in


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def quarantine_entries(journal_dir: Path) -> list[dict]:
    path = journal_dir / "quarantine" / "quarantine.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


def replayed(root: Path) -> ReplayResult:
    """One replay by a ledger on root (as a process starting would), the ledger closed after."""
    ledger = new_ledger(root)
    try:
        return ledger.replay()
    finally:
        ledger.close()


def journal_with_bad_middle_line(journal_dir: Path) -> tuple[Path, list[dict], bytes]:
    """Three sales in one closed journal file; line 2 damaged. Returns (file, records, damaged line)."""
    journal = Journal([journal_dir], "T1")
    records = [make_record(seq) for seq in (1, 2, 3)]
    path = None
    for record in records:
        path = journal.append(record)
    journal.close()
    return path, records, flip_middle_byte(path, 2)


# -- line format ----------------------------------------------------------------------------

def test_line_round_trip_keeps_chinese_text_readable():
    """A sale record survives encode/decode exactly; CJK is stored as UTF-8 (support can read it)."""
    record = {**make_record(7), "cashier": "王小明", "note": "康师傅红烧牛肉面 ×2"}
    line = encode_line(record)
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert "康师傅红烧牛肉面".encode() in line
    version, digest, payload = line[:-1].split(b" ", 2)
    assert version == b"v1"
    assert digest == hashlib.sha256(payload).hexdigest()[:16].encode()
    assert json.loads(payload.decode("utf-8")) == record
    assert decode_line(line) == record


def _reencoded_without_uuid() -> bytes:
    payload = json.dumps({"seq": 1}).encode()
    return b"v1 " + hashlib.sha256(payload).hexdigest()[:16].encode() + b" " + payload + b"\n"


@pytest.mark.parametrize("damage, reason", [
    (lambda line: line[:20] + bytes([line[20] ^ 0x01]) + line[21:], "checksum mismatch"),
    (lambda line: line.replace("可口可乐".encode(), "百事可乐".encode()), "checksum mismatch"),
    (lambda line: b"v2" + line[2:], "not a journal line"),
    (lambda line: b"garbage", "not a journal line"),
    (lambda line: _reencoded_without_uuid(), "no record uuid"),
])
def test_decode_rejects_damaged_lines(damage, reason):
    """Any change to a line is detected and said plainly, never decoded into a wrong sale."""
    with pytest.raises(ValueError, match=reason):
        decode_line(damage(encode_line(make_record(1))))


# -- torn tails and bad lines -------------------------------------------------------------

def test_torn_last_line_is_tolerated_and_not_quarantined(tmp_path):
    """Half a line at the end is a crash mid-append, never acknowledged: ignored, not quarantined."""
    journal_dir = tmp_path / "journal"
    journal = Journal([journal_dir], "T1")
    kept, torn = make_record(1), make_record(2)
    path = journal.append(kept)
    journal.close()
    half = encode_line(torn)[: len(encode_line(torn)) // 2]
    with open(path, "ab") as f:
        f.write(half)

    scan = Journal([journal_dir], "T1").scan()
    assert [e.record["uuid"] for e in scan.records] == [kept["uuid"]]
    assert scan.bad == [] and scan.torn == [path]

    ledger = new_ledger(tmp_path)
    result = ledger.replay()
    assert (result.replayed, result.quarantined, result.retired_files) == (1, 0, 1)
    assert stored_sales(tmp_path / "pos.sqlite3") == {kept["uuid"]: "journal"}
    assert not (journal_dir / "quarantine").exists()
    assert (journal_dir / "replayed" / path.name).read_bytes().endswith(half)
    assert ledger.state().quarantined == 0
    ledger.close()


def test_flipped_byte_mid_file_is_quarantined_before_the_file_is_retired(tmp_path):
    """A line failing its checksum is reported, copied with its reason and raw bytes, then retired."""
    journal_dir = tmp_path / "journal"
    path, records, damaged = journal_with_bad_middle_line(journal_dir)

    scan = Journal([journal_dir], "T1").scan()
    assert [(b.line_no, b.reason) for b in scan.bad] == [(2, "forged or damaged: it does not match the journal key")]
    assert [e.record["uuid"] for e in scan.records] == [records[0]["uuid"], records[2]["uuid"]]

    ledger = new_ledger(tmp_path)
    real_retire = ledger.journal.retire
    seen_at_retire = []

    def retire_checking_quarantine(paths):
        seen_at_retire.append(quarantine_entries(journal_dir))
        return real_retire(paths)

    ledger.journal.retire = retire_checking_quarantine
    result = ledger.replay()

    assert (result.replayed, result.quarantined, result.retired_files) == (2, 1, 1)
    [entry] = quarantine_entries(journal_dir)
    assert (entry["file"], entry["line"], entry["reason"]) == (path.name, 2, "forged or damaged: it does not match the journal key")
    assert base64.b64decode(entry["raw_b64"]) == damaged
    assert seen_at_retire and len(seen_at_retire[0]) == 1, "quarantine must be written before retiring"
    assert not path.exists()
    assert (journal_dir / "replayed" / path.name).read_bytes().split(b"\n")[1] == damaged
    assert set(stored_sales(tmp_path / "pos.sqlite3")) == {records[0]["uuid"], records[2]["uuid"]}
    assert ledger.state().quarantined == 1
    ledger.close()


def test_quarantine_is_not_duplicated_by_later_replays(tmp_path):
    """A file still in use is replayed again and again; its bad line is quarantined only once."""
    journal_dir = tmp_path / "journal"
    writer = Journal([journal_dir], "T1")
    records = [make_record(seq) for seq in (1, 2, 3, 4)]
    for record in records[:3]:
        path = writer.append(record)
    flip_middle_byte(path, 2)
    ledger = new_ledger(tmp_path)

    first, second = ledger.replay(), ledger.replay()
    writer.append(records[3])  # the live writer keeps appending to the same file
    third = ledger.replay()
    writer.close()
    last = ledger.replay()

    assert [r.replayed for r in (first, second, third, last)] == [2, 0, 1, 0]
    assert [r.retired_files for r in (first, second, third, last)] == [0, 0, 0, 1]
    assert [(q["file"], q["line"]) for q in quarantine_entries(journal_dir)] == [(path.name, 2)]
    assert set(stored_sales(tmp_path / "pos.sqlite3")) == {records[i]["uuid"] for i in (0, 2, 3)}
    ledger.close()


# -- modes, flock, fall-through --------------------------------------------------------------

def test_journal_files_are_0600_and_directories_0700(tmp_path, umask_zero):
    """Sales hold cashier names and payment references: nobody else may read them, whatever the umask."""
    journal_dir = tmp_path / "journal"
    path, _, _ = journal_with_bad_middle_line(journal_dir)
    assert (mode(journal_dir), mode(path)) == (0o700, 0o600)
    ledger = new_ledger(tmp_path)
    ledger.replay()
    ledger.close()
    assert mode(journal_dir / "replayed") == 0o700
    assert mode(journal_dir / "replayed" / path.name) == 0o600
    assert mode(journal_dir / "quarantine") == 0o700
    assert mode(journal_dir / "quarantine" / "quarantine.jsonl") == 0o600


def test_file_of_a_live_writer_is_replayed_but_not_retired(tmp_path):
    """Another process still appending (holding flock) keeps its file; its sales still reach SQLite."""
    journal_dir = tmp_path / "journal"
    writer = Journal([journal_dir], "T1")
    first, second = make_record(1), make_record(2)
    path = writer.append(first)
    ledger = new_ledger(tmp_path)  # its own Journal instance on the same directory

    result = ledger.replay()
    assert (result.replayed, result.retired_files) == (1, 0)
    assert path.exists()
    assert set(stored_sales(tmp_path / "pos.sqlite3")) == {first["uuid"]}

    assert writer.append(second) == path
    result = ledger.replay()
    assert (result.replayed, result.skipped, result.retired_files) == (1, 1, 0)

    writer.close()
    result = ledger.replay()
    assert (result.replayed, result.skipped, result.retired_files) == (0, 2, 1)
    assert not path.exists() and (journal_dir / "replayed" / path.name).exists()
    assert set(stored_sales(tmp_path / "pos.sqlite3")) == {first["uuid"], second["uuid"]}
    ledger.close()


def _regular_file(path: Path) -> Path:
    path.write_text("not a directory")
    return path


@pytest.mark.parametrize("make_unusable", [
    pytest.param(lambda tmp: _regular_file(tmp / "usb"), id="regular-file"),
    pytest.param(lambda tmp: _regular_file(tmp / "usb") / "journal", id="below-a-regular-file"),
])
def test_second_directory_takes_the_record_when_the_first_is_unusable(tmp_path, make_unusable):
    """A dead first journal disk must not stop the sale; the first directory is tried again later."""
    first_dir, second_dir = make_unusable(tmp_path), tmp_path / "journal2"
    journal = Journal([first_dir, second_dir], "T1", key_dir=tmp_path / "data")
    record = make_record(1)

    path = journal.append(record)
    assert path.parent == second_dir
    assert [decode_line(line + b"\n") for line in path.read_bytes().splitlines()] == [record]
    assert (tmp_path / "usb").read_text() == "not a directory"

    (tmp_path / "usb").unlink()  # the first directory is usable again: it is preferred
    later = make_record(2)
    assert journal.append(later).parent == first_dir
    journal.close()


def test_journal_failed_names_every_directory(tmp_path):
    """When no directory takes the sale, the error says which ones failed, so staff can fix them."""
    dirs = [_regular_file(tmp_path / "a"), _regular_file(tmp_path / "b")]
    journal = Journal(dirs, "T1", key_dir=tmp_path / "data")
    with pytest.raises(JournalFailed) as failed:
        journal.append(make_record(1))
    for directory in dirs:
        assert str(directory) in str(failed.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b", "data"]


# -- forged journal lines (issue 11.5) -------------------------------------------------------------
def _payload(line: bytes) -> bytes:
    """The JSON of a journal line, whatever its format."""
    return line.split(b" ", 4)[4] if line.startswith(b"v2 ") else line.split(b" ", 2)[2]


def _with_checksum(payload: bytes) -> bytes:
    """A line as the forger writes it: the JSON and a freshly computed SHA-256 checksum."""
    return b"v1 " + hashlib.sha256(payload).hexdigest()[:16].encode() + b" " + payload


@pytest.mark.parametrize("envelope", ["checksum recomputed", "keyed envelope kept"])
def test_an_edited_and_an_invented_journal_line_are_quarantined_not_stored(tmp_path, envelope):
    """A sale waits in the journal; someone raises its total (and recomputes the checksum) and adds
    a forged sale. Replay must store neither, quarantine both and say so (its output, the audit log);
    `audit verify` must fail while they wait and after they were set aside."""
    import sqlite3
    from contextlib import closing

    from conftest import AS_DEMO, COLA, cli_json, database_write_locked, open_demo_shop, run_cli

    shop = open_demo_shop(tmp_path / "shop")
    with database_write_locked(shop):
        sold = cli_json(shop, "sell", *AS_DEMO, "--item", COLA, "--tender", "cash")
    assert sold["stored"] == "journal"
    [path] = sorted((shop / "journal").glob("*.jsonl"))
    [line] = path.read_bytes().splitlines()
    record = json.loads(_payload(line))
    edited = {**record, "total": record["total"] * 10, "paid": record["paid"] * 10}
    forged = {**record, "uuid": "00000000-0000-4000-8000-000000000001", "receipt": "T1-000099", "seq": 99}
    lines = []
    for fake in (edited, forged):
        payload = json.dumps(fake, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()
        if envelope == "keyed envelope kept" and line.startswith(b"v2 "):
            lines.append(b" ".join(line.split(b" ", 4)[:4]) + b" " + payload)
        else:
            lines.append(_with_checksum(payload))
    path.write_bytes(b"\n".join(lines) + b"\n")

    waiting = run_cli(shop, "audit", "verify", "--json", check=False)
    assert waiting.returncode == 1, "forged journal lines waiting for replay went unnoticed"

    said = run_cli(shop, "replay", "--json")
    replayed = json.loads(said.stdout)
    assert replayed["replayed"] == 0 and replayed["quarantined"] == 2
    assert "WARNING: 2 journal line(s) were NOT stored" in said.stderr
    with closing(sqlite3.connect(shop / "pos.sqlite3")) as conn:
        assert conn.execute("SELECT COUNT(*) FROM sale").fetchone() == (0,)
        [(detail,)] = conn.execute("SELECT detail FROM audit WHERE action = 'journal_rejected'").fetchall()
    assert json.loads(detail)["lines"][0]["reason"]
    assert len(quarantine_entries(shop / "journal")) == 2
    after = run_cli(shop, "audit", "verify", "--json", check=False)
    assert after.returncode == 1 and "quarantined" in after.stdout


def test_a_line_removed_from_the_middle_of_a_file_is_reported_and_the_rest_replayed(tmp_path):
    """Lines 1 and 3 are genuine: they are replayed; the hole where line 2 was is reported."""
    journal = Journal([tmp_path / "journal"], "T1")
    records = [make_record(seq) for seq in (1, 2, 3)]
    for record in records:
        path = journal.append(record)
    journal.close()
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(lines[0] + lines[2])
    scan = Journal([tmp_path / "journal"], "T1").scan()
    assert [e.record["uuid"] for e in scan.records] == [records[0]["uuid"], records[2]["uuid"]]
    assert not scan.bad and [b.line_no for b in scan.breaks] == [2]
    result = replayed(tmp_path)
    assert result.replayed == 2 and result.quarantined == 1
    assert set(stored_sales(tmp_path / "pos.sqlite3")) == {records[0]["uuid"], records[2]["uuid"]}


# -- why a line is bad, said in the reader's language (issue 16) ---------------------------------------
FORGED = "forged or damaged: it does not match the journal key"


def journal_with_every_kind_of_bad_line(journal_dir: Path) -> list[Path]:
    """One file whose line 2 is forged, then garbage, an unkeyed line, an unkeyed line without a uuid, one
    failing its checksum and one whose checksum holds but that is no JSON; another whose line 2 is gone."""
    bad_file, _, _ = journal_with_bad_middle_line(journal_dir)
    unkeyed = encode_line(make_record(5))
    with open(bad_file, "ab") as f:
        f.write(b"garbage\n" + unkeyed + _with_checksum(b'{"seq":6}') + b"\n" + unkeyed.replace(b'"seq":5', b'"seq":7')
                + _with_checksum(b"{not json") + b"\n")
    journal = Journal([journal_dir], "T1")
    for seq in (8, 9, 10):
        holed = journal.append(make_record(seq))
    journal.close()
    lines = holed.read_bytes().splitlines(keepends=True)
    holed.write_bytes(lines[0] + lines[2])
    return [bad_file, holed]


def test_without_its_key_the_journal_holds_keyed_lines_and_makes_no_new_key_over_them(tmp_path):
    """A keyed line read without journal.key is held (unchecked), not bad; appending then refuses rather
    than create a key the waiting lines would fail; with nothing waiting, a new key is made as on day one."""
    journal_dir = tmp_path / "journal"
    journal = Journal([journal_dir], "T1")
    journal.append(make_record(1))
    journal.close()
    (tmp_path / "journal.key").unlink()
    journal = Journal([journal_dir], "T1")
    scan = journal.scan()
    assert (len(scan.unchecked), scan.bad, scan.records) == (1, [], [])
    with pytest.raises(JournalFailed, match="journal.key"):
        journal.append(make_record(2))
    assert not (tmp_path / "journal.key").exists()
    for path in journal_dir.glob("*.jsonl"):
        path.rename(tmp_path / path.name)  # nothing waits any more
    journal.append(make_record(2))
    journal.close()
    assert (tmp_path / "journal.key").exists() and len(journal.scan().records) == 1


def test_why_a_line_is_bad_is_a_sentence_its_english_as_before(tmp_path):
    """Each way a line fails, a hole in a file and a journal key gone: the English every version wrote
    (support's scripts and older quarantines read it), and the sentence itself, whole in Chinese."""
    bad_file, holed = journal_with_every_kind_of_bad_line(tmp_path / "journal")
    scan = Journal([tmp_path / "journal"], "T1").scan()
    without_key = JournalScan()
    scan_lines(holed, None, without_key)
    found = ([(b.file, b.line_no, b.reason) for b in scan.bad] + [(b.file, b.line_no, b.what) for b in scan.breaks]
             + [(b.file, b.line_no, b.reason) for b in without_key.unchecked])
    assert [(path, n, str(reason)) for path, n, reason in found] == [
        (bad_file, 2, FORGED), (bad_file, 4, "not a journal line"),
        (bad_file, 5, "unkeyed line (the format before journal keys, or forged): not replayed"),
        (bad_file, 6, "no record uuid"), (bad_file, 7, "checksum mismatch"),
        (bad_file, 8, "not a record (Expecting property name enclosed in double quotes: line 1 column 2 (char 1))"),
        (holed, 2, f"{holed.name} line 2 does not follow line 1: 1 line(s) removed or reordered"),
        (holed, 1, "cannot be checked: the journal key (journal.key in the data directory) is missing"),
        (holed, 2, "cannot be checked: the journal key (journal.key in the data directory) is missing")]
    for _, _, reason in found:
        assert isinstance(reason, Said), reason
        zh = said_in("zh_CN", reason)
        assert not english_left(reason, zh) and zh != reason, zh


def test_a_quarantined_line_keeps_its_sentence_and_an_older_or_edited_entry_reads_as_its_english(tmp_path):
    """Replay keeps each reason as its English and as its sentence; the quarantine read back says the
    sentence in the reader's language. An entry an older version wrote (English only), one edited since,
    one whose sentence is broken or not even an entry: read as the English they hold, never an error,
    and a later replay still adds to that quarantine without doubling a line."""
    journal_dir = tmp_path / "journal"
    journal_with_every_kind_of_bad_line(journal_dir)
    assert replayed(tmp_path).quarantined == 7
    entries = Journal([journal_dir], "T1").quarantined()
    for entry in entries:
        reason = quarantine_reason(entry)
        assert reason == entry["reason"] and isinstance(reason, Said), entry
        assert not english_left(reason, said_in("zh_CN", reason)), entry
    forged = entries[0]
    assert forged["reason"] == FORGED and said_in("zh_CN", quarantine_reason(forged)) == "伪造或损坏：与日志密钥不符"
    older = {key: value for key, value in forged.items() if key != "said"}
    edited = {**forged, "reason": "checked by the manager: a real sale"}
    broken = [{**forged, "said": said} for said in ({"template": "{gone}", "params": {}}, {"parts": 5}, [1], "x")]
    for entry in (older, edited, *broken):
        assert said_in("zh_CN", quarantine_reason(entry)) == entry["reason"], entry
    assert quarantine_reason({"file": "T1-x.jsonl", "line": 1}) == ""

    quarantine = journal_dir / "quarantine" / "quarantine.jsonl"
    with open(quarantine, "a", encoding="utf-8") as f:
        f.write(json.dumps(older) + "\n[1, 2]\n" + json.dumps({"line": 3}) + "\n")
    again = Journal([journal_dir], "T1")
    path = again.append(make_record(11))
    again.close()
    flip_middle_byte(path, 1)
    assert replayed(tmp_path).quarantined == 1
    kept = Journal([journal_dir], "T1").quarantined()
    assert len(kept) == len(entries) + 3 and kept[-1]["file"] == path.name and quarantine_reason(kept[-1]) == FORGED
