"""A transfer between two shops through a real HQ on PostgreSQL, from real tills on disk: the
sending till's transfer_out reaches HQ with its push and is open there; the receiving shop's till
pulls it (sync.transfers.TransferPull, under its own role: only its shop's), receives it once
(a second time is refused), with a variance where less arrived; pushed, HQ closes it, and its
report shows the variance. Each shop's stock at HQ moved by exactly its side."""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from conftest import COLA, FLOAT, WATER
from hq.tills import commits
from hq_cluster import enrol, till_dir
from tui_pos.app.transfers import ChainShop, TransferRefused, Transfers
from tui_pos.bootstrap.shop import init_shop
from tui_pos.bootstrap.till import open_till
from tui_pos.config import load_config
from tui_pos.domain.anomalies import Thresholds
from tui_pos.domain.errors import BadInput
from tui_pos.domain.money import Currency
from tui_pos.hq.chain import add_shop
from tui_pos.hq.connection import connect
from tui_pos.hq.stock import anomalies, levels, transfers
from tui_pos.hq.stream import high_water, push
from tui_pos.sync.transfers import TransferFile, TransferPull, transfers_path


def push_new(dsn: str, data_dir: Path) -> None:
    with connect(dsn) as conn:
        mark = high_water(conn)
        push(conn, [e for e in commits(data_dir) if e["commit_seq"] > mark])


@pytest.fixture
def chain(hq: str, tmp_path: Path) -> dict:
    """T1 in shop S1, T3 and T4 in shop S2, demo tills joined to HQ."""
    tills = {}
    for till_id, shop in (("T1", "S1"), ("T3", "S2"), ("T4", "S2")):
        data_dir = till_dir(tmp_path / till_id.lower(), till_id)
        init_shop(data_dir, demo=True, shift_float=FLOAT)
        tills[till_id] = (data_dir, enrol(hq, data_dir, shop))
    return tills


@contextmanager
def transfers_at(data_dir: Path) -> Iterator[Transfers]:
    till = open_till(load_config(data_dir), cashier="demo")
    try:
        yield Transfers(till.stock, till.ledger, TransferFile(data_dir))
    finally:
        till.close()


def test_a_transfer_goes_out_at_one_shop_and_in_at_the_other_once(hq, chain):
    (t1, t1_dsn), (t3, t3_dsn) = chain["T1"], chain["T3"]
    with transfers_at(t1) as sender:
        sent = sender.send("S2", [f"{COLA}x10", f"{WATER}x5"], "DN-7")
        with pytest.raises(TransferRefused, match="sent from this till already"):
            sender.send("S2", [f"{COLA}x1"], "DN-7")
        with pytest.raises(BadInput, match="another shop"):
            sender.send("S1", [f"{COLA}x1"])
    assert [(r["kind"], r["qty"], r["peer"], r["reference"]) for r in sent.records] == [
        ("transfer_out", -10_000, "S2", "DN-7"), ("transfer_out", -5_000, "S2", "DN-7")]
    push_new(t1_dsn, t1)
    with connect(hq) as admin:
        [open_at_hq] = transfers(admin, "S2", open_only=True)
    assert (open_at_hq["from_shop"], open_at_hq["transfer"], open_at_hq["open"]) == ("S1", "DN-7", True)

    with transfers_at(t3) as receiver:
        assert receiver.open() == [] and not receiver.pulled()  # nothing pulled yet
        with connect(t3_dsn) as conn:
            assert TransferPull(t3)(conn) == 1
        assert stat.S_IMODE(transfers_path(t3).stat().st_mode) == 0o600
        with connect(t1_dsn) as conn:  # another shop's till is given none of it
            assert TransferPull(t1)(conn) == 0
        [waiting] = receiver.open()
        assert (waiting.transfer, waiting.sent) == ("DN-7", {COLA: 10_000, WATER: 5_000})
        got = receiver.receive("DN", [f"{COLA}x9"])  # the start of its id; no water arrived
        assert got.variances == {COLA: -1_000, WATER: -5_000}
        assert sorted((r["barcode"], r["kind"], r["qty"], r["peer"]) for r in got.records) == [
            (COLA, "transfer_in", 9_000, "S1"), (WATER, "transfer_in", 0, "S1")]
        with pytest.raises(TransferRefused, match="received at this till already"):
            receiver.receive("DN-7")
        assert receiver.open() == []
    push_new(t3_dsn, t3)

    with connect(hq) as admin:
        [done] = transfers(admin, "S1")
        [cola_s1] = levels(admin, "S1", [COLA])
        [cola_s2] = levels(admin, "S2", [COLA])
        warnings = anomalies(admin, "S2", *_today(), Thresholds(), Currency())
    assert (done["open"], done["receipts"]) == (False, 1)
    assert [(line["barcode"], line["sent"], line["received"], line["variance"]) for line in done["lines"]] == [
        (COLA, 10_000, 9_000, -1_000), (WATER, 5_000, 0, -5_000)]
    # each demo till's opening stock (27), then out and in: the variance left over
    assert (cola_s1["on_hand"], cola_s2["on_hand"]) == (27_000 - 10_000, 27_000 + 9_000)
    assert sorted((w.kind, w.figures["barcode"], w.figures["variance"]) for w in warnings
                  if w.kind == "transfer_variance") == [("transfer_variance", COLA, -1_000),
                                                        ("transfer_variance", WATER, -5_000)]
    with connect(t3_dsn) as conn:
        assert TransferPull(t3)(conn) == 0  # received: no longer open for the shop


def _today():
    from datetime import date

    return date.today(), date.today()


def test_two_tills_of_a_shop_receiving_one_transfer_is_a_warning_at_hq(hq, chain):
    (t1, t1_dsn), (t3, t3_dsn), (t4, t4_dsn) = chain["T1"], chain["T3"], chain["T4"]
    with transfers_at(t1) as sender:
        sender.send("S2", [f"{COLA}x2"], "DN-8")
    push_new(t1_dsn, t1)
    for data_dir, dsn in ((t3, t3_dsn), (t4, t4_dsn)):  # both pulled it before either synced again
        with connect(dsn) as conn:
            TransferPull(data_dir)(conn)
    for data_dir, dsn in ((t3, t3_dsn), (t4, t4_dsn)):
        with transfers_at(data_dir) as receiver:
            receiver.receive()
        push_new(dsn, data_dir)
    with connect(hq) as admin:
        [twice] = transfers(admin, "S2")
        warnings = anomalies(admin, "S2", *_today(), Thresholds(), Currency())
    assert (twice["receipts"], [line["variance"] for line in twice["lines"]]) == (2, [2_000])
    assert [w.subject for w in warnings if w.kind == "transfer_twice"] == ["DN-8"]


def test_the_chains_shops_come_down_with_the_transfers_and_a_transfer_goes_to_one_of_them(hq, chain):
    """The till's role pulls the chain's shops (id and name, nothing else) with the open transfers
    and keeps them; a shop HQ does not have is then refused at the till, one HQ adds arrives with
    the next sync; a sync that finds nothing new leaves the file as it is."""
    t1, t1_dsn = chain["T1"]
    with transfers_at(t1) as sender:
        assert sender.shops() is None and sender.destination("S9") == "S9"  # no list yet: cannot be checked
    pull = TransferPull(t1)
    with connect(t1_dsn) as conn:
        pull(conn)
    assert json.loads(transfers_path(t1).read_text(encoding="utf-8"))["shops"] == [
        {"shop": "S1", "name": "First"}, {"shop": "S2", "name": "Second"}]
    with transfers_at(t1) as sender:
        assert sender.shops() == [ChainShop("S2", "Second")]  # its own shop left out
        with pytest.raises(BadInput, match="the chain has no shop S9: HQ's shops are S2 "):
            sender.send("S9", [f"{COLA}x1"])
    written = transfers_path(t1).stat().st_ino
    with connect(t1_dsn) as conn:
        pull(conn)
    assert transfers_path(t1).stat().st_ino == written  # nothing changed at HQ: not written again
    with connect(hq) as admin:
        add_shop(admin, "S9", "Ninth")
    with connect(t1_dsn) as conn:
        pull(conn)
    with transfers_at(t1) as sender:
        assert [s.shop for s in sender.shops() or ()] == ["S2", "S9"]
        assert sender.send("S9", [f"{COLA}x1"]).peer == "S9"
