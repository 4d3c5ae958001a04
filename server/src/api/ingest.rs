//! `POST /api/v1/events`: one event, an array, or NDJSON; stored atomically after checks.

use app::api::ErrorDetail;
use axum::body::{to_bytes, Body};
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::IntoResponse;

use axum::Json;
use serde::Serialize;

use super::error::ApiError;
use crate::auth::IngestAccess;
use crate::ingest::body::{parse_body, BodyError, BodyFormat, MAX_BATCH, MAX_BODY_BYTES};
use crate::ingest::{ingest, IngestError, ItemResult, WriteError};
use crate::metrics::{ResultLabel, StatusLabel};
use crate::state::AppState;

#[derive(Serialize)]
pub struct IngestResponse {
    pub stored: usize,
    pub duplicates: usize,
    pub events: Vec<ItemResult>,
}

pub async fn post_events(State(state): State<AppState>, access: Result<IngestAccess, ApiError>, headers: HeaderMap, body: Body) -> axum::response::Response {
    let result = match access {
        Ok(_) => store_events(&state, &headers, body).await,
        Err(e) => Err(e),
    };
    let response = match result {
        Ok(answer) => {
            let stored = answer.stored as u64;
            state.metrics.ingest_events.get_or_create(&ResultLabel { result: "stored" }).inc_by(stored);
            state.metrics.ingest_events.get_or_create(&ResultLabel { result: "duplicate" }).inc_by(answer.duplicates as u64);
            let status = if stored > 0 { StatusCode::CREATED } else { StatusCode::OK };
            (status, Json(answer)).into_response()
        }
        Err(e) => e.into_response(),
    };
    state.metrics.ingest_requests.get_or_create(&StatusLabel { status: response.status().as_u16() }).inc();
    response
}

async fn store_events(state: &AppState, headers: &HeaderMap, body: Body) -> Result<IngestResponse, ApiError> {
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
        BodyError::InexactNumbers(ref indexes) => ApiError::Unprocessable {
            message: format!("{e}; nothing was stored"),
            details: indexes
                .iter()
                .map(|&index| ErrorDetail {
                    index: Some(index),
                    field: None,
                    message: "holds an integer beyond the 64-bit range, which cannot be stored exactly: send it as a string".into(),
                })
                .collect(),
        },
    })?;
    debug_assert!(items.len() <= MAX_BATCH);
    let results = ingest(&state.ingestor, &items).await.map_err(|e| match e {
        IngestError::Invalid(details) => ApiError::Unprocessable {
            message: format!("{} problem(s) in the submitted events; nothing was stored", details.len()),
            details,
        },
        IngestError::Conflict(details) => ApiError::Conflict {
            message: "an event id is already stored with different content; nothing was stored".into(),
            details,
        },
        IngestError::Write(WriteError::Overloaded) => ApiError::Unavailable {
            code: "overloaded",
            message: "The server is busy storing other events; nothing was stored. Retry with the same ids.".into(),
            retry_after: 1,
        },
        IngestError::Write(WriteError::Unavailable(_) | WriteError::Stopped) => ApiError::database_unavailable(),
        IngestError::Write(WriteError::Failed(e)) => ApiError::from(e),
        // Conflicts are mapped to item details by `ingest`.
        IngestError::Write(WriteError::Conflict(_)) => ApiError::Internal("an unmapped id conflict".into()),
    })?;
    let stored = results.iter().filter(|r| r.status == "stored").count();
    Ok(IngestResponse { stored, duplicates: results.len() - stored, events: results })
}
