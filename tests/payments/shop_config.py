"""Point a real shop's config.toml at a code-payment simulator, as a till's installer would set up
a provider: [payments.PROVIDER] with the keys in files of their own (0600, under keys/), and
[payments] waits short enough for tests (the smallest the settings take)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

# the settings a key file may hold instead (config.py PAYMENT_PROVIDER_KEYS: secret or long)
KEY_SETTINGS = {"alipay": ("private_key", "alipay_public_key"), "wechat": ("private_key", "apiv3_key", "public_key")}
QUICK = {"wait": "5", "query_every": "1", "reverse_after": "2", "timeout": "1"}


def point_at_simulator(shop: Path, provider: str, settings: dict[str, Any], **payments: str) -> None:
    """[payments.PROVIDER] = the simulator's settings (its .settings), keys as KEY_file; [payments]
    = QUICK, overridden by `payments`."""
    from conftest import set_config

    for key, value in {**QUICK, **payments}.items():
        set_config(shop, "payments", key, value)
    keys = shop / "keys"
    keys.mkdir(mode=0o700, exist_ok=True)
    lines = [f"\n[payments.{provider}]"]
    for name, value in settings.items():
        if name == "timeout":  # [payments] timeout is the one the till uses
            continue
        if name in KEY_SETTINGS[provider]:
            path = keys / f"{provider}_{name}.pem"
            path.write_text(value, encoding="utf-8")
            path.chmod(0o600)
            lines.append(f'{name}_file = "keys/{path.name}"')
        else:
            lines.append(f"{name} = {json.dumps(value)}")
    with (shop / "config.toml").open("a", encoding="utf-8") as config:
        config.write("\n".join(lines) + "\n")
