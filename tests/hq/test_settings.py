"""The chain's tax rates and settings at HQ on a real PostgreSQL: the till's rules, each change
versioned (an unchanged value keeps its version), pulled by every till with what changed."""

from __future__ import annotations

from pathlib import Path

import pytest

from hq_cluster import enrol, till_dir
from tui_pos.domain.errors import BadInput
from tui_pos.hq.catalog import catalog_version
from tui_pos.hq.connection import connect
from tui_pos.hq.settings import list_settings, set_setting, set_tax_rate


@pytest.fixture
def admin(hq: str):
    with connect(hq) as conn:
        yield conn


def test_tax_rates_and_settings_are_checked_versioned_and_listed(admin):
    start = catalog_version(admin)
    assert set_tax_rate(admin, "A", "7")["rate"] == "7%"
    assert set_tax_rate(admin, "C", "5.5")["rate"] == "5.5%"
    version = catalog_version(admin)
    assert version > start and set_tax_rate(admin, "A", "7.00")["version"] == version  # the same rate: no change
    assert set_setting(admin, "discount_limit", ["15"])["value"] == "15"
    assert set_setting(admin, "paid_out_limit", ["250.50"])["value"] == "250.50"
    set_setting(admin, "reasons.refund", ["Broken", " Other "])
    set_setting(admin, "reasons.void", ["Mistake"])
    for key, values, says in [("discount_limit", ["150"], "not a percentage"), ("paid_out_limit", ["1.234"], "decimals"),
                              ("discount_limit", ["1", "2"], "takes one value"), ("reasons.lunch", ["x"], "not a kind"),
                              ("reasons.refund", [], "at least one"), ("colour", ["red"], "not a setting HQ keeps")]:
        with pytest.raises(BadInput, match=says):
            set_setting(admin, key, values)
    for code, percent in (("A B", "1"), ("D", "101")):
        with pytest.raises(BadInput):
            set_tax_rate(admin, code, percent)
    listed = list_settings(admin)
    assert listed["tax_rates"] == {"A": "7%", "B": "9%", "C": "5.5%"}
    assert listed["settings"]["reasons"] == {"refund": ["Broken", "Other"], "void": ["Mistake"]}
    assert listed["settings"]["discount_limit"] == "15" and listed["version"] == catalog_version(admin)


def test_a_till_pulls_the_rates_and_settings_changed_since_its_version(hq, admin, tmp_path: Path):
    with connect(enrol(hq, till_dir(tmp_path / "t1"), "S1")) as till:
        mark = till.execute("SELECT hq.catalog_changes(0)").fetchone()[0]["version"]
        set_tax_rate(admin, "B", "10")
        set_setting(admin, "z_difference_limit", ["20"])
        pulled = till.execute("SELECT hq.catalog_changes(%s)", (mark,)).fetchone()[0]
        assert pulled["tax_rates"] == [{"code": "B", "rate_bp": 1000}]
        assert pulled["settings"] == {"z_difference_limit": "20"}
