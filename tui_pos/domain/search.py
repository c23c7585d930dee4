"""Finding products as a cashier types: by a piece of the name, code or department, or by pinyin.

Pinyin (`kkkl`, `kekoukele`, `kekl` all find 可口可乐): every Chinese character of a name is read
as its syllable (pypinyin, phrase-aware: 银行 is yin hang, 行走 xing zou; ü is typed v, as
input methods take it, or u: lvcha and lucha both find 绿茶), and the rest of the name is split into words (`Nescafé 330ml` ->
nescafe, 330ml). A query matches when it spells consecutive words of the name, each Chinese
syllable by any beginning of it (so initials, full pinyin and anything between), each Latin word
in full, except the last one, which may be a beginning too: `qcnes` finds 雀巢 Nescafé 咖啡,
`cocacola` finds Coca Cola, but `cola` does not find Coca Orange Lemon Apple.

Ranking: names that start with the text, then names (codes, departments) that contain it, then
pinyin matches from the first word of the name, then pinyin matches further in; within each,
shorter names first (可乐 before 可口可乐 330ml), then by name.

The index is built once per catalog (ProductIndex, made by Catalog.index()): the pinyin of every
name is one string, searched with one regular expression per keystroke (the work is in C), and
its products are in rank order, so a search stops as soon as it has enough.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tui_pos.domain.catalog import Product

_WORD = re.compile(r"[0-9a-z]+")
_LATIN_MARK = "\x00"  # pypinyin's errors callback marks the text that is not Chinese with it
_PINYIN_QUERY = re.compile(r"[0-9a-z' ]*[a-z][0-9a-z' ]*")  # letters (digits, spaces, apostrophes: xi'an) only


def search_fold(text: str) -> str:
    """Text as a look-up compares it: compatibility-decomposed (NFKD), accents dropped, casefolded."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def pinyin_words(name: str) -> list[tuple[str, bool]]:
    """The words a pinyin query spells: (word, is a Chinese syllable), in the order of the name.
    可口可乐 Zero 330ml -> ke kou ke le (syllables), zero, 330ml (words)."""
    from pypinyin import Style, lazy_pinyin  # lazy: ~0.15 s and its dictionaries, only once there is a search

    words: list[tuple[str, bool]] = []
    for piece in lazy_pinyin(name, style=Style.NORMAL, errors=lambda text: _LATIN_MARK + text):
        if piece.startswith(_LATIN_MARK):
            words += [(w, False) for w in _WORD.findall(search_fold(piece[1:]))]
        else:  # a syllable; lazy_pinyin may return several non-Chinese runs it let through as one piece
            words += [(w, piece.isascii() and piece.isalpha()) for w in _WORD.findall(piece.lower())]
    return words


def _encoded(words: Iterable[tuple[str, bool]]) -> str:
    """Words as the index stores them: each after a space; a syllable in capitals, so the query's
    pattern may skip the rest of a syllable ([A-Z]*) but never the rest of a Latin word."""
    return "".join(" " + (w.upper() if syllable else w) for w, syllable in words)


def _pattern(query: str) -> str:
    """The regular expression of a folded pinyin query (letters and digits only)."""
    pieces = ["[uUV]" if c == "u" else f"[{c}{c.upper()}]" if c.isalpha() else c for c in query]  # lü: lv or lu
    return " " + "(?:[A-Z]* )?".join(pieces)


class ProductIndex:
    """Products in rank order with their folded text and their pinyin; see the module docstring."""

    def __init__(self, products: Iterable[Product]):
        self._products = sorted(products, key=lambda p: (len(p.name), p.name, p.barcode))
        self._names, self._name_starts = _joined(search_fold(p.name) for p in self._products)
        self._texts, self._text_starts = _joined(search_fold(f"{p.name}\t{p.barcode}\t{p.department}")
                                                 for p in self._products)
        self._pinyin, self._pinyin_starts = _joined(_encoded(pinyin_words(p.name)) for p in self._products)

    def __len__(self) -> int:
        return len(self._products)

    def search(self, text: str, limit: int) -> list[Product]:
        needle = search_fold(text.strip())
        if not needle or limit <= 0:  # everything (`tui-pos catalog list` with no --search), or nothing
            return self._products[:max(limit, 0)]
        found: dict[int, None] = {}  # indexes in rank order within each tier, the tiers in order
        tiers = [self._found(self._names, self._name_starts, "\n" + needle),
                 self._found(self._texts, self._text_starts, needle)]
        if _PINYIN_QUERY.fullmatch(needle):  # 啤酒 b is a piece of a name, not pinyin
            pattern = _pattern(needle.replace(" ", "").replace("'", ""))
            tiers += [self._matches(re.compile(r"(?m)^" + pattern)), self._matches(re.compile(pattern))]
        for tier in tiers:
            for i in tier:
                found.setdefault(i)
                if len(found) >= limit:
                    return [self._products[i] for i in found]
        return [self._products[i] for i in found]

    def _found(self, text: str, starts: list[int], needle: str) -> Iterator[int]:
        """Indexes of the products whose line in text contains needle, in rank order."""
        at = text.find(needle)
        while at >= 0:
            i = bisect.bisect_right(starts, at) - 1
            yield i
            at = text.find(needle, starts[i + 1]) if i + 1 < len(starts) else -1

    def _matches(self, regex: re.Pattern[str]) -> Iterator[int]:
        last = -1
        for match in regex.finditer(self._pinyin):
            i = bisect.bisect_right(self._pinyin_starts, match.start()) - 1
            if i != last:
                last = i
                yield i


def _joined(lines: Iterable[str]) -> tuple[str, list[int]]:
    """Lines as one string, each after a newline, and where each one starts (its newline)."""
    starts: list[int] = []
    parts: list[str] = []
    offset = 0
    for line in lines:
        starts.append(offset)
        parts.append("\n" + line)
        offset += len(line) + 1
    return "".join(parts), starts
