"""The code-payment gateways from config.toml ([payments.alipay], [payments.wechat]), made when a
provider is first used, never at start-up: the adapters (tui_pos/payments/alipay.py, wechat.py)
and their SDKs are imported then, by name.

A key may be given as its PEM text or as KEY_file = a path (relative paths are inside the data
directory); such a file must be readable by its owner alone (0600). Keys are never logged: an
unusable setting is reported by its key's name and the file's path only.
"""

from __future__ import annotations

import importlib
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tui_pos.app.ports import CodeGateway
from tui_pos.config import Config
from tui_pos.domain.errors import N_, PosError
from tui_pos.domain.payments import Provider

# provider -> (module, class) of its adapter
ADAPTERS: dict[str, tuple[str, str]] = {
    "alipay": ("tui_pos.payments.alipay", "AlipayGateway"),
    "wechat": ("tui_pos.payments.wechat", "WeChatGateway"),
}


class GatewaySetupError(PosError):
    """A provider's settings cannot make a gateway (a key file missing or open to others)."""


def provider_settings(config: Config, provider: str) -> dict[str, Any] | None:
    """The constructor keywords of a provider's gateway, KEY_file entries read (None: not set up).
    GatewaySetupError when a key file cannot be read or is readable by others."""
    raw = config.payments.provider(provider)
    if not raw:
        return None
    settings: dict[str, Any] = {}
    for name, value in raw.items():
        if name.endswith("_file"):
            settings[name[:-len("_file")]] = _read_key(config.data_dir, name, value)
        else:
            settings[name] = value
    settings["timeout"] = float(config.payments.timeout)
    return settings


def _read_key(data_dir: Path, name: str, value: str) -> str:
    path = Path(value).expanduser()
    path = path if path.is_absolute() else data_dir / path
    try:
        info = path.stat()
        if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise GatewaySetupError(N_("{path} ({key}) can be read by others (mode {mode}): chmod 600 {path}"),
                                    path=str(path), key=name, mode=f"{stat.S_IMODE(info.st_mode):04o}")
        return path.read_text(encoding="utf-8")
    except OSError as err:
        raise GatewaySetupError(N_("{path} ({key}) cannot be read: {error}"), path=str(path), key=name,
                                error=err.strerror or type(err).__name__) from None


def make_gateway(config: Config, provider: Provider) -> CodeGateway | None:
    """The provider's gateway as config.toml sets it up (None: not set up). Imports its adapter
    (and so, on its first call, its SDK) now."""
    settings = provider_settings(config, provider)
    if settings is None:
        return None
    module_name, class_name = ADAPTERS[provider]
    try:
        adapter = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as err:
        raise GatewaySetupError(N_("this tui-pos has no {provider} gateway ({error})"), provider=provider,
                                error=type(err).__name__) from None
    try:
        gateway: CodeGateway = adapter(**settings)
    except (TypeError, ValueError) as err:  # a key the adapter cannot take; never its value in the message
        raise GatewaySetupError(N_("the [payments.{provider}] settings are not usable: {error}"), provider=provider,
                                error=type(err).__name__) from None
    return gateway


def gateways_of(config: Callable[[], Config]) -> Callable[[Provider], CodeGateway | None]:
    """gateways(provider) for the Till: made from the configuration in force when first asked."""
    return lambda provider: make_gateway(config(), provider)
