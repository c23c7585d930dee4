"""The English words of support's screens (status, doctor, monitor, backup) that must not be left
in their output when the shop's language is Chinese: for the CLI's language tests."""

from __future__ import annotations

import re

ENGLISH_WORDS = re.compile(r"\b(?:Storage|Database|Journal|Printer|Backup|Shift|none|never|waiting|quarantined|free|"
                           r"valid|writable|backup yet|user\(s\)|sale\(s\)|Alerts|Last sales|opened|float)\b")


def english_left(text: str) -> list[str]:
    return ENGLISH_WORDS.findall(text)
