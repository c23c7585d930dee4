"""The health report a till sends HQ with its syncs (issue 13, "Watch every till"): the facts
`tui-pos status` reads and the alerts they raise (ops/status.py and ops/alerts.py, not computed
again here), made small: storage state, journal backlog, printer, unprinted receipts, last backup,
open shift, alerts. The sync worker adds the version and the clock's offset from HQ's.
"""

from __future__ import annotations

from typing import Any

from tui_pos.config import Config
from tui_pos.ops.alerts import current_alerts
from tui_pos.ops.status import till_status


def health_report(config: Config, now: str | None = None) -> dict[str, Any]:
    """JSON-ready; read-only, safe beside the selling till (one till_status())."""
    status = till_status(config, now)
    printer, backup, clock = status["printer"], status["backup"], status["clock"]
    sale = status["last_sale"]
    return {
        "checked_at": status["checked_at"],
        "storage": status["storage"], "storage_problems": status["storage_problems"],
        "database": status["database"]["state"],
        "journal_backlog": status["journal_backlog"], "quarantined": status["quarantined"],
        "printer": {"connection": printer["connection"], "unprinted": printer["unprinted"],
                    "oldest_unprinted_at": printer["oldest_unprinted_at"], "last_error": printer["last_error"]},
        "unprinted": printer["unprinted"],
        "last_backup": backup["last_ok_at"],
        "backup": {"last_ok_at": backup["last_ok_at"], "age_hours": backup["age_hours"], "overdue": backup["overdue"],
                   "last_attempt_ok": backup["last_attempt_ok"], "last_error": backup["last_error"]},
        "shift": status["shift"],
        "last_sale": sale and {"receipt": sale["receipt"], "completed_at": sale["completed_at"]},
        "clock": {"now": clock["now"], "behind_s": clock["behind_s"]},
        "alerts": [a.as_dict() for a in current_alerts(config, status)],
    }
