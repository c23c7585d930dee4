"""StoreView.payment_attempts (store/view.py over store/payments.py): which code payments, in which
state, and whether each paid one is in a stored sale; the database's rows and the journal's records
answered as one, by the till's ledger and by the read-only view alike (records committed directly,
no gateway: the store's side only)."""

from __future__ import annotations

import sqlite3

import sqlite_utils

from conftest import COLA, break_sqlite, database_write_locked, restore_sqlite
from tui_pos.bootstrap.till import open_ledger, open_till
from tui_pos.config import load_config
from tui_pos.domain.payments import out_refund_no, out_trade_no
from tui_pos.domain.records import PaymentAttempt, PaymentOutcome
from tui_pos.domain.tender import Tender
from tui_pos.ops.readonly import read_only_view
from tui_pos.store.payments import PAYMENT_ATTEMPT_COLUMNS, PAYMENT_OUTCOME_COLUMNS, attempts
from tui_pos.store.schema import MIGRATIONS, ensure_schema, pending
from tui_pos.store.verification import verify

AT = "2026-12-04T10:00:00.000+00:00"


def attempt(sale_uuid: str, number: int = 1, kind: str = "pay", **fields) -> PaymentAttempt:
    refund = {"out_refund_no": out_refund_no(sale_uuid, number), "original_sale_uuid": "s-0"} if kind == "refund" else {}
    return PaymentAttempt.new("T1", at=AT, sale_uuid=sale_uuid, kind=kind, provider="alipay", attempt_no=number,
                              out_trade_no=out_trade_no(sale_uuid, number), amount=350, cashier="demo",
                              code_mask="" if kind == "refund" else "2876**********5432", **{**refund, **fields})


def states(rows) -> dict[str, tuple]:
    return {r["uuid"]: (r["state"], r["transaction_id"], r["sale_completed"], r["stored"]) for r in rows}


def test_states_sale_completed_and_the_journal_answer_as_one(shop_dir):
    config = load_config(shop_dir)
    till = open_till(config, cashier="demo", keep_cart=False)
    ledger = till.ledger
    try:
        till.scan(COLA)
        sale_uuid = till.cart.uuid
        paid, failed, open_, unknown = (attempt(sale_uuid, 1), attempt("s-2"), attempt("s-3"), attempt("s-4"))
        for record in (paid, failed, open_, unknown):
            ledger.commit(record.to_record())
        ledger.commit(PaymentOutcome.new(failed, "failed", at=AT, reason="expired").to_record())
        ledger.commit(PaymentOutcome.new(unknown, "unknown", at=AT).to_record())
        ledger.commit(PaymentOutcome.new(paid, "paid", at=AT, transaction_id="T42", amount=350).to_record())
        rows, readable = ledger.payment_attempts()
        assert readable and states(rows) == {
            paid.uuid: ("paid", "T42", False, "sqlite"), failed.uuid: ("failed", "", False, "sqlite"),
            open_.uuid: ("open", "", False, "sqlite"), unknown.uuid: ("unknown", "", False, "sqlite")}
        assert [r["uuid"] for r in ledger.payment_attempts(unresolved=True)[0]] == [paid.uuid, open_.uuid,
                                                                                   unknown.uuid]
        assert [r["uuid"] for r in ledger.payment_attempts(sale_uuid="s-2")[0]] == [failed.uuid]
        # both: either, in one read (a new code payment's check): s-2's settled one and those that need someone
        assert [r["uuid"] for r in ledger.payment_attempts(unresolved=True, sale_uuid="s-2")[0]] == [
            paid.uuid, failed.uuid, open_.uuid, unknown.uuid]
        in_sql = ledger.view.query(lambda c: attempts(c, needs_someone=True, sale_uuid="s-2"), None)
        assert [r["uuid"] for r in in_sql] == [paid.uuid, failed.uuid, open_.uuid, unknown.uuid]

        with database_write_locked(shop_dir):  # the sale and a settled outcome go to the journal
            ledger.commit(PaymentOutcome.new(open_, "cancelled", at=AT).to_record())
            till.pay([Tender("mobile", 350, "T42")])
            journaled = attempt("s-5")
            ledger.commit(journaled.to_record())
            rows, _ = ledger.payment_attempts()
            assert states(rows)[paid.uuid] == ("paid", "T42", True, "sqlite")  # carried by a journaled sale
            assert states(rows)[open_.uuid][0] == "cancelled"
            assert states(rows)[journaled.uuid] == ("open", "", False, "journal")
            with read_only_view(config) as view:
                assert states(view.payment_attempts()[0]) == states(rows)
            assert {r["uuid"] for r in ledger.payment_attempts(unresolved=True)[0]} == {unknown.uuid, journaled.uuid}
        ledger.replay()
        after, _ = ledger.payment_attempts()
        assert {u: s[:3] for u, s in states(after).items()} == {u: s[:3] for u, s in states(rows).items()}
        assert states(after)[journaled.uuid][3] == "sqlite"
    finally:
        till.close()


def test_a_refund_is_completed_when_its_refund_sale_is_stored(shop_dir):
    ledger = open_ledger(load_config(shop_dir))
    try:
        refund = attempt("r-1", kind="refund")
        ledger.commit(refund.to_record())
        ledger.commit(PaymentOutcome.new(refund, "refunded", at=AT, transaction_id="R1", amount=350).to_record())
        [row] = ledger.payment_attempts()[0]
        assert (row["kind"], row["state"], row["sale_completed"], row["original_sale_uuid"]) == (
            "refund", "refunded", False, "s-0")
        assert [r["uuid"] for r in ledger.payment_attempts(unresolved=True)[0]] == [refund.uuid]
    finally:
        ledger.close()


def test_an_unreadable_database_answers_from_the_journal_and_says_so(shop_dir, tmp_path):
    config = load_config(shop_dir)
    ledger = open_ledger(config)
    try:
        stored = attempt("s-1")
        ledger.commit(stored.to_record())
        with database_write_locked(shop_dir):
            journaled = attempt("s-2")
            ledger.commit(journaled.to_record())
    finally:
        ledger.close()
    break_sqlite(shop_dir, tmp_path / "aside")
    try:
        with read_only_view(config) as view:
            rows, readable = view.payment_attempts()
        assert not readable and [r["uuid"] for r in rows] == [journaled.uuid]
    finally:
        restore_sqlite(shop_dir, tmp_path / "aside")


def test_the_payment_migrations_on_a_database_made_before_them(tmp_path):
    """payments adds the tables; payment_needs flags what needs someone, worked out for the attempts
    stored before it (one open, one failed)."""
    conn = sqlite3.connect(tmp_path / "old.sqlite3", isolation_level=None)
    db = sqlite_utils.Database(conn)
    names = [name for name, _ in MIGRATIONS]
    migrations = sqlite_utils.Migrations("tui_pos")
    for name, function in MIGRATIONS[:names.index("payments")]:
        migrations(name=name)(function)
    migrations.apply(db)
    conn.execute("PRAGMA user_version = 2")
    assert "payment_attempt" not in db.table_names()
    assert pending(conn)[:2] == ["payments", "payment_needs"]
    migrations = sqlite_utils.Migrations("tui_pos")
    for name, function in MIGRATIONS[:names.index("payments") + 1]:
        migrations(name=name)(function)
    migrations.apply(db)
    failed, still_open = attempt("s-1"), attempt("s-2")
    for record in (failed, still_open):
        row = record.to_record()
        db["payment_attempt"].insert({c: row[c] for c in PAYMENT_ATTEMPT_COLUMNS} | {"stored_via": "sqlite"})
    outcome = PaymentOutcome.new(failed, "failed", at=AT).to_record()
    db["payment_outcome"].insert({c: outcome[c] for c in PAYMENT_OUTCOME_COLUMNS} | {"stored_via": "sqlite"})
    ensure_schema(conn)
    assert pending(conn) == []
    assert dict(conn.execute("SELECT uuid, needs FROM payment_attempt")) == {failed.uuid: 0, still_open.uuid: 1}
    assert [r["uuid"] for r in attempts(conn, needs_someone=True)] == [still_open.uuid]
    conn.close()


def test_payment_records_are_in_the_audit_chain_and_an_edited_amount_is_found(shop_dir):
    config = load_config(shop_dir)
    ledger = open_ledger(config)
    try:
        direct = attempt("s-1")
        ledger.commit(direct.to_record())
        with database_write_locked(shop_dir):  # journaled, replayed after
            ledger.commit(PaymentOutcome.new(direct, "paid", at=AT, transaction_id="T1", amount=350).to_record())
        ledger.replay()
    finally:
        ledger.close()
    conn = sqlite3.connect(shop_dir / "pos.sqlite3", isolation_level=None)
    try:
        result = verify(conn)
        assert result.ok, result.problems
        actions = [a for (a,) in conn.execute("SELECT action FROM audit WHERE uuid IN (SELECT uuid FROM "
                                              "payment_attempt UNION SELECT uuid FROM payment_outcome) ORDER BY seq")]
        assert actions == ["payment_attempt", "payment_outcome"]
        conn.execute("UPDATE payment_outcome SET amount = 1")  # someone lowers what was charged
        assert not verify(conn).ok
    finally:
        conn.close()
