//! Sign-in sessions, known by the SHA-256 of their random id (the cookie holds the id).

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgExecutor, PgPool};
use uuid::Uuid;

#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub struct SessionRow {
    /// A public handle for the session (hex of the first 8 bytes of its hash): enough to
    /// name it in the admin page, useless to sign in with.
    pub handle: String,
    pub user_id: Uuid,
    pub email: String,
    pub display_name: String,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

pub async fn create(
    db: impl PgExecutor<'_>,
    id_hash: &[u8],
    user_id: Uuid,
    expires_at: DateTime<Utc>,
    ip: Option<&str>,
    user_agent: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO sessions (id_hash, user_id, expires_at, ip, user_agent) VALUES ($1, $2, $3, $4, $5)")
        .bind(id_hash)
        .bind(user_id)
        .bind(expires_at)
        .bind(ip)
        .bind(user_agent.map(|ua| ua.chars().take(512).collect::<String>()))
        .execute(db)
        .await
        .map(|_| ())
}

/// Notes activity (the caller does so at most once a minute).
pub async fn touch(pool: &PgPool, id_hash: &[u8]) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE sessions SET last_seen_at = now() WHERE id_hash = $1").bind(id_hash).execute(pool).await.map(|_| ())
}

/// Ends one session; its user id when it was active.
pub async fn revoke(db: impl PgExecutor<'_>, id_hash: &[u8]) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar("UPDATE sessions SET revoked_at = now(), sso_id_token = NULL WHERE id_hash = $1 AND revoked_at IS NULL RETURNING user_id")
        .bind(id_hash)
        .fetch_optional(db)
        .await
}

/// Ends one session by its public handle; its user id when it was active.
pub async fn revoke_by_handle(db: impl PgExecutor<'_>, handle: &str) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar(
        "UPDATE sessions SET revoked_at = now(), sso_id_token = NULL WHERE encode(substring(id_hash from 1 for 8), 'hex') = $1 AND revoked_at IS NULL RETURNING user_id",
    )
    .bind(handle)
    .fetch_optional(db)
    .await
}

/// Ends every session of a user; how many were active.
pub async fn revoke_all(db: impl PgExecutor<'_>, user_id: Uuid) -> Result<u64, sqlx::Error> {
    sqlx::query("UPDATE sessions SET revoked_at = now(), sso_id_token = NULL WHERE user_id = $1 AND revoked_at IS NULL")
        .bind(user_id)
        .execute(db)
        .await
        .map(|r| r.rows_affected())
}

/// Active sessions, newest activity first; of one user when given.
pub async fn list_active(db: impl PgExecutor<'_>, user: Option<Uuid>) -> Result<Vec<SessionRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT encode(substring(s.id_hash from 1 for 8), 'hex') AS handle, s.user_id, u.email, u.display_name,
                s.created_at, s.last_seen_at, s.expires_at, s.ip, s.user_agent
         FROM sessions s JOIN users u ON u.id = s.user_id
         WHERE s.revoked_at IS NULL AND s.expires_at > now() AND ($1::uuid IS NULL OR s.user_id = $1)
         ORDER BY s.last_seen_at DESC",
    )
    .bind(user)
    .fetch_all(db)
    .await
}

/// Keeps a single-sign-on session's ID token (the `id_token_hint` of signing out).
pub async fn set_sso_id_token(db: impl PgExecutor<'_>, id_hash: &[u8], id_token: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE sessions SET sso_id_token = $2 WHERE id_hash = $1").bind(id_hash).bind(id_token).execute(db).await.map(|_| ())
}

/// The ID token of a single-sign-on session, if it is one.
pub async fn sso_id_token(db: impl PgExecutor<'_>, id_hash: &[u8]) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT sso_id_token FROM sessions WHERE id_hash = $1").bind(id_hash).fetch_optional(db).await.map(Option::flatten)
}
