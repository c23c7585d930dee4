"""Errors the core raises for the cashier, the CLI or support to read: the message is the UI text."""

import re
from collections.abc import Sequence
from typing import Any

# C0 and C1 control characters (tab, newline, escape, ...), DEL, and the Unicode line/paragraph separators:
# in a name or a reference they break receipts, lists and the terminal, and can forge lines in a log.
CONTROL_CHARACTERS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def N_(message: str) -> str:
    """Marks a message for the translation catalog (tui_pos/i18n.py, `make messages`): the domain
    never translates, the screens, printing and the CLI do, from the error's template and params."""
    return message


class Said(str):
    """A sentence for a person that is also plain data: as a str it is the English sentence (what
    --json, logs and support bundles carry), and it keeps its marked template and values apart
    (template, params), as a PosError does, so that i18n.message(said) says it in the screen's
    language. Said(N_("{n} record(s) waiting"), n=3). A value that is itself a Said is said in the
    same language. Joined or sliced it is a plain str again (its English)."""

    template: str
    params: dict[str, object]

    def __new__(cls, template: str, /, **params: object) -> "Said":
        said = super().__new__(cls, template.format(**params) if params else template)
        said.template, said.params = template, params
        return said

    def __reduce__(self) -> tuple[object, ...]:  # copy and deepcopy (dataclasses.asdict) keep it whole
        return (_said, (self.template, self.params))


def _said(template: str, params: dict[str, object]) -> Said:
    return Said(template, **params)


SEPARATORS = (N_("; "), N_(", "))  # between sentences, between words of a list (each language its own)


class Each(str):
    """Sentences (Said or plain) one after the other, '; ' between them in English (or words of a
    list: sep=", "): a str as Said is, and i18n.message(each) says each part, and the separator,
    in the screen's language."""

    parts: tuple[str, ...]
    sep: str

    def __new__(cls, parts: "Sequence[str]", sep: str = "; ") -> "Each":
        each = super().__new__(cls, sep.join(parts))
        each.parts, each.sep = tuple(parts), sep
        return each

    def __reduce__(self) -> tuple[object, ...]:
        return (Each, (self.parts, self.sep))


def sentence_data(said: object) -> object:
    """A Said or an Each as JSON data (its templates and values, nested ones too), kept on disk beside its
    English (an anchor's note, a quarantined journal line) so that it can be said again, years later, in
    the language of whoever reads it (kept_sentence). A number or None is kept as it is, anything else as str."""
    if isinstance(said, Each):
        return {"parts": [sentence_data(part) for part in said.parts], "sep": said.sep}
    if isinstance(said, Said):
        return {"template": said.template, "params": {name: sentence_data(value) for name, value in said.params.items()}}
    return said if isinstance(said, int | float) or said is None else str(said)


def kept_sentence(data: object, english: str) -> str:
    """The sentence kept as data (sentence_data) when it says exactly `english`, else `english` as it is:
    what an older version wrote (no sentence: data None) or what was edited since. Never raises."""
    try:
        said = _sentence(data) if data is not None else english
    except (KeyError, IndexError, ValueError, TypeError, AttributeError, RecursionError):
        return english
    return said if isinstance(said, str) and said == english else english


def _sentence(data: object) -> Any:
    if isinstance(data, dict) and "parts" in data:
        return Each([_sentence(part) for part in data["parts"]], sep=str(data["sep"]))
    if isinstance(data, dict):
        return Said(str(data["template"]), **{str(name): _sentence(value) for name, value in data["params"].items()})
    return data


class PosError(Exception):
    """Base of every error the core reports to a person; str(err) is a complete, plain sentence
    (English). Raised as PosError(N_("unknown code {code}: nothing added"), code=code), or with a
    Said already made (PosError(said)), it keeps the message's template and its values apart
    (template, params), as that Said does: i18n.message(err) says it in the screen's language.
    A plain string works as before (it is shown as it is)."""

    def __init__(self, message: str = "", /, **params: object):
        said = message if isinstance(message, Said) and not params else Said(message, **params)
        super().__init__(str(said))
        self.template, self.params = said.template, said.params

    @property
    def said(self) -> Said:
        """The sentence, whole: what a record keeps to say it again later (sentence_data)."""
        return Said(self.template, **self.params)


class BadInput(PosError):
    """Something typed or imported is malformed (an amount, a code, a CSV row)."""


class BadValue(BadInput, ValueError):
    """A value's check that failed (a journal line, a statement's cell), as a sentence; a ValueError
    too, so the readers that catch the standard library's own errors catch it with them."""


def said_of(err: Exception) -> str:
    """The sentence an error carries (a PosError's, or a ValueError raised with a Said), else its English."""
    if isinstance(err, PosError):
        return err.said
    return err.args[0] if err.args and isinstance(err.args[0], Said) else str(err)


class BadLines(BadInput):
    """Bad input found on many lines of a file: a one-line summary, then one line per problem."""

    def __init__(self, summary: str, details: list[str]):
        super().__init__("\n".join([summary, *details]))
        self.summary, self.details = summary, details


class UnknownCode(PosError):
    """A scanned or typed barcode/PLU is not in the catalog."""


class CartError(PosError):
    """An operation on the cart is not possible (no such line, negative quantity...)."""


class OpenPriceRequired(CartError):
    """An open-price item was scanned without a price: the cashier keys one in."""


class PaymentPending(CartError):
    """A payment whose outcome is unknown (it may be stored) waits for a retry: nothing else first."""


class ShiftError(CartError):
    """The shift is not in the state the operation needs (a CartError, as it always was)."""


class NoShiftOpen(ShiftError):
    """No shift is open (or it was closed already)."""


class ShiftAlreadyOpen(ShiftError):
    """A shift is open already: one open shift per till."""


class ShiftClosedMeanwhile(NoShiftOpen):
    """The shift was closed by another process (a Z report) while this one worked on it."""


class TenderError(PosError):
    """Tenders do not settle the sale (short, over-tendered card, missing reference...)."""


class CodePaymentRefused(TenderError):
    """A code payment (付款码) was not started: nothing was recorded or charged, the sale is untouched."""


class NotDurable(PosError):
    """The sale could not be stored anywhere; it was NOT acknowledged and the cart is kept."""


class StorageError(PosError):
    """The database (and where relevant every fallback) cannot be read or written."""


class HeldNotSaved(StorageError, CartError):
    """The held sales could not be saved anywhere (a CartError, as it always was)."""


# -- what the storage adapter raises and the use cases catch (neither is for a person as it is) --------
class StorageFailed(Exception):
    """Neither SQLite nor any journal directory took the record: it is NOT stored."""

    def __init__(self, sqlite_error: str, journal_error: str, outcome_unknown: bool):
        self.sqlite_error = sqlite_error
        self.journal_error = journal_error
        self.outcome_unknown = outcome_unknown  # COMMIT failed: the database may hold it after all
        super().__init__(f"database: {sqlite_error}; journal: {journal_error}")


class NumberingBusy(Exception):
    """Another process held the numbering lock past the bound: nothing was numbered or stored.
    str() says who holds it; remedy says what to do about it."""

    def __init__(self, holder: str, remedy: str):
        super().__init__(holder)
        self.remedy = remedy


class DocumentFailed(Exception):
    """No directory accepted a durable document (the cart, the held sales, the shift, a snapshot)."""


def check_text(text: str, what: str, max_length: int) -> str:
    """A name or a reference as typed or imported: at most max_length characters, no control characters."""
    if len(text) > max_length:
        raise BadInput(N_("{what} is {n:,} characters long: at most {max_length}"), what=what, n=len(text),
                       max_length=max_length)
    if CONTROL_CHARACTERS.search(text):
        raise BadInput(N_("{what} {text} contains a control character (a tab, a line break, an escape...)"), what=what,
                       text=repr(text))
    return text
