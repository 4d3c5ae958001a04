//! `/api/v1/sso` (how people sign in, for the sign-in page) and `/api/v1/sso/settings`
//! (admins: read and change single sign-on). The client secret is write-only.

use app::api::ErrorDetail;
use app::sso::{SignInOptions, SsoSettings, SsoSettingsInput};
use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::Json;

use super::error::ApiError;
use super::session::body;
use crate::auth::audit::Actor;
use crate::auth::guard::ClientOrigin;
use crate::auth::sso::settings::{self, SaveError};
use crate::auth::AdminAccess;
use crate::state::AppState;

pub async fn options(State(state): State<AppState>) -> Result<Json<SignInOptions>, ApiError> {
    Ok(Json(settings::sign_in_options(&state.pool).await?))
}

pub async fn get_settings(State(state): State<AppState>, _admin: AdminAccess) -> Result<Json<SsoSettings>, ApiError> {
    let stored = settings::load(&state.pool).await?;
    Ok(Json(settings::view(&stored, &state.web.base_url)))
}

pub async fn put_settings(
    State(state): State<AppState>,
    AdminAccess(admin): AdminAccess,
    ClientOrigin(origin): ClientOrigin,
    json: Result<Json<SsoSettingsInput>, JsonRejection>,
) -> Result<Json<SsoSettings>, ApiError> {
    let input = body(json)?;
    let saved = match settings::save(&state.pool, &state.secrets, &input, Actor::of(&admin), origin).await {
        Ok(saved) => saved,
        Err(SaveError::Invalid(problems)) => {
            let details = problems.iter().map(|p| ErrorDetail { index: None, field: None, message: p.clone() }).collect();
            return Err(ApiError::Unprocessable { message: "the single-sign-on settings are not valid".into(), details });
        }
        Err(SaveError::Secret(e)) => {
            tracing::error!(error = %e, "sealing the client secret failed: {e}");
            return Err(ApiError::Internal("the client secret could not be sealed (see the server log)".into()));
        }
        Err(SaveError::Sql(e)) => return Err(e.into()),
    };
    state.audit_kick.notify_one();
    state.sso.forget();
    crate::auth::sso::refresh_sign_out_origin(&state).await;
    Ok(Json(settings::view(&saved, &state.web.base_url)))
}
