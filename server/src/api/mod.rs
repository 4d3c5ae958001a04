//! The HTTP API (`/api/v1/...`) and health checks. See docs/api.md.

pub mod auth;
pub mod error;
mod health;
mod ingest;

use axum::routing::{get, post};
use axum::Router;

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/api/v1/events", post(ingest::post_events))
}
