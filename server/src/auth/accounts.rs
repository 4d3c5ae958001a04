//! What can be done to accounts, sessions and tokens — the same operations for the API, the
//! pages' forms and the command line. Each change and its audit entry commit together.

use std::time::Duration;

use app::query::Scope;
use chrono::Utc;
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use super::audit::{self, Actor, Entry, Origin};
use super::password;
use super::session;
use crate::store::tokens::{self, Scope as TokenScope, TokenError, TokenRow};
use crate::store::users::{self, Role, UserError, UserRow};
use crate::store::{links, sessions};

/// How long a one-time link to set a password works.
pub const LINK_LIFETIME: Duration = Duration::from_secs(7 * 24 * 3600);

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Sql(#[from] sqlx::Error),
}

impl From<UserError> for AccountError {
    fn from(e: UserError) -> AccountError {
        match e {
            UserError::EmailTaken(_) => AccountError::Conflict(e.to_string()),
            UserError::NotFound(_) => AccountError::NotFound(e.to_string()),
            UserError::Sql(e) => AccountError::Sql(e),
        }
    }
}

impl From<TokenError> for AccountError {
    fn from(e: TokenError) -> AccountError {
        match e {
            TokenError::NameTaken(_) => AccountError::Conflict(e.to_string()),
            TokenError::BadName => AccountError::Invalid(e.to_string()),
            TokenError::Sql(e) => AccountError::Sql(e),
        }
    }
}

/// Checks scope views before they are stored; a member's scope, as entered.
pub fn check_scopes(role: Role, scopes: &[String]) -> Result<Vec<String>, AccountError> {
    let cleaned: Vec<String> = scopes.iter().map(|s| s.trim().trim_start_matches('?').to_string()).filter(|s| !s.is_empty()).collect();
    if role != Role::Member {
        return Ok(cleaned);
    }
    Scope::parse(&cleaned).map_err(|problems| AccountError::Invalid(format!("the scope is not valid: {}", problems.join("; "))))?;
    Ok(cleaned)
}

fn check_email(email: &str) -> Result<String, AccountError> {
    let email = users::normalise_email(email);
    let valid = email.len() <= 320 && email.split_once('@').is_some_and(|(a, b)| !a.is_empty() && b.contains('.') && !b.starts_with('.'));
    if valid && !email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        Ok(email)
    } else {
        Err(AccountError::Invalid(format!("{email:?} is not an email address")))
    }
}

/// A one-time link to set a password, for `base_url`.
pub fn link_url(base_url: &str, token: &str) -> String {
    format!("{}/set-password?token={token}", base_url.trim_end_matches('/'))
}

/// A new account; with `password` it can sign in at once, otherwise the returned one-time
/// link lets its person choose a password.
pub async fn create_user(
    pool: &PgPool,
    email: &str,
    name: Option<&str>,
    role: Role,
    scopes: &[String],
    password: Option<String>,
    actor: Actor,
    origin: Origin,
) -> Result<(UserRow, Option<String>), AccountError> {
    let email = check_email(email)?;
    let scopes = check_scopes(role, scopes)?;
    let name = name.map(str::trim).filter(|n| !n.is_empty()).map(str::to_string).unwrap_or_else(|| email.split('@').next().unwrap_or(&email).to_string());
    if name.chars().count() > 200 {
        return Err(AccountError::Invalid("a display name has at most 200 characters".into()));
    }
    let hash = match password {
        Some(p) => {
            password::check_new(&p).map_err(AccountError::Invalid)?;
            Some(password::hash(p).await.map_err(AccountError::Invalid)?)
        }
        None => None,
    };
    let mut tx = pool.begin().await?;
    let user = users::create(&mut *tx, &email, &name, role, &scopes, hash.as_deref()).await?;
    let link = match hash {
        Some(_) => None,
        None => Some(new_link(&mut tx, user.id).await?),
    };
    let entry = Entry::new("auditorium.user.invited", actor, origin)
        .on("user", user.id, &user.email)
        .change("role", json!(null), json!(role.as_str()))
        .note("scopes", json!(scopes));
    audit::record(&mut *tx, &entry).await?;
    tx.commit().await?;
    Ok((user, link))
}

async fn new_link(tx: &mut sqlx::Transaction<'_, sqlx::Postgres>, user_id: Uuid) -> Result<String, sqlx::Error> {
    links::retire_for(&mut **tx, user_id).await?;
    let (token, hash) = session::new_secret();
    let expires = Utc::now() + chrono::TimeDelta::from_std(LINK_LIFETIME).unwrap_or(chrono::TimeDelta::days(7));
    links::create(&mut **tx, &hash, user_id, expires).await?;
    Ok(token)
}

/// A fresh one-time link for someone who forgot their password (older links stop working).
pub async fn password_link(pool: &PgPool, user_id: Uuid, actor: Actor, origin: Origin) -> Result<(UserRow, String), AccountError> {
    let mut tx = pool.begin().await?;
    let user = users::for_update(&mut *tx, user_id).await?.ok_or_else(|| AccountError::NotFound("there is no such account".into()))?;
    let token = new_link(&mut tx, user.id).await?;
    audit::record(&mut *tx, &Entry::new("auditorium.user.password_link_created", actor, origin).on("user", user.id, &user.email)).await?;
    tx.commit().await?;
    Ok((user, token))
}

/// Sets a password through a one-time link (which then stops working); ends the account's
/// other sessions.
pub async fn set_password_with_link(pool: &PgPool, token: &str, new_password: String, origin: Origin) -> Result<UserRow, AccountError> {
    password::check_new(&new_password).map_err(AccountError::Invalid)?;
    let hash = password::hash(new_password).await.map_err(AccountError::Invalid)?;
    let mut tx = pool.begin().await?;
    let user_id = links::redeem(&mut *tx, &session::hash_secret(token))
        .await?
        .ok_or_else(|| AccountError::NotFound("this link has expired or was used already; ask an admin for a new one".into()))?;
    let user = users::for_update(&mut *tx, user_id).await?.ok_or_else(|| AccountError::NotFound("the account no longer exists".into()))?;
    users::set_password_hash(&mut *tx, user.id, &hash).await?;
    sessions::revoke_all(&mut *tx, user.id).await?;
    let actor = Actor { id: user.id.to_string(), name: user.display_name.clone(), email: Some(user.email.clone()), kind: "user" };
    audit::record(&mut *tx, &Entry::new("auditorium.user.password_set", actor, origin).on("user", user.id, &user.email)).await?;
    tx.commit().await?;
    Ok(user)
}

/// What an admin may change about an account (`None`: leave as is).
#[derive(Clone, Debug, Default, serde::Deserialize)]
pub struct UserChange {
    pub role: Option<Role>,
    pub scopes: Option<Vec<String>>,
    pub disabled: Option<bool>,
    pub display_name: Option<String>,
}

/// Applies `change`, auditing each part (`role_changed`, `scope_changed`, `disabled`,
/// `enabled`, `renamed`). The last active admin cannot be demoted or disabled.
pub async fn change_user(pool: &PgPool, user_id: Uuid, change: UserChange, actor: Actor, origin: Origin) -> Result<UserRow, AccountError> {
    let mut tx = pool.begin().await?;
    let user = users::for_update(&mut *tx, user_id).await?.ok_or_else(|| AccountError::NotFound("there is no such account".into()))?;
    let old_role = user.role().unwrap_or(Role::Member);
    let role = change.role.unwrap_or(old_role);
    let losing_admin = old_role == Role::Admin && (role != Role::Admin || change.disabled == Some(true));
    if losing_admin && user.disabled_at.is_none() && users::other_active_admins(&mut *tx, user.id).await? == 0 {
        return Err(AccountError::Conflict("this is the last active admin: make someone else admin first".into()));
    }
    let entry = |action| Entry::new(action, actor.clone(), origin.clone()).on("user", user.id, &user.email);
    if role != old_role {
        users::set_role(&mut *tx, user.id, role).await?;
        audit::record(&mut *tx, &entry("auditorium.user.role_changed").change("role", json!(old_role.as_str()), json!(role.as_str()))).await?;
    }
    if let Some(scopes) = change.scopes {
        let scopes = check_scopes(role, &scopes)?;
        if scopes != user.scopes {
            users::set_scopes(&mut *tx, user.id, &scopes).await?;
            audit::record(&mut *tx, &entry("auditorium.user.scope_changed").change("scopes", json!(user.scopes), json!(scopes))).await?;
        }
    } else if role == Role::Member && old_role != Role::Member {
        check_scopes(role, &user.scopes)?;
    }
    if let Some(disabled) = change.disabled.filter(|d| *d != user.disabled_at.is_some()) {
        users::set_disabled(&mut *tx, user.id, disabled).await?;
        if disabled {
            sessions::revoke_all(&mut *tx, user.id).await?;
        }
        let action = if disabled { "auditorium.user.disabled" } else { "auditorium.user.enabled" };
        audit::record(&mut *tx, &entry(action)).await?;
    }
    if let Some(name) = change.display_name.map(|n| n.trim().to_string()).filter(|n| *n != user.display_name) {
        if name.is_empty() || name.chars().count() > 200 {
            return Err(AccountError::Invalid("a display name has 1 to 200 characters".into()));
        }
        users::set_display_name(&mut *tx, user.id, &name).await?;
        audit::record(&mut *tx, &entry("auditorium.user.renamed").change("display_name", json!(user.display_name), json!(name))).await?;
    }
    let updated = users::by_id(&mut *tx, user.id).await?.ok_or_else(|| AccountError::NotFound("there is no such account".into()))?;
    tx.commit().await?;
    Ok(updated)
}

/// A new API token. Read and admin tokens carry their owner's role and scope and need one;
/// ingest tokens are per application and need none.
pub async fn create_token(
    pool: &PgPool,
    name: &str,
    scope: TokenScope,
    owner: Option<Uuid>,
    actor: Actor,
    origin: Origin,
) -> Result<(TokenRow, String), AccountError> {
    if scope != TokenScope::Ingest && owner.is_none() {
        return Err(AccountError::Invalid(format!("a {} token belongs to someone: name its user", scope.as_str())));
    }
    let mut tx = pool.begin().await?;
    if let Some(owner) = owner {
        let user = users::by_id(&mut *tx, owner).await?.ok_or_else(|| AccountError::NotFound("there is no such account".into()))?;
        if user.disabled_at.is_some() {
            return Err(AccountError::Invalid(format!("{} is disabled", user.email)));
        }
    }
    let (row, secret) = tokens::create_for(&mut *tx, name, scope, owner).await?;
    let entry = Entry::new("auditorium.token.created", actor, origin)
        .on("api_token", row.id, &row.name)
        .note("scope", json!(scope.as_str()))
        .note("owner", json!(row.owner_email));
    audit::record(&mut *tx, &entry).await?;
    tx.commit().await?;
    Ok((row, secret))
}

pub async fn revoke_token(pool: &PgPool, id: Uuid, actor: Actor, origin: Origin) -> Result<TokenRow, AccountError> {
    let mut tx = pool.begin().await?;
    let row = tokens::revoke_by_id(&mut *tx, id).await?.ok_or_else(|| AccountError::NotFound("there is no active token with this id".into()))?;
    audit::record(&mut *tx, &Entry::new("auditorium.token.revoked", actor, origin).on("api_token", row.id, &row.name)).await?;
    tx.commit().await?;
    Ok(row)
}

/// Ends one session (sign-out, or an admin ending someone's session).
pub async fn end_session(pool: &PgPool, id_hash: &[u8], actor: Actor, origin: Origin) -> Result<(), AccountError> {
    let mut tx = pool.begin().await?;
    if let Some(user_id) = sessions::revoke(&mut *tx, id_hash).await? {
        audit::record(&mut *tx, &Entry::new("auditorium.session.ended", actor, origin).on("user", user_id, "")).await?;
    }
    tx.commit().await?;
    Ok(())
}

pub async fn end_session_by_handle(pool: &PgPool, handle: &str, actor: Actor, origin: Origin) -> Result<(), AccountError> {
    let mut tx = pool.begin().await?;
    let user_id = sessions::revoke_by_handle(&mut *tx, handle).await?.ok_or_else(|| AccountError::NotFound("there is no active session with this handle".into()))?;
    audit::record(&mut *tx, &Entry::new("auditorium.session.ended", actor, origin).on("user", user_id, "").note("session", json!(handle))).await?;
    tx.commit().await?;
    Ok(())
}

/// Ends every session of a user ("sign out everywhere").
pub async fn end_all_sessions(pool: &PgPool, user_id: Uuid, actor: Actor, origin: Origin) -> Result<u64, AccountError> {
    let mut tx = pool.begin().await?;
    let user = users::by_id(&mut *tx, user_id).await?.ok_or_else(|| AccountError::NotFound("there is no such account".into()))?;
    let ended = sessions::revoke_all(&mut *tx, user.id).await?;
    audit::record(&mut *tx, &Entry::new("auditorium.session.ended_everywhere", actor, origin).on("user", user.id, &user.email).note("sessions", json!(ended)))
        .await?;
    tx.commit().await?;
    Ok(ended)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_checked_and_normalised() {
        assert_eq!(check_email(" Ada@Example.COM ").expect("valid"), "ada@example.com");
        for bad in ["ada", "ada@", "@example.com", "ada@example", "a da@example.com", "ada@.com"] {
            assert!(check_email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_member_scope_must_parse_and_select_something() {
        assert_eq!(check_scopes(Role::Member, &["?context.team=machinery ".into(), " ".into()]).expect("valid"), vec!["context.team=machinery"]);
        assert!(check_scopes(Role::Member, &["colour=red".into()]).is_err());
        assert!(check_scopes(Role::Member, &["range=1h".into()]).is_err());
        assert!(check_scopes(Role::Auditor, &["anything".into()]).is_ok(), "only members' scopes are used");
    }

    #[test]
    fn links_point_at_the_set_password_page() {
        assert_eq!(link_url("https://audit.example.com/", "abc"), "https://audit.example.com/set-password?token=abc");
    }
}
