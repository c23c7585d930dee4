"""Transfers at the till (app/transfers.py) on a real shop on disk, the open transfers given as the
sync leaves them (hq/transfers.json's content): sent and received once, whatever the till is
closed and opened in between; a till that has not joined HQ sends none; the whole transfer's
products must be in the catalog before it is taken in."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import COLA, WATER, set_config
from tui_pos.app.transfers import SHOPS_NAMED, ChainShop, TransferRefused, Transfers
from tui_pos.bootstrap.till import open_till
from tui_pos.config import load_config
from tui_pos.domain.errors import BadInput, UnknownCode


class Pulled:
    def __init__(self, transfers: list[dict] | None, shops: list[dict] | None = None):
        self.transfers, self.shop_list = transfers, shops

    def open_transfers(self) -> list[dict] | None:
        return self.transfers

    def shops(self) -> list[dict] | None:
        return self.shop_list


def sent_to_s2(*lines: tuple[str, int], transfer: str = "DN-1") -> dict:
    return {"transfer": transfer, "from_shop": "S1", "to_shop": "S2", "sent_at": "2026-03-01T01:00:00+00:00",
            "lines": [{"barcode": b, "qty": q} for b, q in lines]}


def at_shop(shop_dir: Path, source: Pulled, shop: str = "S2"):
    set_config(shop_dir, "hq", "shop", f'"{shop}"')
    till = open_till(load_config(shop_dir), cashier="test")
    return till, Transfers(till.stock, till.ledger, source)


def on_hand(till, code: str) -> int:
    [level] = till.stock.levels(code)
    return level.on_hand


def test_received_once_even_across_restarts(shop_dir):
    source = Pulled([sent_to_s2((COLA, 5_000), (WATER, 2_000))])
    till, transfers = at_shop(shop_dir, source)
    try:
        before = on_hand(till, COLA), on_hand(till, WATER)
        got = transfers.receive()
        assert got.variances == {} and (on_hand(till, COLA), on_hand(till, WATER)) == (before[0] + 5_000,
                                                                                        before[1] + 2_000)
        assert transfers.open() == []
    finally:
        till.close()
    till, transfers = at_shop(shop_dir, source)  # the file still lists it (no sync since): refused all the same
    try:
        with pytest.raises(TransferRefused, match="received at this till already"):
            transfers.receive("DN-1")
        assert on_hand(till, COLA) == before[0] + 5_000
    finally:
        till.close()


def test_a_till_that_has_not_joined_hq_sends_nothing(shop_dir):
    till = open_till(load_config(shop_dir), cashier="test")
    try:
        with pytest.raises(TransferRefused, match="has not joined HQ"):
            Transfers(till.stock, till.ledger, Pulled(None)).send("S2", [f"{COLA}x1"])
    finally:
        till.close()


def test_a_transfer_of_a_product_the_catalog_lacks_is_not_taken_in(shop_dir):
    till, transfers = at_shop(shop_dir, Pulled([sent_to_s2((COLA, 1_000), ("6999999999999", 1_000))]))
    try:
        with pytest.raises(UnknownCode):
            transfers.receive("DN-1")
        assert [t.transfer for t in transfers.open()] == ["DN-1"]  # still open: nothing was stored
    finally:
        till.close()


def test_which_transfer_when_several_are_open(shop_dir):
    till, transfers = at_shop(shop_dir, Pulled([sent_to_s2((COLA, 1_000), transfer="DN-10"),
                                                 sent_to_s2((COLA, 1_000), transfer="DN-11")]))
    try:
        with pytest.raises(TransferRefused, match="2 transfers are open"):
            transfers.receive()
        with pytest.raises(TransferRefused, match="could be any of DN-10, DN-11"):
            transfers.receive("DN-1")
        assert transfers.receive("DN-11").transfer == "DN-11"
        with pytest.raises(TransferRefused, match="no open transfer DN-12"):
            transfers.receive("DN-12")
    finally:
        till.close()


def shops(*ids: str) -> list[dict]:
    return [{"shop": shop, "name": f"shop {shop}"} for shop in ids]


def test_a_transfer_goes_to_one_of_the_chains_shops_when_the_till_has_hqs_list(shop_dir):
    """With HQ's list: its own shop left out, an entry that is no shop skipped, a shop not on it
    refused before anything is stored (the same id in another case is suggested); without one
    (never pulled) any other shop is taken as given: it could not be checked."""
    pulled = Pulled([], [*shops("S1", "S2", "S3"), {"name": "no id"}, "S4"])
    till, transfers = at_shop(shop_dir, pulled, shop="S1")
    try:
        assert transfers.shops() == [ChainShop("S2", "shop S2"), ChainShop("S3", "shop S3")]
        assert transfers.destination(" S3 ") == "S3"
        before = on_hand(till, COLA)
        with pytest.raises(BadInput, match=r"the chain has no shop S9: HQ's shops are S2, S3 \(tui-pos sync"):
            transfers.send("S9", [f"{COLA}x1"])
        with pytest.raises(BadInput, match="the chain has no shop s2: did you mean S2[?]"):
            transfers.destination("s2")
        assert on_hand(till, COLA) == before  # nothing left the shop
        pulled.shop_list = shops("S1")
        with pytest.raises(BadInput, match="HQ lists no other shop than this one"):
            transfers.destination("S2")
        pulled.shop_list = shops(*(f"S{n:02d}" for n in range(SHOPS_NAMED + 5)))
        with pytest.raises(BadInput) as many:
            transfers.destination("X")
        named = ", ".join(f"S{n:02d}" for n in range(SHOPS_NAMED))
        assert f"HQ's shops are {named}, ... (" in str(many.value)  # the first few by id, not all of them
        pulled.shop_list = None
        assert transfers.shops() is None and transfers.destination("S9") == "S9"
    finally:
        till.close()


def test_a_shop_matches_typed_text_in_its_id_or_name_whatever_the_case():
    shop = ChainShop("SH-02", "Nanjing Road 南京路")
    assert [shop.matches(text) for text in ("sh-0", "NANJING", "南京", " road ", "", "pudong")] == [
        True, True, True, True, True, False]
