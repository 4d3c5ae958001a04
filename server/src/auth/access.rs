//! The authentication step every request goes through, and the extractors that put the
//! authorisation rule into handler signatures: a handler taking `ReadAccess` cannot be
//! reached without a principal allowed to read, and gets that principal (with its scope).

use std::sync::Arc;

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use axum::middleware::Next;
use axum::response::Response;

use super::principal::{Credential, Denied, Need, Principal};
use super::session;
use crate::api::error::ApiError;
use crate::state::AppState;
use crate::store::tokens;

/// What the authentication step found; in every request's extensions.
#[derive(Clone, Debug)]
pub enum Access {
    Anonymous,
    Known(Arc<Principal>),
    /// Credentials were sent but do not work (unknown, revoked, expired, disabled).
    Refused(&'static str),
    /// They could not be checked: the database is unavailable.
    Unavailable,
}

impl Access {
    pub fn principal(&self) -> Option<&Arc<Principal>> {
        match self {
            Access::Known(p) => Some(p),
            _ => None,
        }
    }
}

/// Middleware: resolves the request's credentials once (a bearer token takes precedence over
/// the session cookie) and stores the outcome for the extractors.
pub async fn authenticate(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    // A request made in-process while rendering a page carries its page's principal already.
    if request.extensions().get::<Access>().is_none() {
        let access = resolve(&state, request.headers()).await;
        request.extensions_mut().insert(access);
    }
    next.run(request).await
}

async fn resolve(state: &AppState, headers: &HeaderMap) -> Access {
    let (credential, refusal) = match bearer(headers) {
        Err(message) => return Access::Refused(message),
        Ok(Some(secret)) => (Credential::Token(tokens::hash(secret)), "the API token is unknown or revoked"),
        Ok(None) => match session::from_headers(headers) {
            Some(id) => (Credential::Session(session::hash_secret(&id)), "your session has ended: sign in again"),
            None => return Access::Anonymous,
        },
    };
    match state.auth.resolve(&state.pool, &credential).await {
        Ok(Some(principal)) => Access::Known(Arc::new(principal)),
        Ok(None) => Access::Refused(refusal),
        Err(e) => {
            tracing::warn!(error = %e, "checking credentials failed: {e}");
            Access::Unavailable
        }
    }
}

fn bearer(headers: &HeaderMap) -> Result<Option<&str>, &'static str> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(|s| Some(s.trim()))
        .ok_or("the Authorization header must be `Bearer <token>`")
}

/// The principal of the request if `need` is allowed; the error otherwise (401 for nobody or
/// refused credentials, 403 for someone not allowed, 503 when it could not be checked).
pub fn require(parts: &Parts, need: Need) -> Result<Arc<Principal>, ApiError> {
    let principal = known(parts)?;
    principal.allows(need).map_err(|Denied(message)| ApiError::Forbidden(message))?;
    Ok(principal)
}

/// The principal of the request, whatever it may do.
pub fn known(parts: &Parts) -> Result<Arc<Principal>, ApiError> {
    match parts.extensions.get::<Access>() {
        Some(Access::Known(principal)) => Ok(principal.clone()),
        Some(Access::Refused(message)) => Err(ApiError::Unauthorized((*message).into())),
        Some(Access::Unavailable) => Err(ApiError::database_unavailable()),
        Some(Access::Anonymous) | None => {
            Err(ApiError::Unauthorized("sign in, or send an API token: Authorization: Bearer <token> (see `auditorium token create`)".into()))
        }
    }
}

macro_rules! access_extractor {
    ($(#[$doc:meta])* $name:ident, $need:expr) => {
        $(#[$doc])*
        pub struct $name(pub Arc<Principal>);

        impl<S: Send + Sync> FromRequestParts<S> for $name {
            type Rejection = ApiError;

            async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
                require(parts, $need).map($name)
            }
        }
    };
}

access_extractor!(
    /// Someone allowed to read events (within their scope).
    ReadAccess,
    Need::Read
);
access_extractor!(
    /// A token allowed to send events.
    IngestAccess,
    Need::Ingest
);
access_extractor!(
    /// An admin (session, or an admin's token with admin scope).
    AdminAccess,
    Need::Manage
);
access_extractor!(
    /// An admin or auditor reading metrics.
    MetricsAccess,
    Need::Metrics
);

/// Anyone signed in or holding a token, whatever they may do.
pub struct Authenticated(pub Arc<Principal>);

impl<S: Send + Sync> FromRequestParts<S> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        known(parts).map(Authenticated)
    }
}
