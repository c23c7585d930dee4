"""The product look-up (issue 16): pinyin initials, full pinyin and both mixed, Latin words,
the ranking, and an index built once per catalog, not per keystroke."""

from __future__ import annotations

import pytest

from tui_pos.domain import search as search_module
from tui_pos.domain.catalog import Catalog, Product, TaxRate
from tui_pos.domain.search import pinyin_words

RATES = {"A": TaxRate("A", 1300)}
NAMES = {
    "1": "可口可乐 330ml",
    "2": "可乐",
    "3": "雀巢 Nescafé 咖啡",
    "4": "Coca Cola",
    "5": "Coca Orange Lemon Apple",
    "6": "快乐薯片",
    "7": "绿茶",
    "8": "中国银行 购物卡",  # 行 read hang here ...
    "9": "行走鞋",  # ... and xing here
    "10": "康师傅红烧牛肉面",
}
CATALOG = Catalog([Product(code, name, 100, "A", "饮料 Drinks" if code in "12" else "") for code, name in NAMES.items()],
                  RATES)


def names(text: str, limit: int = 20) -> list[str]:
    return [p.name for p in CATALOG.search(text, limit)]


def test_the_words_of_a_name_chinese_as_syllables_the_rest_folded():
    assert pinyin_words("雀巢Nescafé咖啡 330ml 绿茶") == [
        ("que", True), ("chao", True), ("nescafe", False), ("ka", True), ("fei", True), ("330ml", False),
        ("lv", True), ("cha", True)]


@pytest.mark.parametrize("text, found", [
    ("kkkl", ["可口可乐 330ml"]),  # initials
    ("KKKL", ["可口可乐 330ml"]),
    ("kekoukele", ["可口可乐 330ml"]),  # full pinyin
    ("kekouk", ["可口可乐 330ml"]),  # full, then the beginning of a syllable
    ("kkoukl", ["可口可乐 330ml"]),  # initials and full mixed
    ("ke kou ke le", ["可口可乐 330ml"]),  # spaces between syllables are ignored
    ("kkkl330", ["可口可乐 330ml"]),  # Chinese and Latin words in one query
    ("ksfhsnrm", ["康师傅红烧牛肉面"]),
    ("hsnrm", ["康师傅红烧牛肉面"]),  # from a later word of the name
    ("qcnescafekf", ["雀巢 Nescafé 咖啡"]),  # a Latin word between Chinese ones, in full
    ("qcnes", ["雀巢 Nescafé 咖啡"]),  # the last word may be a beginning
    ("lc", ["绿茶"]),
    ("lvcha", ["绿茶"]),  # ü is typed v, as input methods take it
    ("lucha", ["绿茶"]),  # or u
    ("yh", ["中国银行 购物卡"]),  # phrase-aware readings: 银行 yin hang ...
    ("xzx", ["行走鞋"]),  # ... 行走 xing zou
    ("zgyhgwk", ["中国银行 购物卡"]),
    ("cocacola", ["Coca Cola"]),
    ("zzzz", []),
    ("可乐 k", []),  # Chinese typed with it: a piece of a name only, never pinyin of what is left ("k")
    ("330", ["可口可乐 330ml"]),  # digits alone: a piece of a name or code, not pinyin
])
def test_pinyin_finds_names_by_initials_full_and_mixed(text, found):
    assert names(text) == found


def test_a_latin_word_is_matched_whole_except_at_the_end():
    """Initials are for Chinese syllables: `cola` is not Coca Orange Lemon Apple, `coo` is not Coca Orange."""
    assert names("cola") == ["Coca Cola"]
    assert names("coo") == []
    assert names("nkf") == []  # Nescafé's initial alone does not stand for the word


def test_ranking_start_of_name_then_substring_then_pinyin_from_the_start_then_further_in():
    assert names("可乐") == ["可乐", "可口可乐 330ml"]  # 可乐 starts the name; in 可口可乐 it is inside
    assert names("kl") == ["可乐", "快乐薯片", "可口可乐 330ml"]  # from the first syllable, shorter first; then inside
    # k is in the department of the first two (Drinks), starts the names of the next two, and is in the last two (卡 ka, 咖 ka)
    assert names("k") == ["可乐", "可口可乐 330ml", "快乐薯片", "康师傅红烧牛肉面", "中国银行 购物卡", "雀巢 Nescafé 咖啡"]
    assert names("coca") == ["Coca Cola", "Coca Orange Lemon Apple"]
    assert names("drinks") == ["可乐", "可口可乐 330ml"]  # the department, as before
    assert names("k", limit=3) == ["可乐", "可口可乐 330ml", "快乐薯片"]


def test_the_index_is_built_once_per_catalog_not_per_keystroke(monkeypatch):
    catalog = Catalog([Product(code, name, 100, "A") for code, name in NAMES.items()], RATES)
    calls: list[str] = []
    real = search_module.pinyin_words
    monkeypatch.setattr(search_module, "pinyin_words", lambda name: calls.append(name) or real(name))
    assert catalog.index() is catalog.index()
    assert sorted(calls) == sorted(NAMES.values())
    for typed in ("k", "kk", "kkk", "kkkl"):
        catalog.search(typed)
    assert len(calls) == len(NAMES)


def test_an_empty_query_finds_everything_and_a_limit_of_none_nothing():
    assert len(names("", limit=100)) == len(NAMES) and names("  ", limit=1) == ["可乐"]
    assert names("k", limit=0) == [] and names("", limit=0) == []


def test_a_search_during_the_background_build_waits_for_it_and_nothing_is_built_twice(monkeypatch):
    """The till builds the index in a worker; a keystroke before it is ready waits for that build."""
    import threading

    catalog = Catalog([Product(code, name, 100, "A") for code, name in NAMES.items()], RATES)
    started, release = threading.Event(), threading.Event()
    calls: list[str] = []
    real = search_module.pinyin_words

    def slow(name: str):
        calls.append(name)
        started.set()
        release.wait(10)
        return real(name)

    monkeypatch.setattr(search_module, "pinyin_words", slow)
    builder = threading.Thread(target=catalog.prepare_search)
    builder.start()
    assert started.wait(10)
    found: list[list[str]] = []
    searcher = threading.Thread(target=lambda: found.append([p.name for p in catalog.search("kkkl")]))
    searcher.start()
    searcher.join(0.2)
    assert searcher.is_alive() and not found  # waiting for the build under way
    release.set()
    builder.join(10)
    searcher.join(10)
    assert found == [["可口可乐 330ml"]] and len(calls) == len(NAMES)
