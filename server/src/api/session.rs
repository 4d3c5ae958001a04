//! `/api/v1/session`: sign in (`POST`, JSON email and password → session cookie), who am I
//! (`GET`), sign out (`DELETE`, `?everywhere=true` ends every session of the account); and
//! `POST /api/v1/password`: choose a password through a one-time link.

use app::accounts::{Credentials, Me, NewPassword};
use axum::extract::rejection::JsonRejection;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

use super::error::ApiError;
use crate::auth::accounts::{self, AccountError};
use crate::auth::audit::Actor;
use crate::auth::guard::ClientOrigin;
use crate::auth::sign_in::{sign_in, SignInError};
use crate::auth::{session, Authenticated, Credential};
use crate::state::AppState;

/// A JSON body, or a 400 that says what is wrong with it.
pub fn body<T>(json: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    json.map(|Json(v)| v).map_err(|e| ApiError::BadRequest { code: "malformed_json", message: e.body_text(), details: vec![] })
}

impl From<AccountError> for ApiError {
    fn from(e: AccountError) -> ApiError {
        match e {
            AccountError::Invalid(message) => ApiError::Unprocessable { message, details: vec![] },
            AccountError::NotFound(message) => ApiError::NotFound(message),
            AccountError::Conflict(message) => ApiError::Conflict { message, details: vec![] },
            AccountError::Sql(e) => ApiError::from(e),
        }
    }
}

pub async fn create(State(state): State<AppState>, ClientOrigin(origin): ClientOrigin, json: Result<Json<Credentials>, JsonRejection>) -> Response {
    let credentials = match body(json) {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let limits = state.auth.limits;
    match sign_in(&state.pool, &state.throttle, limits.absolute, &credentials.email, credentials.password, origin).await {
        Ok(signed_in) => {
            state.audit_kick.notify_one();
            let me = Me {
                user: Some(app::accounts::Person {
                    id: signed_in.user.id.to_string(),
                    email: signed_in.user.email.clone(),
                    name: signed_in.user.display_name.clone(),
                }),
                role: signed_in.role.as_str().into(),
                scopes: if signed_in.role == crate::store::users::Role::Member { signed_in.user.scopes.clone() } else { vec![] },
                via: "session".into(),
                token: None,
                can_manage: signed_in.role == crate::store::users::Role::Admin,
            };
            let cookie = session::set_cookie(&signed_in.secret, limits.absolute, state.web.secure_cookies);
            ([(header::SET_COOKIE, cookie)], Json(me)).into_response()
        }
        Err(e) => {
            state.audit_kick.notify_one();
            sign_in_error(e).into_response()
        }
    }
}

pub fn sign_in_error(e: SignInError) -> ApiError {
    match e {
        SignInError::WrongCredentials => ApiError::InvalidCredentials,
        SignInError::Throttled(wait) => {
            ApiError::TooManyRequests { message: SignInError::Throttled(wait).to_string(), retry_after: u32::try_from(wait.as_secs().max(1)).unwrap_or(60) }
        }
        SignInError::SsoOnly => ApiError::Forbidden(SignInError::SsoOnly.to_string()),
        SignInError::Sql(e) => ApiError::from(e),
    }
}

pub async fn me(Authenticated(who): Authenticated) -> Json<Me> {
    Json(who.me())
}

#[derive(Deserialize)]
pub struct SignOut {
    #[serde(default)]
    everywhere: bool,
}

pub async fn delete(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    ClientOrigin(origin): ClientOrigin,
    Query(options): Query<SignOut>,
) -> Result<Response, ApiError> {
    let Credential::Session(hash) = &who.credential else {
        return Err(ApiError::BadRequest {
            code: "not_a_session",
            message: "this request is signed with an API token, not a session: revoke the token instead".into(),
            details: vec![],
        });
    };
    let actor = Actor::of(&who);
    match (&who.user, options.everywhere) {
        (Some(user), true) => {
            accounts::end_all_sessions(&state.pool, user.id, actor, origin).await?;
        }
        _ => accounts::end_session(&state.pool, hash, actor, origin).await?,
    }
    state.auth.forget(&who.credential);
    state.audit_kick.notify_one();
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, session::clear_cookie(state.web.secure_cookies))]).into_response())
}

pub async fn set_password(State(state): State<AppState>, ClientOrigin(origin): ClientOrigin, json: Result<Json<NewPassword>, JsonRejection>) -> Result<StatusCode, ApiError> {
    let new = body(json)?;
    accounts::set_password_with_link(&state.pool, &new.token, new.password, origin).await?;
    state.audit_kick.notify_one();
    Ok(StatusCode::NO_CONTENT)
}

/// The session cookie of a request, if it carries one (for marking "this session").
pub fn current_session_hash(headers: &HeaderMap) -> Option<Vec<u8>> {
    session::from_headers(headers).map(|id| session::hash_secret(&id))
}
