//! `GET /metrics`: Prometheus text exposition, with the same access rule as reading events.

use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::IntoResponse;

use super::auth::require;
use super::error::ApiError;
use crate::state::AppState;
use crate::store::tokens::Scope;

pub async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Result<impl IntoResponse, ApiError> {
    require(&state, &headers, Scope::Read).await?;
    state.metrics.live.buffered_bytes.set(i64::try_from(state.live.buffered_bytes()).unwrap_or(i64::MAX));
    state.metrics.live.max_lag_events.set(state.live.max_lag());
    let text = state.metrics.render(&state.pool, state.ingestor.queued_events());
    Ok(([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], text))
}
