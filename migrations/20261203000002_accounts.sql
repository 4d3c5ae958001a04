-- Accounts, sessions, one-time links, tokens that belong to someone, and the outbox through
-- which Auditorium writes its own audit events. See docs/security.md.

CREATE TABLE users (
    id              uuid        PRIMARY KEY,
    email           text        NOT NULL CHECK (email = lower(email) AND length(email) BETWEEN 3 AND 320),
    display_name    text        NOT NULL CHECK (length(display_name) BETWEEN 1 AND 200),
    role            text        NOT NULL CHECK (role IN ('admin', 'auditor', 'member')),
    -- Views in the URL format; a member sees the events matching any of them.
    scopes          text[]      NOT NULL DEFAULT '{}',
    -- Argon2id in PHC string form; NULL until the person sets a password.
    password_hash   text,
    disabled_at     timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    last_sign_in_at timestamptz
);
CREATE UNIQUE INDEX users_email ON users (email);

-- A session is known by the SHA-256 of its random id (the cookie holds the id itself).
CREATE TABLE sessions (
    id_hash      bytea       PRIMARY KEY,
    user_id      uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    ip           text,
    user_agent   text,
    revoked_at   timestamptz
);
CREATE INDEX sessions_user ON sessions (user_id) WHERE revoked_at IS NULL;

-- One-time links (set a password after an invitation or a reset), by the SHA-256 of the token.
CREATE TABLE one_time_links (
    token_hash bytea       PRIMARY KEY,
    user_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose    text        NOT NULL CHECK (purpose IN ('set_password')),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);

-- Read and admin tokens carry their owner's role and scope. Tokens from before accounts
-- existed have no owner; they keep reading everything (see docs/security.md).
ALTER TABLE api_tokens ADD COLUMN user_id uuid REFERENCES users (id) ON DELETE CASCADE;

-- Auditorium's own audit events, written in the same transaction as the action they record
-- and moved into the event store by a background task (so they cannot be lost or skipped).
CREATE TABLE audit_outbox (
    id         uuid        PRIMARY KEY,
    event      jsonb       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Every instance caches access decisions; changes that take access away (or change what
-- someone sees) notify them all.
CREATE TRIGGER users_access_changed
    AFTER UPDATE OF role, scopes, disabled_at, password_hash OR DELETE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION notify_access_changed();
CREATE TRIGGER sessions_access_changed
    AFTER UPDATE OF revoked_at, expires_at OR DELETE ON sessions
    FOR EACH STATEMENT EXECUTE FUNCTION notify_access_changed();
DROP TRIGGER api_tokens_access_changed ON api_tokens;
CREATE TRIGGER api_tokens_access_changed
    AFTER UPDATE OF scope, revoked_at, secret_hash, user_id OR DELETE ON api_tokens
    FOR EACH STATEMENT EXECUTE FUNCTION notify_access_changed();
