"""HQ's alerts (ops/hq_alerts.py) on a real PostgreSQL: each shop's low stock (HQ's reorder levels,
its tills' stock summed) and every till's pushed alerts, handed to the [alerts] hook as a till
hands its own."""

from __future__ import annotations

import json

from conftest import COLA, WATER
from hq_cluster import enrol, till_dir
from tui_pos.config import load_config
from tui_pos.hq.catalog import import_catalog
from tui_pos.hq.connection import connect
from tui_pos.hq.stream import envelope, push
from tui_pos.ops.hq_alerts import LOW_SHOWN, chain_alerts, dispatch


def test_low_stock_per_shop_and_the_tills_alerts_go_to_the_hook(hq, tmp_path):
    with connect(hq) as admin:
        import_catalog(admin, f"barcode,name,price,tax,reorder_level\n{COLA},Cola,3.50,A,5\n{WATER},Water,2.00,A,\n")
    own = enrol(hq, till_dir(tmp_path / "t1"), "S1")
    with connect(own) as till:  # a receipt of 8 colas at S1, and the till says its printer is out of paper
        push(till, [envelope(1, {"type": "stock_move", "uuid": "1" * 32, "till_id": "T1", "at": "2026-03-01T01:00:00Z",
                                 "kind": "receive", "barcode": COLA, "qty": 8_000, "expected": 0})],
             {"alerts": [{"key": "printer", "message": "printer: out of paper"}]})
    with connect(hq) as admin:
        found = chain_alerts(admin)
    assert [(a.key, a.message) for a in found] == [
        ("hq_till:S1:T1:0", "till T1 (shop S1): printer: out of paper"),
        ("hq_low_stock:S2", "shop S2: LOW STOCK (on hand/reorder level): Cola 0/5")]  # S1 has 8: not low
    assert found[1].message.template and found[1].message.params["shop"] == "S2"  # said in the screen's language where shown
    out = tmp_path / "hook.jsonl"
    data_dir = till_dir(tmp_path / "hq-admin", "T9")
    (data_dir / "config.toml").write_text(f'[till]\nid = "T9"\n\n[alerts]\nhook = "cat >> {out}; echo >> {out}"\n')
    dispatch(load_config(data_dir), found)
    events = [json.loads(line) for line in out.read_text().splitlines() if line]
    assert sorted((e["event"], e["key"]) for e in events) == [("raised", "hq_low_stock:S2"), ("raised", "hq_till:S1:T1:0")]


def test_many_low_products_are_named_up_to_a_few(hq):
    rows = "\n".join(f"69000000{n:05d},P{n},1.00,A,1" for n in range(LOW_SHOWN + 2))
    with connect(hq) as admin:
        import_catalog(admin, f"barcode,name,price,tax,reorder_level\n{rows}\n")
        found = chain_alerts(admin)
    assert [a.message.endswith("and 2 more") for a in found] == [True, True]


def test_a_transfer_to_a_shop_hq_does_not_have_is_kept_and_flagged_until_the_shop_is_added(hq, tmp_path):
    """A till with no list of the chain's shops let a mistyped shop through: HQ takes the till's
    record all the same (it is stored at the till), flags the transfer in `hq transfers` and raises
    an alert, until the shop is added (then its tills pull it as any other)."""
    from tui_pos.hq.chain import add_shop
    from tui_pos.hq.stock import transfers

    own = enrol(hq, till_dir(tmp_path / "t1"), "S1")
    sent = {"type": "stock_move", "uuid": "2" * 32, "till_id": "T1", "at": "2026-03-01T01:00:00Z",
            "kind": "transfer_out", "barcode": COLA, "qty": -2_000, "expected": 0, "reference": "T1-ABC123",
            "peer": "S9", "batch": "3" * 32}
    with connect(own) as till:
        assert push(till, [envelope(1, sent)]).added == 1
    with connect(hq) as admin:
        [nowhere] = transfers(admin, open_only=True)
        found = chain_alerts(admin)
    assert (nowhere["transfer"], nowhere["to_shop"], nowhere["to_known"], nowhere["open"]) == ("T1-ABC123", "S9",
                                                                                               False, True)
    [alert] = [a for a in found if a.key.startswith("hq_transfer_to_unknown:")]
    assert (alert.key, alert.level, alert.message) == (
        "hq_transfer_to_unknown:S1:T1-ABC123", "warning",
        "transfer T1-ABC123 from shop S1 goes to shop S9, which HQ does not have: no till can receive it")
    with connect(hq) as admin:
        add_shop(admin, "S9", "Ninth")
        [known] = transfers(admin, open_only=True)
        assert known["to_known"] is True
        assert not [a for a in chain_alerts(admin) if a.key.startswith("hq_transfer_to_unknown:")]
