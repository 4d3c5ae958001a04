//! What can go wrong while reading, in the reading's own terms; the API maps it to HTTP once
//! (`impl From<ExploreError> for ApiError`).

use app::api::ErrorDetail;

#[derive(Debug, thiserror::Error)]
pub enum ExploreError {
    /// A parameter of the view is not valid; every problem is named.
    #[error("{message}")]
    InvalidQuery { message: String, details: Vec<ErrorDetail> },
    /// No such event or field — or one the reader may not see (never "forbidden": what is out
    /// of scope does not exist for them).
    #[error("{0}")]
    NotFound(String),
    #[error(transparent)]
    Store(#[from] sqlx::Error),
}

impl ExploreError {
    /// One bad parameter.
    pub fn invalid(param: &str, message: impl Into<String>) -> ExploreError {
        let message = message.into();
        ExploreError::InvalidQuery {
            message: format!("{param}: {message}"),
            details: vec![ErrorDetail { index: None, field: Some(param.into()), message }],
        }
    }
}
