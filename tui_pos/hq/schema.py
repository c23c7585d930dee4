"""HQ's schema: named, versioned migrations, applied in order, each once (`tui-pos hq init DSN`).

Everything lives in the schema `hq`, owned by a NOLOGIN role `<prefix>_owner`; tills log in as
roles of their own (`<prefix>_till_<id>`, see enrol.py), members of `<prefix>_tills`, which may
only read reference data (shops, its own till row and records, under row-level security) and
call two SECURITY DEFINER functions: `hq.push(batch, status)` adds the caller's own records,
`hq.high_water()` says how far HQ has got with them. No till role may INSERT, UPDATE or DELETE
any table: HQ never edits a record.

The prefix is `tui_pos_` and the database's name (roles are the cluster's, databases are not):
two HQ databases in one cluster never share a till role.

Keys: every data table has the shop id first in its primary and unique keys (shards by shop
later, e.g. Citus `create_distributed_table('hq.record', 'shop_id')`); `hq.record` is
partitioned by month of the record's own time (its `completed_at`/`at`/`closed_at`/`opened_at`;
HQ's clock when it has none), partitions made on demand. A till id is unique in the chain: its
role name is derived from it (lower-cased) and role names are unique in the cluster.

A migration is never edited once released: a change is a new one at the end of MIGRATIONS.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tui_pos.domain.errors import N_
from tui_pos.hq.connection import HqError

if TYPE_CHECKING:
    import psycopg

SCHEMA = "hq"
LOCK_KEY = 0x7475_6970_6F73  # pg_advisory_lock key of `hq init` ("tuipos")

# SQLSTATEs hq.push raises (class TP, tui-pos's own): the client (stream.py) turns them into exceptions
GAP = "TP001"  # a commit number after a gap: DETAIL is {"high_water": N}
CONFLICT = "TP002"  # a commit number HQ already holds with another record
NOT_A_TILL = "TP003"  # the caller is no enrolled till
BAD_BATCH = "TP004"  # not a list of {"commit_seq": N, "record": {...}}
FOREIGN = "TP005"  # a record of another till


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str  # @OWNER@ and @TILLS@ stand for the roles' quoted names


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "chain: shops, tills, the records stream, till rights", r"""
CREATE TABLE hq.shop (
    shop_id text PRIMARY KEY CHECK (shop_id ~ '^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$'),
    name text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE hq.till (
    shop_id text NOT NULL REFERENCES hq.shop,
    till_id text NOT NULL CHECK (till_id ~ '^[A-Za-z0-9]{1,8}$'),
    role_name text NOT NULL,
    box_id uuid NOT NULL,                 -- the box that enrolled it: another box is refused
    enrolled_at timestamptz NOT NULL DEFAULT now(),
    last_seen timestamptz,                -- its last push
    high_water bigint NOT NULL DEFAULT 0, -- every commit up to this one is at HQ
    records bigint NOT NULL DEFAULT 0,    -- records added
    status jsonb,                         -- what it said of itself at its last push ({"pending": N, ...})
    PRIMARY KEY (shop_id, till_id),
    UNIQUE (shop_id, role_name)
);

CREATE TABLE hq.record (
    shop_id text NOT NULL,
    till_id text NOT NULL,
    commit_seq bigint NOT NULL CHECK (commit_seq > 0), -- the till's commit order
    uuid uuid NOT NULL,
    type text NOT NULL,
    recorded_at timestamptz NOT NULL,                  -- the record's own time: the partition key
    received_at timestamptz NOT NULL DEFAULT now(),
    record jsonb NOT NULL,                             -- as the till's journal holds it
    PRIMARY KEY (shop_id, till_id, commit_seq, recorded_at),
    UNIQUE (shop_id, till_id, uuid, recorded_at),
    FOREIGN KEY (shop_id, till_id) REFERENCES hq.till
) PARTITION BY RANGE (recorded_at);

ALTER DEFAULT PRIVILEGES FOR ROLE @OWNER@ IN SCHEMA hq REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;

-- The record's own time, or NULL (none, unreadable, before 2000 or more than a month ahead of HQ's clock).
CREATE FUNCTION hq.record_time(rec jsonb) RETURNS timestamptz
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET timezone = 'UTC' AS $$
DECLARE
    written text := coalesce(rec->>'completed_at', rec->>'at', rec->>'closed_at', rec->>'opened_at');
    t timestamptz;
BEGIN
    IF written IS NULL OR written !~ '^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}' THEN
        RETURN NULL;
    END IF;
    BEGIN
        t := written::timestamptz;
    EXCEPTION WHEN others THEN
        RETURN NULL;
    END;
    IF t < '2000-01-01 00:00+00' OR t > now() + interval '31 days' THEN
        RETURN NULL;  -- a till's clock years ahead makes no partitions far in the future
    END IF;
    RETURN t;
END $$;

-- The month partition of hq.record holding `at`, made if missing. Called before anything else
-- in a transaction touches hq.record (its lock would deadlock with another creator's).
CREATE FUNCTION hq.ensure_record_partition(at timestamptz) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET timezone = 'UTC' AS $$
DECLARE
    first timestamptz := date_trunc('month', at);
    name text := 'record_' || to_char(first, 'YYYY_MM');
BEGIN
    IF to_regclass('hq.' || name) IS NOT NULL THEN
        RETURN;
    END IF;
    -- what CREATE ... PARTITION OF takes anyway, taken first: a concurrent creator waits here, and
    -- taking it reads the catalog anew (an advisory lock would not: it would try to create it again)
    LOCK TABLE hq.record IN ACCESS EXCLUSIVE MODE;
    IF to_regclass('hq.' || name) IS NULL THEN
        EXECUTE format('CREATE TABLE hq.%I PARTITION OF hq.record FOR VALUES FROM (%L) TO (%L)',
                       name, first, first + interval '1 month');
    END IF;
END $$;

-- Add the calling till's records, in its commit order, each once.
--   batch:  [{"commit_seq": N, "record": {"uuid": ..., "type": ..., ...}}, ...] (any order: sorted here)
--   status: what the till says of itself ({"pending": N, ...}), kept as the till's last status
-- A commit number HQ already has is skipped when it is the same record (a retry after a lost
-- answer), and refused (TP002) when it is another. The next commit number is added; a record
-- whose uuid HQ already has (pushed from the journal, replayed since under a new commit number)
-- fills its slot without being added twice. A number after a gap is refused (TP001) and the
-- whole batch with it: DETAIL says {"high_water": N}, every commit up to N is at HQ.
-- Returns {"high_water": N, "added": A, "duplicates": D}.
CREATE FUNCTION hq.push(batch jsonb, status jsonb DEFAULT NULL) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET timezone = 'UTC' AS $$
DECLARE
    me hq.till;
    item jsonb;
    rec jsonb;
    n bigint;
    id uuid;
    at timestamptz;
    held uuid;
    start bigint;
    added int := 0;
    duplicates int := 0;
BEGIN
    IF jsonb_typeof(batch) IS DISTINCT FROM 'array' THEN
        RAISE EXCEPTION 'a push is a JSON list of {"commit_seq": N, "record": {...}}' USING ERRCODE = 'TP004';
    END IF;
    IF status IS NOT NULL AND jsonb_typeof(status) <> 'object' THEN
        RAISE EXCEPTION 'a till''s status is a JSON object' USING ERRCODE = 'TP004';
    END IF;
    -- partitions first: nothing in this transaction has touched hq.record yet (next month's too:
    -- made a month ahead, not by every till at once at midnight on the first)
    PERFORM hq.ensure_record_partition(now() + interval '1 month');
    PERFORM hq.ensure_record_partition(t) FROM (
        SELECT DISTINCT date_trunc('month', coalesce(hq.record_time(e.value->'record'), now())) AS t
        FROM jsonb_array_elements(batch) e WHERE jsonb_typeof(e.value->'record') = 'object') months;
    SELECT * INTO me FROM hq.till WHERE role_name = session_user FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'role % is not an enrolled till (tui-pos hq join)', session_user USING ERRCODE = 'TP003';
    END IF;
    start := me.high_water;  -- what HQ has, whatever this batch does: a refusal takes all of it back
    FOR item IN
        SELECT e.value FROM jsonb_array_elements(batch) e
        ORDER BY CASE WHEN jsonb_typeof(e.value->'commit_seq') = 'number' THEN (e.value->>'commit_seq')::numeric END
                 NULLS FIRST
    LOOP
        IF jsonb_typeof(item) <> 'object' OR jsonb_typeof(item->'commit_seq') IS DISTINCT FROM 'number'
           OR (item->>'commit_seq') !~ '^[1-9][0-9]{0,17}$' OR jsonb_typeof(item->'record') IS DISTINCT FROM 'object' THEN
            RAISE EXCEPTION 'not a pushed record: % (each is {"commit_seq": N >= 1, "record": {...}})', left(item::text, 200)
                USING ERRCODE = 'TP004';
        END IF;
        n := (item->>'commit_seq')::bigint;
        rec := item->'record';
        IF coalesce(rec->>'uuid', '') !~* '^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$' THEN
            RAISE EXCEPTION 'commit % has no record uuid: %', n, left(rec::text, 200) USING ERRCODE = 'TP004';
        END IF;
        id := (rec->>'uuid')::uuid;
        IF rec ? 'till_id' AND rec->>'till_id' IS DISTINCT FROM me.till_id THEN
            RAISE EXCEPTION 'record % is till %''s, not till %''s', id, rec->>'till_id', me.till_id
                USING ERRCODE = 'TP005';
        END IF;
        IF n <= me.high_water OR n = me.high_water + 1 THEN
            IF EXISTS (SELECT 1 FROM hq.record r
                       WHERE r.shop_id = me.shop_id AND r.till_id = me.till_id AND r.uuid = id) THEN
                duplicates := duplicates + 1;
            ELSIF n <= me.high_water THEN
                SELECT r.uuid INTO held FROM hq.record r
                WHERE r.shop_id = me.shop_id AND r.till_id = me.till_id AND r.commit_seq = n;
                RAISE EXCEPTION 'till % commit % is record % at HQ, not %', me.till_id, n, held, id
                    USING ERRCODE = 'TP002', DETAIL = json_build_object('high_water', start)::text;
            ELSE
                at := coalesce(hq.record_time(rec), now());
                INSERT INTO hq.record (shop_id, till_id, commit_seq, uuid, type, recorded_at, record)
                VALUES (me.shop_id, me.till_id, n, id, coalesce(rec->>'type', 'sale'), at, rec);
                added := added + 1;
            END IF;
            me.high_water := greatest(me.high_water, n);
        ELSE
            RAISE EXCEPTION 'till % commit % comes after a gap: HQ has every commit up to %, send from % on',
                me.till_id, n, start, start + 1
                USING ERRCODE = 'TP001', DETAIL = json_build_object('high_water', start)::text;
        END IF;
    END LOOP;
    UPDATE hq.till SET high_water = me.high_water, records = records + added, last_seen = now(),
                       status = coalesce(push.status, till.status)
    WHERE till.shop_id = me.shop_id AND till.till_id = me.till_id;
    RETURN jsonb_build_object('high_water', me.high_water, 'added', added, 'duplicates', duplicates);
END $$;

-- How far HQ has got with the calling till: every commit up to this number is at HQ (0: none).
CREATE FUNCTION hq.high_water() RETURNS bigint
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    mark bigint;
BEGIN
    SELECT t.high_water INTO mark FROM hq.till t WHERE t.role_name = session_user;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'role % is not an enrolled till (tui-pos hq join)', session_user USING ERRCODE = 'TP003';
    END IF;
    RETURN mark;
END $$;

-- Rights: tills read reference data and their own rows; they write only through hq.push.
ALTER TABLE hq.till ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_till ON hq.till FOR SELECT TO @TILLS@ USING (role_name = session_user);
ALTER TABLE hq.record ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_records ON hq.record FOR SELECT TO @TILLS@
    USING (EXISTS (SELECT 1 FROM hq.till t WHERE t.role_name = session_user
                   AND t.shop_id = record.shop_id AND t.till_id = record.till_id));
REVOKE ALL ON ALL TABLES IN SCHEMA hq FROM PUBLIC;
GRANT USAGE ON SCHEMA hq TO @TILLS@;
GRANT SELECT ON hq.shop, hq.till, hq.record, hq.migration TO @TILLS@;
REVOKE ALL ON FUNCTION hq.record_time(jsonb), hq.ensure_record_partition(timestamptz),
    hq.push(jsonb, jsonb), hq.high_water() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION hq.push(jsonb, jsonb), hq.high_water() TO @TILLS@;
"""),
    Migration(2, "stream chain: commit hashes, commits whose record HQ had", r"""
-- Each commit's place in the till's hash chain (domain/commits.py): hash = sha256(prev_hash +
-- canonical JSON of the record). NULL for commits pushed without them (before this migration).
ALTER TABLE hq.record ADD COLUMN prev_hash text CHECK (prev_hash ~ '^[0-9a-f]{64}$'),
                      ADD COLUMN hash text CHECK (hash ~ '^[0-9a-f]{64}$');

-- A commit whose record HQ already holds under another commit number (pushed from the journal
-- under one number, committed since under another): the slot is filled, the record not added twice.
CREATE TABLE hq.commit_moved (
    shop_id text NOT NULL,
    till_id text NOT NULL,
    commit_seq bigint NOT NULL CHECK (commit_seq > 0),
    uuid uuid NOT NULL,
    prev_hash text,
    hash text,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (shop_id, till_id, commit_seq),
    FOREIGN KEY (shop_id, till_id) REFERENCES hq.till
);

-- Every till's stream as it pushed it, one row per commit number: what hq verify walks.
CREATE VIEW hq.stream AS
    SELECT shop_id, till_id, commit_seq, uuid, prev_hash, hash, false AS moved FROM hq.record
    UNION ALL
    SELECT shop_id, till_id, commit_seq, uuid, prev_hash, hash, true FROM hq.commit_moved;

-- Add the calling till's commits, in its commit order, each once.
--   batch:  [{"commit_seq": N, "prev_hash": H0, "hash": H, "record": {"uuid": ..., ...}}, ...] (any
--           order: sorted here; prev_hash and hash may be left out: NULL, a chain HQ cannot check)
--   status: what the till says of itself ({"pending": N, ...}): its keys replace those it said before
-- A commit number HQ already has is skipped when it is the same record (a retry after a lost
-- answer), and refused (TP002) when it is another. The next commit number is added; a record
-- whose uuid HQ already has fills its slot in hq.commit_moved without being added twice. A number
-- after a gap is refused (TP001) and the whole batch with it: DETAIL says {"high_water": N}, every
-- commit up to N is at HQ. A commit whose prev_hash is not the hash of the commit before it (a
-- chain break) is stored all the same, never refused: records are never lost; hq verify reports it.
-- Returns {"high_water": N, "added": A, "duplicates": D, "breaks": B}.
CREATE OR REPLACE FUNCTION hq.push(batch jsonb, status jsonb DEFAULT NULL) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET timezone = 'UTC' AS $$
DECLARE
    me hq.till;
    item jsonb;
    rec jsonb;
    n bigint;
    id uuid;
    at timestamptz;
    held uuid;
    start bigint;
    prev text;
    digest text;
    last_hash text;
    added int := 0;
    duplicates int := 0;
    breaks int := 0;
BEGIN
    IF jsonb_typeof(batch) IS DISTINCT FROM 'array' THEN
        RAISE EXCEPTION 'a push is a JSON list of {"commit_seq": N, "prev_hash": H, "hash": H, "record": {...}}'
            USING ERRCODE = 'TP004';
    END IF;
    IF status IS NOT NULL AND jsonb_typeof(status) <> 'object' THEN
        RAISE EXCEPTION 'a till''s status is a JSON object' USING ERRCODE = 'TP004';
    END IF;
    -- partitions first: nothing in this transaction has touched hq.record yet (next month's too:
    -- made a month ahead, not by every till at once at midnight on the first)
    PERFORM hq.ensure_record_partition(now() + interval '1 month');
    PERFORM hq.ensure_record_partition(t) FROM (
        SELECT DISTINCT date_trunc('month', coalesce(hq.record_time(e.value->'record'), now())) AS t
        FROM jsonb_array_elements(batch) e WHERE jsonb_typeof(e.value->'record') = 'object') months;
    SELECT * INTO me FROM hq.till WHERE role_name = session_user FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'role % is not an enrolled till (tui-pos hq join)', session_user USING ERRCODE = 'TP003';
    END IF;
    start := me.high_water;  -- what HQ has, whatever this batch does: a refusal takes all of it back
    SELECT s.hash INTO last_hash FROM hq.stream s
    WHERE s.shop_id = me.shop_id AND s.till_id = me.till_id AND s.commit_seq = me.high_water;
    FOR item IN
        SELECT e.value FROM jsonb_array_elements(batch) e
        ORDER BY CASE WHEN jsonb_typeof(e.value->'commit_seq') = 'number' THEN (e.value->>'commit_seq')::numeric END
                 NULLS FIRST
    LOOP
        IF jsonb_typeof(item) <> 'object' OR jsonb_typeof(item->'commit_seq') IS DISTINCT FROM 'number'
           OR (item->>'commit_seq') !~ '^[1-9][0-9]{0,17}$' OR jsonb_typeof(item->'record') IS DISTINCT FROM 'object'
           OR coalesce(jsonb_typeof(item->'prev_hash'), 'null') NOT IN ('string', 'null')
           OR coalesce(jsonb_typeof(item->'hash'), 'null') NOT IN ('string', 'null')
           OR coalesce(item->>'prev_hash', repeat('0', 64)) !~ '^[0-9a-f]{64}$'
           OR coalesce(item->>'hash', repeat('0', 64)) !~ '^[0-9a-f]{64}$' THEN
            RAISE EXCEPTION 'not a pushed record: % (each is {"commit_seq": N >= 1, "prev_hash": H, "hash": H, '
                            '"record": {...}}, H 64 hex digits)', left(item::text, 200)
                USING ERRCODE = 'TP004';
        END IF;
        n := (item->>'commit_seq')::bigint;
        rec := item->'record';
        prev := item->>'prev_hash';
        digest := item->>'hash';
        IF coalesce(rec->>'uuid', '') !~* '^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$' THEN
            RAISE EXCEPTION 'commit % has no record uuid: %', n, left(rec::text, 200) USING ERRCODE = 'TP004';
        END IF;
        id := (rec->>'uuid')::uuid;
        IF rec ? 'till_id' AND rec->>'till_id' IS DISTINCT FROM me.till_id THEN
            RAISE EXCEPTION 'record % is till %''s, not till %''s', id, rec->>'till_id', me.till_id
                USING ERRCODE = 'TP005';
        END IF;
        IF n <= me.high_water THEN
            IF NOT EXISTS (SELECT 1 FROM hq.stream s WHERE s.shop_id = me.shop_id AND s.till_id = me.till_id
                           AND s.commit_seq = n AND s.uuid = id) THEN
                SELECT s.uuid INTO held FROM hq.stream s
                WHERE s.shop_id = me.shop_id AND s.till_id = me.till_id AND s.commit_seq = n;
                RAISE EXCEPTION 'till % commit % is record % at HQ, not %', me.till_id, n, held, id
                    USING ERRCODE = 'TP002', DETAIL = json_build_object('high_water', start)::text;
            END IF;
            duplicates := duplicates + 1;  -- a retry after a lost answer: HQ has it
        ELSIF n = me.high_water + 1 THEN
            IF prev IS DISTINCT FROM last_hash AND prev IS NOT NULL AND last_hash IS NOT NULL
               OR prev IS DISTINCT FROM repeat('0', 64) AND prev IS NOT NULL AND n = 1 THEN
                breaks := breaks + 1;  -- stored all the same: hq verify reports it
            END IF;
            IF EXISTS (SELECT 1 FROM hq.record r
                       WHERE r.shop_id = me.shop_id AND r.till_id = me.till_id AND r.uuid = id) THEN
                INSERT INTO hq.commit_moved (shop_id, till_id, commit_seq, uuid, prev_hash, hash)
                VALUES (me.shop_id, me.till_id, n, id, prev, digest);
                duplicates := duplicates + 1;
            ELSE
                at := coalesce(hq.record_time(rec), now());
                INSERT INTO hq.record (shop_id, till_id, commit_seq, uuid, type, recorded_at, record, prev_hash, hash)
                VALUES (me.shop_id, me.till_id, n, id, coalesce(rec->>'type', 'sale'), at, rec, prev, digest);
                added := added + 1;
            END IF;
            me.high_water := n;
            last_hash := digest;
        ELSE
            RAISE EXCEPTION 'till % commit % comes after a gap: HQ has every commit up to %, send from % on',
                me.till_id, n, start, start + 1
                USING ERRCODE = 'TP001', DETAIL = json_build_object('high_water', start)::text;
        END IF;
    END LOOP;
    -- the status's keys replace those the till said before (a push without one keeps them all)
    UPDATE hq.till SET high_water = me.high_water, records = records + added, last_seen = now(),
                       status = CASE WHEN push.status IS NULL THEN till.status
                                     ELSE coalesce(till.status, '{}'::jsonb) || push.status END
    WHERE till.shop_id = me.shop_id AND till.till_id = me.till_id;
    RETURN jsonb_build_object('high_water', me.high_water, 'added', added, 'duplicates', duplicates,
                              'breaks', breaks);
END $$;

REVOKE ALL ON hq.commit_moved, hq.stream FROM PUBLIC;
ALTER TABLE hq.commit_moved ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_commits ON hq.commit_moved FOR SELECT TO @TILLS@
    USING (EXISTS (SELECT 1 FROM hq.till t WHERE t.role_name = session_user
                   AND t.shop_id = commit_moved.shop_id AND t.till_id = commit_moved.till_id));
GRANT SELECT ON hq.commit_moved TO @TILLS@;
"""),
    Migration(3, "catalog: chain products with shop overrides, tax rates, users, settings, versioned", r"""
-- What HQ manages for every till, versioned: each row changed takes the next number of one
-- chain-wide sequence (a trigger sets it); a till asks for what changed since the last number it
-- applied (hq.catalog_changes). Changes are made one transaction at a time (the trigger takes a
-- transaction lock before the number): a version a till has seen is never followed by a smaller
-- one committing later, so no change is ever skipped.
-- hq.product, hq.tax_rate, hq.person and hq.setting are the chain's own (no shop: reference
-- tables, Citus create_reference_table); hq.shop_product, a shop's own version of a product,
-- has the shop first in its key.
CREATE SEQUENCE hq.catalog_version_seq AS bigint;

CREATE FUNCTION hq.next_catalog_version() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(7627702902543981107);  -- one catalog change at a time, in version order
    NEW.version := nextval('hq.catalog_version_seq');
    RETURN NEW;
END $$;

CREATE TABLE hq.tax_rate (
    code text PRIMARY KEY CHECK (code ~ '^[A-Za-z0-9_-]{1,32}$'),
    rate_bp integer NOT NULL CHECK (rate_bp BETWEEN 0 AND 10000),  -- 1300 = 13 %
    version bigint NOT NULL
);

CREATE TABLE hq.product (
    barcode text PRIMARY KEY CHECK (barcode ~ '^[0-9]{1,20}$'),
    name text NOT NULL CHECK (name <> ''),
    price bigint NOT NULL CHECK (price >= 0),  -- minor units (fen); 0: an open price
    tax_code text NOT NULL,
    department text NOT NULL DEFAULT '',
    open_price boolean NOT NULL DEFAULT false,
    version bigint NOT NULL
);

CREATE TABLE hq.shop_product (  -- a shop's own price (and name, tax, department): it wins over the chain's
    shop_id text NOT NULL REFERENCES hq.shop,
    barcode text NOT NULL CHECK (barcode ~ '^[0-9]{1,20}$'),
    name text NOT NULL CHECK (name <> ''),
    price bigint NOT NULL CHECK (price >= 0),
    tax_code text NOT NULL,
    department text NOT NULL DEFAULT '',
    open_price boolean NOT NULL DEFAULT false,
    version bigint NOT NULL,
    PRIMARY KEY (shop_id, barcode)
);

CREATE TABLE hq.person (  -- the chain's users: one PIN, one switch, for every till
    name text PRIMARY KEY,
    role text NOT NULL CHECK (role IN ('cashier', 'manager')),
    pin_hash text NOT NULL,
    active boolean NOT NULL DEFAULT true,
    version bigint NOT NULL
);
CREATE UNIQUE INDEX person_name_any_case ON hq.person (lower(name));  -- 'Demo' is demo

CREATE TABLE hq.setting (  -- the chain's settings: currency, reason codes, limits (JSON values)
    key text PRIMARY KEY CHECK (key IN ('currency', 'reasons', 'discount_limit', 'paid_out_limit',
                                        'z_difference_limit')),
    value jsonb NOT NULL,
    version bigint NOT NULL
);

CREATE TRIGGER versioned BEFORE INSERT OR UPDATE ON hq.tax_rate FOR EACH ROW EXECUTE FUNCTION hq.next_catalog_version();
CREATE TRIGGER versioned BEFORE INSERT OR UPDATE ON hq.product FOR EACH ROW EXECUTE FUNCTION hq.next_catalog_version();
CREATE TRIGGER versioned BEFORE INSERT OR UPDATE ON hq.shop_product FOR EACH ROW EXECUTE FUNCTION hq.next_catalog_version();
CREATE TRIGGER versioned BEFORE INSERT OR UPDATE ON hq.person FOR EACH ROW EXECUTE FUNCTION hq.next_catalog_version();
CREATE TRIGGER versioned BEFORE INSERT OR UPDATE ON hq.setting FOR EACH ROW EXECUTE FUNCTION hq.next_catalog_version();

-- A new chain starts as a new till does: CNY in fen, tax rates A 13 % and B 9 %.
INSERT INTO hq.setting (key, value) VALUES ('currency', '{"code": "CNY", "exponent": 2}');
INSERT INTO hq.tax_rate (code, rate_bp) VALUES ('A', 1300), ('B', 900);

-- The chain's catalog version: every change up to it is committed (0: none yet).
CREATE FUNCTION hq.catalog_version() RETURNS bigint
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT coalesce(max(v), 0) FROM (
        SELECT max(version) FROM hq.product UNION ALL SELECT max(version) FROM hq.shop_product
        UNION ALL SELECT max(version) FROM hq.person UNION ALL SELECT max(version) FROM hq.tax_rate
        UNION ALL SELECT max(version) FROM hq.setting) versions(v)
$$;

-- What changed for the calling till's shop after version `since`, up to the version returned:
-- {"version": N, "products": [the shop's product rows: its own where it has one, else the chain's],
--  "users": [...], "tax_rates": [...], "settings": {key: value}}. All of it from one snapshot
-- (STABLE: every statement sees the caller's); since 0, or a version HQ has not reached (HQ restored
-- from an older dump): everything.
CREATE FUNCTION hq.catalog_changes(since bigint) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    me hq.till;
    top bigint;
BEGIN
    SELECT * INTO me FROM hq.till WHERE role_name = session_user;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'role % is not an enrolled till (tui-pos hq join)', session_user USING ERRCODE = 'TP003';
    END IF;
    top := hq.catalog_version();
    IF since > top THEN
        since := 0;  -- the till is ahead of HQ (HQ restored from an older dump): everything again
    END IF;
    RETURN jsonb_build_object(
        'version', top,
        'products', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                'barcode', coalesce(o.barcode, p.barcode),
                'name', CASE WHEN o.barcode IS NULL THEN p.name ELSE o.name END,
                'price', CASE WHEN o.barcode IS NULL THEN p.price ELSE o.price END,
                'tax_code', CASE WHEN o.barcode IS NULL THEN p.tax_code ELSE o.tax_code END,
                'department', CASE WHEN o.barcode IS NULL THEN p.department ELSE o.department END,
                'open_price', CASE WHEN o.barcode IS NULL THEN p.open_price ELSE o.open_price END)
                ORDER BY coalesce(o.barcode, p.barcode))
            FROM hq.product p
            FULL JOIN (SELECT * FROM hq.shop_product WHERE shop_id = me.shop_id) o ON o.barcode = p.barcode
            WHERE greatest(p.version, o.version) > since AND greatest(p.version, o.version) <= top), '[]'),
        'users', coalesce((
            SELECT jsonb_agg(jsonb_build_object('name', name, 'role', role, 'pin_hash', pin_hash, 'active', active)
                             ORDER BY name)
            FROM hq.person WHERE version > since AND version <= top), '[]'),
        'tax_rates', coalesce((
            SELECT jsonb_agg(jsonb_build_object('code', code, 'rate_bp', rate_bp) ORDER BY code)
            FROM hq.tax_rate WHERE version > since AND version <= top), '[]'),
        'settings', coalesce((
            SELECT jsonb_object_agg(key, value) FROM hq.setting WHERE version > since AND version <= top), '{}'));
END $$;

REVOKE ALL ON hq.tax_rate, hq.product, hq.shop_product, hq.person, hq.setting FROM PUBLIC;
REVOKE ALL ON FUNCTION hq.next_catalog_version(), hq.catalog_version(), hq.catalog_changes(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION hq.catalog_changes(bigint) TO @TILLS@;
"""),
    # 4 is stream C's, should it need one
    Migration(5, "catalog: what changed found by version (indexes), not by reading the whole catalog", r"""
-- A till asks at every sync; what changed since its version is found through these indexes (and the
-- version is each index's last entry), so an unchanged catalog of any size costs a few lookups.
CREATE INDEX product_by_version ON hq.product (version);
CREATE INDEX shop_product_by_version ON hq.shop_product (shop_id, version);
CREATE INDEX person_by_version ON hq.person (version);
CREATE INDEX tax_rate_by_version ON hq.tax_rate (version);
CREATE INDEX setting_by_version ON hq.setting (version);

-- As in migration 3, the products found through what changed (the chain's or the shop's own row).
CREATE OR REPLACE FUNCTION hq.catalog_changes(since bigint) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    me hq.till;
    top bigint;
BEGIN
    SELECT * INTO me FROM hq.till WHERE role_name = session_user;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'role % is not an enrolled till (tui-pos hq join)', session_user USING ERRCODE = 'TP003';
    END IF;
    top := hq.catalog_version();
    IF since > top THEN
        since := 0;  -- the till is ahead of HQ (HQ restored from an older dump): everything again
    END IF;
    RETURN jsonb_build_object(
        'version', top,
        'products', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                'barcode', c.barcode,
                'name', CASE WHEN o.barcode IS NULL THEN p.name ELSE o.name END,
                'price', CASE WHEN o.barcode IS NULL THEN p.price ELSE o.price END,
                'tax_code', CASE WHEN o.barcode IS NULL THEN p.tax_code ELSE o.tax_code END,
                'department', CASE WHEN o.barcode IS NULL THEN p.department ELSE o.department END,
                'open_price', CASE WHEN o.barcode IS NULL THEN p.open_price ELSE o.open_price END)
                ORDER BY c.barcode)
            FROM (SELECT barcode FROM hq.product WHERE version > since AND version <= top
                  UNION
                  SELECT barcode FROM hq.shop_product
                  WHERE shop_id = me.shop_id AND version > since AND version <= top) c
            LEFT JOIN hq.product p ON p.barcode = c.barcode
            LEFT JOIN hq.shop_product o ON o.shop_id = me.shop_id AND o.barcode = c.barcode), '[]'),
        'users', coalesce((
            SELECT jsonb_agg(jsonb_build_object('name', name, 'role', role, 'pin_hash', pin_hash, 'active', active)
                             ORDER BY name)
            FROM hq.person WHERE version > since AND version <= top), '[]'),
        'tax_rates', coalesce((
            SELECT jsonb_agg(jsonb_build_object('code', code, 'rate_bp', rate_bp) ORDER BY code)
            FROM hq.tax_rate WHERE version > since AND version <= top), '[]'),
        'settings', coalesce((
            SELECT jsonb_object_agg(key, value) FROM hq.setting WHERE version > since AND version <= top), '{}'));
END $$;
"""),
    Migration(6, "stock at HQ: every movement per shop, stock on hand per till, transfers between shops", r"""
-- Stock at HQ (issue 14). Every stock movement the tills push, one row each (a sale's, refund's or
-- void's line, not voided: kind 'sale'; a stock_move record: its kind), with the shop first in
-- its key; what each till's stock of each product is (its last count + every movement since,
-- milli-units, domain/stock.py), kept up to date by hq.push in the transaction that adds the
-- records; and the transfers between shops (one shop's transfer_out records, the other's
-- transfer_in), open until received. A shop's stock on hand = the sum over its tills.
CREATE TABLE hq.stock_line (
    shop_id text NOT NULL,
    till_id text NOT NULL,
    commit_seq bigint NOT NULL,
    line_no integer NOT NULL,        -- a sale's line number (1, 2...); 0 for a stock_move record
    barcode text NOT NULL,
    at timestamptz NOT NULL,         -- the record's own time (hq.record.recorded_at)
    kind text NOT NULL,              -- 'sale', or the stock_move's kind (receive, adjust, count, transfer_out, transfer_in)
    qty bigint NOT NULL,             -- the change of stock on hand, milli-units (a count: its variance)
    counted bigint,                  -- a count: the quantity counted
    expected bigint,                 -- a stock_move: the till's on hand just before
    unit_cost bigint,                -- a receive: minor units per whole unit
    reason text,                     -- an adjustment
    reference text,                  -- a transfer's id
    peer text,                       -- a transfer: the other shop
    batch text,                      -- the movements entered together (a transfer's receipt)
    PRIMARY KEY (shop_id, till_id, commit_seq, line_no),
    FOREIGN KEY (shop_id, till_id) REFERENCES hq.till
);
CREATE INDEX stock_line_by_time ON hq.stock_line (shop_id, at);
CREATE INDEX stock_line_by_product ON hq.stock_line (shop_id, barcode, at);
CREATE INDEX stock_move_by_time ON hq.stock_line (shop_id, at) WHERE kind <> 'sale';

CREATE TABLE hq.stock_level (  -- a till's stock of a product: counted (its last count; NULL: never) + since
    shop_id text NOT NULL,
    till_id text NOT NULL,
    barcode text NOT NULL,
    counted bigint,                  -- the till's last count of it, milli-units
    count_seq bigint,                -- that count's commit number
    since bigint NOT NULL,           -- every movement after that count (none: every movement), milli-units
    last_at timestamptz NOT NULL,    -- its newest movement at the till
    PRIMARY KEY (shop_id, till_id, barcode),
    FOREIGN KEY (shop_id, till_id) REFERENCES hq.till
);
CREATE INDEX stock_level_by_product ON hq.stock_level (shop_id, barcode);

CREATE TABLE hq.transfer (  -- goods sent by shop_id to to_shop: open until to_shop receives them
    shop_id text NOT NULL,           -- the sending shop
    transfer_id text NOT NULL,       -- the transfer_out records' reference
    to_shop text NOT NULL,
    sent_at timestamptz,             -- NULL: a receipt HQ got before the goods were sent (never, in order)
    sent_till text,
    received_at timestamptz,         -- NULL: open
    received_till text,
    receipts text[] NOT NULL DEFAULT '{}',  -- the receipts' batches: more than one is a transfer received twice
    PRIMARY KEY (shop_id, transfer_id)
);
CREATE INDEX transfer_open_to ON hq.transfer (to_shop) WHERE received_at IS NULL;
CREATE INDEX transfer_by_receiver ON hq.transfer (to_shop, sent_at);

CREATE TABLE hq.transfer_line (
    shop_id text NOT NULL,
    transfer_id text NOT NULL,
    barcode text NOT NULL,
    sent bigint NOT NULL DEFAULT 0,  -- milli-units
    received bigint,                 -- NULL: not received (yet)
    PRIMARY KEY (shop_id, transfer_id, barcode),
    FOREIGN KEY (shop_id, transfer_id) REFERENCES hq.transfer
);

-- The reorder level and quantity HQ's catalog CSV gives (milli-units; a shop's own row wins): the
-- HQ's low-stock list and reorder report. Tills keep their own (the pull leaves them as they are).
ALTER TABLE hq.product ADD COLUMN reorder_level bigint CHECK (reorder_level >= 0),
                       ADD COLUMN reorder_qty bigint CHECK (reorder_qty >= 0),
                       ADD COLUMN weighed boolean NOT NULL DEFAULT false;
ALTER TABLE hq.shop_product ADD COLUMN reorder_level bigint CHECK (reorder_level >= 0),
                            ADD COLUMN reorder_qty bigint CHECK (reorder_qty >= 0),
                            ADD COLUMN weighed boolean NOT NULL DEFAULT false;

-- The stock of a till's commits after_seq < commit_seq <= upto_seq (just added to hq.record): their
-- movements into hq.stock_line, the till's levels and the transfers brought up to date, each
-- movement once (one HQ already holds is not counted again). A field that is not what a till
-- writes (never, from tui-pos) leaves that movement out rather than refusing the records: HQ
-- never loses one.
CREATE FUNCTION hq.stock_apply(shop text, till text, after_seq bigint, upto_seq bigint) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp SET timezone = 'UTC' AS $$
DECLARE
    moved hq.stock_line[];
    t hq.stock_line;
    batch_of text;
BEGIN
    WITH added AS (
        INSERT INTO hq.stock_line (shop_id, till_id, commit_seq, line_no, barcode, at, kind, qty, counted, expected,
                                   unit_cost, reason, reference, peer, batch)
        SELECT r.shop_id, r.till_id, r.commit_seq, l.n::integer, l.v->>'barcode', r.recorded_at, 'sale',
               -(l.v->>'qty')::bigint * 1000, NULL::bigint, NULL::bigint, NULL::bigint, NULL, NULL, NULL, NULL
        FROM hq.record r CROSS JOIN LATERAL jsonb_array_elements(
            CASE WHEN jsonb_typeof(r.record->'lines') = 'array' THEN r.record->'lines' ELSE '[]' END)
            WITH ORDINALITY l(v, n)
        WHERE r.shop_id = shop AND r.till_id = till AND r.commit_seq > after_seq AND r.commit_seq <= upto_seq
          AND r.type = 'sale' AND l.v->>'voided' IS DISTINCT FROM 'true' AND l.v->>'qty' ~ '^-?[0-9]{1,12}$'
          AND coalesce(l.v->>'barcode', '') <> ''
        UNION ALL
        SELECT r.shop_id, r.till_id, r.commit_seq, 0, r.record->>'barcode', r.recorded_at, r.record->>'kind',
               (r.record->>'qty')::bigint,
               CASE WHEN r.record->>'counted' ~ '^-?[0-9]{1,15}$' THEN (r.record->>'counted')::bigint END,
               CASE WHEN r.record->>'expected' ~ '^-?[0-9]{1,15}$' THEN (r.record->>'expected')::bigint END,
               CASE WHEN r.record->>'unit_cost' ~ '^-?[0-9]{1,15}$' THEN (r.record->>'unit_cost')::bigint END,
               r.record->>'reason', r.record->>'reference', r.record->>'peer', r.record->>'batch'
        FROM hq.record r
        WHERE r.shop_id = shop AND r.till_id = till AND r.commit_seq > after_seq AND r.commit_seq <= upto_seq
          AND r.type = 'stock_move' AND r.record->>'qty' ~ '^-?[0-9]{1,15}$' AND coalesce(r.record->>'barcode', '') <> ''
          AND r.record->>'kind' IN ('receive', 'adjust', 'count', 'transfer_out', 'transfer_in')
        ON CONFLICT DO NOTHING
        RETURNING *)
    SELECT coalesce(array_agg(a::hq.stock_line ORDER BY a.commit_seq, a.line_no), '{}') INTO moved FROM added a;
    IF cardinality(moved) = 0 THEN
        RETURN;
    END IF;

    -- the till's level of each product moved: a count among them starts it again
    WITH added AS (SELECT * FROM unnest(moved)),
    last_count AS (
        SELECT DISTINCT ON (barcode) barcode, commit_seq, counted FROM added
        WHERE kind = 'count' AND counted IS NOT NULL ORDER BY barcode, commit_seq DESC)
    INSERT INTO hq.stock_level AS s (shop_id, till_id, barcode, counted, count_seq, since, last_at)
    SELECT shop, till, a.barcode, c.counted, c.commit_seq,
           coalesce(sum(a.qty) FILTER (WHERE c.commit_seq IS NULL OR a.commit_seq > c.commit_seq), 0), max(a.at)
    FROM added a LEFT JOIN last_count c USING (barcode)
    GROUP BY a.barcode, c.counted, c.commit_seq
    ON CONFLICT (shop_id, till_id, barcode) DO UPDATE SET
        counted = CASE WHEN excluded.count_seq IS NULL THEN s.counted ELSE excluded.counted END,
        count_seq = coalesce(excluded.count_seq, s.count_seq),
        since = CASE WHEN excluded.count_seq IS NULL THEN s.since + excluded.since ELSE excluded.since END,
        last_at = greatest(s.last_at, excluded.last_at);

    -- transfers: sent (this shop's transfer_out) and received (its transfer_in; peer: the sender)
    FOR t IN SELECT * FROM unnest(moved) m
             WHERE m.kind IN ('transfer_out', 'transfer_in') AND coalesce(m.reference, '') <> ''
               AND coalesce(m.peer, '') <> '' ORDER BY m.commit_seq
    LOOP
        IF t.kind = 'transfer_out' THEN
            INSERT INTO hq.transfer AS x (shop_id, transfer_id, to_shop, sent_at, sent_till)
            VALUES (shop, t.reference, t.peer, t.at, till)
            ON CONFLICT (shop_id, transfer_id) DO UPDATE SET
                sent_at = coalesce(least(x.sent_at, excluded.sent_at), excluded.sent_at),
                sent_till = coalesce(x.sent_till, excluded.sent_till);
            INSERT INTO hq.transfer_line AS x (shop_id, transfer_id, barcode, sent)
            VALUES (shop, t.reference, t.barcode, -t.qty)
            ON CONFLICT (shop_id, transfer_id, barcode) DO UPDATE SET sent = x.sent + excluded.sent;
        ELSE
            batch_of := coalesce(t.batch, till || ':' || t.commit_seq);
            INSERT INTO hq.transfer AS x (shop_id, transfer_id, to_shop, received_at, received_till, receipts)
            VALUES (t.peer, t.reference, shop, t.at, till, ARRAY[batch_of])
            ON CONFLICT (shop_id, transfer_id) DO UPDATE SET
                received_at = coalesce(x.received_at, excluded.received_at),
                received_till = coalesce(x.received_till, excluded.received_till),
                receipts = CASE WHEN batch_of = ANY(x.receipts) THEN x.receipts ELSE x.receipts || batch_of END;
            INSERT INTO hq.transfer_line AS x (shop_id, transfer_id, barcode, received)
            VALUES (t.peer, t.reference, t.barcode, t.qty)
            ON CONFLICT (shop_id, transfer_id, barcode) DO UPDATE SET received = coalesce(x.received, 0) + excluded.received;
        END IF;
    END LOOP;
END $$;

CREATE OR REPLACE FUNCTION hq.push(batch jsonb, status jsonb DEFAULT NULL) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET timezone = 'UTC' AS $$
DECLARE
    me hq.till;
    item jsonb;
    rec jsonb;
    n bigint;
    id uuid;
    at timestamptz;
    held uuid;
    start bigint;
    prev text;
    digest text;
    last_hash text;
    added int := 0;
    duplicates int := 0;
    breaks int := 0;
BEGIN
    IF jsonb_typeof(batch) IS DISTINCT FROM 'array' THEN
        RAISE EXCEPTION 'a push is a JSON list of {"commit_seq": N, "prev_hash": H, "hash": H, "record": {...}}'
            USING ERRCODE = 'TP004';
    END IF;
    IF status IS NOT NULL AND jsonb_typeof(status) <> 'object' THEN
        RAISE EXCEPTION 'a till''s status is a JSON object' USING ERRCODE = 'TP004';
    END IF;
    -- partitions first: nothing in this transaction has touched hq.record yet (next month's too:
    -- made a month ahead, not by every till at once at midnight on the first)
    PERFORM hq.ensure_record_partition(now() + interval '1 month');
    PERFORM hq.ensure_record_partition(t) FROM (
        SELECT DISTINCT date_trunc('month', coalesce(hq.record_time(e.value->'record'), now())) AS t
        FROM jsonb_array_elements(batch) e WHERE jsonb_typeof(e.value->'record') = 'object') months;
    SELECT * INTO me FROM hq.till WHERE role_name = session_user FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'role % is not an enrolled till (tui-pos hq join)', session_user USING ERRCODE = 'TP003';
    END IF;
    start := me.high_water;  -- what HQ has, whatever this batch does: a refusal takes all of it back
    SELECT s.hash INTO last_hash FROM hq.stream s
    WHERE s.shop_id = me.shop_id AND s.till_id = me.till_id AND s.commit_seq = me.high_water;
    FOR item IN
        SELECT e.value FROM jsonb_array_elements(batch) e
        ORDER BY CASE WHEN jsonb_typeof(e.value->'commit_seq') = 'number' THEN (e.value->>'commit_seq')::numeric END
                 NULLS FIRST
    LOOP
        IF jsonb_typeof(item) <> 'object' OR jsonb_typeof(item->'commit_seq') IS DISTINCT FROM 'number'
           OR (item->>'commit_seq') !~ '^[1-9][0-9]{0,17}$' OR jsonb_typeof(item->'record') IS DISTINCT FROM 'object'
           OR coalesce(jsonb_typeof(item->'prev_hash'), 'null') NOT IN ('string', 'null')
           OR coalesce(jsonb_typeof(item->'hash'), 'null') NOT IN ('string', 'null')
           OR coalesce(item->>'prev_hash', repeat('0', 64)) !~ '^[0-9a-f]{64}$'
           OR coalesce(item->>'hash', repeat('0', 64)) !~ '^[0-9a-f]{64}$' THEN
            RAISE EXCEPTION 'not a pushed record: % (each is {"commit_seq": N >= 1, "prev_hash": H, "hash": H, '
                            '"record": {...}}, H 64 hex digits)', left(item::text, 200)
                USING ERRCODE = 'TP004';
        END IF;
        n := (item->>'commit_seq')::bigint;
        rec := item->'record';
        prev := item->>'prev_hash';
        digest := item->>'hash';
        IF coalesce(rec->>'uuid', '') !~* '^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$' THEN
            RAISE EXCEPTION 'commit % has no record uuid: %', n, left(rec::text, 200) USING ERRCODE = 'TP004';
        END IF;
        id := (rec->>'uuid')::uuid;
        IF rec ? 'till_id' AND rec->>'till_id' IS DISTINCT FROM me.till_id THEN
            RAISE EXCEPTION 'record % is till %''s, not till %''s', id, rec->>'till_id', me.till_id
                USING ERRCODE = 'TP005';
        END IF;
        IF n <= me.high_water THEN
            IF NOT EXISTS (SELECT 1 FROM hq.stream s WHERE s.shop_id = me.shop_id AND s.till_id = me.till_id
                           AND s.commit_seq = n AND s.uuid = id) THEN
                SELECT s.uuid INTO held FROM hq.stream s
                WHERE s.shop_id = me.shop_id AND s.till_id = me.till_id AND s.commit_seq = n;
                RAISE EXCEPTION 'till % commit % is record % at HQ, not %', me.till_id, n, held, id
                    USING ERRCODE = 'TP002', DETAIL = json_build_object('high_water', start)::text;
            END IF;
            duplicates := duplicates + 1;  -- a retry after a lost answer: HQ has it
        ELSIF n = me.high_water + 1 THEN
            IF prev IS DISTINCT FROM last_hash AND prev IS NOT NULL AND last_hash IS NOT NULL
               OR prev IS DISTINCT FROM repeat('0', 64) AND prev IS NOT NULL AND n = 1 THEN
                breaks := breaks + 1;  -- stored all the same: hq verify reports it
            END IF;
            IF EXISTS (SELECT 1 FROM hq.record r
                       WHERE r.shop_id = me.shop_id AND r.till_id = me.till_id AND r.uuid = id) THEN
                INSERT INTO hq.commit_moved (shop_id, till_id, commit_seq, uuid, prev_hash, hash)
                VALUES (me.shop_id, me.till_id, n, id, prev, digest);
                duplicates := duplicates + 1;
            ELSE
                at := coalesce(hq.record_time(rec), now());
                INSERT INTO hq.record (shop_id, till_id, commit_seq, uuid, type, recorded_at, record, prev_hash, hash)
                VALUES (me.shop_id, me.till_id, n, id, coalesce(rec->>'type', 'sale'), at, rec, prev, digest);
                added := added + 1;
            END IF;
            me.high_water := n;
            last_hash := digest;
        ELSE
            RAISE EXCEPTION 'till % commit % comes after a gap: HQ has every commit up to %, send from % on',
                me.till_id, n, start, start + 1
                USING ERRCODE = 'TP001', DETAIL = json_build_object('high_water', start)::text;
        END IF;
    END LOOP;
    -- the stock of what was added (hq.stock_line, hq.stock_level, transfers), in this transaction
    IF added > 0 THEN
        PERFORM hq.stock_apply(me.shop_id, me.till_id, start, me.high_water);
    END IF;
    -- the status's keys replace those the till said before (a push without one keeps them all)
    UPDATE hq.till SET high_water = me.high_water, records = records + added, last_seen = now(),
                       status = CASE WHEN push.status IS NULL THEN till.status
                                     ELSE coalesce(till.status, '{}'::jsonb) || push.status END
    WHERE till.shop_id = me.shop_id AND till.till_id = me.till_id;
    RETURN jsonb_build_object('high_water', me.high_water, 'added', added, 'duplicates', duplicates,
                              'breaks', breaks);
END $$;

-- The transfers sent to the calling till's shop that it has not received yet (its tills pull them
-- at each sync): [{"transfer", "from_shop", "to_shop", "sent_at", "lines": [{"barcode", "qty"}]}]
-- (qty: milli-units sent), oldest first.
CREATE FUNCTION hq.open_transfers() RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET timezone = 'UTC' AS $$
DECLARE
    me hq.till;
BEGIN
    SELECT * INTO me FROM hq.till WHERE role_name = session_user;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'role % is not an enrolled till (tui-pos hq join)', session_user USING ERRCODE = 'TP003';
    END IF;
    RETURN coalesce((
        SELECT jsonb_agg(jsonb_build_object(
            'transfer', t.transfer_id, 'from_shop', t.shop_id, 'to_shop', t.to_shop, 'sent_at', t.sent_at,
            'lines', coalesce((SELECT jsonb_agg(jsonb_build_object('barcode', l.barcode, 'qty', l.sent) ORDER BY l.barcode)
                               FROM hq.transfer_line l
                               WHERE l.shop_id = t.shop_id AND l.transfer_id = t.transfer_id AND l.sent > 0), '[]'))
            ORDER BY t.sent_at, t.shop_id, t.transfer_id)
        FROM hq.transfer t WHERE t.to_shop = me.shop_id AND t.received_at IS NULL AND t.sent_at IS NOT NULL), '[]');
END $$;

-- What HQ held before this migration, brought in till by till (in each till's commit order).
SELECT hq.stock_apply(shop_id, till_id, 0, high_water) FROM hq.till ORDER BY shop_id, till_id;

REVOKE ALL ON hq.stock_line, hq.stock_level, hq.transfer, hq.transfer_line FROM PUBLIC;
REVOKE ALL ON FUNCTION hq.stock_apply(text, text, bigint, bigint), hq.open_transfers() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION hq.open_transfers() TO @TILLS@;
"""),
    Migration(7, "code payments: a shop's payment attempts found by day and by trade number", r"""
-- Reconciling a provider's statement with a shop's tills (hq/payments.py): its payment attempts of
-- the statement's days, those under the trade and refund numbers the statement names (any day),
-- and their outcomes, each found by an index rather than by reading every record of the months.
CREATE INDEX record_payment_attempt_by_time ON hq.record (shop_id, recorded_at) WHERE type = 'payment_attempt';
CREATE INDEX record_payment_attempt_by_trade ON hq.record (shop_id, (record->>'out_trade_no'))
    WHERE type = 'payment_attempt';
CREATE INDEX record_payment_attempt_by_refund ON hq.record (shop_id, (record->>'out_refund_no'))
    WHERE type = 'payment_attempt' AND record->>'out_refund_no' <> '';
CREATE INDEX record_payment_outcome_by_attempt ON hq.record (shop_id, (record->>'attempt_uuid'))
    WHERE type = 'payment_outcome';
"""),
    Migration(8, "stock at HQ: what hq.push derives kept cheaply (no foreign keys, fewer indexes, a plain insert)", r"""
-- hq.stock_line and hq.stock_level are derived by hq.stock_apply from records hq.push has just
-- added for an enrolled till (whose row hq.record's own foreign key has checked): checking every
-- derived row again cost as much as the push itself (a batch of 500 five-line sales: 660 ms
-- instead of 380 ms on the 2-core test machine).
ALTER TABLE hq.stock_line DROP CONSTRAINT stock_line_shop_id_till_id_fkey;
ALTER TABLE hq.stock_level DROP CONSTRAINT stock_level_shop_id_till_id_fkey;

-- A sale's line is in two indexes, not four: by product only the receipts are looked up (the
-- moving average cost), and by time the movements of a period (anomalies).
DROP INDEX hq.stock_line_by_product;
CREATE INDEX stock_receipts ON hq.stock_line (shop_id, barcode, at) WHERE kind = 'receive';

-- As in migration 6, the plain insert unless the commits' movements may be at HQ already.
CREATE OR REPLACE FUNCTION hq.stock_apply(shop text, till text, after_seq bigint, upto_seq bigint) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp SET timezone = 'UTC' AS $$
DECLARE
    moved hq.stock_line[];
    t hq.stock_line;
    batch_of text;
BEGIN
    -- a movement HQ holds already (its records taken in again after HQ lost its mark) is not counted twice:
    -- only then is each row checked for one (a plain insert is the usual case, and twice as fast)
    IF EXISTS (SELECT 1 FROM hq.stock_line WHERE shop_id = shop AND till_id = till AND commit_seq > after_seq
               AND commit_seq <= upto_seq) THEN
        WITH added AS (
            INSERT INTO hq.stock_line (shop_id, till_id, commit_seq, line_no, barcode, at, kind, qty, counted, expected,
                                       unit_cost, reason, reference, peer, batch)
            SELECT r.shop_id, r.till_id, r.commit_seq, l.n::integer, l.v->>'barcode', r.recorded_at, 'sale',
                   -(l.v->>'qty')::bigint * 1000, NULL::bigint, NULL::bigint, NULL::bigint, NULL, NULL, NULL, NULL
            FROM hq.record r CROSS JOIN LATERAL jsonb_array_elements(
                CASE WHEN jsonb_typeof(r.record->'lines') = 'array' THEN r.record->'lines' ELSE '[]' END)
                WITH ORDINALITY l(v, n)
            WHERE r.shop_id = shop AND r.till_id = till AND r.commit_seq > after_seq AND r.commit_seq <= upto_seq
              AND r.type = 'sale' AND l.v->>'voided' IS DISTINCT FROM 'true' AND l.v->>'qty' ~ '^-?[0-9]{1,12}$'
              AND coalesce(l.v->>'barcode', '') <> ''
            UNION ALL
            SELECT r.shop_id, r.till_id, r.commit_seq, 0, r.record->>'barcode', r.recorded_at, r.record->>'kind',
                   (r.record->>'qty')::bigint,
                   CASE WHEN r.record->>'counted' ~ '^-?[0-9]{1,15}$' THEN (r.record->>'counted')::bigint END,
                   CASE WHEN r.record->>'expected' ~ '^-?[0-9]{1,15}$' THEN (r.record->>'expected')::bigint END,
                   CASE WHEN r.record->>'unit_cost' ~ '^-?[0-9]{1,15}$' THEN (r.record->>'unit_cost')::bigint END,
                   r.record->>'reason', r.record->>'reference', r.record->>'peer', r.record->>'batch'
            FROM hq.record r
            WHERE r.shop_id = shop AND r.till_id = till AND r.commit_seq > after_seq AND r.commit_seq <= upto_seq
              AND r.type = 'stock_move' AND r.record->>'qty' ~ '^-?[0-9]{1,15}$' AND coalesce(r.record->>'barcode', '') <> ''
              AND r.record->>'kind' IN ('receive', 'adjust', 'count', 'transfer_out', 'transfer_in')
            ON CONFLICT DO NOTHING
            RETURNING *)
        SELECT coalesce(array_agg(a::hq.stock_line ORDER BY a.commit_seq, a.line_no), '{}') INTO moved FROM added a;
    ELSE
        WITH added AS (
            INSERT INTO hq.stock_line (shop_id, till_id, commit_seq, line_no, barcode, at, kind, qty, counted, expected,
                                       unit_cost, reason, reference, peer, batch)
            SELECT r.shop_id, r.till_id, r.commit_seq, l.n::integer, l.v->>'barcode', r.recorded_at, 'sale',
                   -(l.v->>'qty')::bigint * 1000, NULL::bigint, NULL::bigint, NULL::bigint, NULL, NULL, NULL, NULL
            FROM hq.record r CROSS JOIN LATERAL jsonb_array_elements(
                CASE WHEN jsonb_typeof(r.record->'lines') = 'array' THEN r.record->'lines' ELSE '[]' END)
                WITH ORDINALITY l(v, n)
            WHERE r.shop_id = shop AND r.till_id = till AND r.commit_seq > after_seq AND r.commit_seq <= upto_seq
              AND r.type = 'sale' AND l.v->>'voided' IS DISTINCT FROM 'true' AND l.v->>'qty' ~ '^-?[0-9]{1,12}$'
              AND coalesce(l.v->>'barcode', '') <> ''
            UNION ALL
            SELECT r.shop_id, r.till_id, r.commit_seq, 0, r.record->>'barcode', r.recorded_at, r.record->>'kind',
                   (r.record->>'qty')::bigint,
                   CASE WHEN r.record->>'counted' ~ '^-?[0-9]{1,15}$' THEN (r.record->>'counted')::bigint END,
                   CASE WHEN r.record->>'expected' ~ '^-?[0-9]{1,15}$' THEN (r.record->>'expected')::bigint END,
                   CASE WHEN r.record->>'unit_cost' ~ '^-?[0-9]{1,15}$' THEN (r.record->>'unit_cost')::bigint END,
                   r.record->>'reason', r.record->>'reference', r.record->>'peer', r.record->>'batch'
            FROM hq.record r
            WHERE r.shop_id = shop AND r.till_id = till AND r.commit_seq > after_seq AND r.commit_seq <= upto_seq
              AND r.type = 'stock_move' AND r.record->>'qty' ~ '^-?[0-9]{1,15}$' AND coalesce(r.record->>'barcode', '') <> ''
              AND r.record->>'kind' IN ('receive', 'adjust', 'count', 'transfer_out', 'transfer_in')
            RETURNING *)
        SELECT coalesce(array_agg(a::hq.stock_line ORDER BY a.commit_seq, a.line_no), '{}') INTO moved FROM added a;
    END IF;
    IF cardinality(moved) = 0 THEN
        RETURN;
    END IF;

    -- the till's level of each product moved: a count among them starts it again
    WITH added AS (SELECT * FROM unnest(moved)),
    last_count AS (
        SELECT DISTINCT ON (barcode) barcode, commit_seq, counted FROM added
        WHERE kind = 'count' AND counted IS NOT NULL ORDER BY barcode, commit_seq DESC)
    INSERT INTO hq.stock_level AS s (shop_id, till_id, barcode, counted, count_seq, since, last_at)
    SELECT shop, till, a.barcode, c.counted, c.commit_seq,
           coalesce(sum(a.qty) FILTER (WHERE c.commit_seq IS NULL OR a.commit_seq > c.commit_seq), 0), max(a.at)
    FROM added a LEFT JOIN last_count c USING (barcode)
    GROUP BY a.barcode, c.counted, c.commit_seq
    ON CONFLICT (shop_id, till_id, barcode) DO UPDATE SET
        counted = CASE WHEN excluded.count_seq IS NULL THEN s.counted ELSE excluded.counted END,
        count_seq = coalesce(excluded.count_seq, s.count_seq),
        since = CASE WHEN excluded.count_seq IS NULL THEN s.since + excluded.since ELSE excluded.since END,
        last_at = greatest(s.last_at, excluded.last_at);

    -- transfers: sent (this shop's transfer_out) and received (its transfer_in; peer: the sender)
    FOR t IN SELECT * FROM unnest(moved) m
             WHERE m.kind IN ('transfer_out', 'transfer_in') AND coalesce(m.reference, '') <> ''
               AND coalesce(m.peer, '') <> '' ORDER BY m.commit_seq
    LOOP
        IF t.kind = 'transfer_out' THEN
            INSERT INTO hq.transfer AS x (shop_id, transfer_id, to_shop, sent_at, sent_till)
            VALUES (shop, t.reference, t.peer, t.at, till)
            ON CONFLICT (shop_id, transfer_id) DO UPDATE SET
                sent_at = coalesce(least(x.sent_at, excluded.sent_at), excluded.sent_at),
                sent_till = coalesce(x.sent_till, excluded.sent_till);
            INSERT INTO hq.transfer_line AS x (shop_id, transfer_id, barcode, sent)
            VALUES (shop, t.reference, t.barcode, -t.qty)
            ON CONFLICT (shop_id, transfer_id, barcode) DO UPDATE SET sent = x.sent + excluded.sent;
        ELSE
            batch_of := coalesce(t.batch, till || ':' || t.commit_seq);
            INSERT INTO hq.transfer AS x (shop_id, transfer_id, to_shop, received_at, received_till, receipts)
            VALUES (t.peer, t.reference, shop, t.at, till, ARRAY[batch_of])
            ON CONFLICT (shop_id, transfer_id) DO UPDATE SET
                received_at = coalesce(x.received_at, excluded.received_at),
                received_till = coalesce(x.received_till, excluded.received_till),
                receipts = CASE WHEN batch_of = ANY(x.receipts) THEN x.receipts ELSE x.receipts || batch_of END;
            INSERT INTO hq.transfer_line AS x (shop_id, transfer_id, barcode, received)
            VALUES (t.peer, t.reference, t.barcode, t.qty)
            ON CONFLICT (shop_id, transfer_id, barcode) DO UPDATE SET received = coalesce(x.received, 0) + excluded.received;
        END IF;
    END LOOP;
END $$;
"""),
    Migration(9, "stock at HQ in parts: a till's movements, its levels and its transfers each their own function", r"""
-- hq.stock_apply (migrations 6 and 8) was one function, its movements' SELECT written twice (a
-- plain insert, and one that skips what HQ holds): a change to any part of it had to copy all of
-- it again, as migration 6 had to copy the whole hq.push to call it. Now each part is a function
-- of its own, replaced alone when it changes: hq.stock_moves (which records move stock, by how
-- much: one SELECT), hq.stock_levels_apply (each till's level of each product) and
-- hq.stock_transfers_apply (transfers sent and received). hq.push still calls hq.stock_apply.

-- The stock movements of a till's commits after_seq < commit_seq <= upto_seq, as hq.stock_line
-- rows: a sale's line not voided (kind 'sale'), a stock_move record (its kind). A field that is not
-- what a till writes (never, from tui-pos) leaves that movement out: HQ never refuses the records.
CREATE FUNCTION hq.stock_moves(shop text, till text, after_seq bigint, upto_seq bigint) RETURNS SETOF hq.stock_line
LANGUAGE sql STABLE AS $$
    SELECT r.shop_id, r.till_id, r.commit_seq, l.n::integer, l.v->>'barcode', r.recorded_at, 'sale',
           -(l.v->>'qty')::bigint * 1000, NULL::bigint, NULL::bigint, NULL::bigint, NULL, NULL, NULL, NULL
    FROM hq.record r CROSS JOIN LATERAL pg_catalog.jsonb_array_elements(
        CASE WHEN pg_catalog.jsonb_typeof(r.record->'lines') = 'array' THEN r.record->'lines' ELSE '[]' END)
        WITH ORDINALITY l(v, n)
    WHERE r.shop_id = shop AND r.till_id = till AND r.commit_seq > after_seq AND r.commit_seq <= upto_seq
      AND r.type = 'sale' AND l.v->>'voided' IS DISTINCT FROM 'true' AND l.v->>'qty' ~ '^-?[0-9]{1,12}$'
      AND coalesce(l.v->>'barcode', '') <> ''
    UNION ALL
    SELECT r.shop_id, r.till_id, r.commit_seq, 0, r.record->>'barcode', r.recorded_at, r.record->>'kind',
           (r.record->>'qty')::bigint,
           CASE WHEN r.record->>'counted' ~ '^-?[0-9]{1,15}$' THEN (r.record->>'counted')::bigint END,
           CASE WHEN r.record->>'expected' ~ '^-?[0-9]{1,15}$' THEN (r.record->>'expected')::bigint END,
           CASE WHEN r.record->>'unit_cost' ~ '^-?[0-9]{1,15}$' THEN (r.record->>'unit_cost')::bigint END,
           r.record->>'reason', r.record->>'reference', r.record->>'peer', r.record->>'batch'
    FROM hq.record r
    WHERE r.shop_id = shop AND r.till_id = till AND r.commit_seq > after_seq AND r.commit_seq <= upto_seq
      AND r.type = 'stock_move' AND r.record->>'qty' ~ '^-?[0-9]{1,15}$' AND coalesce(r.record->>'barcode', '') <> ''
      AND r.record->>'kind' IN ('receive', 'adjust', 'count', 'transfer_out', 'transfer_in')
$$;

-- A till's level of each product these movements moved (just added, in commit order): a count
-- among them starts it again.
CREATE FUNCTION hq.stock_levels_apply(shop text, till text, moved hq.stock_line[]) RETURNS void
LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
    WITH added AS (SELECT * FROM unnest(moved)),
    last_count AS (
        SELECT DISTINCT ON (barcode) barcode, commit_seq, counted FROM added
        WHERE kind = 'count' AND counted IS NOT NULL ORDER BY barcode, commit_seq DESC)
    INSERT INTO hq.stock_level AS s (shop_id, till_id, barcode, counted, count_seq, since, last_at)
    SELECT shop, till, a.barcode, c.counted, c.commit_seq,
           coalesce(sum(a.qty) FILTER (WHERE c.commit_seq IS NULL OR a.commit_seq > c.commit_seq), 0), max(a.at)
    FROM added a LEFT JOIN last_count c USING (barcode)
    GROUP BY a.barcode, c.counted, c.commit_seq
    ON CONFLICT (shop_id, till_id, barcode) DO UPDATE SET
        counted = CASE WHEN excluded.count_seq IS NULL THEN s.counted ELSE excluded.counted END,
        count_seq = coalesce(excluded.count_seq, s.count_seq),
        since = CASE WHEN excluded.count_seq IS NULL THEN s.since + excluded.since ELSE excluded.since END,
        last_at = greatest(s.last_at, excluded.last_at);
$$;

-- The transfers these movements send (this shop's transfer_out) and receive (its transfer_in;
-- peer: the sender).
CREATE FUNCTION hq.stock_transfers_apply(shop text, till text, moved hq.stock_line[]) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp SET timezone = 'UTC' AS $$
DECLARE
    t hq.stock_line;
    batch_of text;
BEGIN
    FOR t IN SELECT * FROM unnest(moved) m
             WHERE m.kind IN ('transfer_out', 'transfer_in') AND coalesce(m.reference, '') <> ''
               AND coalesce(m.peer, '') <> '' ORDER BY m.commit_seq
    LOOP
        IF t.kind = 'transfer_out' THEN
            INSERT INTO hq.transfer AS x (shop_id, transfer_id, to_shop, sent_at, sent_till)
            VALUES (shop, t.reference, t.peer, t.at, till)
            ON CONFLICT (shop_id, transfer_id) DO UPDATE SET
                sent_at = coalesce(least(x.sent_at, excluded.sent_at), excluded.sent_at),
                sent_till = coalesce(x.sent_till, excluded.sent_till);
            INSERT INTO hq.transfer_line AS x (shop_id, transfer_id, barcode, sent)
            VALUES (shop, t.reference, t.barcode, -t.qty)
            ON CONFLICT (shop_id, transfer_id, barcode) DO UPDATE SET sent = x.sent + excluded.sent;
        ELSE
            batch_of := coalesce(t.batch, till || ':' || t.commit_seq);
            INSERT INTO hq.transfer AS x (shop_id, transfer_id, to_shop, received_at, received_till, receipts)
            VALUES (t.peer, t.reference, shop, t.at, till, ARRAY[batch_of])
            ON CONFLICT (shop_id, transfer_id) DO UPDATE SET
                received_at = coalesce(x.received_at, excluded.received_at),
                received_till = coalesce(x.received_till, excluded.received_till),
                receipts = CASE WHEN batch_of = ANY(x.receipts) THEN x.receipts ELSE x.receipts || batch_of END;
            INSERT INTO hq.transfer_line AS x (shop_id, transfer_id, barcode, received)
            VALUES (t.peer, t.reference, t.barcode, t.qty)
            ON CONFLICT (shop_id, transfer_id, barcode) DO UPDATE SET received = coalesce(x.received, 0) + excluded.received;
        END IF;
    END LOOP;
END $$;

-- The stock of a till's commits after_seq < commit_seq <= upto_seq (just added to hq.record), each
-- movement once: the plain insert, unless the commits' movements may be at HQ already (its records
-- taken in again after HQ lost its mark: only then is each row checked for one).
CREATE OR REPLACE FUNCTION hq.stock_apply(shop text, till text, after_seq bigint, upto_seq bigint) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp SET timezone = 'UTC' AS $$
DECLARE
    moved hq.stock_line[];
BEGIN
    IF EXISTS (SELECT 1 FROM hq.stock_line WHERE shop_id = shop AND till_id = till AND commit_seq > after_seq
               AND commit_seq <= upto_seq) THEN
        WITH added AS (INSERT INTO hq.stock_line SELECT * FROM hq.stock_moves(shop, till, after_seq, upto_seq)
                       ON CONFLICT DO NOTHING RETURNING *)
        SELECT coalesce(array_agg(a::hq.stock_line ORDER BY a.commit_seq, a.line_no), '{}') INTO moved FROM added a;
    ELSE
        WITH added AS (INSERT INTO hq.stock_line SELECT * FROM hq.stock_moves(shop, till, after_seq, upto_seq)
                       RETURNING *)
        SELECT coalesce(array_agg(a::hq.stock_line ORDER BY a.commit_seq, a.line_no), '{}') INTO moved FROM added a;
    END IF;
    IF cardinality(moved) > 0 THEN
        PERFORM hq.stock_levels_apply(shop, till, moved);
        PERFORM hq.stock_transfers_apply(shop, till, moved);
    END IF;
END $$;

REVOKE ALL ON FUNCTION hq.stock_moves(text, text, bigint, bigint), hq.stock_levels_apply(text, text, hq.stock_line[]),
    hq.stock_transfers_apply(text, text, hq.stock_line[]) FROM PUBLIC;
"""),
    Migration(10, "stock at HQ summed by shop, product and day: what the anomaly report reads", r"""
-- The anomaly report of a month read every movement of the month and of the four weeks before it
-- (the outflow rule's usual rate) from hq.stock_line: a month of a busy shop was at the one-second
-- limit on a quiet machine. As the till does (store/stock_daily.py), HQ now keeps each shop's
-- movements of each product summed per day, in the transaction hq.push adds the records in
-- (hq.stock_sums_apply, from the movements hq.stock_apply has just added: each once), and the
-- migration sums what HQ already holds. A day is a local day in the time zone HQ's database has
-- now (its TimeZone setting: ALTER DATABASE ... SET timezone before this migration runs), fixed
-- here in hq.stock_day_of and hq.stock_day_start; a report asked for in another zone's days is
-- made from the single movements (hq/stock.py), the same warnings, slower.
DO $do$
BEGIN
    EXECUTE format($f$
        CREATE FUNCTION hq.stock_day_of(at timestamptz) RETURNS date LANGUAGE sql IMMUTABLE PARALLEL SAFE
        AS $b$ SELECT (at AT TIME ZONE %1$L)::date $b$;
        CREATE FUNCTION hq.stock_day_start(day date) RETURNS timestamptz LANGUAGE sql IMMUTABLE PARALLEL SAFE
        AS $b$ SELECT day::timestamp AT TIME ZONE %1$L $b$;
    $f$, current_setting('TimeZone'));
END $do$;

CREATE TABLE hq.stock_day (
    shop_id text NOT NULL,
    day date NOT NULL,                -- hq.stock_day_of the movements' time
    barcode text NOT NULL,
    sold bigint NOT NULL DEFAULT 0,   -- milli-units taken out by sale lines (a refund's or void's puts back: qty_in)
    qty_in bigint NOT NULL DEFAULT 0, -- milli-units of every movement that added to stock on hand
    qty_out bigint NOT NULL DEFAULT 0, -- ... and of every one that took from it (sales included)
    PRIMARY KEY (shop_id, day, barcode)
);

-- These movements (hq.stock_line rows just added, of one shop) added to their products' days.
CREATE FUNCTION hq.stock_sums_apply(shop text, moved hq.stock_line[]) RETURNS void
LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
    INSERT INTO hq.stock_day AS s (shop_id, day, barcode, sold, qty_in, qty_out)
    SELECT shop, hq.stock_day_of(m.at), m.barcode, sum(CASE WHEN m.kind = 'sale' AND m.qty < 0 THEN -m.qty ELSE 0 END),
           sum(greatest(m.qty, 0)), sum(greatest(-m.qty, 0))
    FROM unnest(moved) m GROUP BY 2, 3
    ON CONFLICT (shop_id, day, barcode) DO UPDATE SET
        sold = s.sold + excluded.sold, qty_in = s.qty_in + excluded.qty_in, qty_out = s.qty_out + excluded.qty_out;
$$;
REVOKE ALL ON FUNCTION hq.stock_sums_apply(text, hq.stock_line[]) FROM PUBLIC;

-- As in migration 9, with the sums kept too.
CREATE OR REPLACE FUNCTION hq.stock_apply(shop text, till text, after_seq bigint, upto_seq bigint) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp SET timezone = 'UTC' AS $$
DECLARE
    moved hq.stock_line[];
BEGIN
    IF EXISTS (SELECT 1 FROM hq.stock_line WHERE shop_id = shop AND till_id = till AND commit_seq > after_seq
               AND commit_seq <= upto_seq) THEN
        WITH added AS (INSERT INTO hq.stock_line SELECT * FROM hq.stock_moves(shop, till, after_seq, upto_seq)
                       ON CONFLICT DO NOTHING RETURNING *)
        SELECT coalesce(array_agg(a::hq.stock_line ORDER BY a.commit_seq, a.line_no), '{}') INTO moved FROM added a;
    ELSE
        WITH added AS (INSERT INTO hq.stock_line SELECT * FROM hq.stock_moves(shop, till, after_seq, upto_seq)
                       RETURNING *)
        SELECT coalesce(array_agg(a::hq.stock_line ORDER BY a.commit_seq, a.line_no), '{}') INTO moved FROM added a;
    END IF;
    IF cardinality(moved) > 0 THEN
        PERFORM hq.stock_levels_apply(shop, till, moved);
        PERFORM hq.stock_transfers_apply(shop, till, moved);
        PERFORM hq.stock_sums_apply(shop, moved);
    END IF;
END $$;

-- What HQ holds already, a shop's month at a time (through the one function that sums; a day
-- split between two months is added to, not written twice).
DO $$
DECLARE
    s text;
    month timestamptz;
BEGIN
    FOR s IN SELECT shop_id FROM hq.shop ORDER BY 1 LOOP
        FOR month IN SELECT generate_series(date_trunc('month', min(at)), max(at), interval '1 month')
                     FROM hq.stock_line WHERE shop_id = s LOOP
            PERFORM hq.stock_sums_apply(s, ARRAY(
                SELECT l FROM hq.stock_line l WHERE l.shop_id = s AND l.at >= month AND l.at < month + interval '1 month'
                ORDER BY l.at));
        END LOOP;
    END LOOP;
END $$;
"""),
)

BOOTSTRAP = """
CREATE SCHEMA IF NOT EXISTS hq AUTHORIZATION @OWNER@;
CREATE TABLE IF NOT EXISTS hq.migration (
    version integer PRIMARY KEY,
    name text NOT NULL UNIQUE,
    applied_at timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE hq.migration OWNER TO @OWNER@;
"""


def role_prefix(dbname: str) -> str:
    """tui_pos_ + the database's name, as a safe role name part (at most 40 characters)."""
    clean = re.sub(r"[^a-z0-9_]", "_", dbname.lower())
    prefix = f"tui_pos_{clean}"
    if len(prefix) > 40 or clean != dbname:
        prefix = f"{prefix[:31]}_{hashlib.sha256(dbname.encode()).hexdigest()[:8]}"
    return prefix


@dataclass(frozen=True)
class Roles:
    prefix: str

    @property
    def owner(self) -> str:
        return f"{self.prefix}_owner"

    @property
    def tills(self) -> str:
        return f"{self.prefix}_tills"

    def till(self, till_id: str) -> str:
        return f"{self.prefix}_till_{till_id.lower()}"


def roles_of(conn: psycopg.Connection[Any]) -> Roles:
    """The roles of this HQ: named after the owner of its schema once there is one (a database
    renamed since keeps them), else after the database."""
    row = conn.execute("SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = 'hq'").fetchone()
    if row is not None and row[0].endswith("_owner"):
        return Roles(row[0].removesuffix("_owner"))
    name = conn.execute("SELECT current_database()").fetchone()
    assert name is not None
    return Roles(role_prefix(name[0]))


def _render(conn: psycopg.Connection[Any], sql_text: str, roles: Roles) -> str:
    from psycopg import sql

    return (sql_text.replace("@OWNER@", sql.Identifier(roles.owner).as_string(conn))
            .replace("@TILLS@", sql.Identifier(roles.tills).as_string(conn)))


def applied(conn: psycopg.Connection[Any]) -> dict[int, str]:
    """version -> name of the migrations this HQ has ({} before init)."""
    row = conn.execute("SELECT to_regclass('hq.migration')").fetchone()
    if row is None or row[0] is None:
        return {}
    return {v: n for v, n in conn.execute("SELECT version, name FROM hq.migration ORDER BY version")}


def check_current(conn: psycopg.Connection[Any]) -> None:
    """HqError (one line, with what to do) unless HQ has exactly this tui-pos's migrations."""
    have, known = applied(conn), {m.version: m.name for m in MIGRATIONS}
    if not have:
        raise HqError(N_("HQ has no tui-pos schema yet: run 'tui-pos hq init DSN' first"))
    if max(have) > max(known):
        raise HqError(N_("HQ's schema is newer (version {have}) than this tui-pos knows ({known}): upgrade tui-pos"),
                      have=max(have), known=max(known))
    if have != {v: n for v, n in known.items() if v in have} or max(have) < max(known):
        raise HqError(N_("HQ's schema is at version {have}, this tui-pos needs {known}: run 'tui-pos hq init DSN' (it "
                         "migrates)"), have=max(have), known=max(known))


def migrate(conn: psycopg.Connection[Any]) -> tuple[int, list[str]]:
    """Create or bring HQ's schema up to date: (version now, names of the migrations applied now).
    Idempotent; concurrent runs wait for each other (an advisory lock); each migration commits
    whole or not at all. Needs a role that may create roles and schemas (the database's owner with
    CREATEROLE, or a superuser)."""
    import psycopg
    from psycopg import sql

    roles = roles_of(conn)
    known = {m.version: m.name for m in MIGRATIONS}
    conn.autocommit = True
    conn.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
    try:
        try:
            with conn.transaction():
                _ensure_roles(conn, roles)
                me = sql.Identifier(roles.owner)
                conn.execute(_render(conn, BOOTSTRAP, roles))
            have = applied(conn)
            for version, name in have.items():
                if known.get(version) != name:
                    raise HqError(N_("HQ's migration {version} is {name}, which this tui-pos does not know (upgrade "
                                     "tui-pos)") if version > max(known) else
                                  N_("HQ's migration {version} is {name}, which this tui-pos does not know (a different "
                                     "tui-pos made it)"), version=version, name=repr(name))
            done = []
            for migration in MIGRATIONS:
                if migration.version in have:
                    continue
                with conn.transaction():
                    conn.execute(sql.SQL("SET LOCAL ROLE {}").format(me))
                    conn.execute(_render(conn, migration.sql, roles))
                    conn.execute("INSERT INTO hq.migration (version, name) VALUES (%s, %s)",
                                 (migration.version, migration.name))
                    # the month in hand and the next are there before the first push needs them
                    conn.execute("SELECT hq.ensure_record_partition(now()), "
                                 "hq.ensure_record_partition(now() + interval '1 month')")
                done.append(migration.name)
        except psycopg.errors.InsufficientPrivilege as err:
            from tui_pos.hq.connection import first_line

            raise HqError(N_("HQ refused the schema change: {error} (hq init needs the database's owner with "
                             "CREATEROLE, or a superuser)"), error=first_line(err)) from None
        return max(known), done
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))


def _ensure_roles(conn: psycopg.Connection[Any], roles: Roles) -> None:
    """The schema's owner and the tills' group (NOLOGIN both); the caller may act as the owner."""
    from psycopg import sql

    for name in (roles.owner, roles.tills):
        if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone() is None:
            conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(name)))
    me = conn.execute("SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()
    assert me is not None
    if not me[1] and conn.execute("SELECT pg_has_role(current_user, %s, 'MEMBER')", (roles.owner,)).fetchone() != (True,):
        conn.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(roles.owner), sql.Identifier(me[0])))
    conn.execute(sql.SQL("GRANT CREATE, CONNECT ON DATABASE {} TO {}").format(
        sql.Identifier(conn.execute("SELECT current_database()").fetchone()[0]),  # type: ignore[index]
        sql.Identifier(roles.owner)))
