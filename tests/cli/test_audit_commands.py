"""`tui-pos audit verify` and `audit show` through the real CLI, against a database edited behind
the till's back with sqlite3 (an audit entry changed or deleted, a sale changed)."""

from __future__ import annotations

import json
import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from conftest import AS_DEMO, COLA, WATER, cli_error, cli_json, open_demo_shop, run_cli


@pytest.fixture(scope="module")
def recorded_shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A shop with a shift, two sales (T1-000001, T1-000002) and a refund (T1-000003), made once."""
    shop = open_demo_shop(tmp_path_factory.mktemp("audit") / "shop")
    cli_json(shop, "sell", *AS_DEMO, "--item", COLA, "--tender", "cash")
    cli_json(shop, "sell", *AS_DEMO, "--item", WATER, "--tender", "card:2.00:C1")
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
                            "+ (SELECT COUNT(*) FROM cash_movement) + (SELECT COUNT(*) FROM z_report) "
                            "+ (SELECT COUNT(*) FROM stock_move)")
    (openings,), = sql(shop, "SELECT COUNT(*) FROM stock_move WHERE reason = 'opening'")
    assert records == 4 + openings and openings > 0  # the shift, two sales, the refund; the demo's opening stock
    assert result == {"ok": True, "entries": entries, "records_checked": records, "first_broken": None,
                      "problems": [], "journal_waiting": 0, "warnings": []}
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
        ("sale", "demo", None, "T1-000002", "2.00"), ("refund", "manager", "manager", "T1-000003", "-2.00")]


def test_an_unreadable_database_is_one_line(shop: Path):
    (shop / "pos.sqlite3").write_bytes(b"not a database " * 100)
    assert cli_error(shop, "audit", "verify").startswith("the database cannot be read")


# -- what a chain inside the database cannot see on its own (issue 11.6) ----------------------------------
def delete_sales_with_their_entries(shop: Path, *receipts: str) -> None:
    """A forger who knows the schema: every row of these sales and their audit entries, gone."""
    for receipt in receipts:
        (uuid,), = sql(shop, "SELECT uuid FROM sale WHERE receipt = ?", receipt)
        for table in ("sale_line", "tender", "stock_movement", "print_job"):
            sql(shop, f"DELETE FROM {table} WHERE sale_uuid = ?", uuid)
        sql(shop, "DELETE FROM sale WHERE uuid = ?", uuid)
        sql(shop, "DELETE FROM audit WHERE uuid = ?", uuid)


def problems_of(shop: Path) -> list[str]:
    return [p["what"] for p in broken(shop)["problems"]]


def test_cutting_off_the_newest_sales_with_their_entries_is_found_and_their_numbers_never_reused(shop: Path):
    """The refund T1-000003 and the sale T1-000002 are the newest records: deleted with their audit
    entries, the chain inside the database is still whole. The anchor outside it says otherwise, and
    the next sale takes T1-000004, not a number that was printed already."""
    sql(shop, "DELETE FROM audit WHERE seq > (SELECT seq FROM audit WHERE subject = 'T1-000002') - 1")
    delete_sales_with_their_entries(shop, "T1-000003", "T1-000002")
    assert any("entries were deleted" in p for p in problems_of(shop))
    assert any("receipts T1 2-3 were used but are missing" in p for p in problems_of(shop))
    assert cli_json(shop, "sell", *AS_DEMO, "--item", COLA, "--tender", "cash")["receipt"] == "T1-000004"
    assert any("entries were deleted" in p for p in problems_of(shop)), "the break must stay visible"
    assert [a["level"] for a in cli_json(shop, "alerts") if a["key"] == "audit_anchor"] == ["error"]


def test_deleting_everything_is_found_and_numbering_goes_on(shop: Path):
    for table in ("sale_line", "tender", "stock_movement", "print_job", "sale", "cash_movement", "z_report",
                  "shift", "audit"):
        sql(shop, f"DELETE FROM {table}")
    assert any("entries were deleted" in p for p in problems_of(shop))


def test_a_new_empty_database_in_place_of_the_old_one_is_found(shop: Path, tmp_path: Path):
    """The database swapped for a fresh one (init --demo refuses to make it in place: the shop's
    people are kept beside the journal, so it is brought from another, new demo shop)."""
    fresh = tmp_path / "fresh"
    run_cli(fresh, "init", "--demo")
    for name in ("pos.sqlite3", "pos.sqlite3-wal", "pos.sqlite3-shm"):
        (shop / name).unlink(missing_ok=True)
    shutil.copy2(fresh / "pos.sqlite3", shop / "pos.sqlite3")
    run_cli(shop, "shift", "open", "--float", "100", "--cashier", "demo", "--pin", "1234")
    assert cli_json(shop, "sell", *AS_DEMO, "--item", COLA, "--tender", "cash")["receipt"] == "T1-000004"
    assert any("entries were deleted" in p for p in problems_of(shop))


@pytest.mark.parametrize("statement", [
    "UPDATE user SET role = 'manager' WHERE name = 'demo'",
    "UPDATE user SET pin_hash = (SELECT pin_hash FROM user WHERE name = 'demo') WHERE name = 'manager'",
    "UPDATE product SET price = price - 100 WHERE barcode = '6900000000014'",
    "UPDATE product SET stock = COALESCE(stock, 0) + 50 WHERE barcode = '6900000000014'",
    "INSERT INTO user (name, role, pin_hash, active) VALUES ('mallory', 'manager', 'x', 1)",
])
def test_users_prices_and_stock_edited_behind_the_tills_back_are_found(shop: Path, statement: str):
    sql(shop, statement)
    assert any("changed outside tui-pos" in p for p in problems_of(shop))


def test_a_sale_sold_after_a_catalog_import_keeps_the_catalog_covered(shop: Path, tmp_path: Path):
    """An import with stock (its opening stock: a record, the product row keeps none) and a sale
    after it: neither is tampering."""
    csv = tmp_path / "stock.csv"
    csv.write_text(f"barcode,name,price,tax,stock\n{COLA},Cola,3.50,A,10\n", encoding="utf-8")
    run_cli(shop, "catalog", "import", str(csv), "--manager", "manager", "--pin", "9999")
    cli_json(shop, "sell", *AS_DEMO, "--item", f"{COLA}x3", "--tender", "cash")
    result = cli_json(shop, "audit", "verify")
    assert result["ok"], result["problems"]
    assert sql(shop, "SELECT stock FROM product WHERE barcode = ?", COLA) == [(None,)]


def test_a_chain_rewritten_after_an_edit_is_found(shop: Path):
    """The forger edits T1-000001's total, recomputes its digest, and re-chains every entry from
    there with the published algorithm: the chain inside the database is consistent again."""
    from tui_pos.store import audit, db, verification

    sql(shop, "UPDATE sale SET total = 100 WHERE receipt = 'T1-000001'")
    start = entry_of(shop, "T1-000001")
    with closing(sqlite3.connect(shop / "pos.sqlite3")) as conn, conn:
        (uuid,), = conn.execute("SELECT uuid FROM sale WHERE receipt = 'T1-000001'").fetchall()
        detail = json.loads(conn.execute("SELECT detail FROM audit WHERE seq = ?", (start,)).fetchone()[0])
        detail["digest"] = audit.digest(db.stored_sale_rows(conn, uuid))
        conn.execute("UPDATE audit SET detail = ? WHERE seq = ?", (audit._canonical(detail), start))
        prev = conn.execute("SELECT hash FROM audit WHERE seq = ?", (start - 1,)).fetchone()[0]
        for row in conn.execute(f"SELECT {', '.join(audit.COLUMNS)} FROM audit WHERE seq >= ? ORDER BY seq",
                                (start,)).fetchall():
            new = audit.entry_hash(prev, list(row))
            conn.execute("UPDATE audit SET prev_hash = ?, hash = ? WHERE seq = ?", (prev, new, row[0]))
            prev = new
    assert verification.verify(sqlite3.connect(shop / "pos.sqlite3")).ok, "the forger's chain is consistent inside"
    assert any("the chain was rewritten" in p for p in problems_of(shop))


def test_a_forged_journal_line_is_said_in_the_shops_language_before_and_after_replay(shop: Path):
    """A sale waits in the journal of a Chinese shop and is edited there: audit verify says why the line
    is not to be trusted in Chinese while it waits and after replay set it aside (the reason kept with the
    quarantined line), and --json keeps the English sentence."""
    from conftest import database_write_locked, in_chinese

    with database_write_locked(shop):
        assert cli_json(shop, "sell", *AS_DEMO, "--item", COLA, "--tender", "cash")["stored"] == "journal"
    [path] = sorted((shop / "journal").glob("*.jsonl"))
    path.write_bytes(path.read_bytes().replace(b'"cash"', b'"card"', 1))
    in_chinese(shop)
    for when in ("waiting", "quarantined"):
        said = run_cli(shop, "audit", "verify", check=False)
        [line] = [line for line in said.stdout.splitlines() if path.name in line]
        assert said.returncode == 1 and line.endswith("伪造或损坏：与日志密钥不符"), (when, said.stdout)
        assert "被隔离" in line if when == "quarantined" else "被隔离" not in line, line
        assert any(p["what"].endswith(f"{path.name} line 1: forged or damaged: it does not match the journal key")
                   if when == "waiting" else p["what"].endswith("quarantined at replay: forged or damaged: it does not "
                                                                "match the journal key")
                   for p in json.loads(run_cli(shop, "audit", "verify", "--json", check=False).stdout)["problems"])
        if when == "waiting":
            assert cli_json(shop, "replay")["quarantined"] == 1


def test_journal_lines_a_missing_key_cannot_check_fail_the_audit_and_are_kept(shop: Path):
    """journal.key gone while a sale waits: audit verify fails saying so (in the shop's language); the
    line is neither replayed nor set aside, and with the key back the audit passes."""
    from conftest import database_write_locked, in_chinese

    with database_write_locked(shop):
        assert cli_json(shop, "sell", *AS_DEMO, "--item", COLA, "--tender", "cash")["stored"] == "journal"
    key = (shop / "journal.key").read_bytes()
    (shop / "journal.key").unlink()
    checked = json.loads(run_cli(shop, "audit", "verify", "--json", check=False).stdout)
    assert not checked["ok"] and "journal key missing: 1 record(s) cannot be checked; restore journal.key from a " \
        "backup" in [p["what"] for p in checked["problems"]], checked
    in_chinese(shop)
    said = run_cli(shop, "audit", "verify", check=False)
    assert said.returncode == 1 and "日志密钥缺失：1 条记录无法校验" in said.stdout, said.stdout
    assert not (shop / "journal" / "quarantine").exists()
    (shop / "journal.key").write_bytes(key)
    assert cli_json(shop, "replay")["replayed"] == 1
    assert run_cli(shop, "audit", "verify", check=False).returncode == 0


def test_audit_show_says_actions_actors_and_written_subjects_in_the_shops_language(shop: Path):
    """A journaled sale replayed beside a damaged line: audit show names each action, the log's own actors
    and the subjects written as English words ("1 journaled records") in Chinese in a Chinese shop, and as
    stored in an English one (as --json always has them)."""
    from conftest import database_write_locked, in_chinese
    from tui_pos.cli.audit import ACTION_NAMES, ACTORS
    from tui_pos.domain.auth import RESERVED_NAMES

    assert set(ACTORS) == set(RESERVED_NAMES)
    with database_write_locked(shop):
        cli_json(shop, "sell", *AS_DEMO, "--item", COLA, "--tender", "cash")
    [path] = sorted((shop / "journal").glob("*.jsonl"))
    path.write_bytes(path.read_bytes() + b"garbage\n")
    assert cli_json(shop, "replay")["quarantined"] == 1
    entries = cli_json(shop, "audit", "show", "--last", "100")
    written = {e["action"]: e["subject"] for e in entries
               if e["action"] in ("replay", "journal_rejected", "config_change", "catalog_import", "shift_open")}
    assert set(written) == {"replay", "journal_rejected", "config_change", "catalog_import", "shift_open"}, written
    assert (written["replay"], written["journal_rejected"]) == ("1 journaled records", "1 journal line(s) quarantined")
    english = run_cli(shop, "audit", "show", "--last", "100").stdout.splitlines()
    chinese = run_cli(in_chinese(shop), "audit", "show", "--last", "100").stdout.splitlines()
    assert len(english) == len(chinese) == len(entries)
    for entry, english_line, chinese_line in zip(entries, english, chinese, strict=True):
        assert f" {entry['action']} " in english_line and (entry["subject"] or "") in english_line, english_line
        assert (f" {entry['action']} " not in chinese_line) == (entry["action"] in ACTION_NAMES), chinese_line
        if entry["actor"] is not None:
            assert (f" {entry['actor']} " not in chinese_line) == (entry["actor"] in ACTORS), chinese_line
        if entry["action"] in written:
            assert entry["subject"] not in chinese_line, chinese_line
    assert any("1 条日志记录" in line for line in chinese) and any("1 行日志被隔离" in line for line in chinese)
