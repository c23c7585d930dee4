"""Push: every commit the till has that HQ lacks, in commit order, in batches, each all or none.

HQ, not the till, says how far it has got (hq.high_water): the till asks, then sends the commits
after that mark (StoreView.commits_after: SQLite's, then the records only in the journal, numbered
as replay will number them). A SequenceGap (HQ has less than the till thought: restored from an
older dump, or another process pushed meanwhile... any reason) sends it back to HQ's mark; a
batch whose answer was lost is sent again and HQ skips what it has. Nothing here is kept at the
till: after any failure, the next push starts again from HQ's mark.

With the till's database unreadable, the records only in the journal are numbered after the audit
anchor's last SQLite commit, and sent only when HQ's last commit from this till is exactly that
one (number and hash; the hash stands in for the resent last commit, out of reach then);
otherwise nothing is sent, Pushed.held_back says why and pending is unknown.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from tui_pos.domain.errors import N_
from tui_pos.domain.sync import waiting
from tui_pos.hq.connection import HqError
from tui_pos.hq.stream import SequenceGap, StreamConflict, held_hash, high_water, push
from tui_pos.store.crash import crash_point

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger(__name__)
BATCH = 500
# what a commit number HQ holds with another record means, and what to do
NOT_MINE = ("another box is pushing as this till (a copied disk?), or this till's database is older than what it "
            "pushed (restored from a backup?); nothing was sent (tui-pos hq verify; tui-pos hq restore-till "
            "rebuilds a till from HQ)")
RESENDS = 3  # SequenceGaps in one push_pending before it gives up (HQ's mark moving under it)


class Commits(Protocol):
    """What push reads: the store's view (tui_pos.store.view.StoreView)."""

    def commits_after(self, commit_seq: int, limit: int = BATCH, *, anchored: bool = False) -> list[dict[str, Any]]: ...

    def last_commit(self, *, anchored: bool = False) -> int | None: ...

    def anchored_commit(self) -> tuple[int, str] | None: ...


@dataclass(frozen=True)
class Pushed:
    pushed: int  # commits HQ added now
    duplicates: int  # commits HQ had already (a retry, or a record it holds under another number)
    breaks: int  # commits stored that do not follow the chain HQ holds (hq verify reports them)
    high_water: int  # HQ has every commit up to this one
    pending: int | None  # commits the till has that HQ lacks now (None: unknown, the database cannot be read)
    resent: int  # times HQ sent the push back to its own mark (SequenceGap)
    held_back: str = ""  # why records only in the journal were not sent (the database unreadable), or ""


def push_pending(conn: psycopg.Connection[Any], view: Commits, status: Mapping[str, Any] | None = None,
                 batch: int = BATCH) -> Pushed:
    """Push everything pending (at least one call to HQ: an idle till is seen too); status, what
    the till says of itself, goes with each batch, its "pending" the commits left after it.
    Raises HqUnreachable / HqError (StreamConflict: HQ holds another record under a commit
    number) with nothing lost: the next call starts again from HQ's mark."""
    mark = high_water(conn)
    last = view.last_commit()
    anchored, held_back = False, ""
    if last is None:  # the database cannot be read: the journal's records, numbered from the anchor, if HQ agrees
        anchored, held_back = _anchored(conn, view, mark)
        last = view.last_commit(anchored=True) if anchored else None
    if last is not None and last < mark:
        raise StreamConflict(f"HQ holds commits up to {mark} from this till, which has made only {last}: {NOT_MINE}")
    added = duplicates = breaks = resent = 0
    check = not anchored  # anchored: the hash HQ holds for its mark was compared instead
    while True:
        # the first batch carries again the last commit HQ holds: HQ refuses it (StreamConflict) when it
        # holds another record under that number (another box pushing as this till, a copied disk).
        # One read of the view (and so of the journal) for both
        again_too = check and mark > 0
        fetched = view.commits_after(mark - 1 if again_too else mark, batch + again_too, anchored=anchored)
        again = [e for e in fetched if e["commit_seq"] <= mark]
        envelopes = [e for e in fetched if e["commit_seq"] > mark][:batch]
        said = {**(status or {}), "pending": waiting(last, envelopes[-1]["commit_seq"] if envelopes else mark)}
        try:
            crash_point("push_before_send")
            result = push(conn, [*again, *envelopes], said)
            crash_point("push_after_send")
        except StreamConflict as conflict:
            raise StreamConflict(f"{conflict}: {NOT_MINE}") from None
        except SequenceGap as gap:
            if anchored:  # HQ's mark is not the anchor's commit any more: nothing numbered from it is sent
                mark, anchored, held_back = gap.high_water, False, f"HQ's last commit moved to {gap.high_water}"
                break
            resent += 1
            if resent > RESENDS:
                raise HqError(N_("{gap} (HQ's high-water mark kept moving: is another box pushing as this till?)"),
                              gap=str(gap)) from None
            mark, check = gap.high_water, True
            continue
        mark, check = result.high_water, False
        added, duplicates, breaks = added + result.added, duplicates + result.duplicates - len(again), breaks + result.breaks
        if len(envelopes) < batch:
            break
    last = view.last_commit(anchored=anchored)  # records committed while pushing wait for the next push
    if held_back:
        log.warning("records only in the journal not pushed: %s", held_back)
    return Pushed(added, duplicates, breaks, mark, waiting(last, mark), resent, held_back)


def _anchored(conn: psycopg.Connection[Any], view: Commits, mark: int) -> tuple[bool, str]:
    """With the database unreadable: may the journal's records be numbered after the anchor's
    commit? Only when HQ's last commit from this till is exactly it (number and hash): the
    anchor lags the database (written after each COMMIT), so a commit it missed, or one HQ lacks,
    makes the numbers a guess. (False, why) otherwise."""
    anchor = view.anchored_commit()
    if anchor is None:
        return False, "the database cannot be read and the audit anchor holds no commit to number from"
    if anchor[0] != mark:
        return False, (f"the database cannot be read; the audit anchor's last commit is {anchor[0]}, HQ's is {mark}: "
                       "the records only in the journal go once the database is repaired (tui-pos replay)")
    if held_hash(conn, mark) != anchor[1]:
        return False, (f"the database cannot be read; HQ holds commit {mark} with another hash than the audit anchor's: "
                       "the records only in the journal go once the database is repaired (tui-pos replay)")
    return True, ""
