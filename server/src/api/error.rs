//! The API's one error type, mapped once to a status and the JSON body
//! `{ "error": { "code", "message", "details" } }`. Server errors are logged, never leaked.

use app::api::{ErrorBody, ErrorDetail, ErrorInfo};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{message}")]
    BadRequest { code: &'static str, message: String, details: Vec<ErrorDetail> },
    #[error("{0}")]
    Unauthorized(String),
    /// A sign-in with wrong credentials: one message whether or not the account exists.
    #[error("{}", crate::auth::sign_in::WRONG_CREDENTIALS)]
    InvalidCredentials,
    #[error("{message}")]
    TooManyRequests { message: String, retry_after: u32 },
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    MethodNotAllowed(String),
    #[error("{message}")]
    Conflict { message: String, details: Vec<ErrorDetail> },
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{message}")]
    Unprocessable { message: String, details: Vec<ErrorDetail> },
    #[error("the query took too long")]
    QueryTimeout,
    /// The server cannot serve this now (database down or full, ingest queue full): retry
    /// after `retry_after` seconds; nothing was done.
    #[error("{message}")]
    Unavailable { code: &'static str, message: String, retry_after: u32 },
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    pub fn internal(e: impl std::fmt::Display) -> ApiError {
        ApiError::Internal(e.to_string())
    }

    fn parts(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::BadRequest { code, .. } => (StatusCode::BAD_REQUEST, code),
            ApiError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::InvalidCredentials => (StatusCode::UNAUTHORIZED, "invalid_credentials"),
            ApiError::TooManyRequests { .. } => (StatusCode::TOO_MANY_REQUESTS, "too_many_requests"),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::MethodNotAllowed(_) => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            ApiError::Conflict { .. } => (StatusCode::CONFLICT, "id_conflict"),
            ApiError::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            ApiError::UnsupportedMediaType(_) => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"),
            ApiError::Unprocessable { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
            ApiError::QueryTimeout => (StatusCode::SERVICE_UNAVAILABLE, "query_timeout"),
            ApiError::Unavailable { code, .. } => (StatusCode::SERVICE_UNAVAILABLE, code),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }

    /// The body a client sees.
    pub fn body(&self) -> ErrorBody {
        let (_, code) = self.parts();
        let (message, details) = match self {
            ApiError::BadRequest { message, details, .. }
            | ApiError::Conflict { message, details }
            | ApiError::Unprocessable { message, details } => (message.clone(), details.clone()),
            ApiError::QueryTimeout => (
                "The query took too long and was stopped. Narrow the time range or add a filter.".to_string(),
                Vec::new(),
            ),
            ApiError::Internal(_) => ("Something went wrong on the server; it has been logged.".to_string(), Vec::new()),
            other => (other.to_string(), Vec::new()),
        };
        ErrorBody { error: ErrorInfo { code: code.to_string(), message, details } }
    }

    pub fn status(&self) -> StatusCode {
        self.parts().0
    }
}

impl ApiError {
    /// The database cannot answer right now.
    pub fn database_unavailable() -> ApiError {
        ApiError::Unavailable {
            code: "database_unavailable",
            message: "The database is unavailable right now; nothing was done. Retry shortly.".into(),
            retry_after: 5,
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> ApiError {
        // 57014: query_canceled, raised by statement_timeout.
        if e.as_database_error().and_then(|d| d.code()).is_some_and(|c| c == "57014") {
            return ApiError::QueryTimeout;
        }
        if crate::db::is_unavailable(&e) {
            tracing::warn!(error = %e, "the database is unavailable: {e}");
            return ApiError::database_unavailable();
        }
        ApiError::Internal(e.to_string())
    }
}

impl From<crate::explore::ExploreError> for ApiError {
    fn from(e: crate::explore::ExploreError) -> ApiError {
        use crate::explore::ExploreError;
        match e {
            ExploreError::InvalidQuery { message, details } => ApiError::BadRequest { code: "invalid_query", message, details },
            ExploreError::NotFound(message) => ApiError::NotFound(message),
            ExploreError::Store(e) => ApiError::from(e),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(cause) = &self {
            tracing::error!(error = %cause, "request failed: {cause}");
        }
        let mut response = (self.status(), Json(self.body())).into_response();
        if let ApiError::Unavailable { retry_after, .. } | ApiError::TooManyRequests { retry_after, .. } = &self {
            response.headers_mut().insert(axum::http::header::RETRY_AFTER, (*retry_after).into());
        }
        response
    }
}
