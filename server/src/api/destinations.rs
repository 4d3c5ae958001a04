//! `/api/v1/destinations` (admins): SIEM destinations, their delivery status, and "Test".
//! Secrets (HEC tokens, webhook secrets, client keys) are write-only. Changes run detached
//! from the request and wake this instance's senders.

use app::api::ErrorDetail;
use app::destinations::{CreatedDestination, Destination, DestinationInput, DestinationKind, DestinationTest};
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde_json::json;
use uuid::Uuid;

use super::error::ApiError;
use super::session::body;
use crate::auth::audit::{self, Actor, Entry};
use crate::auth::guard::ClientOrigin;
use crate::auth::AdminAccess;
use crate::db::detached;
use crate::forward::store::{self, SaveError};
use crate::state::AppState;

impl From<SaveError> for ApiError {
    fn from(e: SaveError) -> ApiError {
        match e {
            SaveError::Invalid(problems) => ApiError::Unprocessable {
                message: "the destination is not valid".into(),
                details: problems.into_iter().map(|(field, message)| ErrorDetail { index: None, field: Some(field), message }).collect(),
            },
            SaveError::Duplicate => ApiError::Unprocessable {
                message: "the destination is not valid".into(),
                details: vec![ErrorDetail { index: None, field: Some("name".into()), message: "another destination has this name".into() }],
            },
            SaveError::NotFound => ApiError::NotFound("there is no such destination".into()),
            SaveError::Secret(e) => {
                tracing::error!(error = %e, "sealing a destination secret failed: {e}");
                ApiError::Internal("the secret could not be sealed (see the server log)".into())
            }
            SaveError::Sql(e) => e.into(),
        }
    }
}

/// Runs `work` in a task of its own: a client that goes away cannot cancel a change halfway.
async fn run<T: Send + 'static>(work: impl std::future::Future<Output = Result<T, ApiError>> + Send + 'static) -> Result<T, ApiError> {
    detached(work).await.unwrap_or_else(|| Err(ApiError::Internal("a destination task failed".into())))
}

/// `--webhook-allow` applies to destinations too: their host must be on the list (when set).
fn check_allowed(input: &DestinationInput, allow: &[String]) -> Result<(), ApiError> {
    if crate::forward::sender::allowed(&input.settings, allow) {
        return Ok(());
    }
    let field = if input.settings.kind == DestinationKind::Syslog { "host" } else { "url" };
    Err(SaveError::Invalid(vec![(field.into(), "this host is not among the hosts the server may send to (--webhook-allow)".into())]).into())
}

fn parse_id(id: &str) -> Result<Uuid, ApiError> {
    id.parse().map_err(|_| ApiError::NotFound("there is no such destination".into()))
}

/// `GET /api/v1/destinations`.
pub async fn list(State(state): State<AppState>, _admin: AdminAccess) -> Result<Json<Vec<Destination>>, ApiError> {
    let newest = state.live.latest();
    run(async move {
        let mut out = Vec::new();
        for row in store::all(&state.pool).await? {
            out.push(store::view(&state.pool, &row, newest).await?);
        }
        Ok(out)
    })
    .await
    .map(Json)
}

/// `GET /api/v1/destinations/{id}`.
pub async fn get(State(state): State<AppState>, _admin: AdminAccess, Path(id): Path<String>) -> Result<Json<Destination>, ApiError> {
    let id = parse_id(&id)?;
    let newest = state.live.latest();
    run(async move {
        let row = store::find(&state.pool, id).await?.ok_or(SaveError::NotFound)?;
        Ok(store::view(&state.pool, &row, newest).await?)
    })
    .await
    .map(Json)
}

/// `POST /api/v1/destinations` → 201 `{"id", "secret"?}`.
pub async fn create(
    State(state): State<AppState>,
    AdminAccess(admin): AdminAccess,
    ClientOrigin(origin): ClientOrigin,
    json: Result<Json<DestinationInput>, JsonRejection>,
) -> Result<(StatusCode, Json<CreatedDestination>), ApiError> {
    let input = body(json)?;
    check_allowed(&input, &state.webhook_allow)?;
    let (pool, secrets) = (state.pool.clone(), state.secrets.clone());
    let created = run(async move { Ok(store::create(&pool, &secrets, &input, Actor::of(&admin), origin).await?) }).await?;
    state.audit_kick.notify_one();
    state.forward_kick.notify_one();
    Ok((StatusCode::CREATED, Json(created)))
}

/// `PUT /api/v1/destinations/{id}`: the whole settings; omitted secrets are kept.
pub async fn update(
    State(state): State<AppState>,
    AdminAccess(admin): AdminAccess,
    ClientOrigin(origin): ClientOrigin,
    Path(id): Path<String>,
    json: Result<Json<DestinationInput>, JsonRejection>,
) -> Result<Json<Destination>, ApiError> {
    let id = parse_id(&id)?;
    let input = body(json)?;
    check_allowed(&input, &state.webhook_allow)?;
    let newest = state.live.latest();
    let (pool, secrets) = (state.pool.clone(), state.secrets.clone());
    let view = run(async move {
        let row = store::update(&pool, &secrets, id, &input, Actor::of(&admin), origin).await?;
        Ok(store::view(&pool, &row, newest).await?)
    })
    .await?;
    state.audit_kick.notify_one();
    state.forward_kick.notify_one();
    Ok(Json(view))
}

/// `DELETE /api/v1/destinations/{id}` → 204.
pub async fn delete(
    State(state): State<AppState>,
    AdminAccess(admin): AdminAccess,
    ClientOrigin(origin): ClientOrigin,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = parse_id(&id)?;
    let pool = state.pool.clone();
    run(async move { Ok(store::delete(&pool, id, Actor::of(&admin), origin).await?) }).await?;
    state.audit_kick.notify_one();
    state.forward_kick.notify_one();
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/destinations/{id}/test`: one synthetic event, and the receiver's answer.
pub async fn test(
    State(state): State<AppState>,
    AdminAccess(admin): AdminAccess,
    ClientOrigin(origin): ClientOrigin,
    Path(id): Path<String>,
) -> Result<Json<DestinationTest>, ApiError> {
    let id = parse_id(&id)?;
    let (pool, secrets, hostname, kick, allow) = (state.pool.clone(), state.secrets.clone(), state.forward.hostname.clone(), state.audit_kick.clone(), state.forward.allow.clone());
    let result = run(async move {
        let row = store::find(&pool, id).await?.ok_or(SaveError::NotFound)?;
        let target = row.target(&secrets, &hostname).map_err(|e| ApiError::Internal(format!("the stored secret cannot be opened: {e}")))?;
        let actor = Actor::of(&admin);
        let result = crate::forward::test(&target, &actor.name, &allow).await;
        let mut entry = Entry::new("auditorium.destination.tested", actor, origin).on("destination", id, &row.name).note("answer", json!(result.answer)).note("took_ms", json!(result.took_ms));
        if !result.ok {
            entry = entry.failed(result.answer.clone());
        }
        audit::record(&pool, &entry).await?;
        kick.notify_one();
        Ok(result)
    })
    .await?;
    Ok(Json(result))
}
