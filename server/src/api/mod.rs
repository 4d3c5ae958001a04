//! The HTTP API (`/api/v1/...`) and health checks. See docs/api.md.

pub mod auth;
pub mod error;
mod health;
mod ingest;
mod live;
mod read;

use axum::routing::{get, post};
use axum::Router;

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/api/v1/events", post(ingest::post_events).get(read::list_events))
        .route("/api/v1/events/{id}", get(read::get_event))
        .route("/api/v1/histogram", get(read::histogram))
        .route("/api/v1/fields", get(read::fields))
        .route("/api/v1/fields/{field}/values", get(read::field_values))
        .route("/api/v1/live", get(live::live))
        .route("/api/v1/openapi.json", get(openapi))
}

/// The OpenAPI document (kept in step with the router by `tests/openapi.rs`).
pub const OPENAPI: &str = include_str!("openapi.json");

async fn openapi() -> impl axum::response::IntoResponse {
    ([(axum::http::header::CONTENT_TYPE, "application/json")], OPENAPI)
}
