-- The event store: append-only, partitioned by day, with a commit-ordered position per event
-- and exact per-minute counts for the volume chart. See docs/architecture.md.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE events (
    occurred_at   timestamptz NOT NULL,
    id            uuid        NOT NULL,
    received_at   timestamptz NOT NULL DEFAULT now(),
    action        text        NOT NULL,
    actor_id      text        NOT NULL,
    actor_name    text        NOT NULL,
    actor_email   text,
    actor_type    text        NOT NULL CHECK (actor_type IN ('user', 'api_token', 'system', 'service')),
    source        text,
    method        text,
    status        smallint    CHECK (status BETWEEN 100 AND 599),
    path          text,
    outcome       text        NOT NULL CHECK (outcome IN ('success', 'failure')),
    error         text,
    resource_type text,
    resource_id   text,
    resource_name text,
    context       jsonb       NOT NULL DEFAULT '{}'::jsonb,
    request_id    text,
    ip            text,
    user_agent    text,
    changes       jsonb,
    metadata      jsonb,
    -- Lower-cased text of every searchable field, computed by the application
    -- (app::event::search_text) so the Rust predicate and SQL agree exactly.
    search_text   text        NOT NULL,
    -- Hash of the event's content, for idempotent retries (same id + same content).
    fingerprint   bytea
) PARTITION BY RANGE (occurred_at);

-- Newest-first pages and time-range scans (keyset on (occurred_at, id)).
CREATE INDEX events_time_idx ON events (occurred_at, id);
CREATE INDEX events_action_idx ON events (action, occurred_at);
CREATE INDEX events_actor_idx ON events (actor_id, occurred_at);
CREATE INDEX events_resource_idx ON events (resource_id, occurred_at) WHERE resource_id IS NOT NULL;
CREATE INDEX events_request_idx ON events (request_id, occurred_at) WHERE request_id IS NOT NULL;
CREATE INDEX events_context_idx ON events USING gin (context jsonb_path_ops);

-- One row per stored event: the unique id (idempotency across partitions) and the position
-- in commit order (live tail: "every event after position N").
CREATE TABLE event_positions (
    seq          bigint      PRIMARY KEY,
    id           uuid        NOT NULL UNIQUE,
    occurred_at  timestamptz NOT NULL,
    fingerprint  bytea
);

-- The last position handed out. Its row lock, taken by the insert trigger, is held until
-- commit, so positions are assigned in commit order and contain no holes.
CREATE TABLE event_sequence (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    last_seq  bigint  NOT NULL
);
INSERT INTO event_sequence (last_seq) VALUES (0);

-- Exact event counts per minute, per filterable low-cardinality field value, per outcome.
-- dim '' counts every event. Maintained by the insert trigger; never drifts because events
-- can never be updated or deleted.
CREATE TABLE event_counts (
    dim     text        NOT NULL,
    value   text,
    minute  timestamptz NOT NULL,
    outcome text        NOT NULL,
    n       bigint      NOT NULL,
    CONSTRAINT event_counts_key UNIQUE NULLS NOT DISTINCT (dim, value, minute, outcome)
);

CREATE FUNCTION events_after_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    batch_size bigint;
    first_seq  bigint;
BEGIN
    SELECT count(*) INTO batch_size FROM new_events;
    IF batch_size = 0 THEN
        RETURN NULL;
    END IF;

    -- Serialisation point: the row lock lasts until this transaction commits.
    UPDATE event_sequence SET last_seq = last_seq + batch_size
        RETURNING last_seq - batch_size + 1 INTO first_seq;

    INSERT INTO event_positions (seq, id, occurred_at, fingerprint)
    SELECT first_seq + row_number() OVER (ORDER BY occurred_at, id) - 1, id, occurred_at, fingerprint
    FROM new_events;

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

    PERFORM pg_notify('auditorium_events', (first_seq + batch_size - 1)::text);
    RETURN NULL;
END;
$$;

CREATE TRIGGER events_sequence AFTER INSERT ON events
    REFERENCING NEW TABLE AS new_events
    FOR EACH STATEMENT EXECUTE FUNCTION events_after_insert();

-- Append-only, enforced by the database for every client, not only by the application.
CREATE FUNCTION refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only: % on % is not allowed', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
CREATE TRIGGER event_positions_append_only BEFORE UPDATE OR DELETE ON event_positions
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER event_positions_no_truncate BEFORE TRUNCATE ON event_positions
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();

-- Daily partitions, created ahead by the server and on demand by ingest.
-- Each partition refuses TRUNCATE too (statement triggers are not inherited).
CREATE FUNCTION ensure_event_partitions(first_day date, last_day date) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    day     date;
    name    text;
    created integer := 0;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('auditorium.ensure_event_partitions'));
    day := first_day;
    WHILE day <= last_day LOOP
        name := 'events_p' || to_char(day, 'YYYYMMDD');
        IF to_regclass(name) IS NULL THEN
            EXECUTE format(
                'CREATE TABLE %I PARTITION OF events FOR VALUES FROM (%L) TO (%L)',
                name, day::timestamp AT TIME ZONE 'UTC', (day + 1)::timestamp AT TIME ZONE 'UTC');
            EXECUTE format(
                'CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON %I '
                'FOR EACH STATEMENT EXECUTE FUNCTION refuse_change()', name);
            created := created + 1;
        END IF;
        day := day + 1;
    END LOOP;
    RETURN created;
END;
$$;

-- Partitions whose day is over and that have no trigram search index yet. The server builds
-- those indexes (CREATE INDEX CONCURRENTLY) so ingest into today's partition never pays for them.
CREATE FUNCTION event_partitions_to_seal(older_than timestamptz)
RETURNS TABLE (partition_name text)
LANGUAGE sql STABLE AS $$
    SELECT c.relname::text
    FROM pg_inherits i
    JOIN pg_class c ON c.oid = i.inhrelid
    WHERE i.inhparent = 'events'::regclass
      AND c.relname ~ '^events_p[0-9]{8}$'
      AND to_date(substr(c.relname, 9), 'YYYYMMDD') + 1 <= (older_than AT TIME ZONE 'UTC')::date
      AND NOT EXISTS (
          SELECT 1 FROM pg_index x JOIN pg_class ic ON ic.oid = x.indexrelid
          WHERE x.indrelid = c.oid AND ic.relname = c.relname || '_search' AND x.indisvalid)
    ORDER BY c.relname DESC;
$$;

CREATE TABLE api_tokens (
    id           uuid        PRIMARY KEY,
    name         text        NOT NULL,
    scope        text        NOT NULL CHECK (scope IN ('ingest', 'read', 'admin')),
    secret_hash  bytea       NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at   timestamptz
);
CREATE UNIQUE INDEX api_tokens_active_name ON api_tokens (name) WHERE revoked_at IS NULL;
