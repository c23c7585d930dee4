"""sync/push.py on a real PostgreSQL and real tills on disk: every commit reaches HQ once, in commit
order, hashes and all; records only in the journal go too and are not counted twice once replayed;
HQ, not the till, says where to start again (a SequenceGap sends the till back to HQ's mark)."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import (
    AS_DEMO,
    COLA,
    WATER,
    break_sqlite,
    cli_json,
    database_write_locked,
    open_demo_shop,
    restore_sqlite,
    run_cli,
)
from hq_cluster import enrol
from tui_pos.bootstrap.till import open_ledger
from tui_pos.config import load_config
from tui_pos.domain.commits import GENESIS, first_break
from tui_pos.hq.connection import connect
from tui_pos.hq.verify import verify
from tui_pos.sync.push import push_pending


def sell(shop: Path, code: str = COLA) -> None:
    run_cli(shop, "sell", *AS_DEMO, "--item", code, "--tender", "cash", "--no-print")


def at_hq(admin_dsn: str, till: str = "T1") -> list[dict]:
    """The till's stream as HQ holds it (hq.record's rows with their records), in commit order."""
    with connect(admin_dsn) as conn:
        rows = conn.execute("SELECT commit_seq, prev_hash, hash, record FROM hq.record WHERE till_id = %s "
                            "ORDER BY commit_seq", (till,)).fetchall()
    return [{"commit_seq": n, "prev_hash": prev, "hash": digest, "record": record} for n, prev, digest, record in rows]


def at_till(shop: Path) -> list[dict]:
    ledger = open_ledger(load_config(shop))
    try:
        return ledger.view.commits_after(0, 100_000)
    finally:
        ledger.close()


def push_from(shop: Path, dsn: str, view=None, **kwargs):
    ledger = open_ledger(load_config(shop))
    try:
        with connect(dsn) as conn:
            return push_pending(conn, view(ledger.view) if view else ledger.view, **kwargs)
    finally:
        ledger.close()


@pytest.fixture
def till(hq: str, tmp_path: Path) -> tuple[Path, str]:
    """A demo shop that has sold twice, enrolled at HQ: (its data directory, its own DSN)."""
    shop = open_demo_shop(tmp_path / "shop")
    sell(shop)
    sell(shop, WATER)
    return shop, enrol(hq, shop)


def test_every_commit_reaches_hq_once_in_commit_order_with_its_hashes(hq, till):
    shop, dsn = till
    pushed = push_from(shop, dsn, batch=4)  # several batches
    commits = at_till(shop)
    assert (pushed.pushed, pushed.high_water, pushed.pending, pushed.breaks) == (len(commits), len(commits), 0, 0)
    held = at_hq(hq)
    assert held == commits  # every number, hash and record as the till committed it
    assert first_break(held, after=(0, GENESIS)) is None  # HQ can check the chain from its own rows
    assert [c["record"].get("type", "sale") for c in held].count("sale") == 2
    again = push_from(shop, dsn)
    assert (again.pushed, again.duplicates, again.high_water, again.pending) == (0, 0, len(commits), 0)
    with connect(hq) as admin:
        assert admin.execute("SELECT status->'pending', records FROM hq.till").fetchone() == (0, len(commits))


def test_records_only_in_the_journal_are_pushed_and_not_doubled_once_replayed(hq, till):
    """The database failing (write-locked): two sales journaled, pushed from the journal (off the
    box); replay then commits them under the numbers they were pushed with: HQ adds nothing."""
    shop, dsn = till
    with database_write_locked(shop):
        sell(shop)
        sell(shop, WATER)
        promised = at_till(shop)
        first = push_from(shop, dsn)
    assert first.pushed == len(promised) and first.pending == 0
    journaled = [c for c in promised if c["record"].get("receipt") in ("T1-000003", "T1-000004")]
    assert len(journaled) == 2
    run_cli(shop, "replay")
    assert at_till(shop)[:len(promised)] == promised  # replay gave them the numbers and hashes pushed
    second = push_from(shop, dsn)
    assert second.pushed == len(at_till(shop)) - len(promised)  # only what was committed since (if anything)
    held = at_hq(hq)
    assert held == at_till(shop)
    uuids = [c["record"]["uuid"] for c in held]
    assert len(uuids) == len(set(uuids))
    with connect(hq) as admin:
        sales = admin.execute("SELECT record->>'receipt' FROM hq.record WHERE type = 'sale' ORDER BY commit_seq").fetchall()
        assert sales == [("T1-000001",), ("T1-000002",), ("T1-000003",), ("T1-000004",)]
        assert admin.execute("SELECT count(*) FROM hq.commit_moved").fetchone() == (0,)


class RestoredMeanwhile:
    """The till's view, with HQ restored from an older dump (its newest commits gone, its mark
    back) right after the till asked HQ's mark and before it sends: the push meets a SequenceGap."""

    def __init__(self, view, admin_dsn: str, keep: int):
        self.view, self.admin_dsn, self.keep = view, admin_dsn, keep

    def commits_after(self, commit_seq: int, limit: int = 500, **kwargs) -> list[dict]:
        if self.keep is not None:
            with connect(self.admin_dsn) as admin:
                admin.execute("DELETE FROM hq.record WHERE commit_seq > %s", (self.keep,))
                admin.execute("UPDATE hq.till SET high_water = %s", (self.keep,))
            self.keep = None
        return self.view.commits_after(commit_seq, limit, **kwargs)

    def last_commit(self, **kwargs) -> int | None:
        return self.view.last_commit(**kwargs)

    def anchored_commit(self) -> tuple[int, str] | None:
        return self.view.anchored_commit()


def test_hq_restored_from_an_older_dump_gets_what_it_lacks_again(hq, till):
    shop, dsn = till
    push_from(shop, dsn)
    sell(shop)
    commits = at_till(shop)
    result = push_from(shop, dsn, view=lambda v: RestoredMeanwhile(v, hq, keep=3))
    assert result.resent == 1  # sent from the till's idea of HQ's mark, sent back to HQ's: 3
    assert (result.pushed, result.high_water, result.pending) == (len(commits) - 3, len(commits), 0)
    assert at_hq(hq) == commits
    with connect(hq) as admin:  # restored again, with no push under way: the next push asks HQ first
        admin.execute("DELETE FROM hq.record WHERE commit_seq > 5")
        admin.execute("UPDATE hq.till SET high_water = 5")
    again = push_from(shop, dsn)
    assert (again.pushed, again.resent, again.high_water) == (len(commits) - 5, 0, len(commits))
    assert at_hq(hq) == commits


def test_the_status_goes_with_the_push_and_keeps_what_it_does_not_say(hq, till):
    shop, dsn = till
    push_from(shop, dsn, status={"version": "test", "alerts": ["printer offline"]})
    sell(shop)
    push_from(shop, dsn, status={"alerts": []})
    with connect(hq) as admin:
        assert admin.execute("SELECT status FROM hq.till").fetchone() == (
            {"version": "test", "alerts": [], "pending": 0},)


def test_an_older_backup_restored_at_the_till_breaks_the_chain_at_hq_and_loses_or_doubles_nothing(hq, till):
    """The till's database replaced by an older backup after HQ had everything: the commits the
    backup lacks are brought back (committed again, under new numbers after those used: HQ has
    their records and fills the slots without adding them twice), the next commits are new; the
    first of them does not follow HQ's chain: a break HQ stores and hq verify reports."""
    from tui_pos.hq.verify import verify

    shop, dsn = till
    [copy] = cli_json(shop, "backup")["copies"]
    sell(shop)
    before = push_from(shop, dsn)
    held_before = at_hq(hq)
    restored = cli_json(shop, "restore", copy["path"], "--manager", "manager", "--pin", "9999")
    assert restored["brought_back"]
    sell(shop, WATER)
    after = push_from(shop, dsn)
    commits = at_till(shop)
    assert commits[0]["commit_seq"] == 1 and after.high_water == commits[-1]["commit_seq"] > before.high_water
    assert after.breaks == 1 and after.pending == 0
    held = at_hq(hq)
    assert held[:len(held_before)] == held_before  # HQ never changes what it has
    uuids = [c["record"]["uuid"] for c in held]
    assert len(uuids) == len(set(uuids)) and set(uuids) >= {c["record"]["uuid"] for c in commits}
    with connect(hq) as admin:
        receipts = admin.execute("SELECT record->>'receipt' FROM hq.record WHERE type = 'sale' ORDER BY commit_seq")
        assert [r for (r,) in receipts] == ["T1-000001", "T1-000002", "T1-000003", "T1-000004"]
        [t1] = verify(admin)
    assert (t1["first_gap"], t1["first_break"], t1["breaks"]) == (None, before.high_water + 1, 1)


def test_sales_journaled_while_the_database_is_unreadable_reach_hq_numbered_from_the_anchor(hq, till, tmp_path):
    """SQLite unreadable (garbage in its place): the journal's sales are numbered after the audit
    anchor's commit, which HQ holds with the same number and hash, and pushed: off the box while
    the disk fails. Repaired and replayed, the till gives them exactly those numbers: nothing doubled,
    the chain at HQ whole."""
    shop, dsn = till
    push_from(shop, dsn)  # HQ's last commit is the till's last one, the one its anchor holds
    before = at_till(shop)
    break_sqlite(shop, tmp_path / "aside")
    sell(shop)
    sell(shop, WATER)
    assert at_till(shop) == []  # unreadable: no number without HQ's word
    pushed = push_from(shop, dsn)
    assert (pushed.pushed, pushed.high_water, pushed.pending, pushed.breaks, pushed.held_back) == \
        (2, len(before) + 2, 0, 0, "")
    held = at_hq(hq)
    assert [c["record"].get("receipt") for c in held[len(before):]] == ["T1-000003", "T1-000004"]
    restore_sqlite(shop, tmp_path / "aside")
    run_cli(shop, "replay")
    after = at_till(shop)
    assert after[:len(held)] == held  # replay gave the pushed sales the numbers and hashes HQ holds
    again = push_from(shop, dsn)
    assert (again.breaks, again.pending) == (0, 0)
    held = at_hq(hq)
    assert held == at_till(shop)
    uuids = [c["record"]["uuid"] for c in held]
    assert len(uuids) == len(set(uuids))
    with connect(hq) as admin:
        report = verify(admin)
        assert admin.execute("SELECT count(*) FROM hq.commit_moved").fetchone() == (0,)
    assert [(t["till"], t["first_gap"], t["first_break"], t["ok"]) for t in report] == [("T1", None, None, True)]


def test_with_the_database_unreadable_nothing_is_numbered_when_hq_is_not_at_the_anchors_commit(hq, till, tmp_path):
    """HQ behind the anchor (or ahead of it: the anchor lagged): the journal's records are not
    numbered by guess; nothing is pushed, the push says why, pending is unknown. Repaired, they go."""
    shop, dsn = till
    break_sqlite(shop, tmp_path / "aside")
    sell(shop)
    pushed = push_from(shop, dsn)
    assert (pushed.pushed, pushed.high_water, pushed.pending) == (0, 0, None)
    assert "HQ's is 0" in pushed.held_back
    assert at_hq(hq) == []
    restore_sqlite(shop, tmp_path / "aside")
    run_cli(shop, "replay")
    push_from(shop, dsn)
    assert at_hq(hq) == at_till(shop)
    assert [c["record"].get("receipt") for c in at_hq(hq) if c["record"].get("receipt")] == \
        ["T1-000001", "T1-000002", "T1-000003"]


def test_a_commit_hq_holds_with_another_hash_than_the_anchors_holds_the_journal_back(hq, till, tmp_path):
    shop, dsn = till
    push_from(shop, dsn)
    mark = len(at_till(shop))
    with connect(hq) as admin:  # HQ's copy of the last commit is not the one the till anchored
        admin.execute("UPDATE hq.record SET hash = %s WHERE commit_seq = %s", ("f" * 64, mark))
    break_sqlite(shop, tmp_path / "aside")
    sell(shop)
    pushed = push_from(shop, dsn)
    assert (pushed.pushed, pushed.high_water, pushed.pending) == (0, mark, None)
    assert "another hash" in pushed.held_back
