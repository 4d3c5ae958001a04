//! `GET /api/v1/live?<view>&after=<position>`: the live tail over a WebSocket. Problems with
//! the request are reported as close frames, which browsers can read (an HTTP error before
//! the upgrade would only show as a failed connection).

use app::api::live_close;
use app::query::view::DEFAULT_LIMIT;
use app::query::{decode_query, encode_query, EventFilter, TimeRange};
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use chrono::Utc;

use super::error::ApiError;
use crate::auth::guard::same_origin;
use crate::auth::ReadAccess;
use crate::live::socket::{run, AccessWatch, Close, Subscription};
use crate::state::AppState;

/// Upper bound of one socket's send buffer (a message is at most about 1 MiB).
const MAX_WRITE_BUFFER: usize = 8 * 1024 * 1024;

pub async fn live(
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
    State(state): State<AppState>,
    access: Result<ReadAccess, ApiError>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let ws = match ws {
        Ok(ws) => ws,
        Err(e) => {
            let message = format!("this endpoint is a WebSocket: connect with a WebSocket client ({e})");
            return ApiError::BadRequest { code: "websocket_required", message, details: vec![] }.into_response();
        }
    };
    // A page of another site may open a WebSocket here with the visitor's cookie; browsers
    // say where the page came from, and only this server's own pages may use the cookie.
    if access.as_ref().is_ok_and(|a| a.0.is_session()) && !same_origin(&headers) {
        return ApiError::Forbidden("a live tail opened by another site was refused".into()).into_response();
    }
    let access = access.map(|ReadAccess(principal)| principal);
    let decoded = decode_query(query.as_deref().unwrap_or(""), &["after"]);
    let after = decoded.extras.iter().find(|(k, _)| k == "after").map(|(_, v)| v.parse::<i64>());
    let principal = access.as_ref().ok().cloned();
    let refusal = match (access, &after) {
        (Err(ApiError::Unauthorized(m)), _) => Some(Close::new(live_close::UNAUTHORIZED, m)),
        (Err(ApiError::Forbidden(m)), _) => Some(Close::new(live_close::FORBIDDEN, m)),
        // The cause goes to the log; the client gets the sentence every API error gives.
        (Err(e), _) => {
            tracing::warn!(error = %e, "live tail refused: {e}");
            Some(Close::new(live_close::INTERNAL, e.body().error.message))
        }
        (Ok(_), Some(Err(_))) => Some(Close::new(live_close::BAD_REQUEST, "after: must be a position (a whole number)")),
        (Ok(_), _) if !decoded.problems.is_empty() => {
            let first = &decoded.problems[0];
            Some(Close::new(live_close::BAD_REQUEST, format!("{}: {}", first.param, first.message)))
        }
        _ => None,
    };
    let scope = principal.as_ref().map(|p| p.scope.clone()).unwrap_or_default();
    let filter = EventFilter::from_view(&decoded.view, Utc::now()).within(&scope);
    // The conditions without the time window, canonically, and the scope: sockets that share
    // them share the messages built for each batch.
    let view_key = encode_query(&decoded.view.clone().with_range(TimeRange::default()).with_cursor(None).with_limit(DEFAULT_LIMIT).with_live(false).with_event(None));
    let key = format!("{view_key}\n{}", scope.key());
    let watch = principal.map(|principal| AccessWatch { principal, auth: state.auth.clone(), pool: state.pool.clone() });
    let hub = state.live.clone();
    let (send_timeout, metrics) = (state.live_send_timeout, state.metrics.live.clone());
    // A socket's send buffer holds at most about one message (sends wait for it to drain).
    ws.max_write_buffer_size(MAX_WRITE_BUFFER).on_upgrade(move |mut socket| async move {
        if let Some(close) = refusal {
            let _ = socket.send(close.frame()).await;
            return;
        }
        let after = after.and_then(Result::ok);
        if let Some(close) = run(socket, hub, Subscription { filter, key, watch }, after, send_timeout, &metrics).await {
            tracing::debug!(code = close.code, reason = %close.reason, "live tail closed: {}", close.reason);
        }
    })
}
