"""`tui-pos audit verify` and `audit show` through the real CLI, against a database edited behind
the till's back with sqlite3 (an audit entry changed or deleted, a sale changed)."""

from __future__ import annotations

import json
import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from conftest import COLA, WATER, cli_error, cli_json, open_demo_shop, run_cli


@pytest.fixture(scope="module")
def recorded_shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A shop with a shift, two sales (T1-000001, T1-000002) and a refund (T1-000003), made once."""
    shop = open_demo_shop(tmp_path_factory.mktemp("audit") / "shop")
    cli_json(shop, "sell", "--item", COLA, "--tender", "cash")
    cli_json(shop, "sell", "--item", WATER, "--tender", "card:2.00:C1")
    cli_json(shop, "refund", "T1-000002", "--reason", "Damaged", "--manager", "manager", "--pin", "9999")
    return shop


@pytest.fixture
def shop(recorded_shop: Path, tmp_path: Path) -> Path:
    """A copy of the recorded shop, to tamper with."""
    return Path(shutil.copytree(recorded_shop, tmp_path / "shop"))


def sql(shop: Path, statement: str, *params: object) -> list[tuple]:
    with closing(sqlite3.connect(shop / "pos.sqlite3")) as conn, conn:
        return conn.execute(statement, params).fetchall()


def entry_of(shop: Path, subject: str) -> int:
    """The audit entry (seq) recording the record with this subject (e.g. a receipt number)."""
    return sql(shop, "SELECT seq FROM audit WHERE subject = ?", subject)[0][0]


def broken(shop: Path) -> dict:
    """verify must fail (exit 1) and say so in JSON and on screen."""
    proc = run_cli(shop, "audit", "verify", "--json", check=False)
    assert proc.returncode == 1, proc.stdout
    result = json.loads(proc.stdout)
    assert result["ok"] is False
    human = run_cli(shop, "audit", "verify", check=False)
    assert human.returncode == 1 and human.stdout.startswith("AUDIT LOG BROKEN")
    return result


def test_an_untouched_log_verifies(shop: Path):
    result = cli_json(shop, "audit", "verify")
    (entries,), = sql(shop, "SELECT COUNT(*) FROM audit")
    (records,), = sql(shop, "SELECT (SELECT COUNT(*) FROM sale) + (SELECT COUNT(*) FROM shift) "
                            "+ (SELECT COUNT(*) FROM cash_movement) + (SELECT COUNT(*) FROM z_report)")
    assert records == 4  # the shift, two sales, the refund
    assert result == {"ok": True, "entries": entries, "records_checked": records, "first_broken": None,
                      "problems": [], "journal_waiting": 0}
    assert run_cli(shop, "audit", "verify").stdout.strip() == \
        f"Audit log OK: {entries} entries, {records} records checked"


def test_an_edited_audit_entry_is_named(shop: Path):
    seq = entry_of(shop, "T1-000001")
    sql(shop, "UPDATE audit SET amount = 1 WHERE seq = ?", seq)
    assert broken(shop)["first_broken"] == {"entry": seq, "what": f"entry {seq} (sale T1-000001) was modified"}


def test_an_edited_sale_is_named(shop: Path):
    sql(shop, "UPDATE sale SET total = 100 WHERE receipt = 'T1-000001'")
    assert broken(shop)["first_broken"] == {"entry": entry_of(shop, "T1-000001"),
                                            "what": "the sale T1-000001 it records was modified or deleted"}


def test_a_deleted_audit_entry_is_named(shop: Path):
    seq = entry_of(shop, "T1-000002")
    (uuid,), = sql(shop, "SELECT uuid FROM sale WHERE receipt = 'T1-000002'")
    sql(shop, "DELETE FROM audit WHERE seq = ?", seq)
    result = broken(shop)
    assert result["first_broken"] == {"entry": seq + 1, "what": f"entry {seq} is missing (deleted)"}
    assert {"entry": None, "what": f"sale {uuid} has no audit entry (its entry was deleted)"} in result["problems"]


def test_show_lists_the_newest_entries_with_who_approved(shop: Path):
    last_two = cli_json(shop, "audit", "show", "--last", "2")
    assert [(e["action"], e["actor"], e["approved_by"], e["subject"], e["amount"]) for e in last_two] == [
        ("sale", "cli", None, "T1-000002", "2.00"), ("refund", "manager", "manager", "T1-000003", "-2.00")]


def test_an_unreadable_database_is_one_line(shop: Path):
    (shop / "pos.sqlite3").write_bytes(b"not a database " * 100)
    assert cli_error(shop, "audit", "verify").startswith("the database cannot be read")
