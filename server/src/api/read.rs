//! The read API: events, one event, histogram, fields and their values. Each handler takes
//! `ReadAccess` (someone allowed to read, with their scope) and hands the raw query string
//! and the scope to `explore`, which the page uses as well. The reading runs detached from
//! the request (a client that goes away cannot cancel a query halfway).

use std::future::Future;

use app::api::{EventPage, FieldList, FieldValues, Histogram};
use app::event::Event;
use axum::extract::{Path, RawQuery, State};
use axum::Json;
use chrono::Utc;

use super::error::ApiError;
use crate::auth::ReadAccess;
use crate::db::detached;
use crate::explore::{self, ExploreError};
use crate::state::AppState;

/// Runs `work` in a task of its own and answers its JSON.
async fn answer<T: Send + 'static>(work: impl Future<Output = Result<T, ExploreError>> + Send + 'static) -> Result<Json<T>, ApiError> {
    match detached(work).await {
        Some(result) => result.map(Json).map_err(ApiError::from),
        None => Err(ApiError::Internal("a read task failed".into())),
    }
}

pub async fn list_events(State(state): State<AppState>, ReadAccess(who): ReadAccess, RawQuery(q): RawQuery) -> Result<Json<EventPage>, ApiError> {
    answer(async move { explore::events_page(&state.pool, q.as_deref().unwrap_or(""), Utc::now(), &who.scope).await }).await
}

pub async fn get_event(State(state): State<AppState>, ReadAccess(who): ReadAccess, Path(id): Path<String>) -> Result<Json<Event>, ApiError> {
    answer(async move { explore::event(&state.pool, &id, &who.scope).await }).await
}

pub async fn histogram(State(state): State<AppState>, ReadAccess(who): ReadAccess, RawQuery(q): RawQuery) -> Result<Json<Histogram>, ApiError> {
    answer(async move { explore::histogram(&state.pool, q.as_deref().unwrap_or(""), Utc::now(), &who.scope).await }).await
}

pub async fn fields(State(state): State<AppState>, ReadAccess(_): ReadAccess) -> Result<Json<FieldList>, ApiError> {
    answer(async move { explore::fields(&state.pool).await }).await
}

pub async fn field_values(
    State(state): State<AppState>,
    ReadAccess(who): ReadAccess,
    Path(field): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Json<FieldValues>, ApiError> {
    // A page asks for several fields at once (the sidebar), and a sampled count over a large
    // view takes a while: only a few run at a time, so they never crowd out pages and totals.
    // The wait is in the request's own future — a client that leaves while waiting costs
    // nothing; once started, the work runs to its end in its task.
    let turn = state.facet_turns.clone().acquire_owned().await.map_err(|_| ApiError::Internal("facet gate closed".into()))?;
    answer(async move {
        let _turn = turn;
        explore::field_values(&state.pool, &field, q.as_deref().unwrap_or(""), Utc::now(), &who.scope).await
    })
    .await
}
