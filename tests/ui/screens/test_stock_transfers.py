"""Pilot tests for transfers between shops at the till (issue 14), at 80x24 on a fresh demo shop
that is shop S1 or S2 of a chain: sending goods by scanning (a burst of 100 scans too), receiving
a transfer as the sync left it in hq/transfers.json (written by the sync's own writer) with its
variance, scans kept when the core refuses, and HQ out of reach said plainly (the real sync
worker pointed at a port nobody listens on). What was stored is read back with sqlite3."""

from __future__ import annotations

import json
import shutil
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from textual.widgets import OptionList

from conftest import COLA, NOODLES, WATER, set_config
from pgcluster import free_port
from tui_pos.hq.enrol import secret_path, with_hq_section
from tui_pos.sync.transfers import save_transfers, transfers_path
from tui_pos.ui.screens.dialogs import AskScreen
from tui_pos.ui.screens.stock_transfers import ShopPickScreen, TransferInScreen, TransferOutScreen, TransferPickScreen

from ..pilot import (
    BURST_CODES,
    dialog_text,
    in_dialog,
    menu,
    message,
    on_screen,
    rows,
    running,
    scan,
    scanning_screen_burst,
    screen_text,
    shown,
    type_text,
    wait_for,
)

pytestmark = pytest.mark.asyncio

SENT_AT = "2026-03-01T01:00:00+00:00"


def moves(pilot) -> list[tuple]:
    return rows(pilot, "SELECT kind, barcode, qty, reference, peer, actor FROM stock_move "
                       "WHERE kind LIKE 'transfer%' ORDER BY rowid")


def sent_to_s2(transfer: str, *lines: tuple[str, int]) -> dict:
    """An open transfer as hq.open_transfers() gives it to shop S2's tills."""
    return {"transfer": transfer, "from_shop": "S1", "to_shop": "S2", "sent_at": SENT_AT,
            "lines": [{"barcode": b, "qty": q} for b, q in lines]}


@asynccontextmanager
async def at_shop(shop_dir: Path, shop: str, pulled: list[dict] | None = None):
    """The demo cashier at a till of `shop`; pulled: the open transfers the last sync kept."""
    set_config(shop_dir, "hq", "shop", f'"{shop}"')
    if pulled is not None:
        save_transfers(shop_dir, pulled, SENT_AT)
    async with running(shop_dir) as pilot:
        yield pilot


async def to_transfer_out(pilot, shop: str) -> None:
    await menu(pilot, "o")
    await on_screen(pilot, AskScreen)
    await type_text(pilot, shop, "enter")


CHAIN = [{"shop": "S1", "name": "First"}, {"shop": "S2", "name": "Second"}, {"shop": "S3", "name": "Third"},
         {"shop": "S4", "name": "南京路 Nanjing Road"}]


def picked(pilot) -> list[str]:
    """The shops the picker lists now, the highlighted one marked with >."""
    found = pilot.app.screen.query_one("#shop-list", OptionList)
    return [(">" if i == found.highlighted else "") + str(found.get_option_at_index(i).prompt).split()[0]
            for i in range(found.option_count)]


async def press_twice_to_store(pilot) -> None:
    """F10 reviews, F10 again stores."""
    await pilot.press("f10")
    await pilot.press("f10")
    await wait_for(pilot, lambda: not pilot.app.screen.working)


async def sync_state_said(pilot, pulled_note: str, sent_note: str) -> None:
    """At a till of S2 whose sync does not reach HQ: the transfers to receive are said to be as
    last pulled (pulled_note), and one sent to S1 is stored here all the same, said (sent_note)."""
    await menu(pilot, "i")
    await on_screen(pilot, TransferPickScreen)
    assert pulled_note in in_dialog(pilot)
    await pilot.press("escape")
    await to_transfer_out(pilot, "S1")
    await on_screen(pilot, TransferOutScreen)
    await scan(pilot, COLA)
    await press_twice_to_store(pilot)
    assert sent_note in message(pilot)
    assert [m[:3] for m in moves(pilot)] == [("transfer_out", COLA, -1_000)]


async def test_sending_a_transfer_by_scanning(shop_dir):
    async with at_shop(shop_dir, "S1") as pilot:
        await to_transfer_out(pilot, "S1")
        await wait_for(pilot, lambda: "another shop than this till's (S1)" in message(pilot))
        await to_transfer_out(pilot, "S2")
        await on_screen(pilot, TransferOutScreen)
        await scan(pilot, COLA, f"3*{WATER}", COLA)
        await pilot.press("f10")
        assert message(pilot).startswith("Send 2 product(s) to shop S2?")
        assert moves(pilot) == []  # reviewed, not stored
        await scan(pilot, NOODLES)  # a scan after the review: reviewed again before anything is sent
        await pilot.press("f10")
        assert message(pilot).startswith("Send 3 product(s) to shop S2?") and moves(pilot) == []
        await pilot.press("f10")
        await wait_for(pilot, lambda: "sent to shop S2" in message(pilot))
        stored = moves(pilot)
        [transfer] = {m[3] for m in stored}
        assert stored == [("transfer_out", COLA, -2_000, transfer, "S2", "demo"),
                          ("transfer_out", WATER, -3_000, transfer, "S2", "demo"),
                          ("transfer_out", NOODLES, -1_000, transfer, "S2", "demo")]
        assert transfer.startswith(pilot.app.till.config.till_id + "-")
        assert f"write {transfer} on the box" in message(pilot)
        assert "HQ gets it with the next sync." in message(pilot)
        assert "on hand 25" in shown(pilot)  # the demo shop's 27 colas, 2 sent


async def test_the_shop_is_picked_from_the_chains_shops_hq_sent_down(shop_dir):
    """With HQ's list of shops (as the sync keeps it): this shop left out, typing filters by id or
    name (Chinese too), Up/Down choose, Enter sends to the one chosen; a filter that matches none
    says so and Enter picks nothing."""
    save_transfers(shop_dir, [], SENT_AT, CHAIN)
    async with at_shop(shop_dir, "S1") as pilot:
        await menu(pilot, "o")
        await on_screen(pilot, ShopPickScreen)
        assert picked(pilot) == [">S2", "S3", "S4"]
        await pilot.press("down", "down", "down", "up")  # the last is as far as it goes
        assert picked(pilot) == ["S2", ">S3", "S4"]
        await type_text(pilot, "南京")
        assert picked(pilot) == [">S4"]
        await type_text(pilot, "zz")
        assert picked(pilot) == [] and "No shop of the chain matches '南京zz'." in in_dialog(pilot)
        await pilot.press("enter")
        assert isinstance(pilot.app.screen, ShopPickScreen)  # nothing to pick: still asked
        await pilot.press(*["backspace"] * 4, *"thi", "enter")
        await on_screen(pilot, TransferOutScreen)
        assert pilot.app.screen.to_shop == "S3" and "Transfer to shop S3 (Third)" in shown(pilot)
        await scan(pilot, COLA)
        await press_twice_to_store(pilot)
        assert [(kind, code, qty, peer) for kind, code, qty, _ref, peer, _actor in moves(pilot)] == [
            ("transfer_out", COLA, -1_000, "S3")]
    save_transfers(shop_dir, [], SENT_AT, CHAIN[:1])  # HQ knows no other shop than this one
    async with at_shop(shop_dir, "S1") as pilot:
        await menu(pilot, "o")
        await wait_for(pilot, lambda: "HQ lists no other shop of the chain" in message(pilot))
        assert not isinstance(pilot.app.screen, (ShopPickScreen, AskScreen))


async def test_the_slip_is_printed_to_go_in_the_box(shop_dir, tmp_path):
    """With a receipt printer: the transfer's slip (its id, the shops, the lines) comes out once it
    is sent; a printer that is not there is said, the transfer stored all the same."""
    from printing.escpos_decode import decode

    out = tmp_path / "printer.bin"
    set_config(shop_dir, "printer", "connection", f'"file:{out}"')
    save_transfers(shop_dir, [], SENT_AT, CHAIN)
    async with at_shop(shop_dir, "S1") as pilot:
        await menu(pilot, "o")
        await on_screen(pilot, ShopPickScreen)
        await pilot.press("enter")
        await on_screen(pilot, TransferOutScreen)
        await scan(pilot, f"2*{COLA}")
        await press_twice_to_store(pilot)
        await wait_for(pilot, lambda: "The slip is printed: put it in the box." in message(pilot))
        [(_k, _b, _q, transfer, *_rest)] = moves(pilot)
        texts = decode(out.read_bytes()).texts
        assert texts[0] == "TRANSFER SLIP" and transfer in " ".join(texts) and "S2 Second" in " ".join(texts)
    set_config(shop_dir, "printer", "connection", f'"file:{tmp_path / "unplugged" / "printer.bin"}"')
    async with at_shop(shop_dir, "S1") as pilot:
        await menu(pilot, "o")
        await on_screen(pilot, ShopPickScreen)
        await pilot.press("enter")
        await on_screen(pilot, TransferOutScreen)
        await scan(pilot, COLA)
        await press_twice_to_store(pilot)
        await wait_for(pilot, lambda: "The slip was not printed: " in message(pilot))
        assert "write T1-" in message(pilot) and len(moves(pilot)) == 2  # stored, and the id to write by hand


async def test_a_till_with_no_list_of_shops_asks_for_the_code_and_says_it_cannot_be_checked(shop_dir):
    async with at_shop(shop_dir, "S1") as pilot:
        await menu(pilot, "o")
        await on_screen(pilot, AskScreen)
        await wait_for(pilot, lambda: "this till has no list of the chain's shops yet, so it cannot be checked"
                       in dialog_text(pilot))


async def test_a_burst_of_100_scans_is_sent_exactly(shop_dir):
    async with at_shop(shop_dir, "S1") as pilot:
        await to_transfer_out(pilot, "S2")
        await on_screen(pilot, TransferOutScreen)
        codes = await scanning_screen_burst(pilot)
        await press_twice_to_store(pilot)
        sent = {barcode: -qty for _k, barcode, qty, *_rest in moves(pilot)}
        assert sent == {code: 1_000 * codes.count(code) for code in BURST_CODES}


async def test_a_scan_while_the_list_is_being_stored_is_refused_not_lost(shop_dir):
    async with at_shop(shop_dir, "S1") as pilot:
        await to_transfer_out(pilot, "S2")
        await on_screen(pilot, TransferOutScreen)
        await scan(pilot, COLA)
        screen = pilot.app.screen
        with pilot.app.till.ledger._numbering:  # another unit of work holds the numbering: the send waits for it
            await pilot.press("f10", "f10")
            assert screen.working
            await scan(pilot, WATER)
            assert message(pilot) == "One moment: the list is being stored; scan that again afterwards."
            assert screen.items == [COLA]
        await wait_for(pilot, lambda: "sent to shop S2" in message(pilot))
        assert [m[:3] for m in moves(pilot)] == [("transfer_out", COLA, -1_000)]


async def test_receiving_a_transfer_shows_what_was_sent_and_records_the_variance(shop_dir):
    pulled = [sent_to_s2("DN-7", (COLA, 6_000), (WATER, 2_000))]
    async with at_shop(shop_dir, "S2", pulled) as pilot:
        await menu(pilot, "i")
        await on_screen(pilot, TransferPickScreen)
        assert "DN-7" in shown(pilot) and "from shop S1" in shown(pilot)
        await pilot.press("enter")
        await on_screen(pilot, TransferInScreen)
        await scan(pilot, *[COLA] * 4, WATER, WATER)
        assert message(pilot) == "1 x 农夫山泉 550ml: 2 of 2 arrived"
        await scan(pilot, NOODLES)  # not sent: said at once, kept if the receiver stores it
        assert message(pilot).startswith("1 x 康师傅红烧牛肉面: not in this transfer")
        assert [line.split() for line in screen_text(pilot, "#stock-lines").splitlines()] == [
            ["sent", "arrived", "variance", "product"], ["6", "4", "-2", "可口可乐", "330ml"],
            ["2", "2", "农夫山泉", "550ml"], ["0", "1", "+1", "康师傅红烧牛肉面"]]  # sent, as scanned, the difference
        await pilot.press("f10")
        assert message(pilot).startswith("2 product(s) differ from what was sent")
        await pilot.press("f10")
        await wait_for(pilot, lambda: "received" in message(pilot))
        assert moves(pilot) == [("transfer_in", COLA, 4_000, "DN-7", "S1", "demo"),
                                ("transfer_in", WATER, 2_000, "DN-7", "S1", "demo"),
                                ("transfer_in", NOODLES, 1_000, "DN-7", "S1", "demo")]
        assert "Variance recorded for 2 product(s)." in message(pilot)
        await scan(pilot, COLA)  # the transfer is in: nothing more to scan against it
        assert message(pilot) == "Transfer DN-7 is received: Esc to go back."
        assert len(moves(pilot)) == 3
        await pilot.press("escape")
        await menu(pilot, "i")
        await wait_for(pilot, lambda: message(pilot) == "No transfer is waiting to be received.")


async def test_scans_are_kept_when_the_transfer_cannot_be_received(shop_dir):
    async with at_shop(shop_dir, "S2", [sent_to_s2("DN-8", (COLA, 1_000))]) as pilot:
        await menu(pilot, "i")
        await on_screen(pilot, TransferPickScreen)
        await pilot.press("enter")
        await on_screen(pilot, TransferInScreen)
        await scan(pilot, COLA)
        save_transfers(shop_dir, [], SENT_AT)  # meanwhile the sync learnt it is received (another till)
        await press_twice_to_store(pilot)
        assert "no open transfer DN-8" in message(pilot)
        assert moves(pilot) == [] and pilot.app.screen.items == [COLA]  # nothing stored, nothing lost
        await pilot.press("escape")
        assert "Esc again discards them" in message(pilot)


async def test_a_till_that_never_pulled_or_never_joined_says_so(shop_dir):
    async with running(shop_dir) as pilot:  # no [hq] shop
        await menu(pilot, "o")
        await wait_for(pilot, lambda: "has not joined HQ" in message(pilot))
        assert not isinstance(pilot.app.screen, AskScreen)
    async with at_shop(shop_dir, "S2") as pilot:
        assert not transfers_path(shop_dir).exists()
        await menu(pilot, "i")
        await wait_for(pilot, lambda: message(pilot) == "No transfers pulled from HQ yet: they come down with "
                                                        "the till's sync.")


async def test_hq_out_of_reach_is_said_and_nothing_is_lost(shop_dir):
    """The real sync worker, HQ at a port nobody listens on: a transfer is sent all the same (kept
    here for HQ), and the transfers to receive are said to be those last pulled."""
    save_transfers(shop_dir, [sent_to_s2("DN-9", (WATER, 1_000))], SENT_AT)
    config = shop_dir / "config.toml"
    config.write_text(with_hq_section(config.read_text(), f"host=127.0.0.1 port={free_port()} dbname=hq user=x",
                                      "S2"))
    secret_path(shop_dir).write_text(json.dumps({"password": "joined once"}), encoding="utf-8")  # as hq join left it
    async with running(shop_dir) as pilot:
        till = pilot.app.till
        await wait_for(pilot, lambda: till.sync_status() is not None and till.sync_status().state == "offline",
                       timeout=60)
        await sync_state_said(pilot, "HQ cannot be reached now: the transfers as last pulled.",
                              "HQ cannot be reached now: it is kept here")


async def test_the_transfer_screens_speak_chinese(shop_dir):
    set_config(shop_dir, "ui", "language", '"zh_CN"')
    async with at_shop(shop_dir, "S2", [sent_to_s2("DN-5", (COLA, 2_000))]) as pilot:
        await menu(pilot, "i")
        await on_screen(pilot, TransferPickScreen)
        await pilot.press("enter")
        await on_screen(pilot, TransferInScreen)
        await scan(pilot, COLA)
        await pilot.press("f10")
        text = shown(pilot)
        for english in ("Transfer DN-5 from shop", "sent", "arrived", "variance", "differ from what was sent"):
            assert english not in text, english
        assert "门店 S1 的调拨 DN-5：扫描实际到货" in text and "差异" in text and "与发出的不符" in text


async def test_the_shop_picker_speaks_chinese(shop_dir):
    set_config(shop_dir, "ui", "language", '"zh_CN"')
    save_transfers(shop_dir, [], SENT_AT, CHAIN)
    async with at_shop(shop_dir, "S1") as pilot:
        await menu(pilot, "o")
        await on_screen(pilot, ShopPickScreen)
        await type_text(pilot, "zz")
        text = dialog_text(pilot)
        assert "从门店 S1 发货到哪家门店？" in text and "输入以查找" in text and "连锁中没有与“zz”匹配的门店。" in text


async def test_a_transfer_sent_at_one_shop_is_received_at_another_through_hq(hq, demo_shop_template, tmp_path):
    """End to end through a real PostgreSQL, each till's own sync worker (started by the till UI)
    pushing and pulling: sent at S1's till by scanning, received short at S2's, HQ's transfer
    closed with that variance."""
    import psycopg

    from conftest import open_demo_shop
    from hq_cluster import enrol, till_dir
    from tui_pos.hq.stock import transfers

    s1 = Path(shutil.copytree(demo_shop_template, tmp_path / "s1"))  # till T1
    s2 = open_demo_shop(till_dir(tmp_path / "s2", "T2"))  # a till's id is unique in the chain
    enrol(hq, s1, "S1")
    enrol(hq, s2, "S2")

    def synced(pilot) -> bool:
        state = pilot.app.till.sync_status()
        return state is not None and state.state == "synced" and state.pending == 0

    async with running(s1) as pilot:
        await wait_for(pilot, lambda: transfers_path(s1).exists(), timeout=60)  # the worker's pull: the chain's shops
        await menu(pilot, "o")
        await on_screen(pilot, ShopPickScreen)
        assert picked(pilot) == [">S2"]  # HQ's shops, S1's own left out
        await pilot.press("enter")
        await on_screen(pilot, TransferOutScreen)
        await scan(pilot, f"3*{COLA}")
        await press_twice_to_store(pilot)
        [(_k, _b, _q, transfer, *_rest)] = moves(pilot)
        await wait_for(pilot, lambda: synced(pilot), timeout=60)
    async with running(s2) as pilot:
        await wait_for(pilot, lambda: transfers_path(s2).exists(), timeout=60)  # the worker's pull
        await menu(pilot, "i")
        await on_screen(pilot, TransferPickScreen)
        await pilot.press("enter")
        await on_screen(pilot, TransferInScreen)
        await scan(pilot, COLA, COLA)
        await press_twice_to_store(pilot)
        assert "Variance recorded for 1 product(s)." in message(pilot)
        await wait_for(pilot, lambda: synced(pilot), timeout=60)
    with psycopg.connect(hq) as conn:
        [at_hq] = transfers(conn, "S1")
    assert (at_hq["transfer"], at_hq["open"]) == (transfer, False)
    assert [(line["barcode"], line["sent"], line["received"], line["variance"]) for line in at_hq["lines"]] == [
        (COLA, 3_000, 2_000, -1_000)]


async def test_hq_refusing_the_sync_is_said_apart_from_out_of_reach(shop_dir, monkeypatch):
    """The sync in conflict (HQ answers, refuses): the list is the last pulled and a transfer sent
    waits here, each said so (the sync's state as the worker would report it)."""
    from tui_pos.app.till import Till
    from tui_pos.domain.sync import SyncState

    monkeypatch.setattr(Till, "sync_status", lambda _till: SyncState("conflict", 1, SENT_AT, "HQ refused the push"))
    async with at_shop(shop_dir, "S2", [sent_to_s2("DN-3", (COLA, 1_000))]) as pilot:
        await sync_state_said(pilot, "HQ refuses this till's sync for now", "HQ refuses this till's records for now")
