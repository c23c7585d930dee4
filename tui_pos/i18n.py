"""Translation: every word a cashier, a manager or a customer reads goes through here (gettext).

English is the source language: a message in the code is its English text, so English needs no
catalog. Other languages are gettext catalogs, tui_pos/locale/<language>/LC_MESSAGES/tui_pos.po,
kept up to date with Babel (`make messages` extracts the marked messages and updates them;
tests/test_i18n.py fails when one is missing or untranslated). The .po file itself is read at run
time, the first time a language is used (read_po: no build step, no .mo file to forget on a clean
machine or in a wheel; a few milliseconds once per process, and only for a language other than English).

How to mark a message: `_("Change")` where it is shown; `N_("Cash")` in a table of constants
(marked for the catalog, translated where it is shown: `_(TENDER_LABELS[kind])`); `ngettext(
"{n} item", "{n} items", n).format(n=n)` for a count. Values go in by name with .format(), never
glued to fragments: the translator moves them where the language puts them.

Two languages may be in use at once: the screen's ([ui] language, `_`) and the receipt's
([printer] language: printing takes a `translator(language)` of its own).
"""

from __future__ import annotations

import functools
import gettext
import os
import re
from collections.abc import Callable, Mapping
from importlib import resources
from typing import Any

DOMAIN = "tui_pos"
SOURCE_LANGUAGE = "en"
LANGUAGES = {"en": "English", "zh_CN": "简体中文"}  # what [ui] language and [printer] language accept
AUTO = "auto"  # [ui]: the system's locale; [printer]: the same as [ui]


# N_(message): mark a message for the catalog without translating it there (a constant, translated
# where shown); the domain's own (it marks its errors' templates and imports nothing from here)
from tui_pos.domain.errors import N_, Each, PosError, Said  # noqa: E402, F401 (N_ re-exported: from tui_pos.i18n import N_)


def catalog_path(language: str) -> resources.abc.Traversable:
    return resources.files("tui_pos").joinpath("locale", language, "LC_MESSAGES", f"{DOMAIN}.po")


class Catalog(gettext.NullTranslations):
    """One language's translations, read from its .po file (see read_po)."""

    def __init__(self, messages: dict[str, str], plurals: dict[str, tuple[str, ...]], plural: Callable[[int], int]):
        super().__init__()
        self.messages, self.plurals, self.plural = messages, plurals, plural

    def gettext(self, message: str) -> str:
        return self.messages.get(message) or message

    def pgettext(self, context: str, message: str) -> str:
        """The message as used in one place (context, e.g. "receipt"), where a language words it apart."""
        return self.messages.get(f"{context}\x04{message}") or message

    def ngettext(self, msgid1: str, msgid2: str, n: int) -> str:
        forms = self.plurals.get(msgid1)
        if not forms:
            return msgid1 if n == 1 else msgid2
        index = self.plural(n)
        return forms[index] if 0 <= index < len(forms) and forms[index] else msgid1 if n == 1 else msgid2


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "a": "\a", "b": "\b", "f": "\f", "v": "\v"}
_ESCAPE = re.compile(r"\\(.)")


def _unquote(quoted: str) -> str:
    """A .po string: "text" with C escapes (an unknown escape is a ValueError: the file is broken)."""
    if len(quoted) < 2 or quoted[0] != '"' or quoted[-1] != '"':
        raise ValueError(f"not a quoted string: {quoted[:40]!r}")
    return _ESCAPE.sub(lambda m: _ESCAPES[m[1]], quoted[1:-1])


def read_po(text: str) -> Catalog:
    """A .po file's translations: every entry that has one and is not fuzzy (an unsure translation
    shows as English). The .po format as Babel writes it (msgid, msgid_plural, msgstr, msgstr[N],
    strings continued on following lines, C escapes); tests/test_i18n.py checks that this reads
    exactly what Babel reads. Not Babel itself at run time: importing it and parsing with it cost
    the till's start-up ~150 ms, this ~5."""
    entries: list[dict[str, Any]] = []
    for block in re.split(r"\n\s*\n", text):  # entries are separated by blank lines
        entry: dict[str, Any] = {}
        field = ""
        for raw in block.splitlines():
            line = raw.strip()
            if line.startswith("#"):
                entry["fuzzy"] = entry.get("fuzzy", False) or (line.startswith("#,") and "fuzzy" in line)
            elif line.startswith('"') and field:
                entry[field] += _unquote(line)
            elif line:
                field, _space, value = line.partition(" ")
                entry[field] = _unquote(value)
        entries.append(entry)
    messages: dict[str, str] = {}
    plurals: dict[str, tuple[str, ...]] = {}
    header = ""
    for entry in entries:
        if entry.get("fuzzy") or "msgid" not in entry:
            continue
        if "msgctxt" in entry:  # gettext's own key for a message in a context
            entry["msgid"] = f"{entry['msgctxt']}\x04{entry['msgid']}"
        if entry["msgid"] == "":
            header = entry.get("msgstr", "")
        elif "msgid_plural" in entry:
            forms = tuple(entry[key] for key in sorted((k for k in entry if k.startswith("msgstr[")),
                                                       key=lambda k: int(k[7:-1])))
            if all(forms):
                plurals[entry["msgid"]] = forms
        elif entry.get("msgstr"):
            messages[entry["msgid"]] = entry["msgstr"]
    found = re.search(r"plural=([^;\n]+)", header)
    return Catalog(messages, plurals, gettext.c2py(found[1]) if found else lambda n: int(n != 1))


@functools.cache
def translator(language: str) -> gettext.NullTranslations:
    """The translations of one language ("en": none, every message is its own translation). An
    unknown language, or a catalog that cannot be read, is English: a till never stops over words."""
    if language == SOURCE_LANGUAGE or language not in LANGUAGES:
        return gettext.NullTranslations()
    try:
        return read_po(catalog_path(language).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, KeyError):
        return gettext.NullTranslations()


_screen: gettext.NullTranslations = gettext.NullTranslations()
_screen_language = SOURCE_LANGUAGE


def use_language(language: str) -> None:
    """The language of the screen and of human CLI output from now on (set once at start-up)."""
    global _screen, _screen_language
    _screen, _screen_language = translator(language), language


def current_language() -> str:
    return _screen_language


def _(message: str) -> str:
    """The message in the screen's language."""
    return _screen.gettext(message)


def pgettext(context: str, message: str) -> str:
    """The message as used in one place (context), in the screen's language: where one English word
    is two in another language ("OK" the state, 正常; "OK" the button, 确定)."""
    return _screen.pgettext(context, message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural message for n, in the screen's language (Chinese has one form)."""
    return _screen.ngettext(singular, plural, n)


def message(err: object) -> str:
    """What an error (or an alert) says, in the screen's language: its template translated and filled in
    (domain.errors.Said, PosError and a warning keep them apart; a Said or an error within is said too, each part of an
    Each with the language's separator), else its English as it is: an alert's or a warning's .message (a
    dataclass: str() would be its repr), an exception's str(err)."""
    if isinstance(err, Each):
        return _(err.sep).join(message(part) for part in err.parts)
    english = getattr(err, "message", None)
    if isinstance(english, Said):  # an alert's message
        return message(english)
    if not isinstance(english, str):
        english = str(err)
    template = getattr(err, "template", "")
    if not template:
        return english
    params = {name: message(value) if isinstance(value, Said | Each | PosError) else value
              for name, value in (getattr(err, "params", None) or {}).items()}
    try:
        return _(template).format(**params) if params else _(template)
    except (KeyError, IndexError, ValueError):  # a translation that lost a value: the English, whole
        return english


def system_language(environ: Mapping[str, str] | None = None) -> str:
    """The language of the system's locale, as gettext reads it (LANGUAGE, LC_ALL, LC_MESSAGES, LANG):
    "zh_CN" for any Chinese locale (zh_CN.UTF-8, zh_SG, zh_TW: the one Chinese catalog there is),
    else English."""
    env = os.environ if environ is None else environ
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(name, "")
        if not value:
            continue
        first = value.split(":")[0].split(".")[0].split("@")[0]
        if first in ("C", "POSIX") and name == "LANGUAGE":
            continue
        return "zh_CN" if first.lower().startswith("zh") else SOURCE_LANGUAGE
    return SOURCE_LANGUAGE


def resolve(language: str, fallback: str | None = None) -> str:
    """A configured language with "auto" decided: the fallback if given (the printer follows the
    screen), else the system's locale."""
    if language != AUTO:
        return language
    return fallback if fallback is not None else system_language()
