-- The overview's "top actors" and "top resources" per day, exact like the other count tables
-- and kept by a trigger of their own on the same inserts. `value`: the actor id, or the
-- resource as `type` U+001F `id`.

CREATE TABLE event_counts_daily (
    dim     text    NOT NULL,
    value   text    NOT NULL,
    day     date    NOT NULL,
    outcome text    NOT NULL,
    n       bigint  NOT NULL,
    CONSTRAINT event_counts_daily_key UNIQUE (dim, value, day, outcome)
);
CREATE INDEX event_counts_daily_day ON event_counts_daily (dim, day);

INSERT INTO event_counts_daily (dim, value, day, outcome, n)
SELECT d.dim, d.value, (e.occurred_at AT TIME ZONE 'UTC')::date, e.outcome, count(*)
FROM events e
CROSS JOIN LATERAL (VALUES
    ('actor.id', e.actor_id),
    ('resource', CASE WHEN e.resource_id IS NOT NULL THEN coalesce(e.resource_type, '') || chr(31) || e.resource_id END)
) AS d(dim, value)
WHERE d.value IS NOT NULL
GROUP BY 1, 2, 3, 4;

CREATE FUNCTION events_daily_counts() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO event_counts_daily AS c (dim, value, day, outcome, n)
    SELECT d.dim, d.value, (e.occurred_at AT TIME ZONE 'UTC')::date, e.outcome, count(*)
    FROM new_events e
    CROSS JOIN LATERAL (VALUES
        ('actor.id', e.actor_id),
        ('resource', CASE WHEN e.resource_id IS NOT NULL THEN coalesce(e.resource_type, '') || chr(31) || e.resource_id END)
    ) AS d(dim, value)
    WHERE d.value IS NOT NULL
    GROUP BY 1, 2, 3, 4
    ORDER BY 1, 2, 3, 4
    ON CONFLICT ON CONSTRAINT event_counts_daily_key DO UPDATE SET n = c.n + EXCLUDED.n;
    RETURN NULL;
END;
$$;

CREATE TRIGGER events_daily_counts AFTER INSERT ON events
    REFERENCING NEW TABLE AS new_events
    FOR EACH STATEMENT EXECUTE FUNCTION events_daily_counts();

-- A resource's and an actor's history read by key, newest first.
CREATE INDEX IF NOT EXISTS events_resource_key_idx ON events (resource_type, resource_id, occurred_at) WHERE resource_id IS NOT NULL;

-- Alert rules: a view (URL format) + a threshold, evaluated on the committed events by one
-- instance at a time (the one holding the advisory lock), from `alert_progress.position`.
CREATE TABLE alert_rules (
    id             uuid        PRIMARY KEY,
    name           text        NOT NULL,
    view           text        NOT NULL,
    threshold      integer     NOT NULL CHECK (threshold >= 1),
    window_seconds integer     NOT NULL CHECK (window_seconds >= 1),
    per            text,
    webhook_url    text,
    webhook_secret text,
    enabled        boolean     NOT NULL DEFAULT true,
    -- A built-in suggestion (off until someone enables it): its key.
    suggestion     text        UNIQUE,
    -- Whose rule it is; it sees only what they may see (their scope, in the URL format).
    owner_id       uuid        REFERENCES users (id) ON DELETE SET NULL,
    owner_scopes   text[]      NOT NULL DEFAULT '{}',
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    deleted_at     timestamptz
);

-- How far the evaluation has read (commit position): one row.
CREATE TABLE alert_progress (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    position  bigint  NOT NULL
);
INSERT INTO alert_progress (position) SELECT coalesce(max(seq), 0) FROM event_positions;

-- One row per crossing: the position of the event that made the count reach the threshold
-- identifies it, so evaluating the same events twice (a restart, a second instance) cannot
-- fire twice.
CREATE TABLE alert_firings (
    id              uuid        PRIMARY KEY,
    rule_id         uuid        NOT NULL REFERENCES alert_rules (id),
    group_value     text        NOT NULL DEFAULT '',
    crossing        bigint      NOT NULL,
    window_from     timestamptz NOT NULL,
    window_to       timestamptz NOT NULL,
    event_ids       uuid[]      NOT NULL,
    fired_at        timestamptz NOT NULL DEFAULT now(),
    -- What the webhook receives (fixed when it fires: every retry sends the same).
    body            jsonb       NOT NULL,
    -- Webhook delivery: pending until delivered or given up.
    delivery        text        NOT NULL DEFAULT 'pending' CHECK (delivery IN ('none', 'pending', 'delivered', 'failed')),
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text,
    delivered_at    timestamptz,
    CONSTRAINT alert_firings_once UNIQUE (rule_id, group_value, crossing)
);
CREATE INDEX alert_firings_recent ON alert_firings (fired_at DESC);
CREATE INDEX alert_firings_due ON alert_firings (next_attempt_at) WHERE delivery = 'pending';
