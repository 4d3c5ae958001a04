//! One-time links: a random token (shown once, in the link) lets its holder set a password.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;
use uuid::Uuid;

pub async fn create(db: impl PgExecutor<'_>, token_hash: &[u8], user_id: Uuid, expires_at: DateTime<Utc>) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO one_time_links (token_hash, user_id, purpose, expires_at) VALUES ($1, $2, 'set_password', $3)")
        .bind(token_hash)
        .bind(user_id)
        .bind(expires_at)
        .execute(db)
        .await
        .map(|_| ())
}

/// Marks an unused, unexpired link used and returns its user — at most once per link, even
/// with two attempts at the same moment.
pub async fn redeem(db: impl PgExecutor<'_>, token_hash: &[u8]) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar(
        "UPDATE one_time_links SET used_at = now()
         WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now() RETURNING user_id",
    )
    .bind(token_hash)
    .fetch_optional(db)
    .await
}

/// Whether a link can still be used (the page asks before showing its form).
pub async fn is_usable(db: impl PgExecutor<'_>, token_hash: &[u8]) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar("SELECT user_id FROM one_time_links WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now()")
        .bind(token_hash)
        .fetch_optional(db)
        .await
}

/// Retires the unused links of a user (a new one replaces them).
pub async fn retire_for(db: impl PgExecutor<'_>, user_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE one_time_links SET used_at = now() WHERE user_id = $1 AND used_at IS NULL")
        .bind(user_id)
        .execute(db)
        .await
        .map(|_| ())
}
