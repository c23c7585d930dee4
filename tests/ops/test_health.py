"""The health report a till sends HQ with its syncs (tui_pos/ops/health.py): the facts `status`
reads and the alerts they raise, small and JSON-ready."""

from __future__ import annotations

import json

from conftest import NOODLES
from tui_pos.config import load_config
from tui_pos.ops.alerts import current_alerts
from tui_pos.ops.health import health_report
from tui_pos.ops.status import till_status

from .helpers import sell


def test_the_report_holds_what_support_asks_first(shop_dir):
    sold = sell(shop_dir, NOODLES)
    config = load_config(shop_dir)
    report = health_report(config)
    json.dumps(report)  # JSON-ready
    status = till_status(config, report["checked_at"])
    assert report["storage"] == status["storage"] == "ok" and report["journal_backlog"] == 0
    assert report["database"] == "ok"
    assert report["unprinted"] == status["printer"]["unprinted"] == report["printer"]["unprinted"]
    assert report["last_sale"]["receipt"] == sold["receipt"]
    assert report["shift"]["number"] == 1 and report["shift"]["sales"] == 1
    assert report["last_backup"] is None and report["backup"]["overdue"] in (True, False)
    assert report["alerts"] == [a.as_dict() for a in current_alerts(config, status)]
    assert set(report) >= {"storage", "journal_backlog", "printer", "unprinted", "last_backup", "shift", "alerts",
                           "clock"}
