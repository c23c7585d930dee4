"""The Till API the checkout UI relies on (no Textual): login and manager approval enforced in the
core, discount limits, price override, hold/recall, tenders saved with the sale in progress,
what is due (exact and cash-rounded), and paying with the cart's own tenders.

Every expected amount below is worked out by hand from the demo catalog (tui_pos/demo_catalog.csv):
COLA 3.50, WATER 2.00, NOODLES 4.50, WEIGHED is open price.
"""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from pathlib import Path

import pytest

from conftest import COLA, NOODLES, WATER, WEIGHED, set_config, till_at
from tui_pos.app.till import Till
from tui_pos.domain.auth import Approval, ApprovalRequired, LoginFailed, hash_pin
from tui_pos.domain.errors import CartError, TenderError
from tui_pos.domain.pricing import Discount
from tui_pos.domain.tender import Tender
from tui_pos.store import db


@contextmanager
def reopened(shop_dir: Path):
    """A new Till on the same data directory, as after a restart (or a crash: the old one is left as is)."""
    till = till_at(shop_dir)
    try:
        yield till
    finally:
        till.close()


@pytest.fixture
def cashier(shop_dir: Path):
    """A till with the demo cashier logged in."""
    till = till_at(shop_dir, "demo", "1234")
    yield till
    till.close()


def lines_of(till: Till) -> list[tuple[str, int]]:
    return [(line.barcode, line.qty) for line in till.cart.active_lines]


def total_of(till: Till) -> int:
    return till.cart.totals(till.config.prices_include_tax).total


# -- people ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("name, pin, role", [("demo", "1234", "cashier"), ("manager", "9999", "manager")])
def test_demo_users_log_in_and_become_the_cashier(shop_dir, name, pin, role):
    """The README's demo people work, with their roles; the logged-in user is who sells."""
    with reopened(shop_dir) as till:
        user = till.login(name, pin)
        assert (user.name, user.role) == (name, role)
        assert till.user == user and till.cashier == name


def test_every_login_failure_says_the_same_thing(shop_dir):
    """Wrong PIN, unknown user and disabled user are indistinguishable (no user enumeration),
    and a refused login leaves whoever was logged in logged in."""
    conn = sqlite3.connect(shop_dir / "pos.sqlite3")
    db.upsert_users(conn, [{"name": "carol", "role": "cashier", "pin_hash": hash_pin("4321")}])
    conn.execute("UPDATE user SET active = 0 WHERE name = 'carol'")
    conn.commit()
    conn.close()
    with reopened(shop_dir) as till:
        till.login("demo", "1234")
        messages = set()
        for name, pin in [("demo", "0000"), ("nobody", "1234"), ("carol", "4321")]:
            with pytest.raises(LoginFailed) as refused:
                till.login(name, pin)
            messages.add(str(refused.value))
        assert messages == {"unknown user or wrong PIN (4 more tries before a lockout)"}
        assert till.user.name == "demo" and till.cashier == "demo"


def test_login_works_when_the_database_is_unreadable(shop_dir):
    """Users come from the shop snapshot beside the journal when pos.sqlite3 is garbage."""
    for suffix in ("", "-wal", "-shm"):
        (shop_dir / f"pos.sqlite3{suffix}").unlink(missing_ok=True)
    (shop_dir / "pos.sqlite3").write_bytes(b"this is not a database\n" * 200)
    with reopened(shop_dir) as till:
        assert till.ledger.users() is None  # really unreadable: the snapshot is what answers
        assert till.login("demo", "1234").role == "cashier"
        with pytest.raises(LoginFailed):
            till.login("demo", "9999")
        assert till.approve("manager", "9999", "discount") == Approval("manager", "discount")


def test_approve_needs_a_manager_pin(cashier):
    """A cashier's own PIN (or a wrong manager PIN) approves nothing."""
    with pytest.raises(LoginFailed):
        cashier.approve("demo", "1234", "discount")
    with pytest.raises(LoginFailed):
        cashier.approve("manager", "1234", "discount")
    assert cashier.approve("manager", "9999", "price_override") == Approval("manager", "price_override")


# -- discounts and price override -----------------------------------------------------------------
BIG = Discount("percent", 5000)  # 50%: over any limit used here


@pytest.mark.parametrize("limit, allowed, refused", [
    (None, Discount("percent", 1000), Discount("percent", 1001)),  # default 10%: 10% ok, 10.01% not
    (None, Discount("amount", 40), Discount("amount", 41)),  # 10% of 4.00 is 0.40
    ('"25"', Discount("percent", 2500), Discount("percent", 2550)),  # configured limit
])
def test_discount_limit_is_enforced_for_a_cashier(shop_dir, limit, allowed, refused):
    """Up to the configured limit a cashier discounts alone; just over it the core refuses."""
    if limit:
        set_config(shop_dir, "till", "discount_limit", limit)
    with reopened(shop_dir) as till:
        till.login("demo", "1234")
        line_id = till.scan(WATER, 2).lines[-1].line_id  # 2 x 2.00 = 4.00
        with pytest.raises(ApprovalRequired) as needed:
            till.discount_line(line_id, refused)
        assert needed.value.action == "discount"
        assert till.cart.line(line_id).discount is None
        till.discount_line(line_id, allowed)
        assert till.cart.line(line_id).discount == allowed


def test_big_discount_passes_only_with_a_discount_approval(cashier):
    """An approval counts for its own action only; a real manager approval applies the discount."""
    line_id = cashier.scan(WATER, 2).lines[-1].line_id
    with pytest.raises(ApprovalRequired):
        cashier.discount_line(line_id, BIG, Approval("manager", "price_override"))
    with pytest.raises(ApprovalRequired):
        cashier.discount_order(BIG, Approval("manager", "quit"))
    assert total_of(cashier) == 400
    cashier.discount_line(line_id, BIG, cashier.approve("manager", "9999", "discount"))
    assert total_of(cashier) == 200


def test_a_logged_in_manager_needs_no_approval(shop_dir):
    with reopened(shop_dir) as till:
        till.login("manager", "9999")
        line_id = till.scan(COLA, 2).lines[-1].line_id  # 7.00
        till.discount_line(line_id, BIG)  # 3.50
        till.scan(WATER)  # + 2.00 = 5.50
        till.discount_order(Discount("percent", 2000))  # -1.10 = 4.40
        till.set_price(line_id, 300)  # 2 x 3.00 = 6.00, 50% = 3.00; + 2.00 = 5.00, -20% = 4.00
        assert total_of(till) == 400


def test_order_discount_over_the_limit_needs_a_manager(cashier):
    cashier.scan(COLA)
    cashier.scan(WATER)  # 5.50
    with pytest.raises(ApprovalRequired):
        cashier.discount_order(Discount("amount", 56))  # just over 10% of 5.50
    cashier.discount_order(Discount("amount", 55))
    assert total_of(cashier) == 495
    cashier.discount_order(Discount("percent", 3000), cashier.approve("manager", "9999", "discount"))
    assert total_of(cashier) == 385


def test_price_override_always_needs_a_manager(cashier):
    """Even a small price change is a manager's decision ('price_override'), never a discount's."""
    line_id = cashier.scan(COLA).lines[-1].line_id
    for approval in (None, Approval("manager", "discount")):
        with pytest.raises(ApprovalRequired) as needed:
            cashier.set_price(line_id, 340, approval)
        assert needed.value.action == "price_override"
    assert cashier.cart.line(line_id).unit_price == 350
    approval = cashier.approve("manager", "9999", "price_override")
    with pytest.raises(CartError):
        cashier.set_price(line_id, -1, approval)
    cashier.set_price(line_id, 340, approval)
    line = cashier.cart.line(line_id)
    assert (line.unit_price, line.price_keyed) == (340, True)


def price_overrides(shop_dir: Path) -> list[tuple]:
    with sqlite3.connect(shop_dir / "pos.sqlite3") as conn:
        return conn.execute("SELECT actor, approved_by, subject, amount, detail FROM audit "
                            "WHERE action = 'price_override' ORDER BY seq").fetchall()


def test_a_price_keyed_in_at_scan_is_an_override_unless_the_item_is_open_price(cashier, shop_dir):
    """Issue 11: scan(code, qty, unit_price) let anyone sell a 3.50 item for 1.00 (or 99 for 0)
    with no manager and no audit entry. A keyed price on a fixed-price item is a price override:
    a manager's approval, audited with the catalog price; an open-price item takes any price."""
    for price in (100, 0):
        with pytest.raises(ApprovalRequired) as needed:
            cashier.scan(COLA, 99, price)
        assert needed.value.action == "price_override"
    with pytest.raises(ApprovalRequired):
        cashier.scan(COLA, 1, 100, Approval("manager", "price_override"))  # not one the till issued
    assert cashier.cart.is_empty and price_overrides(shop_dir) == []
    cashier.scan(WEIGHED, 1, 880)  # open price: keyed in by the cashier
    cashier.scan(COLA, 1, 350)  # the catalog price itself is no override
    cashier.scan(COLA, 2, 100, cashier.approve("manager", "9999", "price_override", "DAMAGED"))
    assert [(l.barcode, l.qty, l.unit_price) for l in cashier.cart.active_lines] == \
        [(WEIGHED, 1, 880), (COLA, 1, 350), (COLA, 2, 100)]
    [(actor, approved_by, subject, amount, detail)] = price_overrides(shop_dir)
    assert (actor, approved_by, subject, amount) == ("demo", "manager", COLA, 100)
    assert '"was":350' in detail and '"reason":"DAMAGED"' in detail and cashier.cart.uuid in detail



def test_a_price_out_of_range_is_refused_before_a_manager_is_asked(cashier):
    """An approval is single-use: a keyed price the cart would refuse anyway (too large) must be
    refused before the manager's approval is spent on it."""
    approval = cashier.approve("manager", "9999", "price_override")
    with pytest.raises(CartError, match="too large"):
        cashier.scan(COLA, 1, 10**15, approval)
    cashier.scan(COLA, 1, 100, approval)  # the same approval still works
    assert [l.unit_price for l in cashier.cart.active_lines] == [100]

# -- hold and recall --------------------------------------------------------------------------------
def test_hold_and_recall_survive_a_restart(cashier, shop_dir):
    """A held sale is kept on disk; after a restart the sale in progress (not the held one) is
    restored; recall refuses while the current sale has lines, then brings the held one back."""
    with pytest.raises(CartError):
        cashier.hold()  # nothing to hold
    cashier.scan(COLA, 2)
    held_uuid = cashier.cart.uuid
    cashier.hold()
    assert cashier.cart.is_empty and cashier.cart.uuid != held_uuid
    cashier.scan(NOODLES)
    current_uuid = cashier.cart.uuid

    with reopened(shop_dir) as after:  # crash: the first till was never closed
        assert after.restored and after.cart.uuid == current_uuid
        assert lines_of(after) == [(NOODLES, 1)]
        held = after.held_sales()
        assert [(h.cart.uuid, h.cashier) for h in held] == [(held_uuid, "demo")]
        assert [(line.barcode, line.qty) for line in held[0].cart.lines] == [(COLA, 2)]
        with pytest.raises(CartError):
            after.recall(held_uuid)
        assert after.cart.uuid == current_uuid
        after.cancel()
        after.recall(held_uuid)
        assert (after.cart.uuid, lines_of(after), after.held_sales()) == (held_uuid, [(COLA, 2)], [])
        with pytest.raises(CartError):
            after.recall(held_uuid)  # gone from the held list

    with reopened(shop_dir) as again:
        assert again.held_sales() == []
        assert again.restored and again.cart.uuid == held_uuid and lines_of(again) == [(COLA, 2)]


# -- tenders and what is due ---------------------------------------------------------------------------
def test_tenders_are_saved_with_the_cart_and_survive_a_crash(cashier, shop_dir):
    """A mobile payment already charged must not be forgotten: its reference comes back after a crash."""
    cashier.scan(COLA, 2)
    cashier.scan(NOODLES)  # 11.50
    cashier.add_tender(Tender("mobile", 500, "WX4200001234"))
    cashier.add_tender(Tender("cash", 200))
    with reopened(shop_dir) as after:
        assert after.restored
        assert after.cart.tenders == (Tender("mobile", 500, "WX4200001234"), Tender("cash", 200))
        assert after.due().left == 450
        after.remove_tender(1)
    with reopened(shop_dir) as again:
        assert again.cart.tenders == (Tender("mobile", 500, "WX4200001234"),)


def test_card_and_mobile_may_not_exceed_the_total(cashier):
    """No change is given on card or mobile: the core refuses the tender that would go over."""
    with pytest.raises(CartError):
        cashier.add_tender(Tender("cash", 100))  # empty sale
    cashier.scan(COLA, 2)
    cashier.scan(NOODLES)  # 11.50
    cashier.add_tender(Tender("card", 1000, "C-1"))
    with pytest.raises(TenderError):
        cashier.add_tender(Tender("mobile", 151, "WX1"))
    assert cashier.cart.tenders == (Tender("card", 1000, "C-1"),)
    cashier.add_tender(Tender("mobile", 150, "WX1"))  # exactly the total is fine
    cashier.add_tender(Tender("cash", 5000))  # cash over the total is fine: change
    assert len(cashier.cart.tenders) == 3


@pytest.mark.parametrize("rounding, price, tenders, left, cash_left", [
    (None, 1234, [], 1234, 1234),
    ('"0.10"', 1234, [], 1234, 1230),  # 12.34 -> 12.30 in cash
    ('"0.10"', 1235, [], 1235, 1240),  # half up: 12.35 -> 12.40
    ('"0.10"', 1234, [Tender("card", 400, "C-9")], 834, 830),  # only the cash part is rounded
    ('"0.10"', 1234, [Tender("cash", 1000)], 234, 230),  # 12.30 due in cash, 10.00 given
    ('"0.10"', 1234, [Tender("cash", 1230)], 4, 0),  # covered in cash, 0.04 short exactly
])
def test_due_exact_and_in_cash(shop_dir, rounding, price, tenders, left, cash_left):
    """What the tender screen shows: left to pay exactly, and in cash with [shop] cash_rounding."""
    if rounding:
        set_config(shop_dir, "shop", "cash_rounding", rounding)
    with reopened(shop_dir) as till:
        till.scan(WEIGHED, 1, price)
        for tender in tenders:
            till.add_tender(tender)
        due = till.due()
        assert (due.total, due.paid, due.left, due.cash_left) == (price, sum(t.amount for t in tenders), left, cash_left)


def test_pay_without_arguments_uses_the_carts_tenders(cashier, shop_dir):
    """The UI takes tenders one by one with add_tender, then calls pay(): the sale carries them."""
    cashier.scan(COLA, 2)
    cashier.scan(NOODLES)  # 11.50
    uuid = cashier.cart.uuid
    cashier.add_tender(Tender("card", 500, "C-77"))
    cashier.add_tender(Tender("cash", 1000))
    paid = cashier.pay()
    sale = paid.sale
    assert (sale.uuid, sale.receipt, sale.total, sale.change, sale.cashier) == (uuid, "T1-000001", 1150, 350, "demo")
    assert tuple(sale.tenders) == (Tender("card", 500, "C-77"), Tender("cash", 1000))
    assert paid.stored == "sqlite"
    assert cashier.cart.is_empty and cashier.cart.tenders == () and cashier.cart.uuid != uuid
    assert [(r["uuid"], r["receipt"]) for r in cashier.ledger.sales(None)] == [(uuid, "T1-000001")]
    with reopened(shop_dir) as after:
        assert not after.restored and after.cart.is_empty


def test_pay_refuses_short_tenders_and_keeps_them(cashier):
    cashier.scan(COLA, 2)  # 7.00
    cashier.add_tender(Tender("cash", 500))
    with pytest.raises(TenderError):
        cashier.pay()
    assert cashier.cart.tenders == (Tender("cash", 500),) and lines_of(cashier) == [(COLA, 2)]
    assert cashier.ledger.sales(None) == []


def test_an_approval_not_issued_by_the_till_is_refused(till):
    """Approval is enforced in the core: a caller cannot forge one, even with a manager's name."""
    from tui_pos.domain.auth import Approval, ApprovalRequired
    from tui_pos.domain.pricing import Discount

    till.scan("6900000000014")
    line_id = till.cart.lines[0].line_id
    with pytest.raises(ApprovalRequired):
        till.discount_line(line_id, Discount("percent", 5000), Approval("manager", "discount"))
    real = till.approve("manager", "9999", "discount")
    till.discount_line(line_id, Discount("percent", 5000), real)
    assert till.cart.lines[0].discount == Discount("percent", 5000)
