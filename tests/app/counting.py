"""How often a use case takes the till's numbering lock and commits (tests of selling, returns and
shifts: one unit of work each), with the ledger's lock made to fail if its holder enters it again."""

from __future__ import annotations

import threading


class OneHolder:
    """The ledger's lock, made to fail when the thread holding it takes it again: what the old
    RLock allowed (pay's callback called back into the ledger while the ledger held its lock)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._owner: int | None = None

    def __enter__(self) -> OneHolder:
        if self._owner == threading.get_ident():
            raise AssertionError("the ledger was entered again by the thread holding its lock")
        self._lock.acquire()
        self._owner = threading.get_ident()
        return self

    def __exit__(self, *exc: object) -> None:
        self._owner = None
        self._lock.release()


def counting(till):
    """The numbering lock taken and the records committed by till's ledger, counted (each commit
    as its record's (type, uuid)); the ledger's own lock made to fail if entered again by its holder."""
    ledger = till.ledger
    ledger._lock = OneHolder()
    taken, commits = [], []
    held, commit = ledger.sequence.held, ledger.commit
    ledger.sequence.held = lambda: taken.append(1) or held()
    ledger.commit = lambda record: commits.append((record.get("type", "sale"), record["uuid"])) or commit(record)
    return taken, commits
