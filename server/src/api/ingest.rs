//! `POST /api/v1/events`: one event, an array, or NDJSON; stored atomically after checks.

use axum::body::{to_bytes, Body};
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde::Serialize;

use super::auth::require;
use super::error::ApiError;
use crate::ingest::body::{parse_body, BodyError, BodyFormat, MAX_BATCH, MAX_BODY_BYTES};
use crate::ingest::{ingest, IngestError, ItemResult};
use crate::state::AppState;
use crate::store::tokens::Scope;

#[derive(Serialize)]
pub struct IngestResponse {
    pub stored: usize,
    pub duplicates: usize,
    pub events: Vec<ItemResult>,
}

pub async fn post_events(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Result<impl IntoResponse, ApiError> {
    require(&state, &headers, Scope::Ingest).await?;
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    let format = BodyFormat::from_content_type(content_type).ok_or_else(|| {
        ApiError::UnsupportedMediaType(format!(
            "send Content-Type application/json (one event or an array) or application/x-ndjson, not {}",
            content_type.unwrap_or("nothing")
        ))
    })?;
    // A body cut short (client gone) fails here, before anything is stored.
    let bytes = to_bytes(body, MAX_BODY_BYTES).await.map_err(|e| {
        let message = format!("could not read the request body: {e}");
        if e.into_inner().is::<http_body_util::LengthLimitError>() {
            ApiError::PayloadTooLarge(format!("the body is larger than {} MiB", MAX_BODY_BYTES / (1024 * 1024)))
        } else {
            ApiError::BadRequest { code: "body_unreadable", message, details: vec![] }
        }
    })?;
    let items = parse_body(&bytes, format).map_err(|e| match e {
        BodyError::TooMany { .. } => ApiError::PayloadTooLarge(e.to_string()),
        BodyError::Malformed { .. } => ApiError::BadRequest { code: "malformed_json", message: e.to_string(), details: vec![] },
        BodyError::Empty => ApiError::Unprocessable { message: e.to_string(), details: vec![] },
    })?;
    debug_assert!(items.len() <= MAX_BATCH);
    let results = ingest(&state.pool, &state.partitions, &items).await.map_err(|e| match e {
        IngestError::Invalid(details) => ApiError::Unprocessable {
            message: format!("{} problem(s) in the submitted events; nothing was stored", details.len()),
            details,
        },
        IngestError::Conflict(details) => ApiError::Conflict {
            message: "an event id is already stored with different content; nothing was stored".into(),
            details,
        },
        IngestError::Store(e) => ApiError::from(e),
    })?;
    let stored = results.iter().filter(|r| r.status == "stored").count();
    let status = if stored > 0 { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(IngestResponse { stored, duplicates: results.len() - stored, events: results })))
}
