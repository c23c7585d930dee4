"""The till's pull from a real PostgreSQL HQ into a real till: HQ's products (its shop's own prices
first) and users arrive whole, in one answer however long the till was away, and nothing twice."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

from conftest import COLA, WATER
from hq_cluster import enrol
from tui_pos.app.chain_catalog import apply_chain_changes
from tui_pos.hq.catalog import catalog_version, import_catalog
from tui_pos.hq.connection import HqUnreachable, connect
from tui_pos.hq.people import add_user, set_active, set_pin
from tui_pos.sync.pull import PullRefused, fetch_changes, pull

BUN = "6900000009991"


def csv(*rows: tuple[str, str, str, str]) -> str:
    return "barcode,name,price,tax\n" + "".join(",".join(row) + "\n" for row in rows)


@pytest.fixture
def admin(hq: str):
    with connect(hq) as conn:
        yield conn


@pytest.fixture
def till_conn(hq: str, shop_dir: Path):
    """The demo till of shop_dir (and of the `till` fixture), joined to HQ's shop S1: its own connection."""
    with connect(enrol(hq, shop_dir, "S1")) as conn:
        yield conn


def test_a_pull_brings_hqs_prices_and_users_and_the_next_one_brings_only_whats_new(admin, till, till_conn):
    import_catalog(admin, csv((COLA, "Cola", "3.80", "A"), (WATER, "Water", "2.00", "A"), (BUN, "Bun", "1.00", "B")))
    import_catalog(admin, csv((BUN, "Bun", "0.90", "B")), shop="S1")  # S1's own price
    add_user(admin, "ann", "manager", "4321")
    target = functools.partial(apply_chain_changes, till)
    till.scan(COLA)  # a sale in progress at the old price
    first = pull(till_conn, target, 0)
    assert first.version == catalog_version(admin) and first.users == 1 and first.products >= 2
    assert (till.catalog.lookup(COLA).price, till.catalog.lookup(BUN).price) == (380, 90)
    assert till.cart.lines[0].unit_price == 350 and till.scan(COLA).lines[1].unit_price == 380
    assert till.check_pin("ann", "4321").is_manager
    again = pull(till_conn, target, first.version)
    assert (again.version, again.applied) == (first.version, 0)
    from_zero = pull(till_conn, target, 0)  # sync-state.json lost: everything again, nothing changes
    assert (from_zero.version, from_zero.applied) == (first.version, 0)


def test_a_week_offline_catches_up_in_one_pull(admin, till, till_conn):
    target = functools.partial(apply_chain_changes, till)
    start = pull(till_conn, target, 0).version
    for day in range(7):  # a change a day while the till is away
        import_catalog(admin, csv((COLA, "Cola", f"3.{50 + day}", "A"), (f"69000000099{day:02d}", f"New {day}", "1.00", "A")))
        add_user(admin, f"temp{day}", "cashier", "1111")
    set_pin(admin, "temp0", "2222")
    set_active(admin, "temp1", False)
    changes = fetch_changes(till_conn, start)  # one call, one answer
    assert len(changes.products) == 8 and len(changes.users) == 7
    back = pull(till_conn, target, start)
    assert back.version == catalog_version(admin) and (back.products, back.users) == (8, 7 + 1)  # temp1 added, then disabled
    assert till.catalog.lookup(COLA).price == 356 and till.check_pin("temp0", "2222").name == "temp0"
    assert "temp1" in {u["name"] for u in till.ledger.users() if not u["active"]}
    assert {u["name"] for u in till.documents.snapshot.load()["users"]} >= {f"temp{d}" for d in range(7)}


def test_hq_unreachable_or_refusing_is_one_line_and_nothing_changes(admin, till, till_conn):
    import_catalog(admin, csv((COLA, "Cola", "9.99", "A")))
    admin.execute("UPDATE hq.setting SET value = '{\"code\": \"USD\", \"exponent\": 2}' WHERE key = 'currency'")
    with pytest.raises(PullRefused, match="HQ's catalog version .* was not applied: HQ's currency is USD"):
        pull(till_conn, functools.partial(apply_chain_changes, till), 0)
    assert till.catalog.lookup(COLA).price == 350
    admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename LIKE 'tui_pos_%_till_t1'")
    with pytest.raises(HqUnreachable) as lost:
        pull(till_conn, functools.partial(apply_chain_changes, till), 0)
    assert "\n" not in str(lost.value) and "Traceback" not in str(lost.value)
    assert till.catalog.lookup(COLA).price == 350


def test_hqs_tax_rates_and_settings_arrive_with_the_products_that_need_them(admin, till, till_conn):
    from tui_pos.hq.settings import set_setting, set_tax_rate

    set_tax_rate(admin, "C", "6")
    set_setting(admin, "reasons.no_sale", ["Change", "Other"])
    import_catalog(admin, csv((BUN, "Bun", "1.00", "C")))
    pulled = pull(till_conn, functools.partial(apply_chain_changes, till), 0)
    assert pulled.products == 1
    assert till.scan(BUN).lines[0].rate_bp == 600
    assert till.config.reasons_for("no_sale") == ("Change", "Other")


def test_a_catalog_pull_asks_from_the_version_it_applied_last(admin, till, till_conn):
    from tui_pos.sync.pull import CatalogPull

    step = CatalogPull(functools.partial(apply_chain_changes, till))
    first = step(till_conn)
    assert step.since == first.version == catalog_version(admin)
    assert step(till_conn).applied == 0
    add_user(admin, "cy", "cashier", "1357")
    assert (step(till_conn).users, step.since) == (1, catalog_version(admin))


def test_a_till_user_hq_has_under_another_role_keeps_the_tills_and_the_log_says_so(admin, till, till_conn, caplog):
    add_user(admin, "demo", "manager", "2468")  # the demo shop's demo is a cashier
    with caplog.at_level("WARNING", logger="tui_pos.sync.pull"):
        pulled = pull(till_conn, functools.partial(apply_chain_changes, till), 0)
    assert pulled.role_differs == ("demo",) and not till.check_pin("demo", "2468").is_manager
    assert "HQ has demo under another role than this till's" in caplog.text
