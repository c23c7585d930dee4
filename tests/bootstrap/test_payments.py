"""The gateways from config.toml (tui_pos/bootstrap/payments.py): made when a provider is first used,
keys read from their files (0600 only), never a key's value in what is said."""

from __future__ import annotations

import os

import pytest

from conftest import set_config
from tui_pos.bootstrap.payments import GatewaySetupError, make_gateway, provider_settings
from tui_pos.config import load_config


def write_key(shop_dir, name: str, text: str, mode: int = 0o600) -> str:
    path = shop_dir / name
    path.write_text(text)
    os.chmod(path, mode)
    return name


def test_a_provider_not_set_up_has_no_gateway(shop_dir):
    config = load_config(shop_dir)
    assert provider_settings(config, "alipay") is None
    assert make_gateway(config, "wechat") is None


def test_keys_are_read_from_their_files_and_the_gateway_is_the_adapter(shop_dir):
    write_key(shop_dir, "app.pem", "-----BEGIN PRIVATE KEY-----\nAPP\n-----END PRIVATE KEY-----\n")
    set_config(shop_dir, "payments", "timeout", "4")
    with (shop_dir / "config.toml").open("a") as config:
        config.write('\n[payments.alipay]\napp_id = "2021000000000001"\nprivate_key_file = "app.pem"\n'
                     'alipay_public_key = "-----BEGIN PUBLIC KEY-----\\nALI\\n-----END PUBLIC KEY-----\\n"\n')
    config = load_config(shop_dir)
    settings = provider_settings(config, "alipay")
    assert settings == {"app_id": "2021000000000001",
                        "private_key": "-----BEGIN PRIVATE KEY-----\nAPP\n-----END PRIVATE KEY-----\n",
                        "alipay_public_key": "-----BEGIN PUBLIC KEY-----\nALI\n-----END PUBLIC KEY-----\n",
                        "timeout": 4.0}
    gateway = make_gateway(config, "alipay")
    assert type(gateway).__name__ == "AlipayGateway" and gateway.provider == "alipay"


def test_a_key_file_others_can_read_or_missing_is_refused_without_its_content(shop_dir):
    write_key(shop_dir, "app.pem", "SECRET-KEY-TEXT", mode=0o644)
    with (shop_dir / "config.toml").open("a") as config:
        config.write('\n[payments.alipay]\napp_id = "1"\nprivate_key_file = "app.pem"\n'
                     'alipay_public_key_file = "missing.pem"\n')
    config = load_config(shop_dir)
    with pytest.raises(GatewaySetupError, match="can be read by others") as refused:
        make_gateway(config, "alipay")
    assert "SECRET-KEY-TEXT" not in str(refused.value) and "chmod 600" in str(refused.value)
    os.chmod(shop_dir / "app.pem", 0o600)
    with pytest.raises(GatewaySetupError, match="missing.pem"):
        make_gateway(config, "alipay")
