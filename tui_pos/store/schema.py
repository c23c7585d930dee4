"""The database schema: named migrations, applied in order and recorded by name.

Each migration is a function of a sqlite_utils.Database, registered under a name that never
changes once released, in sqlite-utils' migration set "tui_pos" (its table _sqlite_migrations
records which ran and when). A schema change is a new migration appended to MIGRATIONS; a
released one is never edited. All pending migrations run in ONE transaction taken with BEGIN
IMMEDIATE, so two processes starting at once cannot both run one, and a failure leaves the
database as it was.

Before named migrations the schema had numbers (PRAGMA user_version): 1, then 2. A database at
2 ran what the first two migrations do, and they are recorded as applied, not run again (the
audit backfill would chain its sales twice). user_version stays 2: it says that migrations are
recorded by name (a version after 2 would be a tui-pos newer than this one, never touched).

sqlite-utils (100 ms of imports) is imported only when a migration is pending; the usual start
reads the version and the names recorded, two small queries.
"""

from __future__ import annotations

import datetime
import sqlite3
from collections.abc import Callable
from typing import Any

from tui_pos.store import audit, codec, commit_log, payments, stock_daily, stock_level

SCHEMA_VERSION = 2  # PRAGMA user_version from the last numbered schema on; named migrations since
MIGRATION_SET = "tui_pos"
MIGRATIONS_TABLE = "_sqlite_migrations"  # sqlite_utils.Migrations.migrations_table
NUMBERED = {2: ("tables", "audit_backfill")}  # what a numbered schema had run (schema 1: none of them)


def _tables(db: Any) -> None:
    """Every table of schema 2, created if missing, and the columns schema 2 added to a schema 1 sale."""
    db["meta"].create({"key": str, "value": str}, pk="key", if_not_exists=True)
    db["product"].create(
        {"barcode": str, "name": str, "price": int, "tax_code": str, "department": str,
         "open_price": int, "stock": int, "updated_at": str},
        pk="barcode", not_null=["name", "price", "tax_code"], if_not_exists=True,
    )
    sale_types = {**{c: str for c in codec.SALE_COLUMNS},
                  **{c: int for c in ("seq", "tax_included", "gross", "discount", "tax", "total", "rounding", "paid",
                                      "change")},
                  "stored_via": str, "recorded_at": str}
    db["sale"].create(sale_types, pk="uuid", not_null=["receipt", "till_id", "seq", "total"], if_not_exists=True,
                      defaults={"recorded_at": "CURRENT_TIMESTAMP", "kind": "sale"})
    for column in ("kind", "original_uuid", "original_receipt", "shift_uuid", "reason"):  # added by schema 2
        if column not in db["sale"].columns_dict:
            db["sale"].add_column(column, str, not_null_default="sale" if column == "kind" else None)
    db["sale"].create_index(["receipt"], unique=True, if_not_exists=True)
    db["sale"].create_index(["till_id", "seq"], unique=True, if_not_exists=True)
    db["sale"].create_index(["completed_at"], if_not_exists=True)
    db["sale"].create_index(["shift_uuid"], if_not_exists=True)
    # only refunds and voids have an original: a partial index costs ordinary sales nothing
    db.execute("CREATE INDEX IF NOT EXISTS idx_sale_original_uuid ON sale (original_uuid) "
               "WHERE original_uuid IS NOT NULL")
    db["sale_line"].create(
        {"sale_uuid": str, **{c: str for c in ("barcode", "name", "tax_code")},
         **{c: int for c in codec.LINE_COLUMNS if c not in ("barcode", "name", "tax_code")}},
        pk=("sale_uuid", "line_no"), foreign_keys=[("sale_uuid", "sale", "uuid")], if_not_exists=True,
    )
    db["tender"].create(
        {"sale_uuid": str, "tender_no": int, "kind": str, "amount": int, "reference": str},
        pk=("sale_uuid", "tender_no"), foreign_keys=[("sale_uuid", "sale", "uuid")], if_not_exists=True,
    )
    db["stock_movement"].create(
        {"id": int, "sale_uuid": str, "barcode": str, "qty_delta": int, "at": str},
        pk="id", foreign_keys=[("sale_uuid", "sale", "uuid")], if_not_exists=True,
    )
    db["stock_movement"].create_index(["sale_uuid"], if_not_exists=True)
    db["print_job"].create(
        {"id": int, "sale_uuid": str, "kind": str, "state": str, "created_at": str, "updated_at": str,
         "attempts": int, "last_error": str},
        pk="id", foreign_keys=[("sale_uuid", "sale", "uuid")], if_not_exists=True,
        defaults={"attempts": 0},
    )
    db["print_job"].create_index(["state"], if_not_exists=True)
    db["user"].create(
        {"name": str, "role": str, "pin_hash": str, "active": int}, pk="name", if_not_exists=True,
    )
    db["shift"].create(
        {"uuid": str, "till_id": str, "number": int, "opened_at": str, "opened_by": str, "float": int,
         "stored_via": str},
        pk="uuid", not_null=["till_id", "number", "opened_at", "float"], if_not_exists=True,
    )
    db["shift"].create_index(["till_id", "number"], unique=True, if_not_exists=True)
    db["cash_movement"].create(
        {**{c: str for c in codec.CASH_MOVEMENT_COLUMNS}, "amount": int, "stored_via": str},
        pk="uuid", not_null=["shift_uuid", "kind", "amount"], if_not_exists=True,
    )
    db["cash_movement"].create_index(["shift_uuid"], if_not_exists=True)
    db["z_report"].create(
        {**{c: str for c in codec.Z_REPORT_COLUMNS}, **{c: int for c in ("z_number", "counted", "expected", "difference")},
         "stored_via": str},
        pk="uuid", not_null=["shift_uuid", "till_id", "z_number", "report"], if_not_exists=True,
    )
    db["z_report"].create_index(["shift_uuid"], unique=True, if_not_exists=True)
    db["z_report"].create_index(["till_id", "z_number"], unique=True, if_not_exists=True)
    audit.create_table(db)


def _audit_backfill(db: Any) -> None:
    """Chain the sales of a database made before the audit log existed (schema 1), oldest first."""
    conn = db.conn
    audit.backfill(conn, [(record, codec.stored_sale_rows(conn, uuid)) for (uuid,) in
                          conn.execute("SELECT uuid FROM sale ORDER BY completed_at, seq").fetchall()
                          if (record := codec.load_sale_record(conn, uuid, extra=False)) is not None])


def _sale_approved_by(db: Any) -> None:
    """The manager who approved a refund or void, in its own column (before it, the database lost
    it and only the journal's copy kept it); a reversal stored before gets it from its audit entry."""
    db["sale"].add_column("approved_by", str)
    db.execute("UPDATE sale SET approved_by = (SELECT a.approved_by FROM audit a WHERE a.uuid = sale.uuid "
               "AND a.action = sale.kind ORDER BY a.seq LIMIT 1) WHERE kind IN ('refund', 'void')")


def _stock(db: Any) -> None:
    """Stock movements other than sales' (domain.records.StockMoved: receive, adjust, count,
    transfers), one row each, quantities in milli-units (domain/stock.py); the catalog's reorder
    level and quantity (milli-units) and whether a product is weighed (fractions allowed); the
    sales' movements indexed by product (stock on hand of one product is one index range)."""
    db["stock_move"].create(
        {**{c: str for c in codec.STOCK_MOVE_COLUMNS}, **{c: int for c in ("qty", "expected", "counted", "unit_cost")},
         "stored_via": str},
        pk="uuid", not_null=["till_id", "at", "kind", "barcode", "qty", "expected"], if_not_exists=True,
    )
    db["stock_move"].create_index(["barcode"], if_not_exists=True)
    db["stock_move"].create_index(["at"], if_not_exists=True)
    db["stock_movement"].create_index(["barcode"], if_not_exists=True)
    db["stock_movement"].create_index(["at"], if_not_exists=True)
    for column in ("reorder_level", "reorder_qty"):
        db["product"].add_column(column, int)
    db["product"].add_column("weighed", int, not_null_default=0)


def _stock_expected_unknown(db: Any) -> None:
    """A receive or adjustment stored while the database could not be read has no expected
    on-hand (None): the till could not see it. Counts still always have one."""
    db["stock_move"].transform(not_null={"expected": False})
def _commit_log(db: Any) -> None:
    """The till's commit order (store/commit_log.py), the records stored so far numbered in
    audit-chain order."""
    commit_log.create_table(db.conn)
    commit_log.backfill(db.conn)


def _stock_by_product_time(db: Any) -> None:
    """Movements by product and time (when a product last moved: one index look-up per product,
    never a scan of the year's sales); they replace the indexes by product alone."""
    for table in ("stock_move", "stock_movement"):
        db.execute(f"CREATE INDEX IF NOT EXISTS idx_{table}_barcode_at ON {table} (barcode, at)")
        db.execute(f"DROP INDEX IF EXISTS idx_{table}_barcode")


def _stock_move_covering(db: Any) -> None:
    """Stock on hand sums a product's movements from the index alone (barcode, at, qty): the
    low-stock list of a whole catalog reads no table row."""
    db.execute("CREATE INDEX IF NOT EXISTS idx_stock_move_barcode_at_qty ON stock_move (barcode, at, qty)")
    db.execute("DROP INDEX IF EXISTS idx_stock_move_barcode_at")


def _stock_daily(db: Any) -> None:
    """Each product's movements summed per local day (store/stock_daily.py), filled from what is
    stored: the anomaly report reads it instead of a year of sale lines; and the audit's
    operation-risk events by action and time (a month's no-sales and price overrides without a
    scan of the log)."""
    stock_daily.create_table(db.conn)
    stock_daily.backfill(db.conn)
    db.execute("CREATE INDEX IF NOT EXISTS idx_audit_action_at ON audit (action, at)")


def _payments(db: Any) -> None:
    """Code payments (domain.records.PaymentAttempt and PaymentOutcome), one row each: an attempt
    is found by its sale and by its trade number, an outcome by its attempt."""
    db["payment_attempt"].create(
        {**{c: str for c in payments.PAYMENT_ATTEMPT_COLUMNS}, "attempt_no": int, "amount": int, "stored_via": str},
        pk="uuid", not_null=["till_id", "at", "sale_uuid", "kind", "provider", "attempt_no", "out_trade_no", "amount"],
        if_not_exists=True,
    )
    db["payment_attempt"].create_index(["sale_uuid"], if_not_exists=True)
    db["payment_attempt"].create_index(["out_trade_no"], if_not_exists=True)
    db["payment_outcome"].create(
        {**{c: str for c in payments.PAYMENT_OUTCOME_COLUMNS}, "amount": int, "stored_via": str},
        pk="uuid", not_null=["attempt_uuid", "till_id", "at", "state"], if_not_exists=True,
    )
    db["payment_outcome"].create_index(["attempt_uuid"], if_not_exists=True)


def _payment_needs(db: Any) -> None:
    """Which code payments may need someone (open, unknown, or paid and in no stored sale), kept
    with each attempt (payment_attempt.needs, store/payments.py) and indexed for those alone: the
    till asks before every code payment, and a year of attempts must not be read for it."""
    db["payment_attempt"].add_column("needs", int, not_null_default=1)
    db.execute("CREATE INDEX IF NOT EXISTS idx_payment_attempt_needs ON payment_attempt (needs) WHERE needs = 1")
    for (sale_uuid,) in db.execute("SELECT DISTINCT sale_uuid FROM payment_attempt").fetchall():
        payments.settle_sale(db.conn, sale_uuid)


def _stock_movement_covering(db: Any) -> None:
    """Stock on hand of a product whose catalog gives no opening stock sums its sales' movements
    from the index alone (barcode, at, qty_delta), as stock_move's does: a product that sells all
    year is read in a few milliseconds (the product look-up shows on hand as the cashier types)."""
    db.execute("CREATE INDEX IF NOT EXISTS idx_stock_movement_barcode_at_qty ON stock_movement (barcode, at, qty_delta)")
    db.execute("DROP INDEX IF EXISTS idx_stock_movement_barcode_at")


def _stock_level(db: Any) -> None:
    """Each product's stock on hand kept as its records are stored (store/stock_level.py: one
    primary-key read, not a year of sale lines, now that an opening stock is a record too), filled
    from the per-day sums; what product.stock held beyond them (the catalog's opening stock, no
    record) kept as unrecorded until the till's next start records it as an opening count."""
    stock_level.create_table(db.conn)
    stock_level.backfill(db.conn)


# The migrations, in order: (name, function). Append only; never rename, reorder or edit a released one.
MIGRATIONS: tuple[tuple[str, Callable[[Any], None]], ...] = (
    ("tables", _tables),
    ("audit_backfill", _audit_backfill),
    ("sale_approved_by", _sale_approved_by),
    ("stock", _stock),
    ("stock_expected_unknown", _stock_expected_unknown),
    ("commit_log", _commit_log),
    ("stock_by_product_time", _stock_by_product_time),
    ("stock_move_covering", _stock_move_covering),
    ("stock_daily", _stock_daily),
    ("payments", _payments),
    ("payment_needs", _payment_needs),
    ("stock_movement_covering", _stock_movement_covering),
    ("stock_level", _stock_level),
)


def applied(conn: sqlite3.Connection) -> list[str]:
    """The names of the migrations recorded in this database, in the order they ran."""
    try:
        return [name for (name,) in conn.execute(
            f"SELECT name FROM {MIGRATIONS_TABLE} WHERE migration_set = ? ORDER BY id", (MIGRATION_SET,))]
    except sqlite3.OperationalError:  # no such table: migrations were never recorded here
        return []


def pending(conn: sqlite3.Connection) -> list[str]:
    """The migrations this database still needs ([] for one made by a newer tui-pos: not ours to change)."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        return []
    done = set(applied(conn)) | (set(NUMBERED.get(version, ())) if version else set())
    return [name for name, _ in MIGRATIONS if name not in done]


def unknown(conn: sqlite3.Connection) -> list[str]:
    """Migrations recorded here that this tui-pos does not know: a newer version upgraded the database."""
    known = {name for name, _ in MIGRATIONS}
    return [name for name in applied(conn) if name not in known]


def ensure_schema(conn: sqlite3.Connection) -> None:
    """Apply the pending migrations (creating a new database), all in one transaction."""
    if not pending(conn):
        return
    import sqlite_utils  # lazy: 100 ms of imports, needed only to create or migrate

    conn.execute("BEGIN IMMEDIATE")
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]  # again, holding the lock: another process may have done it
        db = sqlite_utils.Database(conn)
        migrations = sqlite_utils.Migrations(MIGRATION_SET)
        for name, function in MIGRATIONS:
            migrations(name=name)(function)
        migrations.ensure_migrations_table(db)
        recorded = set(applied(conn))
        now = str(datetime.datetime.now(datetime.UTC))
        for name in NUMBERED.get(version, ()):  # ran under a schema number, before names were recorded
            if name not in recorded:
                db.table(MIGRATIONS_TABLE).insert({"migration_set": MIGRATION_SET, "name": name, "applied_at": now})
        migrations.apply(db)
        if version < SCHEMA_VERSION:
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
