//! One per server instance: listens for the insert trigger's notifications on a single
//! connection, reads the newly committed events in position order, and fans them out to the
//! instance's live-tail sockets through a ring bounded in bytes ([`super::ring`]). The same
//! connection hears when access changes (a token revoked, ...): see [`LiveHub::access_epoch`].
//!
//! Positions are assigned in commit order (see the event store migration), so "every event
//! after the last position read" is exactly what is new: nothing committed later can have a
//! smaller position. A missed notification (connection lost) costs nothing but latency: after
//! reconnecting, and every few seconds anyway, the hub reads everything after its position.

use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use app::event::{search_text, Event};
use app::query::EventFilter;
use axum::extract::ws::Utf8Bytes;
use chrono::{DateTime, Utc};
use sqlx::postgres::PgListener;
use sqlx::PgPool;
use tokio::sync::watch;

use super::ring::{Reader, Ring};
use crate::store::live::events_after;

/// The channel the insert trigger notifies on.
pub const CHANNEL: &str = "auditorium_events";
/// The channel notified when tokens, accounts or sessions change.
pub const ACCESS_CHANNEL: &str = "auditorium_access";
/// Bytes of recent batches kept for the sockets; a socket further behind reads from the
/// database instead.
pub const RING_BYTES: usize = 32 * 1024 * 1024;
/// At most this many events are read at once...
const READ_CHUNK: i64 = 1000;
/// ... and a batch holds at most about this many bytes of event JSON.
const BATCH_BYTES: usize = 1024 * 1024;
/// Read new events this often even without a notification.
const SAFETY_POLL: Duration = Duration::from_secs(5);

/// A committed event, with what every socket needs computed once.
#[derive(Debug)]
pub struct LiveEvent {
    pub position: i64,
    pub event: Event,
    /// `app::event::search_text`, for the search filter.
    pub search_text: String,
    /// The event as JSON, for the wire.
    pub json: String,
}

impl LiveEvent {
    pub fn new(position: i64, event: Event) -> LiveEvent {
        let search_text = search_text(&event);
        let json = serde_json::to_string(&event).unwrap_or_else(|_| "{}".into());
        LiveEvent { position, event, search_text, json }
    }

    /// Approximate bytes held (the parsed event takes about as much as its JSON).
    pub fn bytes(&self) -> usize {
        2 * self.json.len() + self.search_text.len() + 128
    }
}

/// Events in position order, shared by every socket, with the messages already built for
/// each distinct filter (most subscribers share a handful of filters: the message is built
/// once per filter, not once per socket).
pub struct LiveBatch {
    pub events: Vec<Arc<LiveEvent>>,
    oldest: DateTime<Utc>,
    newest: DateTime<Utc>,
    messages: Mutex<Vec<(String, Option<Utf8Bytes>)>>,
    /// Approximate bytes held: the events (JSON, search text, the parsed event) and the
    /// messages built so far.
    bytes: AtomicUsize,
}

pub type Batch = Arc<LiveBatch>;

impl LiveBatch {
    pub fn new(events: Vec<Arc<LiveEvent>>) -> LiveBatch {
        let times = events.iter().map(|e| e.event.occurred_at);
        let oldest = times.clone().min().unwrap_or_default();
        let newest = times.max().unwrap_or_default();
        let bytes = events.iter().map(|e| e.bytes()).sum::<usize>() + 256;
        LiveBatch { events, oldest, newest, messages: Mutex::new(Vec::new()), bytes: AtomicUsize::new(bytes) }
    }

    pub fn bytes(&self) -> usize {
        self.bytes.load(Ordering::Acquire)
    }

    pub fn last_position(&self) -> Option<i64> {
        self.events.last().map(|e| e.position)
    }

    pub fn first_position(&self) -> Option<i64> {
        self.events.first().map(|e| e.position)
    }

    /// Whether `filter`'s time window holds every event of the batch, so that only its other
    /// conditions decide (and a message built for them can be shared).
    pub fn inside_window(&self, filter: &EventFilter) -> bool {
        filter.from.is_none_or(|from| self.oldest >= from) && filter.to.is_none_or(|to| self.newest < to)
    }

    /// The `events` message of this batch for subscribers with these conditions (`key`: the
    /// conditions in canonical URL form; `filter`: the same, without a time window). `None`
    /// when nothing matches.
    pub fn message_for(&self, key: &str, filter: &EventFilter) -> Option<Utf8Bytes> {
        let cached = |messages: &Vec<(String, Option<Utf8Bytes>)>| messages.iter().find(|(k, _)| k == key).map(|(_, m)| m.clone());
        if let Some(message) = cached(&self.messages.lock().unwrap_or_else(|e| e.into_inner())) {
            return message;
        }
        let matching: Vec<&Arc<LiveEvent>> = self.events.iter().filter(|e| filter.matches_with_text(&e.event, &e.search_text)).collect();
        let message = match (matching.is_empty(), self.last_position()) {
            (false, Some(top)) => Some(Utf8Bytes::from(events_message(top, &matching))),
            _ => None,
        };
        let mut messages = self.messages.lock().unwrap_or_else(|e| e.into_inner());
        if cached(&messages).is_none() {
            let size = key.len() + message.as_ref().map_or(0, |m| m.len()) + 64;
            self.bytes.fetch_add(size, Ordering::AcqRel);
            messages.push((key.to_string(), message.clone()));
        }
        message
    }
}

/// `{"type":"events","position":N,"events":[{"position":p,"event":{...}}, ...]}`, built from
/// each event's JSON, serialised once.
pub fn events_message(position: i64, events: &[&Arc<LiveEvent>]) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(64 + events.iter().map(|e| e.json.len() + 32).sum::<usize>());
    let _ = write!(out, "{{\"type\":\"events\",\"position\":{position},\"events\":[");
    for (i, e) in events.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "{{\"position\":{},\"event\":{}}}", e.position, e.json);
    }
    out.push_str("]}");
    out
}

pub struct LiveHub {
    pool: PgPool,
    ring: Arc<Ring>,
    latest: AtomicI64,
    shutdown: watch::Sender<bool>,
    access: watch::Sender<u64>,
    access_epoch: AtomicU64,
    /// Each socket's position, for the lag metric.
    positions: Mutex<Vec<std::sync::Weak<AtomicI64>>>,
    /// The newest committed position the hub knows of, for whoever waits for new events.
    newest: watch::Sender<i64>,
}

impl LiveHub {
    /// Starts listening. The hub's position starts at the newest committed event.
    pub async fn start(pool: PgPool) -> Result<Arc<LiveHub>, sqlx::Error> {
        let latest = crate::store::page::latest_position(&pool).await?;
        let (shutdown, _) = watch::channel(false);
        let (access, _) = watch::channel(0);
        let hub = Arc::new(LiveHub {
            pool,
            ring: Arc::new(Ring::new(RING_BYTES)),
            latest: AtomicI64::new(latest),
            shutdown,
            access,
            access_epoch: AtomicU64::new(0),
            positions: Mutex::new(Vec::new()),
            newest: watch::channel(latest).0,
        });
        tokio::spawn(listen(hub.clone()));
        Ok(hub)
    }

    /// Subscribes to new batches and says up to which position the hub has read. Events up
    /// to that position will not come through the subscription (but may: check positions).
    pub fn subscribe(&self) -> (Reader, i64) {
        let reader = self.ring.reader();
        (reader, self.latest.load(Ordering::Acquire))
    }

    /// Bytes of batches held for the sockets.
    pub fn buffered_bytes(&self) -> usize {
        self.ring.bytes()
    }

    /// A position for a socket to keep current; counted in [`Self::max_lag`] while it lives.
    pub fn track_position(&self, start: i64) -> Arc<AtomicI64> {
        let position = Arc::new(AtomicI64::new(start));
        let mut positions = self.positions.lock().unwrap_or_else(|e| e.into_inner());
        positions.retain(|p| p.strong_count() > 0);
        positions.push(Arc::downgrade(&position));
        position
    }

    /// How many positions the slowest socket is behind the newest event read.
    pub fn max_lag(&self) -> i64 {
        let latest = self.latest();
        let mut positions = self.positions.lock().unwrap_or_else(|e| e.into_inner());
        positions.retain(|p| p.strong_count() > 0);
        positions.iter().filter_map(|p| p.upgrade()).map(|p| latest - p.load(Ordering::Acquire)).max().unwrap_or(0).max(0)
    }

    /// Sockets tailing on this instance.
    pub fn sockets(&self) -> usize {
        self.ring.readers()
    }

    /// A number that changes whenever access may have changed anywhere (a token revoked, an
    /// account changed; also when notifications may have been missed): caches of access
    /// decisions made under another number are stale.
    pub fn access_epoch(&self) -> u64 {
        self.access_epoch.load(Ordering::Acquire)
    }

    /// Wakes on every change of [`Self::access_epoch`].
    pub fn access_changes(&self) -> watch::Receiver<u64> {
        self.access.subscribe()
    }

    /// Access changed: every remembered principal is checked again. Also called by the code
    /// that changed it, so that this instance's next request does not wait for the notification.
    pub fn access_changed(&self) {
        let epoch = self.access_epoch.fetch_add(1, Ordering::AcqRel) + 1;
        let _ = self.access.send(epoch);
    }

    pub fn latest(&self) -> i64 {
        self.latest.load(Ordering::Acquire)
    }

    /// Changes whenever events are committed (the newest position; on any instance).
    pub fn newest_changes(&self) -> watch::Receiver<i64> {
        self.newest.subscribe()
    }

    fn moved_to(&self, position: i64) {
        self.newest.send_if_modified(|newest| {
            let moved = position > *newest;
            *newest = (*newest).max(position);
            moved
        });
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Resolves when the server shuts down.
    pub fn shutting_down(&self) -> watch::Receiver<bool> {
        self.shutdown.subscribe()
    }

    /// Tells every socket to close (the server is stopping) and stops listening.
    pub fn shut_down(&self) {
        let _ = self.shutdown.send(true);
        self.ring.close();
    }

    /// Reads and broadcasts everything committed after the hub's position.
    /// `announced`: the newest position a notification carried, if this read follows one.
    async fn catch_up(&self, announced: Option<i64>) -> Result<(), sqlx::Error> {
        // Nobody is tailing: move the position without reading the events (to the position
        // the notification announced, or else the newest in the database). A socket that
        // subscribes meanwhile may start before the skipped-to position; it notices that the
        // next batch does not follow on from its own position and reads the gap itself.
        if self.ring.readers() == 0 {
            let newest = match announced {
                Some(position) => position,
                None => crate::store::page::latest_position(&self.pool).await?,
            };
            self.latest.fetch_max(newest, Ordering::AcqRel);
            self.moved_to(newest);
            return Ok(());
        }
        loop {
            let after = self.latest.load(Ordering::Acquire);
            let rows = events_after(&self.pool, after, READ_CHUNK).await?;
            let Some(last) = rows.last().map(|(p, _)| *p) else { return Ok(()) };
            let full = rows.len() as i64 == READ_CHUNK;
            let mut events: Vec<Arc<LiveEvent>> = Vec::new();
            let mut bytes = 0;
            for (position, event) in rows {
                let event = Arc::new(LiveEvent::new(position, event));
                bytes += event.json.len();
                events.push(event);
                if bytes >= BATCH_BYTES {
                    self.ring.push(Arc::new(LiveBatch::new(std::mem::take(&mut events))));
                    bytes = 0;
                }
            }
            if !events.is_empty() {
                self.ring.push(Arc::new(LiveBatch::new(events)));
            }
            self.latest.store(last, Ordering::Release);
            self.moved_to(last);
            if !full {
                return Ok(());
            }
        }
    }
}

/// The hub's life: listen, read after each notification, reconnect when the connection
/// breaks (reading what was missed), stop at shutdown or when the pool is closed.
async fn listen(hub: Arc<LiveHub>) {
    let closed = hub.pool.close_event();
    tokio::pin!(closed);
    let mut stop = hub.shutting_down();
    let mut retry = Duration::from_millis(200);
    loop {
        let (own, mut listener) = match connect(&hub.pool).await {
            Ok(connected) => {
                retry = Duration::from_millis(200);
                connected
            }
            Err(e) => {
                tracing::warn!(error = %e, "live tail cannot listen ({e}); retrying");
                tokio::select! {
                    () = tokio::time::sleep(retry) => {}
                    _ = stop.changed() => return,
                    () = &mut closed => return,
                }
                retry = (retry * 2).min(Duration::from_secs(5));
                continue;
            }
        };
        // Whatever committed or changed while we were not listening.
        hub.access_changed();
        if let Err(e) = hub.catch_up(None).await {
            tracing::warn!(error = %e, "live tail catch-up failed: {e}");
        }
        let mut poll = tokio::time::interval(SAFETY_POLL);
        let finished = loop {
            // The newest position announced by the insert trigger (its payload), if any.
            let mut announced: Option<i64> = None;
            tokio::select! {
                notification = listener.try_recv() => match notification {
                    // Several notifications may be pending: one read covers them all.
                    Ok(Some(first)) => {
                        let mut access = false;
                        let mut note = |n: &sqlx::postgres::PgNotification| {
                            if n.channel() == ACCESS_CHANNEL {
                                access = true;
                            } else if let Ok(position) = n.payload().parse::<i64>() {
                                announced = announced.max(Some(position));
                            }
                        };
                        note(&first);
                        while let Some(next) = listener.next_buffered() {
                            note(&next);
                        }
                        if access {
                            hub.access_changed();
                        }
                    }
                    // Reconnected on its own; notifications in between are lost: read below.
                    Ok(None) => hub.access_changed(),
                    Err(e) => {
                        tracing::warn!(error = %e, "live tail lost its connection ({e}); reconnecting");
                        break false;
                    }
                },
                _ = poll.tick() => {}
                _ = stop.changed() => break true,
                () = &mut closed => break true,
            }
            if let Err(e) = hub.catch_up(announced).await {
                tracing::warn!(error = %e, "live tail read failed: {e}");
            }
        };
        // Close the listening connection now, not whenever the pool is dropped: a database
        // cannot be dropped (tests) while a session is still connected to it.
        drop(listener);
        own.close().await;
        if finished {
            return;
        }
    }
}

/// The listener gets a connection of its own, outside the pool that serves requests.
async fn connect(pool: &PgPool) -> Result<(PgPool, PgListener), sqlx::Error> {
    let own = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect_with(pool.connect_options().as_ref().clone())
        .await?;
    let mut listener = PgListener::connect_with(&own).await?;
    listener.listen_all([CHANNEL, ACCESS_CHANNEL]).await?;
    Ok((own, listener))
}
