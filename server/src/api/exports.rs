//! Exports over HTTP: `GET /api/v1/export` streams the view in one format; export jobs under
//! `/api/v1/exports` (create, list, look at, download a ZIP, delete). Everything goes through
//! `ReadAccess` (the caller's scope bounds what is exported) and `export::jobs`'s rule for
//! whose jobs one may see.

use app::exports::{ExportList, ExportSummary, NewExport};
use axum::body::Body;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;
use serde_json::json;

use super::error::ApiError;
use super::session::body;
use crate::auth::audit::{self, Actor, Entry};
use crate::auth::guard::ClientOrigin;
use crate::auth::ReadAccess;
use crate::db::detached;
use crate::export::jobs::{self, JobError};
use crate::export::{download, read, Format, Options};
use crate::state::AppState;

impl From<JobError> for ApiError {
    fn from(e: JobError) -> ApiError {
        match e {
            JobError::Invalid(message) => ApiError::Unprocessable { message, details: vec![] },
            JobError::NotFound(message) => ApiError::NotFound(message),
            JobError::Forbidden(message) => ApiError::Forbidden(message),
            JobError::NotReady(message) => ApiError::Conflict { message, details: vec![] },
            JobError::Sql(e) => ApiError::from(e),
        }
    }
}

/// Runs `work` in a task of its own (a client that goes away cannot cancel it half-way).
async fn run<T: Send + 'static>(work: impl std::future::Future<Output = Result<T, ApiError>> + Send + 'static) -> Result<T, ApiError> {
    detached(work).await.unwrap_or_else(|| Err(ApiError::Internal("an export task failed".into())))
}

/// `GET /api/v1/export?<view>&format=csv|ndjson|cef|xlsx[&bom=true]`.
pub async fn stream(State(state): State<AppState>, ReadAccess(who): ReadAccess, ClientOrigin(origin): ClientOrigin, RawQuery(q): RawQuery) -> Result<Response, ApiError> {
    let query = q.unwrap_or_default();
    let recorded: String = query.chars().take(2000).collect();
    let pool = state.pool.clone();
    let scope = who.scope.clone();
    let (plan, extras) = run(async move { Ok(read::plan(&pool, &query, &["format", "bom"], Utc::now(), &scope).await?) }).await?;
    let extra = |name: &str| extras.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let format = match extra("format") {
        Some(text) => Format::parse(text).ok_or_else(|| invalid_format(text))?,
        None => return Err(invalid_format("")),
    };
    let bom = matches!(extra("bom"), Some("true" | "1"));
    let scratch = state.exports.scratch().map_err(ApiError::internal)?;
    let entry = Entry::new("auditorium.export.downloaded", Actor::of(&who), origin)
        .note("format", json!(format.as_str()))
        .note("view", json!(recorded));
    let pool = state.pool.clone();
    run(async move { Ok(audit::record(&pool, &entry).await?) }).await?;
    state.audit_kick.notify_one();
    let chunks = download::start(state.pool.clone(), plan, format, Options { bom }, scratch);
    let name = format!("auditorium-{}.{}", Utc::now().format("%Y%m%d-%H%M%S"), format.extension());
    Ok((
        [
            (header::CONTENT_TYPE, format.content_type().to_string()),
            (header::CONTENT_DISPOSITION, download::attachment(&name)),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        Body::from_stream(tokio_stream_of(chunks)),
    )
        .into_response())
}

fn invalid_format(text: &str) -> ApiError {
    ApiError::BadRequest {
        code: "invalid_query",
        message: format!("format must be csv, ndjson, cef or xlsx (got {text:?})"),
        details: vec![app::api::ErrorDetail { index: None, field: Some("format".into()), message: "format must be csv, ndjson, cef or xlsx".into() }],
    }
}

fn tokio_stream_of(mut rx: tokio::sync::mpsc::Receiver<download::Chunk>) -> impl futures::Stream<Item = download::Chunk> {
    futures::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

/// `POST /api/v1/exports`.
pub async fn create(
    State(state): State<AppState>,
    ReadAccess(who): ReadAccess,
    ClientOrigin(origin): ClientOrigin,
    json: Result<Json<NewExport>, JsonRejection>,
) -> Result<(StatusCode, Json<ExportSummary>), ApiError> {
    let new = body(json)?;
    let (pool, files) = (state.pool.clone(), state.exports.clone());
    let who2 = who.clone();
    let row = run(async move { Ok(jobs::create(&pool, &files, &who2, &new, origin).await?) }).await?;
    state.audit_kick.notify_one();
    state.export_kick.notify_one();
    Ok((StatusCode::CREATED, Json(jobs::summary(&row, &who))))
}

/// `GET /api/v1/exports`.
pub async fn list(State(state): State<AppState>, ReadAccess(who): ReadAccess) -> Result<Json<ExportList>, ApiError> {
    let pool = state.pool.clone();
    let who2 = who.clone();
    let rows = run(async move { Ok(jobs::list(&pool, &who2).await?) }).await?;
    let expiry_hours = state.exports.expiry.as_secs() / 3600;
    Ok(Json(ExportList { exports: rows.iter().map(|r| jobs::summary(r, &who)).collect(), expiry_hours }))
}

/// `GET /api/v1/exports/{id}`.
pub async fn get(State(state): State<AppState>, ReadAccess(who): ReadAccess, Path(id): Path<String>) -> Result<Json<ExportSummary>, ApiError> {
    let pool = state.pool.clone();
    let who2 = who.clone();
    let row = run(async move { Ok(jobs::get(&pool, &who2, &id).await?) }).await?;
    Ok(Json(jobs::summary(&row, &who)))
}

/// `DELETE /api/v1/exports/{id}`.
pub async fn delete(State(state): State<AppState>, ReadAccess(who): ReadAccess, ClientOrigin(origin): ClientOrigin, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    let (pool, files) = (state.pool.clone(), state.exports.clone());
    run(async move { Ok(jobs::delete(&pool, &files, &who, &id, origin).await?) }).await?;
    state.audit_kick.notify_one();
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/exports/{id}/{format}`: the ZIP.
pub async fn file(
    State(state): State<AppState>,
    ReadAccess(who): ReadAccess,
    ClientOrigin(origin): ClientOrigin,
    Path((id, format)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let (pool, files) = (state.pool.clone(), state.exports.clone());
    let (path, name) = run(async move { Ok(jobs::download(&pool, &files, &who, &id, &format, origin).await?) }).await?;
    state.audit_kick.notify_one();
    let file = match tokio::fs::File::open(&path).await {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(ApiError::NotFound("the export's file is gone (expired, or removed from the export directory)".into()))
        }
        Err(e) => return Err(ApiError::internal(e)),
    };
    let length = file.metadata().await.map_err(ApiError::internal)?.len();
    Ok((
        [
            (header::CONTENT_TYPE, "application/zip".to_string()),
            (header::CONTENT_LENGTH, length.to_string()),
            (header::CONTENT_DISPOSITION, download::attachment(&name)),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        Body::from_stream(tokio_util_reader(file)),
    )
        .into_response())
}

/// A file as a stream of chunks.
fn tokio_util_reader(file: tokio::fs::File) -> impl futures::Stream<Item = Result<axum::body::Bytes, std::io::Error>> {
    use tokio::io::AsyncReadExt;
    futures::stream::unfold(file, |mut file| async move {
        let mut buffer = vec![0u8; 1 << 16];
        match file.read(&mut buffer).await {
            Ok(0) => None,
            Ok(n) => {
                buffer.truncate(n);
                Some((Ok(axum::body::Bytes::from(buffer)), file))
            }
            Err(e) => Some((Err(e), file)),
        }
    })
}
