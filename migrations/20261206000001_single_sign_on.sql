-- Single sign-on with OpenID Connect (docs/security.md "Single sign-on"): the settings (one
-- row), sign-ins under way, and the link from an account to its identity at the provider.

CREATE TABLE sso_settings (
    id               boolean     PRIMARY KEY DEFAULT true CHECK (id),
    enabled          boolean     NOT NULL DEFAULT false,
    -- Shown on the sign-in button: "Sign in with <name>".
    display_name     text        NOT NULL DEFAULT 'single sign-on' CHECK (length(display_name) BETWEEN 1 AND 60),
    issuer           text        NOT NULL DEFAULT '',
    client_id        text        NOT NULL DEFAULT '',
    -- Sealed with the instance's secrets key (XChaCha20-Poly1305); never sent back.
    client_secret    text,
    scopes           text[]      NOT NULL DEFAULT '{openid,email,profile}',
    -- The claim holding the person's groups, and the rules that turn groups into access:
    -- [{"group": "...", "role": "admin|auditor|member", "scopes": ["view", ...]}].
    groups_claim     text        NOT NULL DEFAULT 'groups',
    mappings         jsonb       NOT NULL DEFAULT '[]',
    -- Lower-case email domains allowed to sign in (empty: any).
    allowed_domains  text[]      NOT NULL DEFAULT '{}',
    -- false: only people who already have an account (invited) may sign in.
    create_accounts  boolean     NOT NULL DEFAULT true,
    -- false: only admins may still sign in with a password (break-glass).
    password_sign_in boolean     NOT NULL DEFAULT true,
    -- What the last "Test sign-in" received and what it would have granted.
    last_test        jsonb,
    updated_at       timestamptz
);
INSERT INTO sso_settings DEFAULT VALUES;

-- A sign-in sent to the provider and not back yet, by the SHA-256 of its `state`. The row is
-- deleted when the provider answers, so a state (and the code with it) works once.
CREATE TABLE sso_logins (
    state_hash    bytea       PRIMARY KEY,
    -- SHA-256 of the random value in the browser's cookie: the answer must come back to the
    -- browser that started the sign-in.
    browser_hash  bytea       NOT NULL,
    nonce         text        NOT NULL,
    pkce_verifier text        NOT NULL,
    next          text        NOT NULL DEFAULT '/',
    -- Started by an admin's "Test sign-in": nothing is signed in, the claims are kept.
    test_by       uuid        REFERENCES users (id) ON DELETE CASCADE,
    expires_at    timestamptz NOT NULL
);

-- The identity at the provider ("<issuer> <sub>") an account signed in with.
ALTER TABLE users ADD COLUMN sso_subject text;
CREATE UNIQUE INDEX users_sso_subject ON users (sso_subject);

-- The ID token of a single-sign-on session, sent as `id_token_hint` when signing out ends
-- the provider's session too.
ALTER TABLE sessions ADD COLUMN sso_id_token text;
