"""Catalog CSV rules (whole file validated, every bad line reported by number) and lookups."""

from __future__ import annotations

import re

import pytest

from tui_pos.domain.catalog import Catalog, Product, TaxRate, parse_catalog_csv
from tui_pos.domain.errors import BadInput, UnknownCode
from tui_pos.domain.money import Currency

RATES = {"A": TaxRate("A", 1300), "B": TaxRate("B", 900), "Z": TaxRate("Z", 0)}
HEADER = "barcode,name,price,tax,department,stock\n"


def parse(text: str) -> list[Product]:
    return parse_catalog_csv(text, RATES, Currency())


def import_error(text: str) -> str:
    with pytest.raises(BadInput) as err:
        parse(text)
    return str(err.value)


def bad_line_numbers(message: str) -> list[int]:
    return [int(n) for n in re.findall(r"^line (\d+):", message, flags=re.M)]


def test_a_good_file_with_chinese_names_departments_and_stock():
    """stock: the opening stock in milli-units (domain/stock.py), fractions for weighed goods only."""
    products = parse("barcode,name,price,tax,department,stock,weighed\n"
                     + "6900000000014,可口可乐 330ml,3.50,A,饮料 Drinks,27,\n"
                     + "6900000000113,康师傅红烧牛肉面,4.50,B,方便食品,,\n"
                     + "123,Plastic bag,0.20,0,,0,\n"
                     + "7,Rice (kg),6.00,B,,12.5,yes\n")
    assert products == [
        Product("6900000000014", "可口可乐 330ml", 350, "A", "饮料 Drinks", False, 27_000),
        Product("6900000000113", "康师傅红烧牛肉面", 450, "B", "方便食品", False, None),
        Product("123", "Plastic bag", 20, "Z", "", False, 0),
        Product("7", "Rice (kg)", 600, "B", "", False, 12_500, weighed=True),
    ]


def test_an_opening_stock_is_a_quantity_the_product_can_have():
    message = import_error("barcode,name,price,tax,stock,weighed\n1,Cola,3.50,A,-3,\n2,Tea,1.00,A,1.5,no\n"
                           "3,Rice,6.00,B,1.2345,yes\n")
    assert bad_line_numbers(message) == [2, 3, 4]
    assert "stock '-3' cannot be negative" in message and "stock '1.5' must be a whole number" in message
    assert "stock '1.2345' has more than 3 decimals" in message


def test_only_the_required_columns_in_any_order_and_case():
    products = parse(" Tax , PRICE ,Name,Barcode\nB,1.00,Tofu 豆腐,42\n")
    assert products == [Product("42", "Tofu 豆腐", 100, "B")]


def test_a_utf8_bom_is_ignored():
    """Excel saves 'CSV UTF-8' with a BOM; the first column must still be 'barcode'."""
    assert parse("\ufeff" + HEADER + "1,苹果,5.00,A,,\n")[0].barcode == "1"


def test_crlf_line_endings():
    assert [p.barcode for p in parse("barcode,name,price,tax\r\n1,a,1,A\r\n2,b,2,A\r\n")] == ["1", "2"]


@pytest.mark.parametrize("tax, code", [("A", "A"), ("a", "A"), (" b ", "B"), ("13", "A"), ("9", "B"),
                                       ("9%", "B"), ("13.00", "A"), ("0", "Z")])
def test_tax_by_code_or_percentage(tax, code):
    assert parse(f"barcode,name,price,tax\n1,x,1.00,{tax}\n")[0].tax_code == code


def test_a_percentage_that_is_not_configured_lists_the_configured_rates():
    message = import_error("barcode,name,price,tax\n1,x,1.00,5\n")
    assert "line 2: tax '5' is not a configured rate (A=13%, B=9%, Z=0%)" in message


@pytest.mark.parametrize("price", ["0", "0.00", "￥0"])
def test_a_zero_price_makes_an_open_price_item(price):
    product = parse(f"barcode,name,price,tax\n6900000000595,散装称重 Weighed goods,{price},B\n")[0]
    assert (product.price, product.open_price) == (0, True)


def test_a_priced_item_is_not_open_price():
    assert parse("barcode,name,price,tax\n1,x,0.01,A\n")[0].open_price is False


@pytest.mark.parametrize("header, missing", [
    ("barcode,name,price\n", "tax"),
    ("code,name,price,tax\n", "barcode"),
    ("barcode;name;price;tax\n", "barcode, name, price, tax"),  # wrong delimiter
    ("", "barcode, name, price, tax"),  # empty file
])
def test_the_header_must_have_the_required_columns(header, missing):
    message = import_error(header + "1,x,1.00,A\n")
    assert message.startswith("line 1:") and f"lacks {missing}" in message


def test_unknown_columns_are_refused():
    """A typo such as 'prcie' or an extra 'cost' column must not be silently ignored."""
    message = import_error("barcode,name,price,tax,cost\n1,x,1.00,A,0.50\n")
    assert message == "line 1: unknown column(s) cost"


def test_a_header_without_products_is_refused():
    assert "no product lines" in import_error(HEADER)


def test_every_bad_line_is_reported_at_once_and_nothing_is_returned():
    """The cashier fixes the file once: all bad lines by their line number, the good ones not."""
    text = (HEADER
            + "1,good,1.00,A,,\n"  # 2
            + "2,bad price,1.2.3,A,,\n"  # 3
            + "3,three decimals,1.005,A,,\n"  # 4
            + "\n"  # 5: blank, skipped, still counted
            + "4,good too,2.00,B,,\n"  # 6
            + "5,bad tax,2.00,C,,\n"  # 7
            + "abc,bad barcode,2.00,A,,\n"  # 8
            + "6,,2.00,A,,\n"  # 9: no name
            + "7,negative,-1.00,A,,\n"  # 10
            + "8,bad stock,1.00,A,,many\n"  # 11
            + "9,too many cells,1.00,A,,1,extra\n"  # 12
            + "10,too few cells\n"  # 13: no price
            + "123456789012345678901,long barcode,1.00,A,,\n")  # 14
    message = import_error(text)
    assert message.startswith("catalog not imported, nothing changed:")
    assert bad_line_numbers(message) == [3, 4, 7, 8, 9, 10, 11, 12, 13, 14]
    assert "line 2:" not in message and "line 6:" not in message
    assert "'1.2.3' is not an amount" in message
    assert "more than 2 decimals" in message
    assert re.search(r"^line 7: .*'C'", message, flags=re.M)
    assert "barcode 'abc' must be 1 to 20 digits" in message
    assert "line 9: name is empty" in message
    assert "line 10: price is negative" in message
    assert "stock 'many' is not a number" in message
    assert "line 12: more cells than the header has columns" in message


def test_a_barcode_twice_in_the_file_is_an_error_on_the_second_line():
    message = import_error(HEADER + "1,a,1.00,A,,\n2,b,1.00,A,,\n1,a again,2.00,A,,\n")
    assert bad_line_numbers(message) == [4]
    assert "barcode 1 appears twice in the file" in message


def test_a_quoted_multiline_name_does_not_shift_later_line_numbers():
    """(A line break in a name is refused: it would break the receipt.)"""
    text = 'barcode,name,price,tax\n1,"two\nlines",1.00,A\n2,x,bad,A\n'
    message = import_error(text)
    assert bad_line_numbers(message) == [3, 4] and "line 3: name 'two\\nlines' contains a control character" in message


@pytest.mark.parametrize("row, why", [
    ("1,x,1.00,sNaN,,", "decimal syntax that is not a number"),
    ("1,x,99999999999999999999,A,,", "a price no till (nor SQLite's 64-bit integer) can hold"),
    ("1,x,1.00,A,,99999999999999999999999", "a stock no SQLite integer can hold"),
])
def test_exotic_cells_are_reported_by_line_not_raised_or_accepted(row, why):
    """parse_catalog_csv promises products or BadInput by line: anything it returns must be
    importable, and no other exception may escape (the CLI would print a traceback)."""
    message = import_error(HEADER + "5,fine,1.00,A,,\n" + row + "\n")
    assert bad_line_numbers(message) == [3], why


# -- Catalog lookups --------------------------------------------------------------------------

CATALOG = Catalog([
    Product("6900000000014", "可口可乐 330ml", 350, "A", "饮料 Drinks"),
    Product("6900000000045", "雪碧 Sprite 330ml", 350, "A", "饮料 Drinks"),
    Product("6900000000113", "康师傅红烧牛肉面", 450, "B", "方便食品 Instant"),
    Product("6900000000595", "散装称重 Weighed goods", 0, "B", "熟食 Deli", open_price=True),
    Product("7", "Cola Zero", 400, "X"),
], RATES)


def test_lookup_by_code_ignores_surrounding_spaces():
    assert CATALOG.lookup(" 6900000000014\n").name == "可口可乐 330ml"


def test_lookup_of_an_unknown_code_says_nothing_was_added():
    with pytest.raises(UnknownCode) as err:
        CATALOG.lookup(" 12345 ")
    assert str(err.value) == "unknown code '12345': nothing added"


def test_rate_of_a_product_with_an_unconfigured_rate():
    assert CATALOG.rate_of(CATALOG.lookup("6900000000113")) == TaxRate("B", 900)
    with pytest.raises(UnknownCode, match="tax rate 'X' is not configured"):
        CATALOG.rate_of(CATALOG.lookup("7"))


@pytest.mark.parametrize("text, barcodes", [
    ("可乐", ["6900000000014"]),  # Chinese substring
    ("牛肉", ["6900000000113"]),
    ("sprite", ["6900000000045"]),  # Latin, case-insensitive
    ("COLA", ["7"]),
    ("330ML", ["6900000000014", "6900000000045"]),
    ("饮料", ["6900000000014", "6900000000045"]),  # by department
    ("deli", ["6900000000595"]),
    ("0113", ["6900000000113"]),  # by a piece of the barcode
    ("no such thing", []),
])
def test_search_by_chinese_and_latin_substrings(text, barcodes):
    assert sorted(p.barcode for p in CATALOG.search(text)) == barcodes


def test_search_is_ranked_shorter_names_first_and_limited():
    names = [p.name for p in CATALOG.search("69")]
    assert names == sorted(names, key=lambda n: (len(n), n)) and len(names) == 4
    assert len(CATALOG.search("69", limit=2)) == 2


# -- hostile files: said, never accepted silently or raised ---------------------------------------

def test_a_column_twice_in_the_header_is_refused():
    """A duplicated price column silently used the last one."""
    assert import_error("barcode,name,price,tax,price\n1,x,1.00,A,9.00\n") == \
        "line 1: the header has price more than once"


@pytest.mark.parametrize("name", ["a\x1b[2Jb", "tab\there", "new\u2028line", "bell\x07", "del\x7f"])
def test_control_characters_in_a_name_or_department_are_refused(name):
    assert "control character" in import_error(HEADER + f'1,"{name}",1.00,A,,\n')
    assert "control character" in import_error(HEADER + f'1,ok,1.00,A,"{name}",\n')


def test_a_name_of_a_page_is_refused():
    assert "name is 101 characters long: at most 100" in import_error(HEADER + f"1,{'x' * 101},1.00,A,,\n")


def test_a_file_bad_on_every_line_lists_the_first_errors_and_counts_the_rest():
    """50,000 bad lines printed 50,001 error lines."""
    message = import_error(HEADER + "".join(f"{n},x,bad,A,,\n" for n in range(1, 50_001)))
    lines = message.splitlines()
    assert len(lines) == 22 and lines[0] == "catalog not imported, nothing changed:"
    assert bad_line_numbers(message) == list(range(2, 22))
    assert lines[-1] == "... and 49,980 more lines with errors"


def test_a_cell_longer_than_the_csv_module_takes_is_a_line_error():
    message = import_error(HEADER + f"1,ok,1.00,A,,\n2,{'x' * 200_000},1.00,A,,\n")
    assert bad_line_numbers(message) == [3] and "field larger than field limit" in message


# -- issue 10 item 11: a look-up matches without accents and without case -------------------------
ACCENTED = Catalog([
    Product("11", "Café Crème latte", 1800, "A", "Drinks"),
    Product("12", "Crème de papier A4 500", 3500, "A", "Office"),
    Product("13", "Müsli Crunchy", 2600, "B"),
    Product("14", "Ｐｅｎ fullwidth", 100, "A"),
    Product("15", "Creme fraiche", 900, "B", "Épicerie"),
], RATES)


@pytest.mark.parametrize("text, barcodes", [
    ("creme", ["11", "12", "15"]),  # typed without accents: the accented names too
    ("crème", ["11", "12", "15"]),  # typed with them: the plain name too
    ("CRÈME", ["11", "12", "15"]),
    ("cafe", ["11"]),
    ("musli", ["13"]),
    ("muesli", []),  # folding drops the accent, it does not spell it out
    ("pen", ["14"]),  # fullwidth letters fold to ASCII
    ("epicerie", ["15"]),  # the department as well
])
def test_search_ignores_accents_and_case(text, barcodes):
    assert sorted(p.barcode for p in ACCENTED.search(text)) == barcodes


def test_search_folds_the_catalog_once_not_per_keystroke(monkeypatch):
    """The names are folded when the catalog is first searched; later keystrokes fold only the query."""
    import unicodedata

    from tui_pos.domain import search as search_module

    catalog = Catalog(list(CATALOG._by_code.values()), RATES)
    catalog.search("c")
    calls: list[str] = []
    real = unicodedata.normalize
    monkeypatch.setattr(search_module.unicodedata, "normalize", lambda form, text: calls.append(text) or real(form, text))
    for typed in ("c", "co", "col", "cola"):
        catalog.search(typed)
    assert calls == ["c", "co", "col", "cola"]
