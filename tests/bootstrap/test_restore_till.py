"""`hq restore-till`: a till rebuilt on a new box from the records HQ holds of it (a real PostgreSQL,
a real till's records): the same records in the same order, an audit chain that verifies, numbers
that continue, and the till id taken over from the dead box."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conftest import CANDY, COLA, run_cli, sell_at
from hq_cluster import enrol, till_dir
from tests.hq.tills import commits, push_till, stored_records
from tests.store.records import make_record
from tui_pos.bootstrap.restore_till import restore_till
from tui_pos.bootstrap.till import open_till
from tui_pos.config import load_config
from tui_pos.domain.commits import chained
from tui_pos.domain.errors import BadInput
from tui_pos.domain.tender import Tender
from tui_pos.hq.catalog import import_catalog as import_chain_catalog
from tui_pos.hq.connection import HqError, connect
from tui_pos.hq.stream import high_water, push
from tui_pos.hq.verify import verify
from tui_pos.sync.state import load_state


@pytest.fixture
def dead_box(two_days_shop: Path, tmp_path: Path, utc_plus_8: str) -> Path:
    """The two days' till, its shift closed (Z 1) and a second one opened with a sale in it."""
    shop = Path(shutil.copytree(two_days_shop, tmp_path / "dead"))
    till = open_till(load_config(shop), cashier="amy")
    try:
        till.clock = lambda: "2026-03-02T02:00:00.000+00:00"
        till.close_shift(10800)
        till.clock = lambda: "2026-03-02T02:05:00.000+00:00"
        till.open_shift(10000)
        sell_at(till, "2026-03-02T02:10:00.000+00:00", {COLA: 1}, [Tender("cash", 350)], "amy")
    finally:
        till.close()
    return shop


def test_a_till_rebuilt_from_hq_has_every_record_and_numbers_continue(hq, dead_box, tmp_path):
    old_dsn = enrol(hq, dead_box)
    count = push_till(hq, dead_box)
    with connect(hq) as admin:  # the chain's catalog: the rebuilt till pulls it
        import_chain_catalog(admin, f"barcode,name,price,tax\n{COLA},Cola,3.50,A\n{CANDY},Candy,1.00,A\n")
    records = stored_records(dead_box)
    new = tmp_path / "new-box" / "data"

    done = restore_till(hq, "T1", new)
    assert {k: done[k] for k in ("till", "shop", "records", "high_water")} == {
        "till": "T1", "shop": "S1", "records": count, "high_water": count}
    assert (done["catalog"]["products"], done["catalog"]["users"]) == (2, 0)
    assert done["chain_continues"] is True  # the rebuilt commit log hashes as the dead box's did
    assert load_state(load_config(new)).catalog_version == done["catalog"]["version"] > 0
    rebuilt = stored_records(new)
    assert rebuilt[:count] == records  # every record, as the till committed it, in its order
    restored, pulled = rebuilt[count:]
    assert (restored["action"], restored["subject"], restored["detail"]) == (
        "restored_from_hq", f"{count} records", {"high_water": count, "shop": "S1"})
    assert pulled["action"] == "catalog_pull"
    assert load_config(new).till_id == "T1" and (new / "config.toml").stat().st_mode & 0o777 == 0o600
    verified = json.loads(run_cli(new, "audit", "verify", "--json", check=False).stdout)
    assert verified["ok"] is True, verified
    [warning] = verified["warnings"]  # the chain is new: the Z taken on the dead box named a head of its own chain
    assert warning.startswith("Z 1 was taken at audit head ") and warning.endswith("before this database was rebuilt "
                                                                                   "from HQ")

    till = open_till(load_config(new), cashier="amy")
    try:
        assert till.shift["number"] == 2  # the shift left open on the dead box goes on
        till.approve("manager", "9999", "void")  # the people came back with their PINs
        sale = sell_at(till, "2026-03-02T03:00:00.000+00:00", {CANDY: 1}, [Tender("cash", 100)], "amy")
        z = till.close_shift(10000 + 350 + 100)
    finally:
        till.close()
    assert (sale.receipt, z.z_number, z.shift_number) == ("T1-000008", 2, 2)  # never a number used twice

    with pytest.raises(HqError, match="password authentication failed"):
        connect(old_dsn).close()  # the dead box's password no longer works
    with connect(hq) as admin:
        [(box,)] = admin.execute("SELECT box_id::text FROM hq.till WHERE till_id = 'T1'").fetchall()
    assert box == (new / "hq" / "secret.json").read_text().split('"box_id": "')[1].split('"')[0]
    from tui_pos.hq.enrol import till_dsn

    with connect(till_dsn(load_config(new))) as conn:
        assert high_water(conn) == count
    synced = json.loads(run_cli(new, "sync", "--json").stdout)  # the new box's first sync
    assert (synced["pending"], synced["breaks"]) == (0, 0) and synced["high_water"] > count
    with connect(hq) as admin:
        [t1] = verify(admin)
    assert (t1["ok"], t1["first_break"], t1["first_gap"], t1["receipt_gaps"]) == (True, None, None, [])
    assert t1["high_water"] == synced["high_water"]


def test_restore_is_refused_where_it_would_mix_two_tills(hq, dead_box, tmp_path):
    push_till(hq, dead_box)
    with pytest.raises(BadInput, match="holds a shop already"):
        restore_till(hq, "T1", dead_box)
    other = till_dir(tmp_path / "t2", "T2")
    with pytest.raises(BadInput, match="is till T2's, not till T1's"):
        restore_till(hq, "T1", other)
    with pytest.raises(HqError, match="till T9 is not enrolled at HQ"):
        restore_till(hq, "T9", tmp_path / "nine")
    assert not (tmp_path / "nine").exists()


def test_a_commit_hq_holds_as_a_moved_slot_is_never_numbered_again(hq, tmp_path):
    """HQ's stream: commits 1-3, then commit 4 a record it had (commit 1's, pushed from the journal
    under another number): the rebuilt till holds 3 records, and its next commit is 5, not 4."""
    records = [make_record(seq) for seq in (1, 2, 3)]
    first = list(chained(records))
    with connect(enrol(hq, till_dir(tmp_path / "dead"))) as conn:
        push(conn, [*first, *chained([records[0]], after=(3, first[-1]["hash"]))])
    new = tmp_path / "new"
    done = restore_till(hq, "T1", new)
    assert (done["records"], done["high_water"], done["chain_continues"]) == (3, 4, False)
    numbers = {c["record"].get("action"): c["commit_seq"] for c in commits(new)}
    assert numbers["restored_from_hq"] == 5
    synced = json.loads(run_cli(new, "sync", "--json").stdout)
    assert synced["high_water"] == max(numbers.values())
    with connect(hq) as admin:
        [t1] = verify(admin)
    assert (t1["first_gap"], t1["first_break"]) == (None, 5)  # said, never hidden: the rebuilt chain is not HQ's
