//! Bearer-token checks. Reading without a token is allowed only while the server listens on
//! loopback (until accounts exist); writing always needs a token.

use axum::http::{header, HeaderMap};

use super::error::ApiError;
use crate::state::AppState;
use crate::store::tokens::Scope;

/// Checks the request's token for `needed`.
pub async fn require(state: &AppState, headers: &HeaderMap, needed: Scope) -> Result<(), ApiError> {
    let secret = match bearer(headers)? {
        Some(secret) => secret,
        None if needed == Scope::Read && state.anonymous_read => return Ok(()),
        None => {
            return Err(ApiError::Unauthorized(
                "send an API token: Authorization: Bearer <token> (create one with `auditorium token create`)".into(),
            ))
        }
    };
    // A database that cannot answer is a 503 (retry), never "unknown token" (give up).
    let token = state
        .tokens
        .authenticate(&state.pool, secret)
        .await?
        .ok_or_else(|| ApiError::Unauthorized("the API token is unknown or revoked".into()))?;
    if token.scope().is_some_and(|scope| scope.allows(needed)) {
        Ok(())
    } else {
        Err(ApiError::Forbidden(format!(
            "the token {:?} has scope {}; this needs {}",
            token.name,
            token.scope,
            needed.as_str()
        )))
    }
}

fn bearer(headers: &HeaderMap) -> Result<Option<&str>, ApiError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(|s| Some(s.trim()))
        .ok_or_else(|| ApiError::Unauthorized("the Authorization header must be `Bearer <token>`".into()))
}
