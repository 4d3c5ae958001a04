//! The live tail in the browser: state shared by the toggle, the table and the chart, and the
//! rules for where an arriving event goes. The WebSocket itself is in `live_socket`.

use leptos::prelude::*;
use uuid::Uuid;

use crate::event::{Event, Outcome};

/// Live rows kept in the table at most (older ones drop off the top list).
pub const MAX_LIVE_ROWS: usize = 200;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LiveStatus {
    Off,
    Connecting,
    Live,
    Reconnecting,
    /// The server refused (bad parameters, no access): not retried.
    Failed(String),
}

impl LiveStatus {
    pub fn label(&self) -> String {
        match self {
            LiveStatus::Off => "Live".into(),
            LiveStatus::Connecting => "Connecting…".into(),
            LiveStatus::Live => "Live".into(),
            LiveStatus::Reconnecting => "Reconnecting…".into(),
            LiveStatus::Failed(reason) => format!("Live stopped: {reason}"),
        }
    }
}

/// Everything the page shows about the live tail.
#[derive(Clone, Copy)]
pub struct LiveState {
    pub status: RwSignal<LiveStatus>,
    pub paused: RwSignal<bool>,
    /// Shown above the page's rows, newest first.
    pub rows: RwSignal<Vec<Event>>,
    /// Waiting behind the "N new events" button, newest first.
    pub waiting: RwSignal<Vec<Event>>,
    /// Ids of rows to highlight briefly.
    pub fresh: RwSignal<Vec<Uuid>>,
    /// Successes and failures received (for the total and the chart).
    pub received: RwSignal<Vec<(chrono::DateTime<chrono::Utc>, Outcome)>>,
}

impl LiveState {
    pub fn new() -> LiveState {
        LiveState {
            status: RwSignal::new(LiveStatus::Off),
            paused: RwSignal::new(false),
            rows: RwSignal::new(Vec::new()),
            waiting: RwSignal::new(Vec::new()),
            fresh: RwSignal::new(Vec::new()),
            received: RwSignal::new(Vec::new()),
        }
    }

    /// Forgets everything received (the view changed).
    pub fn reset(&self) {
        self.rows.set(Vec::new());
        self.waiting.set(Vec::new());
        self.fresh.set(Vec::new());
        self.received.set(Vec::new());
    }

    /// New events (oldest first, already de-duplicated): into the table, or behind the button
    /// when the table should not move under the reader.
    pub fn arrive(&self, events: Vec<Event>, hold: bool) {
        if events.is_empty() {
            return;
        }
        self.received.update(|r| r.extend(events.iter().map(|e| (e.occurred_at, e.outcome))));
        let newest_first: Vec<Event> = events.into_iter().rev().collect();
        if hold || self.paused.get_untracked() {
            self.waiting.update(|w| prepend(w, newest_first));
        } else {
            self.fresh.update(|f| f.extend(newest_first.iter().map(|e| e.id)));
            self.rows.update(|r| prepend(r, newest_first));
        }
    }

    /// Shows what was waiting.
    pub fn release(&self) {
        let waiting = self.waiting.try_update(std::mem::take).unwrap_or_default();
        self.fresh.update(|f| f.extend(waiting.iter().map(|e| e.id)));
        self.rows.update(|r| prepend(r, waiting));
    }
}

impl Default for LiveState {
    fn default() -> Self {
        LiveState::new()
    }
}

fn prepend(list: &mut Vec<Event>, mut newest_first: Vec<Event>) {
    newest_first.append(list);
    newest_first.truncate(MAX_LIVE_ROWS);
    *list = newest_first;
}

/// Ids already shown or waiting, so a replay after a reconnect never shows an event twice.
/// (A few hundred at most: a plain list, which also keeps hash tables out of the bundle.)
pub fn known_ids(live: &LiveState, page_ids: &[Uuid]) -> Vec<Uuid> {
    let mut ids: Vec<Uuid> = page_ids.to_vec();
    live.rows.with_untracked(|r| ids.extend(r.iter().map(|e| e.id)));
    live.waiting.with_untracked(|w| ids.extend(w.iter().map(|e| e.id)));
    ids
}
