//! The live tail in the browser: state shared by the toggle, the table and the chart, and the
//! rules for where an arriving event goes. The WebSocket itself is in `live_socket`.

use leptos::prelude::*;
use uuid::Uuid;

use crate::api::PositionedEvent;
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
    /// Every event received, once each (for the total and the chart: each counts those
    /// after its own position).
    pub received: RwSignal<Vec<Arrival>>,
}

/// An event the live tail delivered: where it is in commit order, when it happened, how it
/// ended.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Arrival {
    pub position: i64,
    pub at: chrono::DateTime<chrono::Utc>,
    pub outcome: Outcome,
}

/// How many arrivals come after `position` (what a page or a chart already counted).
pub fn arrived_after(received: &[Arrival], position: i64) -> u64 {
    received.iter().filter(|a| a.position > position).count() as u64
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

    /// New events in commit order: counted once each; those not `known` (already shown) go
    /// into the table, or behind the button when the table should not move under the reader.
    pub fn arrive(&self, delivered: Vec<PositionedEvent>, known: &[Uuid], hold: bool) {
        self.received.update(|r| {
            for e in &delivered {
                if !r.iter().any(|a| a.position == e.position) {
                    r.push(Arrival { position: e.position, at: e.event.occurred_at, outcome: e.event.outcome });
                }
            }
        });
        let events: Vec<Event> = delivered.into_iter().map(|e| e.event).filter(|e| !known.contains(&e.id)).collect();
        if events.is_empty() {
            return;
        }
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
