"""Errors the core raises for the cashier, the CLI or support to read: the message is the UI text."""


class PosError(Exception):
    """Base of every error the core reports to a person; str(err) is a complete, plain sentence."""


class BadInput(PosError):
    """Something typed or imported is malformed (an amount, a code, a CSV row)."""


class UnknownCode(PosError):
    """A scanned or typed barcode/PLU is not in the catalog."""


class CartError(PosError):
    """An operation on the cart is not possible (no such line, negative quantity...)."""


class TenderError(PosError):
    """Tenders do not settle the sale (short, over-tendered card, missing reference...)."""


class NotDurable(PosError):
    """The sale could not be stored anywhere; it was NOT acknowledged and the cart is kept."""


class StorageError(PosError):
    """The database (and where relevant every fallback) cannot be read or written."""
