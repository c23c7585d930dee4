"""config.toml is checked against a schema as a whole when it is read: a wrong type, a value out of
range or an unknown key is one line naming the file, the line and the key. doctor and status still
run (with the defaults) and say what is wrong; every other command refuses."""

from __future__ import annotations

import json
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
