"""The chain's catalog at HQ (an administrator's connection): products, the chain's and a shop's
own, from the till's very CSV (`tui-pos hq catalog import FILE.csv [--shop SHOP]`).

The CSV is read and checked by the till's own rules (domain.catalog.parse_catalog_csv: every bad
line by number, nothing changed), against the chain's tax rates and currency (hq.tax_rate,
hq.setting 'currency'). HQ keeps no opening stock: a stock column is checked, then left to each till; the reorder level and
quantity (and whether a product is weighed) are kept for HQ's own low-stock list and reorder report.
Every row that changes takes the next catalog version (a trigger, see schema.py migration 3);
rows that are the same as before keep theirs, so the tills pull nothing for them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tui_pos.domain.catalog import CHAIN_PRODUCT_FIELDS, Product, TaxRate, parse_catalog_csv
from tui_pos.domain.errors import N_
from tui_pos.domain.money import Currency
from tui_pos.hq.chain import check_shop_id
from tui_pos.hq.connection import HqError
from tui_pos.hq.schema import check_current

if TYPE_CHECKING:
    import psycopg

PRODUCT_FIELDS = CHAIN_PRODUCT_FIELDS
# what HQ keeps of a product's stock rules besides (its low-stock list, reorder report); tills keep their own
STOCK_FIELDS = ("weighed", "reorder_level", "reorder_qty")


def chain_currency(conn: psycopg.Connection[Any]) -> Currency:
    row = conn.execute("SELECT value->>'code', (value->>'exponent')::int FROM hq.setting WHERE key = 'currency'"
                       ).fetchone()
    if row is None:
        raise HqError(N_("HQ has no currency setting (hq.setting 'currency'): run 'tui-pos hq init DSN' again"))
    return Currency(str(row[0]), "", int(row[1]))


def chain_tax_rates(conn: psycopg.Connection[Any]) -> dict[str, TaxRate]:
    return {code: TaxRate(code, rate_bp)
            for code, rate_bp in conn.execute("SELECT code, rate_bp FROM hq.tax_rate ORDER BY code")}


def catalog_version(conn: psycopg.Connection[Any]) -> int:
    row = conn.execute("SELECT hq.catalog_version()").fetchone()
    assert row is not None
    return int(row[0])


def import_catalog(conn: psycopg.Connection[Any], text: str, shop: str | None = None) -> dict[str, Any]:
    """Check the whole CSV (BadInput/BadLines by line, nothing changed), then write every product
    in one transaction: the chain's, or with shop, that shop's own (its prices win over the
    chain's at its tills). What was done: products, added, changed, unchanged, version."""
    from psycopg.types.json import Jsonb

    if shop is not None:
        check_shop_id(shop)
    check_current(conn)
    products = parse_catalog_csv(text, chain_tax_rates(conn), chain_currency(conn))
    rows = Jsonb([{**product_row(p), **{f: getattr(p, f) for f in STOCK_FIELDS}} for p in products])
    columns = ", ".join((*PRODUCT_FIELDS, *STOCK_FIELDS))
    updates = ", ".join(f"{c} = excluded.{c}" for c in (*PRODUCT_FIELDS[1:], *STOCK_FIELDS))
    typed = ("barcode text, name text, price bigint, tax_code text, department text, open_price boolean, "
             "weighed boolean, reorder_level bigint, reorder_qty bigint")
    with conn.transaction():
        if shop is None:
            written = conn.execute(
                f"INSERT INTO hq.product ({columns}) SELECT {columns} FROM jsonb_to_recordset(%s) AS x({typed}) "
                f"ON CONFLICT (barcode) DO UPDATE SET {updates} "
                f"WHERE ({_qualified('product')}) IS DISTINCT FROM ({_excluded()}) RETURNING xmax = 0",
                (rows,)).fetchall()
        else:
            if conn.execute("SELECT 1 FROM hq.shop WHERE shop_id = %s", (shop,)).fetchone() is None:
                raise HqError(N_("shop {shop} is not at HQ: add it first (tui-pos hq shop add {shop})"), shop=shop)
            written = conn.execute(
                f"INSERT INTO hq.shop_product (shop_id, {columns}) SELECT %s, {columns} "
                f"FROM jsonb_to_recordset(%s) AS x({typed}) "
                f"ON CONFLICT (shop_id, barcode) DO UPDATE SET {updates} "
                f"WHERE ({_qualified('shop_product')}) IS DISTINCT FROM ({_excluded()}) RETURNING xmax = 0",
                (shop, rows)).fetchall()
        version = catalog_version(conn)
    added = sum(1 for (inserted,) in written if inserted)
    return {"shop": shop, "products": len(products), "added": added, "changed": len(written) - added,
            "unchanged": len(products) - len(written), "version": version}


def product_row(product: Product) -> dict[str, Any]:
    """A product as HQ keeps it and the tills pull it (no stock: each till counts its own)."""
    return {field: getattr(product, field) for field in PRODUCT_FIELDS}


def _excluded() -> str:
    return ", ".join(f"excluded.{c}" for c in (*PRODUCT_FIELDS[1:], *STOCK_FIELDS))


def _qualified(table: str) -> str:
    return ", ".join(f"{table}.{c}" for c in (*PRODUCT_FIELDS[1:], *STOCK_FIELDS))
