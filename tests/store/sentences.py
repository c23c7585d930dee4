"""What a kept sentence says in a language, and which of its English words are left in that: for the
tests of the storage's findings said in the reader's language (issue 16)."""

from __future__ import annotations

import re

from tui_pos import i18n
from tui_pos.domain.errors import Each, Said


def said_in(language: str, sentence: str) -> str:
    """The sentence as a reader of that language reads it (i18n.message), the screen English again after."""
    i18n.use_language(language)
    try:
        return i18n.message(sentence)
    finally:
        i18n.use_language("en")


def english_left(sentence: str, said: str) -> set[str]:
    """The words of a sentence's templates (its own and those within) still in what was said, its values
    (a file's name, an error's own text) left out of both."""

    def templates(part: object) -> list[str]:
        if isinstance(part, Each):
            return [t for p in part.parts for t in templates(p)]
        if isinstance(part, Said):
            return [part.template, *(t for value in part.params.values() for t in templates(value))]
        return []

    def values(part: object) -> list[str]:
        if isinstance(part, Each):
            return [v for p in part.parts for v in values(p)]
        if isinstance(part, Said):
            return [v for value in part.params.values() for v in (values(value) if isinstance(value, Said | Each)
                                                                   else [str(value)])]
        return []

    words = {w for t in templates(sentence) for w in re.findall(r"[A-Za-z]{3,}", re.sub(r"\{[^{}]*\}", " ", t))}
    assert words, f"{sentence!r} is no marked sentence"
    for value in sorted((v for v in values(sentence) if re.search(r"[A-Za-z]{3,}", v)), key=len, reverse=True):
        said = said.replace(value, " ")
    return words & set(re.findall(r"[A-Za-z]{3,}", said))
