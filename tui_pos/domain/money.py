"""Money is an int of minor units (fen, cents); Decimal only at the edges, never float."""

from __future__ import annotations

import re
from dataclasses import dataclass

from tui_pos.domain.errors import N_, BadInput

MAX_MINOR = 10**15  # far beyond any till, well inside SQLite's 64-bit integers
_FIXED = re.compile(r"([+-]?)(\d*)(?:\.(\d*))?", re.ASCII)  # ASCII digits only: no 1e3, NaN, 1_000
_GROUPED = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d*)?", re.ASCII)  # commas only as thousands separators


class TooManyDecimals(ValueError):
    pass


_DIGITS = re.compile(r"[0-9]{1,18}")


def parse_count(text: str) -> int | None:
    """'12' -> 12: a quantity, a count, a number typed by a person. ASCII digits only (str.isdigit()
    also takes '３' and '٣', which int() reads as 3, and '²' and '①', on which int() fails), at most
    18 of them (never int() of a 5,000-digit string); None for anything else."""
    cleaned = text.strip()
    return int(cleaned) if _DIGITS.fullmatch(cleaned) else None


def parse_fixed(text: str, places: int) -> int | None:
    """'12.5' with places=2 -> 1250, exactly (plain integers, no rounding); None if malformed;
    TooManyDecimals if it has more significant decimals than places."""
    cleaned = text.strip()
    if "," in cleaned:
        if not _GROUPED.fullmatch(cleaned):
            return None
        cleaned = cleaned.replace(",", "")
    match = _FIXED.fullmatch(cleaned)
    if not match or not (match[2] or match[3]):
        return None
    fraction = (match[3] or "").rstrip("0")
    if len(fraction) > places:
        raise TooManyDecimals(text)
    whole = match[2].lstrip("0")
    whole = whole if len(whole) <= 18 else "1" + "0" * 18  # past any limit: callers refuse it (no int() of 5,000 digits)
    value = int(whole or "0") * 10**places + int(fraction.ljust(places, "0") or "0")
    return -value if match[1] == "-" else value


@dataclass(frozen=True)
class Currency:
    code: str = "CNY"
    symbol: str = "￥"  # fullwidth yen: prints on GBK-only printers, unlike U+00A5
    exponent: int = 2  # minor units per major unit = 10**exponent

    def parse(self, text: str) -> int:
        """'12.50' -> 1250. Rejects more decimals than the currency has, exponents, junk."""
        try:
            minor = parse_fixed(str(text).replace(self.symbol, ""), self.exponent)
        except TooManyDecimals:
            raise BadInput(N_("'{text}' has more than {decimals} decimals"), text=text, decimals=self.exponent) from None
        if minor is None:
            raise BadInput(N_("'{text}' is not an amount (expected e.g. 12.50)"), text=text)
        if abs(minor) >= MAX_MINOR:
            raise BadInput(N_("'{text}' is too large an amount"), text=text)
        return minor

    def format(self, minor: int, symbol: bool = False) -> str:
        """1250 -> '12.50' (or '￥12.50'); negative amounts keep their sign in front."""
        whole, fraction = divmod(abs(minor), 10**self.exponent)
        text = f"{whole}.{fraction:0{self.exponent}d}" if self.exponent else str(whole)
        return f"{'-' if minor < 0 else ''}{self.symbol if symbol else ''}{text}"


def round_half_up(numerator: int, denominator: int) -> int:
    """Integer division rounded half away from zero: the one rounding rule of tui-pos."""
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    magnitude = (2 * abs(numerator) + denominator) // (2 * denominator)
    return magnitude if numerator >= 0 else -magnitude


def round_to_step(amount: int, step: int) -> int:
    """Cash rounding: the nearest multiple of step (half up); step <= 1 means no rounding."""
    if step <= 1:
        return amount
    return round_half_up(amount, step) * step


def percent_to_bp(text: str) -> int:
    """'13' or '13.5' percent -> basis points (1300, 1350): rates are exact ints too."""
    try:
        bp = parse_fixed(str(text).rstrip("%"), 2)
    except TooManyDecimals:
        bp = None
    if bp is None or not 0 <= bp <= 10000:
        raise BadInput(N_("'{text}' is not a percentage between 0 and 100 with at most 2 decimals"), text=text)
    return bp


def format_bp(bp: int) -> str:
    """1300 -> '13%', 1350 -> '13.5%'."""
    whole, fraction = divmod(bp, 100)
    return f"{whole}{f'.{fraction:02d}'.rstrip('0') if fraction else ''}%"
