"""The ledger: SQLite first, else the journal, else refuse; replay exactly once; one transaction
per sale; receipt numbers in order across processes and restarts."""

from __future__ import annotations

import os
import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from conftest import GARBAGE_DB, break_sqlite, database_write_locked, restore_sqlite
from tui_pos.store.journal import Journal
from tui_pos.store.ledger import StorageFailed

from .records import ROWS_PER_SALE, make_record, new_ledger, query, row_counts, stored_sales, umask_zero  # noqa: F401


def numbered_sale(ledger, till_id):
    """Number a sale and store it in one unit of work, as the till's pay does."""
    with ledger.numbered(till_id, "seq") as unit:
        record = make_record(unit.number)
        return record, unit.commit(record)

def times(n: int) -> dict[str, int]:
    return {table: n * count for table, count in ROWS_PER_SALE.items()}


def journal_files(root: Path) -> list[Path]:
    return sorted(root.rglob("*.jsonl"))


def commit_all(ledger, records) -> list[str]:
    return [ledger.commit(record) for record in records]


@pytest.fixture
def products(tmp_path):
    """Two tracked products (stock 10 and 5) so that stock updates can be checked."""
    ledger = new_ledger(tmp_path)
    ledger.connection().executescript(
        "INSERT INTO product (barcode, name, price, tax_code, stock) VALUES ('111', '可口可乐', 350, 'A', 10);"
        "INSERT INTO product (barcode, name, price, tax_code, stock) VALUES ('222', '农夫山泉', 200, 'A', 5);"
    )
    ledger.close()


def stock(root: Path) -> dict[str, int]:
    return dict(query(root / "pos.sqlite3", "SELECT barcode, stock FROM product"))


def test_commit_goes_to_sqlite(tmp_path, products):
    """The normal path: every row of the sale in SQLite, nothing in the journal."""
    ledger = new_ledger(tmp_path)
    record = make_record(1)
    assert ledger.commit(record) == "sqlite"
    assert row_counts(tmp_path / "pos.sqlite3") == times(1)
    assert stored_sales(tmp_path / "pos.sqlite3") == {record["uuid"]: "sqlite"}
    assert query(tmp_path / "pos.sqlite3", "SELECT kind, amount, reference FROM tender ORDER BY tender_no") == [
        ("cash", 500, ""), ("card", 200, "AUTH1")]
    assert stock(tmp_path) == {"111": 8, "222": 5}  # 2 sold; the voided line moves no stock
    assert journal_files(tmp_path) == []
    state = ledger.state()
    assert (state.mode, state.journal_backlog) == ("ok", 0)
    ledger.close()


def test_database_files_are_0600(tmp_path, umask_zero):
    """The database and its WAL hold every sale: private even under umask 0."""
    ledger = new_ledger(tmp_path)
    ledger.commit(make_record(1))
    modes = {p.name: oct(os.stat(p).st_mode & 0o777) for p in tmp_path.glob("pos.sqlite3*")}
    ledger.close()
    assert "pos.sqlite3-wal" in modes
    assert set(modes.values()) == {"0o600"}, modes


def test_whoever_listens_is_told_of_each_commit_to_sqlite_or_the_journal(tmp_path, products):
    """The sync worker's wake(): a commit, wherever it went, is pushed to HQ at once."""
    ledger = new_ledger(tmp_path)
    told: list[str] = []
    ledger.on_commit.append(lambda: told.append("commit"))
    assert ledger.commit(make_record(1)) == "sqlite" and told == ["commit"]
    ledger.close()
    break_sqlite(tmp_path, tmp_path / "aside", "directory")
    ledger = new_ledger(tmp_path)
    ledger.on_commit.append(lambda: told.append("journal"))
    assert ledger.commit(make_record(2)) == "journal" and told == ["commit", "journal"]
    with pytest.raises(StorageFailed):  # refused everywhere: nothing to push, nobody told
        for directory in ledger.journal.dirs:
            shutil.rmtree(directory)
            directory.write_text("not a directory")
        ledger.journal.close()
        ledger.commit(make_record(3))
    assert told == ["commit", "journal"]
    ledger.close()


@pytest.mark.parametrize("how", ["directory", "garbage"])
def test_unopenable_sqlite_sends_sales_to_the_journal(tmp_path, how):
    """SQLite cannot even be opened: the sale is journaled and the till says degraded, with the backlog."""
    break_sqlite(tmp_path, tmp_path / "aside", how)
    ledger = new_ledger(tmp_path)
    records = [make_record(1), make_record(2)]

    assert ledger.commit(records[0]) == "journal"
    state = ledger.state()
    assert (state.mode, state.journal_backlog) == ("degraded", 1)
    assert state.last_error
    assert ledger.commit(records[1]) == "journal"
    assert ledger.state().journal_backlog == 2

    assert [r["uuid"] for r in ledger.journaled_sales()] == [r["uuid"] for r in records]
    if how == "garbage":
        assert (tmp_path / "pos.sqlite3").read_bytes() == GARBAGE_DB  # never "repaired" over
    ledger.close()


def test_replay_inserts_every_journaled_sale_exactly_once(tmp_path, products):
    """Replay brings each journaled sale in once, even when run again or after a crash before retiring."""
    break_sqlite(tmp_path, tmp_path / "aside")
    ledger = new_ledger(tmp_path)
    records = [make_record(seq) for seq in (1, 2, 3)]
    assert commit_all(ledger, records) == ["journal"] * 3
    restore_sqlite(tmp_path, tmp_path / "aside")
    db = tmp_path / "pos.sqlite3"

    result = ledger.replay()
    assert (result.replayed, result.skipped, result.retired_files, result.error) == (3, 0, 1, "")
    assert row_counts(db) == times(3)
    assert stored_sales(db) == {r["uuid"]: "journal" for r in records}
    assert stock(tmp_path) == {"111": 4, "222": 5}
    assert (ledger.state().mode, ledger.state().journal_backlog) == ("ok", 0)

    assert ledger.replay().replayed == 0
    # A crash after the replay's COMMIT, before the file was retired: the file is back in play.
    [retired] = (tmp_path / "journal" / "replayed").glob("*.jsonl")
    shutil.copy(retired, tmp_path / "journal" / retired.name)
    result = new_ledger(tmp_path).replay()
    assert (result.replayed, result.skipped) == (0, 3)
    assert row_counts(db) == times(3)
    assert stock(tmp_path) == {"111": 4, "222": 5}


def test_sale_in_both_sqlite_and_journal_is_not_doubled(tmp_path):
    """COMMIT that failed with an unknown outcome gets journaled too: replay must skip it by uuid."""
    ledger = new_ledger(tmp_path)
    in_both, journal_only = make_record(1), make_record(2)
    assert ledger.commit(in_both) == "sqlite"
    by_hand = Journal([tmp_path / "journal"], "T1")
    by_hand.append(in_both)
    by_hand.append(journal_only)
    by_hand.close()

    result = ledger.replay()
    assert (result.replayed, result.skipped) == (1, 1)
    assert row_counts(tmp_path / "pos.sqlite3") == times(2)
    assert stored_sales(tmp_path / "pos.sqlite3") == {in_both["uuid"]: "sqlite", journal_only["uuid"]: "journal"}
    ledger.close()


def _duplicate_second_line(root: Path, record: dict) -> None:
    record["lines"][1]["line_no"] = 1  # the second line collides with the first: rejected


def _refuse_print_job(root: Path, record: dict) -> None:
    with closing(sqlite3.connect(root / "pos.sqlite3")) as conn:  # the very last INSERT of a sale fails
        conn.execute("CREATE TRIGGER refuse BEFORE INSERT ON print_job BEGIN SELECT RAISE(ABORT, 'refused'); END")


@pytest.mark.parametrize("spoil", [_duplicate_second_line, _refuse_print_job], ids=["second-line", "print-job"])
def test_all_rows_of_a_sale_are_one_transaction(tmp_path, products, spoil):
    """A failure on any row of a sale leaves no part of it in SQLite (and the sale is not lost)."""
    record = make_record(1)
    spoil(tmp_path, record)
    ledger = new_ledger(tmp_path)

    ledger.commit(record)

    assert row_counts(tmp_path / "pos.sqlite3") == times(0)
    assert stock(tmp_path) == {"111": 10, "222": 5}
    assert [r["uuid"] for r in ledger.journaled_sales()] == [record["uuid"]]
    ledger.close()


def test_a_journaled_record_the_database_refuses_is_quarantined_with_why_in_the_readers_language(tmp_path, products):
    """A journaled sale whose receipt another sale holds, and one whose rows the database refuses: both
    set aside, each reason kept as its English and as the sentence, which a Chinese reader reads whole."""
    from tui_pos.domain.errors import Said
    from tui_pos.store.journal import quarantine_reason

    from .sentences import english_left, said_in

    ledger = new_ledger(tmp_path)
    holder, same_receipt, refused = make_record(1), make_record(1), make_record(2)
    _duplicate_second_line(tmp_path, refused)
    assert ledger.commit(holder) == "sqlite"
    by_hand = Journal([tmp_path / "journal"], "T1")
    by_hand.append(same_receipt)
    by_hand.append(refused)
    by_hand.close()
    try:
        assert ledger.replay().quarantined == 2
    finally:
        ledger.close()
    reasons = [quarantine_reason(q) for q in Journal([tmp_path / "journal"], "T1").quarantined()]
    assert reasons[0] == f"receipt T1-000001 already used by sale {holder['uuid']}"
    assert reasons[1].startswith("rejected by the database: IntegrityError(")
    for reason in reasons:
        zh = said_in("zh_CN", reason)
        assert isinstance(reason, Said) and not english_left(reason, zh) and zh != reason, zh
    assert stored_sales(tmp_path / "pos.sqlite3") == {holder["uuid"]: "sqlite"}


def test_storage_failed_when_sqlite_and_every_journal_fail(tmp_path):
    """Nothing took the sale: StorageFailed, nothing written anywhere, and the receipt number not used."""
    break_sqlite(tmp_path, tmp_path / "aside")
    journal_dir = tmp_path / "journal"
    journal_dir.write_text("a file where the journal directory should be")
    ledger = new_ledger(tmp_path)

    with pytest.raises(StorageFailed) as failed:
        numbered_sale(ledger, "T1")
    assert failed.value.sqlite_error and str(journal_dir) in failed.value.journal_error
    assert failed.value.outcome_unknown is False
    assert ledger.state().mode == "failing"
    assert (tmp_path / "pos.sqlite3").read_bytes() == GARBAGE_DB
    assert journal_files(tmp_path) == []

    restore_sqlite(tmp_path, tmp_path / "aside")
    journal_dir.unlink()
    record, stored = numbered_sale(ledger, "T1")
    assert (record["receipt"], stored) == ("T1-000001", "sqlite")
    assert ledger.state().mode == "ok"
    ledger.close()


def test_a_lost_journal_key_holds_the_journal_and_a_record_goes_to_sqlite_or_is_refused(tmp_path):
    """journal.key gone with records waiting for it: replay leaves the journal as it is (nothing replayed,
    nothing set aside); a record goes to SQLite, and while SQLite fails too the journal refuses it rather
    than make a new key the waiting records could never be checked with. The key back: replay takes them."""
    break_sqlite(tmp_path, tmp_path / "aside")
    ledger = new_ledger(tmp_path)
    records = [make_record(seq) for seq in (1, 2)]
    assert commit_all(ledger, records) == ["journal"] * 2
    ledger.close()
    key_file = tmp_path / "journal.key"
    key = key_file.read_bytes()
    key_file.unlink()
    held = {path: path.read_bytes() for path in journal_files(tmp_path)}

    ledger = new_ledger(tmp_path)
    result = ledger.replay()
    assert (result.replayed, result.quarantined, result.retired_files, result.remaining) == (0, 0, 0, 2)
    assert str(result.error) == "journal key missing: 2 record(s) cannot be checked; restore journal.key from a backup"
    assert ledger.is_recorded(records[0]["uuid"]) is True  # stored all the same: a paid sale is not paid again
    with pytest.raises(StorageFailed) as failed:  # SQLite broken as well: refused, no new key
        ledger.commit(make_record(3))
    assert "journal.key" in failed.value.journal_error and ledger.state().mode == "failing"
    assert not key_file.exists() and {p: p.read_bytes() for p in journal_files(tmp_path)} == held

    restore_sqlite(tmp_path, tmp_path / "aside")
    later = make_record(3)
    assert ledger.commit(later) == "sqlite"
    assert ledger.replay().replayed == 0 and {p: p.read_bytes() for p in journal_files(tmp_path)} == held
    key_file.write_bytes(key)
    result = ledger.replay()
    assert (result.replayed, result.quarantined, result.error) == (2, 0, "")
    ledger.close()
    assert stored_sales(tmp_path / "pos.sqlite3") == {records[0]["uuid"]: "journal", records[1]["uuid"]: "journal",
                                                      later["uuid"]: "sqlite"}


def test_receipt_numbers_held_in_a_journal_without_its_key_are_not_handed_out_again(tmp_path):
    """The key and the anchor's copies both lost: the held sales' numbers, read unchecked, stay used."""
    break_sqlite(tmp_path, tmp_path / "aside")
    ledger = new_ledger(tmp_path)
    assert [numbered_sale(ledger, "T1")[1] for _ in range(2)] == ["journal"] * 2
    ledger.close()
    restore_sqlite(tmp_path, tmp_path / "aside")
    for lost in [tmp_path / "journal.key", *tmp_path.rglob("anchor.json*")]:
        lost.unlink()
    ledger = new_ledger(tmp_path)
    assert ledger.replay().remaining == 2
    record, stored = numbered_sale(ledger, "T1")
    assert (record["receipt"], stored) == ("T1-000003", "sqlite")
    ledger.close()


def test_receipt_numbers_are_sequential_across_two_processes(tmp_path):
    """Two ledgers on one data directory used alternately (till UI and a CLI sell) never share a number."""
    first, second = new_ledger(tmp_path), new_ledger(tmp_path)
    receipts = [numbered_sale(ledger, "T1")[0]["receipt"] for ledger in (first, second, first, second, first)]
    assert receipts == ["T1-000001", "T1-000002", "T1-000003", "T1-000004", "T1-000005"]
    assert sorted(r for (r,) in query(tmp_path / "pos.sqlite3", "SELECT receipt FROM sale")) == receipts
    first.close()
    second.close()


@pytest.mark.parametrize("lock_file", ["kept", "lost"])
@pytest.mark.parametrize("sqlite_at_restart", ["repaired", "still-broken"])
def test_receipt_numbers_continue_after_a_restart_with_sales_only_in_the_journal(tmp_path, lock_file,
                                                                                 sqlite_at_restart):
    """After a restart the next number follows the journaled sales too, even if till.lock was lost
    (it is written without fsync, so a power cut may take it)."""
    before = new_ledger(tmp_path)
    assert numbered_sale(before, "T1")[1] == "sqlite"
    before.close()
    break_sqlite(tmp_path, tmp_path / "aside")
    degraded = new_ledger(tmp_path)
    journaled = [numbered_sale(degraded, "T1") for _ in range(2)]
    assert [(r["receipt"], s) for r, s in journaled] == [("T1-000002", "journal"), ("T1-000003", "journal")]
    degraded.close()
    if lock_file == "lost":
        (tmp_path / "till.lock").unlink()
    if sqlite_at_restart == "repaired":
        restore_sqlite(tmp_path, tmp_path / "aside")

    restarted = new_ledger(tmp_path)
    record, _ = numbered_sale(restarted, "T1")
    assert record["receipt"] == "T1-000004"
    restarted.close()
    if sqlite_at_restart == "still-broken":
        restore_sqlite(tmp_path, tmp_path / "aside")
    final = new_ledger(tmp_path)
    final.replay()
    final.close()
    assert sorted(r for (r,) in query(tmp_path / "pos.sqlite3", "SELECT receipt FROM sale")) == [
        "T1-000001", "T1-000002", "T1-000003", "T1-000004"]


def test_the_audit_anchor_moves_with_every_sale_without_an_fsync_of_its_own(tmp_path, monkeypatch):
    """Issue 11.6's performance rule: the anchor is written to the page cache after each commit
    (every process sees it at once); its durable writes happen at start, replay and close only."""
    import os as os_module

    from tui_pos.store import audit

    ledger = new_ledger(tmp_path)
    try:
        ledger.commit(make_record(1))  # the first commit reads the anchor copies
        syncs = []
        for name in ("fsync", "fdatasync"):
            real = getattr(os_module, name)
            monkeypatch.setattr(os_module, name, lambda fd, real=real, name=name: (syncs.append(name), real(fd))[1])
        for seq in range(2, 12):
            assert ledger.commit(make_record(seq)) == "sqlite"
            head = audit.head(ledger.connection())
            anchored = audit.Anchor([tmp_path, tmp_path / "journal"]).read()
            assert (anchored["seq"], anchored["hash"]) == head
            assert anchored["numbers"]["floor:T1:seq"] == seq
        assert syncs == [], "the anchor must not add an fsync per sale"
    finally:
        monkeypatch.undo()
        ledger.close()


def test_a_start_and_close_with_nothing_committed_write_no_anchor(shop_dir):
    """A read-only command (a report, status through a Till) must not write and fsync the anchor
    in every directory twice: once the last process left it durably everywhere, a start that finds
    it matching and a close after no commit leave it alone. A close after a commit writes it."""
    from tui_pos.bootstrap.till import open_till
    from tui_pos.config import load_config

    copies = sorted(shop_dir.glob("anchor.json.*")) + sorted((shop_dir / "journal").glob("anchor.json.*"))
    assert len(copies) >= 2, copies  # the data directory and the journal directory
    open_till(load_config(shop_dir), cashier="").close()  # settles whatever the set-up left
    stamps = {path: path.stat().st_mtime_ns for path in copies}
    for _ in range(2):
        open_till(load_config(shop_dir), cashier="").close()
    assert {path: path.stat().st_mtime_ns for path in copies} == stamps
    till = open_till(load_config(shop_dir), cashier="test")
    till.ledger.commit(make_record(1))
    till.close()
    assert {path: path.stat().st_mtime_ns for path in copies} != stamps


def test_the_first_record_journaled_puts_the_last_sqlite_commit_in_every_anchor_copy(tmp_path):
    """Sales anchor SQLite's last commit in the data directory only (no fsync per sale); the first
    record that goes to the journal instead writes it durably to every directory, the journal's
    too: what push numbers the journal from when the data directory's disk fails."""
    from tui_pos.store import audit, commit_log

    ledger = new_ledger(tmp_path)
    try:
        ledger.commit(make_record(1))
        second = make_record(2)
        ledger.commit(second)
        last = commit_log.last(ledger.connection())
        assert audit.Anchor([tmp_path]).read()["commit"] == last
        in_journal_dir = audit.Anchor([tmp_path / "journal"]).read()
        assert in_journal_dir is None or in_journal_dir.get("commit") != last
        with database_write_locked(tmp_path):
            assert ledger.commit(make_record(3)) == "journal"
        assert audit.Anchor([tmp_path / "journal"]).read()["commit"] == last
        assert last[2] == second["uuid"]
    finally:
        ledger.close()
