"""[payments] in config.toml (tui_pos/config.py): the code payments' timing and each provider's
settings, checked like every key (the file, the line and the key named)."""

from __future__ import annotations

import pytest

from tui_pos.config import ConfigError, PaymentsConfig, config_text, load_config


def test_no_file_and_the_template_give_the_same_payment_defaults(tmp_path):
    assert load_config(tmp_path).payments == PaymentsConfig()
    (tmp_path / "config.toml").write_text(config_text(), encoding="utf-8")
    settings = load_config(tmp_path).payments
    assert (settings.wait, settings.query_every, settings.reverse_after, settings.timeout) == (60, 5, 15, 10)
    assert settings.provider("alipay") == {} and settings.provider("wechat") == {}


def test_a_provider_set_up_with_key_files(tmp_path):
    (tmp_path / "config.toml").write_text(
        '[payments]\nwait = 30\n\n[payments.wechat]\nmchid = "1900000000"\nappid = "wx1"\n'
        'private_key_file = "keys/k.pem"\ncert_serial_no = "ABC"\napiv3_key_file = "keys/v3"\n'
        'public_key_file = "keys/pub.pem"\npublic_key_id = "PUB_KEY_ID_1"\n', encoding="utf-8")
    settings = load_config(tmp_path).payments
    assert settings.wait == 30 and settings.provider("wechat")["private_key_file"] == "keys/k.pem"


@pytest.mark.parametrize("text, where, says", [
    ('[payments.alipay]\napp_id = "1"\n', "line 1: [payments] alipay", "needs private_key, alipay_public_key"),
    ('[payments.alipay]\napp_id = "1"\nprivate_key = "k"\nalipay_public_key = "p"\nsecret = "x"\n',
     "line 5: [payments.alipay] secret", "is not a setting of [payments.alipay]"),
    ('[payments]\nwait = 1\n', "line 2: [payments] wait", "from 5"),
    ('[payments.wechat]\nmchid = 1900000000\n', "line 2: [payments.wechat] mchid", "must be a string"),
])
def test_a_bad_payments_setting_names_the_line_and_key(tmp_path, text, where, says):
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as bad:
        load_config(tmp_path)
    message = str(bad.value)
    assert message.startswith(f"{path} {where} ") and says in message, message
