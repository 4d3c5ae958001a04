//! Alert rules and the notification list (`/api/v1/alert-rules`, `/api/v1/alerts`). Anyone
//! who may read may make a rule (it sees what they see); see `alerts::rules` for who sees and
//! changes which rule. Every change is audited.

use app::alerts::{AlertList, AlertRule, AlertRuleChange, AlertRules, CreatedRule, NewAlertRule};
use app::api::ErrorDetail;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;

use super::error::ApiError;
use super::session::body;
use crate::alerts::rules::{self, RuleError};
use crate::auth::guard::ClientOrigin;
use crate::auth::ReadAccess;
use crate::db::detached;
use crate::state::AppState;

impl From<RuleError> for ApiError {
    fn from(e: RuleError) -> ApiError {
        match e {
            RuleError::Invalid(problems) => ApiError::Unprocessable {
                message: RuleError::Invalid(problems.clone()).to_string(),
                details: problems
                    .into_iter()
                    .map(|(field, message)| ErrorDetail {
                        index: None,
                        field: Some(field),
                        message,
                    })
                    .collect(),
            },
            RuleError::NotFound(message) => ApiError::NotFound(message),
            RuleError::Forbidden(message) => ApiError::Forbidden(message),
            RuleError::Store(e) => ApiError::from(e),
        }
    }
}

/// Runs `work` in a task of its own: a client that goes away cannot cancel a change halfway.
async fn run<T: Send + 'static>(
    work: impl std::future::Future<Output = Result<T, RuleError>> + Send + 'static,
) -> Result<T, ApiError> {
    match detached(work).await {
        Some(result) => result.map_err(ApiError::from),
        None => Err(ApiError::Internal("an alert task failed".into())),
    }
}

/// `POST /api/v1/alert-rules` → 201 `{"id": …}`.
pub async fn create(
    State(state): State<AppState>,
    ReadAccess(who): ReadAccess,
    ClientOrigin(origin): ClientOrigin,
    json: Result<Json<NewAlertRule>, JsonRejection>,
) -> Result<(StatusCode, Json<CreatedRule>), ApiError> {
    let new = body(json)?;
    let (pool, allow) = (state.pool.clone(), state.webhook_allow.clone());
    let created =
        run(async move { rules::create(&pool, &who, &new, &allow, origin).await }).await?;
    state.audit_kick.notify_one();
    Ok((StatusCode::CREATED, Json(created)))
}

/// `GET /api/v1/alert-rules`.
pub async fn list(
    State(state): State<AppState>,
    ReadAccess(who): ReadAccess,
) -> Result<Json<AlertRules>, ApiError> {
    let rows = run(async move { Ok(rules::list(&state.pool, &who).await?) }).await?;
    Ok(Json(AlertRules {
        rules: rows.iter().map(|r| r.summary()).collect(),
    }))
}

/// `GET /api/v1/alert-rules/{id}`.
pub async fn get(
    State(state): State<AppState>,
    ReadAccess(who): ReadAccess,
    Path(id): Path<String>,
) -> Result<Json<AlertRule>, ApiError> {
    run(async move { rules::get(&state.pool, &who, &id).await })
        .await
        .map(Json)
}

/// `PATCH /api/v1/alert-rules/{id}` `{"enabled": false}`: silence (or enable) a rule.
pub async fn change(
    State(state): State<AppState>,
    ReadAccess(who): ReadAccess,
    ClientOrigin(origin): ClientOrigin,
    Path(id): Path<String>,
    json: Result<Json<AlertRuleChange>, JsonRejection>,
) -> Result<Json<AlertRule>, ApiError> {
    let change = body(json)?;
    let pool = state.pool.clone();
    let rule = run(async move { rules::change(&pool, &who, &id, &change, origin).await }).await?;
    state.audit_kick.notify_one();
    Ok(Json(rule))
}

/// `DELETE /api/v1/alert-rules/{id}` → 204.
pub async fn delete(
    State(state): State<AppState>,
    ReadAccess(who): ReadAccess,
    ClientOrigin(origin): ClientOrigin,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let pool = state.pool.clone();
    run(async move { rules::delete(&pool, &who, &id, origin).await }).await?;
    state.audit_kick.notify_one();
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/alerts`: the rules one sees and their newest firings (the notification list).
pub async fn notifications(
    State(state): State<AppState>,
    ReadAccess(who): ReadAccess,
) -> Result<Json<AlertList>, ApiError> {
    run(async move {
        let rows = rules::list(&state.pool, &who).await?;
        let firings = rules::firings(&state.pool, &who, &rows, 100).await?;
        Ok(AlertList {
            rules: rows.iter().map(|r| r.summary()).collect(),
            firings,
        })
    })
    .await
    .map(Json)
}
