"""The commit chain's arithmetic (domain/commits.py): numbers and hashes a till and HQ agree on."""

from __future__ import annotations

import hashlib
import json

from tui_pos.domain.commits import GENESIS, canonical_json, chained, commit_hash, first_break


def test_the_canonical_json_is_sorted_compact_and_keeps_chinese():
    record = {"b": (1, 2), "a": "可口可乐", 3: None}
    assert canonical_json(record) == '{"3":null,"a":"可口可乐","b":[1,2]}'
    assert canonical_json(json.loads(json.dumps(record))) == canonical_json(record)  # a journal line's round trip


def test_chained_numbers_on_and_each_hash_covers_the_one_before():
    records = [{"uuid": "u1", "total": 350}, {"uuid": "u2", "total": 200}]
    first, second = chained(records)
    assert (first["commit_seq"], first["prev_hash"]) == (1, GENESIS)
    assert first["hash"] == hashlib.sha256((GENESIS + '{"total":350,"uuid":"u1"}').encode()).hexdigest()
    assert (second["commit_seq"], second["prev_hash"]) == (2, first["hash"])
    assert second["hash"] == commit_hash(first["hash"], canonical_json(records[1]))
    continued = list(chained(records[1:], after=(1, first["hash"])))
    assert continued == [second]  # the journal's records continued after the last SQLite commit: the same


def test_first_break_finds_a_skipped_number_a_wrong_link_and_an_edited_record():
    envelopes = list(chained([{"uuid": f"u{i}", "n": i} for i in range(1, 6)]))
    assert first_break(envelopes) is None
    assert first_break(envelopes[2:], after=(2, envelopes[1]["hash"])) is None
    assert first_break(envelopes[:2] + envelopes[3:]) == 4
    assert first_break(envelopes[2:], after=(2, GENESIS)) == 3
    edited = [dict(e) for e in envelopes]
    edited[3] = {**edited[3], "record": {"uuid": "u4", "n": 40}}
    assert first_break(edited) == 4
