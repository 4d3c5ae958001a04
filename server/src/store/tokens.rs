//! API tokens: random secrets shown once, stored only as SHA-256 hashes.

use chrono::{DateTime, Utc};
use rand::distr::{Alphanumeric, SampleString};
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::{PgExecutor, PgPool};
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

    /// `None` for anything but the three scopes: an unknown scope grants nothing.
    pub fn parse(s: &str) -> Option<Scope> {
        match s {
            "ingest" => Some(Scope::Ingest),
            "read" => Some(Scope::Read),
            "admin" => Some(Scope::Admin),
            _ => None,
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
    /// Whose role and scope a read or admin token carries (`None`: an ingest token, or a
    /// token from before accounts existed).
    pub user_id: Option<Uuid>,
    /// The owner's email, when listed.
    #[sqlx(default)]
    pub owner_email: Option<String>,
}

const COLUMNS: &str = "t.id, t.name, t.scope, t.created_at, t.last_used_at, t.revoked_at, t.user_id, u.email AS owner_email";

impl TokenRow {
    /// The token's scope; `None` (nothing allowed) if the stored value is not one we know.
    pub fn scope(&self) -> Option<Scope> {
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

pub fn hash(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// Creates a token without an owner (ingest tokens; tests); returns it and its secret, which
/// is not stored anywhere.
pub async fn create(pool: &PgPool, name: &str, scope: Scope) -> Result<(TokenRow, String), TokenError> {
    create_for(pool, name, scope, None).await
}

/// Creates a token carrying `owner`'s role and scope; returns it and its secret.
pub async fn create_for(db: impl PgExecutor<'_>, name: &str, scope: Scope, owner: Option<Uuid>) -> Result<(TokenRow, String), TokenError> {
    if name.trim().is_empty() || name.chars().count() > 100 {
        return Err(TokenError::BadName);
    }
    let secret = format!("{SECRET_PREFIX}{}", Alphanumeric.sample_string(&mut rand::rng(), 40));
    let row = sqlx::query_as::<_, TokenRow>(&format!(
        "WITH t AS (INSERT INTO api_tokens (id, name, scope, secret_hash, user_id) VALUES ($1, $2, $3, $4, $5) RETURNING *)
         SELECT {COLUMNS} FROM t LEFT JOIN users u ON u.id = t.user_id"
    ))
    .bind(Uuid::now_v7())
    .bind(name.trim())
    .bind(scope.as_str())
    .bind(hash(&secret))
    .bind(owner)
    .fetch_one(db)
    .await
    .map_err(|e| match e.as_database_error().and_then(|d| d.constraint()) {
        Some("api_tokens_active_name") => TokenError::NameTaken(name.to_string()),
        _ => TokenError::Sql(e),
    })?;
    Ok((row, secret))
}

pub async fn list(db: impl PgExecutor<'_>) -> Result<Vec<TokenRow>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM api_tokens t LEFT JOIN users u ON u.id = t.user_id ORDER BY t.created_at"))
        .fetch_all(db)
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

/// Revokes the active token with this id; the token when it was active.
pub async fn revoke_by_id(db: impl PgExecutor<'_>, id: Uuid) -> Result<Option<TokenRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "WITH t AS (UPDATE api_tokens SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL RETURNING *)
         SELECT {COLUMNS} FROM t LEFT JOIN users u ON u.id = t.user_id"
    ))
    .bind(id)
    .fetch_optional(db)
    .await
}

/// Revokes every active token `owner` owns; how many.
pub async fn revoke_owned(db: impl PgExecutor<'_>, owner: Uuid) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("UPDATE api_tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL").bind(owner).execute(db).await?;
    Ok(done.rows_affected())
}

/// The active token whose secret hashes to `hash`.
pub async fn find_active(pool: &PgPool, hash: &[u8]) -> Result<Option<TokenRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM api_tokens t LEFT JOIN users u ON u.id = t.user_id WHERE t.secret_hash = $1 AND t.revoked_at IS NULL"
    ))
    .bind(hash)
    .fetch_optional(pool)
    .await
}

/// Notes that the token whose secret hashes to `hash` was used now.
pub async fn record_use_by_hash(pool: &PgPool, hash: &[u8]) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE api_tokens SET last_used_at = now() WHERE secret_hash = $1").bind(hash).execute(pool).await.map(|_| ())
}

/// Notes that the token was used now.
pub async fn record_use(pool: &PgPool, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE api_tokens SET last_used_at = now() WHERE id = $1").bind(id).execute(pool).await.map(|_| ())
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

    #[test]
    fn an_unknown_scope_grants_nothing() {
        assert_eq!(Scope::parse("root"), None);
        assert_eq!(Scope::parse("Admin"), None);
        assert_eq!(Scope::parse("admin"), Some(Scope::Admin));
    }
}
