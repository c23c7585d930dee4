"""Reason codes per kind of approval (issue 10 item 18): `[till.reasons]` gives each kind its
own list; the old single `[till] reasons` list is still read (it was for refunds and voids)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tui_pos.config import CONFIG_TEMPLATE, ConfigError, load_config


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
    text = CONFIG_TEMPLATE.format(till_id="T1", shop_name="x")
    assert "[till.reasons]" in text
    config = load_config(write(tmp_path, text))
    default = load_config(tmp_path.parent / "no-such-shop")
    for kind in ("refund", "void", "discount", "price_override", "no_sale"):
        assert config.reasons_for(kind) == default.reasons_for(kind), kind
