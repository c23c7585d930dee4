"""Catalog records and the CSV import rules (pure: text in, products or line-numbered errors out)."""

from __future__ import annotations

import csv
import io
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from tui_pos.domain.errors import N_, BadInput, BadLines, Said, UnknownCode, check_text
from tui_pos.domain.money import Currency, format_bp, percent_to_bp
from tui_pos.domain.search import ProductIndex
from tui_pos.domain.stock import parse_qty

# what HQ keeps of a product and a till takes from it at a pull (no stock: each till counts its own)
CHAIN_PRODUCT_FIELDS = ("barcode", "name", "price", "tax_code", "department", "open_price")


@dataclass(frozen=True)
class TaxRate:
    code: str  # short name used in the catalog and on receipts, e.g. "A"
    rate_bp: int  # 1300 = 13%


@dataclass(frozen=True)
class Product:
    barcode: str  # EAN/UPC or a short PLU keyed by hand
    name: str
    price: int  # minor units; for open-price items the suggested price (may be 0)
    tax_code: str
    department: str = ""
    open_price: bool = False  # the cashier keys the price in
    stock: int | None = None  # the CSV's opening stock, milli-units (None: none given): an opening count, never kept here
    weighed: bool = False  # stock counted in fractions (kilos): quantities to 3 decimals (domain.stock)
    reorder_level: int | None = None  # milli-units: at or below it the product is low (None: never)
    reorder_qty: int | None = None  # milli-units: what to order when low (None: up to twice the level)


class Catalog:
    """Products by code, in memory: the scan path never waits for storage."""

    def __init__(self, products: Iterable[Product], tax_rates: Mapping[str, TaxRate]):
        self._by_code = {p.barcode: p for p in products}
        self.tax_rates = dict(tax_rates)
        self._index: ProductIndex | None = None  # for search(): made once, by index()
        self._index_lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._by_code)

    def lookup(self, code: str) -> Product:
        product = self._by_code.get(code.strip())
        if product is None:
            raise UnknownCode(N_("unknown code {code}: nothing added"), code=repr(code.strip()))
        return product

    def rate_of(self, product: Product) -> TaxRate:
        rate = self.tax_rates.get(product.tax_code)
        if rate is None:
            raise UnknownCode(N_("{name}: tax rate {code} is not configured"), name=product.name, code=repr(product.tax_code))
        return rate

    def index(self) -> ProductIndex:
        """The look-up's index (folded names, pinyin), built by the first caller, once: the till
        builds it in the background when it loads a catalog (Till.prepare_lookup), so no
        keystroke waits for it."""
        if self._index is None:
            with self._index_lock:
                if self._index is None:
                    self._index = ProductIndex(self._by_code.values())
        return self._index

    def prepare_search(self) -> None:
        """Build the look-up's index now, if not yet built."""
        self.index()

    def search(self, text: str, limit: int = 20) -> list[Product]:
        """Products by a piece of their name, code or department, ignoring case and accents
        (`creme` finds `Crème`, fullwidth letters match ASCII; CJK works as is), or by pinyin
        (`kkkl` and `kekoukele` find 可口可乐), best first: see tui_pos.domain.search."""
        return self.index().search(text, limit)


REQUIRED_COLUMNS = ("barcode", "name", "price", "tax")
OPTIONAL_COLUMNS = ("department", "stock", "weighed", "reorder_level", "reorder_qty")
YES, NO = ("1", "yes", "y", "true"), ("", "0", "no", "n", "false")
NAME_LENGTH = 100  # a product's name or department
ERRORS_SHOWN = 20  # a file bad on every line lists this many lines, then how many more


def more_lines(more: int) -> Said:
    """The last line of a file's errors when more were found than are shown."""
    return Said(N_("... and {n:,} more line with errors") if more == 1 else N_("... and {n:,} more lines with errors"),
                n=more)


def resolve_tax(text: str, tax_rates: Mapping[str, TaxRate]) -> str:
    """A CSV tax cell is a configured rate's code ('A') or a percentage ('13') of a configured rate."""
    cell = text.strip()
    for rate in tax_rates.values():
        if cell.casefold() == rate.code.casefold():
            return rate.code
    try:
        bp = percent_to_bp(cell)
    except BadInput:
        bp = None
    for rate in tax_rates.values():
        if rate.rate_bp == bp:
            return rate.code
    known = ", ".join(f"{r.code}={format_bp(r.rate_bp)}" for r in tax_rates.values())
    raise BadInput(N_("tax {cell} is not a configured rate ({known})"), cell=repr(cell), known=known)


def parse_catalog_csv(text: str, tax_rates: Mapping[str, TaxRate], currency: Currency) -> list[Product]:
    """Validate a whole CSV; return every product or raise BadInput listing each bad line by number."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    twice = sorted({c for c in header if header.count(c) > 1})
    if twice:
        raise BadInput(N_("line 1: the header has {columns} more than once"), columns=", ".join(twice))
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise BadInput(N_("line 1: the header lacks {columns} (needs barcode,name,price,tax)"), columns=", ".join(missing))
    unknown = [c for c in header if c not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    if unknown:
        raise BadInput(N_("line 1: unknown column(s) {columns}"), columns=", ".join(unknown))
    reader.fieldnames = header
    products: dict[str, Product] = {}
    errors: list[str] = []
    try:
        for row in reader:
            line_no = reader.line_num
            try:
                product = _product_from_row(row, tax_rates, currency)
            except BadInput as err:
                errors.append(Said(N_("line {line}: {error}"), line=line_no, error=err))
                continue
            if product.barcode in products:
                errors.append(Said(N_("line {line}: barcode {barcode} appears twice in the file"), line=line_no,
                                   barcode=product.barcode))
            products[product.barcode] = product
    except csv.Error as err:  # e.g. a cell longer than the csv module takes: the rest cannot be read
        errors.append(Said(N_("line {line}: {error} (the rest of the file was not read)"), line=reader.line_num + 1,
                           error=str(err)))
    if errors:
        more = len(errors) - ERRORS_SHOWN
        raise BadLines(N_("catalog not imported, nothing changed:"), errors[:ERRORS_SHOWN]
                       + ([more_lines(more)] if more > 0 else []))
    if not products:
        raise BadInput(N_("catalog not imported: the file has no product lines"))
    return list(products.values())


def _product_from_row(row: Mapping[str, str | None], tax_rates: Mapping[str, TaxRate], currency: Currency) -> Product:
    if None in row:
        raise BadInput(N_("more cells than the header has columns"))
    cells = {k: (v or "").strip() for k, v in row.items()}
    barcode, name = cells["barcode"], cells["name"]
    if not (barcode.isascii() and barcode.isdigit()) or len(barcode) > 20:
        raise BadInput(N_("barcode {barcode} must be 1 to 20 digits"), barcode=repr(barcode))
    if not name:
        raise BadInput(N_("name is empty"))
    check_text(name, "name", NAME_LENGTH)
    check_text(cells.get("department", ""), "department", NAME_LENGTH)
    price = currency.parse(cells["price"])
    if price < 0:
        raise BadInput(N_("price is negative"))
    weighed_text = cells.get("weighed", "").casefold()
    if weighed_text not in YES + NO:
        raise BadInput(N_("weighed {text} is not yes or no"), text=repr(cells["weighed"]))
    weighed = weighed_text in YES
    quantities = {c: parse_qty(cells[c], weighed, what=c) if cells.get(c) else None
                  for c in ("stock", "reorder_level", "reorder_qty")}
    return Product(
        barcode=barcode,
        name=name,
        price=price,
        tax_code=resolve_tax(cells["tax"], tax_rates),
        department=cells.get("department", ""),
        open_price=price == 0,
        weighed=weighed,
        **quantities,
    )

