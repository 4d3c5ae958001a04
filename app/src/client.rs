//! Reading the REST API from the page. In the browser: `fetch` (gloo-net). During server
//! rendering: the same API router, called in-process through [`ApiHandle`] — so a page and
//! the API always agree, including on validation and access rules.

use std::future::Future;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::api::{ErrorBody, ErrorDetail};

/// A failed API call, as the page shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientError {
    /// HTTP status; 0 when the server could not be reached.
    pub status: u16,
    pub code: String,
    pub message: String,
    pub details: Vec<ErrorDetail>,
}

impl std::fmt::Display for ClientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ClientError {}

impl ClientError {
    fn network(message: impl std::fmt::Display) -> ClientError {
        ClientError { status: 0, code: "network".into(), message: format!("The server could not be reached ({message})."), details: vec![] }
    }

    /// From a response status and body.
    pub fn from_response(status: u16, body: &str) -> ClientError {
        match serde_json::from_str::<ErrorBody>(body) {
            Ok(b) => ClientError { status, code: b.error.code, message: b.error.message, details: b.error.details },
            Err(_) => ClientError { status, code: "http".into(), message: format!("The server answered {status}."), details: vec![] },
        }
    }
}

/// GET `path_and_query` from the API and decode the JSON answer.
pub fn get_json<T: DeserializeOwned + Send + 'static>(path_and_query: String) -> impl Future<Output = Result<T, ClientError>> + Send {
    let text = get_text(path_and_query);
    async move { decode(&text.await?) }
}

/// GET `path_and_query`, keeping the JSON text as well as its decoded value.
pub fn get_json_and_text<T: DeserializeOwned + Send + 'static>(
    path_and_query: String,
) -> impl Future<Output = Result<(T, String), ClientError>> + Send {
    let text = get_text(path_and_query);
    async move {
        let text = text.await?;
        Ok((decode(&text)?, text))
    }
}

fn decode<T: DeserializeOwned>(body: &str) -> Result<T, ClientError> {
    serde_json::from_str(body).map_err(|e| ClientError {
        status: 200,
        code: "decode".into(),
        message: format!("Unexpected answer from the server: {e}"),
        details: vec![],
    })
}

/// The body of a successful answer, or the API's error.
fn checked(status: u16, body: String) -> Result<String, ClientError> {
    if (200..300).contains(&status) {
        Ok(body)
    } else {
        Err(ClientError::from_response(status, &body))
    }
}

#[cfg(feature = "ssr")]
mod server_side {
    use std::future::Future;
    use std::pin::Pin;
    use std::sync::Arc;

    type Call = dyn Fn(String, Option<http::request::Parts>) -> Pin<Box<dyn Future<Output = (u16, String)> + Send>> + Send + Sync;

    /// Provided by the server as context while rendering: GET `path?query` on the API router,
    /// as the person whose page request this is (its request parts carry who that is).
    #[derive(Clone)]
    pub struct ApiHandle(pub Arc<Call>);
}

#[cfg(feature = "ssr")]
pub use server_side::ApiHandle;

#[cfg(feature = "ssr")]
fn get_text(path_and_query: String) -> impl Future<Output = Result<String, ClientError>> + Send {
    let api = leptos::prelude::use_context::<ApiHandle>();
    let page = leptos::prelude::use_context::<http::request::Parts>();
    async move {
        let api = api.ok_or_else(|| ClientError::network("no API while rendering"))?;
        let (status, body) = (api.0)(path_and_query, page).await;
        checked(status, body)
    }
}

#[cfg(feature = "hydrate")]
fn get_text(path_and_query: String) -> impl Future<Output = Result<String, ClientError>> + Send {
    send_wrapper::SendWrapper::new(async move {
        let response = gloo_net::http::Request::get(&path_and_query).send().await.map_err(ClientError::network)?;
        let status = response.status();
        let body = response.text().await.map_err(ClientError::network)?;
        checked(status, body)
    })
}

#[cfg(not(any(feature = "ssr", feature = "hydrate")))]
fn get_text(_path_and_query: String) -> impl Future<Output = Result<String, ClientError>> + Send {
    async { Err(ClientError::network("built without a client")) }
}

/// Sends a change to the API from the page (admin pages): `method` with an optional JSON
/// body; the answer's text, or the API's error. Only in the browser: on the server no change
/// is ever sent while rendering.
pub fn send_json(method: &'static str, path: String, body: Option<String>) -> impl Future<Output = Result<String, ClientError>> {
    #[cfg(feature = "hydrate")]
    {
        send_wrapper::SendWrapper::new(async move {
            use gloo_net::http::Request;
            let builder = match method {
                "POST" => Request::post(&path),
                "PATCH" => Request::patch(&path),
                "DELETE" => Request::delete(&path),
                _ => Request::put(&path),
            };
            let request = match body {
                Some(json) => builder.header("content-type", "application/json").body(json).map_err(ClientError::network)?,
                None => builder.build().map_err(ClientError::network)?,
            };
            let response = request.send().await.map_err(ClientError::network)?;
            let status = response.status();
            let text = response.text().await.map_err(ClientError::network)?;
            checked(status, text)
        })
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = (method, path, body);
        async { Err(ClientError::network("changes are sent from the browser only")) }
    }
}

/// [`send_json`], decoding the answer.
pub async fn send_for<T: DeserializeOwned>(method: &'static str, path: String, body: Option<String>) -> Result<T, ClientError> {
    decode(&send_json(method, path, body).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_errors_keep_their_message_and_details() {
        let body = r#"{"error":{"code":"invalid_query","message":"limit: too big","details":[{"field":"limit","message":"x"}]}}"#;
        let e = ClientError::from_response(400, body);
        assert_eq!((e.status, e.code.as_str(), e.message.as_str(), e.details.len()), (400, "invalid_query", "limit: too big", 1));
        assert_eq!(ClientError::from_response(502, "<html>").code, "http");
    }
}
