-- SIEM destinations: committed events forwarded in position (= commit) order, at least once,
-- each destination from its own checkpoint. See server/src/forward/.
CREATE TABLE destinations (
    id              uuid        PRIMARY KEY,
    name            text        NOT NULL,
    -- syslog | splunk_hec | webhook
    kind            text        NOT NULL CHECK (kind IN ('syslog', 'splunk_hec', 'webhook')),
    -- Everything but the secrets, as app::destinations::DestinationSettings (name and kind
    -- are the columns above).
    settings        jsonb       NOT NULL,
    -- The view (URL format) selecting what is sent; empty: everything.
    filter          text        NOT NULL DEFAULT '',
    enabled         boolean     NOT NULL DEFAULT true,
    -- HEC token / webhook secret and the client certificate's key, sealed (server/src/secrets.rs).
    secret          text,
    client_key      text,
    -- The last position the receiver acknowledged: sending goes on after it.
    checkpoint      bigint      NOT NULL,
    delivered       bigint      NOT NULL DEFAULT 0,
    last_delivery_at timestamptz,
    -- Failing since (first failed attempt after a success), and whether the alarm (audit
    -- event, red state) was raised for it.
    failing_since   timestamptz,
    alarmed         boolean     NOT NULL DEFAULT false,
    last_error      text,
    last_error_at   timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX destinations_name ON destinations (lower(name));
