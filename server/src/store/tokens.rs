//! API tokens: random secrets shown once, stored only as SHA-256 hashes.

use chrono::{DateTime, Utc};
use rand::distr::{Alphanumeric, SampleString};
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use uuid::Uuid;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    Ingest,
    Read,
    Admin,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Ingest => "ingest",
            Scope::Read => "read",
            Scope::Admin => "admin",
        }
    }

    fn parse(s: &str) -> Scope {
        match s {
            "ingest" => Scope::Ingest,
            "read" => Scope::Read,
            _ => Scope::Admin,
        }
    }

    /// Whether a token of this scope may do what `needed` allows. `admin` may do anything.
    pub fn allows(self, needed: Scope) -> bool {
        self == needed || self == Scope::Admin
    }
}

#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub struct TokenRow {
    pub id: Uuid,
    pub name: String,
    pub scope: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl TokenRow {
    pub fn scope(&self) -> Scope {
        Scope::parse(&self.scope)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("an active token named {0:?} already exists")]
    NameTaken(String),
    #[error("a token name must be 1-100 characters")]
    BadName,
    #[error(transparent)]
    Sql(#[from] sqlx::Error),
}

/// Prefix of every secret, so leaked tokens are easy to recognise (and to scan for).
pub const SECRET_PREFIX: &str = "aud_";

fn hash(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// Creates a token; returns it and its secret, which is not stored anywhere.
pub async fn create(pool: &PgPool, name: &str, scope: Scope) -> Result<(TokenRow, String), TokenError> {
    if name.trim().is_empty() || name.chars().count() > 100 {
        return Err(TokenError::BadName);
    }
    let secret = format!("{SECRET_PREFIX}{}", Alphanumeric.sample_string(&mut rand::rng(), 40));
    let row = sqlx::query_as::<_, TokenRow>(
        "INSERT INTO api_tokens (id, name, scope, secret_hash) VALUES ($1, $2, $3, $4)
         RETURNING id, name, scope, created_at, last_used_at, revoked_at",
    )
    .bind(Uuid::now_v7())
    .bind(name)
    .bind(scope.as_str())
    .bind(hash(&secret))
    .fetch_one(pool)
    .await
    .map_err(|e| match e.as_database_error().and_then(|d| d.constraint()) {
        Some("api_tokens_active_name") => TokenError::NameTaken(name.to_string()),
        _ => TokenError::Sql(e),
    })?;
    Ok((row, secret))
}

pub async fn list(pool: &PgPool) -> Result<Vec<TokenRow>, sqlx::Error> {
    sqlx::query_as("SELECT id, name, scope, created_at, last_used_at, revoked_at FROM api_tokens ORDER BY created_at")
        .fetch_all(pool)
        .await
}

/// Revokes the active token `name`; false when there is none.
pub async fn revoke(pool: &PgPool, name: &str) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("UPDATE api_tokens SET revoked_at = now() WHERE name = $1 AND revoked_at IS NULL")
        .bind(name)
        .execute(pool)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// The active token with this secret, recording its use (at most once a minute, so a busy
/// ingest client does not turn every request into a write).
pub async fn authenticate(pool: &PgPool, secret: &str) -> Result<Option<TokenRow>, sqlx::Error> {
    let token: Option<TokenRow> = sqlx::query_as(
        "SELECT id, name, scope, created_at, last_used_at, revoked_at FROM api_tokens
         WHERE secret_hash = $1 AND revoked_at IS NULL",
    )
    .bind(hash(secret))
    .fetch_optional(pool)
    .await?;
    if let Some(t) = &token {
        if t.last_used_at.is_none_or(|at| Utc::now() - at > chrono::Duration::minutes(1)) {
            sqlx::query("UPDATE api_tokens SET last_used_at = now() WHERE id = $1").bind(t.id).execute(pool).await?;
        }
    }
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_allows_everything_others_only_themselves() {
        assert!(Scope::Admin.allows(Scope::Ingest));
        assert!(Scope::Admin.allows(Scope::Read));
        assert!(Scope::Read.allows(Scope::Read));
        assert!(!Scope::Read.allows(Scope::Ingest));
        assert!(!Scope::Ingest.allows(Scope::Read));
    }
}
