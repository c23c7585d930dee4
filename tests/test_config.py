"""config.toml is checked against a schema as a whole when it is read: a wrong type, a value out of
range or an unknown key is one line naming the file, the line and the key. doctor and status still
run (with the defaults) and say what is wrong; every other command refuses."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conftest import cli_error, run_cli
from tui_pos.config import ConfigError, config_text, load_config

# (config.toml, the line and key the message must name, what it must say)
BAD = [
    ('tax = "13"\n', "line 1: [tax]", "table"),
    ('till = 5\n', "line 1: [till]", "table"),
    ('ui = 1\n', "line 1: [ui]", "table"),
    ('[tax]\nrates = "13"\n', "line 2: [tax] rates", "table"),
    ('[tax.rates]\nA = "113"\n', "line 2: [tax.rates] A", "percentage"),
    ('[tax]\nrates = {}\n', "line 2: [tax] rates", "at least 1"),
    ('[shop]\nname = "x"\nexponent = -1\n', "line 3: [shop] exponent", "from 0 to 4"),
    ('[shop]\nprices_include_tax = "false"\n', "line 2: [shop] prices_include_tax", "true or false"),
    ('[till]\nid = "T1"\nrefunds = true\n', "line 3: [till] refunds", "not a setting"),
    ('[tills]\nid = "T2"\n', "line 1: [tills]", "not a setting"),
    ('[storage]\nreplay_interval_s = nan\n', "line 2: [storage] replay_interval_s", "number above 0"),
    ('[backup]\nevery_hours = inf\n', "line 2: [backup] every_hours", "number from 0"),
    ('[alerts]\nhook_timeout_s = -inf\n', "line 2: [alerts] hook_timeout_s", "number above 0"),
    ('[storage]\nretry_budget_ms = -1\n', "line 2: [storage] retry_budget_ms", "from 0 to 60000"),
    ('[storage]\nretry_budget_ms = 1.5\n', "line 2: [storage] retry_budget_ms", "whole number"),
    ('[till]\ndiscount_limit = "abc"\n', "line 2: [till] discount_limit", "percentage"),
    ('[till]\npaid_out_limit = "1.005"\n', "line 2: [till] paid_out_limit", "more than 2 decimals"),
    ('[shop]\nexponent = 0\ncash_rounding = "0.5"\n', "line 3: [shop] cash_rounding", "more than 0 decimals"),
    ('[shop]\ndenominations = ["100", "-5"]\n', "line 2: [shop] denominations", "above 0"),
    ('[shop]\nname = "a\\u0007b"\n', "line 2: [shop] name", "control characters"),
    ('[printer]\npaper = 57\n', "line 2: [printer] paper", "58 or 80"),
    ('[printer]\nconnection = "serial:/dev/ttyS0"\n', "line 2: [printer] connection", "usb:VID:PID"),
    ('[keys]\npay = 5\n', "line 2: [keys] pay", "string"),
    ('[till]\nreasons = [1, 2]\n', "line 2: [till] reasons", "list of strings"),
    ('"shop".  "exponent" = 7\n', "line 1: [shop] exponent", "from 0 to 4"),
]


def write_config(shop: Path, text: str) -> Path:
    path = shop / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("text, where, says", BAD)
def test_a_bad_value_names_the_file_line_and_key(tmp_path, text, where, says):
    path = write_config(tmp_path, text)
    with pytest.raises(ConfigError) as bad:
        load_config(tmp_path)
    message = str(bad.value)
    assert message.startswith(f"{path} {where} ") and says in message, message
    assert "\n" not in message


def test_every_problem_is_counted_and_listed(tmp_path):
    write_config(tmp_path, '[till]\nid = 5\npin_attempts = 0\n[ui]\ntheme = "dark"\n')
    with pytest.raises(ConfigError) as bad:
        load_config(tmp_path)
    assert str(bad.value).endswith("(and 2 more problems)")
    assert [p.split(": ", 1)[0].rsplit(" ", 1)[-1] for p in bad.value.problems] == ["2", "3", "5"]


def test_one_string_where_a_list_goes_is_a_list_of_one(tmp_path):
    """Not a list of its letters: 7 journal directories named j/o/u/r/n/a/l, 7 one-letter reasons."""
    write_config(tmp_path, '[till]\nreasons = "Damaged"\n[storage]\njournal_dirs = "journal"\n')
    config = load_config(tmp_path)
    assert config.reasons == ("Damaged",)
    assert config.storage.journal_dirs == (tmp_path / "journal",)


def test_the_template_and_no_file_give_the_same_defaults(tmp_path):
    from tui_pos.config import config_text, default_config

    write_config(tmp_path, config_text(till_id="T1", shop_name="tui-pos shop"))
    assert load_config(tmp_path) == default_config(tmp_path)


@pytest.mark.parametrize("text, where", [('tax = "13"\n', "line 1: [tax]"),
                                         ('[till]\ndiscount_limit = "abc"\n', "line 2: [till] discount_limit")])
def test_commands_refuse_but_doctor_and_status_say_what_is_wrong(shop_dir, text, where):
    path = write_config(shop_dir, text)
    assert cli_error(shop_dir, "sell", "--item", "6900000000014", "--tender", "cash").startswith(f"{path} {where} ")
    doctor = run_cli(shop_dir, "doctor", "--json", check=False)
    assert doctor.returncode == 1 and "Traceback" not in doctor.stderr
    config_check = json.loads(doctor.stdout)["checks"][0]
    assert config_check["level"] == "fail" and f"{path} {where} " in config_check["detail"]
    status = run_cli(shop_dir, "status", "--json")
    assert f"{path} {where} " in json.loads(status.stdout)["config_error"]
    human = run_cli(shop_dir, "status").stdout
    assert human.splitlines()[0].startswith(f"CONFIG    {path} {where} ")


def test_a_configured_reason_is_one_the_till_takes(tmp_path):
    """A reason longer than a refund, void or paid-out takes would pass here and be refused at the till."""
    write_config(tmp_path, f'[till]\nreasons = ["{"x" * 101}"]\n')
    with pytest.raises(ConfigError, match=r"line 2: \[till\] reasons .* at most 100 characters"):
        load_config(tmp_path)


# -- reason codes (was tests/test_config_reasons.py) --------------------------------------------
# Reason codes per kind of approval (issue 10 item 18): `[till.reasons]` gives each kind its
# own list; the old single `[till] reasons` list is still read (it was for refunds and voids).

def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "config.toml").write_text(text, encoding="utf-8")
    return tmp_path


def test_each_kind_of_approval_has_its_own_reasons_by_default(tmp_path):
    config = load_config(tmp_path)
    for kind in ("refund", "void", "discount", "price_override", "no_sale"):
        assert config.reasons_for(kind), kind
    assert "Damaged" in config.reasons_for("refund")
    # a return reason is never offered (let alone preselected) for a discount or a price change
    for kind in ("discount", "price_override", "no_sale"):
        assert not {"Damaged", "Changed mind", "Wrong item"} & set(config.reasons_for(kind)), kind
    assert config.reasons_for("void")[0] != "Damaged"
    assert config.reasons_for("quit") == ()  # an approval without a reason list asks for none


def test_a_table_sets_the_kinds_it_names_and_the_others_keep_their_defaults(tmp_path):
    default = load_config(tmp_path)
    config = load_config(write(tmp_path, '[till.reasons]\ndiscount = ["Staff", "Loyalty card"]\n'
                                         'no_sale = "Change for the bank"\n'))
    assert config.reasons_for("discount") == ("Staff", "Loyalty card")
    assert config.reasons_for("no_sale") == ("Change for the bank",)
    assert config.reasons_for("refund") == default.reasons_for("refund")
    assert config.reasons == default.reasons  # the refund list, as before


def test_the_old_single_list_is_still_read_for_refunds_and_voids(tmp_path):
    default = load_config(tmp_path)
    config = load_config(write(tmp_path, '[till]\nreasons = ["Broken", "Other"]\n'))
    assert config.reasons == ("Broken", "Other")
    assert config.reasons_for("refund") == config.reasons_for("void") == ("Broken", "Other")
    assert config.reasons_for("discount") == default.reasons_for("discount")


@pytest.mark.parametrize("text, where, says", [
    ('[till.reasons]\nrefnd = ["x"]\n', "line 2: [till.reasons] refnd", "discount"),
    ('[till.reasons]\ndiscount = []\n', "line 2: [till.reasons] discount", "1 to 100"),
    ('[till.reasons]\nvoid = [1]\n', "line 2: [till.reasons] void", "list of strings"),
    ('[till]\nreasons = 5\n', "line 2: [till] reasons", "list of strings"),
])
def test_a_bad_reason_list_is_one_line_naming_the_key(tmp_path, text, where, says):
    with pytest.raises(ConfigError) as bad:
        load_config(write(tmp_path, text))
    assert where in str(bad.value) and says in str(bad.value)


def test_the_template_lists_the_reasons_per_kind(tmp_path):
    text = config_text(till_id="T1", shop_name="x")
    assert "[till.reasons]" in text
    config = load_config(write(tmp_path, text))
    default = load_config(tmp_path.parent / "no-such-shop")
    for kind in ("refund", "void", "discount", "price_override", "no_sale"):
        assert config.reasons_for(kind) == default.reasons_for(kind), kind


def test_the_languages_of_the_screen_and_of_the_printer(tmp_path, monkeypatch):
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    assert load_config(tmp_path).ui_language == "zh_CN"  # no file: "auto", the system's locale
    assert load_config(tmp_path).printer_language == "zh_CN"  # the printer follows the screen
    config = load_config(write(tmp_path, '[ui]\nlanguage = "en"\n[printer]\nlanguage = "zh_CN"\n'))
    assert (config.ui_language, config.printer_language) == ("en", "zh_CN")
    with pytest.raises(ConfigError) as bad:
        load_config(write(tmp_path, '[ui]\nlanguage = "fr"\n'))
    assert "line 2: [ui] language" in str(bad.value) and "zh_CN" in str(bad.value)


# -- in the shop's language (issue 16): a config problem is a marked sentence, said in the file's [ui] language ------

def sentences(said: object) -> list[object]:
    """Every part of a config problem as it is said: each Said, each Each, and each plain piece of text
    with a letter in it that is not one of them (a sentence left unmarked)."""
    from tui_pos.domain.errors import Each, Said

    if isinstance(said, Each):
        return [said, *(s for part in said.parts for s in sentences(part))]
    if isinstance(said, Said):
        return [said, *(s for value in said.params.values() for s in sentences(value))]
    return []


UNMARKED_PARAMS = ("problem", "wanted", "hint", "error", "fix", "type")  # the params that carry words (shown: the value)


@pytest.mark.parametrize("text", [text for text, _where, _says in BAD] + [
    '[till]\nid = 3 3\n', '[till\nid = "T1"\n', '[shop]\nname = "unclosed\n', '[till]\n[till]\n',
    '[payments.alipay]\napp_id = "1"\nfoo = "x"\n', '[payments.wechat]\nmchid = "1"\n', '[printer]\ncolumns = 12\n',
    '[tax.rates]\n"a b" = "13"\n', '[stock]\nadjust_limit = "1.0005"\n', '[stock]\nvariance_qty = "-1"\n',
    '[shop]\ncurrency = "RMB1"\n', '[ui]\ntheme = "dark"\n', '[backup]\ndestinations = []\n',
    '[shop]\nname = 1979-05-27\n', '[shop]\nname = 07:32:00\n', '[shop]\nname = 1979-05-27T07:32:00Z\n',
    '[payments.wechat]\nmchid = 1979-05-27\n',
])
def test_every_config_problem_is_a_marked_sentence_the_catalog_translates(tmp_path, text):
    """Each sentence of the message and of every problem listed is a Said whose template zh_CN
    translates; the words within (what is wanted, a hint, the parser's finding) are Saids too,
    never English glued in; values typed in the file and key names stay as typed."""
    from tui_pos.domain.errors import Said
    from tui_pos.i18n import translator

    write_config(tmp_path, text)
    with pytest.raises(ConfigError) as bad:
        load_config(tmp_path)
    zh = translator("zh_CN")
    for problem in [bad.value.said, *bad.value.problems]:
        assert isinstance(problem, Said), problem
        for part in sentences(problem):
            template = part.template if isinstance(part, Said) else part.sep
            assert zh.gettext(template) != template, f"{template!r} of {problem!r} is not translated"
            for name in set(UNMARKED_PARAMS) & set(getattr(part, "params", {})):
                value = part.params[name]
                assert isinstance(value, Said) or not re.search(r"[A-Za-z]{3}", str(value)), \
                    f"{name}={value!r} in {part.template!r} is English glued in"


@pytest.mark.parametrize("text, language", [
    ('[ui]\nlanguage = "zh_CN"\ntheme = "dark"\n', "zh_CN"),  # the one value valid, another bad
    ('[till]\nid = 3 3\n[ui]\nlanguage = "zh_CN"  # the shop\'s\n', "zh_CN"),  # not TOML: the line read alone
    ('ui.language = "zh_CN"\n[till\n', "zh_CN"),
    ('[ui]\nlanguage = "en"\n[till]\npin_attempts = 0\n', "en"),
    ('[ui]\nlanguage = "fr"\n[till]\npin_attempts = 0\n', ""),  # the value itself bad: the system's
    ('[shop]\nlanguage = "zh_CN"\n[till\n', ""),  # not the [ui] one
    ('[ui]\nlanguage = "zh_CN"\n[till]\npin_attempts = 0\n', "zh_CN"),
])
def test_a_config_problem_is_said_in_the_files_ui_language_when_that_value_is_valid(tmp_path, text, language):
    write_config(tmp_path, text)
    with pytest.raises(ConfigError) as bad:
        load_config(tmp_path)
    assert bad.value.language == language


def test_a_file_not_in_utf_8_names_its_line_and_keeps_its_language(tmp_path):
    """A config.toml saved in GBK by an editor: the line of the first byte that is not UTF-8, said in
    the [ui] language the file states (its ASCII lines are read)."""
    (tmp_path / "config.toml").write_bytes('[ui]\nlanguage = "zh_CN"\n[shop]\nname = "小店"\n'.encode("gbk"))
    with pytest.raises(ConfigError) as bad:
        load_config(tmp_path)
    assert str(bad.value) == f"{tmp_path / 'config.toml'} line 4 is not UTF-8 text: save the file as UTF-8"
    assert bad.value.language == "zh_CN"


def test_the_parsers_own_words_are_said_with_the_line_and_column(tmp_path):
    from tui_pos import i18n

    path = write_config(tmp_path, '[till]\nid = "T1"\n[till]\n')
    with pytest.raises(ConfigError) as bad:
        load_config(tmp_path)
    assert str(bad.value) == f"{path} line 3 column 6 is not valid TOML: Cannot declare ('till',) twice"
    i18n.use_language("zh_CN")
    try:
        said = i18n.message(bad.value)
    finally:
        i18n.use_language("en")
    english = set(re.findall(r"[A-Za-z]{2,}", str(bad.value).replace(str(path), ""))) - {"TOML", "till"}
    assert said.startswith(f"{path} ") and "('till',)" in said and " 3 " in said and " 6 " in said, said
    assert not english & set(re.findall(r"[A-Za-z]{2,}", said)), said
