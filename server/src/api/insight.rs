//! The overview and the histories of a resource and an actor. Each takes `ReadAccess` and
//! reads within the reader's scope (`insight`); the reading runs detached from the request.

use app::insight::{ActorHistory, Overview, ResourceHistory};
use axum::extract::{Path, State};
use axum::Json;
use chrono::Utc;

use super::error::ApiError;
use crate::auth::ReadAccess;
use crate::db::detached;
use crate::explore::ExploreError;
use crate::insight;
use crate::state::AppState;

async fn answer<T: Send + 'static>(
    work: impl std::future::Future<Output = Result<T, ExploreError>> + Send + 'static,
) -> Result<Json<T>, ApiError> {
    match detached(work).await {
        Some(result) => result.map(Json).map_err(ApiError::from),
        None => Err(ApiError::Internal("a read task failed".into())),
    }
}

/// `GET /api/v1/overview`.
pub async fn overview(
    State(state): State<AppState>,
    ReadAccess(who): ReadAccess,
) -> Result<Json<Overview>, ApiError> {
    answer(async move { insight::overview(&state.pool, &state.tops, Utc::now(), &who.scope).await })
        .await
}

/// `GET /api/v1/resources/{type}/{id}`.
pub async fn resource(
    State(state): State<AppState>,
    ReadAccess(who): ReadAccess,
    Path((kind, id)): Path<(String, String)>,
) -> Result<Json<ResourceHistory>, ApiError> {
    answer(async move { insight::resource(&state.pool, &kind, &id, &who.scope).await }).await
}

/// `GET /api/v1/actors/{id}`.
pub async fn actor(
    State(state): State<AppState>,
    ReadAccess(who): ReadAccess,
    Path(id): Path<String>,
) -> Result<Json<ActorHistory>, ApiError> {
    answer(async move { insight::actor(&state.pool, &id, &who.scope).await }).await
}
