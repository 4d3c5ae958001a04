//! The read API: events, one event, histogram, fields and their values. Each handler checks
//! the token and hands the raw query string to `explore`, which the page uses as well. The
//! reading runs detached from the request (a client that goes away cannot cancel a query
//! halfway).

use std::future::Future;

use app::api::{EventPage, FieldList, FieldValues, Histogram};
use app::event::Event;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::Json;
use chrono::Utc;

use super::auth::require;
use super::error::ApiError;
use crate::db::detached;
use crate::explore;
use crate::state::AppState;
use crate::store::tokens::Scope;

/// Runs `work` in a task of its own and answers its JSON.
async fn answer<T: Send + 'static>(work: impl Future<Output = Result<T, ApiError>> + Send + 'static) -> Result<Json<T>, ApiError> {
    detached(work).await.unwrap_or_else(|| Err(ApiError::Internal("a read task failed".into()))).map(Json)
}

pub async fn list_events(State(state): State<AppState>, headers: HeaderMap, RawQuery(q): RawQuery) -> Result<Json<EventPage>, ApiError> {
    require(&state, &headers, Scope::Read).await?;
    answer(async move { explore::events_page(&state.pool, q.as_deref().unwrap_or(""), Utc::now()).await }).await
}

pub async fn get_event(State(state): State<AppState>, headers: HeaderMap, Path(id): Path<String>) -> Result<Json<Event>, ApiError> {
    require(&state, &headers, Scope::Read).await?;
    answer(async move { explore::event(&state.pool, &id).await }).await
}

pub async fn histogram(State(state): State<AppState>, headers: HeaderMap, RawQuery(q): RawQuery) -> Result<Json<Histogram>, ApiError> {
    require(&state, &headers, Scope::Read).await?;
    answer(async move { explore::histogram(&state.pool, q.as_deref().unwrap_or(""), Utc::now()).await }).await
}

pub async fn fields(State(state): State<AppState>, headers: HeaderMap) -> Result<Json<FieldList>, ApiError> {
    require(&state, &headers, Scope::Read).await?;
    answer(async move { explore::fields(&state.pool).await }).await
}

pub async fn field_values(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(field): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Json<FieldValues>, ApiError> {
    require(&state, &headers, Scope::Read).await?;
    answer(async move { explore::field_values(&state.pool, &field, q.as_deref().unwrap_or(""), Utc::now()).await }).await
}
