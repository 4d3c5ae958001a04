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

use super::auth::require;
use super::error::ApiError;
use crate::live::socket::{run, Close, Subscription};
use crate::state::AppState;
use crate::store::tokens::Scope;

/// Upper bound of one socket's send buffer (a message is at most about 1 MiB).
const MAX_WRITE_BUFFER: usize = 8 * 1024 * 1024;

pub async fn live(
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
    State(state): State<AppState>,
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
    let access = require(&state, &headers, Scope::Read).await;
    let decoded = decode_query(query.as_deref().unwrap_or(""), &["after"]);
    let after = decoded.extras.iter().find(|(k, _)| k == "after").map(|(_, v)| v.parse::<i64>());
    let refusal = match (access, &after) {
        (Err(ApiError::Unauthorized(m)), _) => Some(Close::new(live_close::UNAUTHORIZED, m)),
        (Err(ApiError::Forbidden(m)), _) => Some(Close::new(live_close::FORBIDDEN, m)),
        // The cause goes to the log; the client gets the sentence every API error gives.
        (Err(e), _) => {
            tracing::warn!(error = %e, "live tail refused: {e}");
            Some(Close::new(live_close::INTERNAL, e.body().error.message))
        }
        (Ok(()), Some(Err(_))) => Some(Close::new(live_close::BAD_REQUEST, "after: must be a position (a whole number)")),
        (Ok(()), _) if !decoded.problems.is_empty() => {
            let first = &decoded.problems[0];
            Some(Close::new(live_close::BAD_REQUEST, format!("{}: {}", first.param, first.message)))
        }
        _ => None,
    };
    let filter = EventFilter::from_view(&decoded.view, Utc::now());
    // The conditions without the time window, canonically: sockets that share them share the
    // messages built for each batch.
    let key = encode_query(&decoded.view.clone().with_range(TimeRange::default()).with_cursor(None).with_limit(DEFAULT_LIMIT).with_live(false).with_event(None));
    let hub = state.live.clone();
    let (send_timeout, metrics) = (state.live_send_timeout, state.metrics.live.clone());
    // A socket's send buffer holds at most about one message (sends wait for it to drain).
    ws.max_write_buffer_size(MAX_WRITE_BUFFER).on_upgrade(move |mut socket| async move {
        if let Some(close) = refusal {
            let _ = socket.send(close.frame()).await;
            return;
        }
        let after = after.and_then(Result::ok);
        if let Some(close) = run(socket, hub, Subscription { filter, key }, after, send_timeout, &metrics).await {
            tracing::debug!(code = close.code, reason = %close.reason, "live tail closed: {}", close.reason);
        }
    })
}
