-- Export jobs: a view exported in the background, one ZIP per format, expiring.
CREATE TABLE exports (
    id            uuid PRIMARY KEY,
    name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    -- The view in the URL format, and the moment its time range was resolved: a job that is
    -- restarted exports exactly the same window.
    view          text NOT NULL,
    window_at     timestamptz NOT NULL,
    formats       text[] NOT NULL CHECK (cardinality(formats) BETWEEN 1 AND 4
                                         AND formats <@ ARRAY['csv', 'ndjson', 'cef', 'xlsx']),
    -- Who asked, and what they could see then (the export holds only that).
    created_by    uuid REFERENCES users (id) ON DELETE SET NULL,
    creator_name  text NOT NULL,
    scope_all     boolean NOT NULL,
    scope_views   text[] NOT NULL DEFAULT '{}',
    scope_key     text NOT NULL DEFAULT '',
    status        text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'done', 'failed')),
    rows_total    bigint,
    rows_done     bigint NOT NULL DEFAULT 0,
    -- {"csv": {"bytes": 123, "sha256": "…"}, …} once done.
    files         jsonb NOT NULL DEFAULT '{}',
    error         text,
    attempts      integer NOT NULL DEFAULT 0,
    claimed_by    text,
    heartbeat_at  timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    started_at    timestamptz,
    finished_at   timestamptz,
    expires_at    timestamptz NOT NULL
);

CREATE INDEX exports_waiting ON exports (created_at) WHERE status IN ('queued', 'running');
CREATE INDEX exports_expiry ON exports (expires_at);
