//! Accounts: who may sign in, with which role and scope.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgExecutor, PgPool};
use uuid::Uuid;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything, including users, tokens and settings.
    Admin,
    /// Reads and exports everything; manages nothing.
    Auditor,
    /// Reads only the events in their scope.
    Member,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Admin, Role::Auditor, Role::Member];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Auditor => "auditor",
            Role::Member => "member",
        }
    }

    /// `None` for anything else: an unknown role grants nothing.
    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub struct UserRow {
    pub id: Uuid,
    pub email: String,
    pub display_name: String,
    pub role: String,
    pub scopes: Vec<String>,
    #[serde(skip)]
    pub password_hash: Option<String>,
    pub disabled_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub last_sign_in_at: Option<DateTime<Utc>>,
    /// The identity at the single-sign-on provider this account signs in with.
    #[serde(skip)]
    pub sso_subject: Option<String>,
}

impl UserRow {
    pub fn role(&self) -> Option<Role> {
        Role::parse(&self.role)
    }

    pub fn has_password(&self) -> bool {
        self.password_hash.is_some()
    }
}

const COLUMNS: &str = "id, email, display_name, role, scopes, password_hash, disabled_at, created_at, last_sign_in_at, sso_subject";

#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("an account with the email {0:?} already exists")]
    EmailTaken(String),
    #[error("there is no account {0}")]
    NotFound(String),
    #[error(transparent)]
    Sql(#[from] sqlx::Error),
}

/// Emails are compared in lower case, without surrounding spaces.
pub fn normalise_email(email: &str) -> String {
    email.trim().to_lowercase()
}

pub async fn create(
    db: impl PgExecutor<'_>,
    email: &str,
    display_name: &str,
    role: Role,
    scopes: &[String],
    password_hash: Option<&str>,
) -> Result<UserRow, UserError> {
    let email = normalise_email(email);
    sqlx::query_as(&format!(
        "INSERT INTO users (id, email, display_name, role, scopes, password_hash) VALUES ($1, $2, $3, $4, $5, $6) RETURNING {COLUMNS}"
    ))
    .bind(Uuid::now_v7())
    .bind(&email)
    .bind(display_name.trim())
    .bind(role.as_str())
    .bind(scopes)
    .bind(password_hash)
    .fetch_one(db)
    .await
    .map_err(|e| match e.as_database_error().and_then(|d| d.constraint()) {
        Some("users_email") => UserError::EmailTaken(email),
        _ => UserError::Sql(e),
    })
}

pub async fn list(db: impl PgExecutor<'_>) -> Result<Vec<UserRow>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM users ORDER BY disabled_at IS NOT NULL, lower(display_name), email")).fetch_all(db).await
}

pub async fn by_email(db: impl PgExecutor<'_>, email: &str) -> Result<Option<UserRow>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM users WHERE email = $1")).bind(normalise_email(email)).fetch_optional(db).await
}

pub async fn by_id(db: impl PgExecutor<'_>, id: Uuid) -> Result<Option<UserRow>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM users WHERE id = $1")).bind(id).fetch_optional(db).await
}

/// Locks the row for the rest of the transaction (changes are compared and audited).
pub async fn for_update(db: impl PgExecutor<'_>, id: Uuid) -> Result<Option<UserRow>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM users WHERE id = $1 FOR UPDATE")).bind(id).fetch_optional(db).await
}

pub async fn set_role(db: impl PgExecutor<'_>, id: Uuid, role: Role) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET role = $2 WHERE id = $1").bind(id).bind(role.as_str()).execute(db).await.map(|_| ())
}

pub async fn set_scopes(db: impl PgExecutor<'_>, id: Uuid, scopes: &[String]) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET scopes = $2 WHERE id = $1").bind(id).bind(scopes).execute(db).await.map(|_| ())
}

pub async fn set_display_name(db: impl PgExecutor<'_>, id: Uuid, name: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET display_name = $2 WHERE id = $1").bind(id).bind(name.trim()).execute(db).await.map(|_| ())
}

pub async fn set_disabled(db: impl PgExecutor<'_>, id: Uuid, disabled: bool) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET disabled_at = CASE WHEN $2 THEN coalesce(disabled_at, now()) END WHERE id = $1")
        .bind(id)
        .bind(disabled)
        .execute(db)
        .await
        .map(|_| ())
}

pub async fn set_password_hash(db: impl PgExecutor<'_>, id: Uuid, hash: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET password_hash = $2 WHERE id = $1").bind(id).bind(hash).execute(db).await.map(|_| ())
}

pub async fn record_sign_in(db: impl PgExecutor<'_>, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET last_sign_in_at = now() WHERE id = $1").bind(id).execute(db).await.map(|_| ())
}

/// How many accounts exist (a fresh install has none).
pub async fn count(pool: &PgPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT count(*) FROM users").fetch_one(pool).await
}

/// Active admins other than `except`, their rows locked for the transaction (two admins
/// demoting each other at once cannot leave none): the last admin cannot be demoted or
/// disabled.
pub async fn other_active_admins(db: impl PgExecutor<'_>, except: Uuid) -> Result<usize, sqlx::Error> {
    let ids: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM users WHERE role = 'admin' AND disabled_at IS NULL ORDER BY id FOR UPDATE")
        .fetch_all(db)
        .await?;
    Ok(ids.into_iter().filter(|id| *id != except).count())
}

/// The account linked to an identity at the single-sign-on provider (`<issuer> <sub>`).
pub async fn by_sso_subject(db: impl PgExecutor<'_>, identity: &str) -> Result<Option<UserRow>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM users WHERE sso_subject = $1 FOR UPDATE")).bind(identity).fetch_optional(db).await
}

pub async fn set_sso_subject(db: impl PgExecutor<'_>, id: Uuid, identity: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET sso_subject = $2 WHERE id = $1").bind(id).bind(identity).execute(db).await.map(|_| ())
}
