"""The chain's users at HQ on a real PostgreSQL: the till's name and PIN rules, one person whatever the
case, the last active manager kept, each change versioned and pulled with its PIN hash."""

from __future__ import annotations

from pathlib import Path

import pytest

from hq_cluster import enrol, till_dir
from tui_pos.domain.auth import NameTaken, NoSuchUser, verify_pin
from tui_pos.domain.errors import BadInput
from tui_pos.hq.connection import connect
from tui_pos.hq.people import add_user, list_users, set_active, set_pin


@pytest.fixture
def admin(hq: str):
    with connect(hq) as conn:
        yield conn


def test_users_are_added_changed_and_listed_by_the_tills_rules(admin):
    added = add_user(admin, "Ann", "manager", "1234")
    assert {k: added[k] for k in ("name", "role", "active")} == {"name": "Ann", "role": "manager", "active": True}
    add_user(admin, "bob", "cashier", "5678")
    with pytest.raises(NameTaken):
        add_user(admin, "ANN", "cashier", "1111")
    for bad in (("bob smith", "cashier", "1234"), ("hq", "cashier", "1234"), ("eve", "boss", "1234"),
                ("eve", "cashier", "12")):
        with pytest.raises(BadInput):
            add_user(admin, *bad)
    changed = set_pin(admin, "BOB", "9999")  # any case
    assert changed["name"] == "bob" and changed["version"] > added["version"]
    stored = admin.execute("SELECT pin_hash FROM hq.person WHERE name = 'bob'").fetchone()[0]
    assert verify_pin("9999", stored) and "9999" not in stored
    with pytest.raises(NoSuchUser):
        set_pin(admin, "ghost", "1234")
    assert set_active(admin, "bob", False)["active"] is False
    with pytest.raises(BadInput, match="bob is already disabled"):
        set_active(admin, "bob", False)
    with pytest.raises(BadInput, match="Ann is the chain's last active manager"):
        set_active(admin, "ann", False)
    assert [(u["name"], u["role"], u["active"]) for u in list_users(admin)] == [
        ("Ann", "manager", True), ("bob", "cashier", False)]


def test_a_till_pulls_the_users_changed_since_its_version_with_their_pin_hashes(hq, admin, tmp_path: Path):
    with connect(enrol(hq, till_dir(tmp_path / "t1"), "S1")) as till:
        mark = till.execute("SELECT hq.catalog_changes(0)").fetchone()[0]["version"]
        add_user(admin, "ann", "manager", "1234")
        add_user(admin, "bob", "cashier", "5678")
        pulled = till.execute("SELECT hq.catalog_changes(%s)", (mark,)).fetchone()[0]
        assert [(u["name"], u["role"], u["active"]) for u in pulled["users"]] == [
            ("ann", "manager", True), ("bob", "cashier", True)]
        assert verify_pin("5678", pulled["users"][1]["pin_hash"])
        set_active(admin, "bob", False)
        later = till.execute("SELECT hq.catalog_changes(%s)", (pulled["version"],)).fetchone()[0]
        assert [(u["name"], u["active"]) for u in later["users"]] == [("bob", False)]
