//! The admin API: users (invite, change role, scope, name, disable; one-time password links),
//! API tokens (create, list, revoke) and sessions (list, end). Every handler takes
//! `AdminAccess`; every change is audited in the same transaction (`auth::accounts`).

use app::accounts::{
    CreatedToken, Invitation, NewToken, NewUser, SessionList, SessionSummary, TokenList, TokenSummary, UserList, UserPatch, UserSummary,
};
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use chrono::{DateTime, SecondsFormat, Utc};
use uuid::Uuid;

use super::error::ApiError;
use super::session::{body, current_session_hash};
use crate::auth::accounts::{self, UserChange, LINK_LIFETIME};
use crate::auth::audit::Actor;
use crate::auth::guard::ClientOrigin;
use crate::auth::AdminAccess;
use crate::state::AppState;
use crate::store::sessions::{self, SessionRow};
use crate::store::tokens::{self, Scope as TokenScope, TokenRow};
use crate::store::users::{self, Role, UserRow};

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

pub fn user_summary(u: &UserRow) -> UserSummary {
    UserSummary {
        id: u.id.to_string(),
        email: u.email.clone(),
        name: u.display_name.clone(),
        role: u.role.clone(),
        scopes: u.scopes.clone(),
        disabled: u.disabled_at.is_some(),
        has_password: u.has_password(),
        sso: u.sso_subject.is_some(),
        created_at: time(u.created_at),
        last_sign_in_at: u.last_sign_in_at.map(time),
    }
}

pub fn token_summary(t: &TokenRow) -> TokenSummary {
    TokenSummary {
        id: t.id.to_string(),
        name: t.name.clone(),
        scope: t.scope.clone(),
        owner: t.owner_email.clone(),
        created_at: time(t.created_at),
        last_used_at: t.last_used_at.map(time),
        revoked_at: t.revoked_at.map(time),
    }
}

fn session_summary(s: &SessionRow, current: Option<&[u8]>) -> SessionSummary {
    SessionSummary {
        handle: s.handle.clone(),
        user_id: s.user_id.to_string(),
        email: s.email.clone(),
        name: s.display_name.clone(),
        created_at: time(s.created_at),
        last_seen_at: time(s.last_seen_at),
        expires_at: time(s.expires_at),
        ip: s.ip.clone(),
        user_agent: s.user_agent.clone(),
        current: current.is_some_and(|h| hex_prefix(h) == s.handle),
    }
}

fn hex_prefix(hash: &[u8]) -> String {
    hash.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

fn role(text: &str) -> Result<Role, ApiError> {
    Role::parse(text).ok_or_else(|| ApiError::Unprocessable { message: format!("role must be admin, auditor or member, not {text:?}"), details: vec![] })
}

fn id(text: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(text).map_err(|_| ApiError::NotFound(format!("{text:?} is not an id")))
}

pub async fn list_users(State(state): State<AppState>, _admin: AdminAccess) -> Result<Json<UserList>, ApiError> {
    Ok(Json(UserList { users: users::list(&state.pool).await?.iter().map(user_summary).collect() }))
}

pub async fn invite(
    State(state): State<AppState>,
    AdminAccess(admin): AdminAccess,
    ClientOrigin(origin): ClientOrigin,
    json: Result<Json<NewUser>, JsonRejection>,
) -> Result<(StatusCode, Json<Invitation>), ApiError> {
    let new = body(json)?;
    let (user, link) =
        accounts::create_user(&state.pool, &new.email, new.name.as_deref(), role(&new.role)?, &new.scopes, None, Actor::of(&admin), origin).await?;
    state.audit_kick.notify_one();
    let link = accounts::link_url(&state.web.base_url, &link.unwrap_or_default());
    Ok((StatusCode::CREATED, Json(Invitation { user: user_summary(&user), link, expires_in_days: days(LINK_LIFETIME) })))
}

fn days(d: std::time::Duration) -> u32 {
    u32::try_from(d.as_secs() / 86_400).unwrap_or(u32::MAX)
}

pub async fn change_user(
    State(state): State<AppState>,
    AdminAccess(admin): AdminAccess,
    ClientOrigin(origin): ClientOrigin,
    Path(user_id): Path<String>,
    json: Result<Json<UserPatch>, JsonRejection>,
) -> Result<Json<UserSummary>, ApiError> {
    let patch = body(json)?;
    let change = UserChange {
        role: patch.role.as_deref().map(role).transpose()?,
        scopes: patch.scopes,
        disabled: patch.disabled,
        display_name: patch.name,
    };
    let user = accounts::change_user(&state.pool, id(&user_id)?, change, Actor::of(&admin), origin).await?;
    state.audit_kick.notify_one();
    Ok(Json(user_summary(&user)))
}

pub async fn password_link(
    State(state): State<AppState>,
    AdminAccess(admin): AdminAccess,
    ClientOrigin(origin): ClientOrigin,
    Path(user_id): Path<String>,
) -> Result<Json<Invitation>, ApiError> {
    let (user, token) = accounts::password_link(&state.pool, id(&user_id)?, Actor::of(&admin), origin).await?;
    state.audit_kick.notify_one();
    let link = accounts::link_url(&state.web.base_url, &token);
    Ok(Json(Invitation { user: user_summary(&user), link, expires_in_days: days(LINK_LIFETIME) }))
}

pub async fn end_user_sessions(
    State(state): State<AppState>,
    AdminAccess(admin): AdminAccess,
    ClientOrigin(origin): ClientOrigin,
    Path(user_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    accounts::end_all_sessions(&state.pool, id(&user_id)?, Actor::of(&admin), origin).await?;
    state.audit_kick.notify_one();
    Ok(StatusCode::NO_CONTENT)
}

pub async fn list_tokens(State(state): State<AppState>, _admin: AdminAccess) -> Result<Json<TokenList>, ApiError> {
    Ok(Json(TokenList { tokens: tokens::list(&state.pool).await?.iter().map(token_summary).collect() }))
}

pub async fn create_token(
    State(state): State<AppState>,
    AdminAccess(admin): AdminAccess,
    ClientOrigin(origin): ClientOrigin,
    json: Result<Json<NewToken>, JsonRejection>,
) -> Result<(StatusCode, Json<CreatedToken>), ApiError> {
    let new = body(json)?;
    let scope = TokenScope::parse(&new.scope)
        .ok_or_else(|| ApiError::Unprocessable { message: format!("scope must be ingest, read or admin, not {:?}", new.scope), details: vec![] })?;
    let owner = new.user_id.as_deref().filter(|u| !u.is_empty()).map(id).transpose()?;
    let (row, secret) = accounts::create_token(&state.pool, &new.name, scope, owner, Actor::of(&admin), origin).await?;
    state.audit_kick.notify_one();
    Ok((StatusCode::CREATED, Json(CreatedToken { token: token_summary(&row), secret })))
}

pub async fn revoke_token(
    State(state): State<AppState>,
    AdminAccess(admin): AdminAccess,
    ClientOrigin(origin): ClientOrigin,
    Path(token_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    accounts::revoke_token(&state.pool, id(&token_id)?, Actor::of(&admin), origin).await?;
    state.audit_kick.notify_one();
    Ok(StatusCode::NO_CONTENT)
}

pub async fn list_sessions(State(state): State<AppState>, _admin: AdminAccess, headers: HeaderMap) -> Result<Json<SessionList>, ApiError> {
    let current = current_session_hash(&headers);
    let rows = sessions::list_active(&state.pool, None).await?;
    Ok(Json(SessionList { sessions: rows.iter().map(|s| session_summary(s, current.as_deref())).collect() }))
}

pub async fn end_session(
    State(state): State<AppState>,
    AdminAccess(admin): AdminAccess,
    ClientOrigin(origin): ClientOrigin,
    Path(handle): Path<String>,
) -> Result<StatusCode, ApiError> {
    if handle.len() != 16 || !handle.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(ApiError::NotFound(format!("{handle:?} is not a session handle")));
    }
    accounts::end_session_by_handle(&state.pool, &handle.to_ascii_lowercase(), Actor::of(&admin), origin).await?;
    state.audit_kick.notify_one();
    Ok(StatusCode::NO_CONTENT)
}
