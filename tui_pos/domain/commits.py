"""The till's commit order as a hash chain: every record the till stores gets the next commit number
and a hash that covers the record and every commit before it. The till keeps it (store/commit_log.py)
and pushes it as envelopes (sync/push.py); HQ stores the envelopes as they come and checks the chain
(hq verify). The same arithmetic on both sides, here, pure.

    hash = sha256(prev_hash + canonical_json(record)), the first commit's prev_hash = GENESIS

canonical_json is the record's JSON with sorted keys, no spaces, non-ASCII kept, of the record as
JSON would give it back (a tuple is a list, keys are strings): the journal line's record and the
one committed directly hash alike.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

GENESIS = "0" * 64
ENVELOPE_KEYS = ("commit_seq", "prev_hash", "hash", "record")


def canonical_json(record: Mapping[str, Any]) -> str:
    """The record's canonical JSON text (of its JSON round trip)."""
    plain = json.loads(json.dumps(record, ensure_ascii=False))
    return json.dumps(plain, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def commit_hash(prev_hash: str, canonical: str) -> str:
    """The hash of a commit whose record's canonical JSON is `canonical`, after the commit hashed prev_hash."""
    return hashlib.sha256((prev_hash + canonical).encode()).hexdigest()


def envelope(commit_seq: int, prev_hash: str, hash_: str, record: Mapping[str, Any]) -> dict[str, Any]:
    """What a till pushes for one commit."""
    return {"commit_seq": commit_seq, "prev_hash": prev_hash, "hash": hash_, "record": dict(record)}


def chained(records: Iterable[Mapping[str, Any]], after: tuple[int, str] = (0, GENESIS)) -> Iterator[dict[str, Any]]:
    """The envelopes of records committed in this order after the commit `after` (its number and
    hash): numbered on, the chain continued."""
    seq, prev = after
    for record in records:
        plain = json.loads(canonical_json(record))
        seq, digest = seq + 1, commit_hash(prev, canonical_json(plain))
        yield envelope(seq, prev, digest, plain)
        prev = digest


def first_break(envelopes: Iterable[Mapping[str, Any]], after: tuple[int, str] | None = None) -> int | None:
    """The commit number of the first envelope that does not follow the one before it (a number
    skipped, a prev_hash that is not the previous hash, a hash that is not its record's), or None.
    after: the commit before the first envelope (None: the first is taken as it is)."""
    last = after
    for item in envelopes:
        n, prev, digest = int(item["commit_seq"]), item["prev_hash"], item["hash"]
        if last is not None and (n != last[0] + 1 or prev != last[1]):
            return n
        if digest != commit_hash(prev, canonical_json(item["record"])):
            return n
        last = (n, digest)
    return None
