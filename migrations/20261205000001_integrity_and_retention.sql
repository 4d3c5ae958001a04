-- Tamper evidence (a hash chain over the log in commit order, signed checkpoints), retention
-- (whole days dropped with their positions and counts, legal holds) and least privilege
-- (the server's own role may only read and append events). See docs/architecture.md
-- "Retention and integrity".

-- The canonical form of a stored event: its columns (all but the derived search text and the
-- idempotency fingerprint) in a fixed order, in PostgreSQL's binary format (`record_send`:
-- times as microseconds, JSON as jsonb's normalised text; independent of session settings).
-- `auditorium verify` recomputes the same expression from its own copy
-- (server/src/integrity/chain.rs), not from this function.
CREATE FUNCTION event_hash(e events) RETURNS bytea
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT sha256(record_send(ROW(
        e.id, e.occurred_at, e.received_at, e.action, e.actor_id, e.actor_name, e.actor_email,
        e.actor_type, e.source, e.method, e.status, e.path, e.outcome, e.error, e.resource_type,
        e.resource_id, e.resource_name, e.context, e.request_id, e.ip, e.user_agent, e.changes,
        e.metadata)))
$$;

-- Each event's hash, written with its position.
ALTER TABLE event_positions ADD COLUMN hash bytea;

-- One row per committed batch (one insert statement): digest = SHA-256(previous digest ||
-- for each event in position order: position as 8 bytes big-endian || event hash). The first
-- batch's previous digest is 32 zero bytes. `retired`: every event of the batch was removed
-- by retention (the digest stays, the next batch is chained to it).
CREATE TABLE event_chain (
    last_seq     bigint      PRIMARY KEY,
    first_seq    bigint      NOT NULL,
    digest       bytea       NOT NULL,
    committed_at timestamptz NOT NULL DEFAULT now(),
    retired      boolean     NOT NULL DEFAULT false
);
CREATE INDEX event_chain_committed ON event_chain (committed_at);
CREATE TRIGGER event_chain_append_only BEFORE UPDATE OR DELETE ON event_chain
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
CREATE TRIGGER event_chain_no_truncate BEFORE TRUNCATE ON event_chain
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();

-- The hashes of events removed by retention from a batch that still holds kept events (a
-- batch that spans midnight, a backfill), so the rest of the batch can still be verified.
CREATE TABLE chain_retired (
    seq  bigint PRIMARY KEY,
    hash bytea  NOT NULL
);

-- Events stored before this migration: hashed now and chained as one first batch.
ALTER TABLE event_positions DISABLE TRIGGER event_positions_append_only;
UPDATE event_positions p SET hash = event_hash(e) FROM events e WHERE e.id = p.id AND e.occurred_at = p.occurred_at;
ALTER TABLE event_positions ENABLE TRIGGER event_positions_append_only;
INSERT INTO event_chain (last_seq, first_seq, digest)
SELECT max(seq), min(seq), sha256('\x0000000000000000000000000000000000000000000000000000000000000000'::bytea
                                  || string_agg(int8send(seq) || hash, ''::bytea ORDER BY seq))
FROM event_positions HAVING count(*) > 0;

-- Signed checkpoints: (position, chain digest) signed with the instance's Ed25519 key.
CREATE TABLE integrity_checkpoints (
    seq        bigint      PRIMARY KEY,
    digest     bytea       NOT NULL,
    signed_at  timestamptz NOT NULL,
    public_key text        NOT NULL,
    signature  text        NOT NULL
);

-- What the background verifier last found (one row).
CREATE TABLE integrity_state (
    singleton     boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
    verified_seq  bigint      NOT NULL,
    digest        bytea       NOT NULL,
    verified_upto timestamptz,
    checked_at    timestamptz NOT NULL,
    problem       text
);

-- Retention: legal holds stop it; every dropped day is recorded.
CREATE TABLE retention_holds (
    id         uuid        PRIMARY KEY,
    reason     text        NOT NULL,
    created_by text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE retention_drops (
    day        date        PRIMARY KEY,
    events     bigint      NOT NULL,
    archive    text,
    dropped_at timestamptz NOT NULL DEFAULT now()
);

-- The password of the server's own role (see server/src/db/roles.rs); only the owner reads it.
CREATE TABLE app_role (
    name     text PRIMARY KEY,
    password text NOT NULL
);

-- A day's positions are found by time (retention): BRIN, a few pages, almost free to keep
-- as positions arrive roughly in time order.
CREATE INDEX event_positions_time ON event_positions USING brin (occurred_at);

-- Append-only per statement, not per row: the same refusal, and retention's delete of a
-- day's positions does not call a trigger for each of them.
DROP TRIGGER event_positions_append_only ON event_positions;
CREATE TRIGGER event_positions_append_only BEFORE UPDATE OR DELETE ON event_positions
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();

-- Count rows of one day are found by time, not by value.
CREATE INDEX event_counts_minute ON event_counts (minute);
CREATE INDEX event_counts_hourly_hour ON event_counts_hourly (hour);
CREATE INDEX event_label_counts_hour ON event_label_counts (hour);

-- Positions may be deleted only by retention (as the owner, which sets auditorium.retention).
CREATE OR REPLACE FUNCTION refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- Retention (the owner, inside retention_drop_day) may delete positions and mark chain
    -- batches retired. Statement-level triggers: the return value is ignored.
    IF current_setting('auditorium.retention', true) = 'on'
       AND ((TG_OP = 'DELETE' AND TG_TABLE_NAME = 'event_positions') OR (TG_OP = 'UPDATE' AND TG_TABLE_NAME = 'event_chain')) THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'audit events are append-only: % on % is not allowed', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

-- The insert trigger, now also hashing and chaining. It runs with its owner's rights
-- (SECURITY DEFINER): the server's role can append events but not write these tables itself.
CREATE OR REPLACE FUNCTION events_after_insert() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
DECLARE
    batch_size bigint;
    first_seq  bigint;
    previous   bytea;
BEGIN
    SELECT count(*) INTO batch_size FROM new_events;
    IF batch_size = 0 THEN
        RETURN NULL;
    END IF;

    -- Serialisation point: the row lock lasts until this transaction commits.
    UPDATE event_sequence SET last_seq = last_seq + batch_size
        RETURNING last_seq - batch_size + 1 INTO first_seq;

    -- The chain's head, stable while the lock above is held.
    SELECT digest INTO previous FROM event_chain ORDER BY last_seq DESC LIMIT 1;

    WITH positioned AS (
        INSERT INTO event_positions (seq, id, occurred_at, fingerprint, hash)
        SELECT first_seq + row_number() OVER (ORDER BY e.occurred_at, e.id) - 1, e.id, e.occurred_at, e.fingerprint,
               -- event_hash(e), written out (a function call per row costs more than the hash)
               sha256(record_send(ROW(
                   e.id, e.occurred_at, e.received_at, e.action, e.actor_id, e.actor_name, e.actor_email,
                   e.actor_type, e.source, e.method, e.status, e.path, e.outcome, e.error, e.resource_type,
                   e.resource_id, e.resource_name, e.context, e.request_id, e.ip, e.user_agent, e.changes,
                   e.metadata)))
        FROM new_events e
        RETURNING seq, hash
    )
    INSERT INTO event_chain (last_seq, first_seq, digest)
    SELECT first_seq + batch_size - 1, first_seq,
           sha256(coalesce(previous, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea)
                  || string_agg(int8send(seq) || hash, ''::bytea ORDER BY seq))
    FROM positioned;

    INSERT INTO event_counts AS c (dim, value, minute, outcome, n)
    SELECT d.dim, d.value, date_trunc('minute', e.occurred_at), e.outcome, count(*)
    FROM new_events e
    CROSS JOIN LATERAL (VALUES
        ('', NULL::text),
        ('action', e.action),
        ('actor.type', e.actor_type),
        ('source', e.source),
        ('method', e.method),
        ('status', e.status::text),
        ('resource.type', e.resource_type)
    ) AS d(dim, value)
    GROUP BY 1, 2, 3, 4
    ORDER BY 1, 2, 3, 4
    ON CONFLICT ON CONSTRAINT event_counts_key DO UPDATE SET n = c.n + EXCLUDED.n;

    INSERT INTO event_counts_hourly AS c (dim, value, hour, outcome, n)
    SELECT d.dim, d.value, date_trunc('hour', e.occurred_at), e.outcome, count(*)
    FROM new_events e
    CROSS JOIN LATERAL (VALUES
        ('', NULL::text),
        ('action', e.action),
        ('actor.type', e.actor_type),
        ('source', e.source),
        ('method', e.method),
        ('status', e.status::text),
        ('resource.type', e.resource_type)
    ) AS d(dim, value)
    GROUP BY 1, 2, 3, 4
    ORDER BY 1, 2, 3, 4
    ON CONFLICT ON CONSTRAINT event_counts_hourly_key DO UPDATE SET n = c.n + EXCLUDED.n;

    INSERT INTO event_label_counts AS c (key, value, hour, outcome, n)
    SELECT l.key, l.value, date_trunc('hour', e.occurred_at), e.outcome, count(*)
    FROM new_events e CROSS JOIN LATERAL jsonb_each_text(e.context) AS l(key, value)
    GROUP BY 1, 2, 3, 4
    ORDER BY 1, 2, 3, 4
    ON CONFLICT ON CONSTRAINT event_label_counts_key DO UPDATE SET n = c.n + EXCLUDED.n;

    INSERT INTO context_keys (key)
    SELECT DISTINCT jsonb_object_keys(context) FROM new_events
    ON CONFLICT DO NOTHING;

    PERFORM pg_notify('auditorium_events', (first_seq + batch_size - 1)::text);
    RETURN NULL;
END;
$$;

ALTER FUNCTION events_daily_counts() SECURITY DEFINER SET search_path = public;
-- Ingest creates the partition of a new day (a backfill) through this function.
ALTER FUNCTION ensure_event_partitions(date, date) SECURITY DEFINER SET search_path = public;

-- Drops one day: its partition, its positions (hashes kept in chain_retired where the batch
-- keeps other events; batches left empty marked retired) and its rows in every count table.
-- Positions are removed by time, so also those whose event row is already gone.
-- Run by the owner, with ingest briefly paused by the lock on `events`. Returns the number of
-- events removed.
CREATE FUNCTION retention_drop_day(drop_day date) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    part    text := 'events_p' || to_char(drop_day, 'YYYYMMDD');
    lo      timestamptz := drop_day::timestamp AT TIME ZONE 'UTC';
    hi      timestamptz := (drop_day + 1)::timestamp AT TIME ZONE 'UTC';
    removed bigint;
    lo_seq  bigint;
    hi_seq  bigint;
BEGIN
    -- Writers wait (readers do not) until this transaction ends; taken first so the DROP at
    -- the end only upgrades a lock this transaction already holds.
    LOCK TABLE events IN SHARE ROW EXCLUSIVE MODE;
    PERFORM set_config('auditorium.retention', 'on', true);

    -- The day's positions are found by the BRIN index on their time.
    SELECT min(seq), max(seq), count(*) INTO lo_seq, hi_seq, removed
    FROM event_positions WHERE occurred_at >= lo AND occurred_at < hi;

    IF removed > 0 THEN
        -- Batches holding events of the day: where a batch keeps other events, the hashes
        -- of the dropped ones are kept (the rest stays verifiable); a batch left empty is
        -- marked retired (its digest still links the next one).
        CREATE TEMP TABLE touched ON COMMIT DROP AS
        SELECT c.last_seq, c.first_seq,
               EXISTS (SELECT 1 FROM event_positions p WHERE p.seq BETWEEN c.first_seq AND c.last_seq
                                                          AND NOT (p.occurred_at >= lo AND p.occurred_at < hi)) AS keeps_some
        FROM event_chain c
        WHERE c.last_seq >= lo_seq AND c.first_seq <= hi_seq AND NOT c.retired
          AND EXISTS (SELECT 1 FROM event_positions p WHERE p.seq BETWEEN c.first_seq AND c.last_seq
                                                       AND p.occurred_at >= lo AND p.occurred_at < hi);
        INSERT INTO chain_retired (seq, hash)
        SELECT p.seq, p.hash FROM touched t JOIN event_positions p ON p.seq BETWEEN t.first_seq AND t.last_seq
        WHERE t.keeps_some AND p.occurred_at >= lo AND p.occurred_at < hi
        ON CONFLICT DO NOTHING;
        UPDATE event_chain c SET retired = true FROM touched t WHERE c.last_seq = t.last_seq AND NOT t.keeps_some;
        DELETE FROM chain_retired r USING touched t WHERE NOT t.keeps_some AND r.seq BETWEEN t.first_seq AND t.last_seq;

        DELETE FROM event_positions WHERE occurred_at >= lo AND occurred_at < hi;
    END IF;

    DELETE FROM event_counts WHERE minute >= lo AND minute < hi;
    DELETE FROM event_counts_hourly WHERE hour >= lo AND hour < hi;
    DELETE FROM event_label_counts WHERE hour >= lo AND hour < hi;
    DELETE FROM event_counts_daily WHERE day = drop_day;

    IF to_regclass(part) IS NOT NULL THEN
        EXECUTE format('DROP TABLE %I', part);
    END IF;
    INSERT INTO retention_drops (day, events) VALUES (drop_day, removed)
    ON CONFLICT (day) DO UPDATE SET events = retention_drops.events + EXCLUDED.events, dropped_at = now();
    RETURN removed;
END;
$$;
