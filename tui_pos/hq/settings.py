"""The chain's tax rates and settings at HQ (`tui-pos hq tax set`, `tui-pos hq settings set|list`, an
administrator's connection): what every till takes at its next pull, over its config.toml.

Settings are the till's own keys, checked by the till's rules: discount_limit (a percentage: a
bigger discount needs a manager), paid_out_limit and z_difference_limit (amounts in the chain's
currency), and the reason codes a manager picks from per kind of approval (reasons.KIND, e.g.
reasons.refund). Each change takes the next catalog version (schema.py migration 3).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from tui_pos.config import CHAIN_LIMITS as LIMITS
from tui_pos.config import DEFAULT_REASONS
from tui_pos.domain.errors import N_, BadInput, check_text
from tui_pos.domain.money import format_bp, percent_to_bp
from tui_pos.hq.catalog import catalog_version, chain_currency
from tui_pos.hq.schema import check_current

if TYPE_CHECKING:
    import psycopg

REASON_LENGTH = 100  # as long as a reason may be at the till (app.context.REASON_LENGTH)
TAX_CODE = re.compile(r"[A-Za-z0-9_-]{1,32}")  # a [tax] rates code in config.toml


def set_tax_rate(conn: psycopg.Connection[Any], code: str, percent: str) -> dict[str, Any]:
    """A tax rate of every till (a new code, or a code's new rate)."""
    if not TAX_CODE.fullmatch(code):
        raise BadInput(N_("tax code {code}: use 1-32 letters, digits, _ or -"), code=repr(code[:40]))
    rate_bp = percent_to_bp(percent)
    check_current(conn)
    with conn.transaction():
        conn.execute("INSERT INTO hq.tax_rate (code, rate_bp) VALUES (%s, %s) ON CONFLICT (code) DO UPDATE "
                     "SET rate_bp = excluded.rate_bp WHERE tax_rate.rate_bp <> excluded.rate_bp", (code, rate_bp))
        return {"code": code, "rate": format_bp(rate_bp), "version": catalog_version(conn)}


def set_setting(conn: psycopg.Connection[Any], key: str, values: Sequence[str]) -> dict[str, Any]:
    """One setting of every till: a limit (one value) or reasons.KIND (one or more reasons)."""
    check_current(conn)
    value: Any
    stored: Any
    if key in LIMITS:
        if len(values) != 1:
            raise BadInput(N_("{key} takes one value"), key=key)
        value = values[0].strip()
        if key == "discount_limit":
            percent_to_bp(value)
        elif chain_currency(conn).parse(value) < 0:
            raise BadInput(N_("{key} {value} must be an amount of at least 0"), key=key, value=repr(value))
        stored_key, stored = key, value
    elif key.startswith("reasons."):
        kind = key.removeprefix("reasons.")
        if kind not in DEFAULT_REASONS:
            raise BadInput(N_("{kind} is not a kind of approval with reasons (use {kinds})"), kind=repr(kind),
                           kinds=", ".join(DEFAULT_REASONS))
        if not values:
            raise BadInput(N_("{key} takes at least one reason"), key=key)
        value = [check_text(v.strip(), "a reason", REASON_LENGTH) for v in values]
        if any(not v for v in value):
            raise BadInput(N_("a reason is empty"))
        held = conn.execute("SELECT value FROM hq.setting WHERE key = 'reasons'").fetchone()
        stored_key, stored = "reasons", {**(held[0] if held else {}), kind: value}
    else:
        raise BadInput(N_("{key} is not a setting HQ keeps (use {limits} or reasons.KIND)"), key=repr(key),
                       limits=", ".join(LIMITS))
    from psycopg.types.json import Jsonb

    with conn.transaction():
        conn.execute("INSERT INTO hq.setting (key, value) VALUES (%s, %s) ON CONFLICT (key) DO UPDATE "
                     "SET value = excluded.value WHERE setting.value <> excluded.value", (stored_key, Jsonb(stored)))
        return {"key": key, "value": value, "version": catalog_version(conn)}


def list_settings(conn: psycopg.Connection[Any]) -> dict[str, Any]:
    check_current(conn)
    return {"tax_rates": {code: format_bp(bp) for code, bp in conn.execute(
                "SELECT code, rate_bp FROM hq.tax_rate ORDER BY code")},
            "settings": {key: value for key, value in conn.execute("SELECT key, value FROM hq.setting ORDER BY key")},
            "version": catalog_version(conn)}
