"""Money is an int of minor units (fen, cents); Decimal only at the edges, never float."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from tui_pos.core.errors import BadInput


@dataclass(frozen=True)
class Currency:
    code: str = "CNY"
    symbol: str = "￥"  # fullwidth yen: prints on GBK-only printers, unlike U+00A5
    exponent: int = 2  # minor units per major unit = 10**exponent

    def parse(self, text: str) -> int:
        """'12.50' -> 1250. Rejects more decimals than the currency has, floats' exponents, junk."""
        cleaned = str(text).strip().replace(self.symbol, "").replace(",", "")
        try:
            value = Decimal(cleaned)
        except InvalidOperation:
            raise BadInput(f"'{text}' is not an amount (expected e.g. 12.50)") from None
        if not value.is_finite() or "e" in cleaned.lower():
            raise BadInput(f"'{text}' is not an amount (expected e.g. 12.50)")
        minor = value.scaleb(self.exponent)
        if minor != minor.to_integral_value():
            raise BadInput(f"'{text}' has more than {self.exponent} decimals")
        return int(minor)

    def format(self, minor: int, symbol: bool = False) -> str:
        """1250 -> '12.50' (or '￥12.50'); negative amounts keep their sign in front."""
        sign = "-" if minor < 0 else ""
        text = f"{Decimal(abs(minor)).scaleb(-self.exponent):.{self.exponent}f}"
        return f"{sign}{self.symbol if symbol else ''}{text}"


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
        value = Decimal(str(text).strip().rstrip("%"))
    except InvalidOperation:
        raise BadInput(f"'{text}' is not a percentage") from None
    bp = value * 100
    if not value.is_finite() or bp != bp.to_integral_value() or not 0 <= bp <= 10000:
        raise BadInput(f"'{text}' is not a percentage between 0 and 100 with at most 2 decimals")
    return int(bp)
