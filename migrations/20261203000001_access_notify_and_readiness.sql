-- Access decisions are cached in each server instance (a busy ingest client would otherwise
-- cost a query per request). When a token's scope or revocation changes, every instance hears
-- it on `auditorium_access` and drops what it cached. (last_used_at updates do not notify.)
CREATE FUNCTION notify_access_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('auditorium_access', TG_TABLE_NAME);
    RETURN NULL;
END;
$$;

CREATE TRIGGER api_tokens_access_changed
    AFTER UPDATE OF scope, revoked_at, secret_hash OR DELETE ON api_tokens
    FOR EACH STATEMENT EXECUTE FUNCTION notify_access_changed();

-- `/readyz` commits a write here: a full disk or a read-only database is not ready.
CREATE TABLE readiness_probe (
    singleton  boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
    checked_at timestamptz NOT NULL
);
