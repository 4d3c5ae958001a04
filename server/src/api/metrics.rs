//! `GET /metrics`: Prometheus text exposition, for admins and auditors (and their tokens).

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use crate::auth::MetricsAccess;
use crate::state::AppState;

pub async fn metrics(State(state): State<AppState>, _who: MetricsAccess) -> impl IntoResponse {
    state.metrics.live.buffered_bytes.set(i64::try_from(state.live.buffered_bytes()).unwrap_or(i64::MAX));
    state.metrics.live.max_lag_events.set(state.live.max_lag());
    let text = state.metrics.render(&state.pool, state.ingestor.queued_events());
    ([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], text)
}
