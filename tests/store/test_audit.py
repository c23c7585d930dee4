"""The hash-chained audit log (issue 5): editing any column of an entry, deleting an entry,
swapping two entries, editing a stored sale, line, tender, shift, cash movement or Z report, or
deleting a sale is detected by verify(), which names the first broken entry precisely. Journaled
records enter the chain when replay stores them, in replay order, without breaking it. A schema-1
database (before the audit log) is migrated and its sales chained.

The history is made by a real till on a real database; every tampering is done with plain SQL,
as someone with the file would.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from conftest import COLA, FLOAT, NOODLES, WATER, database_write_locked
from tui_pos.app.till import Till
from tui_pos.bootstrap import till as bootstrap
from tui_pos.config import load_config
from tui_pos.domain.auth import LoginFailed
from tui_pos.domain.tender import Tender
from tui_pos.store import verification

from .records import SCHEMA_1, flip_middle_byte, make_record, new_ledger, write_schema_1_sale
from .sentences import english_left, said_in

COLUMNS = ("uuid", "at", "till_id", "action", "actor", "approved_by", "subject", "amount", "detail",
           "prev_hash", "hash")


def open_till(shop: Path) -> Till:
    till = bootstrap.open_till(load_config(shop), cashier="", keep_cart=False)
    till.login("demo", "1234")
    return till


def sell(till: Till, items: list[tuple[str, int]], tenders: list[Tender]):
    for code, qty in items:
        till.scan(code, qty)
    return till.pay(tenders).sale


@pytest.fixture(scope="module")
def history_template(tmp_path_factory) -> Path:
    """Made once: a login, three sales (one split tender), a paid-in, a refund by a manager, a Z,
    and the next shift opened."""
    from conftest import open_demo_shop

    shop = open_demo_shop(tmp_path_factory.mktemp("audit") / "shop")
    till = open_till(shop)
    try:
        first = sell(till, [(COLA, 2), (WATER, 1)], [Tender("card", 5_00, "C1"), Tender("cash", 5_00)])
        sell(till, [(NOODLES, 1)], [Tender("cash", 4_50)])
        sell(till, [(WATER, 3)], [Tender("mobile", 6_00, "WX1")])
        till.cash_movement("paid_in", 20_00, "coins")
        till.refund(first.receipt, {1: 1}, "Damaged", till.approve("manager", "9999", "refund"))
        till.close_shift(till.x_report().expected_cash)
        till.open_shift(FLOAT)
    finally:
        till.close()
    return shop


@pytest.fixture
def shop(history_template: Path, tmp_path: Path) -> Path:
    """A private copy of the history to tamper with."""
    copy = tmp_path / "shop"
    copy.mkdir()
    for name in ("pos.sqlite3", "pos.sqlite3-wal"):
        if (history_template / name).exists():
            (copy / name).write_bytes((history_template / name).read_bytes())
    return copy


def tamper(shop: Path, *statements: tuple[str, tuple]) -> None:
    with closing(sqlite3.connect(shop / "pos.sqlite3")) as conn:
        for sql, params in statements:
            conn.execute(sql, params)
        conn.commit()


def query(shop: Path, sql: str, *params: Any) -> list[tuple]:
    with closing(sqlite3.connect(shop / "pos.sqlite3")) as conn:
        return conn.execute(sql, params).fetchall()


def verify(shop: Path) -> verification.Verification:
    with closing(sqlite3.connect(shop / "pos.sqlite3")) as conn:
        return verification.verify(conn)


def entry_of(shop: Path, action: str, nth: int = 0) -> int:
    """The seq of the nth audit entry of this action."""
    return query(shop, "SELECT seq FROM audit WHERE action = ? ORDER BY seq", action)[nth][0]


def last_seq(shop: Path) -> int:
    return query(shop, "SELECT MAX(seq) FROM audit")[0][0]


def first_broken(shop: Path) -> verification.Problem:
    result = verify(shop)
    assert not result.ok, "tampering went unnoticed"
    return result.first_broken


def test_an_untouched_history_verifies(shop):
    """Every entry checked, and every stored record has one (counted with our own SQL)."""
    result = verify(shop)
    assert result.ok, result.problems
    assert result.entries == query(shop, "SELECT COUNT(*) FROM audit")[0][0]
    records = sum(query(shop, f"SELECT COUNT(*) FROM {t}")[0][0]
                  for t in ("sale", "shift", "cash_movement", "z_report", "stock_move"))
    openings = query(shop, "SELECT COUNT(*) FROM stock_move WHERE reason = 'opening'")[0][0]  # the demo catalog's stock
    assert result.records_checked == records == 4 + 2 + 1 + 1 + openings and openings > 0
    actions = [a for (a,) in query(shop, "SELECT action FROM audit ORDER BY seq")]
    for expected in ("shift_open", "login", "sale", "paid_in", "refund", "z_report"):
        assert expected in actions


# -- the entries themselves --------------------------------------------------------------------------------
def changed(value: Any) -> Any:
    if value is None:
        return "x"
    return value + 1 if isinstance(value, int) else value[:-1] + ("0" if value[-1:] != "0" else "1")


@pytest.mark.parametrize("position", ["first", "middle", "last"])
@pytest.mark.parametrize("column", COLUMNS)
def test_editing_any_column_of_an_entry_is_found_at_that_entry(shop, column, position):
    seq = {"first": 1, "middle": entry_of(shop, "sale", 1), "last": last_seq(shop)}[position]
    [(value,)] = query(shop, f"SELECT {column} FROM audit WHERE seq = ?", seq)
    tamper(shop, (f"UPDATE audit SET {column} = ? WHERE seq = ?", (changed(value), seq)))
    assert first_broken(shop).seq == seq


def test_editing_a_value_inside_an_entrys_detail_is_found(shop):
    """The detail is JSON: an edit that keeps it valid JSON (the sale's digest, the expected cash
    of a Z) is found at that entry like any other."""
    for action in ("sale", "z_report"):
        seq = entry_of(shop, action)
        [(detail,)] = query(shop, "SELECT detail FROM audit WHERE seq = ?", seq)
        edited = detail.replace('"digest":"', '"digest":"0') if action == "sale" else detail.replace(
            '"expected":', '"expected":1')
        assert edited != detail
        tamper(shop, ("UPDATE audit SET detail = ? WHERE seq = ?", (edited, seq)))
        assert first_broken(shop).seq == entry_of(shop, "sale")


def test_renumbering_an_entry_is_found(shop):
    """An entry moved to a new seq: a hole where it was, reported at the entry after the hole."""
    seq = entry_of(shop, "sale", 1)
    tamper(shop, ("UPDATE audit SET seq = 1000 WHERE seq = ?", (seq,)))
    problem = first_broken(shop)
    assert problem.seq == seq + 1 and f"entry {seq} is missing" in problem.what


@pytest.mark.parametrize("which", ["middle", "last but one"])
def test_deleting_an_entry_is_found_at_the_next_one(shop, which):
    seq = entry_of(shop, "sale", 1) if which == "middle" else last_seq(shop) - 1
    tamper(shop, ("DELETE FROM audit WHERE seq = ?", (seq,)))
    problem = first_broken(shop)
    assert problem.seq == seq + 1 and f"entry {seq} is missing" in problem.what


def test_deleting_several_entries_and_renumbering_the_rest_is_found(shop):
    """A careful forger deletes entries 3-4 and shifts every later seq down: the hashes no longer
    link up at the first renumbered entry."""
    tamper(shop, ("DELETE FROM audit WHERE seq IN (3, 4)", ()), ("UPDATE audit SET seq = seq - 2 WHERE seq > 4", ()))
    assert first_broken(shop).seq == 3


def test_deleting_the_entry_of_the_newest_record_is_found(shop):
    """The last entry has no successor to miss it; its record (the new shift) still exists."""
    seq = last_seq(shop)
    assert query(shop, "SELECT action FROM audit WHERE seq = ?", seq) == [("shift_open",)]
    tamper(shop, ("DELETE FROM audit WHERE seq = ?", (seq,)))
    assert [p.what for p in verify(shop).problems if "no audit entry" in p.what]


@pytest.mark.parametrize("pair", [("login", "sale"), ("sale", "z_report")])
def test_swapping_two_entries_is_found_at_the_earlier_one(shop, pair):
    """Two entries' contents exchanged (each keeps its seq): reported at the first of them."""
    a, b = entry_of(shop, pair[0]), entry_of(shop, pair[1], -1 if pair[1] == "sale" else 0)
    a, b = min(a, b), max(a, b)
    rows = {s: query(shop, f"SELECT {', '.join(COLUMNS)} FROM audit WHERE seq = ?", s)[0] for s in (a, b)}
    sets = ", ".join(f"{c} = ?" for c in COLUMNS)
    parked = ("parked", *rows[b][1:])  # uuids are unique: park one while the other moves
    tamper(shop, (f"UPDATE audit SET {sets} WHERE seq = ?", (*parked, a)),
           (f"UPDATE audit SET {sets} WHERE seq = ?", (*rows[a], b)),
           ("UPDATE audit SET uuid = ? WHERE seq = ?", (rows[b][0], a)))
    assert first_broken(shop).seq == a


# -- the records the entries cover --------------------------------------------------------------------------
def uuid_of_receipt(shop: Path, receipt: str) -> str:
    return query(shop, "SELECT uuid FROM sale WHERE receipt = ?", receipt)[0][0]


def entry_for(shop: Path, uuid: str) -> int:
    return query(shop, "SELECT seq FROM audit WHERE uuid = ?", uuid)[0][0]


RECORD_EDITS = {  # what is edited -> (SQL, the record whose entry must be named)
    "sale total": ("UPDATE sale SET total = total - 100 WHERE receipt = 'T1-000002'", "T1-000002"),
    "sale cashier": ("UPDATE sale SET cashier = 'manager' WHERE receipt = 'T1-000002'", "T1-000002"),
    "a refund's link": ("UPDATE sale SET original_uuid = NULL WHERE kind = 'refund'", "T1-000004"),
    "a refund's manager": ("UPDATE sale SET approved_by = 'demo' WHERE kind = 'refund'", "T1-000004"),
    "line quantity": ("UPDATE sale_line SET qty = 1 WHERE sale_uuid = "
                      "(SELECT uuid FROM sale WHERE receipt = 'T1-000003')", "T1-000003"),
    "line voided": ("UPDATE sale_line SET voided = 1 WHERE line_no = 2 AND sale_uuid = "
                    "(SELECT uuid FROM sale WHERE receipt = 'T1-000001')", "T1-000001"),
    "tender amount": ("UPDATE tender SET amount = 100 WHERE kind = 'card'", "T1-000001"),
    "tender reference": ("UPDATE tender SET reference = 'WX2' WHERE kind = 'mobile'", "T1-000003"),
    "a tender added": ("INSERT INTO tender (sale_uuid, tender_no, kind, amount, reference) SELECT uuid, 9, 'cash', "
                       "100, '' FROM sale WHERE receipt = 'T1-000002'", "T1-000002"),
}


@pytest.mark.parametrize("what", list(RECORD_EDITS))
def test_editing_a_sale_is_found_at_its_entry(shop, what):
    sql, receipt = RECORD_EDITS[what]
    seq = entry_for(shop, uuid_of_receipt(shop, receipt))
    tamper(shop, (sql, ()))
    problem = first_broken(shop)
    assert problem.seq == seq and receipt in problem.what


@pytest.mark.parametrize("table, column, action", [
    ("shift", "float", "shift_open"),
    ("cash_movement", "amount", "paid_in"),
    ("z_report", "counted", "z_report"),
    ("z_report", "report", "z_report"),
])
def test_editing_a_shift_cash_movement_or_z_report_is_found_at_its_entry(shop, table, column, action):
    seq = entry_of(shop, action)
    [(uuid, value)] = query(shop, f"SELECT uuid, {column} FROM {table} WHERE uuid = (SELECT uuid FROM audit "
                                  "WHERE seq = ?)", seq)
    tamper(shop, (f"UPDATE {table} SET {column} = ? WHERE uuid = ?", (changed(value), uuid)))
    assert first_broken(shop).seq == seq


def delete_sale(receipt: str) -> list[tuple[str, tuple]]:
    """Every row of one sale, as a forger who knows the schema would remove it."""
    sub = "(SELECT uuid FROM sale WHERE receipt = ?)"
    return [(f"DELETE FROM {t} WHERE sale_uuid = {sub}", (receipt,))
            for t in ("sale_line", "tender", "stock_movement", "print_job")] + [
        ("DELETE FROM sale WHERE receipt = ?", (receipt,))]


def test_deleting_a_sale_is_found_at_its_entry_and_leaves_a_receipt_gap(shop):
    seq = entry_for(shop, uuid_of_receipt(shop, "T1-000002"))
    tamper(shop, *delete_sale("T1-000002"))
    result = verify(shop)
    assert result.first_broken.seq == seq and "T1-000002" in result.first_broken.what
    assert any("receipts T1 2-2 are missing" in p.what for p in result.problems)


def test_deleting_a_sale_with_its_entry_is_found(shop):
    seq = entry_for(shop, uuid_of_receipt(shop, "T1-000002"))
    tamper(shop, *delete_sale("T1-000002"), ("DELETE FROM audit WHERE seq = ?", (seq,)))
    result = verify(shop)
    assert result.first_broken.seq == seq + 1 and f"entry {seq} is missing" in result.first_broken.what
    assert any("receipts T1 2-2 are missing" in p.what for p in result.problems)


def test_a_quarantined_first_sale_is_a_gap(tmp_path):
    """Issue 11.22: T1-000001 was journaled and then quarantined (a damaged line), T1-000002 was
    stored: receipts start at 1, so the missing first one is a gap like any other."""

    ledger = new_ledger(tmp_path)
    try:
        with database_write_locked(tmp_path):
            assert ledger.commit(make_record(1)) == "journal"
        path = ledger.journal.files()[0]
        ledger.journal.close()
        flip_middle_byte(path, 1)
        assert ledger.replay().quarantined == 1
        assert ledger.commit(make_record(2)) == "sqlite"
    finally:
        ledger.close()
    with closing(sqlite3.connect(tmp_path / "pos.sqlite3")) as conn:
        problems = [p.what for p in verification.verify(conn).problems]
    assert "receipts T1 1-1 are missing (deleted sales?)" in problems


def test_a_shop_from_before_the_anchor_is_covered_at_its_first_start(tmp_path):
    """Users and products written by an older version (no table_state entries, no anchor): the
    first start covers them and anchors the chain, so that verify and backups pass, and an edit
    made after that is found."""
    ledger = new_ledger(tmp_path)
    try:
        conn = ledger.connection()
        conn.execute("INSERT INTO user (name, role, pin_hash, active) VALUES ('ann', 'cashier', 'h', 1)")
        conn.execute("INSERT INTO product (barcode, name, price, tax_code) VALUES ('1', 'Tea', 300, 'A')")
        assert [p.what for p in verification.verify(conn).problems] == [
            "the user table has no table_state entry: its rows are not covered",
            "the product table has no table_state entry: its rows are not covered"]
        assert ledger.check_anchor("T1", "2026-11-21T10:00:00.000+00:00") == []
        assert verification.verify(conn, anchor=ledger.anchor).ok
    finally:
        ledger.close()
    tamper(tmp_path, ("UPDATE user SET role = 'manager' WHERE name = 'ann'", ()))
    assert [p.what for p in verify(tmp_path).problems] == [
        "the user table was changed outside tui-pos (it differs from its last table_state entry)"]


# -- journaled records -------------------------------------------------------------------------------------------
def test_journaled_records_join_the_chain_in_replay_order(shop_dir):
    """Sales, a cash movement and failed logins journaled while SQLite is locked get their entries
    at replay, in the order they were journaled, after everything already chained, followed by
    the replay's own entry; the chain verifies."""
    till = open_till(shop_dir)
    try:
        sell(till, [(COLA, 1)], [Tender("cash", 3_50)])
        before = last_seq(shop_dir)
        with database_write_locked(shop_dir):
            journaled = [sell(till, [(WATER, 1)], [Tender("cash", 2_00)]).uuid]
            with pytest.raises(LoginFailed):
                till.login("demo", "0000")
            journaled.append(sell(till, [(NOODLES, 1)], [Tender("card", 4_50, "C3")]).uuid)
            journaled.append(till.cash_movement("paid_out", 1_00, "stamps")["uuid"])
            journaled.append(sell(till, [(COLA, 2)], [Tender("cash", 7_00)]).uuid)
            assert till.storage().journal_backlog == 5
            assert last_seq(shop_dir) == before
        assert till.replay().replayed == 5
    finally:
        till.close()
    rows = query(shop_dir, "SELECT seq, uuid, action FROM audit WHERE seq > ? ORDER BY seq", before)
    assert [a for _, _, a in rows] == ["sale", "login_failed", "sale", "paid_out", "sale", "replay"]
    assert [u for _, u, a in rows if a not in ("login_failed", "replay")] == journaled
    assert [s for s, _, _ in rows] == list(range(before + 1, before + 7))
    assert [r for (r,) in query(shop_dir, "SELECT receipt FROM sale ORDER BY seq")] == [
        f"T1-{n:06d}" for n in range(1, 5)]
    result = verify(shop_dir)
    assert result.ok, result.problems


# -- schema 1 ---------------------------------------------------------------------------------------------------------
def test_a_schema_1_database_is_migrated_and_its_sales_chained(tmp_path):
    """Two sales from before the audit log (the second completed first) are chained at migration,
    oldest first; a later edit of one is found; a schema-1 journal line (no record type) replays
    onto the chain; the chain verifies throughout."""
    old = [make_record(1, completed_at="2026-11-20T10:00:00.000+00:00"),
           make_record(2, completed_at="2026-11-20T09:00:00.000+00:00")]
    with closing(sqlite3.connect(tmp_path / "pos.sqlite3")) as conn:
        conn.executescript(SCHEMA_1)
        for record in old:
            write_schema_1_sale(conn, record)
        conn.commit()
    ledger = new_ledger(tmp_path)
    try:
        ledger.connection()
        assert query(tmp_path, "PRAGMA user_version") == [(2,)]
        assert query(tmp_path, "SELECT subject, action FROM audit ORDER BY seq") == [
            ("T1-000002", "sale"), ("T1-000001", "sale")]
        assert query(tmp_path, "SELECT DISTINCT kind FROM sale") == [("sale",)]
        assert verify(tmp_path).ok

        ledger.journal.append({k: v for k, v in make_record(3).items()})  # as schema 1 journaled it
        assert ledger.replay().replayed == 1
        assert verify(tmp_path).ok
        assert [a for (a,) in query(tmp_path, "SELECT action FROM audit ORDER BY seq")] == [
            "sale", "sale", "sale", "replay"]
    finally:
        ledger.close()
    tamper(tmp_path, ("UPDATE sale_line SET qty = 3 WHERE line_no = 1 AND sale_uuid = ?", (old[0]["uuid"],)))
    problem = first_broken(tmp_path)
    assert problem.seq == 2 and "T1-000001" in problem.what


def test_the_anchor_keeps_the_newest_sqlite_commit_and_a_doubt_wins_only_over_older_ones(tmp_path):
    """The anchor's commit (commit_log.last: number, hash, uuid) only rises across copies and
    writes; a COMMIT whose outcome was unknown leaves a doubt one past it (a hash no HQ holds),
    which the real commit of that number, once read, replaces; a reset takes the commit as it is."""
    from tui_pos.store.audit import GENESIS, UNKNOWN_COMMIT, Anchor, merge_anchors

    real = [3, "a" * 64, "u3"]
    doubt = [3, UNKNOWN_COMMIT, None]
    assert merge_anchors([{"commit": doubt}, {"commit": real}])["commit"] == real
    assert merge_anchors([{"commit": real}, {"commit": doubt}])["commit"] == real
    assert merge_anchors([{"commit": [2, "b" * 64, "u2"]}, {"commit": doubt}])["commit"] == doubt
    assert "commit" not in merge_anchors([{"seq": 1, "hash": GENESIS}])
    dirs = [tmp_path / "data", tmp_path / "journal"]
    for d in dirs:
        d.mkdir()
    anchor = Anchor(dirs)
    anchor.advance((1, GENESIS), commit=real, sync=True)
    anchor.advance((2, GENESIS), commit=[2, "b" * 64, "u2"])
    assert anchor.read()["commit"] == real
    anchor.advance((1, GENESIS), commit=[1, "c" * 64, "u1"], reset=True, sync=True)  # a new epoch
    assert Anchor(dirs).read()["commit"] == [1, "c" * 64, "u1"]


# -- the rare findings in the shop's language (issue 16) -----------------------------------------------------------
def test_a_chain_cut_short_is_noted_at_start_and_said_in_the_readers_language(tmp_path):
    """The newest entry deleted: the next start finds the cut and keeps it in the anchor's note, which
    audit verify reads back as the sentence itself: English as data (--json, the log), Chinese to a
    Chinese reader, the values as they were."""
    from tui_pos.domain.errors import Each
    from tui_pos.store import audit

    ledger = new_ledger(tmp_path)
    try:
        for seq in (1, 2, 3):
            assert ledger.commit(make_record(seq)) == "sqlite"
    finally:
        ledger.close()
    tamper(tmp_path, ("DELETE FROM audit WHERE seq = (SELECT MAX(seq) FROM audit)", ()))
    head = query(tmp_path, "SELECT MAX(seq) FROM audit")[0][0]
    ledger = new_ledger(tmp_path)
    try:
        found = ledger.check_anchor("T1", "2026-11-21T10:00:00.000+00:00")
        assert found == [f"the chain ends at entry {head}, but entry {head + 1} was anchored: the newest 1 entries "
                         "were deleted"]
        problems = [p.what for p in verification.verify(ledger.connection(), anchor=ledger.anchor).problems]
        note = ledger.anchor.read()["notes"][0]
    finally:
        ledger.close()
    recorded = [p for p in problems if p.startswith("recorded at start: ")]
    assert recorded == [f"recorded at start: 2026-11-21T10:00:00 {found[0]}"] and note["what"] == found[0]
    zh = said_in("zh_CN", recorded[0])
    assert not english_left(recorded[0], zh) and f" {head} " in zh and "2026-11-21T10:00:00" in zh, zh
    assert said_in("en", recorded[0]) == recorded[0]
    assert audit.note_what(note) == found[0] and isinstance(audit.note_what(note), Each)  # the sentence, kept


def test_a_note_is_read_as_its_sentence_only_when_that_says_what_its_english_says(tmp_path):
    """A note kept as JSON comes back whole; one whose English was edited, one an older version wrote
    (no sentence) and one whose sentence cannot be said are read as their English, never an error."""
    import json

    from tui_pos.domain.errors import N_, Each, Said
    from tui_pos.store import audit

    what = Each([Said(N_("{backup} restored by {manager}"), backup="b.tar", manager="王"),
                 Said(N_("{n} audit entries rolled back"), n=3)])
    note = json.loads(json.dumps(audit.note("2026-11-21T10:00:00", "rollback", what, False, numbers={})))
    assert note["what"] == "b.tar restored by 王; 3 audit entries rolled back" == audit.note_what(note)
    assert not english_left(audit.note_what(note), said_in("zh_CN", audit.note_what(note)))
    edited = {**note, "what": "b.tar restored by 李; 3 audit entries rolled back"}
    assert said_in("zh_CN", audit.note_what(edited)) == edited["what"]
    older = {key: value for key, value in note.items() if key != "said"}
    assert said_in("zh_CN", audit.note_what(older)) == note["what"]
    broken = {**note, "said": {"template": "{gone} restored", "params": {}}}
    assert said_in("zh_CN", audit.note_what(broken)) == note["what"]


def test_a_broken_commit_order_is_said_in_the_readers_language(shop):
    """A sale's commit deleted: the gap, the next commit no longer following, the sale without one."""
    second = query(shop, "SELECT commit_seq FROM commit_log WHERE type = 'sale' ORDER BY commit_seq LIMIT 1 OFFSET 1")
    tamper(shop, ("DELETE FROM commit_log WHERE commit_seq = ?", second[0]))
    problems = [p.what for p in verify(shop).problems if "commit" in p.what]
    assert f"commits {second[0][0]}-{second[0][0]} are missing (deleted)" in problems, problems
    assert any("has no commit" in p for p in problems) and any("was modified" in p for p in problems), problems
    for problem in problems:
        zh = said_in("zh_CN", problem)
        assert not english_left(problem, zh), (problem, zh)
