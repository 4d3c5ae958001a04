-- Hourly totals of the per-minute counts: a 30-day count reads ~720 rows per value instead of
-- ~43,200. Whole hours come from here, partial hours from event_counts, partial minutes from
-- the events. Maintained by the insert trigger, like the others.

CREATE TABLE event_counts_hourly (
    dim     text        NOT NULL,
    value   text,
    hour    timestamptz NOT NULL,
    outcome text        NOT NULL,
    n       bigint      NOT NULL,
    CONSTRAINT event_counts_hourly_key UNIQUE NULLS NOT DISTINCT (dim, value, hour, outcome)
);

INSERT INTO event_counts_hourly (dim, value, hour, outcome, n)
SELECT dim, value, date_trunc('hour', minute), outcome, sum(n)
FROM event_counts
GROUP BY 1, 2, 3, 4;

CREATE OR REPLACE FUNCTION events_after_insert() RETURNS trigger
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

