"""Money parsing/printing and the one rounding rule: every expectation here is computed by hand
or from exact fractions, never by calling the code under test."""

from __future__ import annotations

from fractions import Fraction
from math import floor

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tui_pos.domain.errors import BadInput
from tui_pos.domain.money import Currency, parse_count, percent_to_bp, round_half_up, round_to_step

CNY = Currency()  # CNY, fullwidth yen sign, 2 decimals
JPY = Currency("JPY", "¥", 0)
KWD = Currency("KWD", "KD", 3)


def half_away_from_zero(value: Fraction) -> int:
    """Reference rounding from first principles: |x| + 1/2 floored, sign put back."""
    magnitude = floor(abs(value) + Fraction(1, 2))
    return magnitude if value >= 0 else -magnitude


# -- Currency.parse -----------------------------------------------------------------------------

@pytest.mark.parametrize("text, minor", [
    ("12.50", 1250), ("12.5", 1250), ("12", 1200), ("0", 0), ("0.01", 1), (".5", 50),
    (" 3.50 ", 350), ("￥3.50", 350), ("1,234.56", 123456), ("12.500", 1250),
    ("-5", -500), ("-0.05", -5), ("+7.25", 725),
])
def test_parse_accepts_plain_decimals(text, minor):
    """What a cashier or a CSV types becomes exact minor units (symbol, spaces, grouping ignored)."""
    assert CNY.parse(text) == minor


@pytest.mark.parametrize("text", ["1e3", "1E3", "2e-2", "abc", "", "   ", "12.3.4", "--1", "NaN", "Infinity", "sNaN"])
def test_parse_rejects_junk_with_the_text_in_the_message(text):
    """Exponents, junk and empty input are refused with a message quoting what was typed."""
    with pytest.raises(BadInput) as err:
        CNY.parse(text)
    assert f"'{text}'" in str(err.value)


@pytest.mark.parametrize("text", ["12.345", "0.001", "-0.125", "9.999"])
def test_parse_rejects_more_decimals_than_the_currency_has(text):
    """12.345 must not be silently rounded to 12.34 or 12.35: a fen is never invented or lost."""
    with pytest.raises(BadInput, match="more than 2 decimals"):
        CNY.parse(text)


def test_parse_rejects_extra_decimals_beyond_decimal_precision():
    """An amount with 3 decimals must be refused however long it is; Decimal's default 28-digit
    context must not round it into an 'integral' value and accept a changed number."""
    with pytest.raises(BadInput):
        CNY.parse("12345678901234567890123456.785")


@pytest.mark.parametrize("text", ["1,50", "12,5", "1,2,3"])
def test_parse_rejects_a_comma_that_is_not_a_thousands_separator(text):
    """'1,50' (a decimal comma) must not become 150.00: stripping every comma multiplies by 100."""
    with pytest.raises(BadInput):
        CNY.parse(text)


def test_parse_follows_the_currency_exponent():
    """Currencies without minor units reject any decimals; 3-decimal currencies keep all three."""
    assert JPY.parse("1250") == 1250
    with pytest.raises(BadInput, match="more than 0 decimals"):
        JPY.parse("12.5")
    assert KWD.parse("1.234") == 1234
    with pytest.raises(BadInput):
        KWD.parse("1.2345")


# -- Currency.format ----------------------------------------------------------------------------

@pytest.mark.parametrize("minor, plain, with_symbol", [
    (0, "0.00", "￥0.00"), (5, "0.05", "￥0.05"), (1250, "12.50", "￥12.50"), (123456, "1234.56", "￥1234.56"),
    (-5, "-0.05", "-￥0.05"), (-1250, "-12.50", "-￥12.50"),
])
def test_format_hand_examples(minor, plain, with_symbol):
    """Always exactly two decimals; the sign goes in front of the symbol."""
    assert CNY.format(minor) == plain
    assert CNY.format(minor, symbol=True) == with_symbol


def test_format_other_exponents():
    assert JPY.format(1250) == "1250"
    assert JPY.format(-3, symbol=True) == "-¥3"
    assert KWD.format(1234) == "1.234"
    assert KWD.format(5) == "0.005"


@settings(max_examples=300, deadline=None)
@given(st.integers(-10**13, 10**13))
def test_format_then_parse_is_the_identity(minor):
    """What is printed (receipts, --json) reads back to the same amount, with or without symbol."""
    assert CNY.parse(CNY.format(minor)) == minor
    assert CNY.parse(CNY.format(minor, symbol=True)) == minor
    whole, frac = divmod(abs(minor), 100)
    assert CNY.format(minor) == ("-" if minor < 0 else "") + f"{whole}.{frac:02d}"


# -- round_half_up / round_to_step ------------------------------------------------------------

@pytest.mark.parametrize("num, den, expected", [
    (0, 7, 0), (4, 10, 0), (5, 10, 1), (6, 10, 1), (15, 10, 2), (25, 10, 3), (1, 3, 0), (2, 3, 1),
    (-4, 10, 0), (-5, 10, -1), (-15, 10, -2), (-25, 10, -3), (-2, 3, -1), (-1, 3, 0),
    (828100, 11300, 73), (1, 2, 1), (-1, 2, -1),
])
def test_round_half_up_table(num, den, expected):
    """Half away from zero, also for negatives (-2.5 -> -3, never banker's -2)."""
    assert round_half_up(num, den) == expected


@pytest.mark.parametrize("den", [0, -1, -10])
def test_round_half_up_refuses_non_positive_denominators(den):
    with pytest.raises(ValueError):
        round_half_up(10, den)


@settings(max_examples=300, deadline=None)
@given(st.integers(-10**12, 10**12), st.integers(1, 10**6))
def test_round_half_up_matches_exact_fraction(num, den):
    """Agrees with exact rational rounding and is symmetric around zero."""
    assert round_half_up(num, den) == half_away_from_zero(Fraction(num, den))
    assert round_half_up(-num, den) == -round_half_up(num, den)


@pytest.mark.parametrize("amount, step, expected", [
    (1234, 10, 1230), (1235, 10, 1240), (1236, 10, 1240), (-1235, 10, -1240), (-1234, 10, -1230),
    (1224, 50, 1200), (1225, 50, 1250), (1249, 50, 1250), (0, 10, 0), (3, 10, 0), (5, 10, 10),
    (1234, 1, 1234), (1234, 0, 1234), (1234, -10, 1234),
])
def test_round_to_step_table(amount, step, expected):
    """Cash rounding to the nearest step, half up; a step of 0 or 1 means no rounding at all."""
    assert round_to_step(amount, step) == expected


@settings(max_examples=200, deadline=None)
@given(st.integers(-10**9, 10**9), st.sampled_from([2, 5, 10, 20, 50, 100]))
def test_round_to_step_lands_on_a_multiple_within_half_a_step(amount, step):
    result = round_to_step(amount, step)
    assert result % step == 0
    assert 2 * abs(result - amount) <= step


# -- percent_to_bp -----------------------------------------------------------------------------

@pytest.mark.parametrize("text, bp", [
    ("13", 1300), ("9", 900), ("13.5", 1350), ("13.55", 1355), ("0", 0), ("0.01", 1), ("100", 10000),
    ("13%", 1300), (" 6 ", 600),
])
def test_percent_to_bp_table(text, bp):
    """Tax rates are exact basis points: '13.5' is 1350, not 1349.999..."""
    assert percent_to_bp(text) == bp


@pytest.mark.parametrize("text", ["13.555", "101", "100.01", "-1", "abc", "", "NaN", "Infinity", "1e3"])
def test_percent_to_bp_rejects(text):
    with pytest.raises(BadInput):
        percent_to_bp(text)


def test_percent_to_bp_rejects_signalling_nan_as_bad_input():
    """'sNaN' is valid Decimal syntax; it must be reported as BadInput like any other junk, not
    escape as decimal.InvalidOperation (which becomes a traceback in `catalog import`)."""
    with pytest.raises(BadInput):
        percent_to_bp("sNaN")


@pytest.mark.parametrize("text, count", [("3", 3), (" 12 ", 12), ("007", 7), ("9" * 18, 10**18 - 1)])
def test_parse_count_reads_ascii_digits(text, count):
    assert parse_count(text) == count


@pytest.mark.parametrize("text", ["３", "٣", "²", "①", "३", "3.0", "-3", "+3", "", "1_000", "9" * 19, "9" * 5000])
def test_parse_count_refuses_every_other_digit_and_form(text):
    """str.isdigit() is true for all of the first five; int() reads two of them as 3 and fails on two."""
    assert parse_count(text) is None


@pytest.mark.parametrize("text", ["３.50", "٣", "1²", "①", "12.5０"])
def test_amounts_are_ascii_digits_only(text):
    with pytest.raises(BadInput):
        Currency().parse(text)


@pytest.mark.parametrize("text", ["9" * 5000, "9" * 5000 + ".5", "-" + "9" * 30])
def test_an_amount_of_thousands_of_digits_is_too_large_not_a_crash(text):
    """int() refuses strings of more than 4,300 digits with ValueError (a traceback in the CLI)."""
    with pytest.raises(BadInput, match="too large an amount"):
        Currency().parse(text)
