"""The chain's catalog at HQ on a real PostgreSQL: the till's CSV and rules, the chain's products and a
shop's own, each change versioned, what a till's role may see of it (hq.catalog_changes only)."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from hq_cluster import enrol, till_dir
from tui_pos.domain.errors import BadInput, BadLines
from tui_pos.hq.catalog import catalog_version, import_catalog
from tui_pos.hq.connection import HqError, connect

CSV = "barcode,name,price,tax,department\n6900000000014,Cola,3.50,A,Drinks\n6900000000021,Water,2.00,13,Drinks\n"


def changes(conn: psycopg.Connection, since: int = 0) -> dict:
    return conn.execute("SELECT hq.catalog_changes(%s)", (since,)).fetchone()[0]


@pytest.fixture
def admin(hq: str):
    with connect(hq) as conn:
        yield conn


def test_an_import_checks_every_line_by_the_tills_rules_and_changes_nothing_when_one_is_bad(admin):
    bad = CSV + "12x,Bread,1.00,A\n6900000000038,Tea,1.234,A\n6900000000045,Milk,1.00,Z\n"
    with pytest.raises(BadLines) as refused:
        import_catalog(admin, bad)
    assert refused.value.details == ["line 4: barcode '12x' must be 1 to 20 digits",
                                   "line 5: '1.234' has more than 2 decimals",
                                   "line 6: tax 'Z' is not a configured rate (A=13%, B=9%)"]
    with pytest.raises(BadInput, match="the header lacks tax"):
        import_catalog(admin, "barcode,name,price\n1,x,1\n")
    assert admin.execute("SELECT count(*) FROM hq.product").fetchone() == (0,)


def test_each_changed_row_takes_a_new_version_and_an_unchanged_one_keeps_its_own(admin):
    start = catalog_version(admin)
    first = import_catalog(admin, CSV)
    assert {k: first[k] for k in ("shop", "products", "added", "changed", "unchanged")} == {
        "shop": None, "products": 2, "added": 2, "changed": 0, "unchanged": 0}
    assert first["version"] > start
    versions = dict(admin.execute("SELECT barcode, version FROM hq.product").fetchall())
    again = import_catalog(admin, CSV)
    assert (again["added"], again["changed"], again["unchanged"], again["version"]) == (0, 0, 2, first["version"])
    assert dict(admin.execute("SELECT barcode, version FROM hq.product").fetchall()) == versions
    dearer = import_catalog(admin, CSV.replace("3.50", "3.80"))
    assert (dearer["changed"], dearer["unchanged"]) == (1, 1) and dearer["version"] > first["version"]
    assert dict(admin.execute("SELECT barcode, version FROM hq.product").fetchall()) == {
        **versions, "6900000000014": dearer["version"]}  # versions only grow (not one apart: a sequence)
    assert admin.execute("SELECT price, tax_code, department, open_price FROM hq.product WHERE barcode = '6900000000014'"
                         ).fetchone() == (380, "A", "Drinks", False)


def test_a_shops_own_price_wins_at_its_tills_only(hq, admin, tmp_path: Path):
    import_catalog(admin, CSV)
    own = import_catalog(admin, "barcode,name,price,tax\n6900000000014,Cola,3.00,A\n6900000000090,Local bun,1.50,B\n",
                         shop="S1")
    assert (own["shop"], own["added"]) == ("S1", 2)
    with pytest.raises(HqError, match="shop S9 is not at HQ"):
        import_catalog(admin, CSV, shop="S9")
    with connect(enrol(hq, till_dir(tmp_path / "t1"), "S1")) as s1, \
            connect(enrol(hq, till_dir(tmp_path / "t2", "T2"), "S2")) as s2:
        in_s1 = {p["barcode"]: p["price"] for p in changes(s1)["products"]}
        in_s2 = {p["barcode"]: p["price"] for p in changes(s2)["products"]}
        assert in_s1 == {"6900000000014": 300, "6900000000021": 200, "6900000000090": 150}
        assert in_s2 == {"6900000000014": 350, "6900000000021": 200}
        mark = changes(s2)["version"]
        import_catalog(admin, CSV.replace("2.00", "2.20"))  # the chain's water: both shops get it
        assert [p["price"] for p in changes(s1, mark)["products"]] == [220]
        assert [p["price"] for p in changes(s2, mark)["products"]] == [220]


def test_a_till_gets_everything_since_its_version_in_one_answer_and_nothing_twice(hq, admin, tmp_path: Path):
    with connect(enrol(hq, till_dir(tmp_path / "t1"), "S1")) as till:
        everything = changes(till)
        assert everything["products"] == [] and everything["users"] == []
        assert everything["tax_rates"] == [{"code": "A", "rate_bp": 1300}, {"code": "B", "rate_bp": 900}]
        assert everything["settings"] == {"currency": {"code": "CNY", "exponent": 2}}
        import_catalog(admin, CSV)
        after = changes(till, everything["version"])
        assert [p["name"] for p in after["products"]] == ["Cola", "Water"]
        assert after["products"][0] == {"barcode": "6900000000014", "name": "Cola", "price": 350, "tax_code": "A",
                                        "department": "Drinks", "open_price": False}
        assert after["tax_rates"] == [] and after["settings"] == {}
        assert changes(till, after["version"])["products"] == []
        assert changes(till, after["version"])["version"] == after["version"]
        # a till ahead of HQ (HQ restored from an older dump) gets everything again
        assert len(changes(till, after["version"] + 1000)["products"]) == 2


def test_a_till_reads_the_catalog_only_through_hq_catalog_changes(hq, tmp_path: Path):
    with connect(enrol(hq, till_dir(tmp_path / "t1"), "S1")) as till:
        for table in ("hq.product", "hq.shop_product", "hq.person", "hq.tax_rate", "hq.setting"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                till.execute(f"SELECT * FROM {table}")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            till.execute("INSERT INTO hq.product VALUES ('1', 'x', 1, 'A', '', false, 1)")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            till.execute("SELECT hq.catalog_version()")


def test_a_role_that_is_no_till_gets_no_catalog(admin):
    with pytest.raises(psycopg.Error, match="is not an enrolled till"):
        changes(admin)
