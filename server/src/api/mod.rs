//! The HTTP API (`/api/v1/...`), health checks and metrics. See docs/api.md.

mod admin;
mod alerts;
mod destinations;
mod exports;
pub mod error;
mod health;
mod ingest;
mod insight;
mod live;
mod metrics;
mod read;
pub mod session;
mod sso;

use axum::http::{Method, Uri};
use axum::routing::{any, delete, get, patch, post};
use axum::Router;

use crate::state::AppState;
use error::ApiError;

/// Every endpoint. Access is part of each handler's signature (`ReadAccess`, `IngestAccess`,
/// `AdminAccess`, ...); `tests/authorization.rs` holds the expected answer of every endpoint
/// for every kind of caller, and fails for an endpoint it does not list.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(metrics::metrics))
        .route("/api/v1/events", post(ingest::post_events).get(read::list_events))
        .route("/api/v1/events/{id}", get(read::get_event))
        .route("/api/v1/histogram", get(read::histogram))
        .route("/api/v1/fields", get(read::fields))
        .route("/api/v1/fields/{field}/values", get(read::field_values))
        .route("/api/v1/live", get(live::live))
        .route("/api/v1/session", post(session::create).get(session::me).delete(session::delete))
        .route("/api/v1/password", post(session::set_password))
        .route("/api/v1/users", get(admin::list_users).post(admin::invite))
        .route("/api/v1/users/{id}", patch(admin::change_user))
        .route("/api/v1/users/{id}/password-link", post(admin::password_link))
        .route("/api/v1/users/{id}/sessions", delete(admin::end_user_sessions))
        .route("/api/v1/tokens", get(admin::list_tokens).post(admin::create_token))
        .route("/api/v1/tokens/{id}", delete(admin::revoke_token))
        .route("/api/v1/sessions", get(admin::list_sessions))
        .route("/api/v1/sessions/{handle}", delete(admin::end_session))
        .route("/api/v1/sso", get(sso::options))
        .route("/api/v1/sso/settings", get(sso::get_settings).put(sso::put_settings))
        .route("/api/v1/destinations", get(destinations::list).post(destinations::create))
        .route("/api/v1/destinations/{id}", get(destinations::get).put(destinations::update).delete(destinations::delete))
        .route("/api/v1/destinations/{id}/test", post(destinations::test))
        .route("/api/v1/export", get(exports::stream))
        .route("/api/v1/exports", get(exports::list).post(exports::create))
        .route("/api/v1/exports/{id}", get(exports::get).delete(exports::delete))
        .route("/api/v1/exports/{id}/{format}", get(exports::file))
        .route("/api/v1/overview", get(insight::overview))
        .route("/api/v1/resources/{type}/{id}", get(insight::resource))
        .route("/api/v1/actors/{id}", get(insight::actor))
        .route("/api/v1/alerts", get(alerts::notifications))
        .route("/api/v1/alert-rules", get(alerts::list).post(alerts::create))
        .route("/api/v1/alert-rules/{id}", get(alerts::get).patch(alerts::change).delete(alerts::delete))
        .route("/api/v1/openapi.json", get(openapi))
        // Anything else under /api/ is a JSON 404, never the HTML page.
        .route_service("/api", any(unknown_path))
        .route_service("/api/", any(unknown_path))
        .route_service("/api/{*rest}", any(unknown_path))
        .method_not_allowed_fallback(method_not_allowed)
}

/// The OpenAPI document (kept in step with the router by `tests/openapi.rs`).
pub const OPENAPI: &str = include_str!("openapi.json");

async fn openapi(_who: crate::auth::Authenticated) -> impl axum::response::IntoResponse {
    ([(axum::http::header::CONTENT_TYPE, "application/json")], OPENAPI)
}

/// Anything under `/api/` that is not an endpoint: a JSON 404, not the HTML page.
async fn unknown_path(uri: Uri) -> ApiError {
    ApiError::NotFound(format!("there is no API endpoint {} (see /api/v1/openapi.json)", uri.path()))
}

async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::MethodNotAllowed(format!("{method} is not allowed on {} (see /api/v1/openapi.json)", uri.path()))
}
