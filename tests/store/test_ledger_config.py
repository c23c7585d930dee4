"""A configuration change is audited when the till next starts: which settings changed (never
their values: a hook command may hold a token), once per change."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing

from conftest import set_config
from tui_pos.bootstrap.till import open_till
from tui_pos.config import load_config


def config_changes(shop) -> list[list[str]]:
    with closing(sqlite3.connect(shop / "pos.sqlite3")) as conn:
        rows = conn.execute("SELECT detail FROM audit WHERE action = 'config_change' ORDER BY seq").fetchall()
    return [json.loads(detail)["changed"] for (detail,) in rows]


def start(shop) -> None:
    open_till(load_config(shop), cashier="", keep_cart=False).close()


def test_a_changed_setting_is_audited_once_by_name_and_never_by_value(shop_dir):
    before = config_changes(shop_dir)
    assert len(before) == 1 and "till.id" in before[0]  # the first start records every setting
    start(shop_dir)
    assert config_changes(shop_dir) == before  # nothing changed: nothing audited
    set_config(shop_dir, "till", "discount_limit", '"25"')
    set_config(shop_dir, "alerts", "hook", '"curl -H token:s3cr3t-hook-token https://example.invalid"')
    start(shop_dir)
    start(shop_dir)
    assert config_changes(shop_dir)[1:] == [["alerts.hook", "till.discount_limit"]]
    with closing(sqlite3.connect(shop_dir / "pos.sqlite3")) as conn:
        assert not conn.execute("SELECT 1 FROM audit WHERE detail LIKE '%s3cr3t%'").fetchall()
        assert not conn.execute("SELECT 1 FROM audit WHERE action = 'config_change' AND detail LIKE '%\"25\"%'").fetchall()
