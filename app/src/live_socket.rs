//! The live tail's WebSocket in the browser: connects after the page's position, reconnects
//! from the last position it saw (with backoff), and hands events to `LiveState`.

use std::time::Duration;

use leptos::prelude::*;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{CloseEvent, MessageEvent, WebSocket};

use crate::api::{live_close, LiveMessage, LiveMessageKind};
use crate::live::{known_ids, LiveStatus};
use crate::page_state::Page;
use crate::query::encode_query;

/// An open socket and its handlers; dropping it closes the socket.
struct Connection {
    socket: WebSocket,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_close: Closure<dyn FnMut(CloseEvent)>,
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.socket.set_onmessage(None);
        self.socket.set_onclose(None);
        let _ = self.socket.close();
    }
}

/// Keeps a socket open while the view has `live=1`, following the view's filters.
pub fn keep_live(page: Page) {
    let connection = StoredValue::new_local(None::<Connection>);
    let position = StoredValue::new(0i64);
    let generation = StoredValue::new(0u64);
    let attempts = StoredValue::new(0u32);
    let query = Memo::new(move |_| {
        let v = page.view.get();
        v.live.then(|| encode_query(&v.with_event(None).without_layout().with_live(false).with_limit(crate::query::view::DEFAULT_LIMIT)))
    });
    // Where a connection must start: the older of the page's position and the chart's, so
    // both get every event after what they counted (each counts only those after its own).
    let chart_position = move || page.histogram.with_untracked(|h| h.as_ref().and_then(|r| r.as_ref().ok()).map(|c| c.0.position));
    let started_from = StoredValue::new(i64::MAX);
    // A new query, or new page data for it: start over from the page's position.
    Effect::new(move |_| {
        let wanted = query.get();
        let page_position = page.events.with(|p| p.as_ref().and_then(|r| r.as_ref().ok()).map(|s| s.page.position));
        generation.update_value(|g| *g += 1);
        connection.set_value(None);
        page.live.reset();
        match (wanted, page_position) {
            (None, _) => page.live.status.set(LiveStatus::Off),
            (Some(_), None) => page.live.status.set(LiveStatus::Connecting),
            (Some(q), Some(p)) => {
                let from = chart_position().map_or(p, |c| c.min(p));
                started_from.set_value(from);
                position.set_value(from);
                attempts.set_value(0);
                open(page, q, connection, position, generation, attempts);
            }
        }
    });
    // A chart counted up to an older position than the connection started from: go back for
    // the events in between (the table and the counts each take an event once).
    Effect::new(move |_| {
        let chart = page.histogram.with(|h| h.as_ref().and_then(|r| r.as_ref().ok()).map(|c| c.0.position));
        let wanted = query.get_untracked();
        if let (Some(c), Some(q)) = (chart, wanted) {
            if c < started_from.get_value() && connection.with_value(Option::is_some) {
                generation.update_value(|g| *g += 1);
                connection.set_value(None);
                started_from.set_value(c);
                position.set_value(c);
                open(page, q, connection, position, generation, attempts);
            }
        }
    });
    on_cleanup(move || connection.set_value(None));
}

fn open(
    page: Page,
    query: String,
    connection: StoredValue<Option<Connection>, LocalStorage>,
    position: StoredValue<i64>,
    generation: StoredValue<u64>,
    attempts: StoredValue<u32>,
) {
    let mine = generation.get_value();
    let location = window().location();
    let scheme = if location.protocol().ok().as_deref() == Some("https:") { "wss" } else { "ws" };
    let host = location.host().unwrap_or_default();
    let url = format!("{scheme}://{host}/api/v1/live?{query}&after={}", position.get_value());
    let Ok(socket) = WebSocket::new(&url) else {
        page.live.status.set(LiveStatus::Failed("the browser could not open a WebSocket".into()));
        return;
    };
    page.live.status.set(if attempts.get_value() == 0 { LiveStatus::Connecting } else { LiveStatus::Reconnecting });

    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |ev: MessageEvent| {
        if generation.get_value() != mine {
            return;
        }
        let Some(text) = ev.data().as_string() else { return };
        let Ok(message) = serde_json::from_str::<LiveMessage>(&text) else { return };
        let p = message.position;
        match message.kind {
            LiveMessageKind::Events => {
                let known = known_ids(&page.live, &page.page_ids());
                page.live.arrive(message.events, &known, should_hold(page));
                position.set_value(p);
                forget_highlights(page);
            }
            LiveMessageKind::Ready => {
                position.update_value(|v| *v = (*v).max(p));
                attempts.set_value(0);
                page.live.status.set(LiveStatus::Live);
            }
            LiveMessageKind::Position => position.update_value(|v| *v = (*v).max(p)),
        }
    });
    let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |ev: CloseEvent| {
        if generation.get_value() != mine {
            return;
        }
        let code = ev.code();
        if matches!(code, live_close::BAD_REQUEST | live_close::UNAUTHORIZED | live_close::FORBIDDEN) {
            page.live.status.set(LiveStatus::Failed(ev.reason()));
            return;
        }
        // Anything else (server restart, network blip, too slow): resume from our position.
        page.live.status.set(LiveStatus::Reconnecting);
        let attempt = attempts.get_value() + 1;
        attempts.set_value(attempt);
        let delay = Duration::from_millis((250u64 << attempt.min(5)).min(8000));
        let query = query.clone();
        set_timeout(
            move || {
                if generation.get_value() == mine {
                    open(page, query, connection, position, generation, attempts);
                }
            },
            delay,
        );
    });
    socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));
    connection.set_value(Some(Connection { socket, _on_message: on_message, _on_close: on_close }));
}

/// New rows wait behind the button while the reader is elsewhere: scrolled down, reading an
/// event, on an older page.
fn should_hold(page: Page) -> bool {
    let view = page.now();
    view.event.is_some() || view.cursor.is_some() || window().scroll_y().unwrap_or(0.0) > 80.0
}

/// Un-highlights rows after their entrance.
fn forget_highlights(page: Page) {
    set_timeout(move || page.live.fresh.set(Vec::new()), Duration::from_millis(2500));
}
